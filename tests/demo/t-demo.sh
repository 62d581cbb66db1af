#!/usr/bin/env bash
# t-demo.sh — the live demo (tests/demo/demo.sh, make demo) run with its
# output piped, as a log or `make demo | cat -v` sees it: it passes (every
# row as expected); no escape code; no line wider than 100 columns (display
# width: a Japanese character takes two); every row says what is sent and
# where; the operator's action at 東京都 and the admin and quarantine
# records it made; 東京都's configuration history, status, peers and metrics.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${JGW_BUILD:-$ROOT/build}" 2>/dev/null && pwd) || B=$ROOT/build
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "$*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces and nftables"
for bin in jgwd jgwctl jgw-node; do
	[ -x "$B/$bin" ] || fail "$B/$bin is not built"
done
command -v jq >/dev/null || skip "jq is not installed (make deps)"
probe=jdt-$$-probe
ip netns add "$probe" 2>/dev/null || skip "cannot create a network namespace here"
if ! ip netns exec "$probe" nft list tables >/dev/null 2>&1; then
	ip netns del "$probe"
	skip "nftables does not work in a network namespace here"
fi
ip netns del "$probe"

out=$(mktemp /tmp/jgw-demo-out.XXXXXX)
trap 'rm -f "$out"' EXIT
# Its own namespace prefix: a `make demo` running meanwhile is left alone.
# A terminal type that has bold: only the pipe may keep escape codes out.
TERM=xterm JGW_BUILD=$B JGW_DEMO_PREFIX=jdt-$$- "$ROOT/tests/demo/demo.sh" >"$out" 2>&1
rc=$?
if [ "$rc" != 0 ]; then
	grep -B3 -A3 'FAILED' "$out" | head -60
	tail -20 "$out"
	fail "the demo exited $rc"
fi

# Plain text when piped: not one ESC byte.
if grep -q $'\x1b' "$out"; then
	grep -n $'\x1b' "$out" | head -3 | cat -v
	fail "escape codes in the piped output"
fi

grep -Eq '^==> demo: all 24 rows behaved as expected' "$out" || { tail -5 "$out"; fail "no success line"; }

# At most 100 columns a line, counted as a terminal shows them: wc -L gives
# the display width in a UTF-8 locale (wcwidth: 東 is 2, → is 1).
export LC_ALL=C.UTF-8
printf '東京都→x\n' | wc -L | grep -qx 8 || skip "no UTF-8 locale here for wc -L (C.UTF-8)"
width=$(wc -L <"$out")
if [ "$width" -gt 100 ]; then
	while IFS= read -r line; do
		w=$(printf '%s' "$line" | wc -L)
		[ "$w" -gt 100 ] && echo "$w: $line"
	done <"$out" | head -5
	fail "a line is $width columns wide (at most 100)"
fi

# Every row names what is sent, from where to where (or the TLS case), and
# the 大阪府 row says that it is not the sender's prefecture.
rows=$(grep -cE '^ ?[0-9]+  (pass|refuse) ' "$out")
[ "$rows" = 24 ] || fail "$rows table rows, 24 expected"
unclear=$(grep -E '^ ?[0-9]+  (pass|refuse) ' "$out" | grep -vE '→| to |dials' || true)
[ -z "$unclear" ] || fail "rows that do not say from where to where: $unclear"
grep -E '^ ?[0-9]+  refuse .*大阪府 270008.*not its prefecture' "$out" >/dev/null ||
	fail "the 大阪府 row does not say it sends to another prefecture"
grep -q 'audit tokyo: quarantine add 10.77.0.16' "$out" || fail "the quarantine row has no quarantine record"

# The operator's action and its records (chosen fields, one line each).
grep -qF 'tokyo# jgwctl quarantine add 10.77.0.66 10min --comment "demo: a scanning host"' "$out" ||
	fail "the operator's command is not shown"
grep -Eq '^    admin +action="quarantine add" operator=root comment="demo: a scanning host" outcome=ok$' "$out" ||
	fail "no admin record of the operator's quarantine add"
grep -Eq '^    quarantine +action=add addr=10\.77\.0\.66 operator=root comment="demo: a scanning host"$' "$out" ||
	fail "no quarantine record of the operator's quarantine add"
grep -Eq '^    quarantined 10\.77\.0\.66 ' "$out" || fail "jgwctl quarantine list does not show 10.77.0.66"

# 東京都's configuration history, status, peers and metrics, each under its caption.
section() { # CAPTION-TEXT CONTENT-REGEX WHAT: a line under the heading that holds the text
	awk -v c="$1" '/^==> / { on = index($0, c) > 0; next } on' "$out" | grep -Eq "$2" ||
		fail "no $3 under a heading with '$1' (a line /$2/)"
}
section "configuration history" '^    generation 1 time [0-9]+ sha256 [0-9a-f]{12}… operator - action load outcome ok$' \
	"config history"
section "tokyo's jgwd" '^    site 130001$' "status"
section "tokyo's jgwd" '^    audit_lost 0$' "status"
section "tokyo's peers" '^    peer 131016 role municipality ' "peers"
section "tokyo's peers" '^    address 10\.77\.0\.16:7443 peer 131016 ' "peers"
section "tokyo's metrics" '^    jgw_info\{site="130001"' "metrics"
section "tokyo's metrics" '^    jgw_tunnels_rejected_total [1-9]' "metrics"
n=$(awk '/^==> / { on = index($0, "metrics, first lines") > 0; next } on && /^    jgw_/' "$out" | wc -l)
[ "$n" = 10 ] || fail "$n metric lines shown, 10 expected"
echo "demo: 24 rows as expected; plain text, at most $width columns; operator records, history, status, peers, metrics"
