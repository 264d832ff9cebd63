/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy's two lookups, each a fixed number of array reads whatever the
 * rule count (tables and their layouts: tables.h, ward/abi.h):
 *   remote address -> class chain: binary search over the prefix lengths,
 *                     one two-choice hash probe per step (<= 8 steps)
 *   (class, dir, proto, port) -> decision: per class of the chain, one
 *                     probe for the port list (two when the protocol has
 *                     none), then a binary search of its intervals
 */
#ifndef WARD_BPF_LOOKUP_H
#define WARD_BPF_LOOKUP_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "ward/abi.h"
#include "tables.h"
#include "parse.h"

#define WARD_NO_ENTRY 0xffffffffu

/*
 * One policy lookup: the query in, the decision out, and the lookup's
 * scratch. It lives in a per-CPU array, not on the stack: the lookup runs
 * below the program's own frame and the conntrack re-decision's, within
 * the 512 bytes all frames share (programs do not nest on a CPU).
 */
struct policy_query {
	__u8 addr[16];  /* in: remote address, network order          */
	__u32 slot;     /* in: live slot                              */
	__u8 family;    /* in: WARD_FAM_*                             */
	__u8 dir;       /* in: enum ward_dir                          */
	__u8 proto;     /* in: IPPROTO_*                              */
	__u8 pad;
	__u16 port;     /* in: host order; dport or ICMP type         */
	__u16 pad2;
	struct ward_rule_val val; /* out: the deciding entry          */
	__u32 class_id;           /* out: its class, or the address's */
	__u32 raw[4];   /* scratch: addr as host-order words          */
	__u32 w[4];     /* scratch: addr masked to a length           */
	__u32 key;      /* scratch: an index looked up                */
	__u32 pad3;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct policy_query);
} ward_query SEC(".maps");

/* The slot of an address table holding (tag, q->w), or WARD_NO_ENTRY. One
 * branch per slot: the key compared as one word. */
static __always_inline __u32 atab_find(void *tab, const struct ward_lookup *lk,
				       struct policy_query *q, __u32 tag)
{
	__u64 h = ward_addr_hash(lk->seed, tag, q->w);
	__u32 found = WARD_NO_ENTRY;

#pragma unroll
	for (int k = 0; k < 2; k++) {
		const struct ward_atab_ent *e;

		q->key = WARD_HASH_IDX(h, k, lk->addr_slots);
		e = bpf_map_lookup_elem(tab, &q->key);
		if (e && !((e->addr[0] ^ q->w[0]) | (e->addr[1] ^ q->w[1]) |
			   (e->addr[2] ^ q->w[2]) | (e->addr[3] ^ q->w[3]) | (e->tag ^ tag))) {
			found = q->key;
			break; /* a cold cache line less */
		}
	}
	return found;
}

/* The class chain of the longest policy prefix holding q->addr (class 0
 * when none does: the default decides); NULL when the slot has no table. */
static __always_inline const struct ward_addr_val *
policy_classify_addr(const struct ward_lookup *lk, struct policy_query *q)
{
	void *tab = bpf_map_lookup_elem(&ward_atab_slots, &q->slot);
	const struct ward_atab_ent *e;
	__u32 fi = WARD_FI(q->family), i = 0, best = WARD_NO_ENTRY, flen, bit;

	if (!tab)
		return NULL;
	__builtin_memcpy(q->raw, q->addr, 16);
#pragma unroll
	for (int j = 0; j < 4; j++)
		q->raw[j] = bpf_ntohl(q->raw[j]);
	/* the filter: an address in no prefix stops here, without a probe */
	flen = lk->filter_len[fi];
	if (flen > 128)
		flen = 128;
#pragma unroll
	for (int j = 0; j < 4; j++)
		q->w[j] = q->raw[j] & lk->mask[flen][j];
	bit = ward_fold16(q->w);
	if (!(lk->filter[fi][bit / 64] & (1ull << (bit % 64))))
		return &lk->any[fi];
	for (int step = 0; step < WARD_LEN_STEPS; step++) {
		__u32 len = lk->tree[fi][i & (WARD_LEN_TREE - 1)], at;

		if (len > 128)
			break;
#pragma unroll
		for (int j = 0; j < 4; j++)
			q->w[j] = q->raw[j] & lk->mask[len][j];
		at = atab_find(tab, lk, q, WARD_ATAB_TAG(q->family, len));
		/* A hit goes to longer lengths, a miss to shorter ones. The index
		 * is read back from map memory: the verifier then knows it as a
		 * range, the same after a hit and a miss, and prunes the walk's
		 * paths instead of following all 2^8 (it only picks a node). */
		q->key = (2 * i + 1 + (at != WARD_NO_ENTRY)) & (WARD_LEN_TREE - 1);
		i = *(volatile __u32 *)&q->key;
		if (at != WARD_NO_ENTRY)
			best = at;
	}
	if (best == WARD_NO_ENTRY)
		return &lk->any[fi];
	q->key = best;
	e = bpf_map_lookup_elem(tab, &q->key);
	return e ? &e->bmp : &lk->any[fi];
}

