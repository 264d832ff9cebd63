// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A policy rate limit as the datapath's GCRA parameters (see bpf/lib/rl.h):
 * the cost of one unit in nanoseconds of the bucket's "theoretical arrival
 * time", and the tolerance tau = burst * cost. Bytes cost fractions of a
 * nanosecond at high rates, so their cost is kept in 1/65536 ns.
 */
#include <string.h>
#include "hash.h"
#include "policy.h"

#define NS_PER_S 1000000000ull

static __u64 per_unit_ns(uint64_t rate)
{
	__u64 ns = (NS_PER_S + rate / 2) / rate;

	return ns ? ns : 1;
}

void rate_limit__compile(const struct rate_limit *r, struct ward_rl_cfg *out)
{
	*out = (struct ward_rl_cfg){ 0 };
	out->pkt_ns = per_unit_ns(r->pps);
	out->pkt_tau = r->burst * out->pkt_ns;
	if (r->bps) {
		out->byte_q16 = (__u64)(((unsigned __int128)NS_PER_S << 16) / r->bps);
		if (!out->byte_q16)
			out->byte_q16 = 1;
		out->byte_tau = (__u64)((unsigned __int128)r->bytes_burst * NS_PER_S / r->bps);
	}
	if (r->cps) {
		out->conn_ns = per_unit_ns(r->cps);
		out->conn_tau = r->cps_burst * out->conn_ns;
	}
	out->prefix[0] = r->ipv4_prefix;
	out->prefix[1] = r->ipv6_prefix;
}

void rate_limit__key_ids(struct ward_rl_cfg *out, const struct rate_limit *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		__u16 id = (__u16)hash_fold(fnv1a(FNV1A_INIT, r[i].name, strlen(r[i].name)));

		/* a collision moves the later name (in policy order) on; names
		 * are unique and at most 1023, so this ends */
		for (size_t j = 0; j < i; j++) {
			if (out[j].key_id == id) {
				id++;
				j = (size_t)-1;
			}
		}
		out[i].key_id = id;
	}
}
