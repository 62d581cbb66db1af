# tests/bench/ — measurements (make bench): inspection throughput on one
# core beside AES-128-GCM and memcpy (docs/inspection.md). The relay bench
# (relay.sh) is run by tests/e2e/module.mk, which owns its namespaces.
BENCHES += bench-inspect

$(B)/tests/bench_inspect: $(B)/tests/bench/bench_inspect.o $(LIB_TEST) $(LIB_ENGINE) $(LIB_BASE)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS_ENGINE)

bench-inspect: $(B)/tests/bench_inspect
	tests/bench/bench-inspect.sh $(B)/tests/bench_inspect

.PHONY: bench-inspect
