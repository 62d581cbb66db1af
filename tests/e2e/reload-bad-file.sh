# reload-bad-file — a reload with a broken configuration is rejected and
# audited; the running configuration stays in force and live tunnels live on.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_up chiyoda tokyo

# A live tunnel: one frame answered, then held open during the reload.
ns_send chiyoda --to 130001 --type tenshutsu-kakutei --hold 4 >"$NS_WORK/live.out" 2>&1 &
live=$!
wait_for 100 grep -q 'answered ack' "$NS_WORK/live.out" || fail "the live tunnel did not come up"
conf=$(ns_conf tokyo)
cp "$conf" "$NS_WORK/tokyo.good"
printf 'peer 131016 {\n\taddress not-an-address;\n' >>"$conf"
# jgwctl reload would refuse to send it (it checks first): the signal does not.
"$B/jgwctl" check "$conf" >"$NS_WORK/reload.out" 2>&1 &&
	fail "jgwctl check accepts the broken file"
kill -HUP "$(cat "$NS_WORK/tokyo/jgwd.pid")"
kill -0 "$(cat "$NS_WORK/tokyo/jgwd.pid")" || fail "jgwd died on a bad reload"
e2e_audit_wait tokyo '.event == "config" and .action == "reject"' >/dev/null ||
	{ cat "$NS_WORK/reload.out"; fail "the rejected reload was not audited"; }
wait "$live" || { cat "$NS_WORK/live.out"; fail "the live tunnel did not survive the bad reload"; }
grep -q 'hold: still open' "$NS_WORK/live.out" || fail "the live tunnel was closed by the bad reload"
# The old configuration still serves new traffic.
e2e_send_ok chiyoda --to 130001 --type tenshutsu-kakutei --count 2 >/dev/null
# And a good reload afterwards is accepted.
cp "$NS_WORK/tokyo.good" "$conf"
kill -HUP "$(cat "$NS_WORK/tokyo/jgwd.pid")"
e2e_audit_wait tokyo '.event == "config" and .action == "reload"' >/dev/null || fail "the good reload was not audited"
e2e_send_ok chiyoda --to 130001 --type tenshutsu-kakutei >/dev/null
echo "bad reload rejected, old configuration kept, good reload accepted"
