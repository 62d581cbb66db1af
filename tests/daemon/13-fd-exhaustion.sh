# Out of descriptors: jgwd pauses its listeners instead of spinning on a
# connection it cannot accept, keeps its live tunnels, and accepts again
# once descriptors are free. (Hard limit 40; each waiting LAN client holds
# one descriptor.)
. "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || skip "socat not installed"

write_conf gw 131016 22951 22952 22953 130001 22962
(ulimit -n 40 && exec "$JGWD" -c "$T/gw/jgw.conf") >"$T/gw/jgwd.log" 2>&1 &
PID_gw=$!
JG_PIDS+=($PID_gw)
wait_for 100 ctl gw status || fail "jgwd did not come up"
grep -q 'descriptor limit 40 is below' "$T/gw/jgwd.log" || fail "no warning about the low limit"
clients=()
for i in $(seq 1 40); do
	socat -u TCP:127.0.0.1:22951 OPEN:/dev/null >/dev/null 2>&1 &
	clients+=($!)
done
wait_for 100 grep -q 'Too many open files' "$T/gw/jgwd.log" || fail "descriptors never ran out"
# Busy looping on the listener would burn a whole core: count CPU ticks.
ticks() { awk '{ print $14 + $15 }' "/proc/$PID_gw/stat"; }
t0=$(ticks); sleep 2; t1=$(ticks)
echo "CPU ticks over 2 s while out of descriptors: $((t1 - t0))"
[ $((t1 - t0)) -lt 50 ] || fail "jgwd spins while out of descriptors ($((t1 - t0)) ticks in 2 s)"
kill "${clients[@]}" 2>/dev/null
wait "${clients[@]}" 2>/dev/null
wait_for 100 stat_is gw status tunnels = 0 || fail "tunnels not closed after the clients left"
wait_for 50 ctl gw status || fail "control socket not answering again"
exec 3<>/dev/tcp/127.0.0.1/22951 || fail "LAN listener not accepting again"
wait_for 50 stat_is gw status tunnels = 1 || fail "new connection not accepted"
exec 3<&- 3>&-
kill -TERM "$PID_gw"; wait "$PID_gw" || fail "jgwd exited non-zero"
exit 0
