# The end of every quarantine is audited, though the kernel expires set
# elements silently: jgwd books what it put into the set and writes
# `action":"expire"` when the timeout is over (and the kernel no longer
# holds it) — for manual and automatic adds, once, at the newest timeout of
# a re-added address, never for one removed by hand. A table kept from the
# last run (keep-on-stop) is adopted at start; a table removed by a reload
# releases its addresses (`remove`, cause table-removed). In a namespace of
# its own with the firewall on (lo is always let in: the interfaces named
# need not exist).
. "$(dirname "$0")/lib.sh"
command -v nft >/dev/null || skip "nft not installed"
command -v jq >/dev/null || skip "jq not installed"
command -v socat >/dev/null || skip "socat not installed"
ns=jg-x$$
ip netns add "$ns" 2>/dev/null || skip "cannot create network namespaces here"
JG_NETNS+=("$ns")
ip -n "$ns" link set lo up

write_conf gw 131016 22901 22902 22903 130001 22912 131016 \
	'firewall { enabled yes; table "jgwexp"; keep-on-stop yes;
	quarantine after 2 failures within 60s for 2s; }
interface lan lan0;
interface wan wan0;'
sed -i '/^firewall { enabled no; }$/d' "$T/gw/jgw.conf"
run_gw() {
	ip netns exec "$ns" "$JGWD" -d -c "$T/gw/jgw.conf" >>"$T/gw/jgwd.log" 2>&1 &
	PID_gw=$!
	JG_PIDS+=($PID_gw)
	wait_for 100 ctl gw status || fail "jgwd did not come up in $ns"
}
# recs ADDR ACTION: that address's quarantine records of that action, one per line.
recs() {
	cat "$T/gw"/spool/*.jsonl 2>/dev/null |
		jq -c --arg a "$1" --arg x "$2" 'select(.event == "quarantine" and .addr == $a and .action == $x)'
}
count() { recs "$1" "$2" | wc -l; }
has() { [ "$(count "$1" "$2")" -ge 1 ]; }
# seconds from the first ACTION1 record of ADDR to its first ACTION2 record
# (jgwd's own timestamps). Only a lower bound is checked: an expiry is not
# recorded before its timeout; when after it does not matter to the promise
# (the polls below wait generously).
span() {
	cat "$T/gw"/spool/*.jsonl | jq -s -r --arg a "$1" --arg x "$2" --arg y "$3" '
		def t: (.ts[0:19] + "Z" | fromdate) + (.ts[20:26] | tonumber / 1e6);
		[.[] | select(.event == "quarantine" and .addr == $a)] as $r
		| ([$r[] | select(.action == $y)][0] | t) - ([$r[] | select(.action == $x)][0] | t)'
}
in_kernel() { ip netns exec "$ns" nft list set inet jgwexp quarantine4 | grep -q "$1"; }
run_gw

# Manual adds: .1 runs out, .2 is removed by hand, .3 is re-added longer.
ctl gw quarantine add 10.77.1.1 2 || fail "quarantine add .1"
ctl gw quarantine add 10.77.1.2 2 || fail "quarantine add .2"
ctl gw quarantine add 10.77.1.3 2 || fail "quarantine add .3"
ctl gw quarantine add 10.77.1.3 6 || fail "quarantine re-add .3"
ctl gw quarantine del 10.77.1.2 || fail "quarantine del .2"
# Automatic: two connections that are not TLS at all, from 127.0.0.1.
for i in 1 2; do
	ip netns exec "$ns" socat -u /dev/null TCP:127.0.0.1:22902 2>/dev/null
done
wait_for 50 has 127.0.0.1 add || fail "no automatic quarantine of 127.0.0.1"
has 10.77.1.1 expire && fail "expire recorded at once"

wait_for 200 has 10.77.1.1 expire || fail "no expire record for a manual 2 s quarantine"
wait_for 200 has 127.0.0.1 expire || fail "no expire record for an automatic 2 s quarantine"
in_kernel 10.77.1.1 && fail "10.77.1.1 still in the kernel set after its expire record"
s=$(span 10.77.1.1 add expire)
awk -v s="$s" 'BEGIN { exit !(s >= 1.9) }' || fail "10.77.1.1 expired $s s after its add, before its 2 s"
r=$(recs 10.77.1.1 expire)
echo "$r" | jq -e '.timeout_s == 2 and .cause == "timeout"' >/dev/null || fail "expire record: $r"
r=$(recs 127.0.0.1 expire)
echo "$r" | jq -e '.timeout_s == 2 and .cause == "timeout"' >/dev/null || fail "automatic expire record: $r"
grep -q 'quarantine of 10.77.1.1 expired' "$T/gw/jgwd.log" || fail "expiry not logged"
# .3 was re-added for 6 s: no expire at the first timeout (the kernel
# restarts its timer; an older one keeps the first, and the element is gone
# by the new deadline all the same): its one expire record comes when the
# kernel no longer holds it, at the new timeout, not 2 s after the add.
wait_for 200 has 10.77.1.3 expire || fail "no expire record for the re-added 10.77.1.3"
in_kernel 10.77.1.3 && fail "10.77.1.3 still in the kernel set after its expire record"
[ "$(count 10.77.1.3 expire)" = 1 ] || fail "10.77.1.3 expired more than once"
recs 10.77.1.3 expire | jq -e '.timeout_s == 6' >/dev/null || fail "expire record of .3 not at its new timeout"
s=$(span 10.77.1.3 add expire)
awk -v s="$s" 'BEGIN { exit !(s >= 5.9) }' || fail "10.77.1.3 expired $s s after its first add, before its 6 s"
has 10.77.1.2 remove || fail "no remove record for 10.77.1.2"
[ "$(count 10.77.1.2 expire)" = 0 ] || fail "expire recorded for an address removed by hand"
[ "$(count 10.77.1.1 expire)" = 1 ] || fail "10.77.1.1 expired more than once"

# keep-on-stop: the table outlives jgwd; its quarantine is adopted at the
# next start, and its end audited by the new run.
ctl gw quarantine add 10.77.1.4 4 || fail "quarantine add .4"
kill -TERM "$PID_gw"; wait "$PID_gw" || fail "jgwd exited non-zero"
in_kernel 10.77.1.4 || fail "10.77.1.4 not kept in the table after the stop"
run_gw
grep -q '1 quarantined addresses carried over' "$T/gw/jgwd.log" || fail "carried-over quarantine not adopted"
wait_for 200 has 10.77.1.4 expire || fail "no expire record for an address carried over a restart"

# A reload that turns the firewall off removes the table: its quarantine
# ends there (remove, table-removed), not later by expiry.
ctl gw quarantine add 10.77.1.5 3 || fail "quarantine add .5"
sed -i 's/firewall { enabled yes;/firewall { enabled no;/' "$T/gw/jgw.conf"
ctl gw reload >/dev/null || fail "reload with the firewall off"
wait_for 30 has 10.77.1.5 remove || fail "no remove record when the table went"
recs 10.77.1.5 remove | jq -e '.cause == "table-removed"' >/dev/null || fail "remove cause: $(recs 10.77.1.5 remove)"
# Until jgwd's loop has run past the moment .5 would have expired: a stats
# record (every second) stamped a second after that moment.
added=$(recs 10.77.1.5 add | jq -r '.ts[0:19] + "Z" | fromdate' | head -1)
[ -n "$added" ] || fail "no add record for 10.77.1.5"
stats_after() {
	cat "$T/gw"/spool/*.jsonl | jq -e -s --argjson t "$1" \
		'any(.[]; .event == "stats" and (.ts[0:19] + "Z" | fromdate) >= $t)' >/dev/null
}
wait_for 200 stats_after $((added + 3 + 2)) || fail "no stats record after the time 10.77.1.5 would have expired"
[ "$(count 10.77.1.5 expire)" = 0 ] || fail "expire recorded for an address whose table was removed"
kill -TERM "$PID_gw"; wait "$PID_gw" || fail "jgwd exited non-zero"
"$JGWCTL" audit verify --key "$T/gw/k0" "$T/gw/spool" >/dev/null || fail "chain does not verify"
exit 0
