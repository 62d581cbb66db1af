# openssl s_client with a valid certificate is accepted, echoed to, and its
# session ticket resumes on the next connection.
. tests/tls/lib.sh
start_echo
out=$(s_client 131016 -sess_out "$WORK/sess.pem")
echo "$out" | grep -qx "interop-probe" || fail "no echo: $out"
wait_log "^accept peer=131016 version=TLSv1.3 .* resumed=0"
out=$(s_client 131016 -sess_in "$WORK/sess.pem")
echo "$out" | grep -qx "interop-probe" || fail "no echo on resumption: $out"
wait_log "^accept peer=131016 version=TLSv1.3 .* resumed=1"
# The Ed25519 certificate works with a third-party client too.
out=$(s_client ed25519/131016)
echo "$out" | grep -qx "interop-probe" || fail "no echo with Ed25519: $out"
[ "$(grep -c '^accept peer=131016' "$LOG")" -eq 3 ] || fail "expected 3 accepts"
