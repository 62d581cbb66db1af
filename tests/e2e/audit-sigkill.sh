# audit-sigkill — issue 5: 東京都's jgwd is SIGKILLed in the middle of
# pipelined traffic, then started again. Its spool verifies with k0 (the
# killed epoch is closed by a recovery seal), seq runs on without a gap, new
# traffic is audited after the restart, and every frame that its 住基 server
# received is in the spool as an allowed message: nothing relayed went
# unaudited, nothing committed was lost.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_up chiyoda tokyo

ip netns exec "$(ns_srv chiyoda)" "$B/jgw-node" load --connect "$(ns_lan_gw chiyoda):7000" \
	--from 131016 --to 130001 --mix honnin-tsuchi --records 20 --duration 4 --window 16 --conns 2 \
	--timeout 3 >"$NS_WORK/load.out" 2>&1 &
load=$!
for _ in $(seq 50); do
	[ "$(e2e_server_count tokyo juki '.type == "0x0101"')" -ge 200 ] && break
	sleep 0.1
done
pid=$(cat "$NS_WORK/tokyo/jgwd.pid")
kill -9 "$pid"; wait "$pid" 2>/dev/null; rm -f "$NS_WORK/tokyo/jgwd.pid"
wait "$load" && fail "the load did not notice that 東京都's gateway died"
received=$(e2e_server_count tokyo juki '.type == "0x0101"')
[ "$received" -ge 200 ] || fail "only $received frames reached 東京都 before the kill; the case proves little"
echo "killed 東京都's jgwd (pid $pid) after its server received $received frames"

ns_jgwd_start tokyo || fail "東京都's jgwd did not start again after SIGKILL"
e2e_send_ok chiyoda --to 130001 --type honnin-tsuchi --records 3 --count 2 >/dev/null

audited=$(ns_audit tokyo | jq -c 'select(.event == "message" and .dir == "in" and .type == "0x0101" and .verdict == "allow")' | wc -l)
total=$(e2e_server_count tokyo juki '.type == "0x0101"')
[ "$audited" -ge "$total" ] ||
	fail "東京都's server received $total frames but its spool holds $audited allowed 0x0101 records"
ns_audit tokyo | jq -r .seq | awk 'NR != $1 { bad = 1 } END { exit bad }' ||
	fail "東京都's audit seq has a gap or a reorder across the kill"
ns_audit tokyo | jq -e -s 'map(select(.event == "seal" and .reason == "recovery")) | length >= 1' >/dev/null ||
	fail "no recovery seal closes the killed epoch"

ns_jgwd_stop tokyo
out=$("$B/jgwctl" audit verify --key "$NS_WORK/tokyo/k0" "$NS_WORK/tokyo/lib/audit" 2>&1) ||
	{ echo "$out"; fail "東京都's spool does not verify after the kill and a clean stop"; }
echo "$out" | tail -1
echo "after SIGKILL: $total frames received, $audited allowed records, chain verifies, seq without a gap"
