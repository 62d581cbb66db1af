# jgwd -n runs the daemon's own parser: exit 0 on a valid file, 1 with
# file:line:col messages on a bad one; nothing is started either way.
# jgwctl nft print refuses a file whose firewall is off.
. "$(dirname "$0")/lib.sh"

write_conf gw 131016 22121 22122 22123 130001 22132
out=$("$JGWD" -n -c "$T/gw/jgw.conf" 2>&1) || fail "valid configuration refused: $out"
echo "$out" | grep -q 'ok: site 131016' || fail "no summary line: $out"
[ -e "$T/gw/control.sock" ] && fail "check mode opened the control socket"

printf 'site 131017;\nbogus-keyword 1;\n' >"$T/gw/bad.conf"
out=$("$JGWD" -n -c "$T/gw/bad.conf" 2>&1) && fail "bad configuration accepted"
echo "$out" | grep -Eq 'bad.conf:1:[0-9]+:' || fail "no file:line:col for the bad site: $out"
echo "$out" | grep -Eq 'bad.conf:2:[0-9]+:' || fail "second error not reported: $out"
"$JGWD" -n -c "$T/none.conf" >/dev/null 2>&1 && fail "missing file accepted"

# `jgwctl nft print` of a configuration with the firewall off prints no
# ruleset (jgwd would apply none), and says why; with it on, it prints one.
out=$("$JGWCTL" nft print "$T/gw/jgw.conf" 2>"$T/nft.err") && fail "nft print of a firewall-off file succeeded"
[ -z "$out" ] || fail "nft print printed a ruleset for a firewall-off file"
grep -q 'the firewall is not enabled in this configuration' "$T/nft.err" \
	|| fail "nft print: no reason given: $(cat "$T/nft.err")"
# A firewall that is on needs the interfaces its ports are bound to: refused
# at the firewall block without them.
sed 's/^firewall { enabled no; }$/firewall { enabled yes; }/' "$T/gw/jgw.conf" >"$T/gw/fw.conf"
fwline=$(grep -n '^firewall { enabled yes; }$' "$T/gw/fw.conf" | cut -d: -f1)
out=$("$JGWD" -n -c "$T/gw/fw.conf" 2>&1) && fail "firewall on without interfaces accepted"
echo "$out" | grep -q "fw.conf:$fwline:1: firewall: 'interface lan' and 'interface wan' are required" \
	|| fail "no located error for the missing interfaces: $out"
printf 'interface lan lan0;\ninterface wan wan0;\n' >>"$T/gw/fw.conf"
"$JGWCTL" nft print "$T/gw/fw.conf" >"$T/fw.nft" || fail "nft print of a firewall-on file"
grep -q '^table inet jgw' "$T/fw.nft" || fail "nft print of a firewall-on file: no table"
# (the rule names the LAN listener's address too, when it has one)
grep -Eq 'iifname "lan0" (ip daddr 127\.0\.0\.1 )?tcp dport 22121 ' "$T/fw.nft" ||
	fail "the LAN port is not bound to lan0: $(cat "$T/fw.nft")"
grep -q 'iifname "wan0" tcp dport 22122' "$T/fw.nft" || fail "the WAN port is not bound to wan0"
"$JGWD" -x >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad option: exit status not 2"
exit 0
