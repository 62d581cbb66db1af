# Ingress: frames of the tunnel peer 131024 to this gateway.
. tests/unit/inspect-cli/lib.sh
$GEN stream wan-good > "$tmp/s" || fail "jmsg-gen"
out=$($INSPECT --catalog $CATALOG --local 131016 --peer 131024 --side wan --now $NOW "$tmp/s") \
	|| fail "exit $?"
echo "$out"
[ "$(echo "$out" | grep -c '"verdict":"allow"')" -eq 2 ] || fail "wanted 2 allows"
# the same bytes seen at 中央区's own gateway are not addressed to it
$INSPECT --catalog $CATALOG --local 131024 --peer 131016 --side wan --now $NOW "$tmp/s" > "$tmp/o"
[ $? -eq 1 ] || fail "wanted a deny"
grep -q '"reason":"sender-mismatch"' "$tmp/o" || fail "sender-mismatch"
# a truncated stream ends in truncated-frame
head -c 100 "$tmp/s" > "$tmp/t"
$INSPECT --catalog $CATALOG --local 131016 --peer 131024 --side wan --now $NOW "$tmp/t" > "$tmp/o"
[ $? -eq 1 ] || fail "truncated: wanted exit 1"
grep -Eq '^\{"frame":1,"offset":0,"type":"0x0110","verdict":"deny","reason":"truncated-frame"\}$' "$tmp/o" \
	|| fail "truncated-frame"
exit 0
