# tests/tls/ — TLS unit tests and interop scenarios (owner: tunnels/).
# The test PKI is made once per build tree, only when missing (mkpki.sh is a
# no-op on a complete PKI of its current layout).
TLS_PKI := $(B)/tests/pki
CHECKS  += check-tls
DEBS    += stunnel4

$(TLS_PKI)/.complete: conf/mkpki.sh
	conf/mkpki.sh $(TLS_PKI)

# The TLS layer needs only the base layer (node codes).
TLS_TEST_LIBS := $(LIB_TUNNELS) $(LIB_BASE)

$(B)/tests/test_tls: $(B)/tests/unit/test_tls.o $(TLS_TEST_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(TLS_TEST_LIBS) $(LDLIBS_TUNNELS) -lcmocka

$(B)/tests/tls-echo: $(B)/tests/tools/tls-echo.o $(TLS_TEST_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(TLS_TEST_LIBS) $(LDLIBS_TUNNELS)

check-tls: $(B)/tests/test_tls $(B)/tests/tls-echo $(TLS_PKI)/.complete
	@rc=0; \
	JGW_TEST_PKI=$(TLS_PKI) tests/lib/run-cmocka.sh $(RES)/tls.res tls $(B)/tests/test_tls || rc=1; \
	JGW_TEST_PKI=$(TLS_PKI) TLS_ECHO=$(B)/tests/tls-echo \
		tests/lib/run-scenarios.sh $(RES)/tls-interop.res tls-interop \
		$(sort $(wildcard tests/tls/interop-*.sh)) || rc=1; \
	exit $$rc

.PHONY: check-tls

# make bench: handshake rates, throughput and memory of the TLS layer.
BENCHES += bench-tls
$(B)/tests/tls-bench: $(B)/tests/tools/tls-bench.o $(TLS_TEST_LIBS)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(TLS_TEST_LIBS) $(LDLIBS_TUNNELS)

bench-tls: $(B)/tests/tls-bench $(TLS_PKI)/.complete
	$(B)/tests/tls-bench $(TLS_PKI) 300

.PHONY: bench-tls
