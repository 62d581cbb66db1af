# Usage and catalog errors exit 2; every catalog error has file:line:col.
. tests/unit/inspect-cli/lib.sh
: > "$tmp/empty"
for args in "" "--catalog $CATALOG --local 131016 --peer 130001" \
	"--catalog $CATALOG --local 131016 --peer 130001 --side dmz" \
	"--catalog $CATALOG --local 131017 --peer 130001 --side lan" \
	"--catalog $CATALOG --local 131016 --peer 13101 --side lan" \
	"--catalog $CATALOG --local 131016 --peer 130001 --side lan --now soon" \
	"--catalog $CATALOG --local 131016 --peer 130001 --side lan --now -1" \
	"--catalog $CATALOG --local 131016 --peer 130001 --side lan --now 99999999999999999999" \
	"--catalog $CATALOG --local 131016 --peer 131016 --side lan" \
	"--catalog $CATALOG --local 131016 --peer 131016 --side wan" \
	"--catalog $CATALOG --local 131016 --side wan" \
	"--catalog $CATALOG --local 131016 --peer 130001 --side lan $tmp/none" \
	"--catalog $CATALOG --local 131016 --peer 130001 --side lan a b"; do
	$INSPECT $args "$tmp/empty" > "$tmp/out" 2> "$tmp/err" < /dev/null
	rc=$?
	[ $rc -eq 2 ] || fail "'$args': exit $rc, wanted 2"
	[ -s "$tmp/err" ] || fail "'$args': nothing said on stderr"
	[ ! -s "$tmp/out" ] || fail "'$args': stdout not empty"
done
# a negative clock is refused by name
$INSPECT --catalog $CATALOG --local 131016 --side lan --now -5 "$tmp/empty" 2> "$tmp/err"
grep -q -- "--now is not a number of milliseconds since 1970: \`-5'" "$tmp/err" || fail "--now -5: message"
$INSPECT --catalog tests/unit/data/bad-syntax.jcat --local 131016 --peer 130001 --side lan \
	"$tmp/empty" > "$tmp/out" 2> "$tmp/err"
[ $? -eq 2 ] || fail "bad catalog: wanted exit 2"
cat "$tmp/err"
[ "$(grep -c '^tests/unit/data/bad-syntax.jcat:[0-9]*:[0-9]*: ' "$tmp/err")" -eq 8 ] || fail "wanted 8 located errors"
[ ! -s "$tmp/out" ] || fail "stdout not empty"
# an empty stream is fine, with or without the LAN side's --peer
$INSPECT --catalog $CATALOG --local 131016 --peer 130001 --side lan "$tmp/empty" || fail "empty stream"
$INSPECT --catalog $CATALOG --local 131016 --side lan "$tmp/empty" || fail "empty stream, no --peer"
exit 0
