# tests/sessions/ — administrative sessions (gateway/sessions): cmocka tests
# of the sshd message parser (group sessions-unit); scenarios with a real
# sshd in a network namespace, operator accounts, jgw-sessions and jgwd
# (group sessions; loopback ports 24000-24999, namespaces js-*).
DEBS   += openssh-server openssh-client jq libcmocka-dev adduser procps libnss-extrausers util-linux
CHECKS += check-sessions

$(B)/tests/test_sshlog: $(B)/tests/sessions/test_sshlog.o $(LIB_SESSIONS) $(LIB_BASE)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lcmocka

check-sessions: $(B)/tests/test_sshlog $(B)/jgwd $(B)/jgwctl $(B)/jgw-sessions $(B)/jgw-operator \
		$(DAEMON_PKI)/.complete
	@rc=0; \
	tests/lib/run-cmocka.sh $(RES)/sessions-unit.res sessions-unit $(B)/tests/test_sshlog || rc=1; \
	JGW_TEST_PKI=$(abspath $(DAEMON_PKI)) JGWD=$(abspath $(B)/jgwd) \
	JGWCTL=$(abspath $(B)/jgwctl) JGW_SESSIONS=$(abspath $(B)/jgw-sessions) \
	JGW_OPERATOR=$(abspath $(B)/jgw-operator) \
		tests/lib/run-scenarios.sh $(RES)/sessions.res sessions \
		$(sort $(wildcard tests/sessions/[0-9]*.sh)) || rc=1; \
	exit $$rc

.PHONY: check-sessions
