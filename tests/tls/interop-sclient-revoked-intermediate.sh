# A revoked intermediate CA refuses its whole branch: CRLs are checked for
# every certificate of the chain (CRL_CHECK_ALL), not only the leaf. A
# two-tier PKI made here (root → intermediate → 131016); the server trusts
# root and intermediate and has both CRLs. Before the root revokes the
# intermediate the client is echoed to; after, it is refused cert-revoked;
# and without the root's CRL every peer of the branch is refused
# crl-missing (fail closed: a CA of the chain without its CRL).
. tests/tls/lib.sh
D=$WORK/tier
mkdir -p "$D/root" "$D/inter"
# cnf CA: the openssl ca configuration of one of the two CAs.
cnf() {
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
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[inter_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
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
authorityKeyIdentifier = keyid:always
[req]
distinguished_name = dn
prompt = no
[dn]
EOC
}
cnf root
cnf inter
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key "$D/root.key"
openssl req -config "$D/root.cnf" -x509 -new -key "$D/root.key" -out "$D/root.crt" -days 30 \
	-subj "/O=jgw test/CN=jgw tier root" -extensions ca_ext -sha256 || fail "root CA"
key "$D/inter.key"
openssl req -config "$D/root.cnf" -new -key "$D/inter.key" -subj "/O=jgw test/CN=jgw tier inter" \
	-out "$D/inter.csr" || fail "intermediate request"
openssl ca -config "$D/root.cnf" -batch -notext -extensions inter_ext -in "$D/inter.csr" \
	-out "$D/inter.crt" 2>"$D/ca.err" || fail "intermediate: $(cat "$D/ca.err")"
key "$D/leaf.key"
openssl req -config "$D/inter.cnf" -new -key "$D/leaf.key" -subj "/O=jgw test/CN=131016" \
	-out "$D/leaf.csr" || fail "leaf request"
openssl ca -config "$D/inter.cnf" -batch -notext -extensions leaf_ext -in "$D/leaf.csr" \
	-out "$D/leaf.crt" 2>"$D/ca.err" || fail "leaf: $(cat "$D/ca.err")"
cat "$D/root.crt" "$D/inter.crt" >"$D/anchors.pem"
crl() { openssl ca -config "$D/$1.cnf" -gencrl -out "$D/$1-crl.pem" 2>"$D/ca.err" || fail "CRL $1: $(cat "$D/ca.err")"; }
crl root
crl inter
openssl verify -CAfile "$D/anchors.pem" -crl_check_all -CRLfile "$D/root-crl.pem" \
	-CRLfile "$D/inter-crl.pem" "$D/leaf.crt" >/dev/null || fail "the two-tier PKI does not verify"

# start_tier CRL...: a tls-echo trusting the two tiers, with these CRLs.
start_tier() {
	local args=()
	for c in "$@"; do args+=(-r "$D/$c-crl.pem"); done
	start_echo_as -a "$D/anchors.pem" "${args[@]}"
}
tier_client() { s_client - -cert "$D/leaf.crt" -key "$D/leaf.key" -cert_chain "$D/inter.crt"; }

start_tier root inter
out=$(tier_client)
echo "$out" | grep -qx "interop-probe" || fail "the valid two-tier client was not echoed: $out"
wait_log "^accept peer=131016 "

openssl ca -config "$D/root.cnf" -revoke "$D/inter.crt" -crl_reason cACompromise 2>/dev/null \
	|| fail "revoke the intermediate"
crl root
start_tier root inter
out=$(tier_client)
echo "$out" | grep -qx "interop-probe" && fail "a leaf of a revoked intermediate got an echo"
wait_log "^reject reason=cert-revoked$"

start_tier inter
out=$(tier_client)
echo "$out" | grep -qx "interop-probe" && fail "accepted without the root's CRL"
wait_log "^reject reason=crl-missing$"
