#!/bin/sh
# mkpki.sh [-f] DIR — make the test/demo PKI of jgw with the openssl CLI.
#
#   DIR/ca.crt ca.key crl.pem              the CA and its current CRL (30 days)
#   DIR/<code>.crt/.key                    ECDSA P-256 leaves for 131016 131024
#                                          130001 000000 271004 270008
#   DIR/ed25519/131016.crt/.key            an Ed25519 leaf
#   DIR/rsa/131024.crt/.key                an RSA-2048 leaf
#   DIR/collector.crt/.key                 the audit collector (rsyslog imrelp):
#                                          DNS name collector.jgw.test
#   DIR/bad/{expired,not-yet-valid,unknown-ca,revoked,two-uris,no-uri,
#            bad-code}.crt/.key            negative material (all claim 131016,
#                                          except bad-code: 131017)
#   DIR/bad/unknown-ca-ca.crt              the foreign CA of unknown-ca
#   DIR/bad/crl-stale.pem                  a CRL whose nextUpdate has passed
#   DIR/bad/crl-foreign.pem                a CRL signed by the foreign CA
#   DIR/ca/                                openssl ca database and openssl.cnf,
#                                          to issue or revoke more later
#
# Idempotent: a complete DIR (marked by DIR/.complete holding this script's
# layout version) is left as it is, so certificates stay stable across runs;
# a DIR of an older layout is made anew; -f makes a fresh PKI.
set -eu
layout="jgw-pki 3"

