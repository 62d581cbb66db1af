# cert-not-in-directory — a valid certificate of a node that is not in the
# peer directory (大阪府 270008 at 東京都) is refused.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_cert_case 270008 "unknown-peer"
