# Known traffic through two gateways on loopback (千代田区 131016 → 東京都
# 130001): three honnin-tsuchi answered by ack, then one frame with a bad
# check digit (denied on its first frame), and a TLS client without a
# certificate at 東京都 (a handshake failure). The exposition, from
# `jgwctl metrics`, GET /metrics and the textfile, passes promtool, holds
# exactly those counts, agrees with `jgwctl stats` and with the audit
# records (rejects by reason), and follows a live tunnel per peer.
. "$(dirname "$0")/lib.sh"
: "${JGW_NODE:?}"
for t in promtool curl jq openssl; do command -v $t >/dev/null || skip "$t not installed"; done

mkdir -p "$T/prom"
write_conf chiyoda 131016 23001 23002 23003 130001 23012 131016 \
	"metrics { listen 127.0.0.1 port 23009; textfile \"$T/prom/jgw.prom\"; interval 1s; }"
write_conf tokyo 130001 23011 23012 23013 131016 23002
start_jgwd chiyoda
start_jgwd tokyo
"$JGW_NODE" serve --listen 127.0.0.1:23013 --node 130001 >"$T/juki.log" 2>&1 &
JG_PIDS+=($!)
wait_for 50 bash -c "exec 3<>/dev/tcp/127.0.0.1/23013" || fail "site server did not start"

"$JGW_NODE" send --connect 127.0.0.1:23001 --from 131016 --to 130001 \
	--type honnin-tsuchi --count 3 --expect ack --timeout 10 >/dev/null \
	|| fail "honnin-tsuchi not answered through the tunnel"
"$JGW_NODE" send --connect 127.0.0.1:23001 --from 131016 --to 130001 \
	--type honnin-tsuchi --bad check-digit --expect close --timeout 10 >/dev/null \
	|| fail "a frame with a bad check digit was not refused"
timeout 10 openssl s_client -connect 127.0.0.1:23012 -tls1_3 -CAfile "$JGW_TEST_PKI/ca.crt" \
	</dev/null >/dev/null 2>&1
wait_for 50 stat_is chiyoda stats frames_denied -ge 1 || fail "the denial is not counted"
wait_for 50 stat_is chiyoda stats tunnels_open -eq 0 || fail "chiyoda's tunnels did not end"
wait_for 50 stat_is tokyo stats tunnels_rejected -ge 1 || fail "tokyo did not count the handshake failure"

# ---- the control verb: promtool, the known counts, jgwctl stats ----
ctl chiyoda metrics >"$T/m.txt" || fail "jgwctl metrics"
promtool_ok "$T/m.txt"
metric_is "$T/m.txt" jgw_info "site=\"131016\",version=\"$(status_of chiyoda version)\"" 1
metric_is "$T/m.txt" jgw_frames_total 'verdict="allow"' 6          # 3 out, 3 acks in
metric_is "$T/m.txt" jgw_frames_total 'verdict="deny"' 1
metric_is "$T/m.txt" jgw_frames_denied_by_reason_total 'reason="bad-value"' 1
metric_is "$T/m.txt" jgw_frames_by_type_total 'type="0x0101",verdict="allow"' 3
metric_is "$T/m.txt" jgw_frames_by_type_total 'type="0x0101",verdict="deny"' 1
metric_is "$T/m.txt" jgw_frames_by_type_total 'type="0x0001",verdict="allow"' 3
metric_is "$T/m.txt" jgw_tunnels_opened_total '' 1
metric_is "$T/m.txt" jgw_tunnels_rejected_by_reason_total 'reason="inspection-deny"' 1
metric_is "$T/m.txt" jgw_peers_configured '' 1
metric_is "$T/m.txt" jgw_peer_tunnels 'peer="130001"' 0
metric_is "$T/m.txt" jgw_firewall_enabled '' 0
metric "$T/m.txt" jgw_certificate_expiry_seconds >/dev/null || fail "no certificate expiry"
metric "$T/m.txt" jgw_crl_expiry_seconds >/dev/null && fail "a CRL expiry without any CRL"
# The clock offset is there exactly when the kernel says the clock is
# synchronised (jgwctl status), and then in microseconds as status has it.
if [ "$(status_of chiyoda time_sync)" = yes ]; then
	off=$(metric "$T/m.txt" jgw_clock_offset_seconds) || fail "synchronised, but no clock offset"
	awk -v o="$off" 'BEGIN { exit !(o > -1000 && o < 1000) }' || fail "clock offset $off"
else
	metric "$T/m.txt" jgw_clock_offset_seconds >/dev/null && fail "a clock offset of an unsynchronised clock"
fi
metric "$T/m.txt" jgw_audit_mirrored_seq >/dev/null && fail "a mirrored seq without a collector"
for pair in frames_allowed:jgw_frames_total:verdict=\"allow\" \
	frames_denied:jgw_frames_total:verdict=\"deny\" \
	bytes_allowed:jgw_frame_bytes_total:verdict=\"allow\" \
	bytes_denied:jgw_frame_bytes_total:verdict=\"deny\" \
	bytes_in:jgw_relayed_bytes_total:direction=\"in\" \
	bytes_out:jgw_relayed_bytes_total:direction=\"out\" \
	tunnels_opened:jgw_tunnels_opened_total: tunnels_rejected:jgw_tunnels_rejected_total: \
	quarantined:jgw_quarantined_total: audit_lost:jgw_audit_lost_records_total:; do
	IFS=: read -r key name labels <<<"$pair"
	want=$(stat_of chiyoda "$key")
	[ -n "$want" ] || fail "jgwctl stats has no $key"
	metric_is "$T/m.txt" "$name" "$labels" "$want"
