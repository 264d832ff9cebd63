/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-client rate limits. Each client key (the remote address masked to
 * the limit's prefix) has GCRA buckets for packets, bytes and new flows in
 * ward_rl, a plain hash: nothing evicts a bucket, so a flood of spoofed
 * sources cannot refill an over-limit client (the fail-open of LRU
 * limiters). The agent frees buckets that are idle long enough to be full
 * again, which is the same as keeping them. When the table is full, new
 * clients are limited through a fixed count-min sketch of buckets instead:
 * a client passes when the least loaded of its cells conforms, and every
 * pass is charged to all of its cells, so collisions can only limit a
 * client harder, and a compliant client is held back only when all of its
 * cells are overloaded.
 */
#ifndef WARD_BPF_RL_H
#define WARD_BPF_RL_H

#include "maps.h"
#include "parse.h"

#define RL_CAS_TRIES 4

/* One bucket: 1 when cost conforms, then charged; 0 (not charged) when not. */
static __always_inline int gcra_take(__u64 *tat, __u64 cost, __u64 tau, __u64 now)
{
	__u64 old = *(volatile __u64 *)tat, t, seen;

	for (int i = 0; i < RL_CAS_TRIES; i++) {
		t = old > now ? old : now;
		if (t + cost - now > tau)
			return 0;
		seen = __sync_val_compare_and_swap(tat, old, t + cost);
		if (seen == old)
			return 1;
		old = seen;
	}
	return 0; /* contended by other CPUs for this very key: hold it back */
}

static __always_inline void gcra_refund(__u64 *tat, __u64 cost)
{
	__sync_fetch_and_add(tat, -cost);
}

static __always_inline __u64 rl_byte_cost(const struct ward_rl_cfg *c, __u64 len)
{
	return (len * c->byte_q16) >> 16;
}

/* Packets, then bytes, then (for a new flow) connections; all or nothing. */
static __always_inline int rl_take(struct ward_rl_val *b, const struct ward_rl_cfg *c, __u64 len,
				   int new_flow, __u64 now)
{
	__u64 bcost = rl_byte_cost(c, len);

	if (!gcra_take(&b->tat_pkt, c->pkt_ns, c->pkt_tau, now))
		return 0;
	if (c->byte_q16 && !gcra_take(&b->tat_byte, bcost, c->byte_tau, now)) {
		gcra_refund(&b->tat_pkt, c->pkt_ns);
		return 0;
	}
	if (new_flow && c->conn_ns && !gcra_take(&b->tat_conn, c->conn_ns, c->conn_tau, now)) {
		gcra_refund(&b->tat_pkt, c->pkt_ns);
		if (c->byte_q16)
			gcra_refund(&b->tat_byte, bcost);
		return 0;
	}
	return 1;
}

/* A sketch cell: charge it whether or not it conforms (it counts). */
static __always_inline void rl_charge(__u64 *tat, __u64 cost, __u64 now)
{
	__u64 old = *(volatile __u64 *)tat;

	if (old < now)
		(void)__sync_val_compare_and_swap(tat, old, now);
	__sync_fetch_and_add(tat, cost);
}

/* How far ahead of now a cell's arrival time is: its load. */
static __always_inline __u64 rl_cell_load(const __u64 *tat, __u64 now)
{
	__u64 t = *(volatile const __u64 *)tat;

	return t > now ? t - now : 0;
}

static __always_inline __u32 rl_hash(const struct ward_rl_key *k)
{
	const __u32 *w = (const __u32 *)k;
	__u64 h = 0x9e3779b97f4a7c15ull;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*k) / 4); i++) {
		h = (h ^ w[i]) * 0xff51afd7ed558ccdull;
		h ^= h >> 33;
	}
	return (__u32)h ^ (__u32)(h >> 32);
}

/*
 * The client is past the table: decide with the sketch, with the same
 * limits as a bucket (packets, bytes, and for a new flow connections). In
 * each of them the least loaded of the client's cells must conform, and a
 * pass is charged to all of its cells.
 */
