# jgwctl audit tail -f follows a spool across rotations and restarts: one
# readable line per record, none skipped, none doubled.
source tests/audit/lib.sh
chain_init
"$WRITER" -d "$W/spool" -k "$W/audit.key" -n 5 -R 4096 >/dev/null
"$CTL" tail -f -n 1 "$W/spool" >"$W/tail.out" &
tailer=$!
for _ in $(seq 1 50); do [ -s "$W/tail.out" ] && break; sleep 0.1; done
"$WRITER" -d "$W/spool" -k "$W/audit.key" -n 200 -R 4096 >"$W/writer.out"
last=$(sed -n 's/^done .*last_seq=\([0-9]*\).*/\1/p' "$W/writer.out")
want=$((last + 1 - 6 + 1))   # seal 6 .. the new shutdown seal
for _ in $(seq 1 100); do
	[ "$(wc -l <"$W/tail.out")" -ge "$want" ] && break
	sleep 0.1
done
kill "$tailer"; wait "$tailer" 2>/dev/null || true
[ "$(ls "$W/spool" | grep -c '^audit-')" -gt 5 ] || die "the spool did not rotate"
[ "$(wc -l <"$W/tail.out")" = "$want" ] || die "tail printed $(wc -l <"$W/tail.out") lines, want $want"
awk '{ s = substr($2, 2); if (NR > 1 && s != p + 1) bad++; p = s } END { exit bad > 0 }' "$W/tail.out" \
	|| die "tail skipped or repeated records"
head -1 "$W/tail.out" | grep -q '^20[0-9-]*T[0-9:.]*Z #6 seal .* reason=shutdown' || die "unexpected first line: $(head -1 "$W/tail.out")"
grep -q ' message .* verdict=allow$' "$W/tail.out" || die "message fields missing"
