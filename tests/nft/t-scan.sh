# A full TCP port scan (65,535 SYNs from one stranger, a crafted pcap
# replayed into the WAN) gives at most NFT_LOG_TOP + 1 drop summaries in
# its interval, not one per port: here one summary, its ports 1-65535 as a
# range with their count. Prints the size of the interval's summary output
# (what a drop-interval of 60 s writes per minute for such a scan).
source "$(dirname "$0")/lib.sh"
command -v tcpreplay >/dev/null || skip "tcpreplay not installed"
[ -x "$PCAPTOOL" ] || fail "no $PCAPTOOL"
topology
ip netns exec "$GW" "$TOOL" apply $(policy) || fail "apply"

gw_mac=$(ip -n "$GW" -br link show wan0 | awk '{print $3}')
my_mac=$(ip -n "$STRANGER" -br link show wan0 | awk '{print $3}')
n=$("$PCAPTOOL" "$WORK/scan.pcap" "$gw_mac" "$my_mac" 10.77.0.66,10.77.0.16,1-65535) ||
	fail "nft-pcap"
[ "$n" = 65535 ] || fail "pcap has $n packets"

log_start
ip netns exec "$STRANGER" tcpreplay -q -i wan0 --topspeed "$WORK/scan.pcap" >"$WORK/replay" 2>&1 ||
	fail "tcpreplay: $(cat "$WORK/replay")"
all_in() { [ "$(counter drop_input)" -ge 65535 ]; }
wait_for 30 all_in || fail "not every SYN was dropped and counted ($(counter drop_input))"
log_stop 30
grep '^drop ' "$WORK/log" | sed 's/^/  | /'
grep '^overruns ' "$WORK/log" | sed 's/^/  | /'

lines=$(grep -c '^drop ' "$WORK/log")
[ "$lines" -ge 1 ] && [ "$lines" -le 33 ] || fail "$lines summaries, want 1 to NFT_LOG_TOP + 1"
logged=$(awk '/^drop / { for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
	s += f["packets"] } END { print s + 0 }' "$WORK/log")
if grep -q '^overruns 0$' "$WORK/log"; then
	[ "$logged" = "$(drops_counted)" ] || fail "$logged packets summarised, $(drops_counted) dropped"
	grep -q '^drop rule=input src=10.77.0.66 proto=6 dport=1 dport_max=65535 ports=65535 sources=1 keys=1 packets=65535 ' \
		"$WORK/log" || fail "the scan is not one summary of 65,535 ports"
	echo "ok: the full scan is one summary: ports 1-65535, 65,535 ports, 65,535 packets"
else
	# The kernel dropped log messages (counted): the bound still holds.
	echo "note: NFLOG overruns, $logged of $(drops_counted) drops summarised"
fi
echo "ok: $lines summary line(s) for a 65,535-port scan"

# The figure: summary output per interval. As nft-tool prints it, and as
# the audit records jgwd writes would be (the record's shape with its
# envelope: ts, seq, gw, event, epoch, the drop fields, mac). For
# comparison, the same scan summarised one key per (rule, source, port) up
# to 4,096 keys plus an overflow entry, as the summariser did before.
record() {   # SRC DPORT PACKETS BYTES RULE [EXTRA] -> one record's length
	printf '{"ts":"2026-01-01T00:00:00.000000Z","seq":1000000,"gw":"131016","event":"drop","epoch":1,"interval_s":60,"src":"%s","dst_port":%s,"proto":"tcp","packets":%s,"bytes":%s,"rule":"%s"%s,"mac":"%064d"}\n' \
		"$1" "$2" "$3" "$4" "$5" "${6:-}" 0
}
bytes=$(grep '^drop ' "$WORK/log" | wc -c)
audit=$(grep '^drop ' "$WORK/log" | while read -r line; do
	declare -A f=()
	for kv in $line; do f[${kv%%=*}]=${kv#*=}; done
	record "${f[src]}" "${f[dport]}" "${f[packets]}" "${f[bytes]}" "${f[rule]}" \
		",\"dst_port_max\":${f[dport_max]},\"ports\":${f[ports]},\"sources\":${f[sources]},\"keys\":${f[keys]}"
done | wc -c)
before=$( { for p in $(seq 4096); do record 10.77.0.66 "$p" 1 40 input; done
	record "" 0 61439 2457560 overflow; } | wc -c)
echo "figure: full port scan in one interval: $lines summaries, $bytes bytes of summary lines," \
	"$audit bytes as drop audit records: $audit bytes per minute at drop-interval 60s" \
	"(one summary per port before: 4,097 records, $before bytes per minute)"
exit 0
