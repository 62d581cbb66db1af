# One system per connection (0x01xx 住基, 0x02xx 附票): ingress picks the
# local server from the first frame's system and one connection to it
# carries the tunnel. A later frame of the other system is denied
# (system-mismatch) by the sending gateway, and by the receiving one when a
# peer does not keep the rule: audited, the tunnel closed, none of its bytes
# delivered.
. "$(dirname "$0")/lib.sh"
: "${JGW_NODE:?}"

write_conf chiyoda 131016 22801 22802 22803 130001 22812
write_conf tokyo   130001 22811 22812 22813 131016 22802
start_jgwd chiyoda
start_jgwd tokyo
"$JGW_NODE" serve --listen 127.0.0.1:22813 --node 130001 >"$T/juki.log" 2>&1 &
JG_PIDS+=($!)
"$JGW_NODE" serve --listen 127.0.0.1:22814 --node 130001 >"$T/fuhyo.log" 2>&1 &
JG_PIDS+=($!)
wait_for 50 bash -c "exec 3<>/dev/tcp/127.0.0.1/22813" || fail "juki server did not start"
wait_for 50 bash -c "exec 3<>/dev/tcp/127.0.0.1/22814" || fail "fuhyo server did not start"

# Frame 1 (seq 1): 住基 honnin-tsuchi. Frame 2 (seq 2): 附票 fuhyo-honnin-tsuchi,
# cut out of a two-frame file (header: body length at bytes 8-11).
"$JGW_NODE" frame --from 131016 --to 130001 --type honnin-tsuchi >"$T/f1.bin" || fail "frame 1"
"$JGW_NODE" frame --from 131016 --to 130001 --type fuhyo-honnin-tsuchi --count 2 >"$T/f2x.bin" \
	|| fail "frame 2"
