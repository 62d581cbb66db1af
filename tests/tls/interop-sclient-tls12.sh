# A TLS 1.2 client is refused by default (protocol-version) and accepted only
# when TLS 1.2 is allowed.
. tests/tls/lib.sh
start_echo
out=$(s_client 131016 -tls1_2)
echo "$out" | grep -q "alert protocol version" || fail "no protocol_version alert: $out"
echo "$out" | grep -qx "interop-probe" && fail "TLS 1.2 client got an echo"
wait_log "^reject reason=protocol-version$"
start_echo -2
out=$(s_client 131016 -tls1_2)
echo "$out" | grep -qx "interop-probe" || fail "no echo over TLS 1.2: $out"
wait_log "^accept peer=131016 version=TLSv1.2 "
