#!/usr/bin/env bash
# demo.sh — the live demo (make demo): four sites of netplan.md in network
# namespaces, one jgwd per site with its nftables table, a 住基 and a 附票
# server per site (jgw-node serve), a realistic mix of allowed traffic and of
# traffic that must be refused, then what passed and what was refused and
# why, the last audit records of every gateway, one operator action at
# 東京都 with the records it made, and 東京都's configuration history,
# status, peers and metrics as jgwctl shows them.
#
# Needs root (namespaces, nftables). Leaves nothing behind (trap), and can
# run again at once. JGW_DEMO_KEEP=1 keeps the work directory (configs,
# logs, spools) for a closer look; JGW_DEMO_TAIL=N audit records per gateway;
# JGW_DEMO_PREFIX names its namespaces (default jd-). Escape codes only on a
# terminal; every line fits in 100 columns (tests/demo/t-demo.sh checks it).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=$(cd "${JGW_BUILD:-$ROOT/build}" && pwd)
NS_PREFIX=${JGW_DEMO_PREFIX:-jd-}
NS_ROOT=$ROOT
NS_WORK=$(mktemp -d /tmp/jgw-demo.XXXXXX)
TAIL=${JGW_DEMO_TAIL:-6}
SITES=(chiyoda chuo tokyo jlis)
# shellcheck source=tests/lib/netns.sh
source "$ROOT/tests/lib/netns.sh"
# shellcheck source=tests/lib/wait.sh
source "$ROOT/tests/lib/wait.sh"

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
ip netns add "${NS_PREFIX}probe" 2>/dev/null || die "cannot create network namespaces here"
ip netns exec "${NS_PREFIX}probe" nft list tables >/dev/null 2>&1 || {
	ip netns del "${NS_PREFIX}probe"; die "nftables does not work in a namespace here"; }
ip netns del "${NS_PREFIX}probe"

# ---------------------------------------------------------------------
# Build the world.

# Bold headings on a terminal only: piped or logged, the output is plain text.
bold='' norm=''
if [ -t 1 ]; then
	bold=$(tput bold 2>/dev/null || true); norm=$(tput sgr0 2>/dev/null || true)
fi
say() { printf '%s==> %s%s\n' "$bold" "$*" "$norm"; }

# wrap: lines longer than 96 columns (jgwctl's ASCII output; bytes, so
# never too few) broken at a space, continued under a deeper indent. jgwctl
# answers "key value key value ...": a break falls between two pairs.
wrap() {
	awk -v w=96 '{
		n = split($0, t, " ")
		match($0, /^ */)
		ind = substr($0, 1, RLENGTH)
		if (length($0) <= w || n < 4) { print; next }
		line = ind t[1] " " t[2]
		for (i = 3; i <= n; i += 2) {
			pair = t[i] (i < n ? " " t[i + 1] : "")
			if (length(line) + 1 + length(pair) > w) {
				print line
				line = ind "      " pair
			} else {
				line = line " " pair
			}
		}
		print line
	}'
}

ns_down                      # leftovers of a run killed before its trap
say "network: a WAN bridge (10.77.0.0/24, fd00:77::/64), per site a gateway and a server namespace"
ns_up "${SITES[@]}" || die "cannot build the namespaces"
say "PKI: conf/mkpki.sh (a CA, one certificate per node, a CRL, negative material)"
ns_pki || die "cannot make the PKI"
echo "    site     code    gateway WAN   gateway LAN   site server (住基 :7101, 附票 :7201)"
for s in "${SITES[@]}"; do
	printf '    %-8s %s  %-12s  %-12s  %-12s %s\n' \
		"$s" "${NS_CODE[$s]}" "$(ns_wan4 "$s")" "$(ns_lan_gw "$s")" "$(ns_lan_srv "$s")" "${NS_NAME_JA[$s]}"
done
say "starting jgwd and the site servers"
ns_site_up "${SITES[@]}" || die "a site did not start"
for s in "${SITES[@]}"; do
	n=$(ip netns exec "$(ns_gw "$s")" nft list tables 2>/dev/null | wc -l)
	printf '    %-8s jgwd pid %s, nftables tables: %s\n' "$s" "$(cat "$NS_WORK/$s/jgwd.pid")" "$n"
done

# ---------------------------------------------------------------------
# Scenario rows. Each row records: expected, what is sent from where to
# where, the codes, what happened, and the evidence (one item a line).

ROWS=()
FAILED=0
declare -A SEEN                # audit lines already shown per gateway

