# jgw-sessions --journal, against a journald of the test's own (a private
# mount namespace: tmpfs on /run/systemd, /run/log and /var/log) and a real
# jgwd. sshd's entries are written with socat, and jgw-sessions is told to
# trust socat as it trusts sshd (--sshd). Checked: each
# event becomes one record; a restart goes on after the state file's cursor
# (nothing lost, nothing repeated); while jgwd is away the event waits and
# is recorded once jgwd is back, with a log line saying it waited; entries
# of another program are ignored, and so are entries of a non-root process
# except that user's own close.
if [ -z "${JS_IN_NS:-}" ]; then
	command -v unshare >/dev/null || { echo "no unshare"; exit 77; }
	JS_IN_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
[ -x /lib/systemd/systemd-journald ] || skip "no systemd-journald"
command -v socat >/dev/null || skip "no socat"
for d in /run/systemd /run/log /var/log; do
	mkdir -p "$d" && mount -t tmpfs tmpfs "$d" || skip "cannot mount a tmpfs on $d"
done
mkdir -p /var/log/journal
/lib/systemd/systemd-journald >"$T/journald.log" 2>&1 &
JG_PIDS+=($!)
wait_for 100 test -S /run/systemd/journal/socket || fail "journald did not start"

SOCAT=$(readlink -f "$(command -v socat)")
write_conf gw 131016 24201 24202 24203 130001 24212
start_jgwd gw
SOCK=$T/gw/control.sock
# ent [USER] MESSAGE: a journal entry of "sshd", sent as USER (default
# root) by socat, which stays until journald has read its /proc (its _EXE:
# a sender gone by then has none, and is judged by its _UID alone).
ent() {
	local as=root
	[ $# = 2 ] && { as=$1; shift; }
	{ printf 'MESSAGE=%s\nSYSLOG_IDENTIFIER=sshd\n' "$1"; sleep 0.5; } |
		setpriv --reuid "$as" --regid "$(id -g "$as")" --clear-groups \
		socat -u - UNIX-SENDTO:/run/systemd/journal/socket || fail "socat as $as"
}
run_sessions() { # --sshd PATH
	"$JGW_SESSIONS" --journal "$@" -s "$SOCK" --state "$T/cursor" -d >>"$T/sessions.log" 2>&1 &
	JS_PID=$!
	JG_PIDS+=($JS_PID)
}
stop_sessions() { kill "$JS_PID"; wait "$JS_PID" 2>/dev/null; }
trap 'rc=$?; [ $rc -ne 0 ] && { echo "--- jgw-sessions"; cat "$T/sessions.log"; journalctl -D /run/log/journal -o verbose 2>/dev/null | grep -E "MESSAGE=|_EXE|_PID" | tail -12; }; js_cleanup' EXIT
nrec() { count ".event == \"session\" and $1"; }

ent "Accepted publickey for alice from 10.0.0.5 port 4000 ssh2: ED25519 SHA256:x"
ent "Invalid user x from 6.6.6.6 port 1 from 10.0.0.6 port 5"
run_sessions --sshd "$SOCAT"
wait_for 300 at_least 2 '.event == "session"' || fail "the first two events are not recorded"
stop_sessions
[ -s "$T/cursor" ] || fail "no cursor written"
[ "$(nrec '.action == "open" and .user == "alice" and .addr == "10.0.0.5" and .port == 4000')" = 1 ] ||
	fail "alice's open: $(recs '.event == "session"')"
[ "$(nrec '.action == "failed" and .user == "-" and .addr == "10.0.0.6" and .port == 5')" = 1 ] ||
	fail "the failed attempt: $(recs '.event == "session"')"

# Logged while jgw-sessions is stopped: recorded after its restart, and the
# first two not again.
ent "Disconnected from user alice 10.0.0.5 port 4000"
run_sessions --sshd "$SOCAT"
wait_for 300 at_least 3 '.event == "session"' || fail "the event logged while stopped is lost"

# jgwd away: the event waits, and is recorded once jgwd is back.
stop_jgwd gw || fail "jgwd exited non-zero"
ent "Accepted publickey for bob from 10.0.0.7 port 4100 ssh2: ED25519 SHA256:y"
wait_for 300 grep -q 'jgwd not reachable.*the event waits' "$T/sessions.log" ||
	fail "no log line while jgwd is away: $(tail -5 "$T/sessions.log")"
start_jgwd gw
wait_for 400 at_least 1 '.event == "session" and .user == "bob"' || fail "bob's open was not recorded after jgwd came back"
grep -q 'jgwd took the note after' "$T/sessions.log" || fail "no log line when the note was taken"

# Not sshd's: another program (socat without --sshd trust) and a user
# speaking of someone else.
stop_sessions
run_sessions
ent "Accepted publickey for root from 10.0.0.66 port 1 ssh2: ED25519 SHA256:z"
ent nobody "Accepted publickey for root from 10.0.0.66 port 2 ssh2: ED25519 SHA256:z"
wait_for 300 grep -q 'not /usr/sbin/sshd' "$T/sessions.log" || fail "a foreign program's entry was not refused"
stop_sessions
run_sessions --sshd "$SOCAT"
ent nobody "Disconnected from user alice 10.0.0.5 port 4001"
ent nobody "Disconnected from user nobody 10.0.0.8 port 4200"
wait_for 300 at_least 1 '.event == "session" and .user == "nobody"' || fail "nobody's own close is not recorded"
grep -q 'from uid .* that is not that user' "$T/sessions.log" || fail "nobody's word on alice was not refused"
stop_sessions
[ "$(count '.event == "session" and .addr == "10.0.0.66"')" = 0 ] || fail "a foreign entry was recorded"
[ "$(count '.event == "session" and .port == 4001')" = 0 ] || fail "nobody closed alice's session"
# Each event once: 2 + 1 + 1 + 1.
[ "$(count '.event == "session"')" = 5 ] || fail "session records: $(recs '.event == "session"')"
stop_jgwd gw || fail "jgwd exited non-zero"
"$JGWCTL" audit verify --key "$T/gw/k0" "$T/gw/spool" >/dev/null || fail "audit chain does not verify"
echo "ok: journal followed, cursor kept across a restart, jgwd's absence waited out, foreign entries refused"
