# jgw-snmp under a real snmpd: the test's own snmpd (master agentx on a
# private socket, SNMP on a private loopback port, its own configuration
# and state directory), jgw-snmp started as nobody (no root: only the two
# sockets), after known traffic through two gateways. snmpwalk shows the
# same counters as `jgwctl metrics`, at the OIDs JGW-MIB.txt gives them
# (read from the MIB by tests/metrics/mib-oids.awk, not from jgw-snmp);
# every OID served is a read-only object of the MIB. With jgwd gone, only
# jgwDaemonReachable (false) and jgwDataAge remain.
. "$(dirname "$0")/lib.sh"
: "${JGW_NODE:?}" "${JGW_SNMP:?}"
for t in snmpd snmpwalk snmpget setpriv; do command -v $t >/dev/null || skip "$t not installed"; done
export MIBS=                       # numbers only: the MIB is read by the test itself
SNMP="-v2c -c jgwtest -On -Oq -Oe -t 5 -r 1 127.0.0.1:23299"

write_conf chiyoda 131016 23201 23202 23203 130001 23212
write_conf tokyo 130001 23211 23212 23213 131016 23202
start_jgwd chiyoda
start_jgwd tokyo
"$JGW_NODE" serve --listen 127.0.0.1:23213 --node 130001 >"$T/juki.log" 2>&1 &
JG_PIDS+=($!)
wait_for 50 bash -c "exec 3<>/dev/tcp/127.0.0.1/23213" || fail "site server did not start"
"$JGW_NODE" send --connect 127.0.0.1:23201 --from 131016 --to 130001 \
	--type honnin-tsuchi --count 2 --expect ack --timeout 10 >/dev/null || fail "no answer"
"$JGW_NODE" send --connect 127.0.0.1:23201 --from 131016 --to 130001 \
	--type honnin-tsuchi --bad check-digit --expect close --timeout 10 >/dev/null \
	|| fail "a bad frame was not refused"
wait_for 50 stat_is chiyoda stats tunnels_open -eq 0 || fail "chiyoda's tunnels did not end"

# snmpd, all of it private to the test.
mkdir -p "$T/snmp"
cat >"$T/snmp/snmpd.conf" <<CONF
agentAddress udp:127.0.0.1:23299
master agentx
agentXSocket unix:$T/snmp/agentx.sock
agentXPerms 0666 0755
rocommunity jgwtest 127.0.0.1
CONF
SNMP_PERSISTENT_DIR=$T/snmp snmpd -f -Lf "$T/snmp/snmpd.log" -C -c "$T/snmp/snmpd.conf" \
	-p "$T/snmp/snmpd.pid" &
JG_PIDS+=($!)
wait_for 100 test -S "$T/snmp/agentx.sock" || fail "snmpd made no AgentX socket"

# jgw-snmp as nobody: the control socket (0600, root's) is opened to it.
chmod 0666 "$T/chiyoda/control.sock"
setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs \
	"$JGW_SNMP" -s "$T/chiyoda/control.sock" -x "$T/snmp/agentx.sock" -i 1 >"$T/snmp/sub.log" 2>&1 &
sub=$!
JG_PIDS+=($sub)

awk -f "$REPO/tests/metrics/mib-oids.awk" "$REPO/gateway/metrics/JGW-MIB.txt" >"$T/mib"
oid_of() { awk -v n="$1" '$2 == n { print "." $1 }' "$T/mib"; }
[ -n "$(oid_of jgwFramesDenied)" ] || fail "the MIB has no jgwFramesDenied"
snmp_value() { snmpget $SNMP "$1" 2>/dev/null | awk '{ print $2 }'; }
reachable() { [ "$(snmp_value "$(oid_of jgwDaemonReachable).0")" = 1 ]; }
wait_for 100 reachable || { cat "$T/snmp/sub.log"; fail "jgw-snmp did not come up under snmpd"; }

ctl chiyoda metrics >"$T/m.txt" || fail "jgwctl metrics"
denied=$(metric "$T/m.txt" jgw_frames_total 'verdict="deny"')
[ "$denied" = 1 ] || fail "jgwctl metrics: $denied frames denied, want 1"
synced() { [ "$(snmp_value "$(oid_of jgwFramesDenied).0")" = "$denied" ]; }
wait_for 100 synced || fail "jgwFramesDenied never showed the denial"
snmpwalk $SNMP .1.3.6.1.4.1.99999 >"$T/walk" || fail "snmpwalk"
[ "$(wc -l <"$T/walk")" -ge 30 ] || fail "the walk is short: $(wc -l <"$T/walk") objects"

