# jgwctl audit archive and segments: a spool of several files is archived
# (sealed files only, a MANIFEST with each file's seqs and SHA-256, the
# spool's archive.done); of three consecutive archived segments the middle
# one is deleted: each one left verifies on its own with k0 (from its
# checkpoint), verify over both names the gap exactly, and a checkpoint
# with one digit of its prev_mac changed is refused. A second archive run
# copies only what is new.
source tests/audit/lib.sh
chain_init
"$WRITER" -d "$W/spool" -k "$W/audit.key" -n 2000 -R 65536 >"$W/writer.out" 2>"$W/writer.err" ||
	die "writer failed: $(cat "$W/writer.err")"
mapfile -t files < <(cd "$W/spool" && ls audit-*.jsonl)
[ "${#files[@]}" -ge 6 ] || die "want at least 6 spool files, have ${#files[@]}"
"$CTL" archive -o "$W/arch" "$W/spool" >"$W/archive.out" || die "archive failed"
tail -1 "$W/archive.out"
n=$(( ${#files[@]} - 1 ))   # the newest is not sealed
[ "$(ls "$W/arch" | grep -c '^audit-')" = "$n" ] || die "want $n archived files"
[ "$(wc -l <"$W/arch/MANIFEST")" = "$n" ] || die "MANIFEST lines"
[ ! -e "$W/arch/${files[$n]}" ] || die "the newest (unsealed) file was archived"
seq_of() { echo "$1" | sed 's/audit-0*\([0-9]*\)\.jsonl/\1/'; }
last_archived=$(( $(seq_of "${files[$n]}") - 1 ))
[ "$(cat "$W/spool/archive.done")" = "$last_archived" ] || die "archive.done is not $last_archived"
# The manifest's hashes are the files'.
while read -r name _ range _ bytes _ sha; do
	[ "$(sha256sum <"$W/arch/$name" | cut -d' ' -f1)" = "$sha" ] || die "$name: sha256 differs"
	[ "$(stat -c %s "$W/arch/$name")" = "$bytes" ] || die "$name: size differs"
	[ "${range%%..*}" = "$(seq_of "$name")" ] || die "$name: first seq $range"
done <"$W/arch/MANIFEST"
# Three segments: 2, 3, 4; the middle one deleted.
s2=$W/arch/${files[2]} s3=$W/arch/${files[3]} s4=$W/arch/${files[4]}
a=$(seq_of "${files[3]}"); b=$(( $(seq_of "${files[4]}") - 1 ))
rm "$s3"
for s in "$s2" "$s4"; do
	rc=0; "$CTL" verify --key "$W/k0.hex" "$s" >"$W/v.out" || rc=$?
	cat "$W/v.out"
	[ $rc = 3 ] || die "$s alone: status $rc (want 3: intact, tail not sealed)"
	grep -q "starts at the checkpoint of seq $(seq_of "$(basename "$s")") " "$W/v.out" || die "$s: not from its checkpoint"
done
rc=0; "$CTL" verify --key "$W/k0.hex" "$s2" "$s4" >"$W/v.out" || rc=$?
cat "$W/v.out"
[ $rc = 1 ] || die "a gap must fail the run (status $rc)"
grep -q "^$s4:1: seq $((b + 1)): removed: seq $a..$b missing before it" "$W/v.out" || die "the gap is not named"
grep -q "chain intact between 1 gaps ($((b - a + 1)) records missing)" "$W/v.out" || die "summary"
# A forged checkpoint: one digit of its prev_mac changed.
sed '1s/"prev_mac":"\(.\)/"prev_mac":"X\1/; 1s/"prev_mac":"X0/"prev_mac":"1/; 1s/"prev_mac":"X./"prev_mac":"0/' \
	"$s4" >"$W/forged.jsonl"
! cmp -s "$s4" "$W/forged.jsonl" || die "the forgery changed nothing"
rc=0; "$CTL" verify --key "$W/k0.hex" "$W/forged.jsonl" >"$W/v.out" || rc=$?
cat "$W/v.out"
[ $rc = 1 ] && grep -q "forged: a checkpoint whose mac does not verify" "$W/v.out" || die "forged checkpoint accepted"
# The archive again, after more records: only the new sealed files.
"$WRITER" -d "$W/spool" -k "$W/audit.key" -n 1000 -R 65536 >/dev/null 2>&1 || die "writer 2 failed"
"$CTL" archive -o "$W/arch2" "$W/spool" >"$W/archive2.out" || die "archive 2 failed"
tail -1 "$W/archive2.out"
first2=$(ls "$W/arch2" | grep -m1 '^audit-')
[ "$(seq_of "$first2")" = "$((last_archived + 1))" ] || die "the second archive starts at $first2"
"$CTL" verify --key "$W/k0.hex" "$W/arch2"/audit-*.jsonl >"$W/v.out" || [ $? = 3 ] || die "archive 2 does not verify"
tail -1 "$W/v.out"
