#!/usr/bin/env bash
# t-check-messages.sh — `jgwctl check` (and `jgwd -n`, the same function)
# judges what a start and the running daemon would judge, one message per
# mistake, with where it is (file:line:col) and what to do. Each case
# changes one thing in the 千代田区 example and names the message it must
# give: refused (exit 1) with exactly one error, or accepted (exit 0) with
# exactly one warning.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${B:-$top/build}" 2>/dev/null && pwd) || B=$top/build
JGWCTL=$B/jgwctl JGWD=$B/jgwd
fail() { echo "FAIL: $*"; exit 1; }
[ -x "$JGWCTL" ] && [ -x "$JGWD" ] || fail "$B/jgwctl or $B/jgwd is not built"

W=$(mktemp -d /tmp/jgw-check.XXXXXX)
trap 'rm -rf "$W"' EXIT
cp -R "$top/conf" "$W/conf"
sh "$top/conf/mkpki.sh" "$W/conf/pki" >"$W/mkpki.log" 2>&1 || { cat "$W/mkpki.log"; fail "conf/mkpki.sh"; }
mkdir -p "$W/lib"
sed -i "s|/var/lib/jgw|$W/lib|g; s|/run/jgw|$W/run|g" "$W/conf/common/system.conf"
"$JGWCTL" audit init -o "$W/k0" -k "$W/lib/audit.key" >/dev/null 2>&1 || fail "jgwctl audit init"
base=$W/conf/chiyoda-131016.conf
cases=0

# variant NAME SED-EXPR [FILE]: a copy of the example (or of FILE under
# conf/) with one change; prints the path of the top file to check.
variant() {
	local name=$1 expr=$2 file=${3:-chiyoda-131016.conf} d=$W/case-$1
	rm -rf "$d"
	cp -R "$W/conf" "$d"
	cp "$d/$file" "$d/$file.orig"
	sed -i -e "$expr" "$d/$file"
	cmp -s "$d/$file" "$d/$file.orig" && fail "case $name: '$expr' changed nothing"
	echo "$d/chiyoda-131016.conf"
}

# expect FILE refused|accepted PATTERN: one message (error when refused,
# warning when accepted) matching PATTERN (grep -E), and the same verdict
# and message from jgwd -n.
expect() {
	local f=$1 want=$2 pat=$3 out rc n_err n_warn
	cases=$((cases + 1))
	out=$("$JGWCTL" check "$f" 2>&1); rc=$?
	n_err=$(grep -c ':[0-9]*:[0-9]*: ' <<<"$out" | tr -d ' ')
	n_warn=$(grep -c ': warning: ' <<<"$out")
	n_err=$((n_err - n_warn))
	case $want in
	refused) [ $rc = 1 ] && [ "$n_err" = 1 ] || { echo "$out"; fail "$(basename "$(dirname "$f")"): want one error and exit 1 (exit $rc, $n_err errors)"; };;
	accepted) [ $rc = 0 ] && [ "$n_warn" = 1 ] && [ "$n_err" = 0 ] || { echo "$out"; fail "$(basename "$(dirname "$f")"): want exit 0 and one warning (exit $rc, $n_err errors, $n_warn warnings)"; };;
	esac
	grep -Eq "$pat" <<<"$out" || { echo "$out"; fail "$(basename "$(dirname "$f")"): no message matching /$pat/"; }
	echo "$(basename "$(dirname "$f")"): $(grep -E "$pat" <<<"$out" | head -1 | sed "s|$W/||g")"
	local nout
	nout=$("$JGWD" -n -c "$f" 2>&1); [ $? = $rc ] || fail "jgwd -n gives another verdict for $f"
	grep -Eq "$pat" <<<"$nout" || fail "jgwd -n gives another message for $f"
}

# The example itself: accepted, no warning at all.
out=$("$JGWCTL" check "$base" 2>&1) || { echo "$out"; fail "the example is refused"; }
grep -q ' 0 warnings, ' <<<"$out" || { echo "$out"; fail "the example has warnings"; }