len=$(od -An -tu1 -j8 -N4 "$T/f2x.bin" | awk '{ print 48 + $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
tail -c +$((len + 1)) "$T/f2x.bin" >"$T/f2.bin"
[ "$(od -An -tu1 -j19 -N1 "$T/f2.bin" | tr -d ' ')" = 2 ] || fail "second frame is not seq 2"
cat "$T/f1.bin" "$T/f2.bin" >"$T/f12.bin"      # both in one write

# juki_frames: 住基 frames the 住基 server has received so far.
juki_frames() { grep -c '"type_name":"honnin-tsuchi"' "$T/juki.log"; }
# apart N: frame 1 has reached the server (N before it): frame 2, written
# now, comes in a later read than frame 1 at every gateway.
apart() { wait_for 100 test_more "$1" || fail "frame 1 did not reach the 住基 server"; }
test_more() { [ "$(juki_frames)" -gt "$1" ]; }
# send_mix apart|together: frame 1, then frame 2 once frame 1 has reached
# the server (apart) or in the same write, then wait for the close.
send_mix() {
	local n
	n=$(juki_frames)
	exec 3<>/dev/tcp/127.0.0.1/22801 || fail "cannot reach the LAN listener"
	if [ "$1" = apart ]; then
		cat "$T/f1.bin" >&3
		apart "$n"
		cat "$T/f2.bin" >&3
	else
		cat "$T/f12.bin" >&3
	fi
	timeout 5 cat <&3 >/dev/null   # the ack of frame 1, then the close
	exec 3<&- 3>&-
}
# peer_mix apart|together: the same two frames from a peer gateway that does
# not keep the rule itself: a TLS client with 千代田区's certificate at 東京都's
# WAN port. -quiet ignores the end of its input: the client stays until the
# gateway closes the tunnel (or the timeout).
peer_mix() {
	local n
	n=$(juki_frames)
	{
		if [ "$1" = apart ]; then
			cat "$T/f1.bin"
			apart "$n"
			cat "$T/f2.bin"
		else
			cat "$T/f12.bin"
		fi
	} | timeout 10 openssl s_client -quiet -connect 127.0.0.1:22812 \
		-cert "$JGW_TEST_PKI/131016.crt" -key "$JGW_TEST_PKI/131016.key" \
		-CAfile "$JGW_TEST_PKI/ca.crt" >/dev/null 2>&1
}
denies() { cat "$T/$1"/spool/* 2>/dev/null | grep -c '"reason":"system-mismatch"'; }

# The sending gateway keeps the rule: 千代田区 refuses the 附票 frame that
# follows a 住基 frame on one LAN connection, and it never leaves the site.
send_mix apart
wait_for 50 audit_has chiyoda '"event":"message".*"dir":"out".*"type_name":"fuhyo-honnin-tsuchi".*"verdict":"deny".*"reason":"system-mismatch"' \
	|| fail "chiyoda: no deny record naming system-mismatch"
wait_for 50 audit_has chiyoda '"event":"tunnel".*"state":"close".*"side":"lan".*"reason":"inspection-deny"' \
	|| fail "chiyoda: the tunnel was not closed as inspection-deny"
wait_for 50 grep -q 'honnin-tsuchi' "$T/juki.log" || fail "the 住基 frame did not reach the 住基 server"
grep -q 'fuhyo-honnin-tsuchi' "$T/juki.log" && fail "the 附票 frame reached the 住基 server"
grep -q 'fuhyo-honnin-tsuchi' "$T/fuhyo.log" && fail "the 附票 frame reached the 附票 server"
send_mix together
wait_for 50 bash -c "[ \$(cat '$T/chiyoda'/spool/* | grep -c '\"reason\":\"system-mismatch\"') -ge 2 ]" \
	|| fail "chiyoda: the one-write mix was not denied (denies: $(denies chiyoda))"

# The receiving gateway keeps it too, against a peer that does not: the
# frame is denied at 東京都, audited, the tunnel closed, and none of its bytes
# reaches either server — in a later read or in the same one as frame 1.
peer_mix apart
wait_for 50 audit_has tokyo '"event":"message".*"dir":"in".*"type_name":"fuhyo-honnin-tsuchi".*"verdict":"deny".*"reason":"system-mismatch"' \
	|| fail "tokyo: no deny record naming system-mismatch"
wait_for 50 audit_has tokyo '"event":"tunnel".*"state":"close".*"side":"wan".*"reason":"inspection-deny"' \
	|| fail "tokyo: the tunnel was not closed as inspection-deny"
grep -q 'fuhyo-honnin-tsuchi' "$T/juki.log" && fail "the 附票 frame reached the 住基 server"
grep -q 'fuhyo-honnin-tsuchi' "$T/fuhyo.log" && fail "the 附票 frame reached the 附票 server through a 住基 tunnel"
peer_mix together
wait_for 50 bash -c "[ \$(cat '$T/tokyo'/spool/* | grep -c '\"reason\":\"system-mismatch\"') -ge 2 ]" \
	|| fail "tokyo: the second mix was not denied (denies: $(denies tokyo))"
grep -q 'fuhyo-honnin-tsuchi' "$T/juki.log" && fail "the 附票 frame of one write reached the 住基 server"
grep -q 'fuhyo-honnin-tsuchi' "$T/fuhyo.log" && fail "the 附票 frame of one write reached the 附票 server"
wait_for 30 stat_is tokyo stats frames_denied -ge 2 || fail "tokyo: denies not counted"

# Each system alone still works, on its own tunnel.
"$JGW_NODE" send --connect 127.0.0.1:22801 --from 131016 --to 130001 \
	--type fuhyo-honnin-tsuchi --expect ack --timeout 10 >/dev/null || fail "附票 alone refused"
grep -q 'fuhyo-honnin-tsuchi' "$T/fuhyo.log" || fail "附票 alone did not reach the 附票 server"
stop_jgwd chiyoda || fail "chiyoda exited non-zero"
stop_jgwd tokyo || fail "tokyo exited non-zero"
"$JGWCTL" audit verify --key "$T/tokyo/k0" "$T/tokyo/spool" >/dev/null || fail "tokyo chain"
exit 0
