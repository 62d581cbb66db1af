# Administrative sessions in the audit trail, with a real sshd: sshd (the
# appliance's drop-in image/rootfs/sshd_config.d/jgw-operators.conf, keys
# only, AllowGroups jgw-admin jgw-read) runs in a namespace of its own,
# its messages (`sshd -e`) go through jgw-sessions --stdin into jgwd's
# control socket. alice (jgw-admin) quarantines an address over SSH: her
# login, the admin record and the quarantine record all name her, with the
# login and session the kernel gave her sshd session and her SSH client.
# bob (jgw-read) is refused a reload (admin record, outcome refused) but
# reads status (no record). A wrong key, a Japanese user name and a user
# name carrying a fake "from" are failed sessions from the real client
# address, user "-" for what is not an account name; carol (in neither
# group) is turned away by sshd. Each logout is a close of the port its
# login had. The chain verifies.
. "$(dirname "$0")/lib.sh"
command -v /usr/sbin/sshd >/dev/null || skip "openssh-server not installed"
command -v ssh >/dev/null || skip "openssh-client not installed"
command -v nft >/dev/null || skip "nft not installed"
command -v useradd >/dev/null || skip "no useradd"

srv=js-s$$ cli=js-c$$ gwns=js-g$$
for n in "$srv" "$cli" "$gwns"; do
	ip netns add "$n" 2>/dev/null || skip "cannot create network namespaces here"
	JG_NETNS+=("$n")
	ip -n "$n" link set lo up
done
ip -n "$srv" link add s0 type veth peer name c0 netns "$cli" || fail "veth"
ip -n "$srv" addr add 10.99.0.1/24 dev s0
ip -n "$srv" addr add fd00:99::1/64 dev s0 nodad
ip -n "$cli" addr add 10.99.0.2/24 dev c0
ip -n "$cli" addr add fd00:99::2/64 dev c0 nodad
ip -n "$srv" link set s0 up
ip -n "$cli" link set c0 up

js_group jgw-admin
js_group jgw-read
js_user alice jgw-admin,jgw-read
js_user bob jgw-read
js_user carol ""
ssh-keygen -q -t ed25519 -N '' -f "$T/keys/other" || fail "ssh-keygen other"

# jgwd with its firewall in a namespace of its own (quarantine needs it);
# the control socket is a file, reached from every namespace.
write_conf gw 131016 24001 24002 24003 130001 24012 131016 \
	'firewall { enabled yes; table "jgwsess"; }
interface lan lan0;
interface wan wan0;
control { group jgw-read; admin-group jgw-admin; }'
sed -i '/^firewall { enabled no; }$/d' "$T/gw/jgw.conf"
ip netns exec "$gwns" "$JGWD" -d -c "$T/gw/jgw.conf" >"$T/gw/jgwd.log" 2>&1 &
PID_gw=$!
JG_PIDS+=("$PID_gw")
wait_for 100 ctl gw status || fail "jgwd did not come up"
SOCK=$T/gw/control.sock
[ "$(stat -c '%a %G' "$SOCK")" = "660 jgw-read" ] || fail "control socket: $(stat -c '%a %U %G' "$SOCK")"

# sshd: the test's own port, keys and pid file first (sshd keeps the first
# value of a keyword), then the appliance's drop-in as shipped.
mkdir -p "$T/ssh" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/host_ed25519" || fail "host key"
cat >"$T/ssh/sshd_config" <<EOF
Port 24022
ListenAddress 10.99.0.1
ListenAddress fd00:99::1
HostKey $T/ssh/host_ed25519
PidFile $T/ssh/sshd.pid
Banner $REPO/image/rootfs/issue.net
Include $REPO/image/rootfs/sshd_config.d/jgw-operators.conf
EOF
/usr/sbin/sshd -t -f "$T/ssh/sshd_config" || fail "sshd -t refuses the configuration"
mkfifo "$T/ssh/log"
"$JGW_SESSIONS" --stdin -s "$SOCK" -d <"$T/ssh/log" >"$T/sessions.log" 2>&1 &
JG_PIDS+=($!)
ip netns exec "$srv" /usr/sbin/sshd -D -e -f "$T/ssh/sshd_config" 2>"$T/ssh/log" &
JG_PIDS+=($!)
ns_listening() { ip netns exec "$srv" ss -Hltn 'sport = :24022' | grep -q .; }
wait_for 100 ns_listening || fail "sshd did not listen"

