/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Map definitions: the BPF side only. Layouts live in ward/abi.h. */
#ifndef WARD_BPF_MAPS_H
#define WARD_BPF_MAPS_H

#include <bpf/bpf_helpers.h>
#include "ward/abi.h"
#include "tables.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} ward_active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WARD_SLOTS);
	__type(key, __u32);
	__type(value, struct ward_cfg);
} ward_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WARD_STAT_ENTRIES(WARD_RULES_DEFAULT)); /* set at load */
	__type(key, __u32);
	__type(value, struct ward_counter);
} ward_rule_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WARD_V_MAX * WARD_DIR_MAX);
	__type(key, __u32);
	__type(value, struct ward_counter);
} ward_verdicts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ward_trace);
} ward_trace SEC(".maps");

/* Userspace-only state, declared here so it is created and pinned with
 * the rest: which interfaces are attached, which policy is loaded. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WARD_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct ward_iface);
} ward_ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ward_meta);
} ward_meta SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WARD_STAT_ENTRIES(WARD_RULES_DEFAULT)); /* set at load */
	__type(key, __u32);
	__type(value, struct ward_rule_info);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} ward_rule_ids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WARD_CT_DEFAULT_SIZE); /* set at load: --ct-size */
	__type(key, struct ward_ct_key);
	__type(value, struct ward_ct_val);
} ward_ct SEC(".maps");

/* ---- rate limits ---- */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WARD_SLOTS * WARD_MAX_RATE_LIMITS);
	__type(key, __u32);
	__type(value, struct ward_rl_cfg);
} ward_rl_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WARD_RL_DEFAULT_SIZE); /* set at load: --rl-size */
	__type(key, struct ward_rl_key);
	__type(value, struct ward_rl_val);
} ward_rl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WARD_RL_ROWS * WARD_RL_COLS);
	__type(key, __u32);
	__type(value, struct ward_rl_val);
} ward_rl_sketch SEC(".maps");

/* packets dropped by a rule's rate limit, indexed like ward_rule_stats */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WARD_STAT_ENTRIES(WARD_RULES_DEFAULT)); /* set at load */
	__type(key, __u32);
	__type(value, struct ward_counter);
} ward_rl_drops SEC(".maps");

/* ---- flow events ---- */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, WARD_EVENTS_RING);
} ward_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WARD_AGG_SIZE);
	__type(key, struct ward_agg_key);
	__type(value, struct ward_agg_val);
} ward_agg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WARD_EV_MAX);
	__type(key, __u32);
	__type(value, struct ward_counter);
} ward_ev_lost SEC(".maps");

#endif
