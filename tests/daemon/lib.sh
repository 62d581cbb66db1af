# tests/daemon/lib.sh — shared by the daemon scenarios: a temporary world
# with its own PKI copy, configurations on loopback ports 22000-22999,
# jgwd processes started and stopped here, everything removed on exit.
# Needs JGWD, JGWCTL, JGW_TEST_PKI (and JGW_NODE for relay cases).
set -u
: "${JGWD:?}" "${JGWCTL:?}" "${JGW_TEST_PKI:?}"
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
T=$(mktemp -d /tmp/jg-daemon.XXXXXX)
chmod 755 "$T"
# The accounts a test makes run jgwctl too: from a copy here, which they
# can reach wherever the build tree is (a checkout under a 0700 directory).
install -m 0755 "$JGWCTL" "$T/jgwctl" && JGWCTL=$T/jgwctl
JG_PIDS=()
JG_NETNS=()

jg_cleanup() {
	local p n
	for p in "${JG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${JG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for n in "${JG_NETNS[@]}"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$T"
}
trap jg_cleanup EXIT

fail() { echo "FAIL: $*"; for f in "$T"/*/jgwd.log; do [ -e "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done; exit 1; }
skip() { echo "$*"; exit 77; }

# wait_for TENTHS CMD...: poll until CMD succeeds (tests/lib/wait.sh).
# shellcheck source=tests/lib/wait.sh
. "$REPO/tests/lib/wait.sh"

# asleep_in_epoll PID: each event loop of the process — its main thread's
# and every relay worker's (threads named jgw-relayN) — is asleep in
# epoll_wait. A loop that spins is never found there: its epoll_wait
# returns at once, without sleeping.
asleep_in_epoll() {
	local task loops=0
	for task in /proc/"$1"/task/*; do
		[ "${task##*/}" = "$1" ] || [[ $(cat "$task/comm" 2>/dev/null) == jgw-relay* ]] || continue
		[ "$(sed 's/.*) //' "$task/stat" | awk '{ print $1 }')" = S ] &&
			grep -q epoll "$task/wchan" || return 1
		loops=$((loops + 1))
	done
	[ "$loops" -ge 2 ]   # the daemon's loop and at least one worker's
}

# idle_loop PID: found asleep in epoll_wait at 15 or more of 20 looks (an
# idle loop wakes only for its timers; one that spins, even part of the
# time, is running or returning at once). States are counted, not time.
idle_loop() {
	local asleep=0 i
	for i in $(seq 20); do
		asleep_in_epoll "$1" && asleep=$((asleep + 1))
		sleep 0.1
	done
	echo "asleep in epoll_wait at $asleep of 20 looks"
	[ "$asleep" -ge 15 ]
}

# write_conf NAME SITE LAN_PORT WAN_PORT SERVER_PORT PEER PEER_WAN_PORT [CERT_BASE] [EXTRA]
# One site on 127.0.0.1; its local servers (juki and fuhyo) on SERVER_PORT
# and SERVER_PORT+1; one peer in its directory; firewall off (the root
# namespace's ruleset is never touched).
write_conf() {
	local name=$1 site=$2 lan=$3 wan=$4 srv=$5 peer=$6 peerwan=$7 cert=${8:-$2} extra=${9:-}
	local d=$T/$name
	mkdir -p "$d/spool"
	[ -e "$d/audit.key" ] || "$JGWCTL" audit init -o "$d/k0" -k "$d/audit.key" >/dev/null \
		|| fail "audit init for $name"
	cat >"$d/jgw.conf" <<CONF
# $name: daemon scenario configuration (generated)
site $site;
catalog "$REPO/conf/catalog.jcat";
listen lan 127.0.0.1 port $lan;
listen wan 127.0.0.1 port $wan;
control-socket "$d/control.sock";
pid-file "$d/jgwd.pid";
server juki 127.0.0.1 port $srv;
server fuhyo 127.0.0.1 port $((srv + 1));
lan-allow { 127.0.0.1; }
tls {
	certificate "$JGW_TEST_PKI/$cert.crt";
	key "$JGW_TEST_PKI/$cert.key";
	ca "$JGW_TEST_PKI/ca.crt";
}
peer $peer { address 127.0.0.1 port $peerwan; }
timeouts { handshake 3s; idle 30s; connect 2s; shutdown 2s; }
firewall { enabled no; }
audit { spool "$d/spool"; key "$d/audit.key"; stats-interval 1s; }
$extra
CONF
}

ctl() { local name=$1; shift; "$JGWCTL" -s "$T/$name/control.sock" "$@"; }

# start_jgwd NAME: run it in the background, wait until it answers.
start_jgwd() {
	local name=$1
	"$JGWD" -d -c "$T/$name/jgw.conf" >"$T/$name/jgwd.log" 2>&1 &
	local pid=$!
	JG_PIDS+=("$pid")
	eval "PID_$name=$pid"
	wait_for 100 ctl "$name" status || fail "jgwd $name did not come up"
}

pid_of() { local v="PID_$1"; echo "${!v}"; }

# stop_jgwd NAME: SIGTERM, and it must exit 0 by itself.
stop_jgwd() {
	local name=$1 pid n=50
	pid=$(pid_of "$name")
	kill -TERM "$pid"
	while kill -0 "$pid" 2>/dev/null && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
	kill -0 "$pid" 2>/dev/null && fail "jgwd $name still running 5 s after SIGTERM"
	wait "$pid"
}

status_of() { ctl "$1" status | awk -v k="$2" '$1 == k { print $2 }'; }

# audit_has NAME PATTERN: a record of the spool matches (grep -E).
audit_has() { cat "$T/$1"/spool/* 2>/dev/null | grep -Eq "$2"; }

# stat_is NAME status|stats KEY OP VALUE: a control answer's KEY compares
# (test OP) to VALUE now; for wait_for, which re-runs it on each try.
stat_is() {
	local v
	v=$(ctl "$1" "$2" | awk -v k="$3" '$1 == k { print $2 }')
	[ -n "$v" ] && test "$v" "$4" "$5"
}
