# Operators and their history: every state change names who asked (the
# kernel's account of the caller, SO_PEERCRED), a read-only account is
# refused changes (and the refusal is a record) but may read; a reload on
# trial comes back by itself unless confirmed; every configuration loaded
# is kept, and history, show, diff and rollback round-trip; the spool
# verifies afterwards.
. "$(dirname "$0")/lib.sh"

adm=jgwt-adm$$ rd=jgwt-rd$$ alice=jgwta$$ bob=jgwtb$$
accounts_cleanup() {
	userdel "$alice" 2>/dev/null; userdel "$bob" 2>/dev/null
	groupdel "$adm" 2>/dev/null; groupdel "$rd" 2>/dev/null
	jg_cleanup
}
trap accounts_cleanup EXIT
groupadd "$rd" && groupadd "$adm" || fail "groupadd"
useradd -M -N -g "$rd" -G "$adm" -s /usr/sbin/nologin "$alice" || fail "useradd alice"
useradd -M -N -g "$rd" -s /usr/sbin/nologin "$bob" || fail "useradd bob"

write_conf gw 131016 22201 22202 22203 130001 22212 131016 \
	"control { group $rd; admin-group $adm; }"
chmod 644 "$T/gw/jgw.conf"
cp "$T/gw/jgw.conf" "$T/gw/gen1.conf"
start_jgwd gw
sock=$T/gw/control.sock
as() { local who=$1; shift; runuser -u "$who" -- "$JGWCTL" -s "$sock" "$@"; }
# rec EVENT REST: a record of the spool matches '"event":"EVENT","epoch":N,REST'.
rec() { audit_has gw "\"event\":\"$1\",\"epoch\":[0-9]+,$2"; }
records() { cat "$T"/gw/spool/* | grep -o "\"event\":\"$1\"[^}]*"; }

[ "$(stat -c '%a %G' "$sock")" = "660 $rd" ] || fail "socket is not 0660 group $rd: $(stat -c '%a %G' "$sock")"

# 1. A read-only operator reads, and is refused a change (a record says so).
as "$bob" status >/dev/null || fail "$bob cannot read status"
as "$bob" config history >/dev/null || fail "$bob cannot read the history"
out=$(as "$bob" reload --comment "trying" 2>&1) && fail "$bob (read-only) reloaded"
grep -q "account $bob may only read" <<<"$out" || fail "refusal does not say why: $out"
wait_for 30 rec admin "\"action\":\"reload\",\"operator\":\"$bob\",\"uid\":$(id -u "$bob"),\"pid\":[0-9]+,.*\"comment\":\"trying\",\"outcome\":\"refused\"" \
	|| fail "no refused admin record naming $bob: $(records admin)"
records config | grep -q "\"operator\":\"$bob\"" && fail "a refused request changed the configuration"
# Reading is not recorded.
records admin | grep -q '"action":"status' && fail "a read was recorded"

# 2. An admin's change names the admin, in the admin and the config records.
echo "# second generation" >>"$T/gw/jgw.conf"
as "$alice" reload --comment "add a note" >/dev/null || fail "$alice (admin) could not reload"
wait_for 30 rec admin "\"action\":\"reload\",\"operator\":\"$alice\",\"uid\":$(id -u "$alice"),.*\"comment\":\"add a note\",\"outcome\":\"ok\"" \
	|| fail "no admin record naming $alice: $(records admin)"
wait_for 30 rec config "\"action\":\"reload\",\"sha256\":\"[0-9a-f]{64}\",\"generation\":2,\"operator\":\"$alice\"" \
	|| fail "the config record does not name $alice: $(records config)"
sha_gen() { ctl gw config history | awk -v g="$1" '$2 == g && $12 == "ok" { s = $6 } END { print s }'; }
s1=$(sha_gen 1) s2=$(sha_gen 2)
[ ${#s1} = 64 ] && [ ${#s2} = 64 ] && [ "$s1" != "$s2" ] || fail "history lacks generations 1 and 2: $(ctl gw config history)"

# 3. A reload on trial that is not confirmed comes back by itself.
cp "$T/gw/jgw.conf" "$T/gw/gen2.conf"
echo "# third generation, on trial" >>"$T/gw/jgw.conf"
as "$alice" reload --confirm 3s >/dev/null || fail "reload --confirm"
stat_is gw status trial_generation = 3 || fail "no trial in status: $(ctl gw status)"
out=$(as "$alice" reload 2>&1) && fail "a second reload was taken while one is on trial"
grep -q "awaits" <<<"$out" || fail "second reload refusal: $out"
wait_for 100 stat_is gw status trial_generation = 0 || fail "the trial did not end"
[ "$(ctl gw status | awk '$1 == "config_sha256" { print $2 }')" = "$s2" ] \
	|| fail "generation 2 is not back in force: $(ctl gw status)"
stat_is gw status generation = 2 || fail "status does not show generation 2 back"
wait_for 30 rec config "\"action\":\"revert\",\"sha256\":\"$s2\",\"generation\":2,\"operator\":\"$alice\"" \
	|| fail "no revert record: $(records config)"

# 4. Confirmed in time, it stays.
as "$alice" reload --confirm 1min >/dev/null || fail "reload --confirm 1min"
s4=$(ctl gw status | awk '$1 == "config_sha256" { print $2 }')
[ "$s4" != "$s2" ] || fail "the trial configuration is not in force"
as "$bob" confirm >/dev/null 2>&1 && fail "$bob (read-only) confirmed"
as "$alice" confirm >/dev/null || fail "confirm"
stat_is gw status trial_generation = 0 || fail "confirm left a trial"
out=$(as "$alice" confirm 2>&1) && fail "confirm with nothing on trial succeeded"
grep -q "nothing awaits confirmation" <<<"$out" || fail "confirm without trial: $out"
wait_for 30 rec config "\"action\":\"confirm\",\"sha256\":\"$s4\",\"generation\":4,\"operator\":\"$alice\"" \
	|| fail "no confirm record: $(records config)"

# 5. History, show, diff, rollback.
hist=$(ctl gw config history)
for a in "load ok" "reload ok" "revert ok" "confirm ok"; do
	grep -q "action ${a% *} outcome ${a#* }" <<<"$hist" || fail "history lacks $a: $hist"
done
grep -q "generation 2 .* operator $alice action reload outcome ok" <<<"$hist" || fail "history: $hist"
ctl gw config history --json | jq -se 'length >= 5 and all(.[]; (.sha256 | length) == 64)' >/dev/null \
	|| fail "history --json"
ctl gw config show 1 >"$T/show1" || fail "config show 1"
head -1 "$T/show1" | grep -qx "# configuration $s1" || fail "show: first line: $(head -1 "$T/show1")"
sed -n 2p "$T/show1" | grep -qx "# file $T/gw/jgw.conf ($(stat -c %s "$T/gw/gen1.conf") bytes)" \
	|| fail "show: file line: $(sed -n 2p "$T/show1")"
tail -n +3 "$T/show1" | cmp -s - "$T/gw/gen1.conf" || fail "config show 1 is not the file as it was loaded"
ctl gw config show "${s2:0:12}" | tail -n +3 | cmp -s - "$T/gw/gen2.conf" || fail "show by sha prefix"
out=$(ctl gw config show 99 2>&1) && fail "show of an unknown generation succeeded"
grep -q "no configuration of generation 99" <<<"$out" || fail "show 99: $out"
ctl gw config diff 1 2 >"$T/diff"; [ $? = 1 ] || fail "diff 1 2: exit is not 1 (different)"
grep -qx "+# second generation" "$T/diff" || fail "diff lacks the added line: $(cat "$T/diff")"
ctl gw config diff 2 2 >/dev/null || fail "diff of one configuration with itself is not empty"

# Rollback: the files written back byte for byte, loaded, recorded.
as "$bob" config rollback 1 -c "$T/gw/jgw.conf" >/dev/null 2>&1 && fail "$bob rolled back"
cmp -s "$T/gw/jgw.conf" "$T/gw/gen1.conf" && fail "a refused rollback left generation 1's file on disk"
"$JGWCTL" -c "$T/gw/jgw.conf" config rollback 1 --comment "back to the start" >/dev/null \
	|| fail "rollback to generation 1"
cmp -s "$T/gw/jgw.conf" "$T/gw/gen1.conf" || fail "the file is not generation 1's after the rollback"
[ "$(ctl gw status | awk '$1 == "config_sha256" { print $2 }')" = "$s1" ] || fail "generation 1's sha256 not in force"
wait_for 30 rec config "\"action\":\"rollback\",\"sha256\":\"$s1\",\"generation\":5,\"operator\":\"root\",.*\"comment\":\"back to the start\"" \
	|| fail "no rollback record: $(records config)"

# 6. Update notes (jgw-update's): root's become update records with the
# reason as comment; an admin may not write them.
out=$(as "$alice" update refused - --comment "forged" 2>&1) && fail "$alice wrote an update note"
grep -q "only root may send update notes" <<<"$out" || fail "update note refusal: $out"
records update | grep -q forged && fail "a refused update note is in the spool"
ctl gw update refused - --comment "not a signed jgw update payload" >/dev/null || fail "update refused note"
ctl gw update installed b --comment "version 1.2 root hash 00ff" >/dev/null || fail "update installed note"
wait_for 30 rec update "\"action\":\"refused\",\"operator\":\"root\",.*\"comment\":\"not a signed jgw update payload\"" \
	|| fail "no refused update record: $(records update)"
wait_for 30 rec update "\"action\":\"installed\",\"slot\":\"b\",\"operator\":\"root\",.*\"comment\":\"version 1.2 root hash 00ff\"" \
	|| fail "no installed update record: $(records update)"
out=$(ctl gw update installed c 2>&1) && fail "slot c taken"
grep -q "slot is a, b or -" <<<"$out" || fail "bad slot: $out"

# The spool verifies, with every record above in it.
stop_jgwd gw || fail "jgwd exited non-zero"
"$JGWCTL" audit verify --key "$T/gw/k0" "$T/gw/spool" >/dev/null || fail "the chain does not verify"
exit 0
