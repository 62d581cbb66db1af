#!/bin/sh
# mkconf.sh DIR BUILD_DIR — the configurations jgw-replay's tests and bench
# use, in DIR: chiyoda.conf (conf/chiyoda-131016.conf as shipped) and
# chiyoda-no-tokyo.conf (the same without its 東京都 peer), with the shared
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
