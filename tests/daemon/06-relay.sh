# Two gateways on loopback relay JMSG both ways: 千代田区 131016 → 東京都
# 130001 (honnin-tsuchi to the 住基 server, fuhyo-honnin-tsuchi to the 附票
# server), answered by ack; a frame with a bad check digit is denied, the
# connection closed, and every step is in the audit records of both.
. "$(dirname "$0")/lib.sh"
: "${JGW_NODE:?}"

write_conf chiyoda 131016 22201 22202 22203 130001 22212
write_conf tokyo   130001 22211 22212 22213 131016 22202
start_jgwd chiyoda
start_jgwd tokyo
"$JGW_NODE" serve --listen 127.0.0.1:22213 --node 130001 >"$T/juki.log" 2>&1 &
JG_PIDS+=($!)
"$JGW_NODE" serve --listen 127.0.0.1:22214 --node 130001 >"$T/fuhyo.log" 2>&1 &
JG_PIDS+=($!)
wait_for 50 bash -c "exec 3<>/dev/tcp/127.0.0.1/22213" || fail "site server did not start"

"$JGW_NODE" send --connect 127.0.0.1:22201 --from 131016 --to 130001 \
	--type honnin-tsuchi --records 5 --count 3 --expect ack --timeout 10 \
	|| fail "honnin-tsuchi not answered through the tunnel"
"$JGW_NODE" send --connect 127.0.0.1:22201 --from 131016 --to 130001 \
	--type fuhyo-honnin-tsuchi --count 2 --expect ack --timeout 10 \
	|| fail "fuhyo-honnin-tsuchi not answered through the tunnel"
grep -q '0x0201\|fuhyo-honnin-tsuchi' "$T/fuhyo.log" || fail "附票 frame did not reach the 附票 server"
grep -q '0x0201\|fuhyo-honnin-tsuchi' "$T/juki.log" && fail "附票 frame reached the 住基 server"

"$JGW_NODE" send --connect 127.0.0.1:22201 --from 131016 --to 130001 \
	--type honnin-tsuchi --bad check-digit --expect close --timeout 10 \
	|| fail "a frame with a bad check digit was not refused"

wait_for 30 audit_has chiyoda '"event":"message".*"dir":"out".*"type_name":"honnin-tsuchi".*"verdict":"allow"' \
	|| fail "chiyoda: no allow record"
wait_for 30 audit_has chiyoda '"event":"message".*"verdict":"deny".*"reason":"bad-value"' \
	|| fail "chiyoda: no deny record naming bad-value"
wait_for 30 audit_has chiyoda '"event":"tunnel".*"state":"open".*"peer":"130001"' \
	|| fail "chiyoda: no tunnel open record"
# Denied on its first frame, before any tunnel was opened: a reject record.
wait_for 30 audit_has chiyoda '"event":"tunnel".*"state":"reject".*"reason":"inspection-deny"' \
	|| fail "chiyoda: no reject record for the denied connection"
wait_for 30 audit_has tokyo '"event":"message".*"dir":"in".*"verdict":"allow"' \
	|| fail "tokyo: no inbound allow record"
wait_for 30 audit_has tokyo '"event":"message".*"dir":"out".*"type_name":"ack"' \
	|| fail "tokyo: the ack going back is not recorded"
wait_for 30 audit_has tokyo '"event":"tunnel".*"side":"wan".*"peer":"131016".*"cert_sha256"' \
	|| fail "tokyo: no ingress tunnel record with the certificate"
wait_for 30 stat_is chiyoda stats frames_denied -ge 1 \
	|| fail "stats: frames_denied not counted"
