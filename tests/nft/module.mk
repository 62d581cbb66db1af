# tests/nft/ — the firewall's tests (filters/firewall): unit tests of the
# ruleset, the quarantine decisions and the NFLOG summariser; scenarios in
# network namespaces jn-<pid>-* against the real kernel; the seed writer of
# fuzz_nft; the nftables measurement.
DEBS += nftables iproute2 nmap tcpreplay libpcap-dev util-linux mawk

CHECKS  += check-nft
BENCHES += bench-nft

NFT_OBJS := $(B)/filters/firewall/nft.o $(B)/filters/firewall/nft_rules.o \
            $(B)/filters/firewall/nft_ha.o \
            $(B)/filters/firewall/nftlog.o $(LIB_BASE)

CHECKS  += check-nft
BENCHES += bench-nft

# The unit tests link only the objects they need. nft-tool loads
# configurations (cfg_load), so it links the policy too.
$(B)/tests/nft-tool: $(B)/tests/tools/nft-tool.o $(LIB_POLICY) $(LIB_FIREWALL) $(LIB_ENGINE) \
		$(LIB_BASE)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_POLICY) $(LDLIBS_FIREWALL) $(LDLIBS_ENGINE)

$(B)/tests/nft-pcap: $(B)/tests/nft/nft-pcap.o $(NFT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lnftnl -lmnl -lpcap

$(B)/tests/test_nft: $(B)/tests/unit/test_nft.o $(NFT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lnftnl -lmnl -lcmocka

$(B)/tests/test_quar: $(B)/tests/unit/test_quar.o $(B)/filters/firewall/quar.o $(NFT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lnftnl -lmnl -lcmocka

# The summariser's test includes nftlog.c itself (its static parts).
$(B)/tests/test_nftlog: $(B)/tests/nft/test_nftlog.o $(B)/filters/firewall/nft_rules.o \
		$(B)/filters/firewall/nft_ha.o $(LIB_BASE)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lnftnl -lmnl -lcmocka

# The seed corpus writer of fuzz_nft (no libraries: it only writes bytes).
$(B)/tests/nft-seeds: $(B)/tests/nft/nft-seeds.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $<

NFT_TESTS := $(B)/tests/test_nft $(B)/tests/test_quar $(B)/tests/test_nftlog
NFT_TOOLS := $(B)/tests/nft-tool $(B)/tests/nft-pcap $(B)/tests/nft-seeds

check-nft: $(NFT_TESTS) $(NFT_TOOLS) $(B)/jgwctl
	@rc=0; \
	NFT_TOOL=$(B)/tests/nft-tool tests/lib/run-cmocka.sh $(RES)/nft-unit.res nft-unit \
		$(NFT_TESTS) || rc=1; \
	NFT_TOOL=$(B)/tests/nft-tool NFT_PCAP=$(B)/tests/nft-pcap JGWCTL=$(B)/jgwctl \
		NFT_SEEDS=$(B)/tests/nft-seeds \
		tests/lib/run-scenarios.sh $(RES)/nft.res nft \
		$(sort $(wildcard tests/nft/t-*.sh)) || rc=1; \
	exit $$rc

bench-nft: $(B)/tests/nft-tool
	NFT_TOOL=$(B)/tests/nft-tool tests/nft/bench.sh

.PHONY: check-nft bench-nft

# Regenerate the committed seeds (review, then commit the diff); check-nft
# (t-seeds.sh) fails when they differ from what nft-seeds writes.
seeds-nft: $(B)/tests/nft-seeds
	@mkdir -p tests/fuzz/corpus/nft
	$(B)/tests/nft-seeds tests/fuzz/corpus/nft

.PHONY: seeds-nft
