# Retention without loss: a 4 MiB tmpfs spool, a real rsyslog collector,
# and about three times as many bytes of records as the file system holds.
# Acknowledged files are pruned at the prune level (alarm 80 % - 10), so the
# disk alarm is never raised, nor the forecast alarm, and the limit never reached (admission stays
# true); nothing unacknowledged is pruned: the collector holds every record
# 1..LAST, and its copy verifies end to end with k0; the spool left verifies
# on its own from its first checkpoint, and its prune records say what went.
source tests/audit/lib.sh
need_pki
mkdir -p "$W/disk"
mount -t tmpfs -o size=4m jgw-audit-retain "$W/disk" 2>/dev/null || skip "cannot mount a tmpfs (needs root)"
MOUNTED=$W/disk
chain_init
port=$(pick_port)
collector_start "$port"
# 30,000 records of ~430 bytes (12.9 MB) at 2,500 a second.
# shellcheck disable=SC2046
"$WRITER" -d "$W/disk/spool" -k "$W/audit.key" -n 30000 -r 2500 -p 100 -R 262144 \
	-a 80 -l 95 -P 70 -s -w 30 $(mirror_args "$port") >"$W/writer.out" 2>"$W/writer.err" ||
	die "writer failed: $(cat "$W/writer.err")"
done_line=$(tail -1 "$W/writer.out"); echo "$done_line"
val() { echo "$done_line" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
[ "$(val lost)" = 0 ] && [ "$(val admit)" = 1 ] && [ "$(val full)" = 0 ] || die "want lost=0 admit=1 full=0"
grep '^state' "$W/writer.out" | tail -3
! grep -q '^state .* alarm=1 ' "$W/writer.out" || die "the disk alarm was raised: pruning did not keep up"
! grep -q '^state .* admit=0 ' "$W/writer.out" || die "admission stopped"
# A collector that keeps up leaves nothing to forecast.
! grep -q '^state .* forecast_alarm=1 ' "$W/writer.out" || die "a forecast alarm with the collector keeping up"
pruned=$(grep '^state' "$W/writer.out" | tail -1 | sed -n 's/.* pruned=\([0-9]*\).*/\1/p')
[ "${pruned:-0}" -gt 0 ] || die "nothing was pruned"
last=$(val last_seq)
[ "$last" -gt 30000 ] || die "last_seq $last"
# The spool holds only the tail now ...
first=$(ls "$W/disk/spool" | grep -m1 '^audit-' | sed 's/audit-0*\([0-9]*\)\.jsonl/\1/')
[ "$first" -gt 1 ] || die "the spool still starts at seq 1"
# ... which verifies on its own from its first checkpoint.
rc=0; "$CTL" verify --key "$W/k0.hex" "$W/disk/spool" >"$W/verify.out" || rc=$?
cat "$W/verify.out"
[ $rc = 0 ] || die "the spool left does not verify ($rc)"
grep -q "starts at the checkpoint of seq $first " "$W/verify.out" || die "not verified from its checkpoint"
# The prune records in it: every pruned seq was acknowledged before it went.
grep -h '"event":"prune"' "$W/disk/spool"/audit-*.jsonl | jq -e -s \
	'length > 0 and all(.[]; .last_seq <= .acked_seq and .reason == "disk")' >/dev/null ||
	die "a prune record names records past the acknowledged seq"
# Nothing unacknowledged was pruned: the collector holds every seq 1..last.
collector_wait "$last"
collector_check "$last"
echo "pruned $pruned files; the spool starts at seq $first"
