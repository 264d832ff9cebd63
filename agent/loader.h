/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* BPF object lifecycle: load or adopt pinned state, publish policies, attach. */
#ifndef WARD_LOADER_H
#define WARD_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <limits.h>
#include "ward/abi.h"
#include "policy.h"

#define WARD_DEFAULT_PIN_PATH "/sys/fs/bpf/ward"

enum xdp_mode { XDP_MODE_AUTO = 0, XDP_MODE_NATIVE, XDP_MODE_GENERIC };

struct ward_bpf;

struct ward {
	struct ward_bpf *skel;
	char pin_path[PATH_MAX]; /* empty: nothing pinned (tests, explain) */
	bool adopted;            /* maps were reused from pins            */
	size_t max_rules;        /* rule counters per slot                */
};

/*
 * Open and load the programs. With a pin path, maps are pinned there and
 * maps already pinned are reused (adoption: counters and the live policy
 * survive a restart). trace: record each decision in ward_trace.
 */
int ward__load(struct ward *w, const char *pin_path, bool trace);
/* The same, with room for max_rules rule counters (0 = WARD_RULES_DEFAULT). */
int ward__load_opts(struct ward *w, const char *pin_path, bool trace, size_t max_rules);

struct ward_load_opts {
	bool trace;       /* record each decision in ward_trace                 */
	bool no_ct;       /* decide every packet as a new flow (explain, tests) */
	size_t max_rules; /* rule counters per slot, 0 = WARD_RULES_DEFAULT      */
	size_t ct_size;   /* conntrack entries, 0 = WARD_CT_DEFAULT_SIZE         */
	size_t rl_size;   /* rate-limit buckets, 0 = WARD_RL_DEFAULT_SIZE        */
	bool no_rl;       /* ignore rate limits (explain, the differential test) */
	bool no_events;   /* no flow events (single-packet loads)                */
	unsigned ev_interval_ms; /* aggregated events: at most one per key per
				  * interval, 0 = 1000                       */
};
/* ward__load and ward__load_opts are this with no_ct, no_rl and no_events
 * = trace. */
int ward__load_ex(struct ward *w, const char *pin_path, const struct ward_load_opts *o);
void ward__close(struct ward *w);

/* Write a compiled policy into the idle slot, then make it live at once. */
int ward__publish(struct ward *w, const struct compiled *c, const struct policy *p);

/* The generation of the live policy (0 = none). */
__u32 ward__generation(struct ward *w);

/* Attach XDP (ingress) and TC egress to ifname; pin the XDP link. */
int ward__attach(struct ward *w, const char *ifname, enum xdp_mode mode);

/* Stop enforcing on one interface (gone, renamed): its XDP link and pin,
 * its TC filter, its ward_ifaces entry. */
void ward__detach_iface(struct ward *w, const char *ifname, int ifindex);

/* Remove programs, links and pins found under pin_path. */
int ward__detach_pinned(const char *pin_path);

/*
 * Run one frame through the real program of direction dir with
 * BPF_PROG_TEST_RUN. ret_pass: 1 pass, 0 drop. ret_trace: the decision
 * (needs a trace-enabled load), may be NULL.
 */
int ward__test_run(struct ward *w, int dir, const void *frame, size_t len, int *ret_pass,
		   struct ward_trace *ret_trace);

/* Map file descriptors by name, for readers (status, stats). */
int ward__map_fd(struct ward *w, const char *name);

#endif
