# ha-pair-failover — 千代田区 on two appliances (conf/chiyoda-131016-a/-b.conf)
# with the real keepalived moving the virtual address 10.16.0.1, the CS
# sending one exchange after another to it, tokyo listing both members.
# A quarantine made on the active member reaches the standby. The active
# jgwd is killed: keepalived's check gives the address up, traffic resumes
# through the standby, the quarantine holds there. The member comes back
# and takes the address again; then its LAN link is taken down: FAULT, the
# standby takes over again, and chuo's own connections to the site go to
# the member that serves. Every frame tokyo's server received was audited
# by the member that relayed it, nothing answered was lost, both chains
# verify, and each member's records name it.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/lib/ha.sh"
e2e_need
command -v keepalived >/dev/null || fail "keepalived is not installed (make deps)"

ha_up || fail "cannot build the pair's namespaces"
trap 'rc=$?; ha_stop_all; (exit $rc); e2e_cleanup' EXIT
e2e_start tokyo chuo
mkdir -p "$NS_WORK/chiyoda" && ns_servers_start chiyoda || fail "the CS's servers did not start"
ha_start a || fail "member a did not start"
wait_for 100 ha_has_vip a || fail "member a did not take the virtual address"
ha_start b || fail "member b did not start"
wait_for 100 ha_state_is a MASTER || fail "jgwd of a was not told MASTER ($(ha_state a))"
wait_for 100 ha_state_is b BACKUP || fail "jgwd of b was not told BACKUP ($(ha_state b))"
wait_for 100 sh -c "$B/jgwctl -s $(ha_sock a) status | grep -q '^ha_sync up'" ||
	fail "a's quarantine sync to b is not up"

# A quarantine made on the active member holds on the standby.
ha_ctl a quarantine add 10.77.0.66 10min >/dev/null || fail "quarantine add on a"
in_set() { ip netns exec "$(ha_ns "$1")" nft list set inet jgw quarantine4 | grep -q '10.77.0.66'; }
wait_for 50 in_set b || fail "the quarantine made on a is not in b's set"

# has_rec FILE FILTER: a record of FILE matches the jq FILTER.
has_rec() { jq -c "select($2)" "$1" 2>/dev/null | grep -q .; }

# The probe: one exchange after another, each resent until answered.
probe=$NS_WORK/probe.log
: >"$probe"
(
	while [ ! -e "$NS_WORK/probe.stop" ]; do
		if ha_send_one; then r=ok; else r=fail; fi
		echo "$(date +%s%3N) $r" >>"$probe"
	done
) &
probe_pid=$!
oks_after() { awk -v t="$1" '$1 > t && $2 == "ok"' "$probe" | wc -l; }
enough_after() { [ "$(oks_after "$1")" -ge "$2" ]; }
# outage T: the longest time without an answer around the event at T (the
# gap between two answered exchanges, the second within 20 s after T), and
# the exchanges refused in it: "MS REFUSED". An exchange answered just after
# T had been sent before it: only the gap tells the outage.
outage() {
	awk -v t="$1" '$2 == "ok" { if (p && $1 > t && $1 < t + 20000 && $1 - p > best) {
				best = $1 - p; f = fails }
			p = $1; fails = 0; next }
		{ fails++ }
		END { print best + 0, f + 0 }' "$probe"
}

wait_for 300 enough_after 0 20 || fail "no traffic through the virtual address"

# 1. The active jgwd dies.
t1=$(date +%s%3N)
ha_kill_jgwd a
wait_for 100 ha_has_vip b || fail "b did not take the virtual address after a's jgwd died"
wait_for 300 enough_after "$t1" 20 || fail "traffic did not resume through b"
read -r f1 r1 < <(outage "$t1")
wait_for 50 ha_state_is b MASTER || fail "jgwd of b was not told MASTER"
in_set b || fail "b lost the quarantine at the failover"

# a comes back, and keepalived hands it the address again (priority).
ha_jgwd_start a || fail "jgwd of a did not come back"
wait_for 150 ha_has_vip a || fail "a did not take the address back"
wait_for 100 ha_state_is a MASTER || fail "jgwd of a was not told MASTER again"
t_back=$(date +%s%3N)
wait_for 300 enough_after "$t_back" 20 || fail "traffic did not resume through a"

