#!/usr/bin/env bash
# check-corpus.sh RESULT_FILE BUILD_DIR — the jgw-replay corpus test.
#
#  1. mkcorpus regenerates every committed capture byte for byte.
#  2. jgw-replay runs on each case of tests/pcap/cases/ with the case's
#     configuration, and its output meets every check of the case's `expect`
#     file (written by hand from protocol.md / catalog.md):
#        config NAME          configuration to replay with (see below)
#        compare NAME         --compare with this one
#        pcap PATH            capture (relative to the case); default: the
#                             case's own .pcap/.pcapng
#        args ARG...          more options
#        exit N               expected exit status
#        count N JQ-COND      exactly N output records satisfy JQ-COND
#     Every output must be free of personal data: no run of 10 or more
#     digits and no non-ASCII byte (the synthetic names are Japanese text).
#  3. Standard input (the same captures read from the file and from stdin
#     give the same output and the same, expected, exit status), and the
#     error exits.
#  4. The total memory bound (--total-bytes): at the peak a run needs
#     (held_peak) the output is exactly that of an unbounded run; below it,
#     on every capture and at every bound tried, the run never holds more
#     than the bound, says that it hit it (limit_total) and ends with a
#     defined exit status; across the runs each outcome of the bound is
#     seen (memory-limit, flows refused, a reassembly-limit gap). What a run
#     holds is measured from outside as well (build/tests/libmemcount.so, an
#     LD_PRELOAD that counts the heap the process really has from its first
#     packet on): it may not exceed held_peak, nor the bound, by more than
#     MEM_SLACK (stdio's output buffer and malloc's rounding), so the tool's
#     own figure is checked against real memory, not only against itself.
#
# JGW_ONLY=GLOB runs only the checks whose name (as printed: replay/NAME)
# matches (make mutants).
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
# want NAME: this check is selected (JGW_ONLY).
# shellcheck disable=SC2053  # JGW_ONLY is a pattern
want() { [ -z "${JGW_ONLY:-}" ] || [[ replay/$1 == $JGW_ONLY ]]; }

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
if ! want regenerate; then
	:
elif "$mkcorpus" "$tmp/regen" >"$tmp/regen.log" 2>&1; then
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
	want "$(basename "$dir")" || continue
	[ -f "$dir/expect" ] || { fail "$(basename "$dir")" "no expect file"; continue; }
	run_case "$dir"
done

# ---- 3. standard input, and errors ----
# The same capture from the file and from standard input (without -r, and
# as -r -): the same output, and both runs exit with the case's status.
stdin_case() {   # CASE CAPTURE
	local name=$1 pcap=$cases/$1/$2 want_exit rc_file rc_stdin rc_dash errs=""
	want_exit=$(sed -n 's/^exit //p' "$cases/$name/expect")
	"$replay" -c "$cfg/chiyoda.conf" -r "$pcap" >"$tmp/file.out" 2>/dev/null; rc_file=$?
	"$replay" -c "$cfg/chiyoda.conf" <"$pcap" >"$tmp/stdin.out" 2>/dev/null; rc_stdin=$?
	"$replay" -c "$cfg/chiyoda.conf" -r - <"$pcap" >"$tmp/dash.out" 2>/dev/null; rc_dash=$?
	[ "$rc_file" = "$want_exit" ] || errs="$errs file-exit-$rc_file"
	[ "$rc_stdin" = "$want_exit" ] || errs="$errs stdin-exit-$rc_stdin"
	[ "$rc_dash" = "$want_exit" ] || errs="$errs dash-exit-$rc_dash"
	grep -q '"event":"message"' "$tmp/file.out" || errs="$errs no-messages"
	cmp -s "$tmp/file.out" "$tmp/stdin.out" || errs="$errs stdin-output-differs"
	cmp -s "$tmp/file.out" "$tmp/dash.out" || errs="$errs dash-output-differs"
	if [ -z "$errs" ]; then pass "stdin/$name"; else fail "stdin/$name" "${errs# } (expected exit $want_exit)"; fi
}
if want stdin/basic; then stdin_case basic basic.pcap; fi
if want stdin/sll2; then stdin_case sll2 sll2.pcapng; fi
check_errors() {
	local errs="" rc
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
}
if want errors; then check_errors; fi

