# Near the descriptor limit: jgwd keeps a quarter of its descriptors (at
# most 64) for itself, refuses the connections beyond (audited, reason
# fd-limit) instead of running out, does not spin, and an operator's jgwctl
# gets its answer while 100 silent LAN clients press on a limit of 60.
# When they leave, new connections are accepted again.
. "$(dirname "$0")/lib.sh"

write_conf gw 131016 22951 22952 22953 130001 22962
(ulimit -n 60 && exec "$JGWD" -c "$T/gw/jgw.conf") >"$T/gw/jgwd.log" 2>&1 &
PID_gw=$!
JG_PIDS+=($PID_gw)
wait_for 100 ctl gw status || fail "jgwd did not come up"
grep -q 'descriptor limit 60 is below' "$T/gw/jgwd.log" || fail "no warning about the low limit"
clients=()
for i in $(seq 1 100); do
	exec {fd}<>/dev/tcp/127.0.0.1/22951 || fail "connect $i to the LAN listener failed"
	clients+=($fd)
done
wait_for 100 audit_has gw '"reason":"fd-limit"' || fail "no connection refused with fd-limit"
held=$(status_of gw tunnels)
echo "100 silent clients: $held held as tunnels, the rest refused (fd-limit)"
[ "$held" -ge 1 ] && [ "$held" -lt 100 ] || fail "tunnels held: $held"

# The operator is answered while the clients press on.
out=$(ctl gw status 2>&1) || fail "jgwctl status got no answer near the limit: $out"
grep -q '^tunnels ' <<<"$out" || fail "status answer incomplete: $out"
! grep -q 'Too many open files' "$T/gw/jgwd.log" || fail "jgwd ran out of descriptors"

# An event loop that spins on a listener never sleeps: an idle one is
# found asleep in epoll_wait (its state is looked at, not its CPU time).
idle_loop "$PID_gw" || fail "jgwd is not idle near the descriptor limit: it spins"

for fd in "${clients[@]}"; do exec {fd}<&-; done
wait_for 100 stat_is gw status tunnels = 0 || fail "tunnels not closed after the clients left"
exec 3<>/dev/tcp/127.0.0.1/22951 || fail "LAN listener not accepting again"
wait_for 50 stat_is gw status tunnels = 1 || fail "new connection not accepted"
exec 3<&- 3>&-

# A busy control socket says "busy", never a bare reset: one account may
# hold 6 of its 8 slots; the 7th connection of the same account is turned
# away with the word, and the slots come back when the holders leave.
holders=()
for i in 1 2 3 4 5 6; do
	socat -u UNIX-CONNECT:"$T/gw/control.sock" OPEN:/dev/null >/dev/null 2>&1 &
	holders+=($!)
done
# The six hold their slots once the server has accepted them (each is
# given 5 s to send its line): count the connected ends of the socket.
held_slots() { [ "$(ss -xH state connected src "$T/gw/control.sock" 2>/dev/null | wc -l)" -ge 6 ]; }
wait_for 50 held_slots || fail "the six holders did not connect to the control socket"
out=$(ctl gw status 2>&1) && fail "the 7th client of one account was answered: $out"
grep -q 'busy' <<<"$out" || fail "the 7th client of one account was not told busy: $out"
busy=$out
! grep -qi 'reset' <<<"$busy" || fail "busy control socket reset the client: $busy"
echo "control socket full: $busy"
kill "${holders[@]}" 2>/dev/null; wait "${holders[@]}" 2>/dev/null
wait_for 100 ctl gw status || fail "control socket not answering after the holders left"

kill -TERM "$PID_gw"; wait "$PID_gw" || fail "jgwd exited non-zero"
exit 0
