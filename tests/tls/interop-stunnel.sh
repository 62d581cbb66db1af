# stunnel as a second third-party client: a valid certificate tunnels and
# echoes; a revoked one is refused.
. tests/tls/lib.sh
command -v stunnel >/dev/null || { echo "stunnel not installed (apt-get install stunnel4)"; exit 77; }
start_echo

# run_stunnel NAME CERT: a client-mode stunnel on a free port of the TLS
# test range (20000-20999), retried on another port if that one is taken.
run_stunnel() {
	name=$1 cert=$2
	for _ in 1 2 3 4 5; do
		lport=$((20000 + RANDOM % 1000))
		cat >"$WORK/$name.conf" <<CONF
foreground = yes
pid =
debug = 5
output = $WORK/$name.log
[jgw]
client = yes
accept = 127.0.0.1:$lport
connect = 127.0.0.1:$PORT
cert = $PKI/$cert.crt
key = $PKI/$cert.key
CAfile = $PKI/ca.crt
verifyChain = yes
sslVersionMin = TLSv1.3
CONF
		rm -f "$WORK/$name.log"
		stunnel "$WORK/$name.conf" >"$WORK/$name.ui" 2>&1 &
		spid=$!
		PIDS="$PIDS $spid"
		for _ in $(seq 50); do
			grep -q "Configuration successful" "$WORK/$name.log" 2>/dev/null && return 0
			kill -0 "$spid" 2>/dev/null || break
			sleep 0.1
		done
	done
	cat "$WORK/$name.ui"; fail "stunnel $name did not start"
}

# probe: send a line through the local stunnel port, print the answer.
probe() {
	exec 3<>"/dev/tcp/127.0.0.1/$lport" || return 0
	echo "interop-probe" >&3
	line=""
	read -r -t 5 line <&3 || true
	exec 3>&-
	echo "$line"
}

run_stunnel good 131016
[ "$(probe)" = "interop-probe" ] || fail "no echo through stunnel"
wait_log "^accept peer=131016 version=TLSv1.3 "

run_stunnel bad bad/revoked
[ "$(probe)" = "interop-probe" ] && fail "revoked stunnel client got an echo"
wait_log "^reject reason=cert-revoked$"
exit 0
