# The control socket: mode 0600, status/stats/peers answer (the audit's
# key and spool alarms included), bad requests are refused with a reason,
# quarantine without a firewall says so.
. "$(dirname "$0")/lib.sh"

write_conf gw 131016 22181 22182 22183 130001 22192
start_jgwd gw
[ "$(stat -c %a "$T/gw/control.sock")" = 600 ] || fail "control socket mode is not 0600"
ctl gw stats | grep -q '^tunnels_open 0$' || fail "stats: tunnels_open"
ctl gw stats | grep -q '^frames_denied 0$' || fail "stats: frames_denied"
ctl gw stats | grep -q '^bytes_allowed 0$' || fail "stats: bytes_allowed"
ctl gw stats | grep -q '^bytes_denied 0$' || fail "stats: bytes_denied"
# The audit's alarms that need a person are shown to netops, "no" normally.
for cmd in status stats; do
	out=$(ctl gw $cmd)
	echo "$out" | grep -q '^audit_key_alarm no$' || fail "$cmd: no audit_key_alarm no: $out"
	echo "$out" | grep -q '^audit_spool_broken no$' || fail "$cmd: no audit_spool_broken no: $out"
done
ctl gw peers | grep -q "^peer 130001 role prefecture tunnels 0 addr 127.0.0.1:22192 addrs 1$" \
	|| fail "peers: $(ctl gw peers)"
ctl gw peers | grep -qx "address 127.0.0.1:22192 peer 130001 last_success 0 last_success_side - last_error 0 last_error_side - last_error_reason -" \
	|| fail "peers: no address line: $(ctl gw peers)"
# --json: one object per line, the text's keys and values, typed.
for cmd in status stats peers version; do
	out=$(ctl gw $cmd --json) || fail "$cmd --json failed"
	jq -e . >/dev/null <<<"$out" || fail "$cmd --json is not JSON: $out"
	[ "$(jq -c . <<<"$out" | wc -l)" = "$(wc -l <<<"$out")" ] || fail "$cmd --json: not one object per line"
done
ctl gw status --json | jq -e '.site == "131016" and .generation == 1 and .tunnels == 0 and
	.audit_collector == "none" and .audit_key_alarm == false and (.config_sha256 | test("^[0-9a-f]{64}$"))' \
	>/dev/null || fail "status --json: $(ctl gw status --json)"
[ "$(ctl gw status | grep -c .)" = "$(ctl gw status --json | jq 'keys | length')" ] \
	|| fail "status --json does not have a member per text line"
ctl gw peers --json | jq -se '.[0].peer == "130001" and .[0].tunnels == 0 and .[1].address == "127.0.0.1:22192"
	and .[1].last_success == 0' >/dev/null || fail "peers --json: $(ctl gw peers --json)"
ctl gw version | grep -q "^version $("$JGWD" --version | cut -d' ' -f2)$" || fail "version differs from jgwd --version"
# -c: every verb takes the configuration from it; the daemon is asked even
# when the file on disk has an error now (the running state is what counts).
cp "$T/gw/jgw.conf" "$T/gw/good.conf"
echo "this is not a statement" >>"$T/gw/jgw.conf"
out=$("$JGWCTL" -c "$T/gw/jgw.conf" status) || fail "status through -c of a file with an error: $out"
grep -qx "site 131016" <<<"$out" || fail "-c status: $out"
"$JGWCTL" status -c "$T/gw/jgw.conf" --json | jq -e '.site == "131016"' >/dev/null || fail "-c after the verb"
"$JGWCTL" -c "$T/gw/jgw.conf" check >/dev/null 2>&1 && fail "check -c of a file with an error passed"
cp "$T/gw/good.conf" "$T/gw/jgw.conf"
"$JGWCTL" -c "$T/gw/jgw.conf" check >/dev/null || fail "check with -c as its file"
sed 's/firewall { enabled no; }/firewall { enabled yes; }/' "$T/gw/jgw.conf" >"$T/gw/fw.conf"
printf 'interface lan lan0;\ninterface wan wan0;\n' >>"$T/gw/fw.conf"
"$JGWCTL" -c "$T/gw/fw.conf" nft print >"$T/nft-c" || fail "nft print with -c"
"$JGWCTL" nft print "$T/gw/fw.conf" | cmp -s - "$T/nft-c" || fail "nft print -c differs from its file argument"
grep -q '^table inet ' "$T/nft-c" || fail "nft print -c printed no table"
out=$(ctl gw quarantine list 2>&1) && fail "quarantine without firewall succeeded"
echo "$out" | grep -q 'firewall is not enabled' || fail "quarantine error: $out"
"$JGWCTL" -s "$T/gw/control.sock" frobnicate >/dev/null 2>&1; [ $? -eq 2 ] \
	|| fail "unknown command: exit status not 2"
"$JGWCTL" -s "$T/gw/control.sock" quarantine add 10.0.0.300 >/dev/null 2>&1; [ $? -eq 2 ] \
	|| fail "bad address: exit status not 2"
# A raw client that sends garbage gets an error line, and the daemon lives on.
command -v socat >/dev/null || skip "socat not installed"
printf 'rm -rf /\n' | socat - "UNIX-CONNECT:$T/gw/control.sock" | grep -q "^error unknown command \`rm'" \
	|| fail "raw bad request not refused"
# A client that sends nothing is dropped after a few seconds, not kept.
socat -u "UNIX-CONNECT:$T/gw/control.sock" - </dev/null >/dev/null &
ctl gw status >/dev/null || fail "a silent client blocks the control socket"
"$JGWCTL" -s "$T/nowhere.sock" status >/dev/null 2>&1; [ $? -eq 1 ] || fail "unreachable daemon: exit not 1"
ctl gw status >/dev/null || fail "daemon not answering after bad requests"
stop_jgwd gw || fail "jgwd exited non-zero"
exit 0