# ssh_as USER KEY [ADDR] -- COMMAND: one login from the client namespace.
ssh_as() {
	local user=$1 key=$2 addr=10.99.0.1
	shift 2
	[ "$1" != -- ] && { addr=$1; shift; }
	shift
	ip netns exec "$cli" ssh -F /dev/null -i "$key" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 \
		-o LogLevel=INFO -p 24022 -l "$user" "$addr" "$@"
}
# the session records: one line each
sessions() { recs '.event == "session"'; }
dump() { echo "--- session and admin records"; recs '.event == "session" or .event == "admin"'
	echo "--- jgw-sessions"; tail -30 "$T/sessions.log"; }
trap 'rc=$?; [ $rc -ne 0 ] && dump; js_cleanup' EXIT

# 1. alice, an admin, quarantines an address. She sees the banner first.
out=$(ssh_as alice "$T/keys/alice" -- "$JGWCTL" -s "$SOCK" quarantine add 10.9.9.9 2>&1) ||
	fail "alice: quarantine add over ssh failed: $out"
grep -q 'Authorised operators only' <<<"$out" || fail "no banner before the login: $out"
grep -q '許可された運用者以外の利用を禁じます' <<<"$out" || fail "no Japanese banner: $out"
wait_for 100 at_least 1 '.event == "session" and .action == "close" and .user == "alice"' ||
	fail "no session close of alice"
open=$(recs '.event == "session" and .action == "open" and .user == "alice"')
[ "$(wc -l <<<"$open")" = 1 ] || fail "alice's logins: $open"
[ "$(jq -r .addr <<<"$open")" = 10.99.0.2 ] || fail "alice's login address: $open"
[ "$(jq -r .service <<<"$open")" = ssh ] || fail "alice's login service: $open"
aport=$(jq -r .port <<<"$open")
close=$(recs '.event == "session" and .action == "close" and .user == "alice"')
[ "$(jq -r '"\(.addr) \(.port)"' <<<"$close")" = "10.99.0.2 $aport" ] ||
	fail "alice's logout is not the close of her login (port $aport): $close"
adm=$(recs '.event == "admin" and .action == "quarantine add"')
[ "$(wc -l <<<"$adm")" = 1 ] || fail "admin records of the quarantine add: $adm"
uid=$(id -u alice)
jq -e --argjson u "$uid" --arg via 10.99.0.2 '.operator == "alice" and .uid == $u and
	.login == "alice" and .session > 0 and .via == $via and .outcome == "ok"' <<<"$adm" >/dev/null ||
	fail "admin record of alice's quarantine add: $adm (uid $uid, via 10.99.0.2)"
q=$(recs '.event == "quarantine" and .addr == "10.9.9.9" and .action == "add"')
jq -e '.operator == "alice" and .login == "alice" and .cause == "manual"' <<<"$q" >/dev/null ||
	fail "quarantine record: $q"
ip netns exec "$gwns" nft list set inet jgwsess quarantine4 | grep -q 10.9.9.9 ||
	fail "10.9.9.9 is not in the kernel's quarantine set"
