# A writer SIGKILLed mid-traffic and started again: nothing it reported as
# committed is lost, seq and chain continue (a recovery seal closes the
# interrupted epoch), the spool verifies, and the collector still receives
# every record once the new writer runs.
source tests/audit/lib.sh
need_pki
port=$(pick_port)
collector_start "$port"
chain_init
"$WRITER" -d "$W/spool" -k "$W/audit.key" -n 0 -r 2000 $(mirror_args "$port") \
	>"$W/run1.out" 2>"$W/run1.err" &
writer=$!
# Killed mid-traffic, once it has committed a good number of records.
wait_for 200 committed_over "$W/run1.out" 300 || die "the first writer did not commit 300 records"
kill -9 "$writer"
wait "$writer" 2>/dev/null || true
committed=$(sed -n 's/^committed \([0-9]*\)$/\1/p' "$W/run1.out" | tail -1)
[ -n "$committed" ] && [ "$committed" -gt 100 ] || die "the first writer committed too little (${committed:-none})"
echo "killed after committed seq $committed"
"$CTL" verify --key "$W/k0.hex" "$W/spool" >"$W/verify1.out" && die "an unsealed spool verified as sealed"
grep -q "tail not sealed" "$W/verify1.out" || die "the cut tail was not reported"

"$WRITER" -d "$W/spool" -k "$W/audit.key" -n 500 -w 30 $(mirror_args "$port") \
	>"$W/run2.out" 2>"$W/run2.err" || die "restart failed: $(cat "$W/run2.err")"
grep -q "previous run ended without a seal" "$W/run2.err" || die "the crash was not reported"
recovery=$(grep -h '"reason":"recovery"' "$W"/spool/audit-*.jsonl | sed 's/.*"seq":\([0-9]*\),.*/\1/')
[ -n "$recovery" ] && [ "$recovery" -gt "$committed" ] \
	|| die "recovery seal at seq ${recovery:-none}, but seq $committed had been committed"
"$CTL" verify --key "$W/k0.hex" "$W/spool" || die "the spool does not verify after the restart"
last=$(sed -n 's/^done .*last_seq=\([0-9]*\).*/\1/p' "$W/run2.out")
[ "$last" -ge $((recovery + 500)) ] || die "seq did not continue: $last"
collector_wait $((last + 1))
collector_stop
collector_check $((last + 1))
