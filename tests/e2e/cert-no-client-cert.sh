# cert-no-client-cert — a client without a certificate is refused.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_cert_case "" "no-client-cert"
