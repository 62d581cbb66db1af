# ha-farm — 機構 as three active members behind the kernel's own load
# balancing (nftables DNAT, numgen map) on 10.77.0.100, the address tokyo
# has for 機構. Tokyo's CS sends under load from three loops; each new
# tunnel lands on a member; one member is killed under load: the
# distributor's health check takes it out of the map, and the others keep
# serving every new tunnel. Each member audits what it relayed in its own
# chain, which verifies, and its records name it.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/lib/farm.sh"
e2e_need

farm_up 3 || fail "cannot build the farm's namespaces"
e2e_start tokyo
ip netns exec "$(ns_srv jlis)" "$B/jgw-node" serve --listen 10.100.0.10:7101 --node 000000 \
	>"$NS_WORK/jlis/juki.log" 2>&1 &
ns_wait_tcp "$(ns_srv jlis)" 10.100.0.10 7101 5 || fail "機構's server did not start"
for i in 1 2 3; do farm_start "$i" || fail "member $i did not start"; done
farm_balance 1 2 3 || fail "the distributor's map"
farm_health 3 &
bg=($!)

# Three loops, each one short connection after another (a new tunnel,
# so a new choice of member, every time).
for l in 1 2 3; do
	(
		while [ ! -e "$NS_WORK/load.stop" ]; do
			if ns_send tokyo --to 000000 --type honnin-tsuchi-kiko --records 5 --count 3 \
				--timeout 2 >/dev/null 2>&1; then r=ok; else r=fail; fi
			echo "$(date +%s%3N) $r" >>"$NS_WORK/load.$l"
		done
	) &
	bg+=($!)
done
oks_after() { cat "$NS_WORK"/load.* 2>/dev/null | awk -v t="$1" '$1 > t && $2 == "ok"' | wc -l; }
enough() { [ "$(oks_after "$1")" -ge "$2" ]; }
served() { farm_audit "$1" | grep -c '"event":"message".*"type_name":"honnin-tsuchi-kiko".*"verdict":"allow"'; }
wait_for 300 enough 0 30 || fail "no traffic through the farm"
for i in 1 2 3; do [ "$(served "$i")" -ge 1 ] || fail "member $i served nothing"; done

# One member dies under load.
before1=$(served 1) before3=$(served 3)
t=$(date +%s%3N)
farm_stop 2 -KILL
out_of_map() { ! grep -qw 2 "$NS_WORK/farm.members"; }
wait_for 100 out_of_map || fail "the health check did not take member 2 out"
t_out=$(date +%s%3N)
wait_for 300 enough "$((t_out + 500))" 30 || fail "the farm did not keep serving"
touch "$NS_WORK/load.stop" "$NS_WORK/farm.stop"
wait "${bg[@]}"
for i in 1 3; do farm_stop "$i"; done

[ "$(served 1)" -gt "$before1" ] && [ "$(served 3)" -gt "$before3" ] ||
	fail "the surviving members did not both take new tunnels"
late_fail=$(cat "$NS_WORK"/load.* | awk -v t="$((t_out + 500))" '$1 > t && $2 == "fail"' | wc -l)
[ "$late_fail" = 0 ] || fail "$late_fail sends failed after member 2 was out of the map"
fails=$(cat "$NS_WORK"/load.* | awk -v t="$t" '$1 > t && $2 == "fail"' | wc -l)
for i in 1 2 3; do
	"$B/jgwctl" audit verify --key "$(farm_dir "$i")/k0" "$(farm_dir "$i")/lib/audit" \
		>"$NS_WORK/verify.$i" 2>&1
	rc=$?
	# The killed member's chain has no shutdown seal: intact, with a warning.
	[ "$rc" = 0 ] || { [ "$i" = 2 ] && [ "$rc" = 3 ]; } ||
		{ cat "$NS_WORK/verify.$i"; fail "member $i's chain (status $rc)"; }
	farm_audit "$i" | grep '"event":"config"' | grep -q "\"member\":\"jlis-$i\"" ||
		fail "member $i's records do not name it"
done
echo "served: member 1 $(served 1), member 2 $(served 2) (killed), member 3 $(served 3) frames;" \
	"$fails sends failed while member 2 was being taken out, none after"
