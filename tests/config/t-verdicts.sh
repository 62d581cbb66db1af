#!/usr/bin/env bash
# t-verdicts.sh — one configuration, one verdict: every fixture
# (tests/config/good/*.conf, tests/config/bad/*.conf and the shipped
# examples conf/*.conf) is accepted or refused alike, on one machine (the
# same namespace, accounts and private state), by
#   jgwctl check FILE    (what an operator runs before a reload),
#   jgwd -n -c FILE      (the daemon's check mode), and
#   jgwd -c FILE         (a real start, then SIGTERM: it must log that it
#                         started, and exit 0 when stopped; a refusal is
#                         exit 1 before that).
# The start runs in a network namespace of its own (jc-PID, with lan0 and
# wan0 — veth pairs — carrying the addresses the file listens on) and a private
# /run and /var/lib (bind mounts in that namespace's own mount namespace),
# where the file's state paths — the examples' and the defaults
# /run/jgw/... and /var/lib/jgw/... — hold a fresh audit key and spool.
#
# A fixture whose three verdicts differ fails the case, unless
# tests/config/known-disagreements names it with exactly those verdicts (a
# product bug reported, not yet fixed); a fixture listed there that now
# agrees fails it too, so the list cannot outlive the bug.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
B=$(cd "${B:-$top/build}" 2>/dev/null && pwd) || B=$top/build
JGWD=$B/jgwd JGWCTL=$B/jgwctl
known=$top/tests/config/known-disagreements
# shellcheck source=tests/lib/wait.sh
source "$top/tests/lib/wait.sh"
skip() { echo "$*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
[ -x "$JGWD" ] && [ -x "$JGWCTL" ] || fail "$B/jgwd or $B/jgwctl is not built"
[ "$(id -u)" = 0 ] || skip "needs root (network and mount namespaces, nftables)"
ns=jc-$$
ip netns add "$ns-probe" 2>/dev/null || skip "cannot create a network namespace here"
ip netns del "$ns-probe"

W=$(mktemp -d /tmp/jgw-verdicts.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

# The fixtures laid out as test_config.c has them: conf/ with a fresh PKI,
# good/ and bad/ beside it with pki and catalog.jcat pointing into conf/.
cp -R "$top/conf" "$W/conf"
sh "$top/conf/mkpki.sh" "$W/conf/pki" >"$W/mkpki.log" 2>&1 || { cat "$W/mkpki.log"; fail "conf/mkpki.sh"; }
for d in good bad; do
	cp -R "$top/tests/config/$d" "$W/$d"
	ln -s ../conf/pki "$W/$d/pki"
	ln -s ../conf/catalog.jcat "$W/$d/catalog.jcat"
done

verdict() {   # exit status of a check: accept, reject, or what it was
	case $1 in 0) echo accept;; 1) echo reject;; *) echo "exit-$1";; esac
}

# world_up FILE: the namespace and the private state FILE is judged in
# (all three verdicts see the same machine: the same accounts, the same
# fresh audit key under /var/lib, the same addresses).
world_up() {
	local f=$1 st=$W/state side addr
	rm -rf "$st"
	mkdir -p "$st/run/jgw" "$st/lib/jgw/audit"
	"$JGWCTL" audit init -o "$st/k0" -k "$st/lib/jgw/audit.key" >/dev/null 2>&1 || fail "jgwctl audit init"
	ip netns add "$ns" || fail "ip netns add $ns"
	ip -n "$ns" link set lo up
	for side in lan wan; do
		ip -n "$ns" link add "${side}0" type veth peer name "${side}1" &&
			ip -n "$ns" link set "${side}0" up && ip -n "$ns" link set "${side}1" up ||
			fail "veth ${side}0"
	done
	# The addresses the file listens on (the wildcards need none).
	while read -r side addr; do
		case $addr in ''|::|0.0.0.0) continue;; *:*) addr=$addr/128;; *) addr=$addr/32;; esac
		ip -n "$ns" addr add "$addr" dev "${side}0" nodad 2>/dev/null ||
			ip -n "$ns" addr add "$addr" dev "${side}0" 2>/dev/null
	done < <(sed -n 's/^[[:space:]]*listen[[:space:]]\{1,\}\(lan\|wan\)[[:space:]]\{1,\}"\{0,1\}\([0-9A-Fa-f.:]*\)"\{0,1\}[[:space:]].*/\1 \2/p' "$f")
}

