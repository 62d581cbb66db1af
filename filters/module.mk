# filters/ — the JMSG engine and catalog (owner: engine), the nftables
# builder (filters/nft.mk) and pcap replay (filters/replay/module.mk).
FILTERS_SRCS += filters/jmsg.c filters/values.c filters/catalog.c filters/inspect.c
FILTERS_GEN  += filters/catalog.tab.c filters/catalog.lex.c
LIBS_FILTERS += -lcrypto
DEBS         += bison flex libssl-dev libcmocka-dev clang openssl util-linux
TEST_SRCS    += tests/lib/jframe.c
BINS         += $(B)/jgw-inspect


-include filters/nft.mk
-include filters/replay/module.mk

FILTERS_OBJS = $(FILTERS_SRCS:%.c=$(B)/%.o) $(FILTERS_GEN:%.c=$(B)/%.o)
$(LIB_FILTERS): $(FILTERS_OBJS)
	$(AR) rcs $@ $^

# Make's built-in yacc/lex rules would regenerate filters/catalog.c (and
# any X.c beside an X.y) from the grammar: cancel them for the whole tree.
%.c: %.y
%.c: %.l

# The catalog grammar. Objects that include the generated header wait for it.
$(B)/filters/catalog.tab.c $(B)/filters/catalog.tab.h: filters/catalog.y
	@mkdir -p $(dir $@)
	bison -Wall -Werror --defines=$(B)/filters/catalog.tab.h -o $(B)/filters/catalog.tab.c $<
$(B)/filters/catalog.lex.c: filters/catalog.l $(B)/filters/catalog.tab.h
	@mkdir -p $(dir $@)
	flex -o $@ $<
$(B)/filters/catalog.o $(B)/filters/catalog.lex.o $(B)/filters/catalog.tab.o: $(B)/filters/catalog.tab.h

$(B)/jgw-inspect: $(B)/filters/jgw-inspect.o $(JGW_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $(B)/filters/jgw-inspect.o $(JGW_LIBS) $(JGW_LDLIBS)

# ---- tests, fuzzing, measurements (owner: engine) --------------------------
CHECKS  += check-filters
BENCHES += bench-inspect
FUZZERS += fuzz-inspect fuzz-catalog

FILTERS_TESTS = $(B)/tests/test_values $(B)/tests/test_catalog $(B)/tests/test_inspect

$(FILTERS_TESTS): $(B)/tests/%: $(B)/tests/unit/%.o $(LIB_TEST) $(LIB_FILTERS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(LIB_TEST) $(LIB_FILTERS) $(LIBS_FILTERS) -lcmocka

check-filters: $(FILTERS_TESTS) $(B)/jgw-inspect $(B)/tests/jmsg-gen
	tests/lib/run-cmocka.sh $(RES)/filters.res filters $(FILTERS_TESTS)
	B=$(B) tests/lib/run-scenarios.sh $(RES)/filters-cli.res filters-cli \
		$(sort $(wildcard tests/unit/inspect-cli/t-*.sh))

# Synthetic streams: fuzz seeds and the jgw-inspect scenarios.
$(B)/tests/jmsg-gen: $(B)/tests/fuzz/jmsg-gen.o $(LIB_TEST)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^

# Regenerate the committed seed corpora (review, then commit the diff).
seeds-inspect: $(B)/tests/jmsg-gen
	@mkdir -p tests/fuzz/corpus/inspect tests/fuzz/corpus/catalog
	$(B)/tests/jmsg-gen corpus tests/fuzz/corpus/inspect
	cp conf/catalog.jcat tests/fuzz/corpus/catalog/default.jcat
	cp tests/unit/data/kinds.jcat tests/unit/data/bad-syntax.jcat \
	   tests/unit/data/bad-semantic.jcat tests/fuzz/corpus/catalog/

# Fuzz targets: clang, the engine's sources compiled in directly.
FUZZ_SECONDS ?= 60
ENGINE_FUZZ_SRCS := filters/jmsg.c filters/values.c filters/catalog.c filters/inspect.c \
	$(B)/filters/catalog.tab.c $(B)/filters/catalog.lex.c
ENGINE_FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -I. -I$(B) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

$(B)/fuzz/fuzz_inspect $(B)/fuzz/fuzz_catalog: $(B)/fuzz/%: tests/fuzz/%.c $(ENGINE_FUZZ_SRCS) \
		$(B)/filters/catalog.tab.h filters/inspect.h filters/catalog.h filters/values.h
	@mkdir -p $(dir $@)
	clang $(ENGINE_FUZZ_FLAGS) -o $@ $< $(ENGINE_FUZZ_SRCS) -lcrypto

fuzz-inspect: $(B)/fuzz/fuzz_inspect
	@mkdir -p $(B)/fuzz/corpus-inspect
	$(B)/fuzz/fuzz_inspect -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
		$(B)/fuzz/corpus-inspect tests/fuzz/corpus/inspect

fuzz-catalog: $(B)/fuzz/fuzz_catalog
	@mkdir -p $(B)/fuzz/corpus-catalog
	$(B)/fuzz/fuzz_catalog -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -timeout=10 \
		$(B)/fuzz/corpus-catalog tests/fuzz/corpus/catalog

# Throughput on one core beside AES-128-GCM and memcpy (docs/inspection.md).
$(B)/tests/bench_inspect: $(B)/tests/bench/bench_inspect.o $(LIB_TEST) $(LIB_FILTERS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(LIB_TEST) $(LIB_FILTERS) $(LIBS_FILTERS)

bench-inspect: $(B)/tests/bench_inspect
	tests/bench/bench-inspect.sh $(B)/tests/bench_inspect

.PHONY: check-filters seeds-inspect fuzz-inspect fuzz-catalog bench-inspect
