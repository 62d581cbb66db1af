#!/usr/bin/env bash
# image/mkdeb.sh OUTDIR — build the jgw Debian package from `make install`.
# The package carries the programs (not the test tool jgw-node), their man
# pages, jgwctl's bash completion, the default catalog, the example
# configurations, the systemd units and the docs; its Depends come from the
# binaries' own shared-library needs (dpkg-shlibdeps). Debian's parts are in
# image/debian/: copyright (DEP-5), the changelog (its newest entry is made
# here for the version being built, installed as changelog.Debian.gz), the
# maintainer scripts and the lintian overrides. conffiles lists every file
# the package ships under /etc. tests/image/t-deb.sh runs lintian on it.
set -euo pipefail
out=${1:?usage: mkdeb.sh OUTDIR}
top=$(cd "$(dirname "$0")/.." && pwd)
upstream=${JGW_VERSION:-0.1.0+$(git -C "$top" log -1 --format=%cd --date=format:%Y%m%d.%H%M%S 2>/dev/null || echo 0)}
version=$upstream-1
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || echo 0)}
export LC_ALL=C
maintainer="jgw developers <jgw-dev@example.org>"
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
pkg=$stage/pkg
doc=$pkg/usr/share/doc/jgw

# Always the release build: SAN= even when called from `make check SAN=1`
# (a sanitizer build is for the tests, never for a package).
make -C "$top" --no-print-directory install DESTDIR="$pkg" PREFIX=/usr SAN= >/dev/null
# jgw-node makes traffic (good and deliberately bad) for the demo and the
# tests: no business on an appliance. image/test.sh brings its own copy.
rm -f "$pkg/usr/bin/jgw-node" "$pkg/usr/share/man/man1/jgw-node.1"
# Debian ships stripped binaries (the build keeps -g for the tests).
for b in "$pkg"/usr/sbin/* "$pkg"/usr/bin/*; do
	[ "$(head -c4 "$b" | od -An -c | tr -d ' ')" = '177ELF' ] || continue   # jgw-operator: sh
	strip --strip-unneeded --remove-section=.comment --remove-section=.note "$b"
done
gzip -9n "$pkg"/usr/share/man/man*/*
install -d "$pkg/lib/systemd/system" "$pkg/usr/lib/jgw" "$doc/examples" "$pkg/usr/lib/sysusers.d" \
	"$pkg/usr/share/lintian/overrides"
# The A/B update units come with the image (build.sh), where jgw-update is.
install -m 0644 "$top"/image/systemd/jgwd.service "$top"/image/systemd/jgw-firstboot.service \
	"$top"/image/systemd/jgw-sessions.service "$pkg/lib/systemd/system/"
install -m 0755 "$top/image/rootfs/firstboot" "$pkg/usr/lib/jgw/firstboot"
# A pair member: keepalived's notify and check scripts (conf/ha/, docs/operations.md).
install -m 0755 "$top/conf/ha/jgw-ha-notify" "$top/conf/ha/jgw-ha-check" "$pkg/usr/lib/jgw/"
cp -r "$top"/conf/. "$doc/examples/"
find "$doc/examples" -type f -exec chmod 0644 {} +
cp "$top"/docs/*.md "$doc/"
install -m 0644 "$top/image/debian/copyright" "$doc/copyright"
install -m 0644 "$top/image/debian/lintian-overrides" "$pkg/usr/share/lintian/overrides/jgw"
# jgwd's account, and the operators' groups (docs/operators-sessions.md).
printf '%s\n' 'u jgw - "jgw gateway" /var/lib/jgw' 'g jgw-admin -' 'g jgw-read -' \
	> "$pkg/usr/lib/sysusers.d/jgw.conf"

# The changelog: an entry for this build on top of the released history.
{
	printf 'jgw (%s) bookworm; urgency=medium\n\n' "$version"
	printf '  * Build of commit %s.\n\n' "$(git -C "$top" log -1 --format=%h 2>/dev/null || echo unknown)"
	printf ' -- %s  %s\n\n' "$maintainer" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
	cat "$top/image/debian/changelog"
} > "$doc/changelog.Debian"
gzip -9n "$doc/changelog.Debian"

# Depends, computed from what the binaries link.
mkdir -p "$stage/debian"
printf 'Source: jgw\n\nPackage: jgw\nArchitecture: any\n' > "$stage/debian/control"
bins=$(find "$pkg/usr/sbin" "$pkg/usr/bin" -type f -perm -u+x)
deps=$(cd "$stage" && dpkg-shlibdeps -O $bins 2>/dev/null | sed -n 's/^shlibs:Depends=//p')

install -d "$pkg/DEBIAN"
for s in postinst prerm postrm; do install -m 0755 "$top/image/debian/$s" "$pkg/DEBIAN/$s"; done
# Every file under /etc is a conffile (today the package ships only the
# directory /etc/jgw: the site's configuration is the operator's).
(cd "$pkg" && find etc -type f | sort | sed 's|^|/|') > "$pkg/DEBIAN/conffiles"
[ -s "$pkg/DEBIAN/conffiles" ] || rm -f "$pkg/DEBIAN/conffiles"
find "$pkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
size=$(du -sk --apparent-size --exclude=DEBIAN "$pkg" | cut -f1)
cat > "$pkg/DEBIAN/control" <<CTRL
Package: jgw
Version: $version
Architecture: $(dpkg --print-architecture)
Maintainer: $maintainer
Installed-Size: $size
Depends: ${deps:+$deps, }adduser, nftables, openssl
Suggests: keepalived
Section: net
Priority: optional
Description: gateway appliance for the Juki-Net and the Fuhyo linkage system
 jgw stands between a site's servers (a municipality, a prefecture or the
 national servers) and the wide-area network of the Juki-Net (住基ネット)
 and the Fuhyo linkage system (附票連携システム): mutually authenticated
 TLS 1.3 tunnels between sites, inspection of every JMSG frame against the
 message catalog, an nftables firewall programmed over netlink, and a
 tamper-evident audit spool mirrored over RELP/TLS.
CTRL
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -print0 | sort -z | xargs -0 md5sum | sed 's|  \./|  |') \
	> "$pkg/DEBIAN/md5sums"
touch -h -d "@$SOURCE_DATE_EPOCH" "$pkg/DEBIAN" "$pkg"/DEBIAN/*
mkdir -p "$out"
deb="$out/jgw_${version}_$(dpkg --print-architecture).deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
