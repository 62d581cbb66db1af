# tests/config/ — the configuration grammar (owner: config).
#   check-config   cmocka tests: the conf/ examples load, every bad file in
#                  tests/config/bad/ gives exactly its expected errors; and
#                  group config-verdicts (tests/config/t-*.sh): every fixture
#                  gets one verdict from jgwctl check, jgwd -n and a start
#   fuzz-config    libFuzzer on cfg_load, FUZZ_SECONDS (default 60)
CHECKS  += check-config
FUZZERS += fuzz-config
DEBS    += libcmocka-dev openssl

$(B)/tests/unit/test_config.o: CFLAGS_ALL += -DJGW_SRCDIR='"$(CURDIR)"'

$(B)/tests/test_config: $(B)/tests/unit/test_config.o $(JGW_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(JGW_LIBS) $(JGW_LDLIBS) -lcrypto -lcmocka

check-config: $(B)/tests/test_config $(B)/jgwd $(B)/jgwctl
	@rc=0; \
	tests/lib/run-cmocka.sh $(RES)/config.res config $(B)/tests/test_config || rc=1; \
	B=$(abspath $(B)) tests/lib/run-scenarios.sh $(RES)/config-verdicts.res config-verdicts \
		$(sort $(wildcard tests/config/t-*.sh)) || rc=1; \
	exit $$rc

# The fuzz target compiles the loader and its generated parser directly with
# clang; the catalog (fuzzed by its own target) is replaced by a stub there.
FUZZ_SECONDS ?= 60
CONFIG_FUZZ_SRCS := tests/fuzz/fuzz_config.c gateway/config.c filters/jmsg.c \
	$(B)/gateway/config.tab.c $(B)/gateway/config.lex.c
CONFIG_FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -I. -I$(B) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

$(B)/fuzz/fuzz_config: $(CONFIG_FUZZ_SRCS) $(CONFIG_GEN_H) gateway/config.h
	@mkdir -p $(dir $@)
	clang $(CONFIG_FUZZ_FLAGS) -o $@ $(CONFIG_FUZZ_SRCS) -lcrypto

fuzz-config: $(B)/fuzz/fuzz_config
	@mkdir -p $(B)/fuzz/corpus-config
	cp -n tests/fuzz/corpus/config/* $(B)/fuzz/corpus-config/ 2>/dev/null || true
	cd $(B)/fuzz && ./fuzz_config -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		-timeout=10 corpus-config

.PHONY: check-config fuzz-config

# make bench: cfg_load of a national-scale 機構 directory, and lookups.
BENCHES += bench-config
$(B)/tests/bench_config: $(B)/tests/config/bench_config.o $(JGW_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(JGW_LIBS) $(JGW_LDLIBS) -lcrypto

bench-config: $(B)/tests/bench_config
	@d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	cp -R conf/. "$$d/" && sh conf/mkpki.sh "$$d/pki" >/dev/null 2>&1 && \
	$(B)/tests/bench_config "$$d"

.PHONY: bench-config
