# cert-not-yet-valid — a peer certificate before its notBefore is refused.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_cert_case bad/not-yet-valid "cert-not-yet-valid"
