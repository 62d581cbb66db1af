# A bad value: the deny names the reason and the tag, output stops there, exit 1.
. tests/unit/inspect-cli/lib.sh
$GEN stream lan-bad-value > "$tmp/s" || fail "jmsg-gen"
cat "$tmp/s" "$tmp/s" > "$tmp/s2"          # frames after the bad one must not show
$INSPECT --catalog $CATALOG --local 131016 --peer 130001 --side lan --now $NOW "$tmp/s2" \
	> "$tmp/out" 2> "$tmp/err"; rc=$?
cat "$tmp/out"
[ $rc -eq 1 ] || fail "exit $rc, wanted 1"
[ "$(wc -l < "$tmp/out")" -eq 5 ] || fail "wanted 5 verdicts, the last a deny"
tail -1 "$tmp/out" | grep -Eq '^\{"frame":5,"offset":[0-9]+,"type":"0x0103","verdict":"deny","reason":"bad-value","field":"0x0012"\}$' \
	|| fail "last line"
grep -Evq "$JSON_LINE" "$tmp/out" && fail "a line of another shape"
# the field's value (a synthetic name) is nowhere
grep -q '試験' "$tmp/out" "$tmp/err" && fail "a field value was printed"
# wrong side for these frames: a WAN peer must be the sender
$INSPECT --catalog $CATALOG --local 131016 --peer 131024 --side wan --now $NOW "$tmp/s" > "$tmp/out3"
[ $? -eq 1 ] || fail "wan: wanted exit 1"
grep -q '"reason":"sender-mismatch"' "$tmp/out3" || fail "wan: sender-mismatch"
# the clock: without --now these frames are far off the real clock
$INSPECT --catalog $CATALOG --local 131016 --peer 130001 --side lan "$tmp/s" > "$tmp/out4"
[ $? -eq 1 ] || fail "real clock: wanted exit 1"
grep -q '"reason":"clock-skew"' "$tmp/out4" || fail "real clock: clock-skew"
exit 0
