# cert-wrong-prefecture — a municipality of another prefecture (271004,
# 大阪府) is not a peer of 東京都's gateway.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_cert_case 271004 "wrong-prefecture"
# And the directory itself cannot list it: `jgwctl check` refuses the file.
conf=$(ns_conf tokyo)
cp "$conf" "$NS_WORK/tokyo/bad.conf"
printf 'peer 271004 {\n\taddress 10.77.0.66;\n}\n' >>"$NS_WORK/tokyo/bad.conf"
mv "$NS_WORK/tokyo/bad.conf" "$(dirname "$conf")/bad.conf"
if out=$("$B/jgwctl" check "$(dirname "$conf")/bad.conf" 2>&1); then
	fail "jgwctl check accepts 271004 in 東京都's directory"
fi
grep -qi 'prefecture' <<<"$out" || fail "jgwctl check refused, but not for the prefecture: $out"
echo "jgwctl check: $(grep -i prefecture <<<"$out" | head -1)"
