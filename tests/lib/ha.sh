# ha.sh — 千代田区 as a pair of appliances in network namespaces, on top of
# netns.sh and tests/e2e/lib.sh (sourced after them): the e2e cases
# tests/e2e/ha-*.sh and the failover bench share it.
#
#   ha_up           the WAN with tokyo and chuo (peers listing both members), the
#                   pair's LAN bridge, members a (10.16.0.2, WAN .16) and
#                   b (10.16.0.3, WAN .17), the CS (10.16.0.10); configs
#                   from conf/chiyoda-131016-{a,b}.conf; nothing started
#   ha_start M      jgwd of member M, then its keepalived (real VRRP,
#                   conf/ha/jgw-ha-notify and jgw-ha-check)
#   ha_kill_jgwd M  SIGKILL, as a crash
#   ha_master       prints the member holding the virtual address
#   ha_state M      jgwd's ha_state of member M
#
# keepalived is the one of the system (Debian's package), run per member
# with its own pid files, in the member's namespace.

HA_VIP=10.16.0.1
declare -A HA_LAN=([a]=10.16.0.2 [b]=10.16.0.3)
declare -A HA_WAN=([a]=16 [b]=17)
declare -A HA_PRIO=([a]=150 [b]=100)

ha_ns() { echo "${NS_PREFIX}chiyoda-$1"; }
ha_dir() { echo "$NS_WORK/chiyoda-$1"; }
ha_conf() { echo "$(ha_dir "$1")/etc/chiyoda-131016-$1.conf"; }
ha_sock() { echo "$(ha_dir "$1")/run/control.sock"; }
ha_ctl() { local m=$1; shift; "$B/jgwctl" -s "$(ha_sock "$m")" "$@"; }
ha_audit() {
	local f
	for f in "$(ha_dir "$1")"/lib/audit/audit-*.jsonl; do [ -f "$f" ] && cat "$f"; done
	return 0
}

# The pair's LAN: one bridge in a namespace of its own, the members and
# the CS on it.
_ha_lan() {
	local lan=${NS_PREFIX}chiyoda-lan srv m
	srv=$(ns_srv chiyoda)
	_ns_new "$lan" && _ns_new "$srv" || return 1
	ip -n "$lan" link add br0 type bridge && ip -n "$lan" link set br0 up || return 1
	for m in a b; do
		ip -n "$(ha_ns "$m")" link add lan0 type veth peer name "p$m" netns "$lan" || return 1
		ip -n "$lan" link set "p$m" master br0 up
		ip -n "$(ha_ns "$m")" addr add "${HA_LAN[$m]}/24" dev lan0
		ip -n "$(ha_ns "$m")" link set lan0 up
	done
	ip -n "$srv" link add eth0 type veth peer name psrv netns "$lan" || return 1
	ip -n "$lan" link set psrv master br0 up
	ip -n "$srv" addr add 10.16.0.10/24 dev eth0
	ip -n "$srv" link set eth0 up
	ip -n "$srv" route add default via "$HA_VIP"
}

_ha_member_conf() {
	local m=$1 dir
	dir=$(ha_dir "$m")
	ns_conf_tree "$dir"
	"$B/jgwctl" audit init -o "$dir/k0" -k "$dir/lib/audit.key" >/dev/null 2>&1 || return 1
	"$B/jgwctl" check "$(ha_conf "$m")" >"$dir/check.log" 2>&1 || { cat "$dir/check.log"; return 1; }
}

ha_up() {
	local m s
	ns_up tokyo chuo || return 1
	for m in a b; do
		_ns_new "$(ha_ns "$m")" || return 1
		_ns_wan_host "$(ha_ns "$m")" "${HA_WAN[$m]}" "chiyoda$m" || return 1
		ip netns exec "$(ha_ns "$m")" sysctl -qw net.ipv4.ip_forward=0
	done
	_ha_lan || return 1
	e2e_pki
	# The peers list both members: they dial the next when one fails, and
	# accept either as 131016 (source-check).
	for s in tokyo chuo; do
		ns_site_conf "$s" || return 1
		sed -i 's|^\taddress 10.77.0.16;|\taddress 10.77.0.16;\n\taddress 10.77.0.17;|' "$(ns_conf "$s")"
		grep -q 10.77.0.17 "$(ns_conf "$s")" || return 1
	done
	for m in a b; do _ha_member_conf "$m" || return 1; done
}

