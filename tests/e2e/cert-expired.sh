# cert-expired — a peer certificate past its notAfter is refused.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_cert_case bad/expired "cert-expired"
