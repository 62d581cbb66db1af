# A reload with a bad file is rejected and audited; the running
# configuration stays (same generation, still serving); a good file then
# reloads (generation 2), by SIGHUP as well as by jgwctl reload.
. "$(dirname "$0")/lib.sh"

write_conf gw 131016 22141 22142 22143 130001 22152
start_jgwd gw
cp "$T/gw/jgw.conf" "$T/gw/good.conf"
sha1=$(status_of gw config_sha256)

printf 'site 131016;\nlisten lan nowhere;\n' >"$T/gw/jgw.conf"
out=$(ctl gw reload 2>&1) && fail "bad reload reported success"
echo "$out" | grep -q 'reload rejected' || fail "no rejection message: $out"
echo "$out" | grep -q 'jgw.conf:' || fail "rejection does not name file:line: $out"
[ "$(status_of gw generation)" = 1 ] || fail "generation changed after a rejected reload"
[ "$(status_of gw config_sha256)" = "$sha1" ] || fail "configuration changed after a rejected reload"
wait_for 30 audit_has gw '"event":"config".*"action":"reject"' || fail "no config reject record"

kill -HUP "$(pid_of gw)"
wait_for 30 stat_is gw status reload_rejects = 2 || fail "SIGHUP with a bad file not counted as rejected"
[ "$(status_of gw generation)" = 1 ] || fail "generation changed after SIGHUP with a bad file"

cp "$T/gw/good.conf" "$T/gw/jgw.conf"
echo 'limits { tunnels 1000; }' >>"$T/gw/jgw.conf"
ctl gw reload | grep -q 'generation 2' || fail "good reload not done"
[ "$(status_of gw generation)" = 2 ] || fail "generation is not 2"
[ "$(status_of gw config_sha256)" != "$sha1" ] || fail "sha256 did not change with the file"
kill -HUP "$(pid_of gw)"
wait_for 30 stat_is gw status generation = 3 || fail "SIGHUP reload not done"
wait_for 30 audit_has gw '"action":"reload"' || fail "no config reload record"
stop_jgwd gw || fail "jgwd exited non-zero"
exit 0
