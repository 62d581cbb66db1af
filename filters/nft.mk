# filters/nft.mk — the nftables table over netlink (nft_*), the NFLOG drop
# summaries, the quarantine decisions (gateway/quar.c) and their tests.
FILTERS_SRCS += filters/nft.c filters/nft_rules.c filters/nftlog.c
GATEWAY_SRCS += gateway/quar.c gateway/ctl_nft.c
LIBS_FILTERS += -lnftnl -lmnl
DEBS += libnftnl-dev libmnl-dev nftables iproute2 nmap tcpreplay libpcap-dev \
        libcmocka-dev util-linux mawk

NFT_OBJS := $(B)/filters/nft.o $(B)/filters/nft_rules.o $(B)/filters/nftlog.o

CHECKS  += check-nft
BENCHES += bench-nft

# The unit tests link only the objects they need. nft-tool loads
# configurations (cfg_load), so it links the project's libraries.
$(B)/tests/nft-tool: $(B)/tests/tools/nft-tool.o $(JGW_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(JGW_LIBS) $(JGW_LDLIBS)

$(B)/tests/nft-pcap: $(B)/tests/nft/nft-pcap.o $(NFT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lnftnl -lmnl -lpcap

$(B)/tests/test_nft: $(B)/tests/unit/test_nft.o $(NFT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lnftnl -lmnl -lcmocka

$(B)/tests/test_quar: $(B)/tests/unit/test_quar.o $(B)/gateway/quar.o $(NFT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lnftnl -lmnl -lcmocka

# The summariser's test includes nftlog.c itself (its static parts).
$(B)/tests/test_nftlog: $(B)/tests/nft/test_nftlog.o $(B)/filters/nft_rules.o
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

# fuzz-nft: libFuzzer on NFLOG datagrams and prefixes, FUZZ_SECONDS (60),
# from the committed seeds (tests/fuzz/corpus/nft; what it finds goes to the
# build tree, and so do crash artifacts, never the repository).
FUZZ_SECONDS ?= 60
FUZZERS += fuzz-nft
$(B)/fuzz/fuzz_nft: tests/nft/fuzz_nft.c filters/nftlog.c filters/nft_rules.c \
		filters/nft.h filters/nft_int.h
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -g -O1 -I. -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -o $@ $< filters/nft_rules.c -lmnl

fuzz-nft: $(B)/fuzz/fuzz_nft
	@mkdir -p $(B)/fuzz/corpus-nft
	$(B)/fuzz/fuzz_nft -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
		-artifact_prefix=$(B)/fuzz/nft- \
		$(B)/fuzz/corpus-nft tests/fuzz/corpus/nft

# Regenerate the committed seeds (review, then commit the diff); check-nft
# (t-seeds.sh) fails when they differ from what nft-seeds writes.
seeds-nft: $(B)/tests/nft-seeds
	@mkdir -p tests/fuzz/corpus/nft
	$(B)/tests/nft-seeds tests/fuzz/corpus/nft

.PHONY: fuzz-nft seeds-nft
