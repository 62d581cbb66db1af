# Shared by the jgw-inspect scenarios: paths, the gateway of the tests
# (131016 千代田区) and its fixed clock.
B=${B:-build}
INSPECT=$B/jgw-inspect
GEN=$B/tests/jmsg-gen
NOW=1763000000000
CATALOG=conf/catalog.jcat
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One line of output, exactly the documented shape: nothing else can hide in it.
JSON_LINE='^\{"frame":[0-9]+,"offset":[0-9]+,"type":("0x[0-9a-f]{4}"|null),"verdict":"(allow|deny)"(,"reason":"[a-z-]+")?(,"field":"0x[0-9a-f]{4}")?\}$'

fail() { echo "FAIL: $*"; exit 1; }
