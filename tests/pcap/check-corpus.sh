#!/usr/bin/env bash
# check-corpus.sh RESULT_FILE BUILD_DIR — the jgw-replay corpus test.
#
#  1. mkcorpus regenerates every committed capture byte for byte.
#  2. jgw-replay runs on each case of tests/pcap/cases/ with the case's
#     configuration, and its output meets every check of the case's `expect`
#     file (written by hand from wire.md / catalog.md):
#        config NAME          configuration to replay with (see below)
#        compare NAME         --compare with this one
#        pcap PATH            capture (relative to the case); default: the
#                             case's own .pcap/.pcapng
#        args ARG...          more options
#        exit N               expected exit status
#        count N JQ-COND      exactly N output records satisfy JQ-COND
#     Every output must be free of personal data: no run of 10 or more
#     digits and no non-ASCII byte (the synthetic names are Japanese text).
#  3. Standard input, and the error exits.
# Configurations: conf/chiyoda-131016.conf as shipped ("chiyoda"), the
# same without its 東京都 peer ("chiyoda-no-tokyo") and with `limits
# outstanding 2` ("chiyoda-outstanding-2"), with a PKI made by
# conf/mkpki.sh and paths moved to a temporary directory (mkconf.sh).
set -u
res=$1 B=$2
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
replay=$top/$B/jgw-replay
mkcorpus=$top/$B/tests/mkcorpus
cases=$here/cases
passed=0 failed=0 skipped=0

