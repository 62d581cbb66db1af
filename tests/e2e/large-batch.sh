# large-batch — the largest batches the catalog allows (1000 records, well
# past one TLS record and past the per-direction buffer) cross a
# prefecture → 機構 pair back to back, followed by small frames on the same
# connection: nothing stalls and every frame is answered. Both gateways run
# one worker (`workers 1`: the relay on one thread, its listeners without
# SO_REUSEPORT); the other cases run the default, one per CPU.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_conf_hook() { printf 'workers 1;\n' >>"$2"; }
e2e_up tokyo jlis
for s in tokyo jlis; do
	n=$(e2e_ctl "$s" --json status | jq -r .workers)
	[ "$n" = 1 ] || fail "$s runs $n workers, not the 1 configured"
done

e2e_send_ok tokyo --to 000000 --type honnin-tsuchi-kiko --records 1000 --count 3 --timeout 20 >/dev/null
e2e_send_ok tokyo --to 000000 --type fuhyo-honnin-tsuchi-kiko --records 1000 --count 2 --timeout 20 >/dev/null
e2e_send_ok tokyo --to 000000 --type honnin-tsuchi-kiko --records 100 --count 20 --timeout 20 >/dev/null
recs=$(jq -s '[.[] | select(.event == "frame") | .records] | add' "$NS_WORK/jlis/juki.log")
[ "$recs" = $((3 * 1000 + 20 * 100)) ] || fail "機構's 住基 server counted $recs records"
recs=$(jq -s '[.[] | select(.event == "frame") | .records] | add' "$NS_WORK/jlis/fuhyo.log")
[ "$recs" = 2000 ] || fail "機構's 附票 server counted $recs records"
# Pipelined: 200 frames with up to 64 outstanding on one connection.
ip netns exec "$(ns_srv tokyo)" "$B/jgw-node" load --connect 10.13.0.1:7000 --from 130001 --to 000000 \
	--mix honnin-tsuchi-kiko --records 200 --frames 200 --window 64 || fail "pipelined batches stalled"
echo "large batches relayed"