force=0
if [ "${1:-}" = "-f" ]; then force=1; shift; fi
if [ $# -ne 1 ]; then
	echo "usage: $0 [-f] DIR" >&2
	exit 2
fi
mkdir -p "$1"
dir=$(cd "$1" && pwd)
[ "$force" -eq 0 ] && [ "$(cat "$dir/.complete" 2>/dev/null)" = "$layout" ] && exit 0

nodes="131016 131024 130001 000000 271004 270008"
rm -rf "$dir/ca" "$dir/bad" "$dir/ed25519" "$dir/rsa" "$dir/.complete"
rm -f "$dir/ca.crt" "$dir/ca.key" "$dir/crl.pem"
for n in $nodes collector; do rm -f "$dir/$n.crt" "$dir/$n.key"; done
mkdir -p "$dir/ca/new" "$dir/bad" "$dir/ed25519" "$dir/rsa"
umask 077
: >"$dir/ca/index.txt"
openssl rand -hex 16 >"$dir/ca/serial"
echo 1000 >"$dir/ca/crlnumber"

cnf=$dir/ca/openssl.cnf
cat >"$cnf" <<EOF
# openssl ca configuration of the jgw test CA (made by conf/mkpki.sh).
# Revoke:   openssl ca -config $cnf -revoke CERT
# New CRL:  openssl ca -config $cnf -gencrl -crldays 30 -out CRL
SAN = URI:urn:jgw:node:000000

[ca]
default_ca = jgw_ca

[jgw_ca]
dir = $dir/ca
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = $dir/ca.crt
private_key = $dir/ca.key
default_md = sha256
default_days = 825
default_crl_days = 30
policy = jgw_policy
unique_subject = no
copy_extensions = none
email_in_dn = no
x509_extensions = jgw_leaf
crl_extensions = jgw_crl

[jgw_policy]
organizationName = optional
commonName = supplied

[jgw_leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = \${ENV::SAN}

[jgw_leaf_nouri]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:jgw-gateway.invalid

[jgw_ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[jgw_crl]
authorityKeyIdentifier = keyid:always

[req]
distinguished_name = jgw_dn
prompt = no
[jgw_dn]
EOF

ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

self_signed_ca() { # KEY CRT CN
	ec_key "$1"
	openssl req -config "$cnf" -x509 -new -key "$1" -out "$2" -days 3650 \
		-subj "/O=jgw test/CN=$3" -extensions jgw_ca_ext -sha256
}

# issue NAME CN SAN [extra openssl ca options...]: DIR/NAME.{key,crt} from the CA
issue() {
	name=$1 cn=$2 san=$3; shift 3
	[ -f "$dir/$name.key" ] || ec_key "$dir/$name.key"
	openssl req -config "$cnf" -new -key "$dir/$name.key" -subj "/O=jgw test/CN=$cn" \
		-out "$dir/ca/req.csr"
	SAN=$san openssl ca -config "$cnf" -batch -notext -in "$dir/ca/req.csr" \
		-out "$dir/$name.crt" "$@" 2>/dev/null
	rm -f "$dir/ca/req.csr"
}

self_signed_ca "$dir/ca.key" "$dir/ca.crt" "jgw test CA"

for n in $nodes; do
	issue "$n" "$n" "URI:urn:jgw:node:$n"
done

openssl genpkey -algorithm ed25519 -out "$dir/ed25519/131016.key"
issue ed25519/131016 131016 URI:urn:jgw:node:131016
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/rsa/131024.key" 2>/dev/null
issue rsa/131024 131024 URI:urn:jgw:node:131024
# The audit collector is named by a DNS name, which the gateways' mirror
# checks (audit collector { name ...; }): a gateway's certificate will not do.
issue collector "jgw audit collector" DNS:collector.jgw.test

issue bad/expired 131016 URI:urn:jgw:node:131016 -startdate 200101000000Z -enddate 210101000000Z
issue bad/not-yet-valid 131016 URI:urn:jgw:node:131016 -startdate 400101000000Z -enddate 410101000000Z
issue bad/revoked 131016 URI:urn:jgw:node:131016
issue bad/two-uris 131016 "URI:urn:jgw:node:131016, URI:urn:jgw:node:131024"
issue bad/no-uri 131016 URI:unused -extensions jgw_leaf_nouri
issue bad/bad-code 131017 URI:urn:jgw:node:131017

# A leaf that is right in every way except its issuer, a CA nobody trusts.
self_signed_ca "$dir/bad/unknown-ca-ca.key" "$dir/bad/unknown-ca-ca.crt" "jgw foreign CA"
ec_key "$dir/bad/unknown-ca.key"
openssl req -config "$cnf" -new -key "$dir/bad/unknown-ca.key" -subj "/O=jgw test/CN=131016" \
	-out "$dir/ca/req.csr"
SAN=URI:urn:jgw:node:131016 openssl x509 -req -in "$dir/ca/req.csr" -CA "$dir/bad/unknown-ca-ca.crt" \
	-CAkey "$dir/bad/unknown-ca-ca.key" -set_serial "0x$(openssl rand -hex 16)" -days 825 \
	-sha256 -extfile "$cnf" -extensions jgw_leaf -out "$dir/bad/unknown-ca.crt" 2>/dev/null
rm -f "$dir/ca/req.csr"
# A CRL signed by the foreign CA: a configuration must refuse it.
openssl ca -config "$cnf" -gencrl -crldays 30 -keyfile "$dir/bad/unknown-ca-ca.key" \
	-cert "$dir/bad/unknown-ca-ca.crt" -out "$dir/bad/crl-foreign.pem" 2>/dev/null
rm -f "$dir/bad/unknown-ca-ca.key"

openssl ca -config "$cnf" -revoke "$dir/bad/revoked.crt" -crl_reason keyCompromise 2>/dev/null
openssl ca -config "$cnf" -gencrl -crldays 30 -out "$dir/crl.pem" 2>/dev/null
openssl ca -config "$cnf" -gencrl -crl_lastupdate 200101000000Z -crl_nextupdate 200201000000Z \
	-out "$dir/bad/crl-stale.pem" 2>/dev/null

chmod 644 "$dir"/*.crt "$dir"/*/*.crt "$dir/crl.pem" "$dir"/bad/crl-*.pem
echo "$layout" >"$dir/.complete"
