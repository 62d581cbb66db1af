# wait.sh — bounded polls, sourced by the scenario libraries (bash).
#
# A test that needs "the daemon listens", "the tunnel is up", "rsyslog has
# the record" polls for exactly that, with a generous deadline, instead of
# sleeping for a time that is long enough on a quiet machine. A deadline is
# a bound on how long to wait, never an assertion about speed.
#
#   wait_for TENTHS CMD [ARG...]
#       run CMD (its output discarded) every 0.1 s until it exits 0;
#       returns 0 then, or 1 after TENTHS tries (about TENTHS/10 s, more
#       when CMD itself takes time).
#   wait_gone TENTHS PID
#       until process PID has exited (it need not be a child).

wait_for() {
	local n=$1
	shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

wait_gone() {
	local n=$1 pid=$2
	while [ "$n" -gt 0 ]; do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
