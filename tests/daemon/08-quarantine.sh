# With the firewall on (in a namespace of its own, jg-*): jgwctl quarantine
# add/list/del drive the kernel set and are audited; repeated handshake
# failures from one source quarantine it automatically; the table goes
# away at stop when keep-on-stop is off. A stranger's packets (another
# namespace on a veth) are dropped and summarised in `drop` records. A
# quarantine the kernel refuses is retried at the source's next failure.
. "$(dirname "$0")/lib.sh"
command -v nft >/dev/null || skip "nft not installed"
ns=jg-q$$
ip netns add "$ns" 2>/dev/null || skip "cannot create network namespaces here"
JG_NETNS+=("$ns")
ip -n "$ns" link set lo up
st=jg-s$$
ip netns add "$st" || fail "cannot create $st"
JG_NETNS+=("$st")
ip link add "jg-qa$$" netns "$ns" type veth peer name "jg-qb$$" netns "$st" || fail "veth"
ip -n "$ns" addr add 10.77.0.16/24 dev "jg-qa$$"
ip -n "$st" addr add 10.77.0.99/24 dev "jg-qb$$"
ip -n "$ns" link set "jg-qa$$" up
ip -n "$st" link set "jg-qb$$" up

# The site servers are on lo; the WAN is the veth to the stranger.
write_conf gw 131016 22401 22402 22403 130001 22412 131016 \
	'firewall { enabled yes; table "jgwtest"; keep-on-stop no; drop-interval 1s;
	quarantine after 2 failures within 60s for 30s; }
interface lan lo;
interface wan "jg-qa'$$'";'
sed -i '/^firewall { enabled no; }$/d' "$T/gw/jgw.conf"
ip netns exec "$ns" "$JGWD" -d -c "$T/gw/jgw.conf" >"$T/gw/jgwd.log" 2>&1 &
PID_gw=$!
JG_PIDS+=($PID_gw)
wait_for 100 ctl gw status || fail "jgwd did not come up in $ns"
[ "$(status_of gw firewall)" = jgwtest ] || fail "firewall not reported on"
ip netns exec "$ns" nft list table inet jgwtest >/dev/null || fail "table not in the kernel"

ctl gw quarantine add 10.77.0.99 45 || fail "quarantine add"
ctl gw quarantine list | grep -q '^quarantined 10.77.0.99 expires_s' || fail "not listed"
ip netns exec "$ns" nft list set inet jgwtest quarantine4 | grep -q '10.77.0.99' \
	|| fail "not in the kernel set"
ctl gw quarantine del 10.77.0.99 || fail "quarantine del"
ctl gw quarantine list | grep -q 10.77.0.99 && fail "still listed after del"
wait_for 30 audit_has gw '"event":"quarantine".*"addr":"10.77.0.99".*"action":"add".*"cause":"manual"' \
	|| fail "no audit record for the manual add"
wait_for 30 audit_has gw '"event":"quarantine".*"action":"remove"' || fail "no audit record for del"

# Two clients without a certificate: two authentication failures.
for i in 1 2; do
	ip netns exec "$ns" timeout 5 openssl s_client -connect 127.0.0.1:22402 -tls1_3 \
		-CAfile "$JGW_TEST_PKI/ca.crt" </dev/null >/dev/null 2>&1
done
wait_for 50 bash -c "'$JGWCTL' -s '$T/gw/control.sock' quarantine list | grep -q '^quarantined 127.0.0.1 '" \
	|| fail "source not quarantined after 2 failures"
wait_for 30 audit_has gw '"event":"quarantine".*"addr":"127.0.0.1".*"action":"add"' \
	|| fail "no audit record for the automatic quarantine"

# The stranger is not a peer: its SYNs to the WAN port are dropped.
ip netns exec "$st" timeout 2 bash -c 'exec 3<>/dev/tcp/10.77.0.16/22402' 2>/dev/null \
	&& fail "a stranger reached the WAN port"
wait_for 50 audit_has gw '"event":"drop".*"src":"10.77.0.99"' || fail "no drop record for the stranger"

# A quarantine the kernel refuses (here its table was removed behind jgwd's
# back) is not booked as done: once the table is back, the source's next
# failure quarantines it. 127.0.0.2 fails with bare TCP (no TLS at all).
command -v socat >/dev/null || skip "socat not installed"
ip netns exec "$ns" nft delete table inet jgwtest || fail "cannot remove the table"
bare_failure() {
	ip netns exec "$ns" socat -u /dev/null TCP:127.0.0.1:22402,bind=127.0.0.2 2>/dev/null
}
bare_failure; bare_failure
wait_for 50 grep -q 'quarantine 127.0.0.2 failed (next failure retries)' "$T/gw/jgwd.log" \
	|| fail "a refused quarantine was not logged"
ctl gw reload >/dev/null || fail "reload (puts the table back) failed"
ip netns exec "$ns" nft list table inet jgwtest >/dev/null || fail "table not back after the reload"
bare_failure
wait_for 50 bash -c "'$JGWCTL' -s '$T/gw/control.sock' quarantine list | grep -q '^quarantined 127.0.0.2 '" \
	|| fail "not quarantined on the failure after a refused quarantine"

kill -TERM "$PID_gw"; wait "$PID_gw" || fail "jgwd exited non-zero"
ip netns exec "$ns" nft list table inet jgwtest >/dev/null 2>&1 && fail "table left behind with keep-on-stop off"
exit 0
