# lib.sh — shared by the audit scenarios (sourced by bash). Provides a
# private rsyslog collector (imrelp with TLS, its own config, pid file and
# work directory, a loopback port in 21000-21999), the PKI of conf/mkpki.sh
# plus a certificate of that CA for the collector itself, and cleanup of
# everything on exit.
#
# The mirror dials the collector as "localhost" (mirror_args) and, with no
# name given, checks that the collector's certificate names that host
# (librelp auth mode "name"): the collector presents $W/collector.crt,
# issued by the test CA for DNS:localhost. A gateway's certificate of the
# same CA (collector_start PORT $PKI/131024) must be refused.
set -eu
B=${B:-build}
WRITER=$B/tests/audit-writer
CTL=$B/tests/jgwctl-audit
W=$(mktemp -d /tmp/jgw-audit-XXXXXX)
COLLECTOR_PID=
MOUNTED=
PKI=$(pwd)/$B/tests/audit-pki
# Under SAN=1: full stacks, so a leak inside librelp can be told from ours.
export LSAN_OPTIONS="suppressions=$(pwd)/tests/audit/lsan.supp"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"

cleanup() {
	local rc=$?
	[ -n "$COLLECTOR_PID" ] && kill "$COLLECTOR_PID" 2>/dev/null && wait "$COLLECTOR_PID" 2>/dev/null
	for pid in $(jobs -p); do kill -9 "$pid" 2>/dev/null || true; done
	[ -n "$MOUNTED" ] && umount "$MOUNTED" 2>/dev/null
	rm -rf "$W"
	exit $rc
}
trap cleanup EXIT
[ -n "${AUDIT_KEEP:-}" ] && trap - EXIT

skip() { echo "$*"; exit 77; }
die() { echo "FAIL: $*" >&2; exit 1; }
# shellcheck source=tests/lib/wait.sh
source tests/lib/wait.sh

