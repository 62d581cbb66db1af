#!/usr/bin/env bash
# image/mkpayload.sh ROOT.img DATA_BYTES ROOTHASH KEY.pem VERSION OUT.update
# — the signed update payload that jgw-update installs.
#
# ROOT.img is a root slot's content: the ext4 file system (DATA_BYTES long)
# followed by its dm-verity hash tree (veritysetup format, superblock at
# DATA_BYTES), ROOTHASH the tree's root hash. The payload is a tar archive
# of three members, in this order:
#   manifest       text: format, version, the compressed image's SHA-256 and
#                  size, the image's size, the verity root hash, hash offset
#                  and salt
#   manifest.sig   Ed25519 signature of the manifest (64 bytes), made with
#                  KEY.pem, the operator's update key
#   root.img.zst   ROOT.img compressed with zstd
# jgw-update checks the signature with the public key in the running root,
# then the compressed image against the manifest, before it writes anything;
# after writing it checks the slot against the root hash, and the root hash
# goes on the kernel command line, so dm-verity holds the slot to it at
# every boot (docs/appliance.md).
set -euo pipefail
[ $# -eq 6 ] || { echo "usage: mkpayload.sh ROOT.img DATA_BYTES ROOTHASH KEY.pem VERSION OUT.update" >&2; exit 2; }
img=$1 data=$2 roothash=$3 key=$4 version=$5 out=$6
export LC_ALL=C
case $roothash in *[!0-9a-f]*|'') echo "mkpayload: root hash '$roothash' is not lower-case hex" >&2; exit 2;; esac
openssl pkey -in "$key" -noout -text 2>/dev/null | head -1 | grep -q '^ED25519 Private-Key' ||
	{ echo "mkpayload: $key is not an Ed25519 private key (openssl genpkey -algorithm ed25519 -out KEY.pem)" >&2; exit 2; }
salt=$(veritysetup dump --hash-offset="$data" "$img" | sed -n 's/^Salt:[[:space:]]*//p')
[ -n "$salt" ] || { echo "mkpayload: $img has no verity superblock at $data" >&2; exit 1; }
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
zstd -q -T0 "-${JGW_PAYLOAD_ZSTD_LEVEL:-19}" --long=27 -o "$stage/root.img.zst" "$img"
cat > "$stage/manifest" <<MANIFEST
format jgw-update 1
version $version
payload root.img.zst zstd $(stat -c %s "$stage/root.img.zst") sha256 $(sha256sum "$stage/root.img.zst" | cut -d' ' -f1)
image-bytes $(stat -c %s "$img")
verity sha256 data-bytes $data data-block 4096 hash-block 4096 salt $salt
roothash $roothash
MANIFEST
openssl pkeyutl -sign -rawin -inkey "$key" -in "$stage/manifest" -out "$stage/manifest.sig"
ts=${SOURCE_DATE_EPOCH:-0}
tar -C "$stage" --format=ustar --owner=0 --group=0 --numeric-owner --mtime="@$ts" --mode=0644 \
	-cf "$out.tmp" manifest manifest.sig root.img.zst
mv "$out.tmp" "$out"
