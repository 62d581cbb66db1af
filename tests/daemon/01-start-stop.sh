# jgwd starts on a valid configuration, answers status, writes its audit
# records (config load ... seal), and stops cleanly on SIGTERM.
. "$(dirname "$0")/lib.sh"

write_conf gw 131016 22101 22102 22103 130001 22112
start_jgwd gw
[ "$(status_of gw site)" = 131016 ] || fail "status: wrong site"
[ "$(status_of gw generation)" = 1 ] || fail "status: generation is not 1"
[ "$(status_of gw firewall)" = off ] || fail "status: firewall should be off"
[ "$(cat "$T/gw/jgwd.pid")" = "$(pid_of gw)" ] || fail "pid file does not hold the pid"
wait_for 50 audit_has gw '"event":"config".*"action":"load"' || fail "no config load record"
wait_for 50 audit_has gw '"event":"stats"' || fail "no stats record within 5 s"
stop_jgwd gw || fail "jgwd exited non-zero"
[ -e "$T/gw/control.sock" ] && fail "control socket left behind"
[ -e "$T/gw/jgwd.pid" ] && fail "pid file left behind"
audit_has gw '"event":"seal"' || fail "no seal record at stop"
"$JGWCTL" audit verify --key "$T/gw/k0" "$T/gw/spool" || fail "audit chain does not verify"
grep -q 'stopped' "$T/gw/jgwd.log" || fail "no stop line in the log"
exit 0
