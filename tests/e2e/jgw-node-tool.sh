# jgw-node-tool — the scenario tool itself, on loopback (no root needed):
# every frame it builds is judged by the real engine (jgw-inspect) — valid
# ones allowed, each --bad kind denied for the reason it claims — and its
# server answers each request with the right type and logs no field value.
source "$(dirname "$0")/lib.sh"
[ -x "$B/jgw-node" ] || fail "$B/jgw-node is not built"
[ -x "$B/jgw-inspect" ] || fail "$B/jgw-inspect is not built"
command -v jq >/dev/null || skip "jq is not installed (make deps)"
CAT=$ROOT/conf/catalog.jcat

# judge LOCAL PEER EXPECT(allow|REASON-REGEX) FRAME-OPTIONS...
judge() {
	local local_=$1 peer=$2 expect=$3 out last; shift 3
	"$B/jgw-node" frame "$@" >"$NS_WORK/f.bin" || fail "jgw-node frame $* failed"
	out=$("$B/jgw-inspect" --catalog "$CAT" --local "$local_" --peer "$peer" --side lan "$NS_WORK/f.bin")
	last=$(tail -1 <<<"$out")
	if [ "$expect" = allow ]; then
		[ -n "$out" ] && ! grep -q '"deny"' <<<"$out" || { echo "$out"; fail "denied: $*"; }
	else
		[[ $(jq -r .reason <<<"$last") =~ ^($expect)$ ]] || { echo "$out"; fail "expected $expect: $*"; }
		# Only the last frame is the bad one.
		[ "$(grep -c '"deny"' <<<"$out")" = 1 ] || { echo "$out"; fail "more than one deny: $*"; }
	fi
	echo "ok $expect: $*"
}

judge 131016 130001 allow --from 131016 --to 130001 --type honnin-tsuchi --records 50 --count 3
judge 130001 000000 allow --from 130001 --to 000000 --type honnin-tsuchi-kiko --records 1000
judge 131016 130001 allow --from 131016 --to 130001 --type tenshutsu-kakutei --count 2
judge 131016 131024 allow --from 131016 --to 131024 --type tennyu-tsuchi --count 4
judge 131016 131024 allow --from 131016 --to 131024 --type tenshutsu-shomei
judge 131016 131024 allow --from 131016 --to 131024 --type koiki-kofu
judge 131016 131024 allow --from 131016 --to 131024 --type fuhyo-kisai-tsuchi
judge 131016 000000 allow --from 131016 --to 000000 --type bango-seisei --count 2
judge 131024 130001 allow --from 131024 --to 130001 --type fuhyo-honnin-tsuchi --records 20
judge 130001 000000 allow --from 130001 --to 000000 --type fuhyo-honnin-tsuchi-kiko --records 7
judge 131016 130001 allow --from 131016 --to 130001 --type keepalive

judge 131016 131024 bad-value --from 131016 --to 131024 --type tennyu-tsuchi --count 2 --bad check-digit
judge 131016 130001 bad-value --from 131016 --to 130001 --type honnin-tsuchi --records 5 --bad check-digit
judge 131016 130001 bad-sender --from 131016 --to 130001 --type tenshutsu-kakutei --bad sender --spoof 131024
judge 131016 130001 unsolicited-response --from 131016 --to 130001 --type tenshutsu-kakutei --count 2 --bad unsolicited
judge 131016 130001 direction-not-allowed --from 131016 --to 130001 --type tenshutsu-kakutei --bad direction
judge 131016 131024 'tlv-order|tlv-missing' --from 131016 --to 131024 --type tennyu-tsuchi --bad tlv-order
judge 130001 000000 'tlv-order|tlv-missing' --from 130001 --to 000000 --type honnin-tsuchi-kiko --bad tlv-order
judge 131016 130001 bad-magic --from 131016 --to 130001 --type tenshutsu-kakutei --bad magic
judge 131016 130001 bad-flags --from 131016 --to 130001 --type tenshutsu-kakutei --bad flags
judge 131016 130001 seq-not-increasing --from 131016 --to 130001 --type tenshutsu-kakutei --count 2 --bad seq
judge 131016 130001 clock-skew --from 131016 --to 130001 --type tenshutsu-kakutei --bad skew
judge 131016 130001 body-too-large --from 131016 --to 130001 --type tenshutsu-kakutei --bad oversize
judge 131016 130001 truncated-frame --from 131016 --to 130001 --type tenshutsu-kakutei --bad truncated

# Server and client on loopback (e2e port range).
port=$((24000 + RANDOM % 900))
export JGW_NODE_MARKER=NODEMARK$$
"$B/jgw-node" serve --listen "127.0.0.1:$port" --node 130001 >"$NS_WORK/serve.log" 2>&1 &
for _ in $(seq 50); do grep -q '"listen"' "$NS_WORK/serve.log" && break; sleep 0.1; done
send() { "$B/jgw-node" send --connect "127.0.0.1:$port" --from 131016 --to 130001 "$@"; }
send --type honnin-tsuchi --records 10 --count 3 | grep -c 'answered ack' | grep -qx 3 || fail "notices not acked"
send --type bango-seisei | grep -q 'answered bango-tsuchi' || fail "bango-seisei not answered by bango-tsuchi"
send --type koiki-kofu | grep -q 'answered koiki-kofu-kaito' || fail "koiki-kofu not answered by its kaito"
# A frame addressed to another node is refused by the server with a nack.
"$B/jgw-node" send --connect "127.0.0.1:$port" --from 131016 --to 131024 --type tennyu-tsuchi >"$NS_WORK/nack.out" &&
	fail "a nack counted as an answer"
grep -q 'answered nack' "$NS_WORK/nack.out" || fail "no nack for a frame to another node"
send --type tenshutsu-kakutei --expect close --timeout 1 >/dev/null && fail "--expect close passed on an answered frame"
"$B/jgw-node" send --connect "127.0.0.1:$((port + 1))" --from 131016 --to 130001 --type keepalive \
	--expect refused --timeout 1 >/dev/null || fail "--expect refused did not see the refused connect"
"$B/jgw-node" send --connect "127.0.0.1:$((port + 1))" --from 131016 --to 130001 --type keepalive \
	--expect dropped --timeout 1 >/dev/null && fail "--expect dropped passed on a reset (refused) connect"
# A connection that is accepted, then closed, was neither refused nor dropped.
send --type tenshutsu-kakutei --bad magic --expect refused --timeout 1 >/dev/null &&
	fail "--expect refused passed on an accepted connection"
send --type tenshutsu-kakutei --bad magic --expect dropped --timeout 1 >/dev/null &&
	fail "--expect dropped passed on an accepted connection"
"$B/jgw-node" load --connect "127.0.0.1:$port" --from 131016 --to 130001 --frames 5000 --conns 2 >"$NS_WORK/load.out" ||
	{ cat "$NS_WORK/load.out"; fail "load run failed"; }
[ "$(jq -r .frames_acked "$NS_WORK/load.out")" = 5000 ] || fail "load: not all 5000 frames acked"
# Metadata only: the marker went out in every frame and is not in the log.
n=$(jq -c 'select(.event == "frame")' "$NS_WORK/serve.log" | wc -l)
[ "$n" -ge 5000 ] || fail "server logged $n frames"
! grep -qa "$JGW_NODE_MARKER" "$NS_WORK/serve.log" || fail "the server log holds a field value"
echo "jgw-node: frames judged by the engine, answers right, $n frames logged as metadata only"
