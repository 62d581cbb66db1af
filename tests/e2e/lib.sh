# lib.sh — what every end-to-end case shares (sourced first by each case).
#
# A case builds the sites it needs in its own namespaces (prefix je-PID-),
# with the real jgwd, the real nftables and real certificates, sends traffic
# with jgw-node, and checks both what the servers saw and what the gateways
# audited. Exit 0 pass, 77 skipped (reason on the last line), else fail.
# Everything is removed by the EXIT trap; JGW_E2E_KEEP=1 keeps NS_WORK.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=$(cd "${JGW_BUILD:-$ROOT/build}" 2>/dev/null && pwd) || B=$ROOT/build
NS_ROOT=$ROOT
NS_PREFIX=je-$$-
NS_WORK=$(mktemp -d /tmp/jgw-e2e.XXXXXX)
E2E_CASE=$(basename "$0" .sh)
E2E_SITES=()
# shellcheck source=tests/lib/netns.sh
source "$ROOT/tests/lib/netns.sh"
# shellcheck source=tests/lib/wait.sh
source "$ROOT/tests/lib/wait.sh"

e2e_cleanup() {
	local rc=$? s
	for s in "${E2E_SITES[@]}"; do ns_jgwd_stop "$s"; done
	jobs -p | xargs -r kill 2>/dev/null
	ns_down
	if [ "${JGW_E2E_KEEP:-0}" = 1 ]; then
		echo "kept: $NS_WORK"
	else
		rm -rf "$NS_WORK"
	fi
	exit "$rc"
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM

skip() { echo "$*"; exit 77; }

# fail MESSAGE — print it with the logs that explain it, and fail the case.
fail() {
	local s
	echo "FAIL ($E2E_CASE): $*"
	for s in "${E2E_SITES[@]}"; do
		echo "--- $s jgwd.log (last lines)"; tail -15 "$NS_WORK/$s/jgwd.log" 2>/dev/null
		echo "--- $s audit (last records)"; ns_audit "$s" | tail -8 | cut -c1-400
	done
	exit 1
}

e2e_need() {
	[ "$(id -u)" = 0 ] || skip "needs root for network namespaces and nftables"
	ip netns list >/dev/null 2>&1 || skip "no network namespace support here"
	local bin
	# A binary that is missing is a broken build, not a reason to skip.
	for bin in jgwd jgwctl jgw-node; do
		[ -x "$B/$bin" ] || fail "$B/$bin is not built"
	done
	command -v jq >/dev/null || skip "jq is not installed (make deps)"
	# A container may list namespaces yet not be allowed to make one, or
	# have no nftables in it: say so instead of failing.
	local probe=${NS_PREFIX}probe
	ip netns add "$probe" 2>/dev/null || skip "cannot create a network namespace here"
	if ! ip netns exec "$probe" nft list tables >/dev/null 2>&1; then
		ip netns del "$probe"
		skip "nftables does not work in a network namespace here"
	fi
	ip netns del "$probe"
}

# The PKI is made once per build tree and day (conf/mkpki.sh is slow-ish and
# idempotent) and copied per case, since cases revoke and re-issue.
e2e_pki() {
	local cache=$B/tests/e2e-pki
	if [ -d "$cache" ] && [ -n "$(find "$cache/.complete" -mmin +600 2>/dev/null)" ]; then
		rm -rf "$cache"
	fi
	mkdir -p "$B/tests"
	sh "$ROOT/conf/mkpki.sh" "$cache" >"$NS_WORK/mkpki.log" 2>&1 || {
		cat "$NS_WORK/mkpki.log"; fail "conf/mkpki.sh failed"; }
	cp -a "$cache" "$NS_WORK/pki"
	# The CA database is the case's own: revocations must not reach the cache.
	sed -i "s|$cache|$NS_WORK/pki|g" "$NS_WORK/pki/ca/openssl.cnf"
}

# e2e_topology SITE... — namespaces for these sites, the PKI, and each
# site's configuration (with e2e_conf_hook SITE FILE applied when the case
# defines one), checked by `jgwctl check`. Nothing is started.
e2e_topology() {
	ns_up "$@" || fail "cannot build the namespaces"
	e2e_pki
	local s
	for s in "$@"; do
		ns_site_conf "$s" || fail "no configuration for $s"
		if declare -F e2e_conf_hook >/dev/null; then
			e2e_conf_hook "$s" "$(ns_conf "$s")"
		fi
		"$B/jgwctl" check "$(ns_conf "$s")" >"$NS_WORK/$s/check.log" 2>&1 || {
			cat "$NS_WORK/$s/check.log"; fail "jgwctl check refuses the $s configuration"; }
	done
}

# e2e_ctl SITE ARGS... — jgwctl on that site's control socket.
e2e_ctl() { local s=$1; shift; "$B/jgwctl" -s "$NS_WORK/$s/run/control.sock" "$@"; }

# e2e_start SITE... — the site servers and jgwd of each site.
e2e_start() {
	local s
	for s in "$@"; do
		E2E_SITES+=("$s")
		ns_servers_start "$s" || fail "site servers of $s did not start"
		ns_jgwd_start "$s" || fail "jgwd of $s did not start"
	done
}

e2e_up() {
	e2e_topology "$@"
	e2e_start "$@"
}

# Set a value in a site's copied configuration: e2e_set SITE FILE SED-EXPR
# (FILE relative to the site's etc/, e.g. common/policy.conf); fails the
# case when the expression changed nothing, so a renamed setting is noticed.
e2e_set() {
	local f=$NS_WORK/$1/etc/$2 before
	before=$(md5sum <"$f")
	sed -i -e "$3" "$f"
	[ "$(md5sum <"$f")" != "$before" ] || fail "e2e_set: '$3' changed nothing in $2"
}

# Audit records of a site matching a jq filter, as compact JSON lines.
# Waits up to 10 s for at least one (group commit, asynchronous closes).
e2e_audit_wait() {
	local s=$1 filter=$2 i out
	for i in $(seq 100); do
		out=$(ns_audit "$s" | jq -c "select($filter)" 2>/dev/null)
		[ -n "$out" ] && { echo "$out"; return 0; }
		sleep 0.1
	done
	return 1
}

# Frames a site's server received: count of log lines matching a jq filter.
e2e_server_count() {
	local s=$1 server=$2 filter=$3
	jq -c "select(.event == \"frame\" and ($filter))" "$NS_WORK/$s/$server.log" 2>/dev/null | wc -l
}

# Expect a jgw-node send to succeed (or fail) with a message.
e2e_send_ok() {
	local s=$1; shift
	local out
	out=$(ns_send "$s" "$@" 2>&1) || { echo "$out"; fail "send from $s did not get its answers: $*"; }
	echo "$out"
}
e2e_send_refused() {
	local s=$1; shift
	local out
	out=$(ns_send "$s" --expect close "$@" 2>&1) || { echo "$out"; fail "send from $s was not refused: $*"; }
	echo "$out"
}

# A third-party TLS client from a namespace: frames from stdin, answers to stdout.
e2e_s_client() {
	local ns=$1 target=$2; shift 2
	ip netns exec "$ns" timeout 10 openssl s_client -quiet -no_ign_eof -connect "$target" \
		-CAfile "$NS_WORK/pki/ca.crt" "$@" 2>"$NS_WORK/s_client.err"
}

# jmsg_frames FILE — how many whole JMSG frames FILE begins with (each a
# 48-byte header whose bytes 8..11 are the body length, big-endian).
jmsg_frames() {
	local f=$1 size off=0 n=0 len
	size=$(stat -c %s "$f" 2>/dev/null) || { echo 0; return; }
	while [ $((off + 48)) -le "$size" ]; do
		len=$(od -An -tu4 --endian=big -j $((off + 8)) -N4 "$f" | tr -d ' ')
		[ $((off + 48 + len)) -le "$size" ] || break
		off=$((off + 48 + len))
		n=$((n + 1))
	done
	echo "$n"
}

# e2e_tls_send NS TARGET FRAMES OUT [s_client options] — openssl s_client from
# namespace NS sends the file FRAMES to TARGET; what comes back goes to OUT.
# Its input stays open until E2E_ANSWERS (default 1) whole frames came back
# or the client ended (refused, closed), at most 10 s: a poll, not a sleep.
e2e_tls_send() {
	local ns=$1 target=$2 frames=$3 out=$4 fifo=$NS_WORK/tls-send.fifo pid
	shift 4
	rm -f "$fifo"
	mkfifo "$fifo" || fail "mkfifo $fifo"
	: >"$out"
	e2e_s_client "$ns" "$target" "$@" <"$fifo" >"$out" &
	pid=$!
	exec 9>"$fifo"
	cat "$frames" >&9
	for _ in $(seq 100); do
		[ "$(jmsg_frames "$out")" -ge "${E2E_ANSWERS:-1}" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	exec 9>&-
	wait "$pid"
	rm -f "$fifo"
}

# e2e_fake_peer NS TARGET [s_client options] — a third-party TLS client (openssl
# s_client) sends a valid notice 131016→E2E_TO (default 130001: 転出確定; to a
# municipality: 転入通知) and prints how many answer bytes came back (0: refused).
e2e_fake_peer() {
	local ns=$1 target=$2; shift 2
	local type=tenshutsu-kakutei
	[ "${E2E_TO:-130001}" = 130001 ] || type=tennyu-tsuchi
	"$B/jgw-node" frame --from 131016 --to "${E2E_TO:-130001}" --type "$type" >"$NS_WORK/frame.bin"
	e2e_tls_send "$ns" "$target" "$NS_WORK/frame.bin" "$NS_WORK/answer.bin" "$@"
	wc -c <"$NS_WORK/answer.bin"
}

# e2e_cert_case CERT_BASENAME REASON_REGEX [s_client options] — a fake peer
# gateway dials the WAN listener of E2E_TARGET (default tokyo) from 千代田区's
# WAN address (admitted by the firewall) with pki/CERT_BASENAME.{crt,key}; the
# tunnel must be refused, nothing relayed, and the reject audited with a
# reason matching REASON_REGEX. Then the same client with 千代田区's valid
# certificate must get an answer (so the case can fail).
e2e_cert_case() {
	local cert=$1 reasons=$2 t=${E2E_TARGET:-tokyo}; shift 2
	E2E_TO=${NS_CODE[$t]}
	e2e_topology chiyoda "$t"
	e2e_start "$t"
	local args=()
	[ -n "$cert" ] && args=(-cert "$NS_WORK/pki/$cert.crt" -key "$NS_WORK/pki/$cert.key")
	local got
	got=$(e2e_fake_peer "$(ns_gw chiyoda)" "$(ns_wan4 "$t"):7443" "${args[@]}" "$@")
	[ "$got" = 0 ] || fail "the fake peer with '${cert:-no certificate}' got $got answer bytes"
	[ "$(e2e_server_count "$t" juki true)" = 0 ] || fail "a frame reached ${NS_NAME_JA[$t]}'s server"
	local rec
	rec=$(e2e_audit_wait "$t" '.event == "tunnel" and .state == "reject" and .side == "wan"') ||
		fail "no tunnel reject audited at $t"
	local reason
	reason=$(head -1 <<<"$rec" | jq -r '.reason')
	[[ $reason =~ ^($reasons)$ ]] || fail "reject reason '$reason', expected $reasons"
	got=$(e2e_fake_peer "$(ns_gw chiyoda)" "$(ns_wan4 "$t"):7443" \
		-cert "$NS_WORK/pki/131016.crt" -key "$NS_WORK/pki/131016.key")
	[ "$got" -ge 48 ] || fail "the control client with a valid certificate got $got bytes"
	echo "refused at $t: ${cert:-no certificate} -> $reason"
}
