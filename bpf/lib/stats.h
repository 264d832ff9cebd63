/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The one place where verdicts are counted. */
#ifndef WARD_BPF_STATS_H
#define WARD_BPF_STATS_H

#include "maps.h"

static __always_inline void __counter_add(void *map, __u32 idx, __u64 bytes)
{
	struct ward_counter *c = bpf_map_lookup_elem(map, &idx);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/* Count a verdict; stat is WARD_STAT_RULE/WARD_STAT_DEFAULT or WARD_RULE_NONE.
 * A packet over its rate limit counts for its rule in ward_rl_drops. */
static __always_inline void stats_count(__u8 dir, __u8 verdict, __u32 slot, __u32 stat,
					__u64 bytes, int rl_over)
{
	__counter_add(&ward_verdicts, WARD_VERDICT_IDX(dir, verdict), bytes);
	if (stat == WARD_RULE_NONE)
		return;
	if (rl_over)
		__counter_add(&ward_rl_drops, WARD_STAT_IDX(stat, slot), bytes);
	else
		__counter_add(&ward_rule_stats, WARD_STAT_IDX(stat, slot), bytes);
}

#endif
