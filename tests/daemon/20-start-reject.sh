# A configuration rejected at start-up is audited whenever the audit can be
# opened: once the file parses, its audit settings are known, and a reject
# found later (a user or group that does not exist; TLS and the own
# certificate in 15-own-certificate.sh) is a `config` record
# `action=reject` with the sha256 of the file and the error, before jgwd
# exits 1. A file that does not parse names no spool: jgwd says in its log
# that the reject is not audited, and writes nothing.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq not installed"

write_conf gw 131016 22931 22932 22933 130001 22942
sed -i '1a user jgw-no-such-user;' "$T/gw/jgw.conf"
want=$(sha256sum "$T/gw/jgw.conf" | cut -d' ' -f1)
"$JGWD" -c "$T/gw/jgw.conf" >"$T/gw/jgwd.log" 2>&1; rc=$?
[ "$rc" = 1 ] || fail "jgwd with an unknown user: exit $rc, not 1"
grep -q 'user jgw-no-such-user: no such user' "$T/gw/jgwd.log" || fail "unknown user not logged"
[ -e "$T/gw/control.sock" ] && fail "a refused start left its control socket"
rec=$(cat "$T/gw"/spool/*.jsonl | jq -c 'select(.event == "config")')
[ "$(echo "$rec" | wc -l)" = 1 ] || fail "not one config record: $rec"
echo "$rec" | jq -e --arg s "$want" '.action == "reject" and .sha256 == $s and
	(.error | test("user jgw-no-such-user: no such user"))' >/dev/null \
	|| fail "reject record for the unknown user: $rec"
"$JGWCTL" audit verify --key "$T/gw/k0" "$T/gw/spool" >/dev/null || fail "chain does not verify"

# The same with an unknown group.
write_conf gw 131016 22931 22932 22933 130001 22942
sed -i '1a group jgw-no-such-group;' "$T/gw/jgw.conf"
"$JGWD" -c "$T/gw/jgw.conf" >"$T/gw/jgwd.log" 2>&1 && fail "jgwd started with an unknown group"
cat "$T/gw"/spool/*.jsonl | jq -s -e 'any(.[]; .event == "config" and .action == "reject" and
	((.error // "") | test("group jgw-no-such-group: no such group")))' >/dev/null \
	|| fail "no reject record for the unknown group"

# A file that does not parse: nothing can be recorded, and the log says so.
n=$(cat "$T/gw"/spool/*.jsonl | wc -l)
printf 'site 131016;\nlisten lan nowhere;\n' >"$T/gw/jgw.conf"
"$JGWD" -c "$T/gw/jgw.conf" >"$T/gw/jgwd.log" 2>&1 && fail "jgwd started with a file that does not parse"
grep -q 'not audited: the audit settings are in the file' "$T/gw/jgwd.log" \
	|| fail "the log does not say the reject is not audited: $(cat "$T/gw/jgwd.log")"
[ "$(cat "$T/gw"/spool/*.jsonl | wc -l)" = "$n" ] || fail "records written for a file that does not parse"
exit 0
