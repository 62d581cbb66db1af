# The collector is away at the start and goes away again mid-traffic: the
# spool keeps everything, the mirror reconnects with backoff and resumes
# after the last acknowledged record; after dropping duplicates by seq,
# no record is missing or doubled.
source tests/audit/lib.sh
need_pki
port=$(pick_port)
chain_init
"$WRITER" -d "$W/spool" -k "$W/audit.key" -n 3000 -r 600 -w 40 $(mirror_args "$port") \
	>"$W/writer.out" 2>"$W/writer.err" &
writer=$!
# Records pile up in the spool, nobody listening; the mirror tries.
wait_for 200 committed_over "$W/writer.out" 300 || die "the writer did not commit 300 records"
wait_for 200 grep -q "localhost port $port" "$W/writer.err" || die "the mirror did not try the collector"
collector_start "$port"
# Connected, and it delivers what piled up.
wait_for 200 collector_has 300 || die "the collector did not get the records that piled up"
collector_stop     # away mid-traffic
# Records pile up again while it is away.
away=$(sed -n 's/^committed \([0-9]*\)$/\1/p' "$W/writer.out" | tail -1)
wait_for 200 committed_over "$W/writer.out" $((away + 300)) || die "the writer stopped while the collector was away"
collector_start "$port"
wait "$writer" || die "writer failed: $(cat "$W/writer.err")"
tail -1 "$W/writer.out"
grep -c "connected to" "$W/writer.err" | grep -qv '^[01]$' || die "the mirror did not reconnect"
last=$(sed -n 's/^done .*last_seq=\([0-9]*\).*/\1/p' "$W/writer.out")
[ "$last" -ge 3000 ] || die "writer committed only $last"
collector_wait $((last + 1))
collector_stop
collector_check $((last + 1))
"$CTL" verify --key "$W/k0.hex" "$W/spool"
