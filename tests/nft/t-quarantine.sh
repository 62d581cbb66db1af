# The quarantine: an added peer address is blocked within a second (what it
# sends of its own accord: new connections and its established ones; the
# replies of the gateway's own connections pass, t-quarantine-replies.sh),
# released when its timeout ends, and released at once by a delete. Polls,
# never sleep-and-assert.
source "$(dirname "$0")/lib.sh"
topology
serve 7443
QTIMEOUT=2
ip netns exec "$GW" "$TOOL" apply $(policy) || fail "apply"
REACH_MS=200
expect_open "$PEER" 10.77.0.16 7443

q() { ip netns exec "$GW" "$TOOL" "$@" -t jgw; }
# The peer's address $1 reaching the gateway's address of the same family.
gw_of() { case $1 in *:*) echo fd00:77::16;; *) echo 10.77.0.16;; esac; }
blocked() { reach "$PEER" "$(gw_of "$1")" 7443; [ $? -eq 3 ]; }
open_again() { reach "$PEER" "$(gw_of "$1")" 7443; [ $? -eq 0 ]; }

for addr in 10.77.0.13 fd00:77::13; do
	# default timeout of the set (2 s)
	q qadd $addr || fail "qadd $addr"
	wait_for 1 blocked $addr || fail "$addr not blocked within 1 s"
	echo "ok: $addr blocked"
	q qlist | grep -q "^$addr " || fail "qlist does not show $addr"
	left=$(q qlist | awk -v a=$addr '$1 == a { print $2 }')
	[ "$left" -gt 0 ] && [ "$left" -le 2000 ] || fail "expiry of $addr: $left ms"
	echo "ok: qlist shows $addr, $left ms left"
	wait_for 5 open_again $addr || fail "$addr not released after its timeout"
	echo "ok: $addr released by the timeout"
	q qlist | grep -q "^$addr " && fail "qlist still shows $addr"
done

# An explicit timeout, and a delete before it ends.
q qadd 10.77.0.13 60 || fail "qadd with timeout"
wait_for 1 blocked 10.77.0.13 || fail "not blocked"
left=$(q qlist | awk '$1 == "10.77.0.13" { print $2 }')
[ "$left" -gt 2000 ] || fail "explicit timeout not used ($left ms)"
q qdel 10.77.0.13 || fail "qdel"
wait_for 1 open_again 10.77.0.13 || fail "not released by qdel"
echo "ok: qadd 60 s then qdel releases at once"

# Errors: named, nothing changed.
out=$(q qdel 10.77.0.13 2>&1) && fail "qdel of an absent address succeeded"
echo "$out" | grep -q "not in quarantine" || fail "qdel error: $out"
out=$(q qadd 10.77.0.0/24 2>&1) && fail "a network was accepted"
echo "$out" | grep -q "single addresses" || fail "qadd network error: $out"
out=$(ip netns exec "$GW" "$TOOL" qadd 10.77.0.13 -t nosuch 2>&1) && fail "qadd to a missing table"
echo "$out" | grep -q "command 1 (add elements 1-1 of set quarantine4)" ||
	fail "kernel error not mapped to its command: $out"
echo "ok: errors: $out"

# A replaced table keeps its quarantine (the reload case).
q qadd 10.77.0.100 60 || fail "qadd"
ip netns exec "$GW" "$TOOL" apply $(policy) || fail "re-apply"
q qlist | grep -q "^10.77.0.100 " || fail "quarantine lost on re-apply"
echo "ok: quarantine carried over a table replace"

# A table of the same name but another layout (no quarantine sets) has no
# quarantine to carry: it is replaced, not left in force.
ip netns exec "$GW" nft delete table inet jgw || fail "delete"
ip netns exec "$GW" nft add table inet jgw || fail "foreign table"
ip netns exec "$GW" nft add chain inet jgw other || fail "foreign chain"
ip netns exec "$GW" "$TOOL" apply $(policy) || fail "a table without quarantine sets was not replaced"
ip netns exec "$GW" nft list set inet jgw quarantine4 >/dev/null || fail "no quarantine set after the replace"
ip netns exec "$GW" nft list chain inet jgw other >/dev/null 2>&1 && fail "the foreign chain survived the replace"
echo "ok: a table of another layout is replaced"
q qadd 10.77.0.13 60 || fail "qadd after the replace"
wait_for 1 blocked 10.77.0.13 || fail "not blocked after the replace"
q qdel 10.77.0.13 || fail "qdel after the replace"

# Counters moved, and kept their values across the replace.
v=$(counter drop_quarantine)
[ "$v" -gt 0 ] || fail "drop_quarantine did not move"
echo "ok: drop_quarantine = $v"
exit 0
