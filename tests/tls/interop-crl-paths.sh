# The two ways CRLs are applied refuse alike. Plain CRLs are verified once,
# when loaded, and a handshake only looks the chain up in them ("at-load");
# a CRL with anything else (here a critical extension) keeps OpenSSL's own
# path, which verifies it again at every handshake ("openssl"). Shown here:
#  - at-load takes a CRL only for certificates of the very key that signed
#    it: two CAs under one name, each with a leaf; only the CRL of one of
#    them loads (the other is refused as not signed by a trusted CA), and
#    the other CA's leaf is refused crl-missing, not let through by a CRL
#    its issuer never signed;
#  - a CRL whose thisUpdate is still to come does not count (crl-missing);
#  - a CA whose key usage leaves out cRLSign cannot vouch with its CRL
#    (cert-invalid, as OpenSSL has it);
#  - a CRL with a critical authorityKeyIdentifier takes OpenSSL's path,
#    which still refuses what it lists and lets the rest in.
. tests/tls/lib.sh
D=$WORK/twin
mkdir -p "$D"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
# ca NAME [CRL_EXTENSION_LINE [KEY_USAGE]]: a CA under the one subject the
# twins share.
ca() {
	mkdir -p "$D/$1"
	: >"$D/$1/index.txt"
	openssl rand -hex 16 >"$D/$1/serial"
	echo 1000 >"$D/$1/crlnumber"
	cat >"$D/$1.cnf" <<EOC
[ca]
default_ca = this
[this]
dir = $D/$1
database = $D/$1/index.txt
new_certs_dir = $D/$1
serial = $D/$1/serial
crlnumber = $D/$1/crlnumber
certificate = $D/$1.crt
private_key = $D/$1.key
default_md = sha256
default_days = 30
default_crl_days = 30
policy = any
unique_subject = no
copy_extensions = none
crl_extensions = crl_ext
[any]
commonName = supplied
organizationName = optional
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, ${3:-keyCertSign, cRLSign}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = URI:urn:jgw:node:131016
[crl_ext]
${2:-authorityKeyIdentifier = keyid:always}
[req]
distinguished_name = dn
prompt = no
[dn]
EOC
	key "$D/$1.key"
	openssl req -config "$D/$1.cnf" -x509 -new -key "$D/$1.key" -out "$D/$1.crt" -days 30 \
		-subj "/O=jgw test/CN=jgw twin CA" -extensions ca_ext -sha256 || fail "CA $1"
}
# leaf CA NAME: a certificate of 131016 from CA.
leaf() {
	key "$D/$2.key"
	openssl req -config "$D/$1.cnf" -new -key "$D/$2.key" -subj "/O=jgw test/CN=131016" \
		-out "$D/$2.csr" || fail "request $2"
	openssl ca -config "$D/$1.cnf" -batch -notext -extensions leaf_ext -in "$D/$2.csr" \
		-out "$D/$2.crt" 2>"$D/ca.err" || fail "leaf $2: $(cat "$D/ca.err")"
}
# crl CA [openssl ca options]: CA's CRL in $D/CA-crl.pem.
crl() {
	local c=$1; shift
	openssl ca -config "$D/$c.cnf" -gencrl -out "$D/$c-crl.pem" "$@" 2>"$D/ca.err" \
		|| fail "CRL $c: $(cat "$D/ca.err")"
}
client() { s_client - -cert "$D/$1.crt" -key "$D/$1.key"; }
echoed() { client "$1" | grep -qx "interop-probe"; }
loads() {
	"$ECHO" -c "$PKI/000000.crt" -k "$PKI/000000.key" -a "$D/anchors.pem" -r "$1" -n 0 \
		>/dev/null 2>&1
}

ca a
ca b
leaf a leaf-a
leaf b leaf-b
crl a
crl b
cat "$D/a.crt" "$D/b.crt" >"$D/anchors.pem"

# Only one of the twins' CRLs can load: the anchor looked up by the CRL's
# issuer name is one of the two.
if loads "$D/a-crl.pem"; then signed=a other=b; else signed=b other=a; fi
loads "$D/$other-crl.pem" && fail "both twins' CRLs loaded: the test cannot tell them apart"
start_echo_as -a "$D/anchors.pem" -r "$D/$signed-crl.pem"
wait_log "^crl-path at-load$"
echoed "leaf-$signed" || fail "the leaf of the CA whose CRL is loaded was not echoed"
wait_log "^accept peer=131016 "
echoed "leaf-$other" && fail "a CRL was taken for a CA key that never signed it"
wait_log "^reject reason=crl-missing$"

# A CRL not yet in force.
crl "$signed" -crl_lastupdate "$(date -u -d '+2 days' +%Y%m%d%H%M%SZ)" \
	-crl_nextupdate "$(date -u -d '+30 days' +%Y%m%d%H%M%SZ)"
start_echo_as -a "$D/anchors.pem" -r "$D/$signed-crl.pem"
wait_log "^crl-path at-load$"
echoed "leaf-$signed" && fail "a CRL whose thisUpdate is to come was taken"
wait_log "^reject reason=crl-missing$"

# A CA that may not sign CRLs.
ca d "" keyCertSign
leaf d leaf-d
crl d
start_echo_as -a "$D/d.crt" -r "$D/d-crl.pem"
wait_log "^crl-path at-load$"
echoed leaf-d && fail "a CRL counted from a CA without cRLSign"
wait_log "^reject reason=cert-invalid$"

# OpenSSL's path, for a CRL this code does not take: a critical AKID.
ca c "authorityKeyIdentifier = critical, keyid:always"
leaf c leaf-c
leaf c leaf-c2
openssl ca -config "$D/c.cnf" -revoke "$D/leaf-c2.crt" 2>/dev/null || fail "revoke leaf-c2"
crl c
start_echo_as -a "$D/c.crt" -r "$D/c-crl.pem"
wait_log "^crl-path openssl$"
echoed leaf-c || fail "OpenSSL's CRL path refused a leaf its CRL does not list"
wait_log "^accept peer=131016 "
out=$(client leaf-c2)
echo "$out" | grep -qx "interop-probe" && fail "OpenSSL's CRL path let a revoked leaf in"
wait_log "^reject reason=cert-revoked$"
