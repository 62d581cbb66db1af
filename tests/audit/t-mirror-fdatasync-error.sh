# A disk that loses write-backs under traffic, with a collector: two
# fdatasync calls fail (EIO). Each time, the records written since the last
# commit are counted as lost (a stats record in the chain) and cut from the
# spool, and the chain goes on from the last committed record in a new
# file. The mirror, which reads ahead of the commit, never sends a cut
# record: the spool and the collector's copy both verify, every seq arrives
# once with one content.
source tests/audit/lib.sh
need_pki
port=$(pick_port)
collector_start "$port"
chain_init
JGW_FAIL_FDATASYNC=6,12 "$B/tests/audit-writer-faildisk" -d "$W/spool" -k "$W/audit.key" \
	-n 3000 -r 2000 -w 30 $(mirror_args "$port") >"$W/run.out" 2>"$W/run.err" \
	|| die "the writer failed: $(cat "$W/run.err")"
[ "$(grep -c 'fdatasync of the spool' "$W/run.err")" = 2 ] \
	|| die "want two fdatasync errors reported: $(cat "$W/run.err")"
files=$(ls "$W/spool" | grep -c '^audit-')
[ "$files" -ge 3 ] || die "want a new spool file after each error, have $files"
lost=$(grep -h '"source":"audit","lost":' "$W"/spool/audit-*.jsonl \
	| sed 's/.*"lost":\([0-9]*\),.*/\1/' | awk '{ s += $1 } END { print s + 0 }')
total=$(grep -h '"reason":"shutdown"' "$W"/spool/audit-*.jsonl | sed 's/.*"lost_total":\([0-9]*\),.*/\1/')
[ "$lost" -gt 0 ] && [ "$lost" = "$total" ] \
	|| die "losses in the chain ($lost) and in the shutdown seal (${total:-none}) differ"
rc=0; "$CTL" verify --key "$W/k0.hex" "$W/spool" >"$W/verify.out" || rc=$?
[ $rc = 3 ] && grep -q "($lost records reported lost by the gateway)" "$W/verify.out" ||
	{ cat "$W/verify.out"; die "the spool does not verify with its loss named (exit $rc)"; }
last=$(sed -n 's/^done .*last_seq=\([0-9]*\).*/\1/p' "$W/run.out")
echo "cut and counted: $lost records; last seq $last in $files files"
collector_wait $((last + 1))
collector_stop
collector_check $((last + 1))
