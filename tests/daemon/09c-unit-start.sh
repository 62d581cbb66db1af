# jgwd started the way the appliance's unit starts it (image/systemd/
# jgwd.service: User=, AmbientCapabilities=CAP_NET_ADMIN, that one capability
# bounded): never root, its files its own, the firewall table applied and
# replaced on reload, quarantine changed at run time, the control socket
# made without chown.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to start a process as another user"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
command -v nft >/dev/null || skip "nft not installed"
id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null || skip "no nobody/nogroup"
unit=$REPO/image/systemd/jgwd.service
grep -qx 'AmbientCapabilities=CAP_NET_ADMIN' "$unit" || fail "the unit no longer starts jgwd with CAP_NET_ADMIN ambient"
grep -qx 'CapabilityBoundingSet=CAP_NET_ADMIN' "$unit" || fail "the unit's bounding set changed"
uid=$(id -u nobody); gid=$(getent group nogroup | cut -d: -f3)

ns=jg-u$$
ip netns add "$ns" 2>/dev/null || skip "cannot create network namespaces here"
JG_NETNS+=("$ns")
ip -n "$ns" link set lo up
write_conf unit 131016 22541 22542 22543 130001 22552 131016 \
	'firewall { enabled yes; table "jgwunit"; keep-on-stop no; }
interface lan lan0;
interface wan wan0;'
sed -i '/^firewall { enabled no; }$/d' "$T/unit/jgw.conf"
d=$T/unit
mkdir -p "$d/pki"
cp "$JGW_TEST_PKI"/ca.crt "$JGW_TEST_PKI"/crl.pem "$JGW_TEST_PKI"/131016.* "$d/pki/"
cp "$REPO/conf/catalog.jcat" "$d/"
sed -i -e "s|$JGW_TEST_PKI|$d/pki|g" -e "s|$REPO/conf/catalog.jcat|$d/catalog.jcat|" "$d/jgw.conf"
chown -R nobody:nogroup "$d"

ip netns exec "$ns" setpriv --reuid="$uid" --regid="$gid" --clear-groups \
	--bounding-set=-all,+net_admin --inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin \
	-- "$JGWD" -d -c "$d/jgw.conf" >"$d/jgwd.log" 2>&1 &
PID_unit=$!
JG_PIDS+=($PID_unit)
wait_for 100 ctl unit status || fail "jgwd did not come up as nobody with CAP_NET_ADMIN"
st=/proc/$PID_unit/status
awk -v u="$uid" '/^Uid:/ { exit !($2 == u && $3 == u && $4 == u && $5 == u) }' "$st" || fail "uids: $(grep ^Uid: "$st")"
grep -q '^CapEff:[[:space:]]*0000000000001000$' "$st" || fail "$(grep ^CapEff: "$st"), want CAP_NET_ADMIN only"
[ "$(stat -c %U "$d/control.sock")" = nobody ] || fail "control socket owned by $(stat -c %U "$d/control.sock")"
ip netns exec "$ns" nft list table inet jgwunit >/dev/null || fail "no firewall table in force"
ctl unit quarantine add 10.77.0.43 30 || fail "quarantine add"
ip netns exec "$ns" nft list table inet jgwunit | grep -q '10.77.0.43' || fail "quarantine not in the kernel set"
ctl unit reload >/dev/null || fail "reload (table replace) as nobody failed"
ctl unit quarantine list | grep -q '10.77.0.43' || fail "quarantine lost across the reload"
find "$d/spool" -type f ! -user nobody | grep -q . && fail "spool files not owned by nobody: $(find "$d/spool" ! -user nobody)"
kill -TERM "$PID_unit"; wait "$PID_unit" || fail "jgwd exited non-zero"
ip netns exec "$ns" nft list table inet jgwunit >/dev/null 2>&1 && fail "table left behind with keep-on-stop no"
exit 0
