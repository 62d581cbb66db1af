# cert-two-uris — a certificate with two urn:jgw:node identities is refused.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_cert_case bad/two-uris "identity-count"
