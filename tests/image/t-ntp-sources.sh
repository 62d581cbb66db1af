#!/usr/bin/env bash
# The appliance's clock sources: image/rootfs/ntp-sources turns jgw.conf's
# `ntp` statements (includes followed) into chrony's server lines, and the
# shipped chrony.conf with them takes the time from a real chronyd over NTS
# (RFC 8915: keys by TLS on TCP 4460, then authenticated NTP), and refuses
# it when the NTS server's certificate does not chain to pki/ntp-ca.crt.
# Client and server are real chronyd in a network namespace of the test's
# own; the client only measures (-Q), it never sets a clock.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "FAIL: $*"; exit 1; }
command -v chronyd >/dev/null || fail "chronyd is not installed (make deps)"
T=$(mktemp -d /tmp/jgw-ntp.XXXXXX)
ns=jgwntp$$
cleanup() {
	[ -f "$T/server.pid" ] && kill "$(cat "$T/server.pid")" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# 1. The lines chrony gets.
mkdir -p "$T/etc/common" "$T/etc/pki" "$T/run"
cat >"$T/etc/jgw.conf" <<'CONF'
site 131016;
include "common/ntp.conf";   # a comment; ntp 10.9.9.9; is not a statement
firewall { ntp 10.99.0.125 port 1123; }
CONF
cat >"$T/etc/common/ntp.conf" <<'CONF'
firewall {
	ntp 10.99.0.123;
	ntp 127.0.0.1 nts;
	dns 10.99.0.53;
}
CONF
sh "$top/image/rootfs/ntp-sources" "$T/etc/jgw.conf" "$T/run/jgw.sources" >/dev/null
want='server 10.99.0.123 iburst
server 10.99.0.125 iburst port 1123
server 127.0.0.1 iburst nts'
[ "$(cat "$T/run/jgw.sources")" = "$want" ] || { cat "$T/run/jgw.sources"; fail "chrony's sources"; }
[ ! -e "$T/run/ntp-ca.crt" ] || fail "a trust anchor without pki/ntp-ca.crt"
echo "ntp-sources: $(wc -l <"$T/run/jgw.sources") servers, one with nts"

# 2. A real NTS server: its own CA, a certificate for 127.0.0.1; another CA.
ca() { # name → NAME.key NAME.crt (self-signed CA)
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout "$T/$1.key" -out "$T/$1.crt" -subj "/CN=$1" \
		-addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign 2>/dev/null
}
ca ntp-ca; ca other-ca
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/srv.key" \
	-out "$T/srv.csr" -subj /CN=ntp.test 2>/dev/null
openssl x509 -req -in "$T/srv.csr" -CA "$T/ntp-ca.crt" -CAkey "$T/ntp-ca.key" -CAcreateserial \
	-days 2 -out "$T/srv.crt" -extfile <(printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n') \
	2>/dev/null
chmod 0644 "$T"/*.key
ip netns add "$ns"
ip -n "$ns" link set lo up
cat >"$T/server.conf" <<CONF
bindaddress 127.0.0.1
allow 127.0.0.1
local stratum 8
cmdport 0
bindcmdaddress /
pidfile $T/server.pid
ntsserverkey $T/srv.key
ntsservercert $T/srv.crt
CONF
ip netns exec "$ns" chronyd -x -u root -f "$T/server.conf" 2>"$T/server.log" ||
	{ cat "$T/server.log"; fail "the NTS server did not start"; }

# 3. The appliance's chrony.conf, its /run/jgw-ntp here, measuring only.
measure() { # CA-file seconds → chronyd's exit status
	rm -f "$T/run/ntp-ca.crt" "$T/etc/pki/ntp-ca.crt"
	cp "$1" "$T/etc/pki/ntp-ca.crt"
	sh "$top/image/rootfs/ntp-sources" "$T/etc/jgw.conf" "$T/run/jgw.sources" >/dev/null
	cmp -s "$1" "$T/run/ntp-ca.crt" || fail "ntp-sources did not place pki/ntp-ca.crt for chrony"
	grep 'nts' "$T/run/jgw.sources" >"$T/run/only-nts"
	mv "$T/run/only-nts" "$T/run/jgw.sources"
	{ sed "s|/run/jgw-ntp|$T/run|g" "$top/image/rootfs/chrony.conf"
	  echo "pidfile $T/client.pid"; echo "bindcmdaddress /"; } >"$T/client.conf"
	ip netns exec "$ns" chronyd -Q -t "$2" -u root -f "$T/client.conf" >"$T/client.log" 2>&1
}
measure "$T/ntp-ca.crt" 30 || { cat "$T/client.log"; fail "no time over NTS from the trusted server"; }
grep -q 'System clock wrong by' "$T/client.log" || { cat "$T/client.log"; fail "no measurement"; }
echo "NTS: $(grep -o 'System clock wrong by.*' "$T/client.log" | head -1)"
if measure "$T/other-ca.crt" 12; then
	cat "$T/client.log"; fail "time taken from an NTS server whose certificate is not trusted"
fi
grep -q 'certificate' "$T/client.log" || { cat "$T/client.log"; fail "the refusal does not name the certificate"; }
echo "NTS with another CA refused: $(grep -o 'TLS handshake.*failed' "$T/client.log" | head -1)"
