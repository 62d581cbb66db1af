#!/usr/bin/env bash
# t-mkpki.sh — conf/mkpki.sh, the test and demo PKI: `issue CODE DIR` gives
# a leaf for a new node code from DIR's own CA (a copy of a PKI included),
# whose only subjectAltName is urn:jgw:node:CODE and which verifies against
# the CA; an invalid code, a code issued already and an unknown option are
# refused; the CA configuration has no default subjectAltName (issuing
# without SAN fails, where it used to claim 000000); a certificate that does
# not claim its code is not kept; --help is a real usage text.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
mkpki=$top/conf/mkpki.sh
fail() { echo "FAIL: $*"; exit 1; }
command -v openssl >/dev/null || fail "openssl is not installed (make deps)"

W=$(mktemp -d /tmp/jgw-mkpki.XXXXXX)
trap 'rm -rf "$W"' EXIT

sh "$mkpki" "$W/pki" >"$W/make.log" 2>&1 || { cat "$W/make.log"; fail "mkpki.sh DIR"; }
cp -a "$W/pki" "$W/copy"
index_before=$(cat "$W/pki/ca/index.txt")

# run NAME ARGS...: mkpki.sh ARGS, its exit status in rc, output in NAME.out/.err.
run() {
	local name=$1; shift
	sh "$mkpki" "$@" >"$W/$name.out" 2>"$W/$name.err"
	rc=$?
}

