# The collector as shipped (conf/collector/rsyslog-jgw-audit.conf) keeps the
# mirror in one file per gateway and UTC day. A writer whose clock (and only
# its wall clock: libfaketime) runs across a midnight ends its spool file at
# the day boundary and starts the next with a checkpoint; the collector's
# two day files each hold only their day's records, each verifies on its own
# with k0 (the second from its checkpoint), and the two in order verify as
# one chain with every seq. The collector comes up only once the writer has
# passed midnight: the records of both days then wait in the spool and go
# out in full messages, which must not mix the days (whether the boundary
# falls inside a message's reach is timing here; t-mirror-batch-days.sh
# makes it certain).
source tests/audit/lib.sh
need_pki
need_faketime
command -v jq >/dev/null || skip "jq is not installed (make deps)"
# The spool on a tmpfs of its own: retention looks at the spool's disk, and
# the machine's may be fuller than the prune level.
mkdir -p "$W/disk"
mount -t tmpfs -o size=16m jgw-audit-daily "$W/disk" 2>/dev/null || skip "cannot mount a tmpfs (needs root)"
MOUNTED=$W/disk
chain_init
port=$(pick_port)
now=$(date +%s)
midnight=$(( (now / 86400 + 1) * 86400 ))
d1=$(date -u -d "@$(( midnight - 1 ))" +%F); d2=$(date -u -d "@$midnight" +%F)
# shellcheck disable=SC2046
writer_at $(( midnight - 3 )) -d "$W/disk/spool" -k "$W/audit.key" -n 1200 -r 200 -w 30 \
	$(mirror_args "$port") >"$W/writer.out" 2>"$W/writer.err" &
writer=$!
two_files() { [ "$(ls "$W/disk/spool"/audit-*.jsonl 2>/dev/null | wc -l)" -ge 2 ]; }
wait_for 200 two_files || die "the writer did not pass midnight"
collector_start_daily "$port"
wait "$writer" || die "writer failed: $(cat "$W/writer.err")"
done_line=$(tail -1 "$W/writer.out"); echo "$done_line"
last=$(echo "$done_line" | sed -n 's/.* last_seq=\([0-9]*\).*/\1/p')
last=$((last + 1))   # and the shutdown seal
# The spool: a file per day, the second starting with its checkpoint.
mapfile -t files < <(ls "$W/disk/spool"/audit-*.jsonl)
[ "${#files[@]}" = 2 ] || die "want 2 spool files (one per day), have ${#files[@]}"
head -1 "${files[1]}" | jq -e --arg d "$d2" '.event == "checkpoint" and (.ts | startswith($d))' >/dev/null ||
	die "the second day's file does not start with its checkpoint"
f1=$W/days/131016/${d1:0:4}/$d1.jsonl f2=$W/days/131016/${d2:0:4}/$d2.jsonl
seqs() { cat "$f1" "$f2" 2>/dev/null | sed -n 's/.*"seq":\([0-9]*\),.*/\1/p' | sort -nu | wc -l; }
wait_for 200 test "$(seqs)" -ge "$last" || die "the day files hold $(seqs) of $last seqs"
ls -l "$W/days/131016"/*/
for f in "$f1" "$f2"; do
	d=$(basename "$f" .jsonl)
	jq -e -s --arg d "$d" 'all(.[]; .ts | startswith($d))' "$f" >/dev/null || die "$f holds another day's record"
done
head -1 "$f2" | jq -e '.event == "checkpoint"' >/dev/null || die "$f2 does not start with a checkpoint"
rc=0; "$CTL" verify --key "$W/k0.hex" "$f1" >"$W/v1.out" || rc=$?; cat "$W/v1.out"
[ $rc = 3 ] || die "$f1 alone: status $rc (want 3: the day ends unsealed)"
rc=0; "$CTL" verify --key "$W/k0.hex" "$f2" >"$W/v2.out" || rc=$?; cat "$W/v2.out"
[ $rc = 0 ] || die "$f2 alone: status $rc"
grep -q "starts at the checkpoint of seq $(head -1 "$f2" | jq .seq) " "$W/v2.out" || die "$f2: not from its checkpoint"
rc=0; "$CTL" verify --key "$W/k0.hex" "$f1" "$f2" >"$W/v.out" || rc=$?; cat "$W/v.out"
[ $rc = 0 ] && grep -q "seq 1\.\.$last," "$W/v.out" || die "the two days do not verify as one chain"
