#!/usr/bin/env bash
# bench-inspect.sh BENCH_BINARY — inspection throughput on one core against
# AES-128-GCM decryption of the same bytes in 16 KiB records, measured in
# the same process in turns (the median of the per-slice ratios, with its
# 10th and 90th percentiles), and memcpy; `openssl speed -evp aes-128-gcm`
# (decryption when this openssl has -decrypt) at 16 KiB is printed beside
# for reference. MB = 10^6 bytes throughout.
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
speed=$(awk -v k="$gcm_k" 'BEGIN { printf "%.1f", k / 1000 }')
insp=$(get inspect_MBps) gcm=$(get gcm_decrypt_MBps) mem=$(get memcpy_MBps)
echo "bench-inspect (one core; mix per round: $(get mix_frames) frames, $(get mix_records) records, $(get mix_bytes) bytes, 16 KiB reads; $(get slices) slices)"
printf '  inspection          %10.1f MB/s  %10.0f frames/s\n' "$insp" "$(get inspect_frames_per_s)"
printf '  AES-128-GCM decrypt %10.1f MB/s  (the same bytes, 16 KiB records, tags checked, in turns)\n' "$gcm"
printf '  AES-128-GCM %-7s %9.1f MB/s  (openssl speed -evp aes-128-gcm %s-bytes 16384, for reference)\n' "$mode" "$speed" "${flag:+$flag }"
printf '  memcpy              %10.1f MB/s\n' "$mem"
echo "  ratio inspection / AES-128-GCM decrypt = $(get ratio_median) (median slice; 10th-90th percentile $(get ratio_p10)-$(get ratio_p90))"
awk -v i="$insp" -v m="$mem" 'BEGIN { printf "  ratio inspection / memcpy = %.3f\n", i / m }'
