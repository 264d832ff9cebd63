/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef WARD_CT_GC_H
#define WARD_CT_GC_H

#include <stdbool.h>
#include <stddef.h>
#include "ward/abi.h"

#define CT_GC_INTERVAL_S 5 /* seconds between collections */

struct ct_gc_stats {
	size_t live;     /* entries kept */
	size_t freed;    /* expired entries deleted */
	size_t capacity; /* max_entries of ward_ct */
};

/* Called for each entry the walk frees (dead) or keeps, before it is freed. */
typedef void (*ct_gc_fn)(void *arg, const struct ward_ct_key *k, const struct ward_ct_val *v,
			 bool dead, __u64 now_ns);

/* Free expired entries of the ward_ct map fd (cap = its max_entries). */
int ct_gc__run(int fd, size_t cap, struct ct_gc_stats *st, ct_gc_fn fn, void *arg);

#endif
