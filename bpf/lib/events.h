/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow events to the agent through the ward_events ring buffer. An allowed
 * flow is reported once, when conntrack creates it (the agent reads its
 * counters from conntrack later). Denied, rate-limited and audited packets
 * are summed per key in ward_agg: the first packet of a key is reported at
 * once, later ones at most once per interval, so a flood yields a bounded
 * number of events whose packet counts add up to the packets. Nothing is
 * dropped silently: an event the ring cannot take is counted in
 * ward_ev_lost, and a sum that cannot be sent stays in ward_agg.
 */
#ifndef WARD_BPF_EVENTS_H
#define WARD_BPF_EVENTS_H

#include "maps.h"
#include "parse.h"

/* What the datapath knows about a packet when it reports it. */
struct ev_ctx {
	const struct pkt *p;
	__u64 len;
	__u32 ifindex;
	__u32 rule_idx;
	__u32 generation;
	__u16 rl_slot;
	__u8 dir;
	__u8 verdict;
};

static __always_inline void ev_count_lost(__u32 kind, __u64 packets)
{
	struct ward_counter *c = bpf_map_lookup_elem(&ward_ev_lost, &kind);

	if (c) {
		c->packets++;
		c->bytes += packets;
	}
}

static __always_inline void ev_fill(struct ward_event *e, __u8 kind, const struct ev_ctx *x)
{
	const struct pkt *p = x->p;

	e->kind = kind;
	e->dir = x->dir;
	e->family = p->family;
	e->proto = p->proto;
	e->sport = p->sport;
	e->dport = p->dport;
	e->tcp_flags = p->tcp_flags;
	e->verdict = x->verdict;
	e->rl_slot = x->rl_slot;
	e->rule_idx = x->rule_idx;
	e->generation = x->generation;
	e->ifindex = x->ifindex;
	__builtin_memcpy(e->src, p->src, 16);
	__builtin_memcpy(e->dst, p->dst, 16);
}

/* A flow was opened: one event, with the opening packet. */
static __always_inline void ev_flow_open(const struct ev_ctx *x, __u64 now)
{
	struct ward_event *e = bpf_ringbuf_reserve(&ward_events, sizeof(*e), 0);

	if (!e) {
		ev_count_lost(WARD_EV_FLOW, 1);
		return;
	}
	ev_fill(e, WARD_EV_FLOW, x);
	e->first_ns = now;
	e->last_ns = now;
	e->packets = 1;
	e->bytes = x->len;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline int ev_send_sum(const struct ward_agg_key *k, const struct ward_agg_val *v,
				       __u64 packets, __u64 bytes, __u64 first, __u64 now,
				       const struct ev_ctx *x)
{
	struct ward_event *e = bpf_ringbuf_reserve(&ward_events, sizeof(*e), 0);

	if (!e)
		return -1;
	ev_fill(e, k->kind, x);
	e->sport = 0;
	if (k->kind == WARD_EV_RATE) {
		/* the client key stands for its sources */
		__builtin_memcpy(e->src, k->src, 16);
		__builtin_memset(e->dst, 0, 16);
		e->dport = 0;
	}
	e->first_ns = first;
	e->last_ns = now;
	e->packets = packets;
	e->bytes = bytes;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/*
 * Sum a denied, rate-limited or audited packet under its key. rl_client:
 * the rate limit's client key (WARD_EV_RATE), else NULL.
 */
static __always_inline void ev_aggregate(__u8 kind, const struct ev_ctx *x,
					 const struct ward_rl_key *rl_client, __u64 interval_ns)
{
	const struct pkt *p = x->p;
	struct ward_agg_key k = {};
	struct ward_agg_val *v, nv = {};
	__u64 now = bpf_ktime_get_coarse_ns(), first, n, b;

	k.kind = kind;
	k.dir = x->dir;
	k.family = p->family;
	k.proto = p->proto;
	if (rl_client) {
		k.dport = x->rl_slot;
		__builtin_memcpy(k.src, rl_client->addr, 16);
	} else {
		k.dport = p->dport;
		__builtin_memcpy(k.src, p->src, 16);
		__builtin_memcpy(k.dst, p->dst, 16);
	}
	v = bpf_map_lookup_elem(&ward_agg, &k);
	if (!v) {
		/* first packet of the key: sent now; the key starts summing */
		nv.first_ns = now;
		nv.last_ns = now;
		nv.rule_idx = x->rule_idx;
		nv.generation = x->generation;
		nv.ifindex = x->ifindex;
		nv.verdict = x->verdict;
		nv.tcp_flags = p->tcp_flags;
		nv.rl_slot = x->rl_slot;
		if (bpf_map_update_elem(&ward_agg, &k, &nv, BPF_NOEXIST)) {
			v = bpf_map_lookup_elem(&ward_agg, &k);
			if (!v) {
				/* table full: counted, reported by the agent */
				ev_count_lost(WARD_EV_LOST_AGG_FULL, 1);
				return;
			}
			goto sum; /* another CPU created it */
		}
		if (ev_send_sum(&k, &nv, 1, x->len, now, now, x)) {
			/* ring full: keep the packet in the sum instead */
			v = bpf_map_lookup_elem(&ward_agg, &k);
			if (v)
				goto sum;
			ev_count_lost(kind, 1);
		}
		return;
	}
sum:
	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->bytes, x->len);
	v->last_ns = now;
	v->tcp_flags |= p->tcp_flags;
	first = v->first_ns;
	if (now - first < interval_ns)
		return;
	/* one CPU wins the interval and sends the sum */
	if (__sync_val_compare_and_swap(&v->first_ns, first, now) != first)
		return;
	n = __sync_lock_test_and_set(&v->packets, 0);
	b = __sync_lock_test_and_set(&v->bytes, 0);
	if (n && ev_send_sum(&k, v, n, b, first, now, x)) {
		/* ring full: put the sum back, it goes with the next event */
		__sync_fetch_and_add(&v->packets, n);
		__sync_fetch_and_add(&v->bytes, b);
	}
}

/* The one call into the event path (verified once, not per path). */
static __noinline void ev_send(__u8 kind, const struct ev_ctx *x, const struct ward_rl_key *rl_client,
			       __u64 now, __u64 interval_ns)
{
	if (kind == WARD_EV_FLOW)
		ev_flow_open(x, now);
	else
		ev_aggregate(kind, x, kind == WARD_EV_RATE ? rl_client : NULL, interval_ns);
}

#endif
