# farm.sh — 機構 (000000) as a farm of active members behind the kernel's
# own load balancing (nftables DNAT with a numgen map) in a distributor
# namespace; sourced after netns.sh and tests/e2e/lib.sh by
# tests/e2e/ha-farm.sh and the farm bench.
#
#   farm_up N       the WAN with tokyo; the distributor on 10.77.0.100 (the
#                   address the peers have for 機構) forwarding port 7443
#                   to members 1..N (10.101.0.1X behind it); the members'
#                   LAN with 機構's servers (10.100.0.10); configs from
#                   conf/jlis-000000.conf with ha { member jlis-N; }
#   farm_start I    jgwd of member I
#   farm_balance I...  the DNAT map: these members, round robin (numgen)
#   farm_health N   the distributor's health check (background): every
#                   200 ms each member's jgwd is asked (its metrics port,
#                   open to the distributor only), and the map holds the
#                   members that answer
#
# The distributor only translates addresses (conntrack keeps each tunnel
# on its member); it terminates nothing and inspects nothing.

FARM_VIP=10.77.0.100

farm_ns() { echo "${NS_PREFIX}jlis-$1"; }
farm_lb() { echo "${NS_PREFIX}jlis-lb"; }
farm_dir() { echo "$NS_WORK/jlis-$1"; }
farm_conf() { echo "$(farm_dir "$1")/etc/jlis-000000.conf"; }
farm_sock() { echo "$(farm_dir "$1")/run/control.sock"; }
farm_audit() {
	local f
	for f in "$(farm_dir "$1")"/lib/audit/audit-*.jsonl; do [ -f "$f" ] && cat "$f"; done
	return 0
}

_farm_member_conf() {
	local i=$1 dir
	dir=$(farm_dir "$i")
	ns_conf_tree "$dir"
	sed -i -e "s|^listen lan 10.100.0.1 |listen lan 10.100.0.1$i |" "$(farm_conf "$i")"
	# The distributor's health check asks jgwd itself: its metrics port,
	# which the table opens to the distributor (a management network) only.
	printf '\nha {\n\tmember jlis-%s;\n}\nmanagement {\n\tnetwork 10.101.0.1/32;\n}\n' \
		"$i" >>"$(farm_conf "$i")"
	printf 'metrics {\n\tlisten 10.101.0.1%s port 9464;\n}\n' "$i" >>"$(farm_conf "$i")"
	"$B/jgwctl" audit init -o "$dir/k0" -k "$dir/lib/audit.key" >/dev/null 2>&1 || return 1
	"$B/jgwctl" check "$(farm_conf "$i")" >"$dir/check.log" 2>&1 || { cat "$dir/check.log"; return 1; }
}

farm_up() {
	local n=$1 lb lan srv i ns
	ns_up tokyo || return 1
	lb=$(farm_lb); lan=${NS_PREFIX}jlis-lan; srv=$(ns_srv jlis)
	_ns_new "$lb" && _ns_new "$lan" && _ns_new "$srv" || return 1
	_ns_wan_host "$lb" 100 jlislb || return 1
	ip netns exec "$lb" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$lb" link add br1 type bridge && ip -n "$lb" addr add 10.101.0.1/24 dev br1 &&
		ip -n "$lb" link set br1 up || return 1
	ip -n "$lan" link add br0 type bridge && ip -n "$lan" link set br0 up || return 1
	for i in $(seq "$n"); do
		ns=$(farm_ns "$i")
		_ns_new "$ns" || return 1
		ip -n "$ns" link add wan0 type veth peer name "m$i" netns "$lb" || return 1
		ip -n "$lb" link set "m$i" master br1 up
		ip -n "$ns" addr add "10.101.0.1$i/24" dev wan0
		ip -n "$ns" link set wan0 up
		ip -n "$ns" route add default via 10.101.0.1
		ip -n "$ns" link add lan0 type veth peer name "l$i" netns "$lan" || return 1
		ip -n "$lan" link set "l$i" master br0 up
		ip -n "$ns" addr add "10.100.0.1$i/24" dev lan0
		ip -n "$ns" link set lan0 up
	done
	ip -n "$srv" link add eth0 type veth peer name lsrv netns "$lan" || return 1
	ip -n "$lan" link set lsrv master br0 up
	ip -n "$srv" addr add 10.100.0.10/24 dev eth0
	ip -n "$srv" link set eth0 up
	e2e_pki
	ns_site_conf tokyo || return 1
	for i in $(seq "$n"); do _farm_member_conf "$i" || return 1; done
	mkdir -p "$NS_WORK/jlis"
}

farm_start() {
	local i=$1 dir
	dir=$(farm_dir "$i")
	ip netns exec "$(farm_ns "$i")" "$B/jgwd" -c "$(farm_conf "$i")" >>"$dir/jgwd.log" 2>&1 &
	echo $! >"$dir/jgwd.pid"
	ns_wait_tcp "$(farm_ns "$i")" "10.101.0.1$i" 7443 10 || { tail -20 "$dir/jgwd.log"; return 1; }
}

farm_stop() {
	local pid
	pid=$(cat "$(farm_dir "$1")/jgwd.pid" 2>/dev/null) || return 0
	kill "${2:--TERM}" "$pid" 2>/dev/null
	wait_gone 100 "$pid" || kill -9 "$pid" 2>/dev/null
}

# The map is replaced in one nft transaction: a connection already
# translated keeps its member (conntrack), new ones go round the list.
farm_balance() {
	local n=$# elems="" k=0 i
	for i in "$@"; do
		elems="$elems${elems:+, }$k : 10.101.0.1$i"
		k=$((k + 1))
	done
	{
		echo "table ip farm"
		echo "delete table ip farm"
		echo "table ip farm {"
		echo "	chain pre {"
		echo "		type nat hook prerouting priority dstnat; policy accept;"
		[ "$n" -gt 0 ] && echo "		ip daddr $FARM_VIP tcp dport 7443 dnat to numgen inc mod $n map { $elems }"
		echo "	}"
		echo "}"
	} | ip netns exec "$(farm_lb)" nft -f - || return 1
	echo "$*" >"$NS_WORK/farm.members"
}

farm_health() {
	local n=$1 alive i
	while [ ! -e "$NS_WORK/farm.stop" ]; do
		alive=()
		for i in $(seq "$n"); do
			ip netns exec "$(farm_lb)" timeout 0.5 bash -c "exec 3<>/dev/tcp/10.101.0.1$i/9464" \
				2>/dev/null && alive+=("$i")
		done
		[ "${alive[*]}" = "$(cat "$NS_WORK/farm.members" 2>/dev/null)" ] || farm_balance "${alive[@]}"
		sleep 0.2
	done
}
