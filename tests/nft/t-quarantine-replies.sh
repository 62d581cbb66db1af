# The quarantine drops what a quarantined source sends of its own accord
# (new connections, and its established ones), never the replies of
# connections the gateway opened to it: a site's server or a peer that
# jgwd dials keeps answering jgwd while it is quarantined. IPv4 and IPv6.
source "$(dirname "$0")/lib.sh"
topology
serve_echo "$GW" 7443
serve_echo "$PEER" 7443
ip netns exec "$GW" "$TOOL" apply $(policy) || fail "apply"
REACH_MS=300

q() { ip netns exec "$GW" "$TOOL" "$@" -t jgw; }
blocked() { reach "$PEER" "$1" 7443; [ $? -eq 3 ]; }
expect_round() {   # NAME WANT WHAT
	hold_round "$1"
	[ "$HOLD_GOT" = "$2" ] || fail "$3: $HOLD_GOT, want $2"
	echo "ok: $3 ($1: $HOLD_GOT)"
}

# Established before the quarantine: the gateway's connections to the peer
# (the peer's packets are the reply direction) and the peer's connection to
# the gateway (its packets are the original direction).
hold_open out4 "$GW" 10.77.0.13 7443
hold_open out6 "$GW" fd00:77::13 7443
hold_open in4 "$PEER" 10.77.0.16 7443
hold_open in6 "$PEER" fd00:77::16 7443
for h in out4 out6 in4 in6; do
	expect_round $h echo "before the quarantine"
done

q qadd 10.77.0.13 || fail "qadd 10.77.0.13"
q qadd fd00:77::13 || fail "qadd fd00:77::13"
wait_for 1 blocked 10.77.0.16 || fail "a new connection from quarantined 10.77.0.13 was not dropped"
wait_for 1 blocked fd00:77::16 || fail "a new connection from quarantined fd00:77::13 was not dropped"
echo "ok: new connections from the quarantined peer are dropped (IPv4, IPv6)"

expect_round out4 echo "replies on the gateway's IPv4 connection pass"
expect_round out6 echo "replies on the gateway's IPv6 connection pass"
expect_round in4 timeout "the quarantined peer's own IPv4 connection is cut"
expect_round in6 timeout "the quarantined peer's own IPv6 connection is cut"

# The gateway may still dial a quarantined host (jgwd decides whom it
# dials); the answers are replies.
hold_open new4 "$GW" 10.77.0.13 7443
expect_round new4 echo "a connection the gateway opens after the quarantine works"
expect_round out4 echo "replies still pass"

v=$(counter drop_quarantine)
[ -n "$v" ] && [ "$v" -gt 0 ] || fail "drop_quarantine did not move ($v)"
echo "ok: drop_quarantine = $v"

# Released: the peer can connect again.
q qdel 10.77.0.13 || fail "qdel"
open_again() { reach "$PEER" 10.77.0.16 7443; [ $? -eq 0 ]; }
wait_for 1 open_again || fail "not released by qdel"
echo "ok: released by qdel"
exit 0
