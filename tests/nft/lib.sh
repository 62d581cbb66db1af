# tests/nft/lib.sh — shared by the firewall scenarios (sourced).
# The netplan topology (tests/lib/netns.sh) under the "jn-" prefix: the
# chiyoda gateway (wan0 10.77.0.16, lan0 10.16.0.1), its site server
# 10.16.0.10, the tokyo gateway as a peer (10.77.0.13), and a stranger on
# the WAN (10.77.0.66). Everything is removed on exit.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOOL=${NFT_TOOL:-$ROOT/build/tests/nft-tool}
case $TOOL in /*) ;; *) TOOL=$ROOT/$TOOL;; esac
PCAPTOOL=${NFT_PCAP:-$ROOT/build/tests/nft-pcap}
case $PCAPTOOL in /*) ;; *) PCAPTOOL=$ROOT/$PCAPTOOL;; esac

skip() { echo "$*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
command -v nft >/dev/null || skip "nft not installed"
[ -x "$TOOL" ] || fail "no $TOOL"

NS_PREFIX=jn-$$-
source "$ROOT/tests/lib/netns.sh"
WORK=$(mktemp -d /tmp/jn-XXXXXX)
BG_PIDS=()
cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	ns_down
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

GW=${NS_PREFIX}chiyoda
SRV=${NS_PREFIX}chiyoda-srv
PEER=${NS_PREFIX}tokyo
STRANGER=${NS_PREFIX}stranger
GROUP=7

# The chiyoda gateway's policy: peers tokyo and jlis (v4 and v6), its own
# site server, the LAN listener on 10.16.0.1, management 10.99.0.0/24,
# quarantine timeout QTIMEOUT.
policy() {
	echo -t jgw --wan-if wan0 --lan-if lan0 --wan-port 7443 --lan-port 7000 \
		--lan-addr 10.16.0.1 --ssh 22 \
		--peer 10.77.0.13 --peer fd00:77::13 --peer 10.77.0.100 --peer fd00:77::100 \
		--server 10.16.0.10 --mgmt 10.99.0.0/24 \
		--out tcp,10.77.0.13,7443 --out tcp,fd00:77::13,7443 \
		--out tcp,10.77.0.100,7443 --out tcp,fd00:77::100,7443 \
		--out tcp,10.16.0.10,7101 --out tcp,10.16.0.10,7201 \
		--rate "${RATE:-10/20}" --conns "${CONNS:-8}" --qtimeout "${QTIMEOUT:-600}" \
		--group $GROUP
}

topology() {
	ns_up chiyoda tokyo || fail "cannot build the namespaces"
}

# serve PORT... — listeners in the gateway namespace for the test's life.
serve() {
	ip netns exec "$GW" "$TOOL" serve 600 "$@" >"$WORK/serve.out" 2>&1 &
	BG_PIDS+=($!)
	local i
	for i in $(seq 100); do
		grep -q serving "$WORK/serve.out" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "listeners did not start: $(cat "$WORK/serve.out")"
}

# serve_echo NS PORT... — echo servers in namespace NS (connections kept
# open, what comes in goes back), for the test's life.
serve_echo() {
	local ns=$1 out; shift
	out=$WORK/echo-$ns-$1.out
	ip netns exec "$ns" "$TOOL" echo 600 "$@" >"$out" 2>&1 &
	BG_PIDS+=($!)
	wait_for 5 grep -q serving "$out" || fail "echo server in $ns did not start: $(cat "$out")"
}

# hold_open NAME NS ADDR PORT — a TCP connection from NS to an echo server,
# kept open by `nft-tool hold`; hold_round NAME sends one line on it.
declare -A HOLD_FD HOLD_N
hold_open() {
	local name=$1 ns=$2 addr=$3 port=$4 fd
	mkfifo "$WORK/hold-$name.in" || fail "mkfifo"
	ip netns exec "$ns" "$TOOL" hold "$addr" "$port" "${HOLD_MS:-1000}" \
		<"$WORK/hold-$name.in" >"$WORK/hold-$name.out" 2>&1 &
	BG_PIDS+=($!)
	exec {fd}>"$WORK/hold-$name.in"
	HOLD_FD[$name]=$fd
	HOLD_N[$name]=0
	wait_for 5 grep -Eq '^(connected|filtered|refused)$' "$WORK/hold-$name.out" ||
		fail "hold $name: no result: $(cat "$WORK/hold-$name.out")"
	grep -qx connected "$WORK/hold-$name.out" ||
		fail "hold $name ($ns -> $addr:$port): $(cat "$WORK/hold-$name.out")"
}

# hold_round NAME — one line sent; its fate in HOLD_GOT: echo (it came back
# within HOLD_MS), timeout or closed. Polls the tool's answer. Not to be
# called in a subshell: it counts the lines of each connection.
hold_round() {
	local name=$1 n
	n=$((HOLD_N[$name] + 1))
	HOLD_N[$name]=$n
	echo "line $n" >&"${HOLD_FD[$name]}"
	wait_for 10 grep -Eq "^(echo|timeout|closed) $n\$" "$WORK/hold-$name.out" ||
		fail "hold $name: no answer for line $n: $(cat "$WORK/hold-$name.out")"
	HOLD_GOT=$(awk -v n="$n" '$2 == n { print $1 }' "$WORK/hold-$name.out")
}

# reach NS ADDR PORT — 0 connected, 1 refused, 3 filtered (no answer).
reach() {
	ip netns exec "$1" "$TOOL" connect "$2" "$3" "${REACH_MS:-700}"
}

expect_open() {
	reach "$1" "$2" "$3"; local rc=$?
	[ $rc -eq 0 ] || fail "$1 -> $2:$3 should connect (got $rc)"
	echo "ok: $1 -> $2:$3 open"
}

expect_filtered() {
	reach "$1" "$2" "$3"; local rc=$?
	[ $rc -eq 3 ] || fail "$1 -> $2:$3 should be filtered (got $rc)"
	echo "ok: $1 -> $2:$3 filtered"
}

counter() {
	ip netns exec "$GW" "$TOOL" counters -t jgw | awk -v n="$1" '$1 == n { print $2 }'
}

# wait_for SECONDS CMD... — poll (every 50 ms) until CMD succeeds.
wait_for() {
	local secs=$1 i; shift
	for ((i = 0; i < secs * 20; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

# log_start — an NFLOG listener (nft-tool log) on GROUP in the gateway,
# printing into $WORK/log; its pid in LOGPID.
log_start() {
	ip netns exec "$GW" "$TOOL" log $GROUP 600 >"$WORK/log" 2>&1 &
	LOGPID=$!
	BG_PIDS+=($LOGPID)
	wait_for 5 grep -q listening "$WORK/log" || fail "NFLOG listener: $(cat "$WORK/log")"
}

# drops_counted — the drop counters added up: every drop rule logs.
drops_counted() {
	ip netns exec "$GW" "$TOOL" counters -t jgw | awk '$1 ~ /^drop_/ { s += $2 } END { print s + 0 }'
}

# log_has N — the listener has read N drops (asked with SIGUSR1; it answers
# "read N", seen by the next poll).
log_has() {
	kill -USR1 "$LOGPID" 2>/dev/null
	[ "$(awk '$1 == "read" { n = $2 } END { print n + 0 }' "$WORK/log")" -ge "$1" ]
}

# log_stop [SECONDS] — once the listener has read every counted drop (polled,
# at most SECONDS: lost log messages never arrive), stop it: it prints the
# interval's summaries and its overruns.
log_stop() {
	local want
	want=$(drops_counted)
	wait_for "${1:-10}" log_has "$want" || echo "note: the listener read fewer than the $want drops counted"
	kill -TERM "$LOGPID" 2>/dev/null
	wait "$LOGPID" 2>/dev/null
	grep -q '^overruns ' "$WORK/log" || fail "listener output: $(cat "$WORK/log")"
}

# The ruleset as `nft list` prints it, in a form fit for comparison: no
# counter values, set elements one per line in sorted order.
normalise() {
	awk '
	function trim(x) { gsub(/^[ \t]+|[ \t]+$/, "", x); return x }
	function flush(   n, i, j, t, item) {
		n = split(acc, item, ",")
		for (i = 1; i <= n; i++) item[i] = trim(item[i])
		for (i = 2; i <= n; i++)        # insertion sort: sets are small here
			for (j = i; j > 1 && item[j - 1] > item[j]; j--) {
				t = item[j]; item[j] = item[j - 1]; item[j - 1] = t
			}
		print "elements = {"
		for (i = 1; i <= n; i++) print item[i]
		print "}"
		acc = ""; inelem = 0
	}
	{
		gsub(/packets [0-9]+ bytes [0-9]+/, "packets N bytes N")
		line = $0
		if (!inelem && line ~ /elements = \{/) {
			inelem = 1
			sub(/.*elements = \{/, "", line)
		}
		if (inelem) {
			if (line ~ /\}/) { sub(/\}.*/, "", line); acc = acc " " line; flush(); next }
			acc = acc " " line; next
		}
		line = trim(line)
		if (line != "") print line
	}'
}
