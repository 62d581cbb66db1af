#!/usr/bin/env bash
# image/mkdeb.sh OUTDIR — build the jgw Debian package from `make install`.
# The package carries the programs (not the test tool jgw-node), the default
# catalog, the example configurations, the systemd units and the docs; its
# Depends come from the binaries' own shared-library needs (dpkg-shlibdeps).
set -euo pipefail
out=${1:?usage: mkdeb.sh OUTDIR}
top=$(cd "$(dirname "$0")/.." && pwd)
version=${JGW_VERSION:-0.1.0+$(git -C "$top" log -1 --format=%cd --date=format:%Y%m%d.%H%M%S 2>/dev/null || echo 0)}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || echo 0)}
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
pkg=$stage/pkg

make -C "$top" --no-print-directory install DESTDIR="$pkg" PREFIX=/usr >/dev/null
# jgw-node makes traffic (good and deliberately bad) for the demo and the
# tests: no business on an appliance. image/test.sh brings its own copy.
rm -f "$pkg/usr/bin/jgw-node"
install -d "$pkg/lib/systemd/system" "$pkg/usr/lib/jgw" "$pkg/usr/share/doc/jgw/examples" "$pkg/usr/lib/sysusers.d"
# The A/B update units come with the image (build.sh), where jgw-update is.
install -m 0644 "$top"/image/systemd/jgwd.service "$top"/image/systemd/jgw-firstboot.service \
	"$pkg/lib/systemd/system/"
install -m 0755 "$top/image/rootfs/firstboot" "$pkg/usr/lib/jgw/firstboot"
cp -r "$top"/conf/. "$pkg/usr/share/doc/jgw/examples/"
cp "$top"/docs/*.md "$pkg/usr/share/doc/jgw/" 2>/dev/null || true
echo 'u jgw - "jgw gateway" /var/lib/jgw' > "$pkg/usr/lib/sysusers.d/jgw.conf"

# Depends, computed from what the binaries link.
mkdir -p "$stage/debian"
printf 'Source: jgw\n\nPackage: jgw\nArchitecture: any\n' > "$stage/debian/control"
bins=$(find "$pkg/usr/sbin" "$pkg/usr/bin" -type f -perm -u+x)
deps=$(cd "$stage" && dpkg-shlibdeps -O $bins 2>/dev/null | sed -n 's/^shlibs:Depends=//p')

install -d "$pkg/DEBIAN"
cat > "$pkg/DEBIAN/control" <<CTRL
Package: jgw
Version: $version
Architecture: $(dpkg --print-architecture)
Maintainer: jgw developers <jgw@localhost>
Depends: ${deps:+$deps, }nftables, openssl
Section: net
Priority: optional
Description: gateway appliance for the 住基ネット and 附票連携システム
 Mutually authenticated TLS 1.3 tunnels between sites, inspection of every
 JMSG frame against the message catalog, an nftables firewall programmed
 over netlink, and a tamper-evident audit spool mirrored over RELP/TLS.
CTRL
cat > "$pkg/DEBIAN/postinst" <<'POST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
	systemd-sysusers /usr/lib/sysusers.d/jgw.conf >/dev/null 2>&1 || true
fi
POST
chmod 0755 "$pkg/DEBIAN/postinst"
find "$pkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$out"
deb="$out/jgw_${version}_$(dpkg --print-architecture).deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
