# A small tmpfs spool under the count-loss policy: the alarm is raised, at
# the limit records are dropped and counted, the loss is written into the
# chain (a stats record and the seal), and every attempted record is either
# in the spool or counted: nothing is lost silently.
source tests/audit/lib.sh
mkdir -p "$W/disk"
mount -t tmpfs -o size=1m jgw-audit-test "$W/disk" 2>/dev/null || skip "cannot mount a tmpfs (needs root)"
MOUNTED=$W/disk
chain_init
"$WRITER" -d "$W/disk/spool" -k "$W/audit.key" -n 3000 -p 400 -a 50 -l 80 -L \
	>"$W/writer.out" 2>"$W/writer.err" || die "writer failed: $(cat "$W/writer.err")"
done_line=$(tail -1 "$W/writer.out"); echo "$done_line"
val() { echo "$done_line" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
[ "$(val lost)" -gt 0 ] || die "nothing was lost on a full disk?"
[ "$(val alarm)" = 1 ] || die "no disk alarm"
[ "$(val admit)" = 1 ] || die "count-loss must keep admitting"
[ $(( $(val written) + $(val lost) )) = "$(val attempted)" ] || die "written + lost != attempted"
grep -q "spool disk .* (alarm at 50%)" "$W/writer.err" || die "alarm not logged"
cat "$W"/disk/spool/audit-*.jsonl >"$W/all.jsonl"
[ "$(grep -c '"event":"message"' "$W/all.jsonl")" = "$(val written)" ] || die "spool holds a different number of records"
grep -q '"disk_alarm":true' "$W/all.jsonl" || die "alarm not in the chain"
grep -q "\"lost\":$(val lost),\"lost_total\":$(val lost)" "$W/all.jsonl" || die "loss not reported in a stats record"
tail -1 "$W/all.jsonl" | grep -q "\"event\":\"seal\".*\"lost_total\":$(val lost)" || die "seal does not carry the loss"
# The chain is intact, and verify names the loss the gateway reported: a
# warning (exit 3) with the count, never "intact" alone.
rc=0; "$CTL" verify --key "$W/k0.hex" "$W/disk/spool" >"$W/verify.out" || rc=$?
cat "$W/verify.out"
[ $rc = 3 ] || die "verify exit $rc, want 3 (intact with the loss as a warning)"
grep -q "($(val lost) records reported lost by the gateway)" "$W/verify.out" || die "verify does not name the loss"
