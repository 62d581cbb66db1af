#!/usr/bin/env bash
# image/test-deb.sh DEB — install the .deb on a plain Debian 12 and run it
# under systemd, as a Debian user would: a debootstrap of bookworm (minbase
# with systemd, cached per mirror in build/image-cache/) booted as a
# container with systemd-nspawn (its own network namespace: its firewall
# table is its own), then, with commands run inside it through nsenter:
#   install     dpkg -i: the jgw account, /var/lib/jgw (jgw 0750), /etc/jgw
#               (root:jgw 0750), jgwd.service enabled but inactive (not
#               configured yet: ConditionPathExists)
#   configure   a site configuration, PKI and audit key as docs/appliance.md
#               says; systemctl start jgwd: active, jgwctl status answers,
#               the nftables table is in force
#   upgrade     dpkg -i again: jgwd restarted (a new main pid), still
#               active; an operator's disable survives an upgrade
#   remove      jgwd stopped, its unit gone, configuration and state kept
#   purge       /var/lib/jgw removed, the operator's /etc/jgw files kept
# Needs root, debootstrap, systemd-nspawn (systemd-container) and the
# Debian mirror the build machine uses.
set -euo pipefail
deb=$(realpath "${1:?usage: test-deb.sh DEB}")
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${IMAGE_CACHE:-$top/build/image-cache}
suite=bookworm
export LC_ALL=C.UTF-8
mirror=$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)}
mirror=${IMAGE_MIRROR:-${mirror:-http://deb.debian.org/debian}}
packages=systemd,systemd-sysv,dbus
work=$(mktemp -d /tmp/jgw-deb-test.XXXXXX)
root=$work/root
nspawn_pid=
say() { printf '[deb-test %4ds] %s\n' "$SECONDS" "$*"; }
cleanup() {
	if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
		kill "$nspawn_pid" 2>/dev/null || true
		for _ in $(seq 1 20); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.5; done
		kill -9 "$nspawn_pid" 2>/dev/null || true
	fi
	[ -n "${KEEP:-}" ] || rm -rf --one-file-system "$work"
}
trap cleanup EXIT
fail() {
	say "FAIL: $*"
	[ -f "$work/console.log" ] && { echo "--- container console (tail)"; sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' "$work/console.log" | tail -15; }
	exit 1
}
for t in debootstrap systemd-nspawn nsenter; do
	command -v $t >/dev/null || fail "$t is not installed (make deps)"
done

# 1. A plain Debian 12, cached.
mkdir -p "$cache"
key=$(printf 'plain %s %s %s' "$suite" "$mirror" "$packages" | sha256sum | cut -c1-16)
tarball=$cache/plain-$key.tar
if [ ! -s "$tarball" ]; then
	say "debootstrap $suite ($packages) from $mirror"
	debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
		{ tail -20 "$work/debootstrap.log"; fail "debootstrap"; }
	tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
else
	mkdir -p "$root" && tar -C "$root" -xf "$tarball"
fi
say "plain Debian $(cat "$root/etc/debian_version") in $root"

# 2. The package's Depends from the mirror, before the boot (the booted
# container has a network namespace of its own, without a route out).
deps=$(dpkg-deb -f "$deb" Depends | sed 's/([^)]*)//g; s/|[^,]*//g; s/,/ /g')
cp /etc/resolv.conf "$root/etc/resolv.conf"
systemd-nspawn -q -D "$root" --register=no --keep-unit -E DEBIAN_FRONTEND=noninteractive \
	sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $deps" >"$work/apt.log" 2>&1 ||
	{ tail -20 "$work/apt.log"; fail "cannot install the Depends: $deps"; }
cp "$deb" "$root/root/jgw.deb"
"$top/conf/mkpki.sh" "$work/pki" >/dev/null
install -d "$root/root/site/pki"
cp "$work/pki/ca.crt" "$work/pki/crl.pem" "$work/pki/131016.crt" "$work/pki/131016.key" "$root/root/site/pki/"
cp -r "$top/conf/common" "$root/root/site/"
cat > "$root/root/site/jgw.conf" <<'CONF'
# A municipality on a plain Debian host (the package's install test).
site 131016;
include "common/system.conf";
include "common/policy.conf";
catalog "/usr/share/jgw/catalog.jcat";
control { group jgw-read; admin-group jgw-admin; }
listen lan 127.0.0.1 port 7000;
listen wan 127.0.0.1 port 7443;
interface lan "lo";
interface wan "lo";
server juki 127.0.0.1 port 7101;
tls {
	certificate "pki/131016.crt";
	key "pki/131016.key";
	ca "pki/ca.crt";
	crl "pki/crl.pem";
}
peer 130001 { address 127.0.0.13 port 7443; }
CONF

# 3. Boot it.
# adjtimex is let through nspawn's own filter (it blocks @clock in a
# container): jgwd reads the clock's state with it; without CAP_SYS_TIME,
# which nspawn does not give, nothing in the container can change the clock.
systemd-nspawn -q -D "$root" --boot --register=no --keep-unit --private-network \
	--system-call-filter='adjtimex clock_adjtime' \
	>"$work/console.log" 2>&1 &
nspawn_pid=$!
leader=
for _ in $(seq 1 60); do
	for p in $(ps -o pid= --ppid "$nspawn_pid" 2>/dev/null) $(ps -o pid= --ppid "$(ps -o pid= --ppid "$nspawn_pid" 2>/dev/null | head -1)" 2>/dev/null); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ] && { leader=$p; break; }
	done
	[ -n "$leader" ] && break
	kill -0 "$nspawn_pid" 2>/dev/null || fail "systemd-nspawn ended"
	sleep 1
done
[ -n "$leader" ] || fail "no systemd in the container"
in_ct() { nsenter -t "$leader" -a -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"; }
state=
for _ in $(seq 1 90); do
	state=$(in_ct systemctl is-system-running 2>/dev/null || true)
	case $state in running|degraded) break;; esac
	sleep 1
done
case $state in running|degraded) ;; *) fail "the container's systemd is '$state' after 90 s";; esac
say "container booted (systemd $state)"

