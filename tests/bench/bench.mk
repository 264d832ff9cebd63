# Benchmarks (make bench), included by the top Makefile. tests/bench/run.sh
# drives them; docs/benchmarks.md describes the method.
BENCH_BPF := $(BUILD)/bench/empty.bpf.o $(BUILD)/bench/xdp_drop.bpf.o \
	     $(BUILD)/bench/xdp_gen.bpf.o $(BUILD)/bench/lookup_probe.bpf.o
BENCH_BINS := $(BUILD)/bench/bench_policy $(BUILD)/bench/bench_flood

.PHONY: bench-build
bench-build: $(BUILD)/ward $(BENCH_BPF) $(BENCH_BINS)

$(BUILD)/bench/%.bpf.o: tests/bench/%.bpf.c $(BPF_HDRS) | $(BUILD)/bench
	$(Q)echo "  BPF      $@"
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/bench_policy: tests/bench/bench_policy.c $(LIB_OBJ) | $(BUILD)/bench
	$(Q)echo "  CC       $@"
	$(Q)$(CC) $(CFLAGS) -Itests/bpf $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/bench/bench_flood: tests/bench/bench_flood.c $(BUILD)/agent/pktgen.o | $(BUILD)/bench
	$(Q)echo "  CC       $@"
	$(Q)$(CC) $(CFLAGS) -Itests/bpf $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/bench:
	$(Q)mkdir -p $@
