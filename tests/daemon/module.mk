# tests/daemon/ — jgwd and jgwctl (owner: daemon): unit tests of the pure
# parts (group daemon-unit) and smoke scenarios against a running jgwd
# (group daemon; loopback ports 22000-22999, namespaces jg-*).
CHECKS += check-daemon

DAEMON_PKI := $(B)/tests/pki

$(B)/tests/test_relay: $(B)/tests/unit/test_relay.o $(JGWD_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(JGWD_LDLIBS) -lcmocka

check-daemon: $(B)/tests/test_relay $(B)/jgwd $(B)/jgwctl $(B)/jgw-node $(DAEMON_PKI)/.complete
	@rc=0; \
	JGW_TEST_PKI=$(DAEMON_PKI) tests/lib/run-cmocka.sh $(RES)/daemon-unit.res daemon-unit \
		$(B)/tests/test_relay || rc=1; \
	JGW_TEST_PKI=$(abspath $(DAEMON_PKI)) JGWD=$(abspath $(B)/jgwd) \
	JGWCTL=$(abspath $(B)/jgwctl) JGW_NODE=$(abspath $(B)/jgw-node) \
		tests/lib/run-scenarios.sh $(RES)/daemon.res daemon \
		$(sort $(wildcard tests/daemon/[0-9]*.sh)) || rc=1; \
	exit $$rc

.PHONY: check-daemon

DEBS += socat