# Each walked OID is an instance of a read-only object of the MIB.
while read -r oid _; do
	o=${oid#.} found=
	while [ -n "$o" ] && [ "$o" != "${o%.*}" ]; do
		o=${o%.*}
		found=$(awk -v o="$o" '$1 == o && $3 == "OBJECT-TYPE" { print $2, $4 }' "$T/mib")
		[ -n "$found" ] && break
	done
	[ "${found#* }" = read-only ] || fail "$oid is not a read-only object of JGW-MIB ($found)"
done <"$T/walk"

# The same counters as jgwctl metrics, at the MIB's OIDs. Counters that
# move by themselves (uptime, audit records written every second) are
# checked to be there only.
walked() { awk -v o="$1" '$1 == o { $1 = ""; sub(/^ /, ""); print; found = 1 } END { exit !found }' "$T/walk"; }
same() {         # MIB-OBJECT INDEX METRIC LABELS [flag]
	local want got
	want=$(metric "$T/m.txt" "$3" "$4") || fail "jgwctl metrics has no $3{$4}"
	[ "${5:-}" = flag ] && want=$([ "$want" = 1 ] && echo 1 || echo 2)   # TruthValue
	got=$(walked "$(oid_of "$1").$2") || fail "the walk has no $1.$2"
	[ "$got" = "$want" ] || fail "$1.$2 is $got, jgwctl metrics says $want ($3{$4})"
}
same jgwGeneration 0 jgw_config_generation ''
same jgwReloads 0 jgw_reloads_total ''
same jgwTunnelsEgressOpen 0 jgw_tunnels_open 'direction="egress"'
same jgwTunnelsIngressOpen 0 jgw_tunnels_open 'direction="ingress"'
same jgwTunnelsOpened 0 jgw_tunnels_opened_total ''
same jgwTunnelsRejected 0 jgw_tunnels_rejected_total ''
same jgwPeersConfigured 0 jgw_peers_configured ''
same jgwFramesAllowed 0 jgw_frames_total 'verdict="allow"'
same jgwFramesDenied 0 jgw_frames_total 'verdict="deny"'
same jgwFrameBytesAllowed 0 jgw_frame_bytes_total 'verdict="allow"'
same jgwFrameBytesDenied 0 jgw_frame_bytes_total 'verdict="deny"'
same jgwRelayedBytesIn 0 jgw_relayed_bytes_total 'direction="in"'
same jgwRelayedBytesOut 0 jgw_relayed_bytes_total 'direction="out"'
same jgwAuditLostRecords 0 jgw_audit_lost_records_total ''
same jgwAuditDiskAlarm 0 jgw_audit_disk_alarm '' flag
same jgwAuditSpoolBroken 0 jgw_audit_spool_broken '' flag
same jgwFirewallEnabled 0 jgw_firewall_enabled '' flag
same jgwQuarantined 0 jgw_quarantined_total ''
same jgwPeerTunnels 130001 jgw_peer_tunnels 'peer="130001"'
# String indexes: the length, then one sub-identifier per character.
idx() { local s=$1 i out=${#1}; for ((i = 0; i < ${#s}; i++)); do out+=.$(printf '%d' "'${s:i:1}"); done; echo "$out"; }
same jgwRejectCount "$(idx inspection-deny)" jgw_tunnels_rejected_by_reason_total 'reason="inspection-deny"'
same jgwDenyCount "$(idx bad-value)" jgw_frames_denied_by_reason_total 'reason="bad-value"'
same jgwFrameTypeAllowed 257 jgw_frames_by_type_total 'type="0x0101",verdict="allow"'
same jgwFrameTypeDenied 257 jgw_frames_by_type_total 'type="0x0101",verdict="deny"'
same jgwFrameTypeAllowed 1 jgw_frames_by_type_total 'type="0x0001",verdict="allow"'
[ "$(walked "$(oid_of jgwSite).0")" = '"131016"' ] || fail "jgwSite"
for o in jgwUptime jgwAuditRecords jgwAuditLastSeq jgwAuditSpoolBytes jgwCertificateExpiry jgwDataAge; do
	walked "$(oid_of $o).0" >/dev/null || fail "the walk has no $o"
done
for o in jgwAuditMirroredSeq jgwCrlExpiry jgwQuarantineAddresses; do   # unknown here
	walked "$(oid_of $o).0" >/dev/null && fail "$o is served though unknown"
done
[ "$(grep -c "^$(oid_of jgwRejectCount)\." "$T/walk")" = \
  "$(grep -c '^jgw_tunnels_rejected_by_reason_total{' "$T/m.txt")" ] || fail "reject rows differ"
echo "snmpwalk: $(wc -l <"$T/walk") objects, the same counters as jgwctl metrics at the MIB's OIDs"

# jgwd gone: nothing stale is served.
stop_jgwd chiyoda || fail "chiyoda exited non-zero"
gone() { [ "$(snmp_value "$(oid_of jgwDaemonReachable).0")" = 2 ]; }
wait_for 100 gone || fail "jgwDaemonReachable stayed true after jgwd stopped"
snmpget $SNMP "$(oid_of jgwFramesAllowed).0" | grep -q 'No Such Instance' \
	|| fail "jgwFramesAllowed still served without jgwd"
kill -TERM "$sub"
wait "$sub" || fail "jgw-snmp exited non-zero on SIGTERM"
stop_jgwd tokyo || fail "tokyo exited non-zero"
exit 0
