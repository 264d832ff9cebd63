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
#include "ktime.h"

/* Every arrival time in the past: the bucket is full again. A tick of
 * margin: the datapath's clock is the coarse one. */
static bool rl_full(const struct ward_rl_val *v, __u64 now)
{
	return v->tat_pkt + RL_GC_MARGIN_NS < now && v->tat_byte + RL_GC_MARGIN_NS < now &&
	       v->tat_conn + RL_GC_MARGIN_NS < now && v->last_ns + RL_GC_MARGIN_NS < now;
}

int rl_gc__run(int fd, size_t cap, size_t *live)
{
	struct ward_rl_key *dead, k, prev;
	size_t ndead = 0, n = 0;
	struct ward_rl_val v;
	bool first = true;
	__u64 now;
	int err = 0;

	now = ward_ktime_ns();
	dead = calloc(cap ? cap : 1, sizeof(*dead));
	if (!dead)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, first ? NULL : &prev, &k) && ndead + n < cap) {
		first = false;
		prev = k;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue;
		if (rl_full(&v, now))
			dead[ndead++] = k;
		else
			n++;
	}
	for (size_t i = 0; i < ndead; i++) {
		/* used since the scan (a burst after idling): keep it */
		if (bpf_map_lookup_elem(fd, &dead[i], &v) || !rl_full(&v, ward_ktime_ns()))
			continue;
		if (bpf_map_delete_elem(fd, &dead[i]) && errno != ENOENT && !err)
			err = -errno;
	}
	free(dead);
	*live = n;
	return err;
}