wait_for 30 stat_is chiyoda stats bytes_denied -ge 1 || fail "stats: bytes_denied not counted"
stat_is chiyoda stats bytes_allowed -ge 1 || fail "stats: bytes_allowed not counted"
# The stats records (every second here) carry bytes per verdict.
if command -v jq >/dev/null; then
	stats_has() {
		cat "$T/$1"/spool/*.jsonl | jq -e -s "[.[] | select(.event == \"stats\") | .$2] | add > 0" >/dev/null
	}
	wait_for 30 stats_has chiyoda bytes_allowed || fail "chiyoda: no stats record with bytes_allowed"
	wait_for 30 stats_has chiyoda bytes_denied || fail "chiyoda: no stats record with bytes_denied"
fi
# peers: each address's last success, on both sides (lan: dialled out,
# wan: dialled in), and no error yet.
ok_at() { ctl "$1" peers | grep -q "^address 127.0.0.1:$2 peer $3 last_success [1-9][0-9]* last_success_side $4 last_error 0 "; }
ok_at chiyoda 22212 130001 lan || fail "chiyoda peers: no last success at 130001's address: $(ctl chiyoda peers)"
ok_at tokyo 22202 131016 wan || fail "tokyo peers: no last success from 131016's address: $(ctl tokyo peers)"
# With tokyo gone the next tunnel fails at its address: last error, its
# reason, and a log line naming peer, address and reason.
stop_jgwd tokyo || fail "tokyo exited non-zero"
"$JGW_NODE" send --connect 127.0.0.1:22201 --from 131016 --to 130001 \
	--type honnin-tsuchi --expect close --timeout 10 >/dev/null || fail "a tunnel to a stopped peer was not closed"
wait_for 30 bash -c "'$JGWCTL' -s '$T/chiyoda/control.sock' peers | grep -q '^address 127.0.0.1:22212 peer 130001 last_success [1-9][0-9]* last_success_side lan last_error [1-9][0-9]* last_error_side lan last_error_reason connect-failed$'" \
	|| fail "chiyoda peers: no last error at 130001's address: $(ctl chiyoda peers)"
grep -Eq 'tunnel [0-9]+ rejected: egress peer 130001 addr 127\.0\.0\.1:22212 lan 127\.0\.0\.1:[0-9]+ reason connect-failed' \
	"$T/chiyoda/jgwd.log" || fail "the reject's log line does not name peer, address and reason"
stop_jgwd chiyoda || fail "chiyoda exited non-zero"
"$JGWCTL" audit verify --key "$T/chiyoda/k0" "$T/chiyoda/spool" >/dev/null || fail "chiyoda chain"
"$JGWCTL" audit verify --key "$T/tokyo/k0" "$T/tokyo/spool" >/dev/null || fail "tokyo chain"
# With the last interval written at stop, the stats records add up to the
# message records: frames and bytes per verdict.
command -v jq >/dev/null || skip "jq not installed (stats totals not checked)"
for gw in chiyoda tokyo; do
	sums=$(cat "$T/$gw"/spool/*.jsonl | jq -s -r '
		[.[] | select(.event == "stats" and .source == null)] as $s
		| [.[] | select(.event == "message")] as $m
		| [([$s[].bytes_allowed] | add), ([$m[] | select(.verdict == "allow") | .bytes] | add // 0),
		   ([$s[].bytes_denied] | add), ([$m[] | select(.verdict == "deny") | .bytes] | add // 0),
		   ([$s[].frames_allowed] | add), ([$m[] | select(.verdict == "allow")] | length),
		   ([$s[].frames_denied] | add), ([$m[] | select(.verdict == "deny")] | length)]
		| map(tostring) | join(" ")')
	set -- $sums
	[ "$1" = "$2" ] && [ "$3" = "$4" ] && [ "$5" = "$6" ] && [ "$7" = "$8" ] \
		|| fail "$gw: stats (allowed bytes/frames, denied) do not add up to the message records: $sums"
	[ "$1" -gt 0 ] || fail "$gw: no allowed bytes in the stats records"
	[ "$gw" = tokyo ] || [ "$3" -gt 0 ] || fail "$gw: no denied bytes in the stats records"
done
exit 0
