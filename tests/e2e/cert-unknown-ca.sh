# cert-unknown-ca — a certificate from a CA we do not trust is refused.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_cert_case bad/unknown-ca "unknown-ca"
