# After binding, jgwd runs as the configured user: every uid/gid is that
# user's, no supplementary groups, no core dumps (RLIMIT_CORE 0, not
# dumpable); with the firewall on it
# keeps CAP_NET_ADMIN and nothing else (quarantine still works), with it
# off it keeps no capability at all. Reload still works as that user.
. "$(dirname "$0")/lib.sh"
id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null || skip "no nobody/nogroup"
[ "$(id -u)" = 0 ] || skip "needs root to drop privileges"
uid=$(id -u nobody); gid=$(getent group nogroup | cut -d: -f3)
# Started with core dumps allowed, so that only jgwd can take them away.
ulimit -H -c unlimited && ulimit -S -c unlimited || fail "cannot raise the core size limit"

# The daemon must read its files after the drop: give it its own copy.
private_world() {
	local name=$1
	mkdir -p "$T/$name/pki/bad"
	cp "$JGW_TEST_PKI"/ca.crt "$JGW_TEST_PKI"/crl.pem "$JGW_TEST_PKI"/131016.* "$T/$name/pki/"
	cp "$REPO/conf/catalog.jcat" "$T/$name/"
	sed -i -e "s|$JGW_TEST_PKI|$T/$name/pki|g" -e "s|$REPO/conf/catalog.jcat|$T/$name/catalog.jcat|" \
		-e '1a user nobody;\ngroup nogroup;' "$T/$name/jgw.conf"
	chown -R nobody:nogroup "$T/$name"
}

check_ids() {
	local pid=$1 want_cap=$2 st=/proc/$1/status
	awk -v u="$uid" '/^Uid:/ { exit !($2 == u && $3 == u && $4 == u && $5 == u) }' "$st" \
		|| fail "uids: $(grep ^Uid: "$st")"
	awk -v g="$gid" '/^Gid:/ { exit !($2 == g && $3 == g && $4 == g && $5 == g) }' "$st" \
		|| fail "gids: $(grep ^Gid: "$st")"
	grep -Eq '^Groups:[[:space:]]*('"$gid"')?[[:space:]]*$' "$st" || fail "groups: $(grep ^Groups: "$st")"
	grep -q "^CapEff:[[:space:]]*$want_cap\$" "$st" || fail "CapEff: $(grep ^CapEff: "$st") want $want_cap"
	grep -q "^CapPrm:[[:space:]]*$want_cap\$" "$st" || fail "CapPrm: $(grep ^CapPrm: "$st")"
	check_no_core "$pid"
}

# No core dumps: RLIMIT_CORE is 0 (soft and hard) although jgwd was started
# with an unlimited one (below), and the process is not dumpable — the
# kernel then gives its /proc files to root, though jgwd runs as nobody.
check_no_core() {
	local pid=$1
	awk '/^Max core file size/ { exit !($5 == 0 && $6 == 0) }' "/proc/$pid/limits" ||
		fail "core dumps allowed: $(grep '^Max core file size' "/proc/$pid/limits")"
	[ "$(stat -c %u "/proc/$pid/status")" = 0 ] ||
		fail "jgwd is dumpable: /proc/$pid/status is owned by uid $(stat -c %u "/proc/$pid/status")"
}

# Firewall off, on loopback: no capability left.
write_conf plain 131016 22501 22502 22503 130001 22512
private_world plain
start_jgwd plain
check_ids "$(pid_of plain)" 0000000000000000
[ "$(stat -c '%a %G' "$T/plain/control.sock")" = "660 nogroup" ] \
	|| fail "control socket: $(stat -c '%a %U %G' "$T/plain/control.sock")"
ctl plain reload >/dev/null || fail "reload after the drop failed"
stop_jgwd plain || fail "jgwd exited non-zero"

# Firewall on, in a namespace of its own: CAP_NET_ADMIN (bit 12) only.
command -v nft >/dev/null || skip "nft not installed"
ns=jg-p$$
ip netns add "$ns" 2>/dev/null || skip "cannot create network namespaces here"
JG_NETNS+=("$ns")
ip -n "$ns" link set lo up
write_conf fw 131016 22521 22522 22523 130001 22532 131016 \
	'firewall { enabled yes; table "jgwpriv"; keep-on-stop no; }
interface lan lan0;
interface wan wan0;'
sed -i '/^firewall { enabled no; }$/d' "$T/fw/jgw.conf"
private_world fw
ip netns exec "$ns" "$JGWD" -d -c "$T/fw/jgw.conf" >"$T/fw/jgwd.log" 2>&1 &
PID_fw=$!
JG_PIDS+=($PID_fw)
wait_for 100 ctl fw status || fail "jgwd did not come up in $ns"
check_ids "$PID_fw" 0000000000001000
ctl fw quarantine add 10.77.0.42 30 || fail "quarantine add without root"
ctl fw quarantine list | grep -q '10.77.0.42' || fail "quarantine not listed"
ctl fw reload >/dev/null || fail "reload (table replace) after the drop failed"
ctl fw quarantine list | grep -q '10.77.0.42' || fail "quarantine lost across the reload"
kill -TERM "$PID_fw"; wait "$PID_fw" || fail "jgwd exited non-zero"
grep -q 'running as uid' "$T/fw/jgwd.log" || fail "no log line for the drop"
exit 0
