#!/usr/bin/env bash
# image/grub-setup.sh ROOTDIR DISK.img — put GRUB (i386-pc) on a disk image
# file without loop devices or a kernel partition scan: the core image goes
# into the bios_grub partition (partition 1), the boot sector into the MBR,
# and the two sector pointers that grub-bios-setup would write are written
# here (GRUB's boot/i386/pc/boot.S and diskboot.S layouts). Uses the GRUB of
# the image's own root, so the loader matches the system it boots.
set -euo pipefail
root=$1 img=$2
mods=$root/usr/lib/grub/i386-pc
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

start=$(sfdisk -d "$img" | sed -n "s|^${img}1 : start= *\([0-9]*\),.*|\1|p")
size=$(sfdisk -d "$img" | sed -n "s|^${img}1 : .*size= *\([0-9]*\),.*|\1|p")
[ -n "$start" ] && [ -n "$size" ] || { echo "grub-setup: no partition 1 in $img" >&2; exit 1; }

cat > "$work/early.cfg" <<'CFG'
search --no-floppy --set=root --label jgw-boot
set prefix=($root)/grub
CFG
"$root/usr/bin/grub-mkimage" -d "$mods" -O i386-pc -o "$work/core.img" \
	-c "$work/early.cfg" -p /grub \
	biosdisk part_gpt ext2 search search_label normal configfile linux echo test loadenv serial terminal
sectors=$(( ($(stat -c %s "$work/core.img") + 511) / 512 ))
[ "$sectors" -le "$size" ] || { echo "grub-setup: core.img ($sectors sectors) exceeds bios_grub ($size)" >&2; exit 1; }

le() { # value bytes → little-endian bytes on stdout
	local v=$1 n=$2 i
	for ((i = 0; i < n; i++)); do printf "\\x$(printf %02x $(( (v >> (8 * i)) & 255 )))"; done
}
patch() { # file offset bytes-from-stdin
	dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# diskboot.img (first sector of core.img): its one blocklist entry at 0x1f4
# names where the rest of core.img is: start LBA (8 bytes), count (2 bytes).
le $((start + 1)) 8 | patch "$work/core.img" $((0x1f4))
le $((sectors - 1)) 2 | patch "$work/core.img" $((0x1fc))
dd if="$work/core.img" of="$img" bs=512 seek="$start" conv=notrunc status=none

# boot.img into the MBR, keeping the partition table (bytes 440..511).
cp "$mods/boot.img" "$work/boot.img"
le "$start" 8 | patch "$work/boot.img" $((0x5c))          # kernel_sector
printf '\x90\x90' | patch "$work/boot.img" $((0x66))      # use the BIOS boot drive
dd if="$work/boot.img" of="$img" bs=440 count=1 conv=notrunc status=none
sig=$(dd if="$img" bs=1 skip=510 count=2 status=none | od -An -tx1 | tr -d ' ')
[ "$sig" = 55aa ] || { echo "grub-setup: no boot signature" >&2; exit 1; }
