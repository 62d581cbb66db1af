#!/usr/bin/env bash
# bench.sh — make bench-audit: records/s into the spool with group commit
# (and how many fdatasyncs that took), and mirror throughput to a real
# rsyslog over RELP/TLS. Writes $B/results/bench-audit.txt.
source tests/audit/lib.sh
out=$B/results/bench-audit.txt
mkdir -p "$(dirname "$out")"
val() { echo "$1" | sed -n "s/.* $2=\([0-9]*\).*/\1/p"; }
{
echo "bench-audit  $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(nproc) cpu  $(uname -r)"
# The spool directory lives where the build tree is (a real disk, not /tmp's tmpfs
# if it has one), so fdatasync costs what it costs on this machine.
spool=$(pwd)/$B/tests/bench-audit-spool
for n in 200000; do
	rm -rf "$spool" "$W/audit.key" "$W/k0.hex"; chain_init
	line=$("$WRITER" -d "$spool" -k "$W/audit.key" -n $n 2>/dev/null | tail -1)
	ms=$(val "$line" elapsed_ms); syncs=$(val "$line" fdatasyncs)
	bytes=$(cat "$spool"/audit-*.jsonl | wc -c)
	echo "spool: $n records ($((bytes / n)) bytes each) in ${ms} ms = $((n * 1000 / (ms > 0 ? ms : 1))) records/s, $syncs fdatasyncs (group commit 100 ms)"
	# Reading the same files back: cat (the floor), verify with k0, archive
	# (a copy made durable, SHA-256, manifest). Each after a first cat, so
	# all three read from the page cache.
	"$WRITER" -d "$spool" -k "$W/audit.key" -n $n -R 16777216 >/dev/null 2>&1   # sealed files to archive
	recs=$(cat "$spool"/audit-*.jsonl | wc -l); cat "$spool"/audit-*.jsonl >/dev/null
	t0=$(date +%s%N); cat "$spool"/audit-*.jsonl >/dev/null; t1=$(date +%s%N)
	"$CTL" verify --key "$W/k0.hex" "$spool" >/dev/null; t2=$(date +%s%N)
	"$CTL" archive -o "$W/bench-archive" "$spool" >/dev/null; t3=$(date +%s%N)
	arecs=$(cat "$W/bench-archive"/audit-*.jsonl | wc -l)
	rate() { echo $(( $1 * 1000000000 / ($2 > 0 ? $2 : 1) )); }
	echo "read back: $recs records ($(cat "$spool"/audit-*.jsonl | wc -c) bytes, $(ls "$spool" | grep -c '^audit-') files): cat $(( (t1 - t0) / 1000000 )) ms = $(rate "$recs" $((t1 - t0))) records/s; verify $(( (t2 - t1) / 1000000 )) ms = $(rate "$recs" $((t2 - t1))) records/s; archive of $arecs sealed records $(( (t3 - t2) / 1000000 )) ms = $(rate "$arecs" $((t3 - t2))) records/s"
	rm -rf "$spool" "$W/bench-archive"
done
need_pki
port=$(pick_port)
collector_start "$port"
n=${MIRROR_N:-200000}
# CPU-seconds of a command's own process (user + system), from bash's time.
cpu_of() { local TIMEFORMAT='%3U %3S'; { time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ print $1 + $2 }'; }
# The writer alone (the same records into a spool, no mirror): what the
# mirror adds to the gateway is the difference.
rm -rf "$W/spool0" "$W/audit.key" "$W/k0.hex"; chain_init
cpu_alone=$(cpu_of "$WRITER" -d "$W/spool0" -k "$W/audit.key" -n $n)
rm -rf "$W/spool0" "$W/audit.key" "$W/k0.hex"; chain_init
tick=$(getconf CLK_TCK)
collector_cpu() { awk -v t="$tick" '{ print ($14 + $15) / t }' "/proc/$COLLECTOR_PID/stat"; }
c0=$(collector_cpu)
start=$(date +%s%N)
cpu_mirror=$(cpu_of "$WRITER" -d "$W/spool" -k "$W/audit.key" -n $n -w 300 $(mirror_args "$port"))
for _ in $(seq 1 600); do
	[ "$(wc -l <"$W/collector.log" 2>/dev/null || echo 0)" -ge $((n + 1)) ] && break
	sleep 0.1
done
end=$(date +%s%N)
c1=$(collector_cpu)
got=$(wc -l <"$W/collector.log")
ms=$(( (end - start) / 1000000 ))
echo "mirror: $got of $((n + 1)) records at the collector in ${ms} ms = $((got * 1000 / ms)) records/s (RELP/TLS to rsyslog imrelp on loopback, window $(sed -n "s/^#define AUDIT_MIRROR_WINDOW *//p" gateway/audit/audit.h) messages of up to $(sed -n "s/^#define AUDIT_MIRROR_BATCH *//p" gateway/audit/audit.h) records)"
awk -v n="$n" -v a="$cpu_alone" -v m="$cpu_mirror" -v c="$(awk -v x="$c0" -v y="$c1" 'BEGIN { print y - x }')" 'BEGIN {
	printf "mirror CPU per record: gateway %.1f us (writer with mirror %.2f s, alone %.2f s), collector rsyslogd %.1f us (%.2f s)\n",
		(m - a) * 1e6 / n, m, a, c * 1e6 / n, c }'
collector_stop
} | tee "$out"
