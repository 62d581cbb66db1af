# jgwctl audit verify streams: it reads the files one after the other, a
# line at a time, and keeps only the chain state and a bounded window for
# duplicates, so a spool of any size verifies in bounded memory. 200,000
# records (62 MB in four rotated files; the former verifier, which held
# every file and record in memory, peaked near 97 MiB on them) must verify
# under 64 MiB of peak RSS, and so must a collector's copy of them with
# 10,000 records delivered twice.
source tests/audit/lib.sh
[ -x /usr/bin/time ] || skip "/usr/bin/time is not installed (make deps)"
LIMIT_KIB=$((64 * 1024))
# Under AddressSanitizer (make check SAN=1) the peak RSS measures ASan's
# quarantine and shadow memory, not the verifier: the records are still
# verified, the bound is checked by the ordinary build only.
if ldd "$CTL" 2>/dev/null | grep -q libasan; then
	LIMIT_KIB=
	echo "sanitizer build: peak RSS is reported, not bounded"
fi
chain_init
"$WRITER" -d "$W/spool" -k "$W/audit.key" -n 200000 -R 16777216 >"$W/writer.out" \
	|| die "writer failed"
tail -1 "$W/writer.out"
files=$(ls "$W/spool"/audit-*.jsonl | wc -l)
[ "$files" -ge 3 ] || die "want a rotated spool, got $files file(s)"

# verify_rss WHAT PATH...: verify with k0 (must be intact and sealed) and
# check the peak RSS.
verify_rss() {
	local what=$1; shift
	/usr/bin/time -o "$W/time.out" -f '%M' "$CTL" verify --key "$W/k0.hex" "$@" >"$W/verify.out" \
		|| die "$what does not verify: $(cat "$W/verify.out")"
	local rss
	rss=$(tail -1 "$W/time.out")
	echo "$what: $(tail -1 "$W/verify.out") (peak RSS $rss KiB)"
	[ -z "$LIMIT_KIB" ] || [ "$rss" -lt "$LIMIT_KIB" ] || die "$what: peak RSS $rss KiB, limit $LIMIT_KIB KiB"
}
verify_rss "spool ($files files)" "$W/spool"
# 200,000 messages and the writer's own records (a checkpoint at the start
# of each file after the first; a forecast alarm when the run lasts long
# enough, as under a sanitizer), up to its last_seq, then the shutdown seal.
done_line=$(tail -1 "$W/writer.out")
grep -q ' written=200000 lost=0 ' <<<"$done_line" || die "the writer did not write every record: $done_line"
last=$(sed -n 's/.* last_seq=\([0-9]*\) .*/\1/p' <<<"$done_line")
[ "${last:-0}" -ge $((200000 + files - 1)) ] || die "last_seq ${last:-?} is short of 200,000 messages and $((files - 1)) checkpoints"
want=$((last + 1))
grep -q "^verify: $want records, seq 1..$want, " "$W/verify.out" || die "not every record verified"

# A collector's copy: one file, a syslog prefix on every line, and records
# 100001..110000 delivered again after 120000 (at-least-once).
cat "$W/spool"/audit-*.jsonl | awk '
	{ print "jgw message " $0 }
	NR >= 100001 && NR <= 110000 { dup[NR] = $0 }
	NR == 120000 { for (i = 100001; i <= 110000; i++) print "jgw message " dup[i] }
' >"$W/collector-copy.log"
verify_rss "collector copy" "$W/collector-copy.log"
grep -q ' 10000 duplicates skipped' "$W/verify.out" || die "the duplicates were not counted"
