# idle-timeout — a relayed connection with no frame in either direction for
# `timeouts { idle }` is closed at both ends and audited as idle-timeout.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_conf_hook() {
	e2e_set "$1" common/policy.conf 's/idle 5min;/idle 2s;/'
	e2e_set "$1" common/policy.conf 's/handshake 10s;/handshake 1s;/'
}
e2e_up chiyoda tokyo

out=$(ns_send chiyoda --to 130001 --type tenshutsu-kakutei --hold 10 2>&1) || { echo "$out"; fail "send failed"; }
echo "$out"
grep -q 'hold: peer closed the connection' <<<"$out" || fail "the idle connection was not closed within 10 s"
e2e_audit_wait chiyoda '.event == "tunnel" and .state == "close" and .reason == "idle-timeout"' >/dev/null ||
	e2e_audit_wait tokyo '.event == "tunnel" and .state == "close" and .reason == "idle-timeout"' >/dev/null ||
	fail "no idle-timeout close audited at either gateway"
# A connection that keeps talking is not cut: 6 frames 1 s apart (> idle).
e2e_send_ok chiyoda --to 130001 --type tenshutsu-kakutei --count 6 --interval 1000 >/dev/null
echo "idle tunnel closed, busy tunnel kept"