need_pki() {
	[ -x /usr/sbin/rsyslogd ] || skip "rsyslogd is not installed (make deps)"
	[ -e /usr/lib/x86_64-linux-gnu/rsyslog/imrelp.so ] || ls /usr/lib/*/rsyslog/imrelp.so >/dev/null 2>&1 \
		|| skip "rsyslog-relp (imrelp) is not installed (make deps)"
	mkdir -p "$(dirname "$PKI")"
	conf/mkpki.sh "$PKI" >/dev/null
	collector_cert
}

# The collector's certificate: issued by the test CA, subjectAltName
# DNS:$COLLECTOR_NAME (the CN says what it is, and is not the name checked).
COLLECTOR_NAME=localhost
collector_cert() {
	[ -s "$W/collector.crt" ] && return 0
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/collector.key" \
		2>/dev/null || die "collector key"
	openssl req -new -key "$W/collector.key" -subj "/O=jgw test/CN=jgw audit collector" \
		-out "$W/collector.csr" 2>/dev/null || die "collector request"
	cat >"$W/collector.ext" <<EXT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:$COLLECTOR_NAME
EXT
	openssl x509 -req -in "$W/collector.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
		-set_serial "0x$(openssl rand -hex 16)" -days 30 -sha256 \
		-extfile "$W/collector.ext" -out "$W/collector.crt" 2>/dev/null || die "collector certificate"
}

# A free loopback port in the audit range.
pick_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((21000 + RANDOM % 1000))
		ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
	die "no free port in 21000-21999"
}

# collector_start PORT [CERT_BASE]: rsyslog with imrelp+TLS writing
# "%app-name% %msgid% %msg%" of APP-NAME jgw to $W/collector.log, presenting
# CERT_BASE.crt/.key ($W/collector by default). It listens on every address
# of "localhost", the name the mirror dials. A message of several records
# (MSGID batch) is its first record's line with that prefix and each further
# record on a bare line (control characters are kept as received). Its
# maxMessageSize is rsyslog's default, 8k: what the mirror promises to fit.
collector_start() {
	local port=$1 cert=${2:-$W/collector}
	mkdir -p "$W/rsyslog-work"
	# COLLECTOR_DIRECT=1: each message is written before imrelp acknowledges
	# it (a direct queue: the action runs in the input thread), so what was
	# acknowledged survives a SIGKILL of the collector.
	local queue=
	[ -z "${COLLECTOR_DIRECT:-}" ] || queue=' queue.type="direct"'
	cat >"$W/rsyslog.conf" <<CONF
global(workDirectory="$W/rsyslog-work" maxMessageSize="8k" parser.escapeControlCharactersOnReceive="off")
module(load="imrelp" tls.tlslib="openssl")
template(name="jgwonly" type="string" string="%app-name% %msgid% %msg%\n")
ruleset(name="jgw"$queue) {
	if \$app-name == "jgw" then {
		action(type="omfile" file="$W/collector.log" template="jgwonly"
		       asyncWriting="off" flushOnTXEnd="on")
	}
}
input(type="imrelp" port="$port" address="localhost" tls="on" ruleset="jgw"
      tls.caCert="$PKI/ca.crt" tls.myCert="$cert.crt" tls.myPrivKey="$cert.key"
      tls.authMode="certvalid")
CONF
	/usr/sbin/rsyslogd -n -f "$W/rsyslog.conf" -i "$W/rsyslog.pid" >>"$W/rsyslog.out" 2>&1 &
	COLLECTOR_PID=$!
	for _ in $(seq 1 100); do
		ss -Hltn "sport = :$port" | grep -q . && return 0
		kill -0 "$COLLECTOR_PID" 2>/dev/null || { cat "$W/rsyslog.out"; die "rsyslogd exited"; }
		sleep 0.1
	done
	cat "$W/rsyslog.out"
	die "rsyslogd did not listen on $port"
}

# collector_start_daily PORT: rsyslog with the shipped collector
# configuration (conf/collector/rsyslog-jgw-audit.conf), its paths moved
# into $W: day files under $W/days/GW/YYYY/YYYY-MM-DD.jsonl.
collector_start_daily() {
	local port=$1
	mkdir -p "$W/rsyslog-work" "$W/days"
	{
		echo "global(workDirectory=\"$W/rsyslog-work\")"
		sed -e "s|/var/log/jgw-audit|$W/days|g" -e "s|port=\"2514\"|port=\"$port\" address=\"localhost\"|" \
			-e "s|/etc/jgw-collector/ca.crt|$PKI/ca.crt|" \
			-e "s|/etc/jgw-collector/collector|$W/collector|g" conf/collector/rsyslog-jgw-audit.conf
	} >"$W/rsyslog.conf"
	grep -q "$W/days" "$W/rsyslog.conf" && grep -q "port=\"$port\"" "$W/rsyslog.conf" ||
		die "the shipped collector configuration did not take the test's paths"
	/usr/sbin/rsyslogd -n -f "$W/rsyslog.conf" -i "$W/rsyslog.pid" >>"$W/rsyslog.out" 2>&1 &
	COLLECTOR_PID=$!
	wait_for 100 ss_listening "$port" || { cat "$W/rsyslog.out"; die "rsyslogd did not listen on $port"; }
}
ss_listening() { kill -0 "$COLLECTOR_PID" 2>/dev/null && ss -Hltn "sport = :$1" | grep -q .; }

collector_stop() {
	[ -n "$COLLECTOR_PID" ] || return 0
	kill "$COLLECTOR_PID"
	wait "$COLLECTOR_PID" 2>/dev/null || true
	COLLECTOR_PID=
}

# The k0 and current key of a fresh chain in $W.
chain_init() {
	"$CTL" init -o "$W/k0.hex" -k "$W/audit.key" 2>/dev/null
}

# need_faketime: libfaketime's path in FAKETIME_LIB, or skip.
need_faketime() {
	FAKETIME_LIB=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
	[ -n "$FAKETIME_LIB" ] || skip "libfaketime is not installed (make deps)"
}

# writer_at EPOCH-SECONDS ARGS...: the writer with its wall clock (only its
# wall clock: the monotonic one is real) starting at that time, in UTC.
# Under a sanitizer build (make check SAN=1) ASan must be told that the
# preloaded libfaketime comes before it on purpose.
writer_at() {
	local t=$1; shift
	ASAN_OPTIONS=verify_asan_link_order=0${ASAN_OPTIONS:+:$ASAN_OPTIONS} \
	TZ=UTC LD_PRELOAD=$FAKETIME_LIB FAKETIME_DONT_FAKE_MONOTONIC=1 \
		FAKETIME="@$(date -u -d "@$t" '+%F %T')" "$WRITER" "$@"
}

mirror_args() {
	echo "-c localhost:$1 -C $PKI/ca.crt -E $PKI/131016.crt -K $PKI/131016.key"
}

# collector_has LAST: the collector's file holds every seq 1..LAST (rsyslog
# writes from its action queue some time after it has acknowledged).
collector_has() {
	[ -s "$W/collector.log" ] &&
		[ "$(sed -n 's/.*"seq":\([0-9]*\),.*/\1/p' "$W/collector.log" | sort -nu | awk -v l="$1" '$1 >= 1 && $1 <= l' | wc -l)" = "$1" ]
}

