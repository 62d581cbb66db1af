# A small tmpfs spool under the default fail-closed policy: at the limit
# audit_admit() turns false (the daemon refuses new tunnels); the records
# of what is still running go into the reserve, nothing is lost and the
# spool is sealed. Then a writer that ignores admission fills the disk:
# every record it cannot write is counted, none silently dropped.
source tests/audit/lib.sh
mkdir -p "$W/disk"
mount -t tmpfs -o size=1m jgw-audit-test "$W/disk" 2>/dev/null || skip "cannot mount a tmpfs (needs root)"
MOUNTED=$W/disk
chain_init
"$WRITER" -d "$W/disk/spool" -k "$W/audit.key" -n 5000 -p 400 -a 50 -l 80 -S 50 \
	>"$W/writer.out" 2>"$W/writer.err" || die "writer failed: $(cat "$W/writer.err")"
done_line=$(tail -1 "$W/writer.out"); echo "$done_line"
val() { echo "$done_line" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
grep -q "^admit false at" "$W/writer.out" || die "admission never stopped"
[ "$(val admit)" = 0 ] && [ "$(val full)" = 1 ] && [ "$(val alarm)" = 1 ] || die "want admit=0 full=1 alarm=1"
[ "$(val lost)" = 0 ] || die "records lost under fail-closed with reserve left"
[ "$(val attempted)" -lt 5000 ] || die "the writer did not stop"
grep -q "refusing new tunnels" "$W/writer.err" || die "limit not logged"
"$CTL" verify --key "$W/k0.hex" "$W/disk/spool" >"$W/verify1.out" || die "spool does not verify"
cat "$W/verify1.out"
before=$(sed -n 's/.*seq 1\.\.\([0-9]*\),.*/\1/p' "$W/verify1.out")

# Ignoring admission until ENOSPC: under fail-closed the records the disk
# refuses wait in memory (the daemon forwards nothing behind them) up to
# the hold of 1 MiB; beyond it every record is counted as lost, and logged.
"$WRITER" -d "$W/disk/spool" -k "$W/audit.key" -n 6000 -p 400 -a 50 -l 80 \
	>"$W/writer2.out" 2>"$W/writer2.err" || die "writer 2 failed: $(cat "$W/writer2.err")"
done_line=$(tail -1 "$W/writer2.out"); echo "$done_line"
[ "$(val lost)" -gt 0 ] || die "a full disk lost nothing?"
[ $(( $(val written) + $(val lost) )) = "$(val attempted)" ] || die "written + lost != attempted"
grep -q "records wait in memory, frames are not forwarded" "$W/writer2.err" ||
	die "the held records were not logged"
# Held past the durable seq when the writer stopped: about 1 MiB of records.
held=$(( before + $(val written) - $(val last_seq) )); echo "held in memory: $held records"
[ "$held" -gt 1000 ] || die "records were not held in memory"
# What was written still verifies; the tail cannot be sealed on a full disk.
rc=0; "$CTL" verify --key "$W/k0.hex" "$W/disk/spool" || rc=$?
[ $rc = 0 ] || [ $rc = 3 ] || die "spool does not verify"
