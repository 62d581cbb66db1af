# A reload with a bad file is rejected and audited with the sha256 of the
# rejected bytes; the running configuration stays (same generation, still
# serving); a good file then reloads (generation 2), by SIGHUP as well as
# by jgwctl reload.
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
# The record names the bytes that were rejected (the file does not parse,
# so their sha256 is the file's own).
bad=$(sha256sum "$T/gw/jgw.conf" | cut -d' ' -f1)
audit_has gw "\"event\":\"config\".*\"action\":\"reject\",\"sha256\":\"$bad\"" \
	|| fail "reject record without the sha256 $bad of the rejected file"

kill -HUP "$(pid_of gw)"
wait_for 30 stat_is gw status reload_rejects = 2 || fail "SIGHUP with a bad file not counted as rejected"
[ "$(status_of gw generation)" = 1 ] || fail "generation changed after SIGHUP with a bad file"

# A file that parses but is rejected later (its TLS key is not there): the
# sha256 of the configuration as loaded.
cp "$T/gw/good.conf" "$T/gw/jgw.conf"
sed -i "s|^	key .*|	key \"$T/gw/missing.key\";|" "$T/gw/jgw.conf"
echo '# rejected for its key' >>"$T/gw/jgw.conf"
bad2=$(sha256sum "$T/gw/jgw.conf" | cut -d' ' -f1)
out=$(ctl gw reload 2>&1) && fail "reload with a missing key accepted"
wait_for 30 audit_has gw "\"action\":\"reject\",\"sha256\":\"$bad2\".*missing.key" \
	|| fail "TLS reject record without the sha256 $bad2: $out"
# A file that cannot be read at all: rejected, no sha256 to give.
mv "$T/gw/jgw.conf" "$T/gw/away.conf"
ctl gw reload >/dev/null 2>&1 && fail "reload of a missing file accepted"
wait_for 30 stat_is gw status reload_rejects = 4 || fail "missing file not counted as rejected"
last=$(cat "$T/gw"/spool/* | grep '"event":"config"' | tail -1)
echo "$last" | grep -q '"action":"reject"' || fail "no reject record for a missing file: $last"
echo "$last" | grep -q '"sha256"' && fail "sha256 given for a file that could not be read: $last"
mv "$T/gw/away.conf" "$T/gw/jgw.conf"

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