audit_count() { ns_audit "$1" | wc -l; }
mark_audit() { local s; for s in "${SITES[@]}"; do SEEN[$s]=$(audit_count "$s"); done; }

# The refusals that reached any gateway's audit since mark_audit, one a line.
refusals_since() {
	local s
	for s in "${SITES[@]}"; do
		ns_audit "$s" | tail -n +"$((SEEN[$s] + 1))" | jq -r --arg gw "$s" '
			select((.event == "message" and .verdict == "deny")
			    or (.event == "tunnel" and (.state == "reject"
			        or (.state == "close" and (.reason // "") != "" and .reason != "peer-closed"
			            and .reason != "local-closed" and .reason != "done"))))
			| "audit \($gw): " + (if .event == "message"
			    then "message deny \(.reason)" + (if .field then " field \(.field)" else "" end)
			        + " (\(.type_name // .type))"
			    else "tunnel \(.state) \(.reason // "")" end)' 2>/dev/null
	done | awk '!seen[$0]++' | head -3
}
refusals_at_least() { [ "$(refusals_since | wc -l)" -ge "$1" ]; }

# new_refusals [N]: those lines once there are N of them (default 1), or
# what there is after 5 s. Records are durable within the group commit
# (100 ms); a busy machine may take longer, which is waited for.
new_refusals() {
	wait_for 50 refusals_at_least "${1:-1}"
	refusals_since
}

# Frames of a type from a sender that a site's server received so far.
delivered() {
	local site=$1 log=$2 type=$3 from=$4
	jq -r --arg t "$type" --arg f "$from" \
		'select(.event == "frame" and .type_name == $t and .sender == $f) | .records' \
		"$NS_WORK/$site/$log.log" 2>/dev/null | awk '{n++; r += $1} END {printf "%d %d", n, r}'
}

# add_row EXPECTED LABEL FROM→TO RESULT EVIDENCE (lines)
add_row() { ROWS+=("$1"$'\t'"$2"$'\t'"$3"$'\t'"$4"$'\t'"${5//$'\n'/|}"); }

# The last line of a tool's output, short enough for a row.
last_line() { tail -1 <<<"$1" | cut -c1-70; }

# allowed LABEL SRC_SITE DST_SITE SERVER(juki|fuhyo) TYPE COUNT RECORDS
allowed() {
	local label=$1 src=$2 dst=$3 server=$4 type=$5 count=$6 records=$7 out rc bn br an ar
	local from=${NS_CODE[$src]} to=${NS_CODE[$dst]} what
	read -r bn br < <(delivered "$dst" "$server" "$type" "$from")
	mark_audit
	out=$(ns_send "$src" --to "$to" --type "$type" --count "$count" --records "$records" --timeout 10 2>&1)
	rc=$?
	read -r an ar < <(delivered "$dst" "$server" "$type" "$from")
	local got=$((an - bn)) answers
	answers=$(grep -o 'answered [a-z-]*' <<<"$out" | awk '{print $2}' | sort | uniq -c | awk '{printf "%s×%s ", $2, $1}')
	what="${NS_NAME_JA[$dst]}'s $( [ "$server" = juki ] && echo 住基 || echo 附票) server got $got frame(s)"
	[ "$records" -gt 1 ] && what+=", $((ar - br)) records"
	if [ "$rc" = 0 ] && [ "$got" = "$count" ]; then
		add_row pass "$label" "$from→$to" "passed: answered ${answers% }" "$what"
	else
		FAILED=$((FAILED + 1))
		add_row pass "$label" "$from→$to" "FAILED (exit $rc): $(last_line "$out")" \
			"$what, of $count"$'\n'"$(new_refusals)"
	fi
}

# refused LABEL SRC_SITE DST_CODE TYPE SEND-OPTIONS...
refused() {
	local label=$1 src=$2 to=$3 type=$4 out rc why; shift 4
	mark_audit
	out=$(ns_send "$src" --to "$to" --type "$type" --expect close --timeout 5 "$@" 2>&1)
	rc=$?
	why=$(new_refusals 2)       # the frame's deny, then its tunnel's reject
	if [ "$rc" = 0 ]; then
		add_row refuse "$label" "${NS_CODE[$src]}→$to" "refused: connection closed" \
			"${why:-(no audit record found)}"
	else
		FAILED=$((FAILED + 1))
		add_row refuse "$label" "${NS_CODE[$src]}→$to" "FAILED: $(last_line "$out")" "$why"
	fi
}

# A fake peer gateway: openssl s_client from a municipality gateway's WAN
# address (allowed by tokyo's firewall) to 東京都's WAN port, with a
# certificate that must fail.
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
		add_row refuse "$label" "$(ns_wan4 "$from")→130001" "refused: TLS handshake" "$why"
	else
		FAILED=$((FAILED + 1))
		add_row refuse "$label" "$(ns_wan4 "$from")→130001" "FAILED: $got answer bytes" \
			"${why:-(no audit record found)}"
	fi
}