# The own certificate as every peer would judge it.
for bad in expired not-yet-valid revoked unknown-ca; do
	f=$(variant "own-$bad" "s|pki/131016.crt|pki/bad/$bad.crt|; s|pki/131016.key|pki/bad/$bad.key|")
	case $bad in
	expired) pat='expired.crt.*refused by every peer \(cert-expired\): it has expired';;
	not-yet-valid) pat='refused by every peer \(cert-not-yet-valid\): it is not valid yet';;
	revoked) pat='refused by every peer \(cert-revoked\): a configured CRL revokes it';;
	unknown-ca) pat='refused by every peer \(unknown-ca\): it was not issued by the configured tls ca';;
	esac
	expect "$f" refused "chiyoda-131016.conf:[0-9]+:[0-9]+: tls certificate .*$pat"
done
# A stale CRL under fail-closed refuses every peer; under fail-open, a warning.
f=$(variant crl-stale 's|pki/crl.pem|pki/bad/crl-stale.pem|')
expect "$f" refused 'crl-policy fail-closed every peer would be refused; install the CA.s current CRL'
f=$(variant crl-stale-open 's|pki/crl.pem|pki/bad/crl-stale.pem|; s|crl-policy fail-closed;|crl-policy fail-open;|')
expect "$f" accepted 'warning: a CRL went stale .* ago; crl-policy fail-open uses it anyway'
# No audit key: say what to run.
f=$(variant no-audit-key "s|$W/lib/audit.key|$W/lib/none.key|" common/system.conf)
expect "$f" refused "audit key '.*none.key' does not exist: make it once with .jgwctl audit init"
# A private key anyone can read.
f=$(variant key-mode 's|#user "jgw";|#user "jgw";|; s|pki/131016.key|pki/readable.key|')
cp "$W/conf/pki/131016.key" "$(dirname "$f")/pki/readable.key" 2>/dev/null ||
	{ rm -f "$(dirname "$f")/pki"; cp -R "$W/conf/pki" "$(dirname "$f")/pki"; cp "$W/conf/pki/131016.key" "$(dirname "$f")/pki/readable.key"; }
chmod 0644 "$(dirname "$f")/pki/readable.key"
expect "$f" refused "tls key '.*readable.key' can be read by every account \(mode 0644\): chmod 600"
# An account that does not exist here.
f=$(variant no-user 's|^#user "jgw";|user "jgw-no-such-user";|' common/system.conf)
expect "$f" refused "user 'jgw-no-such-user': no such user on this system \(create it: adduser"
# Suspicious, accepted, warned.
f=$(variant shared-address 's|address 10.77.0.24;                # port 7443 when not given|address 10.77.0.13;|')
expect "$f" accepted 'warning: peer 131024 has the address 10.77.0.13 of peer 130001'
f=$(variant lan-overlap 's|^\t10.16.0.10;|\t10.16.0.10;\n\t10.16.0.0/28;|')
expect "$f" accepted 'warning: lan-allow 10.16.0.0/28 overlaps 10.16.0.10'
f=$(variant lan-servers 's|^\t10.16.0.10;|\t10.16.0.11;|')
grep -c 'server ' "$f" >/dev/null
cases=$((cases + 1))
out=$("$JGWCTL" check "$f" 2>&1) || { echo "$out"; fail "lan-servers refused"; }
[ "$(grep -c 'which no lan-allow entry holds' <<<"$out")" = 2 ] || { echo "$out"; fail "lan-servers: want a warning for each of the two servers"; }
echo "lan-servers: $(grep -m1 'which no lan-allow' <<<"$out" | sed "s|$W/||g")"
# Syntax: one message per mistake, with a hint where there is one.
f=$(variant missing-semicolon 's|^site 131016;|site 131016|')
expect "$f" refused "chiyoda-131016.conf:9:1: unexpected 'include', expecting ';'"
f=$(variant misspelt 's|^\taddress 10.77.0.13 port 7443;|\tadress 10.77.0.13 port 7443;|')
expect "$f" refused "unknown keyword 'adress' \(did you mean 'address'\?\)"
f=$(variant missing-brace 's|^tls {|tls|')
expect "$f" refused "unexpected 'certificate', expecting '\{'"
f=$(variant full-width-quotes 's|certificate "pki/131016.crt";|certificate “pki/131016.crt”;|')
expect "$f" refused 'unexpected non-ASCII text .* outside quotes'
echo "check messages: $cases cases, one message each"