# A new node code into the copy: its own CA database, not the original's.
run issue issue 400009 "$W/copy"
[ "$rc" = 0 ] || fail "issue 400009: exit $rc: $(cat "$W/issue.err")"
[ -f "$W/copy/400009.crt" ] && [ -f "$W/copy/400009.key" ] || fail "issue 400009 made no 400009.crt/.key"
san=$(openssl x509 -in "$W/copy/400009.crt" -noout -ext subjectAltName | tail -n +2 | sed 's/^ *//')
[ "$san" = "URI:urn:jgw:node:400009" ] || fail "400009.crt's subjectAltName is '$san'"
cn=$(openssl x509 -in "$W/copy/400009.crt" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= //p')
[ "$cn" = 400009 ] || fail "400009.crt's CN is '$cn'"
openssl verify -CAfile "$W/copy/ca.crt" "$W/copy/400009.crt" >"$W/verify.log" 2>&1 ||
	fail "openssl verify: $(cat "$W/verify.log")"
openssl pkey -in "$W/copy/400009.key" -pubout 2>/dev/null | cmp -s - <(openssl x509 -in "$W/copy/400009.crt" -noout -pubkey) ||
	fail "400009.key is not the key of 400009.crt"
[ "$(stat -c %a "$W/copy/400009.key")" = 600 ] || fail "400009.key is mode $(stat -c %a "$W/copy/400009.key")"
grep -q '/CN=400009$' "$W/copy/ca/index.txt" || fail "the copy's CA database does not list 400009"
[ "$(cat "$W/pki/ca/index.txt")" = "$index_before" ] || fail "issuing into the copy changed the original's CA database"
[ ! -e "$W/pki/400009.crt" ] || fail "issuing into the copy wrote into the original"

# Refusals, each with its reason and nothing left behind.
run twice issue 400009 "$W/copy"
[ "$rc" = 1 ] || fail "issuing 400009 twice: exit $rc"
grep -q 'already issued' "$W/twice.err" || fail "issuing twice says: $(cat "$W/twice.err")"
rm "$W/copy/400009.crt" "$W/copy/400009.key"
run again issue 400009 "$W/copy"
[ "$rc" = 1 ] || fail "400009 again once its files were removed: exit $rc (the CA still lists it valid)"
grep -q 'already issued by this CA' "$W/again.err" || fail "issuing again says: $(cat "$W/again.err")"

run digit issue 400008 "$W/copy"
[ "$rc" = 1 ] || fail "issue 400008 (check digit should be 9): exit $rc"
grep -q '400008 is not a valid node code: wrong check digit' "$W/digit.err" ||
	fail "a bad check digit says: $(cat "$W/digit.err")"
[ ! -e "$W/copy/400008.crt" ] && [ ! -e "$W/copy/400008.key" ] || fail "a file was left for 400008"
run pref issue 480001 "$W/copy"
[ "$rc" = 1 ] && grep -q 'not a valid node code' "$W/pref.err" || fail "issue 480001 (no prefecture 48): exit $rc"
run short issue 13101 "$W/copy"
[ "$rc" = 1 ] && grep -q 'not a valid node code' "$W/short.err" || fail "issue 13101: exit $rc"
run existing issue 131016 "$W/copy"
[ "$rc" = 1 ] && grep -q 'already issued' "$W/existing.err" || fail "issue 131016 (made with the PKI): exit $rc"
run nopki issue 401307 "$W"
[ "$rc" = 1 ] && grep -q 'no complete PKI' "$W/nopki.err" || fail "issue into a directory without a PKI: exit $rc"

# The CA configuration has no default subjectAltName: issuing by hand
# without SAN fails; -gencrl still loads the file.
grep -q '^SAN = URI' "$W/copy/ca/openssl.cnf" && fail "openssl.cnf has a default SAN"
openssl req -config "$W/copy/ca/openssl.cnf" -new -key "$W/copy/131016.key" -subj "/O=jgw test/CN=401307" \
	-out "$W/hand.csr" 2>/dev/null || fail "openssl req with the CA's openssl.cnf"
if (unset SAN; JGW_PKI_DIR=$W/copy openssl ca -config "$W/copy/ca/openssl.cnf" -batch -notext \
	-in "$W/hand.csr" -out "$W/hand.crt") >/dev/null 2>&1; then
	fail "openssl ca issued without SAN: $(openssl x509 -in "$W/hand.crt" -noout -ext subjectAltName | tail -1)"
fi
JGW_PKI_DIR=$W/copy openssl ca -config "$W/copy/ca/openssl.cnf" -gencrl -out "$W/crl.pem" >/dev/null 2>&1 ||
	fail "openssl ca -gencrl without SAN"

# A CA configuration that claims another node (as the old default did) is
# caught before the certificate is kept, and its database entry revoked.
sed -i 's|^subjectAltName = \${ENV::SAN}$|subjectAltName = URI:urn:jgw:node:000000|' "$W/copy/ca/openssl.cnf"
grep -q '^subjectAltName = URI:urn:jgw:node:000000$' "$W/copy/ca/openssl.cnf" || fail "could not tamper openssl.cnf"
run claims issue 401307 "$W/copy"
[ "$rc" = 1 ] || fail "a certificate for 401307 claiming 000000 was kept (exit $rc)"
grep -q "claims 'URI:urn:jgw:node:000000'" "$W/claims.err" || fail "the wrong claim says: $(cat "$W/claims.err")"
[ ! -e "$W/copy/401307.crt" ] && [ ! -e "$W/copy/401307.key" ] || fail "a file was left for 401307"
grep -q '^R.*/CN=401307$' "$W/copy/ca/index.txt" || fail "the CA database does not list 401307 as revoked"

# Usage: --help and -h print it and succeed; an unknown option is a usage error.
run help --help
[ "$rc" = 0 ] || fail "--help: exit $rc"
grep -q '^usage: mkpki.sh' "$W/help.out" && grep -q 'issue CODE' "$W/help.out" || fail "--help prints: $(cat "$W/help.out")"
run h -h
[ "$rc" = 0 ] && cmp -s "$W/h.out" "$W/help.out" || fail "-h: exit $rc"
run unknown --no-such-option "$W/x"
[ "$rc" = 2 ] || fail "an unknown option: exit $rc"
grep -q 'unknown option: --no-such-option' "$W/unknown.err" && grep -q '^usage:' "$W/unknown.err" ||
	fail "an unknown option says: $(cat "$W/unknown.err")"
[ ! -e "$W/x" ] || fail "an unknown option made $W/x"
run none
[ "$rc" = 2 ] || fail "no argument: exit $rc"

# Idempotent for its callers: a complete DIR is left as it is.
sum=$(cat "$W/pki"/*.crt | sha256sum)
sh "$mkpki" "$W/pki" >/dev/null 2>&1 || fail "mkpki.sh on a complete DIR"
[ "$(cat "$W/pki"/*.crt | sha256sum)" = "$sum" ] || fail "mkpki.sh remade a complete DIR"
echo "issue 400009: its own URI, verifies; bad codes, reissues, SAN-less and wrong claims refused; usage"
