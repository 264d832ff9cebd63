# Benchmarks (make bench), included by the top Makefile.
$(BUILD)/bench/empty.bpf.o: tests/bench/empty.bpf.c | $(BUILD)/bench
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/bench_policy: tests/bench/bench_policy.c $(LIB_OBJ) | $(BUILD)/bench
	$(Q)echo "  CC       $@"
	$(Q)$(CC) $(CFLAGS) -Itests/bpf $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/bench:
	$(Q)mkdir -p $@