# The login is recorded before its logout (the admin record may come
# before the login's: jgw-sessions reads sshd's message while the command
# already runs).
order=$(cat "$T/gw"/spool/*.jsonl | jq -r --argjson p "$aport" 'select(.event == "session" and
	.user == "alice" and .port == $p) | .action' | tr '\n' ' ')
[ "$order" = "open close " ] || fail "alice's session records in the order: $order"

# 2. bob may read, not change: the reload is refused and recorded, the
# status is answered and not recorded.
out=$(ssh_as bob "$T/keys/bob" -- "$JGWCTL" -s "$SOCK" reload 2>&1) && fail "bob's reload was not refused: $out"
grep -q 'may only read' <<<"$out" || fail "bob's reload: $out"
adm=$(recs '.event == "admin" and .action == "reload"')
[ "$(wc -l <<<"$adm")" = 1 ] || fail "admin records of bob's reload: $adm"
jq -e --argjson u "$(id -u bob)" '.operator == "bob" and .uid == $u and .login == "bob" and
	.outcome == "refused"' <<<"$adm" >/dev/null || fail "admin record of bob's reload: $adm"
ctl gw status | grep -q '^generation 1$' || fail "bob's refused reload changed the generation"
before=$(cat "$T/gw"/spool/*.jsonl | jq -c 'select(.event == "admin")' | wc -l)
out=$(ssh_as bob "$T/keys/bob" -- "$JGWCTL" -s "$SOCK" status 2>&1) || fail "bob's status: $out"
grep -q '^site 131016' <<<"$out" || fail "bob's status answer: $out"
wait_for 100 at_least 2 '.event == "session" and .action == "close" and .user == "bob"' ||
	fail "bob's two logouts are not recorded"
[ "$(count '.event == "admin"')" = "$before" ] || fail "bob's status wrote an admin record"
[ "$(count '.event == "session" and .action == "open" and .user == "bob" and .addr == "10.99.0.2"')" = 2 ] ||
	fail "bob's logins: $(recs '.event == "session" and .user == "bob"')"

# 3. Failed attempts, each a failed session from the client's real address,
# once per connection (sshd says several lines of each).
ssh_as alice "$T/keys/other" -- true 2>/dev/null && fail "alice logged in with another key"
wait_for 100 at_least 1 '.event == "session" and .action == "failed" and .user == "alice"' ||
	fail "no failed session of alice"
f=$(recs '.event == "session" and .action == "failed" and .user == "alice"')
[ "$(wc -l <<<"$f")" = 1 ] || fail "alice's wrong key is not one failed record: $f"
[ "$(jq -r .addr <<<"$f")" = 10.99.0.2 ] || fail "alice's failed attempt: $f"

ssh_as ゲスト "$T/keys/other" -- true 2>/dev/null && fail "ゲスト logged in"
wait_for 100 at_least 1 '.event == "session" and .action == "failed" and .user == "-"' ||
	fail "no failed session of user - for ゲスト"
ssh_as 'x from 6.6.6.6 port 1' "$T/keys/other" fd00:99::1 -- true 2>/dev/null && fail "x logged in"
wait_for 100 at_least 2 '.event == "session" and .action == "failed" and .user == "-"' ||
	fail "no failed session of user - for the fake from"
f=$(recs '.event == "session" and .action == "failed" and .user == "-"')
[ "$(jq -r .addr <<<"$f" | tr '\n' ' ')" = "10.99.0.2 fd00:99::2 " ] ||
	fail "failed attempts of hostile names, want 10.99.0.2 then fd00:99::2: $f"
sessions | jq -r '"\(.user) \(.addr)"' | grep -q '6\.6\.6\.6\|ゲスト\|\\\|from' &&
	fail "client text reached a record: $(sessions)"

# carol has a key but none of the groups: sshd refuses her.
ssh_as carol "$T/keys/carol" -- true 2>/dev/null && fail "carol (in no operator group) logged in"
wait_for 100 at_least 1 '.event == "session" and .action == "failed" and .user == "carol"' ||
	fail "no failed session of carol"
[ "$(count '.event == "session" and .action == "open" and .user == "carol"')" = 0 ] || fail "carol opened a session"

# Every record a note made came from jgw-sessions (root), every open has its close.
opens=$(count '.event == "session" and .action == "open"')
closes=$(count '.event == "session" and .action == "close"')
[ "$opens" = 3 ] && [ "$closes" = 3 ] || fail "$opens opens and $closes closes, want 3 and 3"
[ "$(count '.event == "session" and .action == "failed"')" = 4 ] ||
	fail "failed sessions: $(recs '.event == "session" and .action == "failed"')"
grep -q 'does not parse\|not that user' "$T/sessions.log" &&
	fail "jgw-sessions found messages it could not read: $(cat "$T/sessions.log")"

# A note from anyone but root is refused, and recorded as refused.
out=$(su -s /bin/sh alice -c "'$JGWCTL' -s '$SOCK' session open alice 10.99.0.2 1" 2>&1) &&
	fail "alice could write a session note: $out"
jq -e 'select(.event == "admin" and .action == "session" and .operator == "alice") |
	.outcome == "refused"' "$T/gw"/spool/*.jsonl >/dev/null || fail "alice's note is not recorded as refused"

stop_jgwd gw || fail "jgwd exited non-zero"
"$JGWCTL" audit verify --key "$T/gw/k0" "$T/gw/spool" >/dev/null || fail "audit chain does not verify"
echo "ok: $(count '.event == "session"') session records; alice's quarantine, bob's refusal, 4 failed attempts"
