# The collector is authenticated by name, not only by its CA: an impostor
# presenting a valid certificate of the same CA under another name (a
# gateway's, 131024) is refused — nothing is sent to it, the records stay
# in the spool and the log says why — and everything is delivered once the
# real collector (its certificate names "localhost", the host the mirror
# dials) answers on the same port. Before that, a self-signed certificate
# that does name "localhost" is refused too: the name check comes on top of
# the chain check, not instead of it.
source tests/audit/lib.sh
need_pki
port=$(pick_port)
chain_init
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
	-subj "/CN=localhost" -addext "subjectAltName=DNS:localhost" \
	-keyout "$W/selfsigned.key" -out "$W/selfsigned.crt" 2>/dev/null || die "self-signed certificate"
refusals() { grep -c "refused the collector${1:-}" "$W/writer.err" || true; }
wait_refusals() { # N [PATTERN]
	for _ in $(seq 100); do
		[ "$(refusals "${2:-}")" -ge "$1" ] && return 0
		sleep 0.1
	done
	die "the impostor was not refused: $(cat "$W/writer.err")"
}

collector_start "$port" "$W/selfsigned"
"$WRITER" -d "$W/spool" -k "$W/audit.key" -n 1500 -r 500 -w 40 $(mirror_args "$port") \
	>"$W/writer.out" 2>"$W/writer.err" &
writer=$!
wait_refusals 1
grep -q "refused the collector at localhost port $port: certificate validation failed" "$W/writer.err" ||
	die "a self-signed collector certificate was not refused for its chain: $(grep refused "$W/writer.err")"
grep "refused the collector" "$W/writer.err" | head -1
collector_stop
[ -s "$W/collector.log" ] && die "the self-signed impostor received $(wc -l <"$W/collector.log") records"
rm -f "$W/collector.log"

collector_start "$port" "$PKI/131024"
wait_refusals 2 " at localhost port $port: its certificate does not name"
grep -q "refused the collector at localhost port $port: its certificate does not name \"localhost\"" \
	"$W/writer.err" || die "the refusal does not say why: $(grep refused "$W/writer.err" | head -1)"
grep -q "records stay in the spool" "$W/writer.err" || die "the refusal does not say the records are kept"
grep -q "connected to" "$W/writer.err" && die "the mirror connected to the impostor"
grep "refused the collector.*does not name" "$W/writer.err" | head -1
collector_stop
[ -s "$W/collector.log" ] && die "the impostor received $(wc -l <"$W/collector.log") records"
rm -f "$W/collector.log"
# Meanwhile the spool holds every committed record (the writer is running:
# the tail is not sealed yet).
"$CTL" verify --key "$W/k0.hex" "$W/spool" >"$W/verify-early.out" || [ $? -eq 3 ] ||
	die "the spool does not verify while the collector is refused: $(cat "$W/verify-early.out")"

collector_start "$port"
wait "$writer" || die "writer failed: $(cat "$W/writer.err")"
tail -1 "$W/writer.out"
grep -q "connected to localhost port $port (certificate names localhost)" "$W/writer.err" ||
	die "the mirror did not connect to the real collector"
last=$(sed -n 's/^done .*last_seq=\([0-9]*\).*/\1/p' "$W/writer.out")
[ "$last" -ge 1500 ] || die "writer committed only $last"
collector_wait $((last + 1))
collector_stop
collector_check $((last + 1))
"$CTL" verify --key "$W/k0.hex" "$W/spool"
