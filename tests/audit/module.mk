# tests/audit/ — the audit module's tests, tools and measurements.
#   check-audit         cmocka unit tests (tests/unit/test_audit.c)
#   check-audit-mirror  scenarios against a real rsyslog (imrelp + TLS), an
#                       impostor collector, a SIGKILLed writer, a small tmpfs,
#                       failing fdatasyncs and a large spool verified in
#                       bounded memory (tests/audit/*.sh)
#   bench-audit         records/s into the spool and to rsyslog
# The test programs link the audit objects directly, so they build while
# other parts of the gateway library are still in progress.
AUDIT_TEST_OBJS = $(B)/gateway/audit.o $(B)/gateway/audit_chain.o \
                  $(B)/gateway/audit_spool.o $(B)/gateway/audit_mirror.o \
                  $(B)/gateway/audit_verify.o $(B)/gateway/ctl_audit.o $(B)/gateway/log.o
AUDIT_TEST_LIBS = -lrelp -lpthread -lcrypto

CHECKS  += check-audit check-audit-mirror
BENCHES += bench-audit
# /usr/bin/time -f %M: the peak RSS of verify (t-verify-large.sh).
DEBS    += time

# fdatasync, ftruncate and write are wrapped in the unit tests (test_audit.c
# makes them fail on demand: a disk that fills or loses a write-back).
AUDIT_TEST_WRAP = -Wl,--wrap=fdatasync -Wl,--wrap=ftruncate -Wl,--wrap=write
$(B)/tests/test_audit: $(B)/tests/unit/test_audit.o $(AUDIT_TEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) $(AUDIT_TEST_WRAP) -o $@ $^ $(AUDIT_TEST_LIBS) -lcmocka

$(B)/tests/audit-writer: $(B)/tests/tools/audit-writer.o $(AUDIT_TEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(AUDIT_TEST_LIBS)

# The same writer on a disk that fails chosen fdatasync calls (faildisk.c).
$(B)/tests/audit-writer-faildisk: $(B)/tests/tools/audit-writer.o $(B)/tests/audit/faildisk.o \
		$(AUDIT_TEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -Wl,--wrap=fdatasync -o $@ $^ $(AUDIT_TEST_LIBS)

# jgwctl audit, standing alone (the same ctl_audit_main that jgwctl calls).
$(B)/tests/jgwctl-audit: $(B)/tests/audit/jgwctl-audit.o $(AUDIT_TEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(AUDIT_TEST_LIBS)

AUDIT_TOOLS = $(B)/tests/audit-writer $(B)/tests/jgwctl-audit $(B)/tests/audit-writer-faildisk

check-audit: $(B)/tests/test_audit
	LSAN_OPTIONS=suppressions=$(abspath tests/audit/lsan.supp) \
		tests/lib/run-cmocka.sh $(RES)/audit.res audit $^

check-audit-mirror: $(AUDIT_TOOLS)
	B=$(B) tests/lib/run-scenarios.sh $(RES)/audit-mirror.res audit-mirror \
		$(sort $(wildcard tests/audit/t-*.sh))

bench-audit: $(AUDIT_TOOLS)
	B=$(B) tests/audit/bench.sh

.PHONY: check-audit check-audit-mirror bench-audit

# fuzz-audit: libFuzzer on the parser and the verifier, FUZZ_SECONDS (60).
FUZZERS += fuzz-audit
FUZZ_SECONDS ?= 60
AUDIT_FUZZ_SRCS := tests/audit/fuzz_audit.c gateway/audit_verify.c \
                   gateway/audit_spool.c gateway/audit_chain.c
$(B)/fuzz/fuzz_audit: $(AUDIT_FUZZ_SRCS) gateway/audit.h gateway/audit_impl.h
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -g -O1 -I. -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -o $@ $(AUDIT_FUZZ_SRCS) -lcrypto

# The seed: a real spool (with an epoch change and a seal) under the
# fuzzer's k0 of 32 bytes 0x01.
fuzz-audit: $(B)/fuzz/fuzz_audit $(B)/tests/audit-writer
	@rm -rf $(B)/fuzz/audit-seed && mkdir -p $(B)/fuzz/audit-seed $(B)/fuzz/corpus-audit
	@printf 'jgw-audit-key 0 %s\n' $$(printf '01%.0s' $$(seq 32)) >$(B)/fuzz/audit-seed/key
	$(B)/tests/audit-writer -d $(B)/fuzz/audit-seed/spool -k $(B)/fuzz/audit-seed/key -n 12 >/dev/null
	cp $(B)/fuzz/audit-seed/spool/audit-*.jsonl $(B)/fuzz/corpus-audit/seed.jsonl
	cd $(B)/fuzz && ./fuzz_audit -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
		-timeout=10 corpus-audit

.PHONY: fuzz-audit