done
echo "chiyoda: counts as sent, equal to jgwctl stats"

# ---- tokyo: rejects by reason = its reject records, by reason ----
ctl tokyo metrics >"$T/t.txt" || fail "jgwctl metrics (tokyo)"
promtool_ok "$T/t.txt"
metric_is "$T/t.txt" jgw_tunnels_rejected_total '' "$(stat_of tokyo tunnels_rejected)"
cat "$T/tokyo"/spool/*.jsonl | jq -r 'select(.event == "tunnel" and .state == "reject") | .reason' \
	| sort | uniq -c >"$T/reasons"
[ -s "$T/reasons" ] || fail "tokyo wrote no reject record"
while read -r n reason; do
	metric_is "$T/t.txt" jgw_tunnels_rejected_by_reason_total "reason=\"$reason\"" "$n"
done <"$T/reasons"
[ "$(grep -c '^jgw_tunnels_rejected_by_reason_total{' "$T/t.txt")" = "$(wc -l <"$T/reasons")" ] \
	|| fail "tokyo: reasons in the metrics that no reject record has"
echo "tokyo: rejects by reason as in the audit records: $(tr -s ' ' <"$T/reasons" | paste -sd,)"

# ---- HTTP: the same exposition; only GET|HEAD /metrics ----
code=$(curl -sS -o "$T/h.txt" -w '%{http_code} %{content_type}' http://127.0.0.1:23009/metrics) \
	|| fail "GET /metrics"
[ "$code" = "200 text/plain; version=0.0.4; charset=utf-8" ] || fail "GET /metrics answered $code"
promtool_ok "$T/h.txt"
for s in jgw_frames_total:verdict=\"allow\" jgw_frames_total:verdict=\"deny\" \
	jgw_frame_bytes_total:verdict=\"allow\" jgw_tunnels_opened_total: \
	jgw_tunnels_rejected_by_reason_total:reason=\"inspection-deny\"; do
	IFS=: read -r name labels <<<"$s"
	metric_is "$T/h.txt" "$name" "$labels" "$(metric "$T/m.txt" "$name" "$labels")"
done
[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:23009/)" = 404 ] || fail "/ was served"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:23009/metrics)" = 405 ] \
	|| fail "POST was served"
[ "$(curl -s -I -o /dev/null -w '%{http_code}' http://127.0.0.1:23009/metrics)" = 200 ] || fail "HEAD"
# Bounded: a fifth connection from one address, beside four held open, is
# closed without an answer; once they go, scrapes are answered again.
for i in 1 2 3 4; do exec {fd}<>/dev/tcp/127.0.0.1/23009 || fail "connect $i"; held+=("$fd"); done
curl -s -o /dev/null --max-time 10 http://127.0.0.1:23009/metrics && fail "a fifth connection was served"
for fd in "${held[@]}"; do exec {fd}>&-; done
wait_for 50 curl -sf -o /dev/null http://127.0.0.1:23009/metrics || fail "no scrape after the held connections closed"
echo "HTTP: 200 with the same counts; 404, 405; the fifth connection of one source refused"

# ---- the textfile: rewritten every second, read back ----
textfile_has() { [ "$(metric "$T/prom/jgw.prom" jgw_frames_total 'verdict="allow"')" = 6 ]; }
wait_for 100 textfile_has || fail "the textfile does not hold the counts"
cp "$T/prom/jgw.prom" "$T/f.txt"
promtool_ok "$T/f.txt"
metric_is "$T/f.txt" jgw_frames_denied_by_reason_total 'reason="bad-value"' 1
ls "$T/prom" | grep -v '^jgw.prom$' && fail "something beside the textfile in its directory"
echo "textfile: rewritten with the same counts, nothing left beside it"

# ---- a live tunnel, per peer ----
"$JGW_NODE" send --connect 127.0.0.1:23001 --from 131016 --to 130001 --type honnin-tsuchi \
	--count 1 --expect ack --hold 60 --timeout 10 >/dev/null 2>&1 &
sender=$!
JG_PIDS+=($sender)
peer_live() { ctl chiyoda metrics | grep -qx 'jgw_peer_tunnels{peer="130001"} 1'; }
wait_for 100 peer_live || fail "the live tunnel is not in jgw_peer_tunnels"
ctl chiyoda peers | grep -q '^peer 130001 .*tunnels 1 ' || fail "jgwctl peers disagrees"
ctl chiyoda metrics | grep -qx 'jgw_tunnels_open{direction="egress"} 1' || fail "egress tunnel not open"
kill "$sender"
wait_for 100 bash -c "'$JGWCTL' -s '$T/chiyoda/control.sock' metrics | grep -qx 'jgw_peer_tunnels{peer=\"130001\"} 0'" \
	|| fail "the tunnel's end is not in jgw_peer_tunnels"
echo "a live tunnel: jgw_peer_tunnels 1 as jgwctl peers says, then 0"

stop_jgwd chiyoda || fail "chiyoda exited non-zero"
[ -e "$T/prom/jgw.prom" ] && fail "the textfile outlived jgwd"
stop_jgwd tokyo || fail "tokyo exited non-zero"
exit 0
