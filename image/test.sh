#!/usr/bin/env bash
# image/test.sh IMAGE.img — boot two appliances under qemu, a municipality
# (千代田区 131016) and a prefecture (東京都 130001), on a private virtual WAN;
# wait for both gateways to say they are ready on the serial console; send a frame through the
# tunnel; check the audit record and the ruleset inside the guests. Then the
# municipality's updates: payloads that are tampered with, unsigned, a plain
# root image, or signed with another key are refused (and the refusals
# logged) before anything is written; the signed update is installed and
# confirmed; rolled back; a signed update whose jgwd fails rolls itself back
# by its deadline. Meanwhile the prefecture installs the signed update, its
# slot is changed after installing, and it does not boot (dm-verity, back
# to the slot in force): the two guests reboot side by side, each on a core
# of its own under software emulation.
#
# JGW_UPDATE_KEY: the key the image's payload was signed with (make
# image-test passes its throwaway key); the broken update is signed with it.
#
# Each guest gets: the image (copy-on-write overlay), a config drive (label
# JGWCONF: jgw.conf, PKI, network files, the test's SSH key), a management
# NIC (qemu user network, SSH forwarded to a loopback port) and a WAN NIC
# (a qemu socket link between the two guests, nothing else on it).
# KVM is used when /dev/kvm works (probed), software emulation otherwise.
set -euo pipefail
img=$(realpath "${1:?usage: test.sh IMAGE.img}")
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/jgw-image-test.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
# The host-side tools, copied once: a rebuild of build/ while the test runs
# (another make in the same tree) must not change them under it.
mkdir -p "$work/bin"
cp "$top/build/jgw-node" "$top/build/jgwctl" "$work/bin/"
say() { printf '[image-test %4ds] %s\n' "$SECONDS" "$*"; }
fail() { say "FAIL: $*"; for s in muni pref; do [ -f "$work/$s.serial" ] && { echo "--- $s serial (tail)"; sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' "$work/$s.serial" | strings | tail -25; }; done; exit 1; }

# --- accelerator -----------------------------------------------------------
accel="-accel tcg"; accel_name="software emulation (TCG)"
if [ -w /dev/kvm ]; then
	# /dev/kvm can exist and still not run a guest (nested virtualisation):
	# boot the image's kernel for a few seconds and look for its banner.
	kdir=$work/kprobe; mkdir -p "$kdir"
	if timeout 25 qemu-system-x86_64 -enable-kvm -cpu host -m 256 -nographic -no-reboot \
		-kernel "$top/build/image-work/root/vmlinuz" -append "console=ttyS0 panic=-1" \
		-net none > "$kdir/log" 2>&1 || true; grep -q 'Linux version' "$kdir/log"; then
		accel="-enable-kvm -cpu host"; accel_name="KVM"
	fi
fi
say "accelerator: $accel_name"

# --- PKI, SSH key, config drives ------------------------------------------
"$top/conf/mkpki.sh" "$work/pki" >/dev/null
ssh-keygen -q -t ed25519 -N '' -f "$work/id"
sshport_muni=$((26000 + RANDOM % 1000)); sshport_pref=$((sshport_muni + 1)); wanport=$((sshport_muni + 2))
ntpport=$((sshport_muni + 3))

site_conf() { # code lan-net gw-wan peer-code peer-wan
	local code=$1 lan=$2 wan=$3 peer=$4 peerwan=$5
	cat <<CONF
# image test site $code
site $code;
include "common/system.conf";
include "common/policy.conf";
catalog "catalog.jcat";
management { network 10.0.2.0/24; ssh-port 22; }
control { group jgw-read; admin-group jgw-admin; }
listen lan $lan.1 port 7000;
listen wan 0.0.0.0 port 7443;
interface lan "lan0";
interface wan "ens4";
server juki  $lan.10 port 7101;
server fuhyo $lan.10 port 7201;
lan-allow { $lan.1; $lan.10; }
tls {
	certificate "pki/$code.crt";
	key "pki/$code.key";
	ca "pki/ca.crt";
	crl "pki/crl.pem";
}
peer $peer { address $peerwan port 7443; }
CONF
}
net_files() { # dir lan-net wan-addr
	mkdir -p "$1"
	printf '[Match]\nName=ens3\n[Network]\nDHCP=ipv4\n' > "$1/10-mgmt.network"
	printf '[Match]\nName=ens4\n[Network]\nAddress=%s/24\n' "$3" > "$1/20-wan.network"
	printf '[NetDev]\nName=lan0\nKind=dummy\n' > "$1/30-lan.netdev"
	printf '[Match]\nName=lan0\n[Network]\nAddress=%s.1/24\nAddress=%s.10/24\n' "$2" "$2" > "$1/30-lan.network"
}
drive() { # name code lan-net wan-addr peer peer-wan
	local d=$work/$1.conf
	mkdir -p "$d/pki" "$d/ssh"
	cp -r "$top/conf/common" "$top/conf/catalog.jcat" "$d/"
	# The clock's source: the host's chronyd, reached through the qemu
	# user network's host address (below).
	sed -i "s|^\([[:space:]]*\)ntp 10.99.0.123;|\1ntp 10.0.2.2 port $ntpport;|" "$d/common/policy.conf"
	grep -q "ntp 10.0.2.2 port $ntpport;" "$d/common/policy.conf" || fail "no ntp statement to point at the test's server"
	cp "$work/pki/ca.crt" "$work/pki/crl.pem" "$work/pki/$2.crt" "$work/pki/$2.key" "$d/pki/"
	site_conf "$2" "$3" "$4" "$5" "$6" > "$d/jgw.conf"
	net_files "$d/network" "$3" "$4"
	cp "$work/id.pub" "$d/ssh/authorized_keys"
	# A slot on trial must be ready within this (a loaded CI machine under
	# software emulation took up to ~230 s from reboot to ready).
	echo 360 > "$d/update-deadline"
	# The daemon's own check, on the host: a copy whose audit block names a
	# key made here (the appliance makes its own at first boot) and whose
	# private key has the mode firstboot gives it.
	local chk=$work/check-$1
	rm -rf "$chk"; cp -r "$d" "$chk"
	"$work/bin/jgwctl" audit init -o "$chk/k0.hex" -k "$chk/audit.key" >/dev/null 2>&1 ||
		fail "cannot make an audit key for checking the config drive"
	sed -i "s|\"/var/lib/jgw/audit.key\"|\"$chk/audit.key\"|; s|\"/var/lib/jgw/audit\"|\"$chk/audit\"|" "$chk/common/system.conf"
	chmod 0600 "$chk"/pki/*.key
	# The operators' groups are the appliance's (its package makes them),
	# not this host's.
	sed -i '/^control { group jgw-read; admin-group jgw-admin; }$/d' "$chk/jgw.conf"
	"$work/bin/jgwctl" check "$chk/jgw.conf" >/dev/null || {
		"$work/bin/jgwctl" check "$chk/jgw.conf"; fail "config drive for $2 does not pass jgwctl check"; }
	rm -f "$work/$1.vfat"; mkfs.vfat -n JGWCONF -C "$work/$1.vfat" 8192 >/dev/null
	mcopy -s -i "$work/$1.vfat" "$d"/* ::/
}
drive muni 131016 10.16.0 10.77.0.16 130001 10.77.0.13
drive pref 130001 10.13.0 10.77.0.13 131016 10.77.0.16

# --- boot ------------------------------------------------------------------
# --- update payloads ---------------------------------------------------------
# The signed payload of the build, and what an attacker or a mistake could
# bring instead. Each goes to the municipality as a read-only drive with a
# serial number: /dev/disk/by-id/virtio-SERIAL in the guest.
payload=${img%.img}.update
key=${JGW_UPDATE_KEY:?JGW_UPDATE_KEY must name the key $payload was signed with}
[ -s "$payload" ] || fail "no update payload $payload"
pl=$work/payload; mkdir -p "$pl"
tar -C "$pl" -xf "$payload" || fail "cannot unpack $payload"
data_bytes=$(sed -n 's/^verity sha256 data-bytes \([0-9]*\) .*/\1/p' "$pl/manifest")
[ -n "$data_bytes" ] || fail "$payload: no data-bytes in its manifest"
t1=$SECONDS
# Tampered: one byte of the compressed root changed after signing.
cp "$payload" "$work/tampered.update"
off=$(( $(stat -c %s "$payload") - 4 * 1048576 ))
b=$(od -An -tu1 -j "$off" -N1 "$payload" | tr -d ' ')
printf "\\$(printf %03o $(( (b + 1) % 256 )))" | dd of="$work/tampered.update" bs=1 seek="$off" conv=notrunc status=none
cmp -s "$payload" "$work/tampered.update" && fail "the tampered payload is not changed"
# Unsigned: the same manifest and root without the signature.
tar -C "$pl" --format=ustar -cf "$work/unsigned.update" manifest root.img.zst
# A plain root image, as payloads were before they were signed.
zstd -q -d --long=27 -c "$pl/root.img.zst" > "$work/raw.rootfs"
# Signed with another key: the same manifest, a valid Ed25519 signature, but
# not by the key the appliance trusts.
openssl genpkey -algorithm ed25519 -out "$work/other-key.pem"
mkdir -p "$work/other"; cp "$pl/manifest" "$pl/root.img.zst" "$work/other/"
openssl pkeyutl -sign -rawin -inkey "$work/other-key.pem" -in "$work/other/manifest" -out "$work/other/manifest.sig"
tar -C "$work/other" --format=ustar -cf "$work/otherkey.update" manifest manifest.sig root.img.zst
# A broken update, signed with the real key: the same root with a jgwd that
# always fails (written into the ext4 image with debugfs, nothing mounted),
# its verity tree made anew. It installs and boots; jgwd never gets ready.
head -c "$data_bytes" "$work/raw.rootfs" > "$work/broken.fs"
printf '#!/bin/sh\necho "jgwd: broken on purpose by image/test.sh" >&2\nexit 1\n' > "$work/jgwd-broken"
debugfs -w -R "rm /usr/sbin/jgwd" "$work/broken.fs" >/dev/null 2>&1 &&
	debugfs -w -R "write $work/jgwd-broken /usr/sbin/jgwd" "$work/broken.fs" >/dev/null 2>&1 &&
	debugfs -w -R "sif /usr/sbin/jgwd mode 0100755" "$work/broken.fs" >/dev/null 2>&1 &&
	e2fsck -n -f "$work/broken.fs" >/dev/null 2>&1 || fail "cannot make the broken root"
veritysetup format --data-block-size=4096 --hash-block-size=4096 "$work/broken.fs" "$work/broken.hash" > "$work/broken.verity" ||
	fail "veritysetup format of the broken root"
cat "$work/broken.fs" "$work/broken.hash" > "$work/broken.img"; rm -f "$work/broken.fs" "$work/broken.hash"
JGW_PAYLOAD_ZSTD_LEVEL=3 "$top/image/mkpayload.sh" "$work/broken.img" "$data_bytes" \
	"$(sed -n 's/^Root hash:[[:space:]]*//p' "$work/broken.verity")" "$key" broken-by-image-test "$work/broken.update" ||
	fail "cannot sign the broken update"
rm -f "$work/broken.img"
say "payloads: signed $(( $(stat -c %s "$payload") / 1048576 )) MiB; tampered, unsigned, raw root, other key, broken (signed) made in $((SECONDS - t1))s"

boot() { # name sshport wan-netdev-arg mac [SERIAL=FILE ...]
	local name=$1 port=$2 netdev=$3 mac=$4 d extra=(); shift 4
	local slot=16   # PCI slots 0x10.. (0x3 and 0x4 are the NICs')
	for d in "$@"; do
		extra+=(-drive "file=${d#*=},if=none,id=${d%%=*},format=raw,readonly=on"
			-device "virtio-blk-pci,drive=${d%%=*},serial=${d%%=*},addr=$(printf 0x%x $slot)")
		slot=$((slot + 1))
	done
	set -- "$name" "$port" "$netdev" "$mac"
	qemu-img create -q -f qcow2 -F raw -b "$img" "$work/$1.qcow2"
	qemu-system-x86_64 $accel -smp 1 -m 768 -nographic \
		-drive file="$work/$1.qcow2",if=virtio,format=qcow2 \
		-drive file="$work/$1.vfat",if=virtio,format=raw,readonly=on \
		"${extra[@]}" \
		-netdev user,id=mgmt,net=10.0.2.0/24,hostfwd=tcp:127.0.0.1:$2-:22 \
		-device virtio-net-pci,netdev=mgmt,addr=0x3 \
		-netdev socket,id=wan,$3 -device virtio-net-pci,netdev=wan,addr=0x4,mac=$4 \
		> "$work/$1.serial" 2>&1 &
	pids+=($!)
}
# An NTP server in the test network: a real chronyd on the host's loopback
# (the guests reach it as 10.0.2.2), serving its own clock at stratum 8
# and never touching it (-x).
cat > "$work/chrony-server.conf" <<NTP
port $ntpport
bindaddress 127.0.0.1
allow 127.0.0.1
local stratum 8
cmdport 0
bindcmdaddress /
pidfile $work/chronyd.pid
NTP
chronyd -x -u root -d -f "$work/chrony-server.conf" > "$work/chronyd.log" 2>&1 &
pids+=($!)
t0=$SECONDS
boot pref "$sshport_pref" "listen=127.0.0.1:$wanport" 52:54:00:77:00:13 jgwgood="$payload"
sleep 1
boot muni "$sshport_muni" "connect=127.0.0.1:$wanport" 52:54:00:77:00:16 \
	jgwgood="$payload" jgwbroken="$work/broken.update" jgwtampered="$work/tampered.update" \
	jgwunsigned="$work/unsigned.update" jgwraw="$work/raw.rootfs" jgwotherkey="$work/otherkey.update"

ready_count() { # name slot → how often the console said the gateway is ready on that slot
	sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' "$work/$1.serial" | grep -c "jgw: gateway ready on slot ${2:-}" || true; }
ready() { [ "$(ready_count "$1")" -ge 1 ]; }
console_of() { sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' "$work/$1.serial"; }
for i in $(seq 1 600); do
	ready muni && ready pref && break
	for s in muni pref; do
		sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' "$work/$s.serial" | grep -qE 'FAILED.*jgwd|emergency mode' && fail "$s: jgwd did not start"
		true
	done
	sleep 1
done
ready muni && ready pref || fail "gateways not ready after 600 s"
boot_s=$((SECONDS - t0))
say "both gateways ready on the serial console after ${boot_s}s"

ssh_to() { local port=$1; shift
	ssh -q -i "$work/id" -p "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o ConnectTimeout=10 -o BatchMode=yes root@127.0.0.1 "$@"; }
for i in $(seq 1 60); do ssh_to "$sshport_pref" true && ssh_to "$sshport_muni" true && break; sleep 2; done
# The appliance ships no traffic generator: the test brings its own, into
# /tmp (a tmpfs, gone at the next boot).
push_node() { ssh_to "$1" 'cat > /tmp/jgw-node && chmod 0755 /tmp/jgw-node' < "$work/bin/jgw-node" ||
	{ sleep 5; ssh_to "$1" 'cat > /tmp/jgw-node && chmod 0755 /tmp/jgw-node' < "$work/bin/jgw-node"; } ||
	fail "cannot copy jgw-node into the guest at port $1"; }
push_node "$sshport_pref"; push_node "$sshport_muni"

# --- jgwd runs as jgw (the unit's User=), with CAP_NET_ADMIN only -------------
for s in "pref:$sshport_pref" "muni:$sshport_muni"; do
	IFS=: read -r name port <<<"$s"
	ids=$(ssh_to "$port" 'p=$(pidof jgwd) && id -u jgw && awk "/^(Uid|CapEff):/ { print \$2 }" /proc/$p/status')
	read -r jgw_uid run_uid capeff <<<"$(echo $ids)"
	[ -n "$jgw_uid" ] && [ "$run_uid" = "$jgw_uid" ] || fail "$name: jgwd runs as uid '$run_uid', not jgw ('$jgw_uid')"
	[ "$capeff" = 0000000000001000 ] || fail "$name: jgwd keeps capabilities $capeff (want CAP_NET_ADMIN only)"
	say "$name: jgwd runs as jgw (uid $run_uid) with CAP_NET_ADMIN only"
done

# --- a frame through the tunnel ------------------------------------------
# The prefecture's CS: a transient unit, started again after pref reboots.
pref_server() {
	ssh_to "$sshport_pref" 'systemd-run -q --unit jgw-test-server /tmp/jgw-node serve --listen 10.13.0.10:7101 --node 130001' ||
		fail "cannot start the prefecture's test server"
	sleep 1
}
pref_server
out=$(ssh_to "$sshport_muni" '/tmp/jgw-node send --connect 10.16.0.1:7000 --from 131016 --to 130001 --type honnin-tsuchi --records 3 --expect ack' 2>&1) ||
	{ echo "$out"; fail "honnin-tsuchi 131016 → 130001 was not acknowledged through the tunnel"; }
say "honnin-tsuchi 131016 → 130001 acknowledged through the tunnel"

# --- audit records and rulesets inside the guests -------------------------
sleep 1
for s in "pref:$sshport_pref:in" "muni:$sshport_muni:out"; do
	IFS=: read -r name port dir <<<"$s"
	recs=$(ssh_to "$port" "cat /var/lib/jgw/audit/*.jsonl 2>/dev/null || cat /var/lib/jgw/audit/* 2>/dev/null")
	awk '/"event":"message"/ && /"type":"0x0101"/ && /"verdict":"allow"/ { f = 1 } END { exit !f }' <<<"$recs" ||
		fail "$name: no audit record of the allowed 0x0101 frame"
	awk '/"event":"tunnel"/ && /"state":"open"/ { f = 1 } END { exit !f }' <<<"$recs" || fail "$name: no tunnel open record"
	say "$name: audit records of the frame and the tunnel present"
	rules=$(ssh_to "$port" 'nft list table inet jgw')
	peer_addr=$([ "$name" = pref ] && echo 10.77.0.16 || echo 10.77.0.13)
	grep -q "$peer_addr" <<<"$rules" || fail "$name: ruleset does not name the peer $peer_addr"
	grep -q 'policy drop' <<<"$rules" || fail "$name: ruleset has no default drop"
	say "$name: nftables table jgw in force (default drop, peer $peer_addr)"
done
rc=0; out=$(ssh_to "$sshport_muni" 'jgwctl audit verify --key /var/lib/jgw/audit-k0.hex /var/lib/jgw/audit' 2>&1) || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || { echo "$out"; fail "muni: audit chain does not verify with k0"; }
say "muni: audit chain verifies with k0 ($(echo "$out" | tail -1))"

# --- a named operator, on the data partition ----------------------------------
# /etc is on the read-only root: jgw-operator makes the account in the
# extrausers files of /data (docs/operators-sessions.md); she logs in with
# her key, changes state, and the audit trail names her (her session from
# sshd's journal through jgw-sessions, her quarantine from jgwd).
ssh-keygen -q -t ed25519 -N '' -C opalice -f "$work/op"
ssh_to "$sshport_muni" 'cat > /tmp/op.pub' < "$work/op.pub" || fail "muni: cannot copy the operator's key"
out=$(ssh_to "$sshport_muni" 'jgw-operator add opalice /tmp/op.pub --admin' 2>&1) ||
	{ echo "$out"; fail "muni: jgw-operator add opalice"; }
ssh_to "$sshport_muni" 'grep -q "^opalice:" /data/extrausers/passwd && ! grep -q "^opalice:" /etc/passwd' ||
	fail "muni: opalice is not in the data partition's accounts"
as_op() { ssh -q -i "$work/op" -p "$sshport_muni" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	-o ConnectTimeout=10 -o BatchMode=yes opalice@127.0.0.1 "$@"; }
out=$(as_op '/usr/sbin/jgwctl quarantine add 192.0.2.99 10min' 2>&1) || {
	echo "$out"
	as_op -v true 2>&1 | grep -v '^debug[23]' | tail -15 || true
	ssh_to "$sshport_muni" 'getent passwd opalice; id opalice; ls -ld /data /data/home /data/home/opalice \
		/data/home/opalice/.ssh /data/home/opalice/.ssh/authorized_keys; journalctl -u ssh --no-pager | tail -15' || true
	fail "muni: opalice cannot change state over SSH"; }
has_op_recs() { ssh_to "$sshport_muni" 'cat /var/lib/jgw/audit/*.jsonl' | jq -e -s '
	any(.[]; .event == "admin" and .action == "quarantine add" and .operator == "opalice" and
		.login == "opalice" and .outcome == "ok") and
	any(.[]; .event == "session" and .action == "open" and .user == "opalice")' >/dev/null; }
for i in $(seq 1 30); do has_op_recs && break; sleep 1; done
has_op_recs || fail "muni: no session and admin records naming opalice"
say "muni: operator opalice made on the data partition, logged in with her key; her session and her quarantine are records naming her"

# --- the clock ----------------------------------------------------------------
# chrony in the appliance takes its servers from the configuration's ntp
# statements (image/rootfs/ntp-sources) and the firewall lets exactly those
# out; jgwd reads the kernel's sync state and reports it.
synced() { ssh_to "$sshport_muni" 'jgwctl status' | grep -q '^time_sync yes$'; }
for i in $(seq 1 90); do synced && break; sleep 1; done
synced || { ssh_to "$sshport_muni" 'chronyc -n sources; jgwctl status | grep ^time_'; cat "$work/chronyd.log"
	fail "muni: the clock did not sync to the test network's NTP server in 90 s"; }
src=$(ssh_to "$sshport_muni" 'chronyc -n sources' | grep -c "^\^\* *10\.0\.2\.2 ") || true
[ "$src" = 1 ] || { ssh_to "$sshport_muni" 'chronyc -n sources'; fail "muni: chrony is not synced to 10.0.2.2"; }
say "muni: clock synced to the test network's NTP server (chrony source 10.0.2.2);" \
	"status: $(ssh_to "$sshport_muni" 'jgwctl status' | grep -E '^time_(sync|offset_us) ' | tr '\n' ' ')"

# --- the root is mounted through dm-verity ----------------------------------
for s in "pref:$sshport_pref" "muni:$sshport_muni"; do
	IFS=: read -r name port <<<"$s"
	v=$(ssh_to "$port" 'findmnt -no SOURCE /; veritysetup status jgwroot | sed -n "s/^ *status: *//p"') ||
		fail "$name: cannot ask for the root's dm-verity status"
	[ "$(echo $v)" = "/dev/mapper/jgwroot verified" ] || fail "$name: root is not a verified dm-verity device: $v"
done
t_verify=$(console_of muni | sed -n 's/.*jgw: root slot a verified in \([0-9]*\) s.*/\1/p' | head -1)
say "both roots are mounted through dm-verity (slot a checked in ${t_verify:-?} s at boot)"

# The first boot's machine ID is kept for every later boot (jgw-update
# machine-id, systemd.machine_id= from GRUB's environment): the journal on
# the data partition is one journal across the update reboots below.
mid_first=$(ssh_to "$sshport_muni" 'cat /etc/machine-id; jgw-update status | sed -n "s/^machine ID kept for every boot: //p"')
[ "$(sed -n 1p <<<"$mid_first")" = "$(sed -n 2p <<<"$mid_first")" ] && [ ${#mid_first} -eq 65 ] ||
	fail "muni: the first boot's machine ID is not kept in GRUB's environment: $(tr '\n' ' ' <<<"$mid_first")"
mid_first=$(sed -n 1p <<<"$mid_first")

# --- payloads that must be refused ------------------------------------------
# Each is refused before anything is written: slot b keeps its content and
# its root hash, no trial boot is set, and each refusal is in the journal
# (priority crit), on the console and in /data/update.log.
by_id=/dev/disk/by-id/virtio
muni() { ssh_to "$sshport_muni" "$@"; }
# The refused update payloads jgw-update logged to muni's journal (crit).
journal_refusals() {
	muni 'journalctl -t jgw-update -p crit --no-pager -o cat | grep -c "REFUSED update payload"'
}
before=$(muni "jgw-update status; head -c 16777216 /dev/vda4 | sha256sum")
refused=0
for case in "tampered:altered after signing" "unsigned:not a signed jgw update payload" \
	"raw:not a signed jgw update payload" "otherkey:signature does not verify with this appliance's update key"; do
	IFS=: read -r what why <<<"$case"
	rc=0; out=$(muni "jgw-update install $by_id-jgw$what" 2>&1) || rc=$?
	[ "$rc" -ne 0 ] || { echo "$out"; fail "muni: the $what payload was installed"; }
	grep -qF "REFUSED" <<<"$out" && grep -qF "$why" <<<"$out" || { echo "$out"; fail "muni: the $what payload was not refused for '$why'"; }
	refused=$((refused + 1))
	say "muni: $what payload refused: $(grep -o 'REFUSED.*' <<<"$out" | cut -c1-160)"
done
after=$(muni "jgw-update status; head -c 16777216 /dev/vda4 | sha256sum")
[ "$before" = "$after" ] || { echo "$before"; echo "$after"; fail "muni: a refused payload changed slot b or GRUB's environment"; }
n=$(journal_refusals) || true
[ "${n:-0}" -eq "$refused" ] || fail "muni: $refused refusals, ${n:-0} in the journal (priority crit)"
n=$(muni 'grep -c " refused " /data/update.log' || true)
[ "${n:-0}" -eq "$refused" ] || fail "muni: $refused refusals, ${n:-0} in /data/update.log"
[ "$(console_of muni | grep -c 'REFUSED update payload')" -eq "$refused" ] || fail "muni: the refusals are not on the console"
# update_recs ACTION SLOT: how many update records of jgwd's audit trail say so
update_recs() { muni 'cat /var/lib/jgw/audit/*.jsonl' | jq -s --arg a "$1" --arg s "$2" \
	'[.[] | select(.event == "update" and .action == $a and .operator == "root" and
		(.slot // "-") == $s and (.comment | length) > 0)] | length'; }
n=$(update_recs refused b) || true
[ "${n:-0}" -eq "$refused" ] || fail "muni: $refused refusals, ${n:-0} update records in the audit trail"
say "muni: $refused bad payloads refused before writing (slot b and grubenv unchanged); each in the journal, on the console, in /data/update.log and an update record of the audit trail"

# --- update to slot B, then roll back -----------------------------------
port_of() { case $1 in muni) echo "$sshport_muni";; pref) echo "$sshport_pref";; esac; }
reboot_to() { # name slot what [seconds]
	local before; before=$(ready_count "$1" "$2")
	# The reboot is a unit of its own (systemd-run): it must not belong to
	# the SSH session, which ends (and is cleaned up) before it runs.
	ssh_to "$(port_of "$1")" "$3 && systemd-run --quiet --on-active=2 systemctl reboot" || fail "$1: $3 failed"
	for i in $(seq 1 "${4:-600}"); do [ "$(ready_count "$1" "$2")" -gt "$before" ] && return 0; sleep 1; done
	fail "$1: gateway not ready on slot $2 after: $3"
}
seq_before=$(ssh_to "$sshport_muni" 'tail -qn1 /var/lib/jgw/audit/*.jsonl | sed -n "s/.*\"seq\":\([0-9]*\).*/\1/p" | sort -n | tail -1')
t1=$SECONDS
out=$(muni "jgw-update install $by_id-jgwgood" 2>&1) || { echo "$out"; fail "muni: the signed update was not installed"; }
t_install=$((SECONDS - t1))
say "muni: signed update checked and written in ${t_install}s: $(tail -1 <<<"$out" | cut -c1-120)"
t1=$SECONDS
reboot_to muni b true
say "muni: updated, gateway ready on slot b after $((SECONDS - t1))s"
for i in $(seq 1 60); do ssh_to "$sshport_muni" true && break; sleep 2; done
push_node "$sshport_muni"
status=$(ssh_to "$sshport_muni" 'jgw-update status')
grep -q 'running slot: b' <<<"$status" || { echo "$status"; fail "muni: not running slot b"; }
grep -q 'slot in force: b' <<<"$status" || { echo "$status"; fail "muni: slot b not confirmed"; }
grep -q "slot b root hash: $(sed -n 's/^roothash //p' "$pl/manifest")" <<<"$status" ||
	{ echo "$status"; fail "muni: slot b does not carry the signed root hash"; }
out=$(ssh_to "$sshport_muni" '/tmp/jgw-node send --connect 10.16.0.1:7000 --from 131016 --to 130001 --type honnin-tsuchi --records 2 --expect ack' 2>&1) ||
	{ echo "$out"; fail "muni on slot b: frame not acknowledged"; }
rc=0; out=$(ssh_to "$sshport_muni" 'jgwctl audit verify --key /var/lib/jgw/audit-k0.hex /var/lib/jgw/audit' 2>&1) || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || { echo "$out"; fail "muni on slot b: audit chain broken by the update"; }
seq_after=$(ssh_to "$sshport_muni" 'tail -qn1 /var/lib/jgw/audit/*.jsonl | sed -n "s/.*\"seq\":\([0-9]*\).*/\1/p" | sort -n | tail -1')
[ "$seq_after" -gt "$seq_before" ] || fail "muni: audit seq did not continue across the update ($seq_before → $seq_after)"
muni 'grep -q " installed .* into slot b " /data/update.log' || fail "muni: the install is not in /data/update.log"
[ "$(update_recs installed b)" -ge 1 ] && [ "$(update_recs confirmed b)" -ge 1 ] ||
	fail "muni: no installed and confirmed update records for slot b in the audit trail"
say "muni on slot b: configuration kept, frame acknowledged, audit chain continues (seq $seq_before → $seq_after) and verifies"
# --- a root changed after signing does not boot (the prefecture) -----------
# The signed update is installed on pref (checked, written, verified), then
# one byte of jgwd on its slot b is changed on the disk, as an attacker
# with write access to the partition would. The trial boot of slot b stops
# in the initramfs (the slot no longer matches its signed root hash), the
# box reboots, and slot a serves again. It runs beside muni's rollback and
# broken update below; its lines are shown once it is done.
changed_slot() { # name
	local name=$1 port t1=$SECONDS out blk refusals_before status
	port=$(port_of "$1")
	out=$(ssh_to "$port" "jgw-update install $by_id-jgwgood" 2>&1) ||
		{ echo "$out"; fail "$name: the signed update was not installed"; }
	say "$name: signed update checked and written in $((SECONDS - t1))s"
	blk=$(ssh_to "$port" 'debugfs -R "bmap /usr/sbin/jgwd 0" /dev/vda4 2>/dev/null') ||
		fail "$name: cannot find jgwd's first block on slot b"
	case $blk in ''|*[!0-9]*) fail "$name: jgwd's first block on slot b is '$blk'";; esac
	ssh_to "$port" sh -s "$blk" <<'FLIP' || fail "$name: cannot change slot b"
set -e
off=$(( $1 * 4096 + 100 ))
b=$(od -An -tu1 -j "$off" -N1 /dev/vda4 | tr -d ' ')
printf "\\$(printf %03o $(( (b + 1) % 256 )))" | dd of=/dev/vda4 bs=1 seek="$off" conv=notrunc,fsync status=none
[ "$(od -An -tu1 -j "$off" -N1 /dev/vda4 | tr -d ' ')" != "$b" ]
FLIP
	refusals_before=$(console_of "$name" | grep -c 'jgw: root slot b REFUSED' || true)
	reboot_to "$name" a true
	[ "$(console_of "$name" | grep -c 'jgw: root slot b REFUSED' || true)" -gt "$refusals_before" ] ||
		fail "$name: slot a is back, but the console has no refusal of the changed slot b"
	for i in $(seq 1 60); do ssh_to "$port" true && break; sleep 2; done
	status=$(ssh_to "$port" 'jgw-update status')
	grep -q 'running slot: a' <<<"$status" && grep -q 'slot in force: a' <<<"$status" ||
		{ echo "$status"; fail "$name: not back on slot a after the changed slot b"; }
	say "$name: slot b changed after signing was refused at boot ($(console_of "$name" | grep -o 'jgw: root slot b REFUSED.*' | tail -1 | cut -c1-100)); slot a serves again after $((SECONDS - t1))s"
}
changed_slot pref >"$work/pref-changed.log" 2>&1 &
changed=$!
pids+=("$changed")

t1=$SECONDS
reboot_to muni a 'jgw-update rollback'
for i in $(seq 1 60); do ssh_to "$sshport_muni" true && break; sleep 2; done
status=$(ssh_to "$sshport_muni" 'jgw-update status')
grep -q 'running slot: a' <<<"$status" || { echo "$status"; fail "muni: rollback did not boot slot a"; }
say "muni: rolled back, gateway ready on slot a after $((SECONDS - t1))s"

# --- a broken update rolls itself back -------------------------------------
# Slot b gets a signed root whose jgwd always fails: it boots once on trial,
# is never confirmed, jgw-update-deadline reboots it, and slot a comes back
# by itself. Its jgwd never becomes ready, so the deadline is shortened to
# 60 s first, as an operator may (/etc/jgw is on the data partition): a
# longer wait would show nothing more.
t1=$SECONDS
muni 'echo 60 > /etc/jgw/update-deadline' || fail "muni: cannot set the update deadline"
trial_before=$(console_of muni | grep -c 'jgw: slot b not ready after' || true)
reboot_to muni a "jgw-update install $by_id-jgwbroken" 1500
[ "$(console_of muni | grep -c 'jgw: slot b not ready after 60s' || true)" -gt "$trial_before" ] ||
	fail "muni: slot a is back, but not through the 60 s deadline of the broken slot b"
for i in $(seq 1 60); do ssh_to "$sshport_muni" true && break; sleep 2; done
status=$(ssh_to "$sshport_muni" 'jgw-update status')
grep -q 'running slot: a' <<<"$status" && grep -q 'slot in force: a' <<<"$status" ||
	{ echo "$status"; fail "muni: not back on slot a after the broken update"; }
rc=0; wait "$changed" || rc=$?
cat "$work/pref-changed.log"
[ "$rc" = 0 ] || fail "pref: the changed slot b (above)"
# Traffic again, through pref back on slot a: its CS and jgw-node went with
# its reboot.
push_node "$sshport_pref"; pref_server
push_node "$sshport_muni"
out=$(ssh_to "$sshport_muni" '/tmp/jgw-node send --connect 10.16.0.1:7000 --from 131016 --to 130001 --type honnin-tsuchi --records 1 --expect ack' 2>&1) ||
	{ echo "$out"; fail "muni: no traffic after the automatic rollback"; }
say "muni: broken update on slot b not confirmed; rebooted by its deadline to slot a after $((SECONDS - t1))s; traffic flows"
# --- the journal outlives reboots (on the data partition, one machine ID) --------
mid=$(ssh_to "$sshport_muni" 'cat /etc/machine-id')
[ "$mid" = "$mid_first" ] || fail "muni: machine ID $mid after the reboots, $mid_first at the first boot"
boots=$(ssh_to "$sshport_muni" 'journalctl --list-boots --no-pager' | grep -cE '[0-9a-f]{32}') || true
[ "${boots:-0}" -ge 5 ] || { ssh_to "$sshport_muni" 'journalctl --list-boots --no-pager; ls -l /var/log/journal/'
	fail "muni: the journal holds ${boots:-0} boots after the updates' reboots (5 or more expected)"; }
n=$(journal_refusals) || true
[ "${n:-0}" -eq "$refused" ] || fail "muni: $refused refusals before the reboots, ${n:-0} in the journal after them"
say "muni: the journal holds $boots boots under one machine ID; the refusals of the first boot are still in it"
say "PASS (first boot ${boot_s}s under $accel_name; root check at boot ${t_verify:-?}s; signed update checked and written in ${t_install}s)"
