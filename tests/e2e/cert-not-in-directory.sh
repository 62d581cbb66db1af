# cert-not-in-directory — a valid certificate of a node that may be a peer by
# the rules (a municipality: 271004, 大阪府) but is not in 中央区's peer
# directory is refused as unknown-peer.
source "$(dirname "$0")/lib.sh"
e2e_need
E2E_TARGET=chuo e2e_cert_case 271004 "unknown-peer"
