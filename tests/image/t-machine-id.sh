#!/usr/bin/env bash
# One machine ID for the life of the appliance (docs/appliance.md): `jgw-update
# machine-id` keeps the first boot's ID in GRUB's environment, once, and
# refuses what is not a machine ID; grub.cfg passes a kept ID to the kernel
# as systemd.machine_id= and nothing when none is kept. Run against a GRUB
# environment and machine-id file of the test's own (JGW_UPDATE_GRUBENV,
# JGW_MACHINE_ID_FILE: nothing is mounted). The booted image checks the
# journal across its reboots (image/test.sh).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
upd=$top/image/rootfs/jgw-update
fail() { echo "FAIL: $*"; exit 1; }
command -v grub-editenv >/dev/null || { echo "grub-editenv is not installed (grub-common)"; exit 77; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export JGW_UPDATE_GRUBENV=$work/grubenv JGW_MACHINE_ID_FILE=$work/machine-id
export JGW_UPDATE_LOG=$work/update.log
kept() { grub-editenv "$JGW_UPDATE_GRUBENV" list | sed -n 's/^machine_id=//p'; }
fresh() { rm -f "$JGW_UPDATE_GRUBENV"; grub-editenv "$JGW_UPDATE_GRUBENV" create
	grub-editenv "$JGW_UPDATE_GRUBENV" set slot=a; }
a=0123456789abcdef0123456789abcdef b=fedcba9876543210fedcba9876543210

# The first boot: its ID is kept; the other settings are left as they were.
fresh; echo "$a" >"$JGW_MACHINE_ID_FILE"
out=$(sh "$upd" machine-id 2>&1) || fail "the first boot's ID was not kept: $out"
[ "$(kept)" = "$a" ] || fail "GRUB's environment keeps '$(kept)', want $a"
grub-editenv "$JGW_UPDATE_GRUBENV" list | grep -qx 'slot=a' || fail "slot= was lost"
sh "$upd" status | grep -qx "machine ID kept for every boot: $a" || fail "status does not show the kept ID"
echo "ok: the first boot's ID is kept and shown by status"

# Every later boot runs under it: nothing changes.
sum=$(sha256sum <"$JGW_UPDATE_GRUBENV")
out=$(sh "$upd" machine-id 2>&1) || fail "a boot under the kept ID was refused: $out"
[ "$(sha256sum <"$JGW_UPDATE_GRUBENV")" = "$sum" ] || fail "a later boot rewrote GRUB's environment"
echo "ok: a later boot under the kept ID changes nothing"

# A boot under another ID (a boot loader without systemd.machine_id=) is
# reported, and the kept ID stays.
echo "$b" >"$JGW_MACHINE_ID_FILE"
out=$(sh "$upd" machine-id 2>&1) && fail "a boot under another ID was not reported"
grep -qF "machine ID $a is kept, but this boot runs as $b" <<<"$out" || fail "unclear report: $out"
[ "$(kept)" = "$a" ] || fail "the kept ID changed to '$(kept)'"
echo "ok: a boot under another ID is reported; the kept ID stays"

# What is not a machine ID is never kept.
for bad in "" "not-a-machine-id" "${a:0:31}" "${a}0" "0123456789ABCDEF0123456789ABCDEF"; do
	fresh; printf '%s\n' "$bad" >"$JGW_MACHINE_ID_FILE"
	out=$(sh "$upd" machine-id 2>&1) && fail "'$bad' was kept as a machine ID"
	grep -qE "no machine ID to keep|not 32 hex digits" <<<"$out" || fail "unclear refusal of '$bad': $out"
	[ -z "$(kept)" ] || fail "'$bad' reached GRUB's environment"
done
fresh; rm -f "$JGW_MACHINE_ID_FILE"
sh "$upd" machine-id >/dev/null 2>&1 && fail "a missing machine-id file was accepted"
[ -z "$(kept)" ] || fail "a missing machine-id file put '$(kept)' into GRUB's environment"
echo "ok: empty, malformed, short, long, upper-case and missing IDs are refused and not kept"

# grub.cfg: valid GRUB script; the kernel gets systemd.machine_id= only from
# a kept ID.
cfg=$top/image/rootfs/grub.cfg
if command -v grub-script-check >/dev/null; then
	grub-script-check "$cfg" || fail "grub.cfg is not valid GRUB script"
fi
grep -qx 'if \[ -n "$machine_id" \]; then set machine="systemd.machine_id=$machine_id"; fi' "$cfg" ||
	fail "grub.cfg does not set systemd.machine_id= from a kept ID"
grep -q '^set machine=$' "$cfg" || fail "grub.cfg does not clear machine when none is kept"
grep -E '^[[:space:]]*linux ' "$cfg" | grep -q ' \$machine$' || fail "the kernel line does not carry \$machine"
echo "ok: grub.cfg passes a kept ID, and only a kept one, as systemd.machine_id="
