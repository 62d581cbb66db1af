# tests/e2e/ — end-to-end cases (one file per case, group e2e) in network
# namespaces je-*, and the relay benchmark (tests/bench/relay.sh; its rules
# live here because tests/bench/ has another owner's module.mk).
E2E_CASES := $(sort $(filter-out tests/e2e/lib.sh,$(wildcard tests/e2e/*.sh)))
CHECKS  += check-e2e
BENCHES += bench-relay
DEBS    += jq bc iproute2 nftables openssl stunnel4 haproxy procps tcpdump rsyslog rsyslog-relp keepalived \
           openssh-server openssh-client

check-e2e: binaries
	JGW_BUILD=$(abspath $(B)) tests/lib/run-scenarios.sh $(RES)/e2e.res e2e $(E2E_CASES)

# The e2e group again with every program built under ThreadSanitizer
# (build-tsan/): a data race between the relay's workers and the daemon's
# loop stops the jgwd that has it (halt_on_error) and leaves its report,
# which fails this target whatever the case said. CI runs it after check.
TSAN_DIR = $(abspath build-tsan)/tsan
check-threads:
	rm -rf $(TSAN_DIR) && mkdir -p $(TSAN_DIR) && chmod 1777 $(TSAN_DIR)
	@rc=0; TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 log_path=$(TSAN_DIR)/report" \
		$(MAKE) --no-print-directory SAN=thread check-e2e || rc=1; \
	if ls $(TSAN_DIR)/report.* >/dev/null 2>&1; then cat $(TSAN_DIR)/report.*; \
		echo "check-threads: ThreadSanitizer reported the above"; exit 1; fi; \
	[ $$rc = 0 ] && echo "check-threads: no ThreadSanitizer report"; exit $$rc

# RELAY_SECONDS per throughput run (default 5); results in $(B)/bench/relay.*
bench-relay: binaries
	JGW_BUILD=$(abspath $(B)) RELAY_SECONDS=$(or $(RELAY_SECONDS),5) tests/bench/relay.sh

# The pair's failover, HA_RUNS times (default 5): median and worst.
BENCHES += bench-ha bench-farm
bench-ha: binaries
	JGW_BUILD=$(abspath $(B)) HA_RUNS=$(or $(HA_RUNS),5) tests/bench/ha-failover.sh

# TUNNELS_N (10,000) idle tunnels held through a jgw and a haproxy pair:
# memory per tunnel at each end, handshakes/s while they are held.
BENCHES += bench-tunnels
bench-tunnels: binaries
	JGW_BUILD=$(abspath $(B)) bash tests/bench/tunnels.sh

# 機構's farm with 1, 2, 3 members: frames/s and the ratio to one member.
bench-farm: binaries
	JGW_BUILD=$(abspath $(B)) bash tests/bench/farm.sh

.PHONY: check-e2e check-threads bench-relay bench-ha bench-farm bench-tunnels
