# connection-limit — a gateway holds at most `limits { per-peer }` tunnels
# from one peer: the next one is refused (audited), the first ones keep
# working, and a slot freed is usable again.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_conf_hook() {
	[ "$1" = tokyo ] && e2e_set tokyo tokyo-130001.conf 's/per-peer 256;/per-peer 3;/'
	return 0
}
e2e_up chiyoda tokyo

# Three idle tunnels held open in the background (each answered once).
ip netns exec "$(ns_srv chiyoda)" "$B/jgw-node" load --connect 10.16.0.1:7000 --from 131016 \
	--to 130001 --mix tenshutsu-kakutei --idle 3 --hold 8 >"$NS_WORK/idle.out" 2>&1 &
idle_pid=$!
for _ in $(seq 100); do grep -q '"mode":"idle"' "$NS_WORK/idle.out" && break; sleep 0.1; done
grep -q '"up":3' "$NS_WORK/idle.out" || { cat "$NS_WORK/idle.out"; fail "three tunnels did not come up"; }
# The fourth is over the limit.
e2e_send_refused chiyoda --to 130001 --type tenshutsu-kakutei
rec=$(e2e_audit_wait tokyo '.event == "tunnel" and .state == "reject"') || fail "no reject audited at tokyo"
reason=$(head -1 <<<"$rec" | jq -r .reason)
# per-peer 3 is the only limit reached (tunnels stays 1024).
[ "$reason" = peer-limit ] || fail "reject reason '$reason', not peer-limit"
kill "$idle_pid" 2>/dev/null; wait "$idle_pid" 2>/dev/null
# The slots are free again once the idle tunnels closed.
for _ in $(seq 30); do
	ns_send chiyoda --to 130001 --type tenshutsu-kakutei >/dev/null 2>&1 && { echo "limit enforced ($reason), then released"; exit 0; }
	sleep 0.2
done
fail "no tunnel possible after the idle ones closed"