# 2. The active member's LAN link goes down.
t2=$(date +%s%3N)
ip -n "$(ha_ns a)" link set lan0 down
wait_for 100 ha_has_vip b || fail "b did not take the virtual address after a's link went down"
wait_for 300 enough_after "$t2" 20 || fail "traffic did not resume through b after a's link went down"
read -r f2 r2 < <(outage "$t2")
wait_for 100 ha_state_is a FAULT || fail "jgwd of a was not told FAULT"
# chuo's new connection to the site: a refuses at once (FAULT), b serves.
e2e_send_ok chuo --to 131016 --type tennyu-tsuchi --count 2 >/dev/null
[ "$(e2e_server_count chiyoda juki '.type_name == "tennyu-tsuchi"')" -ge 2 ] ||
	fail "the CS did not get chuo's frames"
has_rec <(ha_audit b) '.event == "tunnel" and .state == "open" and .side == "wan"
	and .peer == "131024"' || fail "b did not take chuo's tunnel"
touch "$NS_WORK/probe.stop"
wait "$probe_pid"
ha_stop_all

# Nothing answered was lost: every answer came from tokyo's server.
oks=$(awk '$2 == "ok"' "$probe" | wc -l)
fails=$(awk '$2 == "fail"' "$probe" | wc -l)
got=$(e2e_server_count tokyo juki '.type_name == "honnin-tsuchi" and .sender == "131016"')
[ "$got" -ge "$oks" ] || fail "tokyo's server received $got frames, the CS had $oks answers"

# Every frame tokyo received came over a tunnel from one member, and that
# member audited it (the tunnel's peer address names the member).
ns_audit tokyo >"$NS_WORK/tokyo.audit"
for m in a b; do
	ha_audit "$m" >"$NS_WORK/$m.audit"
	# Tunnel ids are 64-bit: compared as text (jq would round them).
	ids=$(grep '"event":"tunnel"' "$NS_WORK/tokyo.audit" | grep '"state":"open"' |
		grep -E "\"peer_addr\":\"(\[::ffff:)?10\.77\.0\.${HA_WAN[$m]}\]?:" |
		grep -o '"tunnel_id":[0-9]*')
	recv=$(grep '"event":"message"' "$NS_WORK/tokyo.audit" | grep '"verdict":"allow"' |
		grep '"type_name":"honnin-tsuchi"' | grep -o '"tunnel_id":[0-9]*' |
		grep -cxF -f <(echo "${ids:-none}") || true)
	sent=$(jq -c 'select(.event == "message" and .verdict == "allow" and .type_name == "honnin-tsuchi"
		and .dir == "out")' "$NS_WORK/$m.audit" | wc -l)
	echo "member $m: tokyo received $recv frames over its tunnels; it audited $sent forwarded"
	[ "$sent" -ge "$recv" ] || fail "member $m audited $sent forwarded frames, tokyo got $recv from it"
	[ "$recv" -ge 1 ] || fail "nothing went through member $m"
	# Its chain verifies; its records name it.
	"$B/jgwctl" audit verify --key "$(ha_dir "$m")/k0" "$(ha_dir "$m")/lib/audit" \
		>"$NS_WORK/$m.verify" 2>&1 || { cat "$NS_WORK/$m.verify"; fail "member $m's chain"; }
	has_rec "$NS_WORK/$m.audit" ".event == \"config\" and .action == \"load\" and .member == \"$m\"" ||
		fail "member $m's config record does not name it"
	# Every record says which member wrote it: gw is the site and the member.
	others=$(jq -r "select(.gw != \"131016-$m\") | .gw" "$NS_WORK/$m.audit" | sort -u)
	[ -z "$others" ] || fail "member $m's records with another gw: $others"
	has_rec "$NS_WORK/$m.audit" ".event == \"ha\" and .state == \"MASTER\" and .member == \"$m\"" ||
		fail "member $m has no ha MASTER record"
done
has_rec "$NS_WORK/a.audit" '.event == "ha" and .state == "FAULT" and .member == "a"' ||
	fail "a's FAULT is not audited"
has_rec "$NS_WORK/b.audit" '.event == "quarantine" and .action == "add" and .cause == "partner"
	and .partner_member == "a" and .addr == "10.77.0.66"' ||
	fail "b did not audit the quarantine it took from a"
[ "$(grep -c 'ha-fault\|ha: member a is FAULT' "$(ha_dir a)/jgwd.log")" -ge 1 ] ||
	fail "a's jgwd did not log its FAULT"
echo "failover 1 (jgwd killed): ${f1} ms without an answer, $r1 exchanges refused meanwhile"
echo "failover 2 (LAN link down): ${f2} ms without an answer, $r2 exchanges refused meanwhile"
echo "HA-FAILOVER kill_ms=$f1 kill_refused=$r1 link_ms=$f2 link_refused=$r2"
echo "$oks exchanges answered, $fails refused and resent; tokyo's server got $got"
