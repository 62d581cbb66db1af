# One LAN source cannot starve the gateway: a LAN connection that sends no
# whole frame within `timeouts first-frame` is cut (first-frame-timeout), a
# frame that began must end within `timeouts frame` (frame-timeout: a byte
# now and then no longer keeps a partial header open), and one LAN address
# holds at most `limits per-source` tunnels (source-limit) while the rest of
# the limit stays for others. All audited. Idle counts frames, not bytes.
. "$(dirname "$0")/lib.sh"
: "${JGW_NODE:?}"
command -v socat >/dev/null || skip "socat not installed"

write_conf chiyoda 131016 22701 22702 22703 130001 22712 131016 \
	'timeouts { first-frame 1s; frame 1s; } limits { tunnels 8; per-source 3; }'
write_conf tokyo   130001 22711 22712 22713 131016 22702
start_jgwd chiyoda
start_jgwd tokyo
"$JGW_NODE" serve --listen 127.0.0.1:22713 --node 130001 >"$T/juki.log" 2>&1 &
JG_PIDS+=($!)
wait_for 50 bash -c "exec 3<>/dev/tcp/127.0.0.1/22713" || fail "site server did not start"

# A silent LAN connection: cut at first-frame (1 s), not at idle (30 s).
exec 3<>/dev/tcp/127.0.0.1/22701 || fail "cannot reach the LAN listener"
wait_for 50 audit_has chiyoda '"state":"reject".*"side":"lan".*"reason":"first-frame-timeout"' \
	|| fail "no first-frame-timeout record"
exec 3<&- 3>&-

# Four connections from one address: three are held, the fourth refused;
# the WAN side can still open tunnels (the total of 8 is not used up).
exec 4<>/dev/tcp/127.0.0.1/22701 5<>/dev/tcp/127.0.0.1/22701 6<>/dev/tcp/127.0.0.1/22701
exec 7<>/dev/tcp/127.0.0.1/22701
wait_for 50 audit_has chiyoda '"state":"reject".*"reason":"source-limit"' || fail "no source-limit record"
"$JGW_NODE" send --connect 127.0.0.1:22711 --from 130001 --to 131016 --type keepalive \
	--expect close --timeout 3 >/dev/null 2>&1   # tokyo → chiyoda: an ingress tunnel at chiyoda
wait_for 50 audit_has chiyoda '"event":"tunnel".*"state":"open".*"side":"wan"' \
	|| fail "a WAN tunnel was not admitted while one LAN address held its share"
exec 4<&- 5<&- 6<&- 7<&- 4>&- 5>&- 6>&- 7>&-

# A whole frame, then the first bytes of the next one, one now and then
# (the gateway closes on us: a write may then meet EPIPE, not a signal).
"$JGW_NODE" frame --from 131016 --to 130001 --type honnin-tsuchi --records 1 >"$T/frame.bin" \
	|| fail "jgw-node frame"
trap "" PIPE
exec 8<>/dev/tcp/127.0.0.1/22701 || fail "cannot reach the LAN listener"
cat "$T/frame.bin" >&8
wait_for 50 audit_has chiyoda '"event":"tunnel".*"state":"open".*"side":"lan"' || fail "tunnel not opened"
for i in 0 1 2 3 4 5 6 7 8 9; do
	dd if="$T/frame.bin" bs=1 skip=$i count=1 status=none >&8 2>/dev/null || break
	audit_has chiyoda '"reason":"frame-timeout"' && break
	sleep 0.4
done
wait_for 50 audit_has chiyoda '"event":"tunnel".*"state":"close".*"side":"lan".*"reason":"frame-timeout"' \
	|| fail "a trickled partial header was not cut (frame-timeout)"
exec 8<&- 8>&-
stop_jgwd chiyoda || fail "chiyoda exited non-zero"
stop_jgwd tokyo || fail "tokyo exited non-zero"
"$JGWCTL" audit verify --key "$T/chiyoda/k0" "$T/chiyoda/spool" >/dev/null || fail "chiyoda chain"
exit 0
