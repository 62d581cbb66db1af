#!/usr/bin/env bash
# bench-nft: the full table of a 機構-sized directory (1,788 peers, each an
# IPv4 and an IPv6 address and output destination) applied by nft_apply in
# one netlink batch, against `nft -f` of the same ruleset (nft_print's
# output); median of RUNS runs; and the time to quarantine one address.
# Runs in a throwaway namespace "jn-bench-PID".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOOL=${NFT_TOOL:-$ROOT/build/tests/nft-tool}
case $TOOL in /*) ;; *) TOOL=$ROOT/$TOOL;; esac
PEERS=${PEERS:-1788}
RUNS=${RUNS:-7}
[ "$(id -u)" = 0 ] || { echo "bench-nft: needs root (network namespace)"; exit 1; }
NS=jn-bench-$$
trap 'ip netns del "$NS" 2>/dev/null' EXIT
ip netns add "$NS" || exit 1
ip netns exec "$NS" "$TOOL" bench "$PEERS" "$RUNS"
