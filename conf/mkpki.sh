#!/bin/sh
# mkpki.sh — the test/demo PKI of jgw, made with the openssl CLI.
#
#   mkpki.sh [-f] DIR          make the PKI in DIR (below)
#   mkpki.sh issue CODE [DIR]  a leaf for another node code from DIR's CA
#   mkpki.sh --help            the usage
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
#
# The CA's openssl.cnf has no default subjectAltName: whoever issues sets
# SAN (this script always does), and a certificate issued without it fails
# instead of claiming some node. `issue` refuses a code that is not a valid
# node code (docs/protocol.md §1) or that DIR's CA has issued already, and
# keeps a certificate only once its one URI is urn:jgw:node:CODE and it
# verifies against DIR/ca.crt.
set -eu
# 4: openssl.cnf without a default SAN, its paths under ${ENV::JGW_PKI_DIR}.
layout="jgw-pki 4"
me=${0##*/}

usage() {
	cat <<EOF
usage: $me [-f] DIR
       $me issue CODE [DIR]
       $me -h | --help

The test and demo PKI of jgw (docs/tls.md, "Test PKI").

  [-f] DIR          make the PKI in DIR: a CA and its CRL, a leaf for each demo node
                    (131016 131024 130001 000000 271004 270008), negative material in
                    DIR/bad/, the CA's database and openssl.cnf in DIR/ca/. A complete
                    DIR is left as it is; -f makes a fresh PKI.
  issue CODE [DIR]  a leaf for another node: DIR/CODE.crt and DIR/CODE.key (ECDSA
                    P-256, CN CODE, subjectAltName URI:urn:jgw:node:CODE) from the CA
                    of DIR (default: the current directory). CODE must be a valid node
                    code (six digits, check digit: docs/protocol.md §1) that the CA
                    has not issued yet.

Exit status: 0 done, 1 failed (the reason on stderr), 2 usage error.
EOF
}
die() { echo "$me: $*" >&2; exit 1; }
usage_error() { echo "$me: $*" >&2; usage >&2; exit 2; }

# node_problem CODE: nothing when CODE is a valid node code, else why not
# (the rules of filters/base/node.h: 000000, or PP 01..47 and the check digit).
node_problem() {
	case $1 in
	[0-9][0-9][0-9][0-9][0-9][0-9]) ;;
	*) echo "a node code is six digits"; return 0;;
	esac
	[ "$1" = 000000 ] && return 0
	rest=$1 sum=0 pp=0
	for w in 6 5 4 3 2; do
		d=${rest%"${rest#?}"}
		rest=${rest#?}
		sum=$((sum + d * w))
		[ "$w" -ge 5 ] && pp=$((pp * 10 + d))
	done
	if [ "$pp" -lt 1 ] || [ "$pp" -gt 47 ]; then
		echo "its first two digits must be a prefecture, 01 to 47"
	elif [ "$rest" != $(((11 - sum % 11) % 10)) ]; then
		echo "wrong check digit: ${1%?} takes $(((11 - sum % 11) % 10)), not $rest"
	fi
	return 0
}

# san_of CRT: the certificate's subjectAltName as openssl prints it
# ("URI:urn:jgw:node:131016", entries joined by ", "), empty when none.
san_of() {
	openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | tail -n +2 |
		tr -d '\n' | sed 's/^ *//; s/ *$//'
}

cmd=make force=0 n=0 arg1='' arg2='' arg3=''
for a in "$@"; do
	case $a in
	-h|--help) usage; exit 0;;
	-f) [ "$n" -eq 0 ] || usage_error "-f comes before DIR"; force=1; continue;;
	-?*) usage_error "unknown option: $a";;
	esac
	n=$((n + 1))
	case $n in 1) arg1=$a;; 2) arg2=$a;; 3) arg3=$a;; *) usage_error "too many arguments";; esac
done
if [ "$n" -ge 1 ] && [ "$arg1" = issue ]; then
	cmd=issue
	[ "$force" -eq 0 ] || usage_error "-f is not an option of issue"
	if [ "$n" -lt 2 ] || [ "$n" -gt 3 ]; then
		usage_error "issue takes a node CODE and an optional DIR"
	fi
elif [ "$n" -ne 1 ]; then
	usage_error "give one DIR (or issue CODE [DIR])"
fi

# ---------------------------------------------------------------------
# issue CODE [DIR]

