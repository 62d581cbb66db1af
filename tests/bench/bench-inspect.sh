#!/usr/bin/env bash
# bench-inspect.sh BENCH_BINARY — inspection throughput on one core, printed
# beside `openssl speed -evp aes-128-gcm` (decryption when this openssl has
# -decrypt) at 16 KiB and memcpy, as ratios. MB = 10^6 bytes throughout.
set -eu
bin=$1
pin=""
command -v taskset >/dev/null && pin="taskset -c 0"
out=$($pin "$bin")
get() { printf '%s\n' "$out" | sed -n "s/^$1=//p"; }
mode=encrypt flag=""
if openssl speed -help 2>&1 | grep -q -- '-decrypt'; then mode=decrypt flag=-decrypt; fi
# "AES-128-GCM  5593993.43k": thousands of bytes per second
gcm_k=$($pin openssl speed -evp aes-128-gcm $flag -bytes 16384 -seconds 3 2>/dev/null |
	awk 'toupper($1) == "AES-128-GCM" { sub(/k$/, "", $2); print $2 }')
gcm=$(awk -v k="$gcm_k" 'BEGIN { printf "%.1f", k / 1000 }')
insp=$(get inspect_MBps) mem=$(get memcpy_MBps)
echo "bench-inspect (one core; mix per round: $(get mix_frames) frames, $(get mix_records) records, $(get mix_bytes) bytes, 16 KiB reads)"
printf '  inspection        %10.1f MB/s  %10.0f frames/s\n' "$insp" "$(get inspect_frames_per_s)"
printf '  AES-128-GCM %-7s %9.1f MB/s  (openssl speed -evp aes-128-gcm %s-bytes 16384)\n' "$mode" "$gcm" "${flag:+$flag }"
printf '  memcpy            %10.1f MB/s\n' "$mem"
awk -v i="$insp" -v g="$gcm" -v m="$mem" -v mode="$mode" 'BEGIN {
	printf "  ratio inspection / AES-128-GCM %s = %.2f\n", mode, i / g
	printf "  ratio inspection / memcpy = %.3f\n", i / m }'
