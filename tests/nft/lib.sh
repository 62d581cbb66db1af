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
# site server, management 10.99.0.0/24, quarantine timeout QTIMEOUT.
policy() {
	echo -t jgw --wan-if wan0 --lan-if lan0 --wan-port 7443 --lan-port 7000 --ssh 22 \
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
