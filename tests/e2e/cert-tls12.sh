# cert-tls12 — a TLS 1.2 client (valid certificate) is refused: TLS 1.3 only.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_cert_case 131016 "protocol-version" -tls1_2
