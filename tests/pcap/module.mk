# tests/pcap/ — jgw-replay's tests: cmocka units for pkt and reasm, the
# pcap corpus (made by mkcorpus, checked byte for byte, then replayed and
# checked against each case's expect file) and the bench.
TEST_SRCS += tests/pcap/pcapw.c
CHECKS    += check-replay
BENCHES   += bench-replay

REPLAY_CORE := $(B)/filters/replay/pkt.o $(B)/filters/replay/reasm.o $(LIB_BASE)
REPLAY_UNITS := $(B)/tests/test_pkt $(B)/tests/test_reasm

$(B)/tests/test_pkt: $(B)/tests/unit/test_pkt.o $(REPLAY_CORE) $(B)/tests/pcap/pcapw.o
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lcmocka
$(B)/tests/test_reasm: $(B)/tests/unit/test_reasm.o $(REPLAY_CORE)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ -lcmocka

$(B)/tests/mkcorpus: $(B)/tests/pcap/mkcorpus.o $(B)/tests/pcap/pcapw.o $(LIB_TEST) $(LIB_BASE)
	$(CC) $(LDFLAGS_ALL) -o $@ $^

check-replay-unit: $(REPLAY_UNITS)
	tests/lib/run-cmocka.sh $(RES)/replay-unit.res replay-unit $^

# The heap jgw-replay really holds, counted from outside (LD_PRELOAD), for
# the memory checks of check-corpus.sh. Built without the sanitizers.
$(B)/tests/libmemcount.so: tests/pcap/memcount.c
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) -O2 -g -fPIC -shared -o $@ $< -ldl

check-replay-corpus: $(B)/jgw-replay $(B)/tests/mkcorpus $(B)/tests/libmemcount.so
	tests/pcap/check-corpus.sh $(RES)/replay-corpus.res $(B)

# A real capture (tcpdump on a gateway's lan0 in jr- namespaces) replayed
# must give the verdicts the live gateway audited.
check-replay-live: binaries
	JGW_BUILD=$(abspath $(B)) tests/lib/run-scenarios.sh $(RES)/replay-live.res replay-live \
	    tests/pcap/live/live-capture.sh

check-replay: check-replay-unit check-replay-corpus check-replay-live

# Regenerate the committed corpus (then review and commit the diff).
corpus-replay: $(B)/tests/mkcorpus
	$(B)/tests/mkcorpus tests/pcap/cases

bench-replay: $(B)/jgw-replay $(B)/tests/mkcorpus
	tests/pcap/bench.sh $(B)

.PHONY: check-replay check-replay-unit check-replay-corpus check-replay-live corpus-replay bench-replay
