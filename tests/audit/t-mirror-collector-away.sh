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
sleep 1            # records pile up in the spool, nobody listening
collector_start "$port"
sleep 1.5
collector_stop     # away mid-traffic
sleep 2
collector_start "$port"
wait "$writer" || die "writer failed: $(cat "$W/writer.err")"
tail -1 "$W/writer.out"
grep -c "connected to" "$W/writer.err" | grep -qv '^[01]$' || die "the mirror did not reconnect"
last=$(sed -n 's/^done .*last_seq=\([0-9]*\).*/\1/p' "$W/writer.out")
[ "$last" -ge 3000 ] || die "writer committed only $last"
sleep 1
collector_stop
collector_check $((last + 1))
"$CTL" verify --key "$W/k0.hex" "$W/spool"
