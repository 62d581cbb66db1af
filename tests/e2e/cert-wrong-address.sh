# cert-wrong-address — a valid certificate presented from another peer's
# address: 中央区's certificate (131024) from 千代田区's WAN address. The
# firewall admits the address (千代田区 is a peer), the certificate chains
# and 中央区 is in 東京都's directory, but the address is not 中央区's: the
# tunnel is refused with its own reason, address-mismatch (tls source-check,
# on by default). Then 千代田区's own certificate from the same address works.
source "$(dirname "$0")/lib.sh"
e2e_need
e2e_cert_case 131024 "address-mismatch"
