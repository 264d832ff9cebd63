// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Rate-limit bucket collection. A bucket whose every arrival time is in
 * the past is full again: freeing it changes no decision, and makes room
 * in ward_rl, which the datapath never evicts from.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <bpf/bpf.h>
#include "rl_gc.h"

int rl_gc__run(int fd, size_t cap, size_t *live)
{
	struct ward_rl_key *dead, k, prev;
	size_t ndead = 0, n = 0;
	struct ward_rl_val v;
	struct timespec ts;
	bool first = true;
	__u64 now;
	int err = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	dead = calloc(cap ? cap : 1, sizeof(*dead));
	if (!dead)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, first ? NULL : &prev, &k) && ndead + n < cap) {
		first = false;
		prev = k;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue;
		/* a tick of margin: the datapath's clock is the coarse one */
		if (v.tat_pkt + RL_GC_MARGIN_NS < now && v.tat_byte + RL_GC_MARGIN_NS < now &&
		    v.tat_conn + RL_GC_MARGIN_NS < now && v.last_ns + RL_GC_MARGIN_NS < now)
			dead[ndead++] = k;
		else
			n++;
	}
	for (size_t i = 0; i < ndead; i++)
		if (bpf_map_delete_elem(fd, &dead[i]) && errno != ENOENT && !err)
			err = -errno;
	free(dead);
	*live = n;
	return err;
}
