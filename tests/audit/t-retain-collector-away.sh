# The collector away: nothing may be pruned, however full the spool gets;
# the forecast (time until the disk limit at the recent rate of records that
# cannot be pruned) falls as the disk fills, and its alarm is raised long
# before the limit, while the disk alarm is not yet raised. Then the
# collector comes: every record reaches it, and only then are files pruned.
source tests/audit/lib.sh
need_pki
command -v jq >/dev/null || skip "jq is not installed (make deps)"
mkdir -p "$W/disk"
mount -t tmpfs -o size=4m jgw-audit-away "$W/disk" 2>/dev/null || skip "cannot mount a tmpfs (needs root)"
MOUNTED=$W/disk
chain_init
port=$(pick_port)   # nothing listens there yet
# ~2.5 MB at 400 records a second (about 6 s): 60 % of the disk. The
# forecast alarm is set below one hour (the default is 7 days).
# shellcheck disable=SC2046
"$WRITER" -d "$W/disk/spool" -k "$W/audit.key" -n 6000 -r 1000 -p 100 -R 262144 \
	-a 80 -l 95 -P 70 -F 3600 -s $(mirror_args "$port") >"$W/writer.out" 2>"$W/writer.err" ||
	die "writer failed: $(cat "$W/writer.err")"
grep '^state' "$W/writer.out" | head -3; grep '^state' "$W/writer.out" | tail -2
done_line=$(tail -1 "$W/writer.out"); echo "$done_line"
val() { echo "$done_line" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
[ "$(val lost)" = 0 ] || die "records lost"
! grep -q '^state .* pruned=[1-9]' "$W/writer.out" || die "files were pruned with no acknowledgement"
[ "$(ls "$W/disk/spool"/audit-*.jsonl | head -1 | xargs basename)" = audit-00000000000000000001.jsonl ] ||
	die "the first spool file is gone"
# The alarm: raised, and before the disk alarm or the limit.
alarm=$(grep -m1 '^state .* forecast_alarm=1 ' "$W/writer.out") || die "no forecast alarm"
echo "raised at: $alarm"
echo "$alarm" | grep -q ' alarm=0 full=0 admit=1 ' || die "the forecast alarm came only with the disk alarm"
grep -q "reaches its limit (95%) in about" "$W/writer.err" || die "the forecast alarm was not logged"
grep -h '"forecast_alarm":true' "$W/disk/spool"/audit-*.jsonl | jq -e '.forecast_s >= 0' >/dev/null ||
	die "no forecast alarm record in the chain"
# The forecast falls as the disk fills (first and last forecasts seen).
fc=$(sed -n 's/^state .* forecast_s=\([0-9][0-9]*\) .*/\1/p' "$W/writer.out")
f1=$(echo "$fc" | head -1); f2=$(echo "$fc" | tail -1)
echo "forecast: first $f1 s, last $f2 s"
[ -n "$f1" ] && [ "$f2" -lt "$f1" ] || die "the forecast did not fall ($f1 -> $f2)"
rc=0; "$CTL" verify --key "$W/k0.hex" "$W/disk/spool" || rc=$?
[ $rc = 0 ] || die "spool does not verify"

# The collector comes: everything is mirrored, then the disk (above the
# prune level of 70 % after more records) sheds acknowledged files.
collector_start "$port"
# shellcheck disable=SC2046
"$WRITER" -d "$W/disk/spool" -k "$W/audit.key" -n 3000 -r 1000 -p 100 -R 262144 \
	-a 80 -l 95 -P 70 -s -w 30 $(mirror_args "$port") >"$W/writer2.out" 2>"$W/writer2.err" ||
	die "writer 2 failed: $(cat "$W/writer2.err")"
done_line=$(tail -1 "$W/writer2.out"); echo "$done_line"
last=$(val last_seq)
collector_wait "$last"
collector_check "$last"
grep -q '^state .* pruned=[1-9]' "$W/writer2.out" || die "nothing pruned once acknowledged"
