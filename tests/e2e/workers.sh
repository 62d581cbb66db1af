# workers — the relay on two workers (`workers 2`) at 千代田区 and 東京都.
# Tunnels held at once land on both workers of each gateway (the kernel
# spreads new connections over the workers' listeners); the per-peer limit
# is the gateway's, not a worker's (20 tunnels from two workers count
# together, the 21st is refused); traffic over eight connections at once is
# answered frame for frame, every frame the server received has its allowed
# record, and each spool is one chain, seq without a gap, that verifies.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_conf_hook() {
	printf 'workers 2;\n' >>"$2"
	[ "$1" = tokyo ] && e2e_set tokyo tokyo-130001.conf 's/per-peer 256;/per-peer 20;/'
	return 0
}
e2e_up chiyoda tokyo
ns_ctl() { e2e_ctl "$@" --json; }

for s in chiyoda tokyo; do
	n=$(ns_ctl "$s" status | jq -r .workers)
	[ "$n" = 2 ] || fail "$s runs $n workers, not the 2 configured"
done

# Twenty idle tunnels held open (each answered once): the per-peer limit.
: >"$NS_WORK/idle.out"
ip netns exec "$(ns_srv chiyoda)" "$B/jgw-node" load --connect "$(ns_lan_gw chiyoda):7000" \
	--from 131016 --to 130001 --mix tenshutsu-kakutei --idle 20 --hold 30 \
	>"$NS_WORK/idle.out" 2>&1 &
idle_pid=$!
for _ in $(seq 150); do grep -q '"mode":"idle"' "$NS_WORK/idle.out" && break; sleep 0.1; done
grep -q '"up":20' "$NS_WORK/idle.out" || { cat "$NS_WORK/idle.out"; fail "20 tunnels did not come up"; }

# Both workers of each gateway hold some of them (all twenty on one
# worker: one chance in 2^19 with the kernel's hash of the ports).
for s in chiyoda tokyo; do
	ns_ctl "$s" peers >"$NS_WORK/$s.peers"
	per=$(jq -r 'select(.tunnel != null) | .worker' "$NS_WORK/$s.peers" | sort | uniq -c |
		awk '{ printf "%s%s:%s", sep, $2, $1; sep = " " }')
	total=$(jq -r 'select(.tunnel != null) | .tunnel' "$NS_WORK/$s.peers" | wc -l)
	[ "$total" -ge 20 ] || fail "$s lists $total tunnels, want 20"
	[ "$(wc -w <<<"$per")" = 2 ] || fail "$s holds its tunnels on one worker only ($per)"
	echo "$s: $total tunnels, by worker $per"
done

# The 21st is over the limit, wherever it lands.
e2e_send_refused chiyoda --to 130001 --type tenshutsu-kakutei >/dev/null
rec=$(e2e_audit_wait tokyo '.event == "tunnel" and .state == "reject"') ||
	fail "no reject audited at tokyo"
reason=$(head -1 <<<"$rec" | jq -r .reason)
[ "$reason" = peer-limit ] || fail "reject reason '$reason', not peer-limit"
kill "$idle_pid" 2>/dev/null; wait "$idle_pid" 2>/dev/null
for _ in $(seq 50); do
	[ "$(ns_ctl tokyo status | jq -r .tunnels)" = 0 ] && break
	sleep 0.1
done

# Eight connections at once, 16 frames in flight each.
ip netns exec "$(ns_srv chiyoda)" "$B/jgw-node" load --connect "$(ns_lan_gw chiyoda):7000" \
	--from 131016 --to 130001 --mix honnin-tsuchi --records 5 --duration 2 --window 16 \
	--conns 8 --timeout 5 >"$NS_WORK/load.out" 2>&1 ||
	{ cat "$NS_WORK/load.out"; fail "the load over eight connections was not answered frame for frame"; }
acked=$(jq -r 'select(.mode == "throughput") | .frames_acked' "$NS_WORK/load.out")
[ "${acked:-0}" -ge 100 ] || fail "only ${acked:-0} frames answered; the case proves little"
received=$(e2e_server_count tokyo juki '.type == "0x0101"')
audited=$(ns_audit tokyo | jq -c 'select(.event == "message" and .dir == "in" and
	.type == "0x0101" and .verdict == "allow")' | wc -l)
[ "$audited" -ge "$received" ] ||
	fail "東京都's server received $received frames, its spool holds $audited allowed records"

for s in chiyoda tokyo; do
	ns_audit "$s" | jq -r .seq | awk 'NR != $1 { bad = 1 } END { exit bad }' ||
		fail "$s's audit seq has a gap or a reorder"
	ns_jgwd_stop "$s"
	out=$("$B/jgwctl" audit verify --key "$NS_WORK/$s/k0" "$NS_WORK/$s/lib/audit" 2>&1) ||
		{ echo "$out"; fail "$s's spool does not verify"; }
done
echo "8 connections: $acked frames answered, $received received at 東京都, $audited allowed" \
	"records; both chains verify, seq without a gap"
