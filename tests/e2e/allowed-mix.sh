# allowed-mix — every allowed row of the demo mix reaches the right server
# of the right site, answered with the right type, and is audited as allowed
# at both gateways.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_up chiyoda chuo tokyo jlis

# row: SRC DST SERVER TYPE COUNT RECORDS
check_row() {
	local src=$1 dst=$2 server=$3 type=$4 count=$5 records=$6
	local from=${NS_CODE[$src]} to=${NS_CODE[$dst]} got recs
	e2e_send_ok "$src" --to "$to" --type "$type" --count "$count" --records "$records" --timeout 10 >/dev/null
	got=$(e2e_server_count "$dst" "$server" ".type_name == \"$type\" and .sender == \"$from\" and .receiver == \"$to\"")
	[ "$got" = "$count" ] || fail "$type $from→$to: $dst $server server got $got of $count frames"
	recs=$(jq -s "[.[] | select(.event == \"frame\" and .type_name == \"$type\") | .records] | add" \
		"$NS_WORK/$dst/$server.log")
	case $type in *honnin-tsuchi*) [ "$recs" = $((count * records)) ] ||
		fail "$type: $recs records arrived, $((count * records)) sent";; esac
	# Nothing reached the other system's server of that site.
	local other=fuhyo; [ "$server" = fuhyo ] && other=juki
	[ "$(e2e_server_count "$dst" "$other" ".type_name == \"$type\"")" = 0 ] ||
		fail "$type reached the $other server of $dst"
	e2e_audit_wait "$src" ".event == \"message\" and .type_name == \"$type\" and .verdict == \"allow\" and .dir == \"out\"" >/dev/null ||
		fail "$src did not audit $type as allowed"
	e2e_audit_wait "$dst" ".event == \"message\" and .type_name == \"$type\" and .verdict == \"allow\" and .dir == \"in\"" >/dev/null ||
		fail "$dst did not audit $type as allowed"
	echo "ok: $type $from→$to ($count×, $server)"
}

check_row chiyoda tokyo juki  honnin-tsuchi 3 50
check_row tokyo   jlis  juki  honnin-tsuchi-kiko 2 100
check_row chiyoda chuo  juki  tennyu-tsuchi 2 1
check_row chiyoda jlis  juki  bango-seisei 3 1
check_row chuo    chiyoda juki koiki-kofu 1 1
check_row chuo    tokyo fuhyo fuhyo-honnin-tsuchi 2 20
check_row tokyo   jlis  fuhyo fuhyo-honnin-tsuchi-kiko 1 40
check_row chuo    chiyoda juki fuhyo-kisai-tsuchi 1 1
check_row chiyoda tokyo juki  tenshutsu-kakutei 1 1

# The answers came back with the answering type (bango-tsuchi, kaito).
out=$(e2e_send_ok chiyoda --to 000000 --type bango-seisei)
grep -q 'answered bango-tsuchi' <<<"$out" || fail "bango-seisei was not answered by bango-tsuchi: $out"
out=$(e2e_send_ok chuo --to 131016 --type koiki-kofu)
grep -q 'answered koiki-kofu-kaito' <<<"$out" || fail "koiki-kofu was not answered by koiki-kofu-kaito: $out"
echo "all allowed rows delivered"
