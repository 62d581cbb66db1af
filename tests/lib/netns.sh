# netns.sh — the demo/test network of netplan.md in network namespaces.
# Sourced (bash) by the demo, the end-to-end tests and the relay benchmark.
#
#   NS_PREFIX=je-$$-      # every namespace name starts with it (jd-, je-)
#   source tests/lib/netns.sh
#   ns_up chiyoda tokyo   # a WAN bridge plus, per site, a gateway namespace
#                         # (wan0, lan0) and a site-server namespace (eth0)
#   ns_gw tokyo           # -> "${NS_PREFIX}tokyo"      (gateway namespace)
#   ns_srv tokyo          # -> "${NS_PREFIX}tokyo-srv"  (site servers)
#   ns_stranger           # a host on the WAN that is in no directory
#   ns_down               # remove everything named ${NS_PREFIX}* (idempotent)
#
# Addresses (netplan.md): WAN 10.77.0.0/24 + fd00:77::/64 (gateway .16 .24
# .13 .100, stranger .66), site LAN 10.N.0.0/24 with the gateway on .1 and
# the site server on .10. The gateway does not route: it is a proxy, so
# nothing crosses between lan0 and wan0 unless jgwd relays it.

NS_PREFIX=${NS_PREFIX:-je-$$-}

declare -A NS_CODE=([chiyoda]=131016 [chuo]=131024 [tokyo]=130001 [jlis]=000000)
declare -A NS_HOST=([chiyoda]=16 [chuo]=24 [tokyo]=13 [jlis]=100)
declare -A NS_NAME_JA=([chiyoda]=千代田区 [chuo]=中央区 [tokyo]=東京都 [jlis]=機構)

ns_gw()  { echo "${NS_PREFIX}$1"; }
ns_srv() { echo "${NS_PREFIX}$1-srv"; }
ns_wan() { echo "${NS_PREFIX}wan"; }
ns_stranger() { echo "${NS_PREFIX}stranger"; }
ns_code() { echo "${NS_CODE[$1]}"; }
ns_wan4() { echo "10.77.0.${NS_HOST[$1]}"; }
ns_wan6() { echo "fd00:77::${NS_HOST[$1]}"; }
ns_lan_gw() { echo "10.${NS_HOST[$1]}.0.1"; }
ns_lan_srv() { echo "10.${NS_HOST[$1]}.0.10"; }
# A namespace with loopback up and IPv6 duplicate address detection off
# (addresses usable at once, so tests need no sleeps).
_ns_new() {
	ip netns add "$1" || return 1
	ip -n "$1" link set lo up
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 >/dev/null 2>&1 || true
}

# A host on the WAN bridge: namespace $1, address index $2.
_ns_wan_host() {
	local ns=$1 host=$2 port=$3 wan
	wan=$(ns_wan)
	ip -n "$ns" link add wan0 type veth peer name "$port" netns "$wan" || return 1
	ip -n "$wan" link set "$port" master br0 up
	ip -n "$ns" addr add "10.77.0.$host/24" dev wan0
	ip -n "$ns" addr add "fd00:77::$host/64" dev wan0 nodad
	ip -n "$ns" link set wan0 up
}

_ns_site() {
	local s=$1 gw srv n
	gw=$(ns_gw "$s"); srv=$(ns_srv "$s"); n=${NS_HOST[$s]}
	_ns_new "$gw" && _ns_new "$srv" || return 1
	_ns_wan_host "$gw" "$n" "$s" || return 1
	ip -n "$gw" link add lan0 type veth peer name eth0 netns "$srv" || return 1
	ip -n "$gw" addr add "10.$n.0.1/24" dev lan0
	ip -n "$gw" link set lan0 up
	ip -n "$srv" addr add "10.$n.0.10/24" dev eth0
	ip -n "$srv" link set eth0 up
	ip -n "$srv" route add default via "10.$n.0.1"
	# A gateway is an endpoint, never a router.
	ip netns exec "$gw" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
}

# ns_up SITE... — the WAN bridge, the stranger, and each site.
ns_up() {
	local wan s
	wan=$(ns_wan)
	_ns_new "$wan" || return 1
	ip -n "$wan" link add br0 type bridge
	ip -n "$wan" link set br0 up
	for s in "$@"; do
		_ns_site "$s" || { echo "netns: cannot build site $s" >&2; return 1; }
	done
	_ns_new "$(ns_stranger)" && _ns_wan_host "$(ns_stranger)" 66 stranger
}