ha_jgwd_start() {
	local m=$1 dir
	dir=$(ha_dir "$m")
	ip netns exec "$(ha_ns "$m")" "$B/jgwd" -c "$(ha_conf "$m")" >>"$dir/jgwd.log" 2>&1 &
	echo $! >"$dir/jgwd.pid"
	wait_for 100 ha_ctl "$m" status || { tail -20 "$dir/jgwd.log"; return 1; }
}

_ha_keepalived_conf() {
	local m=$1 other dir s
	dir=$(ha_dir "$m")
	[ "$m" = a ] && other=b || other=a
	s="-j $B/jgwctl -s $(ha_sock "$m") -f $dir/run/ha.state"
	cat >"$dir/keepalived.conf" <<-EOF
	global_defs {
		router_id jgw-131016-$m
		script_user root
	}
	vrrp_script jgwd {
		script "$NS_ROOT/conf/ha/jgw-ha-check $s"
		interval 1
		timeout 2
		fall 1
		rise 1
	}
	vrrp_instance jgw_lan {
		state BACKUP
		interface lan0
		virtual_router_id 16
		priority ${HA_PRIO[$m]}
		advert_int 1
		unicast_src_ip ${HA_LAN[$m]}
		unicast_peer {
			${HA_LAN[$other]}
		}
		virtual_ipaddress {
			$HA_VIP/24 dev lan0
		}
		track_interface {
			lan0
		}
		track_script {
			jgwd
		}
		notify "$NS_ROOT/conf/ha/jgw-ha-notify $s"
	}
	EOF
}

ha_keepalived_start() {
	local m=$1 dir
	dir=$(ha_dir "$m")
	_ha_keepalived_conf "$m"
	ip netns exec "$(ha_ns "$m")" keepalived -n -l -D -P -f "$dir/keepalived.conf" \
		-p "$dir/run/keepalived.pid" -r "$dir/run/vrrp.pid" >>"$dir/keepalived.log" 2>&1 &
	echo $! >"$dir/keepalived.pid"
}

ha_start() {
	ha_jgwd_start "$1" && ha_keepalived_start "$1"
}

ha_kill_jgwd() {
	local pid
	pid=$(cat "$(ha_dir "$1")/jgwd.pid")
	kill -9 "$pid" 2>/dev/null
	wait_gone 50 "$pid"
}

ha_stop_all() {
	local m pid
	for m in a b; do
		for pid in $(cat "$(ha_dir "$m")/keepalived.pid" "$(ha_dir "$m")/jgwd.pid" 2>/dev/null); do
			kill "$pid" 2>/dev/null
			wait_gone 50 "$pid" || kill -9 "$pid" 2>/dev/null
		done
	done
}

ha_has_vip() { ip -n "$(ha_ns "$1")" -4 addr show dev lan0 2>/dev/null | grep -q " $HA_VIP/"; }

ha_master() {
	local m
	for m in a b; do ha_has_vip "$m" && { echo "$m"; return 0; }; done
	return 1
}

ha_state() { ha_ctl "$1" status 2>/dev/null | awk '$1 == "ha_state" { print $2 }'; }
ha_state_is() { [ "$(ha_state "$1")" = "$2" ]; }

# One exchange from the CS through the virtual address to tokyo.
ha_send_one() {
	ip netns exec "$(ns_srv chiyoda)" timeout 5 "$B/jgw-node" send --connect "$HA_VIP:7000" \
		--from 131016 --to 130001 --type honnin-tsuchi --records 1 --count 1 --timeout 2 \
		>/dev/null 2>&1
}