# 4. Install.
out=$(in_ct dpkg -i /root/jgw.deb 2>&1) || { echo "$out"; fail "dpkg -i"; }
pw=$(in_ct getent passwd jgw) || fail "no jgw account after install"
IFS=: read -r _ _ uid _ _ home shell <<<"$pw"
[ "$uid" -lt 1000 ] && [ "$home" = /var/lib/jgw ] && [ "$shell" = /usr/sbin/nologin ] ||
	fail "jgw account is not a system account with home /var/lib/jgw and no shell: $pw"
[ "$(in_ct stat -c '%U:%G %a' /var/lib/jgw)" = "jgw:jgw 750" ] || fail "/var/lib/jgw is $(in_ct stat -c '%U:%G %a' /var/lib/jgw)"
[ "$(in_ct stat -c '%U:%G %a' /etc/jgw)" = "root:jgw 750" ] || fail "/etc/jgw is $(in_ct stat -c '%U:%G %a' /etc/jgw)"
[ "$(in_ct systemctl is-enabled jgwd.service)" = enabled ] || fail "jgwd.service is not enabled"
[ "$(in_ct systemctl is-enabled jgw-firstboot.service || true)" = disabled ] || fail "jgw-firstboot.service is enabled on a plain host"
[ "$(in_ct systemctl show -P ConditionResult jgwd.service)" = no ] || fail "jgwd.service was not started (condition not evaluated)"
[ "$(in_ct systemctl is-active jgwd.service || true)" = inactive ] || fail "jgwd.service runs without a configuration"
[ -x "$root/usr/sbin/jgwd" ] && [ -f "$root/usr/share/man/man8/jgwd.8.gz" ] || fail "files missing after install"
say "installed: account jgw (uid $uid), /var/lib/jgw jgw:jgw 750, /etc/jgw root:jgw 750, jgwd.service enabled, inactive until configured"

# 5. Configure (docs/appliance.md, "On a Debian host") and start.
in_ct sh -ec '
	cp -r /root/site/. /etc/jgw/
	chown -R root:jgw /etc/jgw; chmod -R u=rwX,g=rX,o= /etc/jgw
	jgwctl audit init -o /root/audit-k0.hex -k /var/lib/jgw/audit.key >/dev/null 2>&1
	install -d -o jgw -g jgw -m 0750 /var/lib/jgw/audit
	chown jgw:jgw /var/lib/jgw/audit.key
	jgwctl check /etc/jgw/jgw.conf >/dev/null' || fail "configuring the site"
in_ct systemctl start jgwd.service || { in_ct journalctl -u jgwd --no-pager | tail -20; fail "systemctl start jgwd"; }
[ "$(in_ct systemctl is-active jgwd.service)" = active ] || { in_ct journalctl -u jgwd --no-pager | tail -20; fail "jgwd not active"; }
st=$(in_ct jgwctl status 2>&1) || { echo "$st"; fail "jgwctl status"; }
grep -q 131016 <<<"$st" || { echo "$st"; fail "jgwctl status does not name the site"; }
t=
for _ in $(seq 1 10); do
	t=$(in_ct nft list table inet jgw 2>&1) && grep -q 'policy drop' <<<"$t" && break
	sleep 1
