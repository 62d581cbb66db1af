#!/usr/bin/env bash
# tally.sh RESULT_DIR — sum every group's result line into the closing line.
set -u
p=0 f=0 s=0
for r in "$1"/*.res; do
	[ -e "$r" ] || continue
	read -r _ pp _ ff _ ss _ < <(sed 's/,//g' "$r")
	p=$((p + pp)); f=$((f + ff)); s=$((s + ss))
done
echo "groups:"; cat "$1"/*.res 2>/dev/null | sed 's/^/  /'
echo "check: $p passed, $f failed, $s skipped"
[ "$f" -eq 0 ] && [ "$p" -gt 0 ]
