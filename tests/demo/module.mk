# tests/demo/ — the live demo (make demo): four sites in network namespaces,
# real jgwd + nftables per site, allowed and refused traffic, audit trail.
DEBS += jq bsdextrautils iproute2 nftables openssl

demo: binaries
	JGW_BUILD=$(abspath $(B)) tests/demo/demo.sh

.PHONY: demo
