# tests/metrics/ — monitoring (gateway/metrics, gateway/daemon/monitor.c):
# cmocka tests of the exposition, its reader, the textfile and the relay's
# tallies (group metrics-unit); scenarios against running jgwd (group
# metrics): the exposition checked by promtool and against `jgwctl stats`
# and the audit records after known traffic, GET /metrics over HTTP and its
# bounds, the textfile; the firewall rule that lets only the management
# networks reach the endpoint (namespaces jm-*); jgw-snmp under a real
# snmpd, walked with snmpwalk. Loopback ports 23000-23999.
DEBS   += prometheus snmpd snmp curl jq openssl socat libcmocka-dev
CHECKS += check-metrics

$(B)/tests/test_metrics: $(B)/tests/metrics/test_metrics.o $(LIB_METRICS) \
		$(B)/gateway/daemon/relay_tally.o $(LIB_BASE)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_METRICS) -lcmocka

check-metrics: $(B)/tests/test_metrics $(B)/jgwd $(B)/jgwctl $(B)/jgw-node $(B)/jgw-snmp \
		$(DAEMON_PKI)/.complete
	@rc=0; \
	tests/lib/run-cmocka.sh $(RES)/metrics-unit.res metrics-unit $(B)/tests/test_metrics || rc=1; \
	JGW_TEST_PKI=$(abspath $(DAEMON_PKI)) JGWD=$(abspath $(B)/jgwd) \
	JGWCTL=$(abspath $(B)/jgwctl) JGW_NODE=$(abspath $(B)/jgw-node) \
	JGW_SNMP=$(abspath $(B)/jgw-snmp) \
		tests/lib/run-scenarios.sh $(RES)/metrics.res metrics \
		$(sort $(wildcard tests/metrics/[0-9]*.sh)) || rc=1; \
	exit $$rc

.PHONY: check-metrics
