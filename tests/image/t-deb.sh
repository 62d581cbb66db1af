# The Debian package (image/mkdeb.sh): built from `make install`, it passes
# lintian with no error, warning or info other than those overridden with a
# reason (image/debian/lintian-overrides), and carries what a Debian user
# expects: copyright (DEP-5), changelog.Debian.gz, man pages, jgwctl's bash
# completion, maintainer scripts, md5sums, every /etc file as a conffile.
# Installing it on a plain Debian 12 and starting the unit is
# image/test-deb.sh (make image-test).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "FAIL: $*"; exit 1; }
for t in lintian dpkg-deb dpkg-shlibdeps; do
	command -v $t >/dev/null || { echo "$t is not installed"; exit 77; }
done
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
deb=$("$top/image/mkdeb.sh" "$work" 2>"$work/mkdeb.err") || { cat "$work/mkdeb.err"; fail "mkdeb.sh failed"; }
echo "package: $(basename "$deb")"

# lintian: every tag at any level is a failure unless overridden.
lintian --allow-root --display-level '>=pedantic' --info "$deb" > "$work/lintian.out" 2>&1
grep -v '^N:' "$work/lintian.out" | grep -E '^[EWIPX]: ' > "$work/tags" || true
over=$(lintian --allow-root --display-level '>=pedantic' --show-overrides "$deb" 2>/dev/null | grep -c '^O: ' || true)
if [ -s "$work/tags" ]; then cat "$work/tags"; fail "lintian reports $(wc -l < "$work/tags") tag(s)"; fi
echo "lintian: no errors, warnings, infos or pedantic tags ($over overridden with reasons)"

dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' > "$work/files"
dpkg-deb -e "$deb" "$work/ctrl"
has() { grep -qx -- "$1" "$work/files" || fail "the package lacks $1"; }
hasnot() { ! grep -qx -- "$1" "$work/files" || fail "the package carries $1"; }
for f in /usr/sbin/jgwd /usr/sbin/jgwctl /usr/bin/jgw-inspect /usr/bin/jgw-replay \
	/usr/share/man/man8/jgwd.8.gz /usr/share/man/man8/jgwctl.8.gz /usr/share/man/man5/jgw.conf.5.gz \
	/usr/share/man/man1/jgw-inspect.1.gz /usr/share/man/man1/jgw-replay.1.gz \
	/usr/share/bash-completion/completions/jgwctl /usr/share/doc/jgw/copyright \
	/usr/share/doc/jgw/changelog.Debian.gz /lib/systemd/system/jgwd.service \
	/usr/share/jgw/catalog.jcat /usr/lib/sysusers.d/jgw.conf; do
	has "$f"
done
hasnot /usr/bin/jgw-node; hasnot /usr/share/man/man1/jgw-node.1.gz
echo "contents: programs, man pages, completion, copyright, changelog.Debian.gz, units"

# DEP-5 copyright: the format line, and every Files paragraph with its licence.
dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/share/doc/jgw/copyright > "$work/copyright"
head -1 "$work/copyright" | grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' ||
	fail "copyright is not machine-readable (DEP-5)"
# The changelog's newest entry is this version, in Debian's format.
dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/share/doc/jgw/changelog.Debian.gz | gzip -dc > "$work/changelog"
version=$(dpkg-deb -f "$deb" Version)
[ "$(dpkg-parsechangelog -l "$work/changelog" -S Version)" = "$version" ] ||
	fail "changelog's newest entry is not $version"
dpkg-parsechangelog -l "$work/changelog" --all -S Version >/dev/null || fail "changelog does not parse"
echo "copyright is DEP-5; changelog.Debian.gz starts with $version"

# Maintainer scripts: present, POSIX sh, and doing what the package says.
for s in postinst prerm postrm; do
	[ -x "$work/ctrl/$s" ] || fail "no executable $s"
	sh -n "$work/ctrl/$s" || fail "$s is not valid sh"
done
grep -q 'adduser --system' "$work/ctrl/postinst" || fail "postinst makes no system account"
grep -q '/var/lib/jgw' "$work/ctrl/postinst" || fail "postinst does not make /var/lib/jgw"
grep -q 'deb-systemd-invoke stop' "$work/ctrl/prerm" || fail "prerm does not stop jgwd"
grep -q 'rm -rf /var/lib/jgw' "$work/ctrl/postrm" || fail "postrm does not remove the state at purge"
[ -s "$work/ctrl/md5sums" ] || fail "no md5sums"
# conffiles: exactly the files under /etc.
grep '^/etc/' "$work/files" | grep -v '/$' | sort > "$work/etc-files"
sort "$work/ctrl/conffiles" 2>/dev/null > "$work/conffiles" || : > "$work/conffiles"
diff -u "$work/etc-files" "$work/conffiles" || fail "conffiles differ from the files under /etc"
dpkg-deb -f "$deb" Depends | grep -q 'adduser' || fail "Depends lacks adduser (postinst uses it)"
echo "maintainer scripts, md5sums and conffiles ($(wc -l < "$work/conffiles") under /etc) as expected"
