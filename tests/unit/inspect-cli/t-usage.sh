# Usage and catalog errors exit 2; every catalog error has file:line:col.
. tests/unit/inspect-cli/lib.sh
: > "$tmp/empty"
for args in "" "--catalog $CATALOG --local 131016 --peer 131016" \
	"--catalog $CATALOG --local 131016 --peer 131016 --side dmz" \
	"--catalog $CATALOG --local 131017 --peer 131016 --side lan" \
	"--catalog $CATALOG --local 131016 --peer 13101 --side lan" \
	"--catalog $CATALOG --local 131016 --peer 131016 --side lan --now soon" \
	"--catalog $CATALOG --local 131016 --peer 131016 --side lan $tmp/none" \
	"--catalog $CATALOG --local 131016 --peer 131016 --side lan a b"; do
	$INSPECT $args "$tmp/empty" > /dev/null 2>&1 < /dev/null
	rc=$?
	[ $rc -eq 2 ] || fail "'$args': exit $rc, wanted 2"
done
$INSPECT --catalog tests/unit/data/bad-syntax.jcat --local 131016 --peer 131016 --side lan \
	"$tmp/empty" > "$tmp/out" 2> "$tmp/err"
[ $? -eq 2 ] || fail "bad catalog: wanted exit 2"
cat "$tmp/err"
[ "$(grep -c '^tests/unit/data/bad-syntax.jcat:[0-9]*:[0-9]*: ' "$tmp/err")" -eq 8 ] || fail "wanted 8 located errors"
[ ! -s "$tmp/out" ] || fail "stdout not empty"
# an empty stream is fine
$INSPECT --catalog $CATALOG --local 131016 --peer 131016 --side lan "$tmp/empty" || fail "empty stream"
exit 0