if [ "$cmd" = issue ]; then
	code=$arg2
	why=$(node_problem "$code")
	[ -z "$why" ] || die "$code is not a valid node code: $why"
	dir=$(cd "${arg3:-.}" 2>/dev/null && pwd) || die "no such directory: ${arg3:-.}"
	cnf=$dir/ca/openssl.cnf
	if [ "$(cat "$dir/.complete" 2>/dev/null)" != "$layout" ] || [ ! -f "$cnf" ]; then
		die "$dir holds no complete PKI of layout '$layout': make one with $me DIR"
	fi
	if [ -e "$dir/$code.crt" ] || [ -e "$dir/$code.key" ]; then
		die "$code is already issued: $dir/$code.crt or .key exists"
	fi
	serial=$(awk -F'\t' -v cn="/CN=$code" '$1 == "V" && (substr($6, length($6) - length(cn) + 1) == cn ||
		index($6, cn "/")) { print $4; exit }' "$dir/ca/index.txt")
	[ -z "$serial" ] || die "$code is already issued by this CA (serial $serial, still valid):" \
		"revoke $dir/ca/new/$serial.pem first"
	export JGW_PKI_DIR="$dir"
	umask 077
	tmp=$(mktemp -d "$dir/ca/issue.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/key" 2>"$tmp/err" ||
		die "key: $(cat "$tmp/err")"
	openssl req -config "$cnf" -new -key "$tmp/key" -subj "/O=jgw test/CN=$code" \
		-out "$tmp/csr" 2>"$tmp/err" || die "request: $(cat "$tmp/err")"
	SAN=URI:urn:jgw:node:$code openssl ca -config "$cnf" -batch -notext -in "$tmp/csr" \
		-out "$tmp/crt" 2>"$tmp/err" || die "openssl ca: $(cat "$tmp/err")"
	got=$(san_of "$tmp/crt")
	bad=
	if [ "$got" != "URI:urn:jgw:node:$code" ]; then
		bad="it claims '$got', not URI:urn:jgw:node:$code"
	elif ! openssl verify -CAfile "$dir/ca.crt" "$tmp/crt" >"$tmp/err" 2>&1; then
		bad="it does not verify against $dir/ca.crt: $(tail -1 "$tmp/err")"
	fi
	if [ -n "$bad" ]; then
		# Not kept: the CA database must not call it valid either.
		openssl ca -config "$cnf" -revoke "$tmp/crt" -crl_reason superseded >/dev/null 2>&1 || true
		die "the certificate issued for $code is not kept (revoked in the CA database): $bad"
	fi
	chmod 644 "$tmp/crt"
	mv "$tmp/key" "$dir/$code.key"
	mv "$tmp/crt" "$dir/$code.crt"
	echo "$dir/$code.crt: $got, serial $(openssl x509 -in "$dir/$code.crt" -noout -serial | sed 's/^serial=//')"
	exit 0
fi

# ---------------------------------------------------------------------
# [-f] DIR

mkdir -p "$arg1"
dir=$(cd "$arg1" && pwd)
[ "$force" -eq 0 ] && [ "$(cat "$dir/.complete" 2>/dev/null)" = "$layout" ] && exit 0
export JGW_PKI_DIR="$dir"

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
# openssl ca configuration of the jgw test CA (made by conf/mkpki.sh, $layout).
# Issue:    conf/mkpki.sh issue CODE $dir
#           (by hand: SAN=URI:urn:jgw:node:CODE openssl ca -config $cnf ...)
# Revoke:   openssl ca -config $cnf -revoke CERT
# New CRL:  openssl ca -config $cnf -gencrl -crldays 30 -out CRL
#
# The PKI's directory: this one unless JGW_PKI_DIR names another (a copy).
JGW_PKI_DIR = $dir
# No default subjectAltName: issuing without SAN in the environment fails
# (v2i_GENERAL_NAME_ex: unsupported option, name=SAN-not-set) instead of
# claiming a node. The value only lets -revoke and -gencrl load this file.
SAN = SAN-not-set:set SAN=URI:urn:jgw:node:CODE to issue

[ca]
default_ca = jgw_ca

[jgw_ca]
dir = \${ENV::JGW_PKI_DIR}/ca
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = \${ENV::JGW_PKI_DIR}/ca.crt
private_key = \${ENV::JGW_PKI_DIR}/ca.key
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

# leaf NAME CN SAN [extra openssl ca options...]: DIR/NAME.{key,crt} from the
# CA, kept only when the certificate's subjectAltName is SAN as asked (the
# jgw_leaf_nouri section's fixed one for bad/no-uri).
leaf() {
	name=$1 cn=$2 san=$3; shift 3
	[ -n "$san" ] || die "$name: no subjectAltName given"
	[ -f "$dir/$name.key" ] || ec_key "$dir/$name.key"
	openssl req -config "$cnf" -new -key "$dir/$name.key" -subj "/O=jgw test/CN=$cn" \
		-out "$dir/ca/req.csr"
	SAN=$san openssl ca -config "$cnf" -batch -notext -in "$dir/ca/req.csr" \
		-out "$dir/$name.crt" "$@" 2>"$dir/ca/ca.err" || die "$name: $(cat "$dir/ca/ca.err")"
	rm -f "$dir/ca/req.csr" "$dir/ca/ca.err"
	got=$(san_of "$dir/$name.crt")
	[ "$got" = "$san" ] || { rm -f "$dir/$name.crt"; die "$name: claims '$got', not '$san'"; }
}

self_signed_ca "$dir/ca.key" "$dir/ca.crt" "jgw test CA"

for n in $nodes; do
	leaf "$n" "$n" "URI:urn:jgw:node:$n"
done

openssl genpkey -algorithm ed25519 -out "$dir/ed25519/131016.key"
leaf ed25519/131016 131016 URI:urn:jgw:node:131016
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/rsa/131024.key" 2>/dev/null
leaf rsa/131024 131024 URI:urn:jgw:node:131024
# The audit collector is named by a DNS name, which the gateways' mirror
# checks (audit collector { name ...; }): a gateway's certificate will not do.
leaf collector "jgw audit collector" DNS:collector.jgw.test

leaf bad/expired 131016 URI:urn:jgw:node:131016 -startdate 200101000000Z -enddate 210101000000Z
leaf bad/not-yet-valid 131016 URI:urn:jgw:node:131016 -startdate 400101000000Z -enddate 410101000000Z
leaf bad/revoked 131016 URI:urn:jgw:node:131016
leaf bad/two-uris 131016 "URI:urn:jgw:node:131016, URI:urn:jgw:node:131024"
leaf bad/no-uri 131016 DNS:jgw-gateway.invalid -extensions jgw_leaf_nouri
leaf bad/bad-code 131017 URI:urn:jgw:node:131017

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
