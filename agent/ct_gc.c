// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Conntrack garbage collection. The datapath already ignores expired
 * entries; this frees them, so the LRU map evicts only when it is truly
 * full, and reports how full it is.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <bpf/bpf.h>
#include "ct_gc.h"
#include "ktime.h"

int ct_gc__run(int fd, size_t cap, struct ct_gc_stats *st, ct_gc_fn fn, void *arg)
{
	struct ward_ct_key *dead, k, prev;
	size_t ndead = 0, live = 0;
	struct ward_ct_val v;
	__u64 now = ward_ktime_ns();
	bool first = true;
	int err = 0;

	dead = calloc(cap ? cap : 1, sizeof(*dead));
	if (!dead)
		return -ENOMEM;
	/* collect first, delete after: deleting under iteration restarts it */
	while (!bpf_map_get_next_key(fd, first ? NULL : &prev, &k) && ndead + live < cap) {
		first = false;
		prev = k;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue; /* evicted meanwhile */
		if (now - v.last_ns > ward_ct_timeout_ns(k.proto, v.state) && v.last_ns < now) {
			dead[ndead++] = k;
			continue;
		}
		live++;
		if (fn)
			fn(arg, &k, &v, false, now);
	}
	for (size_t i = 0; i < ndead; i++) {
		/* the entry as it is freed: its last counters */
		if (fn && !bpf_map_lookup_elem(fd, &dead[i], &v))
			fn(arg, &dead[i], &v, true, now);
		if (bpf_map_delete_elem(fd, &dead[i]) && errno != ENOENT && !err)
			err = -errno;
	}
	free(dead);
	st->live = live;
	st->freed = ndead;
	st->capacity = cap;
	return err;
}
