#!/usr/bin/env bash
# demo.sh — the live demo (make demo): four sites of netplan.md in network
# namespaces, one jgwd per site with its nftables table, a 住基 and a 附票
# server per site (jgw-node serve), a realistic mix of allowed traffic and of
# traffic that must be refused, then a table of what passed and what was
# refused and why, and the last audit records of every gateway.
#
# Needs root (namespaces, nftables). Leaves nothing behind (trap), and can
# run again at once. JGW_DEMO_KEEP=1 keeps the work directory (configs,
# logs, spools) for a closer look; JGW_DEMO_TAIL=N audit records per gateway.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=$(cd "${JGW_BUILD:-$ROOT/build}" && pwd)
NS_PREFIX=jd-
NS_ROOT=$ROOT
NS_WORK=$(mktemp -d /tmp/jgw-demo.XXXXXX)
TAIL=${JGW_DEMO_TAIL:-6}
SITES=(chiyoda chuo tokyo jlis)
# shellcheck source=tests/lib/netns.sh
source "$ROOT/tests/lib/netns.sh"

cleanup() {
	local s
	for s in "${SITES[@]}"; do ns_jgwd_stop "$s"; done
	ns_down
	if [ "${JGW_DEMO_KEEP:-0}" = 1 ]; then
		echo "work directory kept: $NS_WORK"
	else
		rm -rf "$NS_WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "demo: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, nftables)"
for bin in jgwd jgwctl jgw-node; do
	[ -x "$B/$bin" ] || die "$B/$bin is missing: run make first"
done
command -v jq >/dev/null || die "jq is missing (make deps)"
ip netns add jd-probe 2>/dev/null || die "cannot create network namespaces here"
ip netns exec jd-probe nft list tables >/dev/null 2>&1 || { ip netns del jd-probe; die "nftables does not work in a namespace here"; }
ip netns del jd-probe

# ---------------------------------------------------------------------
# Build the world.

bold=$(tput bold 2>/dev/null || true); norm=$(tput sgr0 2>/dev/null || true)
say() { printf '%s==> %s%s\n' "$bold" "$*" "$norm"; }

ns_down                      # leftovers of a run killed before its trap
say "network: WAN bridge 10.77.0.0/24 + fd00:77::/64; per site a gateway and a site-server namespace"
ns_up "${SITES[@]}" || die "cannot build the namespaces"
say "PKI: conf/mkpki.sh (CA, one certificate per node, CRL, negative material)"
ns_pki || die "cannot make the PKI"
for s in "${SITES[@]}"; do
	printf '    %-8s %s %-8s gateway wan %-12s lan %-10s  server %s (住基 :7101, 附票 :7201)\n' \
		"$s" "${NS_CODE[$s]}" "${NS_NAME_JA[$s]}" "$(ns_wan4 "$s")" "$(ns_lan_gw "$s")" "$(ns_lan_srv "$s")"
done
say "starting jgwd and the site servers"
ns_site_up "${SITES[@]}" || die "a site did not start"
for s in "${SITES[@]}"; do
	n=$(ip netns exec "$(ns_gw "$s")" nft list tables 2>/dev/null | wc -l)
	printf '    %-8s jgwd pid %s, nftables tables: %s\n' "$s" "$(cat "$NS_WORK/$s/jgwd.pid")" "$n"
done

# ---------------------------------------------------------------------
# Scenario rows. Each row records: what, from→to, expected, result, why.

ROWS=()
FAILED=0
declare -A SEEN                # audit lines already shown per gateway

audit_count() { ns_audit "$1" | wc -l; }
mark_audit() { local s; for s in "${SITES[@]}"; do SEEN[$s]=$(audit_count "$s"); done; }

