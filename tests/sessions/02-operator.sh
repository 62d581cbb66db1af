# jgw-operator makes and removes operator accounts, and jgwd records both:
# `add NAME KEY --admin` is an account in jgw-admin and jgw-read with the
# key in ~/.ssh/authorized_keys (0700/0600, the account's own) and an admin
# record `account add` (role admin, operator root); --read only jgw-read.
# Names that are not account names, existing accounts, private or broken
# key files are refused with nothing made and nothing recorded; an account
# jgwd does not record (jgwd away) is removed again; `del` of an account
# that is no operator is refused.
. "$(dirname "$0")/lib.sh"
: "${JGW_OPERATOR:?}"
for t in adduser deluser pkill ssh-keygen; do command -v $t >/dev/null || skip "no $t"; done

js_group jgw-admin
js_group jgw-read
write_conf gw 131016 24101 24102 24103 130001 24112 131016 \
	'control { group jgw-read; admin-group jgw-admin; }'
start_jgwd gw
SOCK=$T/gw/control.sock
op() { JGWCTL=$JGWCTL "$JGW_OPERATOR" -s "$SOCK" "$@"; }
for u in jsdave jserin jsfrank; do
	js_stale_user "$u"
	JS_CLEANUPS+=("pkill -KILL -u $u 2>/dev/null; deluser --quiet --remove-home $u >/dev/null 2>&1")
done
mkdir -p "$T/keys"
ssh-keygen -q -t ed25519 -N '' -C dave -f "$T/keys/dave" || fail "ssh-keygen"
ssh-keygen -q -t ed25519 -N '' -C erin -f "$T/keys/erin" || fail "ssh-keygen"
printf 'not a key\n' >"$T/keys/broken.pub"

# add --admin
op add jsdave "$T/keys/dave.pub" --admin >"$T/out" 2>&1 || fail "add jsdave: $(cat "$T/out")"
id jsdave >/dev/null 2>&1 || fail "no account jsdave"
groups=$(id -nG jsdave | tr ' ' '\n' | grep '^jgw-' | sort | tr '\n' ' ')
[ "$groups" = "jgw-admin jgw-read " ] || fail "jsdave's groups: $groups"
home=$(getent passwd jsdave | cut -d: -f6)
[ "$(stat -c '%a %U' "$home/.ssh")" = "700 jsdave" ] || fail "~/.ssh: $(stat -c '%a %U' "$home/.ssh")"
[ "$(stat -c '%a %U' "$home/.ssh/authorized_keys")" = "600 jsdave" ] || fail "authorized_keys mode/owner"
cmp -s "$T/keys/dave.pub" "$home/.ssh/authorized_keys" || fail "authorized_keys is not dave's key"
[ "$(getent shadow jsdave | cut -d: -f2 | cut -c1)" != "" ] || fail "no shadow entry"
getent shadow jsdave | cut -d: -f2 | grep -q '^[!*]' || fail "jsdave has a usable password"
rec=$(recs '.event == "admin" and .action == "account add"')
jq -e '.account == "jsdave" and .role == "admin" and .operator == "root" and .outcome == "ok"' \
	<<<"$rec" >/dev/null || fail "record of the add: $rec"

# add --read
op add jserin "$T/keys/erin.pub" --read >"$T/out" 2>&1 || fail "add jserin: $(cat "$T/out")"
groups=$(id -nG jserin | tr ' ' '\n' | grep '^jgw-' | tr '\n' ' ')
[ "$groups" = "jgw-read " ] || fail "jserin's groups: $groups"
[ "$(count '.event == "admin" and .action == "account add" and .account == "jserin" and .role == "read"')" = 1 ] ||
	fail "record of jserin's add"
[ "$(op list | sort | tr '\n' ' ')" = "jsdave admin jserin read " ] || fail "list: $(op list)"

# refusals: nothing made, nothing recorded
n=$(count '.event == "admin"')
for bad in Dave 'x y' ../x 9x - "$(printf 'a%.0s' $(seq 33))" 'a;id' "$(printf 'a\nb')" ''; do
	op add "$bad" "$T/keys/dave.pub" --read >"$T/out" 2>&1 && fail "name '$bad' was taken"
	grep -q 'not an account name' "$T/out" || fail "name '$bad': $(cat "$T/out")"
done
op add jsdave "$T/keys/dave.pub" --read >"$T/out" 2>&1 && fail "jsdave added twice"
grep -q 'exists already' "$T/out" || fail "second add: $(cat "$T/out")"
op add jsfrank "$T/keys/dave" --read >"$T/out" 2>&1 && fail "a private key was taken"
op add jsfrank "$T/keys/broken.pub" --read >"$T/out" 2>&1 && fail "a broken key file was taken"
op add jsfrank "$T/keys/none.pub" --read >"$T/out" 2>&1 && fail "a missing key file was taken"
op add jsfrank "$T/keys/dave.pub" --root >"$T/out" 2>&1 && fail "role --root was taken"
id jsfrank >/dev/null 2>&1 && fail "a refused add made jsfrank"
op del nobody >"$T/out" 2>&1 && fail "nobody (no operator) was removed"
id nobody >/dev/null 2>&1 || fail "nobody is gone"
[ "$(count '.event == "admin"')" = "$n" ] || fail "a refusal wrote a record"

# del
op del jsdave >"$T/out" 2>&1 || fail "del jsdave: $(cat "$T/out")"
id jsdave >/dev/null 2>&1 && fail "jsdave still exists"
[ -e "$home" ] && fail "jsdave's home is still there"
rec=$(recs '.event == "admin" and .action == "account del"')
jq -e '.account == "jsdave" and .role == "admin" and .operator == "root" and .outcome == "ok"' \
	<<<"$rec" >/dev/null || fail "record of the del: $rec"

# jgwd away: the account is not kept
stop_jgwd gw || fail "jgwd exited non-zero"
op add jsfrank "$T/keys/dave.pub" --read >"$T/out" 2>&1 && fail "add without jgwd succeeded"
grep -q 'removed again' "$T/out" || fail "add without jgwd: $(cat "$T/out")"
id jsfrank >/dev/null 2>&1 && fail "jsfrank kept though jgwd did not record it"
"$JGWCTL" audit verify --key "$T/gw/k0" "$T/gw/spool" >/dev/null || fail "audit chain does not verify"
echo "ok: add (admin, read), 15 refusals, del, add without jgwd undone"