# in_world CMD...: run it in the namespace, with /run and /var/lib the
# private ones (ip netns exec gives each command a mount namespace of its
# own: the bind mounts do not reach the host).
in_world() {
	local st=$W/state
	ip netns exec "$ns" sh -c 'mount --bind "$1" /run && mount --bind "$2" /var/lib && shift 2 && exec "$@"' \
		sh "$st/run" "$st/lib" "$@"
}

# start_verdict FILE LOG: start jgwd on FILE in its world and stop it;
# the verdict goes to START.
start_verdict() {
	local f=$1 log=$2 rc
	# Emptied before the start: the last fixture's "started" must not count
	# (the background command would truncate it only once it runs).
	: >"$log"
	# Not through in_world: $! must be jgwd itself, for the SIGTERM.
	ip netns exec "$ns" sh -c 'mount --bind "$1" /run && mount --bind "$2" /var/lib && exec "$3" -c "$4"' \
		sh "$W/state/run" "$W/state/lib" "$JGWD" "$f" >>"$log" 2>&1 &
	pid=$!
	started_or_gone() { grep -q ' started: site ' "$log" || ! kill -0 "$pid" 2>/dev/null; }
	if ! wait_for 150 started_or_gone; then
		START=hung
	elif kill -0 "$pid" 2>/dev/null; then     # alive, so it has said it started
		kill -TERM "$pid"
		wait_gone 100 "$pid" || kill -9 "$pid"
		wait "$pid"; rc=$?
		[ "$rc" = 0 ] && START=accept || START="stop-exit-$rc"
	else
		wait "$pid"; rc=$?
		START=$(verdict "$rc")
	fi
	[ "$START" = hung ] && kill -9 "$pid" 2>/dev/null
	pid=
}

disagree=() unexpected=() n=0
for f in "$W"/good/*.conf "$W"/bad/*.conf "$W"/conf/*.conf; do
	name=${f#"$W"/}
	n=$((n + 1))
	world_up "$f"
	in_world "$JGWCTL" check "$f" >"$W/check.log" 2>&1; c=$(verdict $?)
	in_world "$JGWD" -n -c "$f" >"$W/n.log" 2>&1; m=$(verdict $?)
	start_verdict "$f" "$W/start.log"
	s=$START
	ip netns del "$ns"
	line="$name: check=$c jgwd-n=$m start=$s"
	want=$(awk -v n="$name" '$1 == n { print $2, $3, $4 }' "$known" 2>/dev/null)
	if [ "$c" = "$m" ] && [ "$m" = "$s" ]; then
		echo "agree     $line"
		[ -z "$want" ] || unexpected+=("$name agrees now ($c): remove it from tests/config/known-disagreements")
	elif [ "check=$c jgwd-n=$m start=$s" = "$want" ]; then
		echo "KNOWN     $line ($(awk -v n="$name" '$1 == n { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print }' "$known"))"
		disagree+=("$line")
	else
		echo "DISAGREE  $line"
		sed 's/^/          | /' "$W/check.log" | tail -3
		sed 's/^/          | /' "$W/start.log" | tail -5
		unexpected+=("$line")
	fi
done
echo "$n configurations; ${#disagree[@]} known disagreement(s), ${#unexpected[@]} unexpected"
[ "$n" -ge 20 ] || fail "only $n fixtures found"
[ "${#unexpected[@]}" = 0 ] || { printf 'FAIL: %s\n' "${unexpected[@]}"; exit 1; }
exit 0
