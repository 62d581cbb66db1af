# systemd notification: READY=1 once serving, RELOADING=1 then READY=1 on a
# reload, WATCHDOG=1 pings at half the watchdog interval, STOPPING=1 on
# SIGTERM. A socat datagram socket plays systemd's part (datagrams carry
# no final newline, so the log is searched without anchors).
. "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || skip "socat not installed"

write_conf gw 131016 22701 22702 22703 130001 22712
socat -u "UNIX-RECV:$T/notify" "OPEN:$T/notify.log,creat,append" &
JG_PIDS+=($!)
wait_for 50 test -S "$T/notify" || fail "notify socket not created"
NOTIFY_SOCKET=$T/notify WATCHDOG_USEC=400000 "$JGWD" -c "$T/gw/jgw.conf" >"$T/gw/jgwd.log" 2>&1 &
PID_gw=$!
JG_PIDS+=($PID_gw)
wait_for 100 grep -q 'READY=1' "$T/notify.log" || fail "no READY=1"
ctl gw status >/dev/null || fail "not answering after READY=1"
wait_for 50 grep -q 'WATCHDOG=1' "$T/notify.log" || fail "no WATCHDOG=1"
ctl gw reload >/dev/null || fail "reload"
wait_for 50 grep -q 'RELOADING=1' "$T/notify.log" || fail "no RELOADING=1"
grep -q 'MONOTONIC_USEC=' "$T/notify.log" || fail "RELOADING=1 without MONOTONIC_USEC"
kill -TERM "$PID_gw"; wait "$PID_gw" || fail "jgwd exited non-zero"
grep -q 'STOPPING=1' "$T/notify.log" || fail "no STOPPING=1"
exit 0
