# jgwd starts on a valid configuration (after its crypto self-test), answers
# status, writes its audit records (config load ... seal), and stops cleanly
# on SIGTERM.
. "$(dirname "$0")/lib.sh"

write_conf gw 131016 22101 22102 22103 130001 22112
start_jgwd gw
grep -q 'crypto self-test passed' "$T/gw/jgwd.log" || fail "no crypto self-test before the start"
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
# A provider that cannot compute a known answer stops jgwd before anything
# is built (an OpenSSL configuration that loads only the base provider:
# SHA-256 itself is missing).
printf '%s\n' 'openssl_conf = openssl_init' '[openssl_init]' 'providers = provider_sect' \
	'[provider_sect]' 'base = base_sect' '[base_sect]' 'activate = 1' >"$T/noprov.cnf"
out=$(OPENSSL_CONF=$T/noprov.cnf "$JGWD" -c "$T/gw/jgw.conf" 2>&1) && fail "jgwd started without SHA-256"
grep -q 'crit: crypto self-test failed: sha256: .*; not starting' <<<"$out" || fail "self-test failure: $out"
[ -e "$T/gw/control.sock" ] && fail "a failed self-test left a control socket"
exit 0
