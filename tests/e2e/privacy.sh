# privacy — issue 5: frames carrying a known marker in their personal fields
# (氏名, 住所) cross four sites, allowed and refused; the marker is then
# searched for in every log, audit spool, control-socket answer and the audit
# collector's copy (rsyslog imrelp over TLS). It must appear nowhere — while
# a capture on a site LAN shows that it really was in the frames.
source "$(dirname "$0")/lib.sh"
e2e_need
[ -x /usr/sbin/rsyslogd ] || skip "rsyslogd is not installed (make deps)"
ls /usr/lib/*/rsyslog/imrelp.so >/dev/null 2>&1 || skip "rsyslog-relp is not installed (make deps)"
command -v tcpdump >/dev/null || skip "tcpdump is not installed"

token=PRIVMARK$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')
export JGW_NODE_MARKER="${token}試験太郎"
hex=$(printf '%s' "$token" | od -An -tx1 | tr -d ' \n')

# 東京都 mirrors its audit records to a collector in its own namespace.
e2e_conf_hook() {
	[ "$1" != tokyo ] || ns_collector_conf pki 130001 >>"$2"
}
e2e_topology chiyoda chuo tokyo jlis
C=$NS_WORK/collector
ns_collector_start tokyo || fail "the collector did not start"
# --immediate-mode: hand each packet to tcpdump at once (the default block
# ring delivers only when a block retires, and a loaded machine may kill
# tcpdump first).
ip netns exec "$(ns_gw tokyo)" tcpdump --immediate-mode -i lan0 -s 0 -U -w "$NS_WORK/../jgw-privacy-$$.pcap" \
	tcp port 7101 >/dev/null 2>"$NS_WORK/tcpdump.err" &
tcpdump_pid=$!
wait_for 100 grep -q 'listening on' "$NS_WORK/tcpdump.err" || fail "tcpdump did not start: $(cat "$NS_WORK/tcpdump.err")"
e2e_start chiyoda chuo tokyo jlis

# The marker is in what jgw-node builds (or the search below proves nothing).
"$B/jgw-node" frame --from 131016 --to 130001 --type honnin-tsuchi --records 2 | grep -qa "$token" ||
	fail "jgw-node does not put the marker into its frames"

# Allowed traffic.
e2e_send_ok chiyoda --to 130001 --type honnin-tsuchi --records 20 --count 3 >/dev/null
e2e_send_ok tokyo --to 000000 --type honnin-tsuchi-kiko --records 20 --count 2 >/dev/null
e2e_send_ok chiyoda --to 131024 --type tennyu-tsuchi >/dev/null
e2e_send_ok chiyoda --to 000000 --type bango-seisei >/dev/null
e2e_send_ok chuo --to 130001 --type fuhyo-honnin-tsuchi --records 5 >/dev/null
# Refused traffic: denies are where a careless engine would quote values.
e2e_send_refused chiyoda --to 131024 --type tennyu-tsuchi --bad check-digit >/dev/null
e2e_send_refused chuo --to 131016 --type tennyu-tsuchi --bad tlv-order >/dev/null
e2e_send_refused chuo --to 131016 --type honnin-tsuchi >/dev/null
e2e_send_refused chiyoda --to 130001 --type honnin-tsuchi --bad sender --spoof 131024 >/dev/null
e2e_send_refused tokyo --to 000000 --type honnin-tsuchi-kiko --bad truncated >/dev/null
# And what operators look at.
for s in chiyoda chuo tokyo jlis; do
	for cmd in status stats peers; do
		"$B/jgwctl" -c "$(ns_conf "$s")" $cmd >>"$NS_WORK/$s/jgwctl.out" 2>&1
	done
	"$B/jgwctl" audit tail -n 1000 "$NS_WORK/$s/lib/audit" >>"$NS_WORK/$s/jgwctl.out" 2>&1
done

# The collector got tokyo's records (else its file proves nothing).
for _ in $(seq 50); do
	[ "$(grep -c '"event":"message"' "$C/collector.log" 2>/dev/null)" -ge 5 ] && break
	sleep 0.2
done
n=$(grep -c '"event":"message"' "$C/collector.log" 2>/dev/null)
[ "${n:-0}" -ge 5 ] || { cat "$C/rsyslog.out"; fail "the collector received ${n:-0} message records"; }
# Stop everything so that all is flushed, then search.
for s in chiyoda chuo tokyo jlis; do ns_jgwd_stop "$s"; done
# The capture is the proof that the search below can find something: wait
# until it holds the marker (or give up) before stopping tcpdump.
for _ in $(seq 50); do
	grep -qa "$token" "$NS_WORK/../jgw-privacy-$$.pcap" 2>/dev/null && break
	sleep 0.1
done
kill "$tcpdump_pid"; wait "$tcpdump_pid" 2>/dev/null
grep -qa "$token" "$NS_WORK/../jgw-privacy-$$.pcap" ||
	{ rm -f "$NS_WORK/../jgw-privacy-$$.pcap"; fail "the marker was not on 東京都's LAN: the frames did not carry it"; }
rm -f "$NS_WORK/../jgw-privacy-$$.pcap"
files=$(find "$NS_WORK" -type f ! -path "$NS_WORK/pki/*" | wc -l)
hits=$(grep -rlaF -e "$token" "$NS_WORK" 2>/dev/null; grep -rlai -e "$hex" "$NS_WORK" 2>/dev/null)
[ -z "$hits" ] || { echo "$hits"; fail "the marker leaked into the files above"; }
echo "marker absent from $files files (logs, spools, collector copy, jgwctl output); present on the wire"