/* The port list of (class, sel), or NULL. */
static __always_inline const struct ward_ptab_ent *ptab_find(void *tab, const struct ward_lookup *lk,
							     struct policy_query *q, __u32 class_id,
							     __u32 sel)
{
	__u64 h = ward_ports_hash(lk->seed, class_id, sel);
	const struct ward_ptab_ent *found = NULL;

#pragma unroll
	for (int k = 0; k < 2; k++) {
		const struct ward_ptab_ent *e;

		q->key = WARD_HASH_IDX(h, k, lk->ports_slots);
		e = bpf_map_lookup_elem(tab, &q->key);
		if (e && !((e->class_id ^ class_id) | (e->sel ^ sel))) {
			found = e;
			break;
		}
	}
	return found;
}

/* The interval of a port list that holds q->port: the last with lo <= port. */
static __always_inline const struct ward_ival *ival_find(void *ivals, struct policy_query *q,
							 __u32 first, __u32 count)
{
	__u32 base = first, n = count;

	for (int step = 0; step < WARD_PORT_STEPS; step++) {
		__u32 half = n / 2;
		const struct ward_ival *v;

		if (n <= 1)
			break;
		q->key = base + half;
		v = bpf_map_lookup_elem(ivals, &q->key);
		if (v && v->lo <= q->port)
			base += half;
		n -= half;
	}
	q->key = base;
	return bpf_map_lookup_elem(ivals, &q->key);
}

/* The decision of the first class of the chain with an entry for (dir,
 * proto, port), or NULL; q->class_id is that class. */
static __always_inline const struct ward_rule_val *
policy_rules_chain(const struct ward_lookup *lk, struct policy_query *q,
		   const struct ward_addr_val *av)
{
	void *tab = bpf_map_lookup_elem(&ward_ptab_slots, &q->slot);
	void *ivals = bpf_map_lookup_elem(&ward_ival_slots, &q->slot);

	if (!tab || !ivals)
		return NULL;
	for (int i = 0; i < WARD_CLASS_CHAIN; i++) {
		__u32 c = av->class_id[i];
		const struct ward_ptab_ent *e;
		const struct ward_ival *v;

		if (!c)
			break;
		e = ptab_find(tab, lk, q, c, WARD_PTAB_SEL(q->dir, q->proto, 0));
		if (!e)
			e = ptab_find(tab, lk, q, c, WARD_PTAB_SEL(q->dir, 0, 1));
		if (!e)
			continue;
		v = ival_find(ivals, q, e->first, e->count);
		if (v && v->hit) {
			q->class_id = c;
			return &v->val;
		}
	}
	return NULL;
}

/* The per-CPU query, filled: remote address addr (16 bytes, network
 * order); NULL only if the per-CPU array could not be read. */
static __always_inline struct policy_query *policy_query(__u32 slot, __u8 family, __u8 dir,
							  __u8 proto, __u16 port, const __u8 *addr)
{
	__u32 zero = 0;
	struct policy_query *q = bpf_map_lookup_elem(&ward_query, &zero);

	if (!q)
		return NULL;
	q->slot = slot;
	q->family = family;
	q->dir = dir;
	q->proto = proto;
	q->port = port;
	__builtin_memcpy(q->addr, addr, 16);
	return q;
}

/* The query of a packet in direction dir. */
static __always_inline struct policy_query *policy_query_pkt(const struct pkt *p, __u8 dir,
							      __u32 slot)
{
	return policy_query(slot, p->family, dir, p->proto, p->dport,
			    dir == WARD_DIR_INGRESS ? p->src : p->dst);
}

/*
 * A global function: the verifier checks it once, on its own, instead of
 * once per path of each caller (the lookups' loops and probes would
 * multiply the callers' states past the verifier's budget). q is the
 * per-CPU query (policy_query); 1 when an entry decides (q->val), 0 when
 * the default does.
 */
__noinline int ward_policy_lookup(struct policy_query *q)
{
	const struct ward_addr_val *av;
	const struct ward_rule_val *v;
	const struct ward_lookup *lk;

	if (!q)
		return 0;
	q->class_id = 0;
	lk = bpf_map_lookup_elem(&ward_lookup, &q->slot);
	if (!lk)
		return 0;
	av = policy_classify_addr(lk, q);
	if (!av)
		return 0;
	v = policy_rules_chain(lk, q, av);
	if (!v) {
		q->class_id = av->class_id[0];
		return 0;
	}
	q->val = *v;
	return 1;
}

#endif
