#!/usr/bin/env bash
# image/build.sh DEB OUT.img — build the jgw appliance disk image.
#
# GPT disk, BIOS boot through GRUB:
#   1 bios_grub   GRUB's core image
#   2 jgw-boot    grub.cfg and grubenv (which root slot boots)
#   3 jgw-root-a  read-only root, slot A: ext4 followed by its dm-verity
#                 hash tree; mounted only through dm-verity (image/initramfs)
#   4 jgw-root-b  read-only root, slot B: an update is written here, tried
#                 once, and kept only when it boots (image/rootfs/jgw-update)
#   5 jgw-data    /etc/jgw and /var/lib/jgw: survives every update
#
# Also made: OUT.update (next to OUT.img), the signed update payload
# (image/mkpayload.sh): the same root, zstd-compressed, with a manifest
# carrying its verity root hash, signed with the operator's Ed25519 update
# key JGW_UPDATE_KEY (a PEM file path; the image's jgw-update trusts only
# that key's public half, /usr/share/jgw/update-key.pem).
#
# Reproducible inputs: packages from the machine's configured Debian mirror
# (a snapshot when the sources name one), SOURCE_DATE_EPOCH for every time
# stamp, fixed file-system UUIDs and hash seeds, no host keys or machine-id
# baked in (made on the appliance at first boot).
set -euo pipefail
deb=${1:?usage: build.sh DEB OUT.img}
img=${2:?usage: build.sh DEB OUT.img}
top=$(cd "$(dirname "$0")/.." && pwd)
update_key=${JGW_UPDATE_KEY:-}
[ -n "$update_key" ] && [ -r "$update_key" ] || {
	echo "build.sh: JGW_UPDATE_KEY must name the operator's Ed25519 update key (PEM), e.g." >&2
	echo "  openssl genpkey -algorithm ed25519 -out /secure/place/jgw-update.pem; make image UPDATE_KEY=/secure/place/jgw-update.pem" >&2
	exit 2
}
openssl pkey -in "$update_key" -noout -text 2>/dev/null | head -1 | grep -q '^ED25519 Private-Key' ||
	{ echo "build.sh: $update_key is not an Ed25519 private key" >&2; exit 2; }
work=${IMAGE_WORK:-$(dirname "$img")/image-work}
cache=${IMAGE_CACHE:-$(dirname "$img")/image-cache}
suite=bookworm
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct)}
export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH
export LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive

root_mib=${IMAGE_ROOT_MIB:-900}
data_mib=${IMAGE_DATA_MIB:-256}
boot_mib=32

