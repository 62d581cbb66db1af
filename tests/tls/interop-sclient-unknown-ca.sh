# A certificate from a CA the gateway does not trust is refused (unknown-ca),
# and the client is told with an alert.
. tests/tls/lib.sh
start_echo
out=$(s_client bad/unknown-ca)
echo "$out" | grep -q "alert unknown ca" || fail "client saw no unknown-ca alert: $out"
echo "$out" | grep -qx "interop-probe" && fail "refused client got an echo"
wait_log "^reject reason=unknown-ca$"