stranger() {
	local out rc label="the stranger (in no peer directory) dials 東京都's WAN port"
	out=$(ip netns exec "$(ns_stranger)" "$B/jgw-node" send --connect "$(ns_wan4 tokyo):7443" \
		--from 131016 --to 130001 --type tenshutsu-kakutei --expect refused --timeout 2 2>&1)
	rc=$?
	if [ "$rc" = 0 ]; then
		add_row refuse "$label" "10.77.0.66→130001" \
			"refused: $(sed -n 's/^result: refused (\(.*\))/\1/p' <<<"$out")" \
			"nftables drop at tokyo: the source is not in its peer directory"
	else
		FAILED=$((FAILED + 1))
		add_row refuse "$label" "10.77.0.66→130001" "FAILED: connected" ""
	fi
}

# 千代田区's WAN address has now failed 5 times at 東京都 within 60 s (the
# example policy: quarantine after 5 failures within 60s for 10min), so
# 東京都 has quarantined it: even a valid certificate from there is dropped
# by the kernel before TLS starts. (A site's own servers are never
# quarantined by default, firewall quarantine-lan no: it is the WAN side.)
quarantine() {
	local label="TLS from 千代田区's address to 東京都, now quarantined: 131016's valid certificate" why rc
	local a=10.77.0.16
	mark_audit
	timeout 5 ip netns exec "$(ns_gw chiyoda)" openssl s_client -quiet -no_ign_eof \
		-connect "$(ns_wan4 tokyo):7443" -cert "$NS_WORK/pki/131016.crt" -key "$NS_WORK/pki/131016.key" \
		-CAfile "$NS_WORK/pki/ca.crt" </dev/null >/dev/null 2>&1
	rc=$?
	why=$(ns_audit tokyo | jq -r --arg a "$a" \
		'select(.event == "quarantine" and .action == "add" and .addr == $a)
		 | "audit tokyo: quarantine add \(.addr) for \(.timeout_s) s (cause \(.cause))"' \
		2>/dev/null | head -1)
	if [ "$rc" = 124 ] && [ -n "$why" ]; then
		add_row refuse "$label" "$a→130001" "refused: no answer to the TCP connect (timeout)" \
			"$why"$'\n'"the kernel drops it: $a is in tokyo's quarantine set"
	else
		FAILED=$((FAILED + 1))
		add_row refuse "$label" "$a→130001" "FAILED: s_client exit $rc" "${why:-(no quarantine record)}"
	fi
}

say "sending the mix"
allowed "本人確認情報通知 honnin-tsuchi, 3 × 50 records: 千代田区 CS → 東京都 (its prefecture)" \
	chiyoda tokyo juki honnin-tsuchi 3 50
allowed "本人確認情報通知（機構） honnin-tsuchi-kiko, 2 × 100 records: 東京都 → 機構" \
	tokyo jlis juki honnin-tsuchi-kiko 2 100
allowed "転入通知 tennyu-tsuchi, 2 notices: 千代田区 CS → 中央区 CS" \
	chiyoda chuo juki tennyu-tsuchi 2 1
allowed "番号生成 bango-seisei, 3 requests (answer bango-tsuchi): 千代田区 CS → 機構" \
	chiyoda jlis juki bango-seisei 3 1
allowed "広域交付 koiki-kofu (answer koiki-kofu-kaito): 中央区 CS → 千代田区 CS" \
	chuo chiyoda juki koiki-kofu 1 1
allowed "附票本人確認情報通知 fuhyo-honnin-tsuchi, 2 × 20 records: 中央区 → 東京都" \
	chuo tokyo fuhyo fuhyo-honnin-tsuchi 2 20
allowed "附票本人確認情報通知（機構） fuhyo-honnin-tsuchi-kiko, 40 records: 東京都 → 機構" \
	tokyo jlis fuhyo fuhyo-honnin-tsuchi-kiko 1 40
allowed "戸籍の附票記載事項通知 fuhyo-kisai-tsuchi: 中央区 → 千代田区" \
	chuo chiyoda juki fuhyo-kisai-tsuchi 1 1
# Refusals are spread over the sites' LAN servers: they are refused, never
# quarantined (firewall quarantine-lan no). The sender's gateway refuses.
refused "本人確認情報通知 honnin-tsuchi: 千代田区 CS → 中央区 CS (only a prefecture gets it)" \
	chiyoda 131024 honnin-tsuchi
refused "本人確認情報通知（機構） honnin-tsuchi-kiko: 中央区 CS → 機構 (a prefecture's)" \
	chuo 000000 honnin-tsuchi-kiko
refused "転出確定通知 tenshutsu-kakutei, sender forged as 中央区: 千代田区 CS → 東京都" \
	chiyoda 130001 tenshutsu-kakutei --bad sender --spoof 131024
refused "転入通知 tennyu-tsuchi, 住民票コード with a bad check digit: 千代田区 CS → 中央区 CS" \
	chiyoda 131024 tennyu-tsuchi --bad check-digit
refused "ack answering no request (unsolicited response): 中央区 CS → 東京都" \
	chuo 130001 tenshutsu-kakutei --bad unsolicited
refused "本人確認情報通知（機構） honnin-tsuchi-kiko, fields out of order: 東京都 → 機構" \
	tokyo 000000 honnin-tsuchi-kiko --bad tlv-order
refused "本人確認情報通知 honnin-tsuchi: 中央区 CS → 大阪府 270008, not its prefecture" \
	chuo 270008 honnin-tsuchi
# Fake peer gateways at 東京都's WAN port (openssl s_client), each refused
# in the TLS handshake. The five from 千代田区's address get it quarantined.
pki=$NS_WORK/pki
bad_cert chiyoda "TLS from 千代田区's address to 東京都: 131016's certificate, expired" \
	"$pki/bad/expired.crt" "$pki/bad/expired.key"
bad_cert chiyoda "TLS from 千代田区's address to 東京都: 131016's certificate, revoked (CRL)" \
	"$pki/bad/revoked.crt" "$pki/bad/revoked.key"
bad_cert chiyoda "TLS from 千代田区's address to 東京都: 131016's certificate, not yet valid" \
	"$pki/bad/not-yet-valid.crt" "$pki/bad/not-yet-valid.key"
bad_cert chiyoda "TLS from 千代田区's address to 東京都: a certificate naming 131016 and 131024" \
	"$pki/bad/two-uris.crt" "$pki/bad/two-uris.key"
bad_cert chiyoda "TLS from 千代田区's address to 東京都: a certificate for 131017 (bad check digit)" \
	"$pki/bad/bad-code.crt" "$pki/bad/bad-code.key"
bad_cert chuo "TLS from 中央区's address to 東京都: a certificate from an unknown CA" \
	"$pki/bad/unknown-ca.crt" "$pki/bad/unknown-ca.key"
bad_cert chuo "TLS from 中央区's address to 東京都: 大阪市 CS 271004's (another prefecture)" \
	"$pki/271004.crt" "$pki/271004.key"
stranger
quarantine

# ---------------------------------------------------------------------
# The table, then the audit trail.

echo
say "what passed and what was refused, and why"
echo " #  expect  what is sent: from → to"
echo "            node codes or addresses  what happened"
echo "              the evidence: the servers' logs, the gateways' audit records"
i=0
for r in "${ROWS[@]}"; do
	i=$((i + 1))
	IFS=$'\t' read -r expect label fromto result evidence <<<"$r"
	printf '%2d  %-6s  %s\n' "$i" "$expect" "$label"
	printf '            %-20s %s\n' "$fromto" "$result"
	IFS='|' read -r -a ev <<<"$evidence"
	for e in "${ev[@]}"; do [ -n "$e" ] && printf '              %s\n' "$e"; done
done

echo
say "the last $TAIL message/tunnel audit records of each gateway (metadata only)"
for s in "${SITES[@]}"; do
	echo "--- $s (${NS_CODE[$s]} ${NS_NAME_JA[$s]}): $(audit_count "$s") records in its spool"
	ns_audit "$s" | jq -r 'select(.event == "message" or .event == "tunnel")
		| if .event == "message" then
		    "  #\(.seq) message \(.dir) \(.type_name // .type) \(.sender)→\(.receiver) seq=\(.frame_seq) \(.bytes)B \(.verdict)" + (if .reason then " " + .reason else "" end)
		  else
		    "  #\(.seq) tunnel  \(.state) \(.side) peer=\(.peer // "-") \(.peer_addr // "")" + (if .reason then " " + .reason else "" end)
		  end' 2>/dev/null | tail -n "$TAIL" | wrap
done

# ---------------------------------------------------------------------
# 東京都 as its operators see it: one change with its records, then what
# jgwctl reads from the running jgwd.

export JGW_CONTROL=$NS_WORK/tokyo/run/control.sock
comment="demo: a scanning host"

# ctl CAPTION ARGS...: a heading, the command as typed, its output indented.
ctl() {
	local caption=$1 out rc; shift
	say "$caption"
	echo "    tokyo# jgwctl $*"
	out=$("$B/jgwctl" "$@" 2>&1)
	rc=$?
	sed 's/^/    /' <<<"$out" | wrap
	if [ "$rc" != 0 ]; then
		FAILED=$((FAILED + 1))
		echo "    FAILED: jgwctl $1 exited $rc"
	fi
	return "$rc"
}

# The admin and quarantine records of the operator's quarantine add since
# mark_audit, one line each: the event, then the chosen members (key=value,
# JSON-quoted when not one printable word).
operator_records() {
	ns_audit tokyo | tail -n +"$((SEEN[tokyo] + 1))" | jq -r --arg c "$comment" '
		select((.event == "admin" and .action == "quarantine add")
		    or (.event == "quarantine" and .action == "add" and .cause == "manual"))
		| select(.comment == $c)
		| [.event + " " * (10 - (.event | length))]
		  + ([["action", .action], ["addr", .addr], ["operator", .operator],
		      ["comment", .comment], ["outcome", .outcome]]
		     | map(select(.[1] != null)
		           | "\(.[0])=" + (.[1] | tostring | if test("^[!-~]+$") then . else tojson end)))
		| join(" ")' 2>/dev/null
}
both_records() { [ "$(operator_records | wc -l)" -ge 2 ]; }

echo
mark_audit
say "an operator at 東京都 quarantines the stranger by hand (as root, the demo's operator)"
echo "    tokyo# jgwctl quarantine add 10.77.0.66 10min --comment \"$comment\""
out=$("$B/jgwctl" quarantine add 10.77.0.66 10min --comment "$comment" 2>&1)
rc=$?
[ -n "$out" ] && sed 's/^/    /' <<<"$out" | wrap
echo "    tokyo# jgwctl quarantine list"
"$B/jgwctl" quarantine list 2>&1 | sed 's/^/    /' | wrap
echo "    the records it made in tokyo's audit (jq: event, action, addr, operator, comment, outcome):"
wait_for 50 both_records
records=$(operator_records)
sed 's/^/    /' <<<"$records"
if [ "$rc" != 0 ] || ! grep -q '^admin ' <<<"$records" || ! grep -q '^quarantine ' <<<"$records"; then
	FAILED=$((FAILED + 1))
	echo "    FAILED: jgwctl exited $rc, or its admin and quarantine records are missing"
fi

echo
say "tokyo's configuration history (jgwctl config history; sha256 cut to 12 digits)"
echo "    tokyo# jgwctl config history"
if out=$("$B/jgwctl" config history 2>&1); then
	sed -E 's/^/    /; s/(sha256 [0-9a-f]{12})[0-9a-f]+/\1…/' <<<"$out" | wrap
else
	FAILED=$((FAILED + 1))
	sed 's/^/    FAILED: /' <<<"$out"
fi

echo
ctl "tokyo's jgwd: version, generation, tunnels, firewall, reloads, CRL time left, audit" status
echo
ctl "tokyo's peers: each peer, each address's last success and error, each live tunnel" peers
echo
say "tokyo's metrics, first lines (Prometheus text, comment lines left out)"
echo "    tokyo# jgwctl metrics | grep -v '^#' | head"
if out=$("$B/jgwctl" metrics 2>&1); then
	grep -v '^#' <<<"$out" | head | sed 's/^/    /' | wrap
else
	FAILED=$((FAILED + 1))
	sed 's/^/    FAILED: /' <<<"$out"
fi

echo
if [ "$FAILED" -eq 0 ]; then
	say "demo: all ${#ROWS[@]} rows behaved as expected; the operator's records and jgwctl answered"
else
	say "demo: $FAILED of ${#ROWS[@]} rows or steps did NOT behave as expected"
fi
[ "$FAILED" -eq 0 ]
