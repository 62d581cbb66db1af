# The gateway's own certificate must name the configured site. `jgwd -n`,
# `jgwctl check`, the start and a reload run the same checks
# (relay_gen_load): a configuration with another node's certificate is
# refused by each, the error located at the `tls certificate` statement; a
# TLS error (key of another certificate) at the `tls key` statement.
. "$(dirname "$0")/lib.sh"

# 千代田区 (131016) configured with 中央区's certificate (131024).
write_conf gw 131016 22831 22832 22833 130001 22842 131024
line=$(grep -n '^	certificate ' "$T/gw/jgw.conf" | cut -d: -f1)
keyline=$(grep -n '^	key ' "$T/gw/jgw.conf" | cut -d: -f1)
[ -n "$line" ] && [ -n "$keyline" ] || fail "no tls lines in the generated file"
want="jgw.conf:$line:[0-9]+: tls certificate '.*131024.crt' names node 131024, but this site is 131016"

out=$("$JGWD" -n -c "$T/gw/jgw.conf" 2>&1) && fail "jgwd -n accepted another node's certificate: $out"
echo "$out" | grep -Eq "$want" || fail "jgwd -n: error not located at the certificate: $out"
out=$("$JGWCTL" check "$T/gw/jgw.conf" 2>&1) && fail "jgwctl check accepted another node's certificate: $out"
echo "$out" | grep -Eq "$want" || fail "jgwctl check: error not located at the certificate: $out"
echo "$out" | grep -q '1 error, configuration rejected' || fail "jgwctl check: no summary: $out"

"$JGWD" -c "$T/gw/jgw.conf" >"$T/gw/jgwd.log" 2>&1 && fail "jgwd started with another node's certificate"
grep -Eq "$want" "$T/gw/jgwd.log" || fail "start: error not logged with its location"
[ -e "$T/gw/control.sock" ] && fail "a refused start left its control socket"
audit_has gw '"event":"config".*"action":"reject".*names node 131024' || fail "start: no config reject record"
sha=$(sha256sum "$T/gw/jgw.conf" | cut -d' ' -f1)
audit_has gw "\"action\":\"reject\",\"sha256\":\"$sha\".*names node 131024" \
	|| fail "start: the reject record does not carry the file's sha256 $sha"

# A key that is not the certificate's: located at `tls key`.
cp "$T/gw/jgw.conf" "$T/gw/wrong.conf"
sed -i "s|^	key .*|	key \"$JGW_TEST_PKI/131016.key\";|" "$T/gw/wrong.conf"
out=$("$JGWCTL" check "$T/gw/wrong.conf" 2>&1) && fail "a key of another certificate accepted"
echo "$out" | grep -Eq "wrong.conf:$keyline:[0-9]+: tls: .*131016.key" \
	|| fail "key error not located at the key statement: $out"

# The right certificate: accepted everywhere; then a reload to the wrong
# one is rejected and the running generation stays.
write_conf gw 131016 22831 22832 22833 130001 22842
"$JGWD" -n -c "$T/gw/jgw.conf" >/dev/null || fail "jgwd -n refuses the right certificate"
"$JGWCTL" check "$T/gw/jgw.conf" >/dev/null || fail "jgwctl check refuses the right certificate"
start_jgwd gw
sed -i "s|/131016\.crt\"|/131024.crt\"|; s|/131016\.key\"|/131024.key\"|" "$T/gw/jgw.conf"
out=$(ctl gw reload 2>&1) && fail "reload to another node's certificate accepted"
echo "$out" | grep -Eq "reload rejected: .*$want" || fail "reload: error not located: $out"
[ "$(status_of gw generation)" = 1 ] || fail "generation changed after a rejected reload"
sha=$(sha256sum "$T/gw/jgw.conf" | cut -d' ' -f1)
wait_for 30 audit_has gw "\"action\":\"reject\",\"sha256\":\"$sha\".*names node 131024" \
	|| fail "reload: the reject record does not carry the rejected file's sha256 $sha"
rejects() { cat "$T/gw"/spool/* | grep -c '"event":"config".*"action":"reject".*names node 131024'; }
wait_for 30 bash -c "[ \$(cat '$T/gw'/spool/* | grep -c '\"action\":\"reject\".*names node 131024') -ge 2 ]" \
	|| fail "reload: no config reject record (start and reload: $(rejects))"
stop_jgwd gw || fail "jgwd exited non-zero"
exit 0
