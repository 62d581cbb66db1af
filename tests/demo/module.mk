# tests/demo/ — the live demo (make demo): four sites in network namespaces,
# real jgwd + nftables per site, allowed and refused traffic, audit trail,
# an operator's action and jgwctl's view of one gateway.
#   check-demo   group demo (tests/demo/t-*.sh): the demo run piped passes,
#                is plain text within 100 columns and shows what it promises
CHECKS += check-demo
DEBS += jq iproute2 nftables openssl

demo: binaries
	JGW_BUILD=$(abspath $(B)) tests/demo/demo.sh

check-demo: binaries
	JGW_BUILD=$(abspath $(B)) tests/lib/run-scenarios.sh $(RES)/demo.res demo \
		$(sort $(wildcard tests/demo/t-*.sh))

.PHONY: demo check-demo