# ---- 4. the total memory bound ----
peak_of() {   # held_peak of a run's summary (or --compare line)
	jq -rs 'map(select(.event == "summary" or .event == "compare")) | .[0] |
		(.reassembly.held_peak // .held_peak)' "$1"
}
mem_seen=$tmp/mem-summaries
: >"$mem_seen"
# Real memory: the heap a run grows by from its first packet on, counted by
# libmemcount.so. MEM_SLACK covers what is not the capture's: stdio's output
# buffer (4 KiB) and malloc's rounding of each block. At a bound below the
# peak the engine may also hold one growth of its tables beyond the bound
# for a moment (docs/replay.md: at most 2 x 2 x outstanding entries of 24
# bytes; outstanding is 1024 in these configurations): MEM_GROWTH.
memcount=$top/$B/tests/libmemcount.so
MEM_SLACK=8192
MEM_GROWTH=$((2 * 2 * 1024 * 24))
# Under ASan (make check SAN=1) nothing can be preloaded before its runtime:
# the real-memory comparisons are not made, and that is reported as a skip
# (which fails a CI run: tests/skips.allowed does not name it).
measure=yes
mkdir -p "$(dirname "$res")"
: >"${res%.res}.skips"
if want memory/outcomes || [[ ${JGW_ONLY:-} == replay/memory* ]]; then
	if grep -q __asan_init "$replay" 2>/dev/null; then
		measure=no
		skipped=$((skipped + 1))
		echo "replay/memory-real" >>"${res%.res}.skips"
		echo "SKIP  replay/memory-real: jgw-replay is built with ASan, whose runtime must come first: the heap counter cannot be preloaded"
	fi
fi
real_run() {   # OUT ARG...: run with the counter; the growth goes to real
	local out=$1 mc=$tmp/memcount rc
	shift
	if [ "$measure" = no ]; then
		"$@" >"$out" 2>/dev/null; rc=$?
		real=unmeasured
		return $rc
	fi
	rm -f "$mc"
	JGW_MEMCOUNT=$mc LD_PRELOAD=$memcount "$@" >"$out" 2>/dev/null; rc=$?
	real=$(sed -n 's/^growth_peak //p' "$mc" 2>/dev/null)
	[ -n "$real" ] || real=none
	return $rc
}
# real_exceeds LIMIT: the growth was not counted, or is above LIMIT.
real_exceeds() {
	[ "$real" = unmeasured ] && return 1
	[ "$real" = none ] || [ "$real" -gt "$1" ]
}
mem_case() {   # NAME CAPTURE [ARG...]: the bound on one capture
	local name=$1 pcap=$2 out=$tmp/mem-$1 rc rc0 peak bound bad errs="" real
	shift 2
	local cmd=("$replay" -c "$cfg/chiyoda.conf" -r "$cases/$pcap" "$@")
	real_run "$out.0" "${cmd[@]}"; rc0=$?
	peak=$(peak_of "$out.0")
	if ! [ "$peak" -gt 1 ] 2>/dev/null; then
		fail "memory/$name" "no held_peak in the unbounded run"
		return
	fi
	# What the tool says it held at most, against what it really held.
	if real_exceeds $((peak + MEM_SLACK)); then
		errs="$errs real-memory:$real-bytes-grown,held_peak-says-$peak"
	fi
	real_run "$out.p" "${cmd[@]}" --total-bytes "$peak"; rc=$?
	{ [ "$rc" = "$rc0" ] && cmp -s "$out.0" "$out.p"; } || errs="$errs at-peak(exit $rc)"
	! real_exceeds $((peak + MEM_SLACK)) || errs="$errs at-peak-real-memory:$real-over-$peak"
	# Coarse from the peak down, then fine where the flows' own state
	# (flow, engine, search buffers) meets the bound. All outputs go to one
	# stream, each after a {"event":"bound"} line, for one jq to check.
	: >"$out.all"
	for bound in $((peak - 1)) $((peak * 3 / 4)) $((peak / 2)) $((peak / 4)) 8192 \
		     $(seq 4096 -128 640) 256 1; do
		real_run "$out.b" "${cmd[@]}" --total-bytes "$bound"; rc=$?
		case $rc in 0|1|3) ;; *) errs="$errs $bound:exit-$rc" ;; esac
		! real_exceeds $((bound + MEM_SLACK + MEM_GROWTH)) || errs="$errs $bound:real-memory-$real"
		private_data "$out.b" && errs="$errs $bound:private-data"
		printf '{"event":"bound","bound":%d}\n' "$bound" >>"$out.all"
		cat "$out.b" >>"$out.all"
	done
	# Per bound: one summary, held_peak within it, and limit_total > 0.
	bad=$(jq -rs 'reduce .[] as $x ({b: null, n: 0, bad: []};
		if $x.event == "bound" then
			(if .b != null and .n != 1 then .bad += [.b] else . end) | .b = $x.bound | .n = 0
		elif $x.event == "summary" or $x.event == "compare" then
			.n += 1 |
			if ($x.reassembly.held_peak // $x.held_peak) <= .b and
			   ($x.reassembly.limit_total // $x.limit_total) > 0 then . else .bad += [.b] end
		else . end) |
		(if .n != 1 then .bad + [.b] else .bad end) | map(tostring) | join(" ")' "$out.all" 2>&1) ||
		bad="not-json"
	[ -z "$bad" ] || errs="$errs over-bound-or-unreported:$bad"
	grep '"event":"summary"' "$out.all" >>"$mem_seen"
	if [ -z "$errs" ]; then pass "memory/$name"; else fail "memory/$name" "${errs# }"; fi
}
mem() { if want "memory/$1" || want memory/outcomes; then mem_case "$@"; fi; }
mem basic basic/basic.pcap
mem reorder reorder/reorder.pcap
mem retransmit retransmit/retransmit.pcap
mem gap gap/gap.pcap
mem midstream midstream/midstream.pcap
mem midstream-answer midstream-answer/midstream-answer.pcap
mem interleaved interleaved/interleaved.pcap
mem unverified-overlap unverified-overlap/unverified-overlap.pcap
mem deny-reasons deny-reasons/deny-reasons.pcap
mem compare basic/basic.pcap --compare "$cfg/chiyoda-no-tokyo.conf"
mem compare-deny-reasons deny-reasons/deny-reasons.pcap --compare "$cfg/chiyoda-outstanding-2.conf"
if want memory/outcomes; then
	errs=""
	jq -se 'map(.flow_outcomes["memory-limit"] // 0) | add > 0' "$mem_seen" >/dev/null || errs="$errs memory-limit"
	jq -se 'map(.reassembly.flows_refused) | add > 0' "$mem_seen" >/dev/null || errs="$errs flows-refused"
	jq -se 'map(.flow_outcomes["reassembly-limit"] // 0) | add > 0' "$mem_seen" >/dev/null || errs="$errs reassembly-limit"
	if [ -z "$errs" ]; then pass memory/outcomes; else fail memory/outcomes "never seen:$errs"; fi
fi

mkdir -p "$(dirname "$res")"
echo "replay-corpus: $passed passed, $failed failed, $skipped skipped" | tee "$res"
[ "$failed" -eq 0 ]
