# tests/audit/ — the audit module's tests, tools and measurements.
#   check-audit         cmocka unit tests (tests/unit/test_audit.c)
#   check-audit-mirror  scenarios against a real rsyslog (imrelp + TLS), an
#                       impostor collector, a SIGKILLed writer, a small tmpfs,
#                       failing fdatasyncs, a large spool verified in
#                       bounded memory, retention with and without the
#                       collector, archived segments, the shipped collector's
#                       day files (tests/audit/*.sh)
#   bench-audit         records/s into the spool and to rsyslog
# The test programs link the audit library alone (and the base layer).
AUDIT_TEST_OBJS = $(LIB_AUDIT) $(LIB_BASE)
AUDIT_TEST_LIBS = -lrelp -lpthread -lcrypto

CHECKS  += check-audit check-audit-mirror
BENCHES += bench-audit
# /usr/bin/time -f %M: the peak RSS of verify (t-verify-large.sh); jq reads
# records; libfaketime moves a writer's wall clock across a midnight
# (t-collector-daily.sh).
DEBS    += time jq faketime

# fdatasync, ftruncate and write are wrapped in the unit tests (test_audit.c
# makes them fail on demand: a disk that fills or loses a write-back), and so
# are clock_gettime and adjtimex (a clock that steps, loses its sync, or
# reaches midnight at once).
AUDIT_TEST_WRAP = -Wl,--wrap=fdatasync -Wl,--wrap=ftruncate -Wl,--wrap=write \
                  -Wl,--wrap=clock_gettime -Wl,--wrap=adjtimex
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
$(B)/tests/jgwctl-audit: $(B)/tests/audit/jgwctl-audit.o $(B)/gateway/ctl/ctl_audit.o \
		$(AUDIT_TEST_OBJS)
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
