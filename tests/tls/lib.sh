# lib.sh — shared by the tests/tls/interop-*.sh scenarios (sourced, not run).
# tls-echo (built on tunnels/tls.h) listens on a kernel-chosen loopback port;
# third-party clients talk to it. Everything started here is stopped on exit.
set -eu
PKI=${JGW_TEST_PKI:-build/tests/pki}
ECHO=${TLS_ECHO:-build/tests/tls-echo}
WORK=$(mktemp -d /tmp/jgw-tls.XXXXXX)
PIDS=""
LOG=/dev/null
N_ECHO=0
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT

[ -f "$PKI/.complete" ] || { echo "test PKI missing: conf/mkpki.sh $PKI"; exit 1; }
[ -x "$ECHO" ] || { echo "tls-echo missing: $ECHO"; exit 1; }

fail() { echo "FAIL: $*"; echo "--- server log:"; cat "$LOG" 2>/dev/null; exit 1; }

# start_echo [tls-echo options...]: serve as 000000 with the current CRL; a
# later call starts another server (own log, own port) beside the first.
start_echo() {
	start_echo_as -a "$PKI/ca.crt" -r "$PKI/crl.pem" "$@"
}

# start_echo_as ARGS...: tls-echo as 000000 with exactly these trust and CRL
# arguments (and any other); sets PORT and LOG.
start_echo_as() {
	N_ECHO=$((N_ECHO + 1))
	LOG=$WORK/echo$N_ECHO.log
	: >"$LOG"
	"$ECHO" -c "$PKI/000000.crt" -k "$PKI/000000.key" "$@" >"$LOG" 2>&1 &
	PIDS="$PIDS $!"
	for _ in $(seq 50); do
		PORT=$(sed -n 's/^port //p' "$LOG")
		[ -n "$PORT" ] && return 0
		sleep 0.1
	done
	fail "tls-echo did not start"
}

# wait_log PATTERN: the server logged a line matching PATTERN (up to 5 s).
wait_log() {
	for _ in $(seq 50); do
		grep -q -- "$1" "$LOG" && return 0
		sleep 0.1
	done
	fail "server never logged '$1'"
}

# s_client CERT_BASENAME [extra s_client options]: send one line, print what
# comes back, then the client's diagnostics. CERT_BASENAME is relative to the
# PKI ("-": no certificate).
s_client() {
	cert=$1; shift
	set -- -connect "127.0.0.1:$PORT" -CAfile "$PKI/ca.crt" -verify_return_error \
		-quiet -no_ign_eof "$@"
	if [ "$cert" != "-" ]; then
		set -- -cert "$PKI/$cert.crt" -key "$PKI/$cert.key" "$@"
	fi
	: >"$WORK/sc.out"
	: >"$WORK/sc.err"
	# Keep the client's input open until the echo (or an error) shows up,
	# so the client neither closes early nor waits for a fixed time.
	{
		echo "interop-probe"
		for _ in $(seq 100); do
			grep -qx "interop-probe" "$WORK/sc.out" && break
			grep -qiE "alert|error" "$WORK/sc.err" && break
			sleep 0.1
		done
	} | timeout 15 openssl s_client "$@" >"$WORK/sc.out" 2>"$WORK/sc.err" || true
	cat "$WORK/sc.out" "$WORK/sc.err"
}