static __always_inline int rl_sketch_take(const struct ward_rl_key *k, const struct ward_rl_cfg *c,
					  __u64 len, int new_flow, __u64 now)
{
	__u32 h = rl_hash(k), idx[WARD_RL_ROWS];
	struct ward_rl_val *cell[WARD_RL_ROWS];
	__u64 lp = ~0ull, lb = ~0ull, lc = ~0ull, load, bcost = rl_byte_cost(c, len);
	int bytes = c->byte_q16 != 0, conns = new_flow && c->conn_ns;

#pragma unroll
	for (int r = 0; r < WARD_RL_ROWS; r++) {
		idx[r] = r * WARD_RL_COLS + ((h >> (r * 16)) & (WARD_RL_COLS - 1));
		cell[r] = bpf_map_lookup_elem(&ward_rl_sketch, &idx[r]);
		if (!cell[r])
			return 0;
		load = rl_cell_load(&cell[r]->tat_pkt, now);
		if (load < lp)
			lp = load;
		load = rl_cell_load(&cell[r]->tat_byte, now);
		if (load < lb)
			lb = load;
		load = rl_cell_load(&cell[r]->tat_conn, now);
		if (load < lc)
			lc = load;
	}
	if (lp + c->pkt_ns > c->pkt_tau)
		return 0;
	if (bytes && lb + bcost > c->byte_tau)
		return 0;
	if (conns && lc + c->conn_ns > c->conn_tau)
		return 0;
#pragma unroll
	for (int r = 0; r < WARD_RL_ROWS; r++) {
		rl_charge(&cell[r]->tat_pkt, c->pkt_ns, now);
		if (bytes)
			rl_charge(&cell[r]->tat_byte, bcost, now);
		if (conns)
			rl_charge(&cell[r]->tat_conn, c->conn_ns, now);
	}
	return 1;
}

static __always_inline void rl_key(struct ward_rl_key *k, const __u8 *addr, __u8 family,
				   const struct ward_rl_cfg *c)
{
	int plen = family == WARD_FAM_V4 ? c->prefix[0] : c->prefix[1];

	k->key_id = c->key_id;
	k->family = family;
	k->prefixlen = plen;
#pragma unroll
	for (int i = 0; i < 16; i++) {
		int bits = plen - i * 8;

		k->addr[i] = addr[i] & (bits >= 8 ? 0xff : bits <= 0 ? 0 : (__u8)(0xff << (8 - bits)));
	}
}

/* One packet to admit; key is filled for the event path. */
struct rl_req {
	struct ward_rl_key key;
	__u8 remote[16];    /* the peer: source of inbound flows, destination of outbound */
	__u64 len;
	__u32 slot;         /* policy slot                                   */
	__u16 rl_slot;
	__u8 family;
	__u8 new_flow;      /* the packet opens a flow: the connection bucket counts */
};

/*
 * 1 when the packet is within its client's limit (and charged), 0 when
 * over. A global function: the verifier checks it once, not once per path
 * of the caller.
 */
__noinline int rl_admit(struct rl_req *r)
{
	struct ward_rl_val *b, fresh = {};
	const struct ward_rl_cfg *c;
	__u64 now;
	__u32 ci;

	if (!r)
		return 1;
	ci = WARD_RL_CFG_IDX(r->slot, r->rl_slot & (WARD_MAX_RATE_LIMITS - 1));
	c = bpf_map_lookup_elem(&ward_rl_cfg, &ci);
	if (!c || !c->pkt_ns)
		return 1; /* no such limit in this policy */
	now = bpf_ktime_get_coarse_ns();
	rl_key(&r->key, r->remote, r->family, c);
	b = bpf_map_lookup_elem(&ward_rl, &r->key);
	if (!b) {
		/* -EEXIST (another CPU was first) is fine; -E2BIG: table full */
		(void)bpf_map_update_elem(&ward_rl, &r->key, &fresh, BPF_NOEXIST);
		b = bpf_map_lookup_elem(&ward_rl, &r->key);
		if (!b)
			return rl_sketch_take(&r->key, c, r->len, r->new_flow, now);
	}
	b->last_ns = now;
	return rl_take(b, c, r->len, r->new_flow, now);
}

#endif