mirror=$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null)}
mirror=${IMAGE_MIRROR:-${mirror:-http://deb.debian.org/debian}}

packages=systemd,systemd-sysv,udev,dbus,linux-image-amd64,initramfs-tools,grub-pc-bin,grub2-common
packages=$packages,openssh-server,nftables,iproute2,kmod,e2fsprogs,util-linux,mount,ca-certificates
packages=$packages,openssl,dosfstools,cryptsetup-bin,zstd,chrony,keepalived,libnss-extrausers

step() { printf '[image %4ds] %s\n' "$SECONDS" "$*"; }

# A run killed half-way may have left /proc, /dev or /sys bound inside the
# work tree: release them before anything is removed, and never cross into
# another file system while removing.
for m in $(findmnt -rn -o TARGET | grep -F "$work/" | sort -r || true); do umount -l "$m"; done
if findmnt -rn -o TARGET | grep -qF "$work/"; then
	echo "build.sh: $work still has mounts; not removing it" >&2; exit 1
fi
rm -rf --one-file-system "$work"; mkdir -p "$work" "$cache"
root=$work/root

# 1. The base system; the debootstrap result is cached per package list.
key=$(printf '%s %s %s' "$suite" "$mirror" "$packages" | sha256sum | cut -c1-16)
tarball=$cache/base-$key.tar
if [ ! -s "$tarball" ]; then
	step "debootstrap $suite from $mirror"
	debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
		{ tail -20 "$work/debootstrap.log"; exit 1; }
	tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
else
	step "base system from cache ($tarball)"
	mkdir -p "$root" && tar -C "$root" -xf "$tarball"
fi

# 2. jgw through its Debian package (apt resolves its Depends).
step "install $(basename "$deb")"
cp "$deb" "$root/tmp/jgw.deb"
mount --bind /proc "$root/proc"; mount --bind /dev "$root/dev"; mount --bind /sys "$root/sys"
trap 'umount -l "$root/proc" "$root/dev" "$root/sys" 2>/dev/null || true' EXIT INT TERM
cp /etc/resolv.conf "$root/etc/resolv.conf"
chroot "$root" apt-get update -qq
chroot "$root" apt-get install -y -qq --no-install-recommends /tmp/jgw.deb >"$work/apt.log" 2>&1 ||
	{ tail -20 "$work/apt.log"; exit 1; }
chroot "$root" systemctl enable jgwd.service jgw-firstboot.service systemd-networkd.service ssh.service >/dev/null 2>&1
chroot "$root" systemctl disable apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer >/dev/null 2>&1 || true
chroot "$root" systemctl mask systemd-timesyncd.service >/dev/null 2>&1 || true
chroot "$root" systemd-sysusers >/dev/null 2>&1 || true
# The root is checked by dm-verity from the initramfs on (image/initramfs),
# and only updates signed with the operator's key are installed.
install -d "$root/usr/share/jgw"
openssl pkey -in "$update_key" -pubout -out "$root/usr/share/jgw/update-key.pem"
chmod 0644 "$root/usr/share/jgw/update-key.pem"
install -m 0755 "$top/image/initramfs/hook" "$root/etc/initramfs-tools/hooks/jgw-verity"
install -m 0755 "$top/image/initramfs/local-top" "$root/etc/initramfs-tools/scripts/local-top/jgw-verity"
chroot "$root" update-initramfs -u -k all >"$work/initramfs.log" 2>&1 || { tail -20 "$work/initramfs.log"; exit 1; }
rm -f "$root"/boot/initrd.img-*.old-dkms "$root"/initrd.img.old "$root"/vmlinuz.old
chroot "$root" apt-get clean

# 3. Appliance layout: read-only root, state on /data.
step "appliance layout"
install -m 0644 "$top/image/rootfs/fstab" "$root/etc/fstab"
install -m 0644 "$top/image/rootfs/sshd_config" "$root/etc/ssh/sshd_config"
# Named operators (docs/operators-sessions.md): their sshd policy, the
# banner, and jgw-sessions (from the package) recording every session.
install -d "$root/etc/ssh/sshd_config.d"
install -m 0644 "$top/image/rootfs/sshd_config.d/jgw-operators.conf" "$root/etc/ssh/sshd_config.d/"
install -m 0644 "$top/image/rootfs/issue.net" "$root/etc/issue.net"
chroot "$root" systemctl enable jgw-sessions.service >/dev/null 2>&1
# The operators' accounts live on the data partition (the root is read-only
# and replaced by updates): NSS reads /var/lib/extrausers after /etc, and
# jgw-operator writes there (docs/operators-sessions.md).
sed -i -e 's/^\(passwd\|group\|shadow\):\([[:space:]]*\)files\b/\1:\2files extrausers/' "$root/etc/nsswitch.conf"
grep -q '^passwd:.*extrausers' "$root/etc/nsswitch.conf" || { echo "build.sh: nsswitch.conf not set for extrausers" >&2; exit 1; }
rm -rf "$root/var/lib/extrausers"; ln -s /data/extrausers "$root/var/lib/extrausers"
install -m 0755 "$top/image/rootfs/jgw-update" "$root/usr/sbin/jgw-update"
install -m 0644 "$top/image/systemd/jgw-update-confirm.service" \
	"$top/image/systemd/jgw-update-deadline.service" "$root/lib/systemd/system/"
chroot "$root" systemctl enable jgw-update-confirm.service jgw-update-deadline.service >/dev/null 2>&1
# The clock: chrony with the site configuration's ntp servers (docs/audit.md, Time).
install -m 0644 "$top/image/rootfs/chrony.conf" "$root/etc/chrony/chrony.conf"
install -D -m 0755 "$top/image/rootfs/ntp-sources" "$root/usr/lib/jgw/ntp-sources"
install -m 0644 "$top/image/systemd/jgw-ntp-sources.service" "$top/image/systemd/jgw-ntp-sources.path" \
	"$root/lib/systemd/system/"
chroot "$root" systemctl enable chrony.service jgw-ntp-sources.service jgw-ntp-sources.path >/dev/null 2>&1
rm -f "$root"/etc/ssh/ssh_host_*
install -d "$root/data" "$root/boot/jgw" "$root/etc/jgw" "$root/var/lib/jgw"
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
printf 'jgw\n' > "$root/etc/hostname"
install -d "$root/etc/systemd/journald.conf.d"
# The journal on the data partition, within a cap that the audit budget
# counts (docs/audit.md, Capacity): operator and system events survive a reboot.
printf '[Journal]\nStorage=persistent\nSystemMaxUse=64M\nSystemKeepFree=32M\nForwardToConsole=no\n' \
	> "$root/etc/systemd/journald.conf.d/jgw.conf"
# Removed: what an appliance does not need.
chroot "$root" apt-get purge -y -qq --allow-remove-essential e2fsprogs-l10n >/dev/null 2>&1 || true
find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -path '*/jgw/*' -delete 2>/dev/null || true
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/usr/share/lintian
rm -rf "$root/tmp/jgw.deb" "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
       "$root"/var/cache/debconf/*-old "$root"/var/log/* "$root/etc/resolv.conf"
: > "$root/etc/resolv.conf"
umount -l "$root/proc" "$root/dev" "$root/sys"; trap - EXIT
kver=$(basename "$(ls -d "$root"/lib/modules/* | sort | tail -1)")
find "$root" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} + 2>/dev/null || true

# 4. File systems, made from directories without mounting anything.
step "file systems (kernel $kver)"
boot=$work/boot; mkdir -p "$boot/grub"
sed "s/@KVER@/$kver/g" "$top/image/rootfs/grub.cfg" > "$boot/grub/grub.cfg"
"$root/usr/bin/grub-editenv" "$boot/grub/grubenv" create
"$root/usr/bin/grub-editenv" "$boot/grub/grubenv" set slot=a
mkfs() { # name dir mib uuid [mkfs.ext4 options]
	rm -f "$work/$1.fs"
	mkfs.ext4 -q -F -L "$1" -U "$4" -E hash_seed="$4",root_owner=0:0 -T default -b 4096 ${5:-} \
		-d "$2" "$work/$1.fs" "${3}M" >/dev/null
}
# The data partition starts with the layout the bind mounts in fstab need.
install -d -m 0755 "$work/data/etc" "$work/data/ssh" "$work/data/journal"
install -d -m 0750 "$work/data/etc/jgw" "$work/data/state"
# The root file system is as large as its content needs (plus room for
# inodes and metadata), not as large as the slot: every block of it is
# hashed at build, install and boot. No journal: it is never written.
used=$(du -s --block-size=1M "$root" | cut -f1)
files=$(find "$root" -xdev | wc -l)
fs_mib=$(( (used * 115 / 100 + 48 + 3) / 4 * 4 ))
mkfs jgw-root "$root" "$fs_mib" 6a67770b-0000-4000-8000-000000000003 "-O ^has_journal -N $(( files + files / 2 + 4096 ))"
# dm-verity: the hash tree follows the file system; salt and UUID fixed
# (reproducible), the root hash goes into the signed manifest and GRUB's
# environment.
salt=$(printf 'jgw-root %s' "$SOURCE_DATE_EPOCH" | sha256sum | cut -d' ' -f1)
veritysetup format --data-block-size=4096 --hash-block-size=4096 --salt="$salt" \
	--uuid=6a67770b-0000-4000-8000-0000000000f3 "$work/jgw-root.fs" "$work/jgw-root.hash" > "$work/verity.txt"
roothash=$(sed -n 's/^Root hash:[[:space:]]*//p' "$work/verity.txt")
data_bytes=$(stat -c %s "$work/jgw-root.fs")
cat "$work/jgw-root.fs" "$work/jgw-root.hash" > "$work/jgw-root.img"
rm -f "$work/jgw-root.fs" "$work/jgw-root.hash"
img_bytes=$(stat -c %s "$work/jgw-root.img")
[ "$img_bytes" -le $(( root_mib * 1048576 )) ] ||
	{ echo "build.sh: root image ($img_bytes bytes) does not fit a ${root_mib} MiB slot" >&2; exit 1; }
"$root/usr/bin/grub-editenv" "$boot/grub/grubenv" set verity_a="$roothash:$data_bytes" verity_b="$roothash:$data_bytes"
rm -f "$work/jgw-boot.fs"
mkfs jgw-boot "$boot" "$boot_mib" 6a67770b-0000-4000-8000-000000000002
step "root: ${used} MiB of files in a ${fs_mib} MiB file system + $(( img_bytes - data_bytes )) bytes of hash tree; root hash $roothash"
mkfs jgw-data "$work/data" "$data_mib" 6a67770b-0000-4000-8000-000000000005

# 5. The disk: GPT, then each file system at its partition's offset.
step "disk"
total=$(( 1 + 1 + boot_mib + 2 * root_mib + data_mib + 1 ))
rm -f "$img"; truncate -s "${total}M" "$img"
sfdisk -q --no-reread --no-tell-kernel "$img" <<PARTS
label: gpt
label-id: 6A67770B-0000-4000-8000-000000000000
unit: sectors
start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name=bios, uuid=6A67770B-0000-4000-8000-0000000000A1
size=${boot_mib}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=jgw-boot, uuid=6A67770B-0000-4000-8000-0000000000A2
size=${root_mib}MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=jgw-root-a, uuid=6A67770B-0000-4000-8000-0000000000A3
size=${root_mib}MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=jgw-root-b, uuid=6A67770B-0000-4000-8000-0000000000A4
size=${data_mib}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=jgw-data, uuid=6A67770B-0000-4000-8000-0000000000A5
PARTS
put() { # file partition-number
	local start; start=$(sfdisk -d "$img" | sed -n "s|^$img$2 : start= *\([0-9]*\),.*|\1|p")
	dd if="$1" of="$img" bs=512 seek="$start" conv=notrunc,sparse status=none
}
put "$work/jgw-boot.fs" 2; put "$work/jgw-root.img" 3; put "$work/jgw-root.img" 4; put "$work/jgw-data.fs" 5

# 6. GRUB into the MBR and the bios_grub partition.
step "boot loader"
"$top/image/grub-setup.sh" "$root" "$img"

# 7. The signed update payload.
step "update payload (zstd, signed)"
version=$(dpkg-deb -f "$deb" Version)
rm -f "${img%.img}.rootfs"
"$top/image/mkpayload.sh" "$work/jgw-root.img" "$data_bytes" "$roothash" "$update_key" "$version" "${img%.img}.update"
pbytes=$(stat -c %s "${img%.img}.update")
step "update payload ${img%.img}.update: $(( pbytes / 1048576 )) MiB ($pbytes bytes) for a $(( img_bytes / 1048576 )) MiB root image in a ${root_mib} MiB slot ($(( pbytes * 100 / (root_mib * 1048576) )) % of the slot, $(( pbytes * 100 / img_bytes )) % of the image)"
step "done: $img ($(du -h --apparent-size "$img" | cut -f1) apparent, $(du -h "$img" | cut -f1) used)"
