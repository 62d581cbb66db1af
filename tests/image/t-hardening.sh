# jgwd.service keeps the sandbox issue 7 asks for, and systemd's own
# exposure score for it stays at or below the budget (printed either way).
set -u
unit=$(dirname "$0")/../../image/systemd/jgwd.service
# 2.2: chown, adjtimex and /proc are allowed on purpose (docs/appliance.md).
budget=${JGW_EXPOSURE_BUDGET:-2.2}
fail() { echo "FAIL: $*"; exit 1; }
command -v systemd-analyze >/dev/null || { echo "systemd-analyze is not installed"; exit 77; }

for want in '^User=jgw$' '^Group=jgw$' '^Type=notify$' '^WatchdogSec=' '^NotifyAccess=main$' \
	'^ExecStartPre=/usr/sbin/jgwctl check ' '^ExecReload=/usr/sbin/jgwctl .* reload$' \
	'^ProtectSystem=strict$' '^NoNewPrivileges=yes$' '^CapabilityBoundingSet=' \
	'^SystemCallFilter=@system-service$' '^SystemCallFilter=~@privileged' \
	'^RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK$' '^MemoryDenyWriteExecute=yes$' \
	'^PrivateDevices=yes$' '^LimitCORE=0$'; do
	grep -Eq "$want" "$unit" || fail "$unit has no line matching $want"
done
# Never root; one capability, for nftables and NFLOG.
for set in CapabilityBoundingSet AmbientCapabilities; do
	caps=$(sed -n "s/^$set=//p" "$unit")
	[ "$caps" = CAP_NET_ADMIN ] || fail "$set is '$caps', want CAP_NET_ADMIN alone"
done

out=$(systemd-analyze security --offline=yes --no-pager "$unit" 2>&1) || true
score=$(sed -n 's/.*Overall exposure level for jgwd.service: \([0-9.]*\).*/\1/p' <<<"$out")
[ -n "$score" ] || { echo "$out" | tail -5; fail "systemd-analyze gave no exposure level"; }
echo "systemd-analyze security: jgwd.service exposure $score (budget $budget; 0 = fully sandboxed, 10 = none)"
awk -v s="$score" -v b="$budget" 'BEGIN { exit !(s <= b) }' || fail "exposure $score is above the budget $budget"
