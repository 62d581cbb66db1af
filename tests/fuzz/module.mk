# tests/fuzz/ — the one home of the fuzz targets: every parser of jgw under
# libFuzzer (clang, ASan + UBSan), each from its committed seed corpus in
# tests/fuzz/corpus/NAME/. What a run finds, and any crash artifact, goes
# to the build tree ($(B)/fuzz/), never the repository.
#
#   make fuzz [FUZZ_SECONDS=60]      every target, bounded
#   make fuzz-NAME                   one: inspect catalog config replay audit nft sshlog
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := inspect catalog config replay audit nft sshlog
FUZZERS      += $(FUZZ_TARGETS:%=fuzz-%)
FUZZ_FLAGS   := -std=c11 -D_GNU_SOURCE -g -O1 -I. -I$(B) \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
# Product sources compiled in, per target (the folders' own lists).
FUZZ_ENGINE  := $(filter-out filters/base/log.c,$(BASE_SRCS)) $(ENGINE_SRCS) $(ENGINE_GEN)
FUZZ_SRCS_inspect := $(FUZZ_ENGINE)
FUZZ_SRCS_catalog := $(FUZZ_ENGINE)
FUZZ_SRCS_config  := $(filter-out filters/base/log.c,$(BASE_SRCS)) \
                     $(filter-out filters/policy/policy.c,$(POLICY_SRCS)) $(POLICY_GEN)
FUZZ_SRCS_replay  := $(filter-out filters/base/log.c,$(BASE_SRCS)) $(REPLAY_SRCS)
FUZZ_SRCS_audit   := gateway/audit/verify.c gateway/audit/spool.c gateway/audit/chain.c
FUZZ_SRCS_nft     := $(filter-out filters/base/log.c,$(BASE_SRCS)) filters/firewall/nft_rules.c \
                     filters/firewall/nft_ha.c
FUZZ_SRCS_sshlog  := $(SESSIONS_SRCS)
FUZZ_LIBS_inspect := -lcrypto
FUZZ_LIBS_catalog := -lcrypto
FUZZ_LIBS_config  := -lcrypto
FUZZ_LIBS_replay  := -lpcap
FUZZ_LIBS_audit   := -lcrypto
FUZZ_LIBS_nft     := -lmnl
FUZZ_LIBS_sshlog  :=
# The longest input each target is given.
FUZZ_LEN_inspect := 65536
FUZZ_LEN_catalog := 16384
FUZZ_LEN_config  := 4096
FUZZ_LEN_replay  := 4096
FUZZ_LEN_audit   := 8192
FUZZ_LEN_nft     := 4096
FUZZ_LEN_sshlog  := 4096

.SECONDEXPANSION:
$(FUZZ_TARGETS:%=$(B)/fuzz/fuzz_%): $(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(FUZZ_SRCS_%) \
		$(B)/filters/engine/catalog.tab.h $(CONFIG_GEN_H)
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -o $@ $< $(FUZZ_SRCS_$*) $(FUZZ_LIBS_$*)

$(FUZZ_TARGETS:%=fuzz-%): fuzz-%: $(B)/fuzz/fuzz_%
	@mkdir -p $(B)/fuzz/corpus-$* tests/fuzz/corpus/$*
	$(B)/fuzz/fuzz_$* -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_LEN_$*) -timeout=10 \
		-artifact_prefix=$(B)/fuzz/$*- $(B)/fuzz/corpus-$* tests/fuzz/corpus/$*

# Synthetic JMSG streams: the engine's seeds and the jgw-inspect scenarios.
$(B)/tests/jmsg-gen: $(B)/tests/fuzz/jmsg-gen.o $(LIB_TEST) $(LIB_BASE)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^

# Regenerate committed seed corpora (review, then commit the diff).
seeds-inspect: $(B)/tests/jmsg-gen
	@mkdir -p tests/fuzz/corpus/inspect tests/fuzz/corpus/catalog
	$(B)/tests/jmsg-gen corpus tests/fuzz/corpus/inspect
	cp conf/catalog.jcat tests/fuzz/corpus/catalog/default.jcat
	cp tests/unit/data/kinds.jcat tests/unit/data/bad-syntax.jcat \
	   tests/unit/data/bad-semantic.jcat tests/fuzz/corpus/catalog/

# The audit target's seeds: a real spool (an epoch change and a seal) under
# the fuzzer's k0 of 32 bytes 0x01, and the same as a collector that escapes
# control characters writes it.
seeds-audit: $(B)/tests/audit-writer
	@rm -rf $(B)/fuzz/audit-seed && mkdir -p $(B)/fuzz/audit-seed tests/fuzz/corpus/audit
	@printf 'jgw-audit-key 0 %s\n' $$(printf '01%.0s' $$(seq 32)) >$(B)/fuzz/audit-seed/key
	$(B)/tests/audit-writer -d $(B)/fuzz/audit-seed/spool -k $(B)/fuzz/audit-seed/key -n 12 >/dev/null
	cp $(B)/fuzz/audit-seed/spool/audit-*.jsonl tests/fuzz/corpus/audit/seed.jsonl
	@# A collector that escapes LF: records 2-5 on one line joined by #012.
	awk 'NR >= 2 && NR <= 5 { printf "%s%s", (NR > 2 ? "#012" : "jgw batch "), $$0 } \
	     NR == 1 || NR > 5 { print } NR == 5 { print "" }' \
		$(B)/fuzz/audit-seed/spool/audit-*.jsonl >tests/fuzz/corpus/audit/seed-escaped.jsonl

.PHONY: $(FUZZ_TARGETS:%=fuzz-%) seeds-inspect seeds-audit
