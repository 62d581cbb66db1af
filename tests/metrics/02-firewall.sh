# GET /metrics through the firewall (namespaces of its own, jm-*): jgwd
# listens for metrics on its WAN-side address; a client on the management
# network is answered, one outside it gets nothing at all (dropped by the
# kernel, not refused), and the table holds the rule that says so, as
# `jgwctl nft print` prints it. The firewall's counters and the quarantine
# set's size are in the exposition.
. "$(dirname "$0")/lib.sh"
for t in nft curl promtool; do command -v $t >/dev/null || skip "$t not installed"; done
gw=jm-g$$ cl=jm-c$$
ip netns add "$gw" 2>/dev/null || skip "cannot create network namespaces here"
JG_NETNS+=("$gw")
ip netns add "$cl" || fail "cannot create $cl"
JG_NETNS+=("$cl")
# IPv4 only: IPv6 neighbour discovery and MLD would move the counters
# compared below at moments of their own.
for n in "$gw" "$cl"; do
	ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	ip -n "$n" link set lo up
done
ip link add "jm-a$$" netns "$gw" type veth peer name "jm-b$$" netns "$cl" || fail "veth"
ip -n "$gw" addr add 10.79.0.16/24 dev "jm-a$$"
# One host, two addresses: .50 is in the management network, .99 is not.
ip -n "$cl" addr add 10.79.0.50/24 dev "jm-b$$"
ip -n "$cl" addr add 10.79.0.99/24 dev "jm-b$$"
ip -n "$gw" link set "jm-a$$" up
ip -n "$cl" link set "jm-b$$" up

write_conf gw 131016 23101 23102 23103 130001 23112 131016 \
	'firewall { enabled yes; table "jgwmtest"; keep-on-stop no; }
interface lan lo;
interface wan "jm-a'$$'";
management { network 10.79.0.48/30; }
metrics { listen 10.79.0.16 port 23109; }'
sed -i '/^firewall { enabled no; }$/d' "$T/gw/jgw.conf"
ip netns exec "$gw" "$JGWD" -d -c "$T/gw/jgw.conf" >"$T/gw/jgwd.log" 2>&1 &
PID_gw=$!
JG_PIDS+=($PID_gw)
wait_for 100 ctl gw status || fail "jgwd did not come up in $gw"
[ "$(status_of gw firewall)" = jgwmtest ] || fail "firewall not reported on"

# The rule, in the kernel as jgwctl prints it: from the management set, to
# the metrics address and port.
rule='ip daddr 10.79.0.16 tcp dport 23109 ip saddr @mgmt4 counter name "accept_mgmt" accept'
"$JGWCTL" nft print "$T/gw/jgw.conf" | grep -qF "$rule" || fail "jgwctl nft print has no metrics rule"
ip netns exec "$gw" nft list chain inet jgwmtest input | grep -qF "$rule" \
	|| fail "the kernel's table has no metrics rule"
ip netns exec "$gw" nft list chain inet jgwmtest input | grep -q 'ip6 .*dport 23109' \
	&& fail "an IPv6 metrics rule for an IPv4 listener"

scrape() { ip netns exec "$cl" curl -sS --interface "$1" --connect-timeout 5 --max-time 10 \
	-o "$T/$1.txt" -w '%{http_code}' http://10.79.0.16:23109/metrics; }
[ "$(scrape 10.79.0.50)" = 200 ] || fail "a management client was not answered"
promtool_ok "$T/10.79.0.50.txt"
metric_is "$T/10.79.0.50.txt" jgw_firewall_enabled '' 1
metric_is "$T/10.79.0.50.txt" jgw_quarantine_addresses '' 0
# Outside the management network: no answer at all (curl 28, a timeout),
# where a closed port would have said so at once (7).
scrape 10.79.0.99 >/dev/null 2>&1; rc=$?
[ "$rc" = 28 ] || fail "a client outside the management network got an answer (curl exit $rc)"
echo "management client answered; the other one dropped (curl exit 28)"

# The counters and the quarantine set, as the kernel has them.
ctl gw quarantine add 10.79.0.98 60 || fail "quarantine add"
ctl gw metrics >"$T/m.txt" || fail "jgwctl metrics"
promtool_ok "$T/m.txt"
metric_is "$T/m.txt" jgw_quarantine_addresses '' "$(ctl gw quarantine list | grep -c '^quarantined ')"
metric_is "$T/m.txt" jgw_quarantine_addresses '' 1
# jgwctl stats: nft_NAME_packets N and nft_NAME_bytes N per named counter.
ctl gw stats >"$T/stats" || fail "jgwctl stats"
sed -n 's/^nft_\(.*\)_packets [0-9]*$/\1/p' "$T/stats" >"$T/counters"
[ "$(wc -l <"$T/counters")" -ge 5 ] || fail "jgwctl stats lists $(wc -l <"$T/counters") nft counters"
while read -r name; do
	metric_is "$T/m.txt" jgw_nft_packets_total "counter=\"$name\"" \
		"$(awk -v k="nft_${name}_packets" '$1 == k { print $2 }' "$T/stats")"
	metric_is "$T/m.txt" jgw_nft_bytes_total "counter=\"$name\"" \
		"$(awk -v k="nft_${name}_bytes" '$1 == k { print $2 }' "$T/stats")"
done <"$T/counters"
[ "$(grep -c '^jgw_nft_packets_total{' "$T/m.txt")" = "$(wc -l <"$T/counters")" ] \
	|| fail "the metrics and jgwctl stats list different nft counters"
[ "$(metric "$T/m.txt" jgw_nft_packets_total 'counter="accept_mgmt"')" -ge 1 ] \
	|| fail "the management scrape is not counted in accept_mgmt"
[ "$(metric "$T/m.txt" jgw_nft_packets_total 'counter="drop_input"')" -ge 1 ] \
	|| fail "the dropped scrape is not counted in drop_input"
echo "nft counters as jgwctl stats lists them; quarantine size as the kernel set"

kill -TERM "$PID_gw"; wait "$PID_gw" || fail "jgwd exited non-zero"
exit 0
