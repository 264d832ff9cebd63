# Fuzz targets (libFuzzer, clang), included by the top Makefile.
# The agent sources are compiled a second time, with clang, coverage
# instrumentation and ASan + UBSan, into build/fuzz/obj/; the main build is
# untouched. See tests/fuzz/README.md.
#
#   make fuzz                build the fuzz targets
#   make test-fuzz           the bounded run of make test (tests/fuzz/run.sh)
#   make fuzz-seeds          regenerate the packet seed corpus (pktgen)
.PHONY: fuzz test-fuzz fuzz-seeds

FUZZ_CC     ?= clang
FUZZ_DIR    := $(BUILD)/fuzz
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	       -fno-omit-frame-pointer
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
	       -Iinclude -I$(BUILD) -Iagent -Itests/bpf -Itests/model -Itests/fuzz -Itests/lib \
	       $(PKG_CFLAGS) $(FUZZ_SAN)
FUZZ_LIB_SRC := $(filter-out agent/main.c,$(wildcard agent/*.c)) tests/bpf/pktgen.c \
		tests/model/policy_ref.c tests/fuzz/fuzz_common.c tests/lib/lpm_sim.c
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_LIB_SRC))
FUZZ_HDRS    := $(wildcard agent/*.h) $(wildcard include/ward/*.h) tests/bpf/pktgen.h \
		tests/model/policy_ref.h tests/fuzz/fuzz_common.h tests/lib/lpm_sim.h
FUZZ_TARGETS := fuzz_policy fuzz_policy_semantic fuzz_packet fuzz_packet_ct fuzz_config
FUZZ_BINS    := $(addprefix $(FUZZ_DIR)/,$(FUZZ_TARGETS))

fuzz: $(FUZZ_BINS)

# make test builds them too (tests/run.sh runs tests/fuzz/run.sh)
test: $(FUZZ_BINS)

test-fuzz: $(FUZZ_BINS)
	$(Q)./tests/fuzz/run.sh

$(FUZZ_DIR)/obj/%.o: %.c $(FUZZ_HDRS) $(BUILD)/ward.skel.h
	$(Q)mkdir -p $(dir $@)
	$(Q)echo "  FUZZCC   $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/%: tests/fuzz/%.c $(FUZZ_LIB_OBJ) $(FUZZ_HDRS)
	$(Q)echo "  FUZZLD   $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIB_OBJ) $(PKG_LIBS) -o $@

# Seed frames for fuzz_packet, built with pktgen (plain build, no fuzzer).
$(FUZZ_DIR)/gen_seeds: tests/fuzz/gen_seeds.c tests/bpf/pktgen.c tests/bpf/pktgen.h
	$(Q)mkdir -p $(dir $@)
	$(Q)echo "  CC       $@"
	$(Q)$(FUZZ_CC) -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -Itests/bpf \
		tests/fuzz/gen_seeds.c tests/bpf/pktgen.c -o $@

fuzz-seeds: $(FUZZ_DIR)/gen_seeds
	$(Q)mkdir -p tests/fuzz/corpus/fuzz_packet tests/fuzz/corpus/fuzz_packet_ct
	$(Q)$(FUZZ_DIR)/gen_seeds tests/fuzz/corpus/fuzz_packet
	$(Q)$(FUZZ_DIR)/gen_seeds --ct tests/fuzz/corpus/fuzz_packet_ct
