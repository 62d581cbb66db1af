# Backpressure: a local server that stops reading must slow the sender,
# not grow the gateways. The sender keeps up to 20,000 frames (about 44 MB)
# in flight (the inspection's limit on unanswered requests is raised to
# allow that); each jgwd holds at most one largest frame + `buffer` per
# direction, its memory stays bounded, and the rest waits in the sender and
# the kernel's socket buffers.
. "$(dirname "$0")/lib.sh"
: "${JGW_NODE:?}"
command -v socat >/dev/null || skip "socat not installed"

write_conf chiyoda 131016 22901 22902 22903 130001 22912 131016 'limits { outstanding 30000; }'
write_conf tokyo   130001 22911 22912 22913 131016 22902 130001 'limits { outstanding 30000; }'
start_jgwd chiyoda
start_jgwd tokyo
# A 住基 server that accepts and never reads (socat stops once the pipe to
# sleep is full).
socat TCP-LISTEN:22913,bind=127.0.0.1,reuseaddr,rcvbuf=4096 SYSTEM:'sleep 30' &
JG_PIDS+=($!)
wait_for 50 bash -c "ss -ltn | grep -q 127.0.0.1:22913" || fail "stuck server did not start"

"$JGW_NODE" load --connect 127.0.0.1:22901 --from 131016 --to 130001 --duration 6 \
	--window 20000 --mix realistic >"$T/load.log" 2>&1 &
load=$!
JG_PIDS+=($load)
wait_for 100 stat_is tokyo status tunnels = 1 || fail "no tunnel"
# The server is stuck once tokyo holds frames it cannot write.
wait_for 100 stat_is tokyo stats buffered_bytes -gt 0 || fail "tokyo never held anything: the server was not stuck?"
limit=$(( 2 * (4 * 1024 * 1024 + 48 + 256 * 1024) ))
max_c=0 max_t=0 rss_max=0
# Sampled for as long as the sender pushes (its --duration), not for a
# fixed time: the gateways must stay bounded all along.
n=0
while kill -0 "$load" 2>/dev/null; do
	n=$((n + 1))
	[ "$n" -le 600 ] || fail "the load generator did not end"
	bc=$(ctl chiyoda stats | awk '$1 == "buffered_bytes" { print $2 }')
	bt=$(ctl tokyo stats | awk '$1 == "buffered_bytes" { print $2 }')
	[ "${bc:-0}" -gt "$max_c" ] && max_c=$bc
	[ "${bt:-0}" -gt "$max_t" ] && max_t=$bt
	for p in $(pid_of chiyoda) $(pid_of tokyo); do
		r=$(awk '/^VmRSS/ { print $2 }' "/proc/$p/status")
		[ "$r" -gt "$rss_max" ] && rss_max=$r
	done
	sleep 0.1
done
echo "max buffered: chiyoda $max_c, tokyo $max_t bytes (bound $limit); max RSS $rss_max KiB"
[ "$max_t" -gt 0 ] || fail "tokyo never held anything: the server was not stuck?"
[ "$max_c" -le "$limit" ] || fail "chiyoda buffered $max_c > $limit"
[ "$max_t" -le "$limit" ] || fail "tokyo buffered $max_t > $limit"
if ! grep -q __asan_init "$JGWD"; then
	[ "$rss_max" -lt 65536 ] || fail "a gateway grew to $rss_max KiB"
fi
ctl chiyoda status >/dev/null || fail "chiyoda stopped answering under backpressure"
stop_jgwd chiyoda || fail "chiyoda exited non-zero"
stop_jgwd tokyo || fail "tokyo exited non-zero"
exit 0
