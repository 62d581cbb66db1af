# A stream of allowed frames from the LAN: one allow line per frame, exit 0.
. tests/unit/inspect-cli/lib.sh
$GEN stream lan-good > "$tmp/s" || fail "jmsg-gen"
$INSPECT --catalog $CATALOG --local 131016 --peer 130001 --side lan --now $NOW "$tmp/s" \
	> "$tmp/out" 2> "$tmp/err"; rc=$?
cat "$tmp/out"
[ $rc -eq 0 ] || fail "exit $rc, wanted 0"
[ ! -s "$tmp/err" ] || fail "stderr not empty"
[ "$(wc -l < "$tmp/out")" -eq 4 ] || fail "wanted 4 verdicts"
[ "$(head -1 "$tmp/out")" = '{"frame":1,"offset":0,"type":"0x0101","verdict":"allow"}' ] || fail "first line"
grep -q '^{"frame":3,"offset":[0-9]*,"type":"0x0003","verdict":"allow"}$' "$tmp/out" || fail "keepalive"
grep -Evq "$JSON_LINE" "$tmp/out" && fail "a line of another shape"
# the same from stdin, and in small reads through a pipe
dd if="$tmp/s" bs=7 status=none | $INSPECT --catalog $CATALOG --local 131016 --peer 130001 \
	--side lan --now $NOW - > "$tmp/out2" || fail "stdin: exit $?"
cmp -s "$tmp/out" "$tmp/out2" || fail "stdin output differs"
exit 0
