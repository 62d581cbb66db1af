# peer-restart — the peer gateway restarts in the middle of a stream: the
# live connection is closed (never left hanging), the restart is audited
# with the record chain continuing (no seq gap), and new traffic flows.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_up chiyoda tokyo

ns_send chiyoda --to 130001 --type honnin-tsuchi --records 10 --count 40 --interval 100 --timeout 5 \
	>"$NS_WORK/stream.out" 2>&1 &
stream=$!
# Mid-stream: some frames have been answered.
wait_for 100 grep -q 'answered ack' "$NS_WORK/stream.out" || fail "the stream did not start"
ns_jgwd_stop tokyo
ns_jgwd_start tokyo || fail "tokyo did not come back"
wait "$stream"; rc=$?
cat "$NS_WORK/stream.out" | tail -3
[ "$rc" != 0 ] || fail "the stream did not notice the restart"
grep -q 'connection closed' "$NS_WORK/stream.out" || fail "the stream was not closed by the restart"
answered=$(sed -n 's/.*answered=\([0-9]*\).*/\1/p' "$NS_WORK/stream.out")
[ "${answered:-0}" -ge 1 ] || fail "nothing was answered before the restart"
# New traffic after the restart.
e2e_send_ok chiyoda --to 130001 --type honnin-tsuchi --records 10 --count 3 >/dev/null
# tokyo's audit: two config loads, seq 1..N with no gap across the restart.
loads=$(ns_audit tokyo | jq -c 'select(.event == "config" and .action == "load")' | wc -l)
[ "$loads" = 2 ] || fail "tokyo audited $loads configuration loads, expected 2"
ns_audit tokyo | jq -r .seq | awk 'NR != $1 { bad = 1 } END { exit bad }' ||
	fail "tokyo's audit seq has a gap or a reorder across the restart"
e2e_audit_wait chiyoda '.event == "tunnel" and .state == "close" and .side == "lan"' >/dev/null ||
	fail "chiyoda did not audit the closed tunnel"
echo "restart handled: $answered frames answered before, stream closed, new traffic flows"
