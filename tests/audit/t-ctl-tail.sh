# jgwctl audit tail -f follows a spool across rotations and restarts: one
# readable line per record, none skipped, none doubled.
source tests/audit/lib.sh
chain_init
"$WRITER" -d "$W/spool" -k "$W/audit.key" -n 5 -R 4096 >"$W/writer1.out"
# The first run's shutdown seal, where tail -n 1 starts: seq 6, or later
# when the machine's disk is past the alarm level (a stats record then).
seal=$(( $(sed -n 's/^done .*last_seq=\([0-9]*\).*/\1/p' "$W/writer1.out") + 1 ))
"$CTL" tail -f -n 1 "$W/spool" >"$W/tail.out" &
tailer=$!
for _ in $(seq 1 50); do [ -s "$W/tail.out" ] && break; sleep 0.1; done
"$WRITER" -d "$W/spool" -k "$W/audit.key" -n 200 -R 4096 >"$W/writer.out"
last=$(sed -n 's/^done .*last_seq=\([0-9]*\).*/\1/p' "$W/writer.out")
want=$((last + 1 - seal + 1))   # that seal .. the new shutdown seal
for _ in $(seq 1 100); do
	[ "$(wc -l <"$W/tail.out")" -ge "$want" ] && break
	sleep 0.1
done
kill "$tailer"; wait "$tailer" 2>/dev/null || true
[ "$(ls "$W/spool" | grep -c '^audit-')" -gt 5 ] || die "the spool did not rotate"
[ "$(wc -l <"$W/tail.out")" = "$want" ] || die "tail printed $(wc -l <"$W/tail.out") lines, want $want"
awk '{ s = substr($2, 2); if (NR > 1 && s != p + 1) bad++; p = s } END { exit bad > 0 }' "$W/tail.out" \
	|| die "tail skipped or repeated records"
head -1 "$W/tail.out" | grep -q "^20[0-9-]*T[0-9:.]*Z #$seal seal .* reason=shutdown" || die "unexpected first line: $(head -1 "$W/tail.out")"
grep -q ' message .* verdict=allow$' "$W/tail.out" || die "message fields missing"

# A torn record at the end of the followed file (a crash during a write),
# then a restart that goes on in a new file: the tail shows the torn bytes
# as such before the new file's records, nothing read is dropped.
# reading_at PID FILE OFFSET: process PID has FILE open and has read it up
# to OFFSET (its descriptor's position, /proc/PID/fdinfo).
reading_at() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd")" = "$2" ] || continue
		awk -v o="$3" '$1 == "pos:" { exit !($2 == o) }' "/proc/$1/fdinfo/${fd##*/}" && return 0
	done
	return 1
}
"$CTL" tail -f -n 0 "$W/spool" >"$W/tail2.out" &
tailer=$!
newest=$(ls "$W"/spool/audit-*.jsonl | sort | tail -1)
# The tailer follows the newest file from its end, then reads the torn bytes.
wait_for 100 reading_at "$tailer" "$newest" "$(stat -c %s "$newest")" || die "tail -f does not follow $newest"
printf '{"ts":"2026-11-25T04:00:00.000000Z","seq":' >>"$newest"   # 42 bytes, no newline
wait_for 100 reading_at "$tailer" "$newest" "$(stat -c %s "$newest")" || die "tail -f did not read the torn bytes"
"$WRITER" -d "$W/spool" -k "$W/audit.key" -n 3 >"$W/writer2.out" 2>/dev/null
for _ in $(seq 1 50); do
	grep -q 'reason=shutdown' "$W/tail2.out" && break
	sleep 0.1
done
kill "$tailer"; wait "$tailer" 2>/dev/null || true
head -1 "$W/tail2.out" | grep -qx '(not a record: 42 bytes)' \
	|| die "the torn record was not shown before the new file: $(head -3 "$W/tail2.out")"
[ "$(grep -c ' message ' "$W/tail2.out")" = 3 ] || die "tail2: want 3 messages: $(cat "$W/tail2.out")"
# The torn bytes, the new file's checkpoint, 3 messages, the seal.
sed -n 2p "$W/tail2.out" | grep -q ' checkpoint .* prev_mac=[0-9a-f]\{64\} lost_total=0$' \
	|| die "tail2: the new file does not start with its checkpoint: $(cat "$W/tail2.out")"
[ "$(wc -l <"$W/tail2.out")" = 6 ] || die "tail2: want 6 lines: $(cat "$W/tail2.out")"
