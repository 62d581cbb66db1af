# Timeouts and limits: a WAN client that never completes its handshake is
# cut at the handshake timeout; a LAN client that never sends a frame at
# the idle timeout; a connection beyond the tunnel limit is refused; a LAN
# source that is not one of the site's servers is refused. All audited.
. "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || skip "socat not installed"

write_conf gw 131016 22601 22602 22603 130001 22612 131016 \
	'timeouts { handshake 1s; idle 1s; } limits { tunnels 2; per-peer 2; }'
sed -i 's/^timeouts { handshake 3s; idle 30s; connect 2s; shutdown 2s; }$/timeouts { connect 2s; shutdown 2s; }/' \
	"$T/gw/jgw.conf"
start_jgwd gw

exec 3<>/dev/tcp/127.0.0.1/22602 || fail "cannot reach the WAN listener"
wait_for 50 audit_has gw '"event":"tunnel".*"state":"reject".*"side":"wan".*"reason":"handshake-timeout"' \
	|| fail "no handshake-timeout record"
exec 3<&- 3>&-

exec 4<>/dev/tcp/127.0.0.1/22601 || fail "cannot reach the LAN listener"
wait_for 50 audit_has gw '"event":"tunnel".*"state":"reject".*"side":"lan".*"reason":"idle-timeout"' \
	|| fail "no idle-timeout record"
exec 4<&- 4>&-

# Two silent LAN clients fill the limit of 2; the third is refused at once.
exec 5<>/dev/tcp/127.0.0.1/22601 6<>/dev/tcp/127.0.0.1/22601
wait_for 20 stat_is gw status tunnels = 2 || fail "two tunnels not counted"
exec 7<>/dev/tcp/127.0.0.1/22601
wait_for 50 audit_has gw '"reason":"tunnel-limit"' || fail "no tunnel-limit record"
exec 5<&- 6<&- 7<&- 5>&- 6>&- 7>&-
wait_for 50 stat_is gw status tunnels = 0 || fail "closed clients still counted"

# 127.0.0.2 is on loopback but not in lan-allow.
socat -u TCP:127.0.0.1:22601,bind=127.0.0.2 - >/dev/null 2>&1 </dev/null
wait_for 50 audit_has gw '"lan_addr":"127.0.0.2:[0-9]+".*"reason":"unknown-server"' \
	|| fail "a LAN source outside lan-allow was not refused"
wait_for 30 stat_is gw stats tunnels_rejected -ge 3 \
	|| fail "rejections not counted"
stop_jgwd gw || fail "jgwd exited non-zero"
exit 0