# The reasons of the refusals that reached any gateway's audit since mark_audit.
new_refusals() {
	local s
	sleep 0.4                  # group commit: records are durable within 100 ms
	for s in "${SITES[@]}"; do
		ns_audit "$s" | tail -n +"$((SEEN[$s] + 1))" | jq -r --arg gw "$s" '
			select((.event == "message" and .verdict == "deny")
			    or (.event == "tunnel" and (.state == "reject"
			        or (.state == "close" and (.reason // "") != "" and .reason != "peer-closed"
			            and .reason != "local-closed" and .reason != "done"))))
			| "\($gw): " + (if .event == "message"
			    then "\(.reason)" + (if .field then " field \(.field)" else "" end) + " (\(.type_name // .type))"
			    else "tunnel \(.state) \(.reason // "")" end)' 2>/dev/null
	done | awk '!seen[$0]++' | head -3 | paste -sd ';' | sed 's/;/; /g'
}

# Frames of a type from a sender that a site's server received so far.
delivered() {
	local site=$1 log=$2 type=$3 from=$4
	jq -r --arg t "$type" --arg f "$from" \
		'select(.event == "frame" and .type_name == $t and .sender == $f) | .records' \
		"$NS_WORK/$site/$log.log" 2>/dev/null | awk '{n++; r += $1} END {printf "%d %d", n, r}'
}

add_row() { ROWS+=("$1"$'\t'"$2"$'\t'"$3"$'\t'"$4"$'\t'"$5"); }

# allowed LABEL SRC_SITE DST_SITE SERVER(juki|fuhyo) TYPE COUNT RECORDS
allowed() {
	local label=$1 src=$2 dst=$3 server=$4 type=$5 count=$6 records=$7 out rc bn br an ar
	local from=${NS_CODE[$src]} to=${NS_CODE[$dst]}
	read -r bn br < <(delivered "$dst" "$server" "$type" "$from")
	mark_audit
	out=$(ns_send "$src" --to "$to" --type "$type" --count "$count" --records "$records" --timeout 10 2>&1)
	rc=$?
	read -r an ar < <(delivered "$dst" "$server" "$type" "$from")
	local got=$((an - bn)) answers
	answers=$(grep -o 'answered [a-z-]*' <<<"$out" | awk '{print $2}' | sort | uniq -c | awk '{printf "%s×%s ", $2, $1}')
	if [ "$rc" = 0 ] && [ "$got" = "$count" ]; then
		add_row "$label" "$from→$to" "pass" "passed: ${answers% }" \
			"${NS_NAME_JA[$dst]} $( [ "$server" = juki ] && echo 住基 || echo 附票) server got $got frame(s)$( [ "$records" -gt 1 ] && echo ", $((ar - br)) records")"
	else
		FAILED=$((FAILED + 1))
		add_row "$label" "$from→$to" "pass" "FAILED (exit $rc)" \
			"server got $got of $count; $(new_refusals) $(tail -1 <<<"$out")"
	fi
}

# refused LABEL SRC_SITE DST_CODE TYPE SEND-OPTIONS...
refused() {
	local label=$1 src=$2 to=$3 type=$4 out rc why; shift 4
	mark_audit
	out=$(ns_send "$src" --to "$to" --type "$type" --expect close --timeout 5 "$@" 2>&1)
	rc=$?
	why=$(new_refusals)
	if [ "$rc" = 0 ]; then
		add_row "$label" "${NS_CODE[$src]}→$to" "refuse" "refused: connection closed" "${why:-(no audit record found)}"
	else
		FAILED=$((FAILED + 1))
		add_row "$label" "${NS_CODE[$src]}→$to" "refuse" "FAILED: $(tail -1 <<<"$out")" "${why:-}"
	fi
}

# A fake peer gateway: openssl s_client from a municipality gateway's WAN
# address (allowed by tokyo's firewall) with a certificate that must fail.
bad_cert() {
	local from=$1 label=$2 cert=$3 key=$4 frame why got
	mark_audit
	frame=$NS_WORK/frame.bin
	"$B/jgw-node" frame --from 131016 --to 130001 --type tenshutsu-kakutei >"$frame"
	got=$( { cat "$frame"; sleep 1; } | ip netns exec "$(ns_gw "$from")" timeout 10 \
		openssl s_client -quiet -no_ign_eof -connect "$(ns_wan4 tokyo):7443" -cert "$cert" -key "$key" \
		-CAfile "$NS_WORK/pki/ca.crt" 2>/dev/null | head -c 48 | wc -c)
	why=$(new_refusals)
	if [ "$got" = 0 ] && [ -n "$why" ]; then
		add_row "$label" "$(ns_wan4 "$from")→130001" "refuse" "refused: TLS handshake" "$why"
	else
		FAILED=$((FAILED + 1))
		add_row "$label" "$(ns_wan4 "$from")→130001" "refuse" "FAILED: $got answer bytes" "${why:-(no audit record found)}"
	fi
}

stranger() {
	local out rc
	out=$(ip netns exec "$(ns_stranger)" "$B/jgw-node" send --connect "$(ns_wan4 tokyo):7443" \
		--from 131016 --to 130001 --type tenshutsu-kakutei --expect refused --timeout 2 2>&1)
	rc=$?
	if [ "$rc" = 0 ]; then
		add_row "stranger dials the WAN port" "10.77.0.66→130001" "refuse" \
			"refused: $(sed -n 's/^result: refused (\(.*\))/\1/p' <<<"$out")" \
			"nftables drop on tokyo (source not in the peer directory)"
	else
		FAILED=$((FAILED + 1))
		add_row "stranger dials the WAN port" "10.77.0.66→130001" "refuse" "FAILED: connected" ""
	fi
}

# chiyoda's server has failed 3 times; two more refusals put it over the
# threshold, and then even a valid notice is dropped by the kernel.
quarantine() {
	local i out rc why
	mark_audit
	for i in 1 2; do
		ns_send chiyoda --to 131024 --type honnin-tsuchi --expect close --timeout 5 >/dev/null 2>&1
	done
	out=$(ns_send chiyoda --to 130001 --type tenshutsu-kakutei --expect refused --timeout 2 2>&1)
	rc=$?
	sleep 0.3
	why=$(ns_audit chiyoda | tail -n +"$((SEEN[chiyoda] + 1))" | jq -r \
		'select(.event == "quarantine") | "chiyoda: quarantine \(.action) \(.addr) \(.timeout_s)s (\(.cause))"' \
		2>/dev/null | head -1)
	if [ "$rc" = 0 ] && [ -n "$why" ]; then
		add_row "valid notice after 5 refusals (quarantine)" "131016→130001" "refuse" \
			"refused: $(sed -n 's/^result: refused (\(.*\))/\1/p' <<<"$out")" "$why"
	else
		FAILED=$((FAILED + 1))
		add_row "valid notice after 5 refusals (quarantine)" "131016→130001" "refuse" \
			"FAILED: $(tail -1 <<<"$out")" "${why:-(no quarantine record)}"
	fi
}

say "sending the mix"
allowed "本人確認情報通知 honnin-tsuchi (R batches)"    chiyoda tokyo juki  honnin-tsuchi 3 50
allowed "本人確認情報通知（機構） honnin-tsuchi-kiko"    tokyo   jlis  juki  honnin-tsuchi-kiko 2 100
allowed "転入通知 tennyu-tsuchi (CS→CS)"                chiyoda chuo  juki  tennyu-tsuchi 2 1
allowed "番号生成 bango-seisei → bango-tsuchi"          chiyoda jlis  juki  bango-seisei 3 1
allowed "広域交付 koiki-kofu → koiki-kofu-kaito"        chuo    chiyoda juki koiki-kofu 1 1
allowed "附票本人確認情報通知 fuhyo-honnin-tsuchi"       chuo    tokyo fuhyo fuhyo-honnin-tsuchi 2 20
allowed "附票本人確認情報通知（機構）"                   tokyo   jlis  fuhyo fuhyo-honnin-tsuchi-kiko 1 40
allowed "戸籍の附票記載事項通知 fuhyo-kisai-tsuchi"      chuo    chiyoda juki fuhyo-kisai-tsuchi 1 1
# Refusals are spread over the sites: a source that fails 5 times within
# 60 s is quarantined (common/policy.conf), which the last rows show.
refused "wrong direction: honnin-tsuchi to a CS"         chiyoda 131024 honnin-tsuchi
refused "wrong direction: CS sends the prefecture's notice" chuo    000000 tennyu-tsuchi --bad direction
refused "spoofed sender (claims 中央区)"                 chiyoda 130001 tenshutsu-kakutei --bad sender --spoof 131024
refused "bad check digit in a 住民票コード"              chiyoda 131024 tennyu-tsuchi --bad check-digit
refused "unsolicited response (ack to nothing)"          chuo    130001 tenshutsu-kakutei --bad unsolicited
refused "fields out of order"                            tokyo   000000 honnin-tsuchi-kiko --bad tlv-order
refused "CS of another prefecture (大阪府)"              chuo    270008 honnin-tsuchi
bad_cert chiyoda "certificate expired"          "$NS_WORK/pki/bad/expired.crt" "$NS_WORK/pki/bad/expired.key"
bad_cert chuo    "certificate of an unknown CA" "$NS_WORK/pki/bad/unknown-ca.crt" "$NS_WORK/pki/bad/unknown-ca.key"
bad_cert chiyoda "certificate revoked (CRL)"    "$NS_WORK/pki/bad/revoked.crt" "$NS_WORK/pki/bad/revoked.key"
bad_cert chuo    "大阪府 CS certificate at 東京都" "$NS_WORK/pki/271004.crt" "$NS_WORK/pki/271004.key"
stranger
quarantine

# ---------------------------------------------------------------------
# The table, then the audit trail.

echo
say "what passed and what was refused"
{
	printf '#\ttraffic\tfrom→to\texpected\tresult\twhy / evidence\n'
	i=0
	for r in "${ROWS[@]}"; do i=$((i + 1)); printf '%s\t%s\n' "$i" "$r"; done
} | column -t -s $'\t' -o '  '

echo
say "last $TAIL message/tunnel audit records per gateway (metadata only)"
for s in "${SITES[@]}"; do
	echo "--- $s (${NS_CODE[$s]} ${NS_NAME_JA[$s]}): $(audit_count "$s") records in its spool"
	ns_audit "$s" | jq -r 'select(.event == "message" or .event == "tunnel")
		| if .event == "message" then
		    "  #\(.seq) message \(.dir) \(.type_name // .type) \(.sender)→\(.receiver) seq=\(.frame_seq) \(.bytes)B \(.verdict)" + (if .reason then " " + .reason else "" end)
		  else
		    "  #\(.seq) tunnel  \(.state) \(.side) peer=\(.peer // "-") \(.peer_addr // "")" + (if .reason then " " + .reason else "" end)
		  end' 2>/dev/null | tail -n "$TAIL"
done

echo
if [ "$FAILED" -eq 0 ]; then
	say "demo: all ${#ROWS[@]} rows behaved as expected"
else
	say "demo: $FAILED of ${#ROWS[@]} rows did NOT behave as expected"
fi
[ "$FAILED" -eq 0 ]
