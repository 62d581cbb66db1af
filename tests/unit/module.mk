# tests/unit/ — cmocka unit tests of the engine (values, catalog, inspect;
# group filters) and the jgw-inspect scenarios (group filters-cli). The
# other unit tests are built by the module.mk of the part they test
# (tests/audit, tests/config, tests/daemon, tests/nft, tests/pcap, tests/tls).
CHECKS  += check-filters
TEST_SRCS += tests/lib/jframe.c

FILTERS_TESTS = $(B)/tests/test_values $(B)/tests/test_catalog $(B)/tests/test_inspect

$(FILTERS_TESTS): $(B)/tests/%: $(B)/tests/unit/%.o $(LIB_TEST) $(LIB_ENGINE) $(LIB_BASE)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ENGINE) -lcmocka

check-filters: $(FILTERS_TESTS) $(B)/jgw-inspect $(B)/tests/jmsg-gen
	tests/lib/run-cmocka.sh $(RES)/filters.res filters $(FILTERS_TESTS)
	B=$(B) tests/lib/run-scenarios.sh $(RES)/filters-cli.res filters-cli \
		$(sort $(wildcard tests/unit/inspect-cli/t-*.sh))

.PHONY: check-filters
