# The committed seed corpus of fuzz_nft (tests/fuzz/corpus/nft) is what
# nft-seeds writes: `make seeds-nft` after a change to the generator. Needs
# no root and no namespace.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SEEDS=${NFT_SEEDS:-$ROOT/build/tests/nft-seeds}
case $SEEDS in /*) ;; *) SEEDS=$ROOT/$SEEDS;; esac
fail() { echo "FAIL: $*"; exit 1; }
[ -x "$SEEDS" ] || fail "no $SEEDS"
WORK=$(mktemp -d /tmp/jn-seeds-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
"$SEEDS" "$WORK" || fail "nft-seeds"
diff -r "$WORK" "$ROOT/tests/fuzz/corpus/nft" || fail "the committed seeds differ: make seeds-nft"
echo "ok: $(ls "$WORK" | wc -l) seeds, as committed"
exit 0
