# limits { per-peer } with live counts kept per peer (not a walk over every
# tunnel): `jgwctl peers` shows each peer's live tunnels; the tunnel over the
# limit is refused (peer-limit); tunnels of an older generation still count
# after a reload; a closed tunnel gives its slot back.
. "$(dirname "$0")/lib.sh"
: "${JGW_NODE:?}"

write_conf chiyoda 131016 22751 22752 22753 130001 22762
write_conf tokyo   130001 22761 22762 22763 131016 22752 130001 'limits { per-peer 2; }'
start_jgwd chiyoda
start_jgwd tokyo
"$JGW_NODE" serve --listen 127.0.0.1:22763 --node 130001 >"$T/juki.log" 2>&1 &
JG_PIDS+=($!)
wait_for 50 bash -c "exec 3<>/dev/tcp/127.0.0.1/22763" || fail "site server did not start"

count_is() { ctl "$1" peers | grep -q "^peer $2 role [a-z]* tunnels $3 "; }
hold() {
	"$JGW_NODE" send --connect 127.0.0.1:22751 --from 131016 --to 130001 \
		--type honnin-tsuchi --expect ack --hold 30 --timeout 40 >>"$T/held.log" 2>&1 &
	JG_PIDS+=($!)
	HELD=$!
}

count_is tokyo 131016 0 || fail "a peer without tunnels is not listed with 0"
hold; first=$HELD
wait_for 100 count_is tokyo 131016 1 || fail "peers: 1 tunnel not counted"
hold
wait_for 100 count_is tokyo 131016 2 || fail "peers: 2 tunnels not counted"
wait_for 50 count_is chiyoda 130001 2 || fail "peers on the egress side: 2 tunnels not counted"
[ "$(ctl tokyo peers | grep -c '^tunnel .* peer 131016 ')" = 2 ] || fail "tunnel lines do not match the count"

"$JGW_NODE" send --connect 127.0.0.1:22751 --from 131016 --to 130001 \
	--type honnin-tsuchi --expect close --timeout 10 >/dev/null 2>&1 || fail "a third tunnel got through"
wait_for 30 audit_has tokyo '"event":"tunnel".*"state":"reject".*"peer":"131016".*"reason":"peer-limit"' \
	|| fail "no peer-limit reject record"
count_is tokyo 131016 2 || fail "a refused tunnel changed the count"

# The generation-1 tunnels still count under generation 2.
ctl tokyo reload >/dev/null || fail "reload"
"$JGW_NODE" send --connect 127.0.0.1:22751 --from 131016 --to 130001 \
	--type honnin-tsuchi --expect close --timeout 10 >/dev/null 2>&1 \
	|| fail "after a reload a third tunnel got through"
count_is tokyo 131016 2 || fail "count changed across the reload"

# A closed tunnel gives its slot back.
kill "$first"
wait_for 100 count_is tokyo 131016 1 || fail "count not decremented when a tunnel closed"
"$JGW_NODE" send --connect 127.0.0.1:22751 --from 131016 --to 130001 \
	--type honnin-tsuchi --expect ack --timeout 10 >/dev/null || fail "the freed slot is not usable"
stop_jgwd chiyoda || fail "chiyoda exited non-zero"
stop_jgwd tokyo || fail "tokyo exited non-zero"
exit 0
