# A collector that stops answering with messages in flight, then dies: what
# it never acknowledged must be sent again. The mirror counts a record as
# acknowledged only a window (16 messages) after the message that carried it,
# so the records in the messages the stalled collector never read are resent
# to the next collector; after dropping duplicates, none is missing. (The
# collector writes each message before acknowledging it, so a SIGKILL loses
# nothing it acknowledged: the test is about the mirror, not rsyslog's queue.)
source tests/audit/lib.sh
need_pki
port=$(pick_port)
COLLECTOR_DIRECT=1 collector_start "$port"
chain_init
"$WRITER" -d "$W/spool" -k "$W/audit.key" -n 4000 -r 1000 -w 60 $(mirror_args "$port") \
	>"$W/writer.out" 2>"$W/writer.err" &
writer=$!
wait_for 200 collector_has 500 || die "the collector did not get the first 500 records"
kill -STOP "$COLLECTOR_PID"
# A second and a half at 1000 records/s: more than the window's 512 records
# are sent or waiting, and the acknowledged seq has been saved meanwhile.
sleep 1.5
stalled=$(sed -n 's/^committed \([0-9]*\)$/\1/p' "$W/writer.out" | tail -1)
acked=$(cat "$W/spool/mirror.acked" 2>/dev/null || echo 0)
kill -KILL "$COLLECTOR_PID"
wait "$COLLECTOR_PID" 2>/dev/null || true
COLLECTOR_PID=
held=$(sed -n 's/.*"seq":\([0-9]*\),.*/\1/p' "$W/collector.log" | sort -n | tail -1)
echo "stalled at committed seq $stalled; acknowledged as saved: $acked; the dead collector held up to $held"
[ "${acked:-0}" -le "${held:-0}" ] || die "seq $acked counted as acknowledged, the collector held only up to $held"
COLLECTOR_DIRECT=1 collector_start "$port"
wait "$writer" || die "writer failed: $(cat "$W/writer.err")"
tail -1 "$W/writer.out"
last=$(sed -n 's/^done .*last_seq=\([0-9]*\).*/\1/p' "$W/writer.out")
[ "$last" -ge 4000 ] || die "writer committed only $last"
collector_wait $((last + 1))
collector_stop
collector_check $((last + 1))
