# cert-revoked — a certificate on the CA's CRL is refused.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_cert_case bad/revoked "cert-revoked"