tmp=$(mktemp -d /tmp/jgw-replay-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

pass() { passed=$((passed + 1)); echo "ok    replay/$1"; }
fail() { failed=$((failed + 1)); echo "FAIL  replay/$1: $2"; }

# ---- configurations ----
cfg=$tmp/conf
"$here/mkconf.sh" "$cfg" "$top/$B" || { echo "could not make the test configurations" >&2; exit 1; }
if grep -q '^peer 130001' "$cfg/chiyoda-no-tokyo.conf" || ! grep -q '^peer 131024' "$cfg/chiyoda-no-tokyo.conf"; then
	fail config "could not derive chiyoda-no-tokyo from conf/chiyoda-131016.conf"
fi
if ! diff "$cfg/chiyoda.conf" "$cfg/chiyoda-outstanding-2.conf" | grep -qx '>[[:space:]]*outstanding 2;.*' ||
   [ "$(diff "$cfg/chiyoda.conf" "$cfg/chiyoda-outstanding-2.conf" | grep -c '^[<>]')" != 2 ]; then
	fail config "could not derive chiyoda-outstanding-2 from conf/chiyoda-131016.conf"
fi

# ---- 1. the corpus regenerates byte for byte ----
if "$mkcorpus" "$tmp/regen" >"$tmp/regen.log" 2>&1; then
	bad=""
	for f in "$cases"/*/*.pcap "$cases"/*/*.pcapng; do
		[ -e "$f" ] || continue
		rel=${f#"$cases"/}
		cmp -s "$f" "$tmp/regen/$rel" || bad="$bad $rel"
	done
	for f in "$tmp"/regen/*/*; do
		rel=${f#"$tmp"/regen/}
		[ -e "$cases/$rel" ] || bad="$bad $rel(not-committed)"
	done
	if [ -z "$bad" ]; then pass regenerate; else fail regenerate "differs:$bad"; fi
else
	fail regenerate "mkcorpus failed: $(tail -1 "$tmp/regen.log")"
fi

# ---- 2. the cases ----
private_data() {   # the output holds something that looks like a field value
	LC_ALL=C grep -qE '[0-9]{10}' "$1" || LC_ALL=C grep -qP '[^\x00-\x7F]' "$1"
}

run_case() {
	local dir=$1 name config="" compare="" pcap="" want_exit="" args=() checks=() line rc out
	name=$(basename "$dir")
	while IFS= read -r line || [ -n "$line" ]; do
		case $line in
		''|'#'*) ;;
		'config '*) config=${line#config } ;;
		'compare '*) compare=${line#compare } ;;
		'pcap '*) pcap=$dir/${line#pcap } ;;
		'args '*) read -r -a args <<<"${line#args }" ;;
		'exit '*) want_exit=${line#exit } ;;
		'count '*) checks+=("${line#count }") ;;
		*) fail "$name" "expect: unknown line: $line"; return ;;
		esac
	done <"$dir/expect"
	[ -n "$pcap" ] || pcap=$(ls "$dir"/*.pcap "$dir"/*.pcapng 2>/dev/null | head -1)
	if [ -z "$config" ] || [ -z "$want_exit" ] || [ ! -f "$pcap" ]; then
		fail "$name" "expect needs config, exit and a capture"
		return
	fi
	out=$tmp/$name.out
	local cmd=("$replay" -c "$cfg/$config.conf" -r "$pcap")
	[ -n "$compare" ] && cmd+=(--compare "$cfg/$compare.conf")
	cmd+=("${args[@]}")
	timeout 60 "${cmd[@]}" >"$out" 2>"$tmp/$name.err"; rc=$?
	if [ "$rc" != "$want_exit" ]; then
		fail "$name" "exit $rc, expected $want_exit"
		sed 's/^/      | /' "$tmp/$name.err" "$out" | tail -20
		return
	fi
	if ! jq -e . "$out" >/dev/null 2>&1; then
		fail "$name" "output is not JSON lines"
		return
	fi
	if private_data "$out"; then
		fail "$name" "output holds a long digit run or non-ASCII text"
		return
	fi
	local c n cond got errs=""
	for c in "${checks[@]}"; do
		n=${c%% *}
		cond=${c#* }
		got=$(jq -s "[.[] | select($cond)] | length" "$out" 2>&1) || { errs="$errs; bad jq: $cond"; continue; }
		[ "$got" = "$n" ] || errs="$errs; $got (not $n) records with: $cond"
	done
	if [ -n "$errs" ]; then
		fail "$name" "${errs#; }"
		sed 's/^/      | /' "$out" | cut -c1-220 | tail -30
	else
		pass "$name"
	fi
}

for dir in "$cases"/*/; do
	dir=${dir%/}
	[ -f "$dir/expect" ] || { fail "$(basename "$dir")" "no expect file"; continue; }
	run_case "$dir"
done

# ---- 3. standard input, and errors ----
if "$replay" -c "$cfg/chiyoda.conf" -r "$cases/basic/basic.pcap" >"$tmp/file.out" 2>/dev/null;
   "$replay" -c "$cfg/chiyoda.conf" <"$cases/sll2/sll2.pcapng" >"$tmp/stdin.out" 2>/dev/null &&
   [ "$(grep -c '"event":"message"' "$tmp/stdin.out")" = 4 ] &&
   diff <(grep -v summary "$tmp/file.out") <(grep -v summary "$tmp/stdin.out") >/dev/null; then
	pass stdin
else
	fail stdin "reading standard input differs from reading the file"
fi
errs=""
"$replay" >/dev/null 2>&1; [ $? = 2 ] || errs="$errs no-config"
"$replay" -c "$cfg/chiyoda.conf" -r "$tmp/none.pcap" >/dev/null 2>&1; [ $? = 2 ] || errs="$errs missing-pcap"
echo "not a capture" >"$tmp/junk.pcap"
"$replay" -c "$cfg/chiyoda.conf" -r "$tmp/junk.pcap" >/dev/null 2>&1; [ $? = 2 ] || errs="$errs junk-pcap"
printf 'site 999999;\n' >"$cfg/bad.conf"
"$replay" -c "$cfg/bad.conf" -r "$cases/basic/basic.pcap" >/dev/null 2>"$tmp/bad.err"; [ $? = 2 ] || errs="$errs bad-config"
grep -q 'bad.conf:1:' "$tmp/bad.err" || errs="$errs bad-config-location"
"$replay" -c "$cfg/chiyoda.conf" --flow-bytes -5 >/dev/null 2>&1; [ $? = 2 ] || errs="$errs bad-number"
head -c 300 "$cases/basic/basic.pcap" >"$tmp/cut.pcap"
"$replay" -c "$cfg/chiyoda.conf" -r "$tmp/cut.pcap" >"$tmp/cut.out" 2>/dev/null; rc=$?
{ [ $rc = 2 ] && grep -q '"event":"summary"' "$tmp/cut.out"; } || errs="$errs cut-file($rc)"
if [ -z "$errs" ]; then pass errors; else fail errors "wrong handling:$errs"; fi

mkdir -p "$(dirname "$res")"
echo "replay-corpus: $passed passed, $failed failed, $skipped skipped" | tee "$res"
[ "$failed" -eq 0 ]