done
grep -q 'policy drop' <<<"$t" ||
	{ echo "$t" | head -20; in_ct journalctl -u jgwd --no-pager | tail -8; fail "no nftables table jgw with a default drop"; }
pid1=$(in_ct systemctl show -P MainPID jgwd.service)
run_uid=$(in_ct awk '/^Uid:/ { print $2 }' "/proc/$pid1/status")
[ "$run_uid" = "$uid" ] || fail "jgwd runs as uid $run_uid, not jgw ($uid)"
# The operators' socket: jgwd, not root, gives it to jgw-read (the unit's
# SupplementaryGroups= and its system-call filter must let it), a member
# of jgw-read reads through it, and one of jgw-admin changes state, named.
# The clock's state is readable in the sandbox (adjtimex): jgwd says whether
# it is synchronised, never that it cannot tell.
clk=$(in_ct journalctl -u jgwd --no-pager -o cat | grep -E "audit: (clock synchronised|the clock is not synchronised|cannot read the clock)" | head -1)
case $clk in
*"cannot read"* | "") fail "jgwd cannot read the clock's state under its unit: ${clk:-no clock line}" ;;
esac
for g in jgw-admin jgw-read; do
	gid=$(in_ct getent group "$g" | cut -d: -f3)
	[ "${gid:-0}" -ge 1000 ] || fail "group $g has gid ${gid:-none}: below 1000 libnss-extrausers ignores its members"
done
sock=$(in_ct stat -c '%a %G' /run/jgw/control.sock)
[ "$sock" = "660 jgw-read" ] || fail "control socket is '$sock', not 660 jgw-read"
in_ct useradd -M -N -g jgw-read -G jgw-admin -s /bin/sh opdeb || fail "useradd opdeb"
in_ct runuser -u opdeb -- jgwctl status >/dev/null || fail "a jgw-read member cannot read status"
in_ct runuser -u opdeb -- jgwctl quarantine add 192.0.2.7 1min >/dev/null || fail "a jgw-admin member cannot quarantine"
in_ct sh -c 'cat /var/lib/jgw/audit/*.jsonl' | grep -q '"event":"admin".*"action":"quarantine add","operator":"opdeb"' ||
	fail "no admin record naming opdeb"
say "configured and started: jgwd active as jgw (pid $pid1), jgwctl status answers, table inet jgw in force; the control socket is jgw-read's, an operator's change is recorded with her name"

# 6. Upgrade (the same package again: prerm upgrade, postinst configure OLD).
out=$(in_ct dpkg -i /root/jgw.deb 2>&1) || { echo "$out"; fail "dpkg -i (upgrade)"; }
pid2=$(in_ct systemctl show -P MainPID jgwd.service)
[ "$(in_ct systemctl is-active jgwd.service)" = active ] || fail "jgwd not active after the upgrade"
[ "$pid2" != "$pid1" ] && [ "$pid2" != 0 ] || fail "jgwd was not restarted by the upgrade (pid $pid1 → $pid2)"
in_ct systemctl disable --quiet jgwd.service
out=$(in_ct dpkg -i /root/jgw.deb 2>&1) || { echo "$out"; fail "dpkg -i (upgrade, disabled)"; }
[ "$(in_ct systemctl is-enabled jgwd.service || true)" = disabled ] || fail "an upgrade enabled jgwd.service again after the operator disabled it"
in_ct systemctl enable --quiet jgwd.service
say "upgraded: jgwd restarted (pid $pid1 → $pid2); an operator's disable is kept"

# 7. Remove, then purge.
out=$(in_ct dpkg -r jgw 2>&1) || { echo "$out"; fail "dpkg -r"; }
[ "$(in_ct systemctl is-active jgwd.service || true)" != active ] || fail "jgwd still runs after remove"
in_ct pidof jgwd >/dev/null && fail "a jgwd process is left after remove"
[ ! -e "$root/lib/systemd/system/jgwd.service" ] || fail "jgwd.service left after remove"
[ -f "$root/etc/jgw/jgw.conf" ] && [ -f "$root/var/lib/jgw/audit.key" ] || fail "remove took configuration or state"
out=$(in_ct dpkg -P jgw 2>&1) || { echo "$out"; fail "dpkg -P"; }
[ ! -e "$root/var/lib/jgw" ] || fail "/var/lib/jgw left after purge"
[ -f "$root/etc/jgw/jgw.conf" ] || fail "purge removed the operator's /etc/jgw/jgw.conf"
say "removed: jgwd stopped, unit gone, configuration and state kept; purged: /var/lib/jgw gone, the operator's /etc/jgw kept"
in_ct systemctl poweroff >/dev/null 2>&1 || true
for _ in $(seq 1 30); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 1; done
say "PASS"
