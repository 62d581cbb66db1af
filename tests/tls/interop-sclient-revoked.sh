# A certificate listed in the CRL is refused (cert-revoked); an expired one
# (cert-expired) too.
. tests/tls/lib.sh
start_echo
out=$(s_client bad/revoked)
echo "$out" | grep -q "alert certificate revoked" || fail "no revoked alert: $out"
echo "$out" | grep -qx "interop-probe" && fail "revoked client got an echo"
wait_log "^reject reason=cert-revoked$"
out=$(s_client bad/expired)
echo "$out" | grep -qx "interop-probe" && fail "expired client got an echo"
wait_log "^reject reason=cert-expired$"
