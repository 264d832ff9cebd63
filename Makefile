# Ward — build, test, demo. See README.md and docs/.
.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all bpf agent deps test test-unit test-bpf test-ct test-swap test-model test-netns demo bench install clean help check

ifeq ($(V),1)
Q :=
else
Q := @
endif

BUILD    := build
ARCH     := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
MULTIARCH := $(shell gcc -print-multiarch 2>/dev/null)
CLANG    ?= clang
BPFTOOL  ?= bpftool
CC       ?= gcc
PREFIX   ?= /usr/local

PKGS     := libbpf libelf zlib libnl-3.0 libnl-route-3.0 jansson libcrypto libssl libmicrohttpd
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

HARDEN   := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE -fstack-clash-protection -fcf-protection
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wno-format-truncation \
	    -Iinclude -I$(BUILD) -Iagent $(HARDEN) $(PKG_CFLAGS)
LDFLAGS  += -pie -Wl,-z,relro,-z,now,-z,noexecstack
LDLIBS   += $(PKG_LIBS) -lpthread
ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=address,undefined
endif

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Wextra -Werror \
	      -Wno-unused-parameter -Iinclude -Ibpf -I/usr/include/$(MULTIARCH)
BPF_SRC  := bpf/ward.bpf.c
BPF_HDRS := $(wildcard bpf/lib/*.h) $(wildcard include/ward/*.h)

AGENT_SRC := $(wildcard agent/*.c)
AGENT_OBJ := $(patsubst agent/%.c,$(BUILD)/agent/%.o,$(AGENT_SRC)) $(BUILD)/agent/pktgen.o
LIB_OBJ   := $(filter-out $(BUILD)/agent/main.o,$(AGENT_OBJ))

all: $(BUILD)/ward

bpf: $(BUILD)/ward.bpf.o
agent: $(BUILD)/ward

# ---- dependencies (fresh Debian 12, as root) ----------------------------
DEB_PKGS := clang llvm gcc make pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev \
	    libnl-3-dev libnl-route-3-dev libjansson-dev libssl-dev libcmocka-dev iproute2 \
	    iputils-ping socat nftables python3 python3-scapy gcc-multilib \
	    xdp-tools procps kmod util-linux libclang-rt-14-dev valgrind \
	    rsyslog nfdump tshark systemd libmicrohttpd-dev prometheus time rsyslog-openssl vagrant ansible-core python3-yaml \
	    cppcheck
deps:
	$(Q)./tests/lib/deps.sh $(DEB_PKGS)

# ---- BPF ------------------------------------------------------------------
$(BUILD)/ward.bpf.o: $(BPF_SRC) $(BPF_HDRS) | $(BUILD)
	$(Q)echo "  BPF      $@"
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $(BUILD)/ward.tmp.bpf.o
	$(Q)$(BPFTOOL) gen object $@ $(BUILD)/ward.tmp.bpf.o

$(BUILD)/ward.skel.h: $(BUILD)/ward.bpf.o
	$(Q)echo "  SKEL     $@"
	$(Q)$(BPFTOOL) gen skeleton $< name ward_bpf > $@

# ---- agent ------------------------------------------------------------------
$(BUILD)/agent/%.o: agent/%.c $(wildcard agent/*.h) $(wildcard include/ward/*.h) $(BUILD)/ward.skel.h | $(BUILD)/agent
	$(Q)echo "  CC       $@"
	$(Q)$(CC) $(CFLAGS) -Itests/bpf -c $< -o $@

$(BUILD)/ward: $(AGENT_OBJ)
	$(Q)echo "  LD       $@"
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD) $(BUILD)/agent $(BUILD)/tests:
	$(Q)mkdir -p $@

# ---- tests ----------------------------------------------------------------
TEST_BINS := $(BUILD)/tests/test_policy $(BUILD)/tests/test_bpf $(BUILD)/tests/test_ct \
	     $(BUILD)/tests/test_swap \
	     $(BUILD)/tests/test_model $(BUILD)/tests/test_records $(BUILD)/tests/rec_tool \
	     $(BUILD)/tests/test_rl $(BUILD)/tests/test_config $(BUILD)/tests/test_lookup

$(BUILD)/tests/test_policy: tests/unit/test_policy.c $(LIB_OBJ) | $(BUILD)/tests
	$(Q)echo "  CC       $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -lcmocka -o $@

$(BUILD)/tests/test_lookup: tests/unit/test_lookup.c tests/lib/lpm_sim.c $(LIB_OBJ) | $(BUILD)/tests
	$(Q)echo "  CC       $@"
	$(Q)$(CC) $(CFLAGS) -Itests/lib $(LDFLAGS) $^ $(LDLIBS) -lcmocka -o $@

$(BUILD)/tests/test_bpf: tests/bpf/test_bpf.c $(LIB_OBJ) | $(BUILD)/tests
	$(Q)echo "  CC       $@"
	$(Q)$(CC) $(CFLAGS) -Itests/bpf $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/test_ct: tests/bpf/test_ct.c $(LIB_OBJ) | $(BUILD)/tests
	$(Q)echo "  CC       $@"
	$(Q)$(CC) $(CFLAGS) -Itests/bpf $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/test_config: tests/unit/test_config.c $(LIB_OBJ) | $(BUILD)/tests
	$(Q)echo "  CC       $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -lcmocka -o $@

$(BUILD)/tests/test_rl: tests/bpf/test_rl.c $(LIB_OBJ) | $(BUILD)/tests
	$(Q)echo "  CC       $@"
	$(Q)$(CC) $(CFLAGS) -Itests/bpf $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/test_swap: tests/bpf/test_swap.c tests/model/policy_ref.c $(LIB_OBJ) | $(BUILD)/tests
	$(Q)echo "  CC       $@"
	$(Q)$(CC) $(CFLAGS) -Itests/bpf -Itests/model $(LDFLAGS) $^ $(LDLIBS) -lpthread -o $@

$(BUILD)/tests/test_model: tests/model/test_diff.c tests/model/policy_ref.c $(LIB_OBJ) | $(BUILD)/tests
	$(Q)echo "  CC       $@"
	$(Q)$(CC) $(CFLAGS) -Itests/bpf -Itests/model $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/test_records: tests/unit/test_records.c $(LIB_OBJ) | $(BUILD)/tests
	$(Q)echo "  CC       $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -lcmocka -lpthread -o $@

$(BUILD)/tests/rec_tool: tests/records/rec_tool.c $(LIB_OBJ) | $(BUILD)/tests
	$(Q)echo "  CC       $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -lpthread -o $@

test: deps all $(TEST_BINS) $(BUILD)/bench/bench_flood $(BUILD)/bench/xdp_gen.bpf.o
	$(Q)./tests/run.sh all

test-unit: all $(BUILD)/tests/test_policy $(BUILD)/tests/test_config $(BUILD)/tests/test_lookup
	$(Q)./tests/run.sh unit
test-bpf: all $(BUILD)/tests/test_bpf
	$(Q)./tests/run.sh bpf
test-ct: all $(BUILD)/tests/test_ct
	$(Q)./tests/run.sh ct
test-swap: all $(BUILD)/tests/test_swap
	$(Q)./tests/run.sh swap
test-model: all $(BUILD)/tests/test_model
	$(Q)./tests/run.sh model
test-netns: all
	$(Q)./tests/run.sh netns
	$(Q)./tests/run.sh xdpmode

demo: deps all
	$(Q)./tests/netns/demo.sh

bench: deps all
	$(Q)./tests/bench/run.sh

DOCS := README.md docs/architecture.md docs/policy.md docs/operations.md docs/flow-records.md docs/metrics.md \
	docs/rollout.md docs/fleet.md docs/tls.md \
	docs/threat-model.md docs/benchmarks.md
install: all
	install -D -m 0755 $(BUILD)/ward $(DESTDIR)$(PREFIX)/sbin/ward
	install -D -m 0644 deploy/ward.service $(DESTDIR)/etc/systemd/system/ward.service
	install -d -m 0750 $(DESTDIR)/etc/ward
	install -m 0600 policies/demo.json $(DESTDIR)/etc/ward/policy.example.json
	install -m 0600 deploy/ward.json $(DESTDIR)/etc/ward/ward.example.json
	install -d -m 0755 $(DESTDIR)$(PREFIX)/share/doc/ward
	install -m 0644 $(DOCS) $(DESTDIR)$(PREFIX)/share/doc/ward/

# static analysis: clang --analyze (agent, BPF) and cppcheck, any finding fails
# (tests/static/run.sh, docs/operations.md); the agent's -std/-I/-D, not its
# warnings or hardening (the analyzer runs unoptimised: _FORTIFY_SOURCE is inert)
STATIC_CPPFLAGS = -std=gnu11 -D_GNU_SOURCE -Iinclude -I$(BUILD) -Iagent -Itests/bpf $(PKG_CFLAGS)
STATIC_SRC := $(AGENT_SRC) tests/bpf/pktgen.c
check: $(BUILD)/ward.skel.h
	$(Q)BUILD=$(BUILD) CLANG=$(CLANG) AGENT_CPPFLAGS="$(STATIC_CPPFLAGS)" BPF_CFLAGS="$(BPF_CFLAGS)" \
		./tests/static/run.sh $(STATIC_SRC)

clean:
	rm -rf $(BUILD)

help:
	@echo "make [all|bpf|agent]   build build/ward (BPF object embedded via skeleton)"
	@echo "make deps              apt-get the Debian packages Ward needs (root)"
	@echo "make demo              lab of network namespaces, policies/demo.json, real traffic"
	@echo "make test              every suite: unit, bpf, model, netns (root)"
	@echo "make test-unit|test-bpf|test-ct|test-swap|test-model|test-netns   one suite"
	@echo "make bench             benchmarks (not part of test)"
	@echo "make install           /usr/local/sbin/ward, systemd unit, example policy"

# the frame builder serves ward explain and the BPF tests alike
$(BUILD)/agent/pktgen.o: tests/bpf/pktgen.c tests/bpf/pktgen.h | $(BUILD)/agent
	$(Q)echo "  CC       $@"
	$(Q)$(CC) $(CFLAGS) -Itests/bpf -c $< -o $@


include tests/bench/bench.mk
include tests/fuzz/fuzz.mk

# every suite of tests/run.sh but fuzz against ward and the tests built with ASan/UBSan
# in build-asan, no sanitizer report allowed (root; long: see tests/sanitize.sh)
.PHONY: test-sanitize-all
test-sanitize-all:
	$(Q)SANITIZE_SUITES=all ./tests/sanitize.sh
