# tests/config/ — the configuration grammar (owner: config).
#   check-config   cmocka tests: the conf/ examples load, every bad file in
#                  tests/config/bad/ gives exactly its expected errors; and
#                  group config-verdicts (tests/config/t-*.sh): every fixture
#                  gets one verdict from jgwctl check, jgwd -n and a start;
#                  t-mkpki.sh: conf/mkpki.sh (issue, refusals, usage)
CHECKS  += check-config
DEBS    += libcmocka-dev openssl

$(B)/tests/unit/test_config.o: CFLAGS_ALL += -DJGW_SRCDIR='"$(CURDIR)"'

$(B)/tests/test_config: $(B)/tests/unit/test_config.o $(B)/gateway/ctl/ctl_check.o $(JGWD_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(JGWD_LDLIBS) -lcmocka

check-config: $(B)/tests/test_config $(B)/jgwd $(B)/jgwctl
	@rc=0; \
	tests/lib/run-cmocka.sh $(RES)/config.res config $(B)/tests/test_config || rc=1; \
	B=$(abspath $(B)) tests/lib/run-scenarios.sh $(RES)/config-verdicts.res config-verdicts \
		$(sort $(wildcard tests/config/t-*.sh)) || rc=1; \
	exit $$rc

# make bench: cfg_load of a national-scale 機構 directory, and lookups.
BENCHES += bench-config
$(B)/tests/bench_config: $(B)/tests/config/bench_config.o $(LIB_POLICY) $(LIB_FIREWALL) \
		$(LIB_ENGINE) $(LIB_BASE)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_POLICY) $(LDLIBS_ENGINE)

bench-config: $(B)/tests/bench_config
	@d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	cp -R conf/. "$$d/" && sh conf/mkpki.sh "$$d/pki" >/dev/null 2>&1 && \
	$(B)/tests/bench_config "$$d"

.PHONY: bench-config
