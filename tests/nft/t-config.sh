# From configuration to kernel: for each example configuration, `jgwctl nft
# print` writes a ruleset nft accepts, and nft_apply of cfg_nft_policy (what
# jgwd does) gives a kernel table equal to it; the peer directory, the
# site's servers and the management network are where they belong.
source "$(dirname "$0")/lib.sh"
JGWCTL=${JGWCTL:-$ROOT/build/jgwctl}
case $JGWCTL in /*) ;; *) JGWCTL=$ROOT/$JGWCTL;; esac
[ -x "$JGWCTL" ] || fail "no $JGWCTL"

cp -r "$ROOT/conf" "$WORK/conf"
sh "$ROOT/conf/mkpki.sh" "$WORK/conf/pki" >"$WORK/mkpki.log" 2>&1 || fail "mkpki: $(cat "$WORK/mkpki.log")"
mkdir -p "$WORK/lib" "$WORK/run"
find "$WORK/conf" -name '*.conf' -exec sed -i -e "s|/var/lib/jgw|$WORK/lib|g" \
	-e "s|/run/jgw|$WORK/run|g" -e "s|/etc/jgw/pki|$WORK/conf/pki|g" {} +

NS=${NS_PREFIX}conf
ip netns add "$NS" || fail "netns"
n=0
for conf in "$WORK"/conf/*-*.conf; do
	name=$(basename "$conf" .conf)
	"$JGWCTL" nft print "$conf" >"$WORK/$name.nft" 2>"$WORK/$name.err" ||
		fail "jgwctl nft print $name: $(cat "$WORK/$name.err")"
	ip netns exec "$NS" nft -c -f "$WORK/$name.nft" || fail "nft -c -f rejects $name"
	ip netns exec "$NS" "$TOOL" apply --config "$conf" || fail "apply $name"
	ip netns exec "$NS" nft list table inet jgw | normalise >"$WORK/$name.list"
	sed -n '/^table inet jgw {/,$p' "$WORK/$name.nft" | normalise >"$WORK/$name.print"
	diff -u "$WORK/$name.print" "$WORK/$name.list" || fail "$name: kernel table differs from print"
	echo "ok: $name: printed, checked by nft, applied, equal ($(wc -l <"$WORK/$name.list") lines)"
	n=$((n + 1))
done
[ $n -ge 4 ] || fail "only $n example configurations"

# Spot checks on 千代田区: its peers, its server, its output.
p=$WORK/chiyoda-131016.print
for want in 10.77.0.13 10.77.0.24 10.77.0.100 fd00:77::13 fd00:77::100 \
	'10.16.0.10 . tcp . 7101' '10.16.0.10 . tcp . 7201' '10.77.0.13 . tcp . 7443'; do
	grep -qx "$want" "$p" || fail "chiyoda: element $want missing"
done
grep -q 'iifname "wan0" tcp dport 7443 ip saddr @peers4' "$p" || fail "chiyoda: WAN rule"
# The LAN rule names the LAN listener's address once cfg_nft_policy fills
# the policy's lan_addr (listen lan 10.16.0.1); without it, any address.
if grep -q 'iifname "lan0" ip daddr 10.16.0.1 tcp dport 7000 ip saddr @servers4' "$p"; then
	echo "ok: chiyoda's LAN rule is on its listener's address 10.16.0.1"
elif grep -q 'iifname "lan0" tcp dport 7000 ip saddr @servers4' "$p"; then
	echo "note: chiyoda's LAN rule is on any local address: cfg_nft_policy does not fill lan_addr"
else
	fail "chiyoda: LAN rule"
fi
echo "ok: chiyoda's directory, server and output in the table"

# A configuration that does not load prints nothing and fails.
printf 'site 131016;\nfirewall { rate nonsense; }\n' >"$WORK/bad.conf"
"$JGWCTL" nft print "$WORK/bad.conf" >"$WORK/bad.out" 2>"$WORK/bad.err" && fail "bad config printed"
[ -s "$WORK/bad.out" ] && fail "output for a bad config"
grep -q 'bad.conf:2:' "$WORK/bad.err" || fail "no file:line error: $(cat "$WORK/bad.err")"
echo "ok: a bad configuration is refused with $(head -1 "$WORK/bad.err")"
exit 0
