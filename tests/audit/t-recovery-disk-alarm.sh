# A writer SIGKILLed and started again on a disk past its alarm level: the
# recovery seal closes the crashed epoch, and the disk notice (a stats
# record) comes after it in the new epoch, never between the seal and the
# next epoch; the spool verifies. (A disk alarm at 1 % is raised on any
# disk, as a fuller disk would raise the default one.)
source tests/audit/lib.sh
need_pki
chain_init
"$WRITER" -d "$W/spool" -k "$W/audit.key" -n 0 -r 2000 >"$W/run1.out" 2>"$W/run1.err" &
writer=$!
wait_for 200 committed_over "$W/run1.out" 100 || die "the first writer did not commit 100 records"
kill -9 "$writer"
wait "$writer" 2>/dev/null || true
"$WRITER" -d "$W/spool" -k "$W/audit.key" -n 20 -a 1 -l 100 >"$W/run2.out" 2>"$W/run2.err" ||
	die "restart failed: $(cat "$W/run2.err")"
grep -q "previous run ended without a seal" "$W/run2.err" || die "the crash was not reported"
grep -q "alarm at 1%" "$W/run2.err" || die "the disk alarm was not raised at the restart"
# The recovery seal is the last record of its epoch; the alarm is in the next.
seal=$(grep -h '"reason":"recovery"' "$W"/spool/audit-*.jsonl)
[ -n "$seal" ] || die "no recovery seal"
epoch=$(sed 's/.*"epoch":\([0-9]*\),.*/\1/' <<<"$seal")
after=$(grep -h -A1 '"reason":"recovery"' "$W"/spool/audit-*.jsonl | tail -1)
[ "$(sed 's/.*"epoch":\([0-9]*\),.*/\1/' <<<"$after")" = $((epoch + 1)) ] ||
	die "the record after the recovery seal is not in epoch $((epoch + 1)): $(cut -c1-120 <<<"$after")"
grep -h '"event":"stats"' "$W"/spool/audit-*.jsonl | grep -q "\"epoch\":$((epoch + 1)),.*\"disk_alarm\":true" ||
	die "no disk alarm record in epoch $((epoch + 1))"
"$CTL" verify --key "$W/k0.hex" "$W/spool" || die "the spool does not verify after the restart"
