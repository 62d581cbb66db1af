# Operator accounts where /etc cannot be written (the appliance: its /etc
# is on the read-only root an update replaces). jgw-operator then writes
# NSS's extrausers files (the appliance's are on the data partition), and
# everything that asks NSS sees the operators: getent, id, sshd, jgwd.
# Here, in a mount namespace of its own: /etc/passwd read-only, an
# nsswitch.conf with extrausers, /var/lib/extrausers a directory of the
# test; jgwd and a real sshd on loopback run inside it. An admin operator
# and a read-only one are made; over SSH the admin reloads (an admin record
# naming her), the reader is refused (a record naming him) but reads; the
# admin is removed again (lines, home and group membership gone, recorded);
# the chain verifies.
if [ -z "${JS_IN_MOUNT_NS:-}" ]; then
	exec unshare -m --propagation private env JS_IN_MOUNT_NS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
: "${JGW_OPERATOR:?}"
for t in sshd ssh ssh-keygen flock; do
	command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || fail "no $t (make deps)"
done
[ -e /usr/lib/libnss_extrausers.so.2 ] || [ -n "$(ls /usr/lib/*/libnss_extrausers.so.2 2>/dev/null)" ] ||
	fail "libnss-extrausers is not installed (make deps)"

js_group jgw-admin
js_group jgw-read
for u in jsxalice jsxbob; do
	getent passwd "$u" >/dev/null && skip "an account '$u' exists on this machine: not touched"
done

# The appliance's NSS, inside this mount namespace only.
X=$T/extrausers
install -d -m 0755 "$X" /var/lib/extrausers
install -m 0644 /dev/null "$X/passwd"
install -m 0644 /dev/null "$X/group"
install -m 0640 -g shadow /dev/null "$X/shadow"
mount --bind "$X" /var/lib/extrausers || fail "bind /var/lib/extrausers"
sed -e 's/^\(passwd\|group\|shadow\):\([[:space:]]*\)files\b/\1:\2files extrausers/' /etc/nsswitch.conf \
	>"$T/nsswitch.conf"
grep -q '^passwd:.*extrausers' "$T/nsswitch.conf" || fail "nsswitch.conf: $(cat "$T/nsswitch.conf")"
mount --bind "$T/nsswitch.conf" /etc/nsswitch.conf || fail "bind nsswitch.conf"
mount --bind /etc/passwd /etc/passwd && mount -o remount,bind,ro /etc/passwd || fail "read-only /etc/passwd"
[ -w /etc/passwd ] && fail "/etc/passwd is still writable (the case proves nothing)"

write_conf gw 131016 24401 24402 24403 130001 24412 131016 \
	'control { group jgw-read; admin-group jgw-admin; }'
start_jgwd gw
SOCK=$T/gw/control.sock
op() { JGWCTL=$JGWCTL JGW_OPERATOR_HOME=$T/home "$JGW_OPERATOR" -s "$SOCK" "$@"; }
mkdir -p "$T/keys"
for u in alice bob; do ssh-keygen -q -t ed25519 -N '' -C "$u" -f "$T/keys/$u" || fail "ssh-keygen"; done

op add jsxalice "$T/keys/alice.pub" --admin >"$T/out" 2>&1 || fail "add jsxalice: $(cat "$T/out")"
op add jsxbob "$T/keys/bob.pub" --read >"$T/out" 2>&1 || fail "add jsxbob: $(cat "$T/out")"
# In the extrausers files, not in /etc; NSS sees them with their groups.
grep -q '^jsxalice:' /etc/passwd && fail "jsxalice went into /etc/passwd"
grep -q "^jsxalice:x:[0-9]*:[0-9]*:jgw operator (admin):$T/home/jsxalice:" "$X/passwd" ||
	fail "extrausers passwd: $(cat "$X/passwd")"
getent passwd jsxalice >/dev/null || fail "NSS does not see jsxalice"
[ "$(id -nG jsxalice | tr ' ' '\n' | grep '^jgw-' | sort | tr '\n' ' ')" = "jgw-admin jgw-read " ] ||
	fail "jsxalice's groups: $(id -nG jsxalice)"
[ "$(id -nG jsxbob | tr ' ' '\n' | grep '^jgw-' | sort | tr '\n' ' ')" = "jgw-read " ] ||
	fail "jsxbob's groups: $(id -nG jsxbob)"
[ "$(stat -c '%a %U' "$T/home/jsxalice/.ssh/authorized_keys")" = "600 jsxalice" ] || fail "authorized_keys"
[ "$(op list | sort | tr '\n' ';')" = "jsxalice admin;jsxbob read;" ] || fail "list: $(op list)"

# A real sshd of this namespace, on loopback.
S=$T/sshd
mkdir -p "$S" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$S/host" || fail "host key"
cat >"$S/config" <<EOF
ListenAddress 127.0.0.1:24422
HostKey $S/host
PidFile $S/pid
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowGroups jgw-admin jgw-read
EOF
/usr/sbin/sshd -D -e -f "$S/config" 2>"$S/log" &
JG_PIDS+=($!)
wait_for 50 bash -c "exec 3<>/dev/tcp/127.0.0.1/24422" || fail "sshd did not start: $(cat "$S/log")"
as() { local u=$1; shift
	ssh -q -i "$T/keys/${u#jsx}" -p 24422 -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null "$u@127.0.0.1" "$JGWCTL -s $SOCK $(printf '%q ' "$@")"; }

out=$(as jsxalice reload --comment "an operator of the data partition" 2>&1) ||
	fail "jsxalice could not reload over SSH: $out"
uid=$(id -u jsxalice)
wait_for 30 at_least 1 ".event == \"admin\" and .action == \"reload\" and .operator == \"jsxalice\"
	and .uid == $uid and .outcome == \"ok\" and .comment == \"an operator of the data partition\"" ||
	fail "no admin record naming jsxalice: $(recs '.event == "admin"')"
out=$(as jsxbob reload 2>&1) && fail "jsxbob (read-only) reloaded"
grep -q "account jsxbob may only read" <<<"$out" || fail "jsxbob's refusal: $out"
wait_for 30 at_least 1 '.event == "admin" and .operator == "jsxbob" and .outcome == "refused"' ||
	fail "no refused record naming jsxbob"
as jsxbob status | grep -qx "site 131016" || fail "jsxbob cannot read status"

# Removed: gone from the files, from the group's members and from disk.
op del jsxalice >"$T/out" 2>&1 || fail "del jsxalice: $(cat "$T/out")"
getent passwd jsxalice >/dev/null && fail "jsxalice still known to NSS"
grep -q 'jsxalice' "$X/passwd" "$X/shadow" "$X/group" && fail "jsxalice left in the extrausers files"
[ -e "$T/home/jsxalice" ] && fail "jsxalice's home is still there"
id -nG jsxbob | grep -q jgw-read || fail "removing jsxalice took jsxbob out of jgw-read"
wait_for 30 at_least 1 '.event == "admin" and .action == "account del" and .account == "jsxalice"' ||
	fail "no account del record"
op del jsxbob >/dev/null 2>&1 || fail "del jsxbob"
stop_jgwd gw || fail "jgwd exited non-zero"
"$JGWCTL" audit verify --key "$T/gw/k0" "$T/gw/spool" >/dev/null || fail "the chain does not verify"
exit 0