# collector_wait LAST: until collector_has LAST (at most 20 s).
collector_wait() {
	wait_for 200 collector_has "$1" || die "the collector's file does not hold seq 1..$1 after 20 s"
}

# committed_over FILE N: the writer (its stdout in FILE) reported a commit
# beyond seq N.
committed_over() {
	[ "$(sed -n 's/^committed \([0-9]*\)$/\1/p' "$1" | tail -1)" -gt "$2" ] 2>/dev/null
}

# collector_check LAST: the collector holds every seq 1..LAST, each once after
# dropping identical duplicates; each message's MSGID is its lone record's
# event, or "batch" for several records of one UTC day; no message is longer
# than 8000 bytes; and the copy verifies with k0.
collector_check() {
	local last=$1 log=$W/collector.log
	[ -s "$log" ] || die "the collector wrote nothing"
	grep -v '^jgw [a-z_-]* {"ts":"' "$log" | grep -qv '^{"ts":"' && die "a line neither a message nor a record"
	# One message: a prefixed line, then its further records on bare lines.
	awk 'function end() { if (!n) return
	                      if (id == "batch" ? lines < 2 : (lines != 1 || id != ev)) bad++
	                      if (bytes > 8000) big++ }
	     function day(l) { return substr(l, index(l, "{\"ts\":\"") + 7, 10) }
	     /^jgw / { end(); n++; id = $2; lines = 1; bytes = length($0) - length($2) - 5; d = day($0)
	               ev = $0; sub(/.*"event":"/, "", ev); sub(/".*/, "", ev); next }
	     { lines++; bytes += length($0) + 1; if (day($0) != d) days++ }
	     END { end(); printf "collector: %d messages for %d lines\n", n, NR
	           exit bad + big + days > 0 }' "$log" ||
		die "a message whose MSGID is not its event (or batch), longer than 8000 bytes or of two days"
	sed 's/.*"seq":\([0-9]*\),.*/\1/' "$log" | sort -n | uniq >"$W/seqs"
	local n first lastseen
	n=$(wc -l <"$W/seqs"); first=$(head -1 "$W/seqs"); lastseen=$(tail -1 "$W/seqs")
	[ "$first" = 1 ] && [ "$lastseen" -ge "$last" ] && [ "$n" = "$lastseen" ] \
		|| die "collector has $n distinct seqs, $first..$lastseen; want 1..$last without gaps"
	# Identical duplicates only: as many distinct records as distinct seqs.
	local distinct
	distinct=$(sed 's/^jgw [a-z_-]* //' "$log" | sort -u | wc -l)
	[ "$distinct" = "$n" ] || die "a seq arrived twice with different content"
	"$CTL" verify --key "$W/k0.hex" "$log" || [ $? -eq 3 ] || die "the collector's copy does not verify"
	echo "collector: $(wc -l <"$log") records, seq 1..$lastseen, $((  $(wc -l <"$log") - n )) duplicates"
}
