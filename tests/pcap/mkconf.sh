#!/bin/sh
# mkconf.sh DIR BUILD_DIR — the configurations jgw-replay's tests and bench
# use, in DIR: chiyoda.conf (conf/chiyoda-131016.conf as shipped),
# chiyoda-no-tokyo.conf (the same without its 東京都 peer) and
# chiyoda-outstanding-2.conf (`limits outstanding 2`), with the shared
# files beside them, a PKI from conf/mkpki.sh (BUILD_DIR/tests/replay/pki,
# kept between runs) and /var/lib/jgw, /run/jgw moved under DIR.
set -eu
dir=$1 build=$2
top=$(cd "$(dirname "$0")/../.." && pwd)
sh "$top/conf/mkpki.sh" "$build/tests/replay/pki" >/dev/null
mkdir -p "$dir/var" "$dir/run"
cp -r "$top/conf/common" "$top/conf/catalog.jcat" "$dir/"
ln -sfn "$(cd "$build/tests/replay/pki" && pwd)" "$dir/pki"
sed -i "s#/var/lib/jgw#$dir/var#g; s#/run/jgw#$dir/run#g" "$dir"/common/*.conf
cp "$top/conf/chiyoda-131016.conf" "$dir/chiyoda.conf"
sed '/^peer 130001 {/,/^}/d' "$top/conf/chiyoda-131016.conf" >"$dir/chiyoda-no-tokyo.conf"
# The same with room for only 2 unanswered requests per connection: the
# deny-reasons case reaches rate-limited with three notices.
sed 's/^\([[:space:]]*outstanding\) 1024;/\1 2;/' "$top/conf/chiyoda-131016.conf" >"$dir/chiyoda-outstanding-2.conf"
grep -q '^[[:space:]]*outstanding 2;' "$dir/chiyoda-outstanding-2.conf"
