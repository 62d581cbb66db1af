# live-capture — a capture made for real: tcpdump on 千代田区's lan0 while
# the real gateways (jgwd, namespaces jr-PID-*) carry allowed and refused
# traffic; jgw-replay on that capture with 千代田区's own configuration must
# give exactly the verdicts the live gateway audited.
source "$(dirname "$0")/../../e2e/lib.sh"
# shellcheck disable=SC2034  # read by netns.sh
NS_PREFIX=jr-$$-
E2E_CASE=live-capture
e2e_need
[ -x "$B/jgw-replay" ] || fail "$B/jgw-replay is not built"
command -v tcpdump >/dev/null || skip "tcpdump is not installed"

e2e_up chiyoda chuo tokyo

pcap=$NS_WORK/lan0.pcap
ip netns exec "$(ns_gw chiyoda)" tcpdump -i lan0 -s 0 -U -n --immediate-mode -Z root -w "$pcap" tcp \
	2>"$NS_WORK/tcpdump.err" &
tcpdump_pid=$!
for _ in $(seq 50); do
	grep -q 'listening on' "$NS_WORK/tcpdump.err" 2>/dev/null && break
	sleep 0.1
done
grep -q 'listening on' "$NS_WORK/tcpdump.err" || fail "tcpdump did not start: $(cat "$NS_WORK/tcpdump.err")"

# Egress, allowed (and answered), then refused at the LAN side.
e2e_send_ok chiyoda --to 130001 --type honnin-tsuchi --count 3 --records 20 >/dev/null
e2e_send_ok chiyoda --to 131024 --type tennyu-tsuchi >/dev/null
e2e_send_ok chiyoda --to 130001 --type fuhyo-honnin-tsuchi --count 2 --records 5 >/dev/null
e2e_send_refused chiyoda --to 130001 --type tenshutsu-kakutei --bad sender --spoof 131024 >/dev/null
# Ingress: 中央区 asks 千代田区 (the gateway relays to the local server).
e2e_send_ok chuo --to 131016 --type koiki-kofu >/dev/null

# capture_closed: every TCP connection the capture saw open has ended in it
# (a FIN from each end, or a reset) — the capture holds what happened.
capture_closed() {
	tcpdump -nn -r "$pcap" 'tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0' 2>/dev/null | awk '
		{ src = $3; dst = $5; sub(/:$/, "", dst); f = $7
		  key = src < dst ? src " " dst : dst " " src }
		f ~ /S/ && f !~ /\./ { opened[key] = 1 }
		f ~ /R/ { done[key] = 1 }
		f ~ /F/ { fin[key, src] = 1; if ((key, dst) in fin) done[key] = 1 }
		END { n = 0; for (k in opened) { n++; if (!(k in done)) exit 1 } exit n == 0 }'
}
# Every message audited at 千代田区, every connection ended, then stop the capture.
e2e_audit_wait chiyoda '.event == "message" and .type_name == "koiki-kofu-kaito"' >/dev/null ||
	fail "the 広域交付 answer was not audited at chiyoda"
wait_for 100 capture_closed || fail "the capture does not hold the end of every connection"
kill -INT "$tcpdump_pid"
wait "$tcpdump_pid" 2>/dev/null

"$B/jgw-replay" -c "$(ns_conf chiyoda)" -r "$pcap" >"$NS_WORK/replay.json" 2>"$NS_WORK/replay.err"
rc=$?
[ "$rc" = 1 ] || fail "jgw-replay exit $rc (expected 1: one frame was denied): $(cat "$NS_WORK/replay.err")"

key='select(.event == "message") | [.dir, .type, .sender, .receiver, .frame_seq, .verdict, (.reason // "")] | @tsv'
ns_audit chiyoda | jq -r "$key" | sort >"$NS_WORK/live.tsv"
jq -r "$key" "$NS_WORK/replay.json" | sort >"$NS_WORK/replayed.tsv"
live=$(wc -l <"$NS_WORK/live.tsv")
[ "$live" -ge 9 ] || fail "only $live message records audited live"
if ! diff -u "$NS_WORK/live.tsv" "$NS_WORK/replayed.tsv"; then
	fail "replayed verdicts differ from the live gateway's"
fi
grep -q 'deny	bad-sender' "$NS_WORK/replayed.tsv" || fail "the refused frame is missing"
echo "replayed $live frames from a real capture: the same verdicts as the live gateway"
