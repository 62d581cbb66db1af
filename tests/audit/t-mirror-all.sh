# Every record reaches a real rsyslog (imrelp, TLS, certvalid) in a syslog
# message with APP-NAME jgw, several records per message when the writer is
# ahead (MSGID batch); the copy verifies with k0.
source tests/audit/lib.sh
need_pki
port=$(pick_port)
collector_start "$port"
chain_init
"$WRITER" -d "$W/spool" -k "$W/audit.key" -n 2000 -w 20 $(mirror_args "$port") >"$W/writer.out"
cat "$W/writer.out" | tail -1
last=$(sed -n 's/^done .*last_seq=\([0-9]*\).*/\1/p' "$W/writer.out")
[ "$last" -ge 2000 ] || die "writer committed only $last"
collector_wait $((last + 1))   # rsyslog's action queue reaches the file
collector_stop
# The shutdown seal is the last record of the spool: it must arrive too.
collector_check $((last + 1))
msgs=$(grep -c '^jgw ' "$W/collector.log"); batches=$(grep -c '^jgw batch ' "$W/collector.log")
[ "$batches" -ge 1 ] && [ "$msgs" -lt "$last" ] || die "$msgs messages ($batches batches) for $last records: no batching"
"$CTL" verify --key "$W/k0.hex" "$W/spool"
