# Identity rules against a third-party client: no client certificate, a
# certificate without the node URI, and a node the directory does not know.
. tests/tls/lib.sh
start_echo -P 000000,130001,131016
out=$(s_client -)
echo "$out" | grep -qx "interop-probe" && fail "client without a certificate got an echo"
wait_log "^reject reason=no-client-cert$"
out=$(s_client bad/no-uri)
echo "$out" | grep -qx "interop-probe" && fail "no-uri client got an echo"
wait_log "^reject reason=no-identity$"
out=$(s_client 131024)
echo "$out" | grep -qx "interop-probe" && fail "unknown peer got an echo"
wait_log "^reject reason=unknown-peer$"
out=$(s_client 131016)
echo "$out" | grep -qx "interop-probe" || fail "allowed peer got no echo: $out"