# Processes still running inside a namespace, then the namespace itself.
_ns_del() {
	local ns=$1 pids
	pids=$(ip netns pids "$ns" 2>/dev/null)
	if [ -n "$pids" ]; then
		kill $pids 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			pids=$(ip netns pids "$ns" 2>/dev/null)
			[ -z "$pids" ] && break
			sleep 0.2
		done
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	fi
	ip netns del "$ns" 2>/dev/null
}

# ns_down — every namespace of this prefix (also those of an earlier run
# that was killed before its trap ran).
ns_down() {
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		case $ns in "$NS_PREFIX"*) _ns_del "$ns";; esac
	done
}

# ns_wait_tcp NS ADDR PORT [SECONDS] — until something listens there.
ns_wait_tcp() {
	local ns=$1 addr=$2 port=$3 secs=${4:-10} i
	for ((i = 0; i < secs * 20; i++)); do
		if ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# ---------------------------------------------------------------------
# Gateways and site servers on top of the topology. Needs B (build dir,
# absolute), NS_WORK (a private temporary directory) and the PKI made by
# ns_pki. Each site gets NS_WORK/SITE/ with its config, spool, control
# socket, logs.

NS_ROOT=${NS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

# ns_pki — the test PKI (conf/mkpki.sh) under NS_WORK/pki.
ns_pki() {
	sh "$NS_ROOT/conf/mkpki.sh" "$NS_WORK/pki" >"$NS_WORK/mkpki.log" 2>&1 || {
		cat "$NS_WORK/mkpki.log" >&2; return 1; }
}

# ns_collector_start SITE — an audit collector in SITE's gateway namespace:
# rsyslog with imrelp over TLS on 127.0.0.1:24514, presenting the test
# PKI's collector certificate (collector.jgw.test) and asking for a client
# certificate of the test CA, rsyslog's default maxMessageSize (8k, what
# the mirror promises to fit) and its control characters kept, so each
# record is a line of its own. It writes "APP-NAME MSGID MSG" lines to
# NS_WORK/collector/collector.log; NS_COLLECTOR_PID is rsyslogd's pid.
ns_collector_start() {
	local ns c=$NS_WORK/collector
	ns=$(ns_gw "$1")
	mkdir -p "$c/work"
	cat >"$c/rsyslog.conf" <<EOC
global(workDirectory="$c/work" parser.escapeControlCharactersOnReceive="off")
module(load="imrelp" tls.tlslib="openssl")
input(type="imrelp" port="24514" address="127.0.0.1" tls="on"
      tls.caCert="$NS_WORK/pki/ca.crt" tls.myCert="$NS_WORK/pki/collector.crt"
      tls.myPrivKey="$NS_WORK/pki/collector.key" tls.authMode="certvalid")
template(name="raw" type="string" string="%app-name% %msgid% %msg%\n")
action(type="omfile" file="$c/collector.log" template="raw")
EOC
	ip netns exec "$ns" /usr/sbin/rsyslogd -n -f "$c/rsyslog.conf" -i "$c/rsyslog.pid" \
		>"$c/rsyslog.out" 2>&1 &
	NS_COLLECTOR_PID=$!
	ns_wait_tcp "$ns" 127.0.0.1 24514 10 || { cat "$c/rsyslog.out" >&2; return 1; }
}

# ns_collector_conf PKI CODE — the audit block that mirrors a site's records
# to that collector; PKI is the directory of ca.crt and CODE.crt/.key as the
# site's configuration names it.
ns_collector_conf() {
	cat <<EOC
audit {
	collector {
		host 127.0.0.1;
		port 24514;
		name "collector.jgw.test";
		ca "$1/ca.crt";
		certificate "$1/$2.crt";
		key "$1/$2.key";
	}
}
EOC
}

# The example configuration of a site: conf/<short>-<code>.conf.
ns_conf_example() {
	local f=$NS_ROOT/conf/$1-${NS_CODE[$1]}.conf
	[ -f "$f" ] && echo "$f"
}

ns_conf() { echo "$NS_WORK/$1/etc/$1-${NS_CODE[$1]}.conf"; }

# ns_conf_tree DIR — conf/ copied to DIR/etc (replacing it), its state paths
# moved under DIR (lib, run), pki/ pointing at NS_WORK/pki.
ns_conf_tree() {
	local dir=$1 f
	rm -rf "$dir/etc"
	mkdir -p "$dir/lib" "$dir/run"
	cp -a "$NS_ROOT/conf" "$dir/etc"
	rm -rf "$dir/etc/pki"
	ln -sfn "$NS_WORK/pki" "$dir/etc/pki"
	while IFS= read -r -d '' f; do
		sed -i -e "s|/var/lib/jgw|$dir/lib|g" -e "s|/run/jgw|$dir/run|g" "$f"
	done < <(find "$dir/etc" -name '*.conf' -print0)
}

# ns_site_conf SITE — the examples (with their includes and the catalog)
# copied to NS_WORK/SITE/etc, state paths moved under NS_WORK/SITE, pki/
# pointing at NS_WORK/pki; `ns_conf SITE` names the site's file.
ns_site_conf() {
	local s=$1 dir
	dir=$NS_WORK/$s
	ns_conf_example "$s" >/dev/null || { echo "netns: no example configuration for $s" >&2; return 1; }
	ns_conf_tree "$dir"
	[ -f "$dir/lib/audit.key" ] || "$B/jgwctl" audit init -o "$dir/k0" -k "$dir/lib/audit.key" \
		>/dev/null 2>"$dir/audit-init.log" || { cat "$dir/audit-init.log" >&2; return 1; }
}

# ns_jgwd_start SITE — jgwd in the site's gateway namespace; waits until
# both listeners are up. Its pid goes to NS_WORK/SITE/jgwd.pid.
ns_jgwd_start() {
	local s=$1 dir gw
	dir=$NS_WORK/$s; gw=$(ns_gw "$s")
	ip netns exec "$gw" "$B/jgwd" -c "$(ns_conf "$s")" >>"$dir/jgwd.log" 2>&1 &
	echo $! >"$dir/jgwd.pid"
	ns_wait_tcp "$gw" "$(ns_lan_gw "$s")" 7000 10 && ns_wait_tcp "$gw" "$(ns_wan4 "$s")" 7443 5 || {
		echo "netns: jgwd of $s did not come up:" >&2; tail -20 "$dir/jgwd.log" >&2; return 1; }
}

ns_jgwd_stop() {
	local s=$1 pid
	pid=$(cat "$NS_WORK/$s/jgwd.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$NS_WORK/$s/jgwd.pid"
}

# ns_servers_start SITE — the site's 住基 (7101) and 附票 (7201) servers,
# logging frame metadata to NS_WORK/SITE/juki.log and fuhyo.log.
ns_servers_start() {
	local s=$1 dir srv addr
	dir=$NS_WORK/$s; srv=$(ns_srv "$s"); addr=$(ns_lan_srv "$s")
	ip netns exec "$srv" "$B/jgw-node" serve --listen "$addr:7101" --node "${NS_CODE[$s]}" \
		>"$dir/juki.log" 2>&1 &
	ip netns exec "$srv" "$B/jgw-node" serve --listen "$addr:7201" --node "${NS_CODE[$s]}" \
		>"$dir/fuhyo.log" 2>&1 &
	ns_wait_tcp "$srv" "$addr" 7101 5 && ns_wait_tcp "$srv" "$addr" 7201 5
}

# ns_site_up SITE... — config, servers and gateway of each site.
ns_site_up() {
	local s
	for s in "$@"; do
		ns_site_conf "$s" && ns_servers_start "$s" && ns_jgwd_start "$s" || return 1
	done
}

# ns_send SITE ARGS... — jgw-node send from the site's server to its gateway.
ns_send() {
	local s=$1; shift
	ip netns exec "$(ns_srv "$s")" "$B/jgw-node" send --connect "$(ns_lan_gw "$s"):7000" \
		--from "${NS_CODE[$s]}" "$@"
}

# ns_audit SITE — the site gateway's audit records, oldest first.
ns_audit() {
	local f
	# File names carry the zero-padded first seq: glob order is seq order.
	for f in "$NS_WORK/$1"/lib/audit/audit-*.jsonl; do
		[ -f "$f" ] && cat "$f"
	done
	return 0
}
