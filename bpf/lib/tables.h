/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy's lookup tables, per slot (layouts in ward/abi.h). The agent
 * creates the inner arrays sized to each policy (BPF_F_INNER_MAP), fills
 * them through mmap and puts them in the idle slot of the outer maps; the
 * write of ward_active publishes them with the rest. Shared with the
 * benchmark's probes, which reuse a live instance's maps.
 */
#ifndef WARD_BPF_TABLES_H
#define WARD_BPF_TABLES_H

#include <bpf/bpf_helpers.h>
#include "ward/abi.h"

#define WARD_TABLE(name, val_t)                                            \
	struct name {                                                      \
		__uint(type, BPF_MAP_TYPE_ARRAY);                          \
		__uint(max_entries, 1);                                    \
		__uint(key_size, sizeof(__u32));                           \
		__uint(value_size, sizeof(val_t)); /* no BTF: a FWD here */ \
		__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);       \
	}

WARD_TABLE(ward_atab_tmpl, struct ward_atab_ent);
WARD_TABLE(ward_ptab_tmpl, struct ward_ptab_ent);
WARD_TABLE(ward_ival_tmpl, struct ward_ival);

#define WARD_SLOT_TABLES(tmpl)                                             \
	struct {                                                           \
		__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);                  \
		__uint(max_entries, WARD_SLOTS);                           \
		__type(key, __u32);                                        \
		__array(values, struct tmpl);                              \
	}

WARD_SLOT_TABLES(ward_atab_tmpl) ward_atab_slots SEC(".maps");
WARD_SLOT_TABLES(ward_ptab_tmpl) ward_ptab_slots SEC(".maps");
WARD_SLOT_TABLES(ward_ival_tmpl) ward_ival_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WARD_SLOTS);
	__type(key, __u32);
	__type(value, struct ward_lookup);
} ward_lookup SEC(".maps");

#endif
