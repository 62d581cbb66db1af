# Every record reaches a real rsyslog (imrelp, TLS, certvalid) as one syslog
# message with APP-NAME jgw and MSGID = event; the copy verifies with k0.
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
"$CTL" verify --key "$W/k0.hex" "$W/spool"
