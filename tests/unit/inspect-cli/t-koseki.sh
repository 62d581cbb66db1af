# A 戸籍 message added to the catalog file only is enforced: no C change.
. tests/unit/inspect-cli/lib.sh
$GEN stream koseki > "$tmp/s" || fail "jmsg-gen"
cat $CATALOG tests/unit/data/koseki.jcat.part > "$tmp/koseki.jcat"
$INSPECT --catalog "$tmp/koseki.jcat" --local 131016 --peer 000000 --side lan --now $NOW "$tmp/s" \
	> "$tmp/out" || fail "extended catalog: exit $?"
cat "$tmp/out"
grep -q '"type":"0x0301","verdict":"allow"' "$tmp/out" || fail "allow"
$INSPECT --catalog $CATALOG --local 131016 --peer 000000 --side lan --now $NOW "$tmp/s" > "$tmp/out"
[ $? -eq 1 ] || fail "default catalog: wanted a deny"
grep -q '"reason":"unknown-type"' "$tmp/out" || fail "unknown-type"
exit 0
