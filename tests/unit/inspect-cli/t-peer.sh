# --peer is the tunnel's far end on both sides. With --side lan it is the
# receiver of the frames, and the engine holds them to it (receiver-mismatch);
# left out, it is learnt from the first frame. It is never --local: that
# combination is refused (exit 2) rather than silently ignored.
. tests/unit/inspect-cli/lib.sh
$GEN stream lan-good > "$tmp/s" || fail "jmsg-gen"
$INSPECT --catalog $CATALOG --local 131016 --side lan --now $NOW "$tmp/s" > "$tmp/learnt" \
	|| fail "no --peer: exit $?"
$INSPECT --catalog $CATALOG --local 131016 --peer 130001 --side lan --now $NOW "$tmp/s" > "$tmp/given" \
	|| fail "--peer 130001: exit $?"
[ "$(wc -l < "$tmp/given")" -eq 4 ] || fail "wanted 4 verdicts"
cmp -s "$tmp/learnt" "$tmp/given" || fail "learnt and given peer differ"
# a tunnel to 中央区: these frames (to 東京都) may not go through it
$INSPECT --catalog $CATALOG --local 131016 --peer 131024 --side lan --now $NOW "$tmp/s" \
	> "$tmp/out" 2> "$tmp/err"; rc=$?
cat "$tmp/out"
[ $rc -eq 1 ] || fail "--peer 131024: exit $rc, wanted 1"
[ "$(cat "$tmp/out")" = '{"frame":1,"offset":0,"type":"0x0101","verdict":"deny","reason":"receiver-mismatch"}' ] \
	|| fail "--peer 131024: wanted one receiver-mismatch"
[ ! -s "$tmp/err" ] || fail "--peer 131024: stderr not empty"
# --peer equal to --local: contradictory on either side
for side in lan wan; do
	$INSPECT --catalog $CATALOG --local 131016 --peer 131016 --side $side --now $NOW "$tmp/s" \
		> "$tmp/out" 2> "$tmp/err"; rc=$?
	cat "$tmp/err"
	[ $rc -eq 2 ] || fail "$side, --peer = --local: exit $rc, wanted 2"
	grep -q -- "--peer 131016 is --local" "$tmp/err" || fail "$side, --peer = --local: no clear message"
	[ ! -s "$tmp/out" ] || fail "$side, --peer = --local: verdicts printed"
done
# the WAN side cannot learn its peer: it is the certificate's
$INSPECT --catalog $CATALOG --local 131016 --side wan --now $NOW "$tmp/s" > "$tmp/out" 2> "$tmp/err"
[ $? -eq 2 ] || fail "wan without --peer: wanted exit 2"
grep -q -- "--side wan needs --peer" "$tmp/err" || fail "wan without --peer: message"
exit 0
