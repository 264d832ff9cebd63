/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking shared by the XDP (ingress) and TC (egress) programs.
 * A flow's entry is written when its first packet is allowed, in either
 * direction; replies and related ICMP errors are admitted by it. Forward
 * packets carry the policy generation they were decided under and are
 * decided again when it changes, so a new policy revokes live flows at
 * once. Expired entries are ignored here and freed by the agent.
 */
#ifndef WARD_BPF_CT_H
#define WARD_BPF_CT_H

#include "maps.h"
#include "parse.h"

static __always_inline void __ct_key(struct ward_ct_key *k, __u8 family, __u8 proto, __u8 dir,
				     const __u8 *src, const __u8 *dst, __u16 sport, __u16 dport)
{
	k->family = family;
	k->proto = proto;
	if (dir == WARD_DIR_INGRESS) {
		__builtin_memcpy(k->raddr, src, 16);
		__builtin_memcpy(k->laddr, dst, 16);
		k->rport = bpf_htons(sport);
		k->lport = bpf_htons(dport);
	} else {
		__builtin_memcpy(k->raddr, dst, 16);
		__builtin_memcpy(k->laddr, src, 16);
		k->rport = bpf_htons(dport);
		k->lport = bpf_htons(sport);
	}
}

/* ICMP echo: request and reply share the identifier (as lport), not the type. */
static __always_inline void __ct_key_echo(struct ward_ct_key *k, __u8 family, __u8 proto, __u8 dir,
					  const __u8 *src, const __u8 *dst, __u16 id)
{
	if (dir == WARD_DIR_INGRESS)
		__ct_key(k, family, proto, dir, src, dst, 0, id);
	else
		__ct_key(k, family, proto, dir, src, dst, id, 0);
}

/* Key of the flow this packet belongs to; 0 when it is not tracked. */
static __always_inline int ct_key(struct ward_ct_key *k, const struct pkt *p, __u8 dir)
{
	if (p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6) {
		if (p->icmp_kind != ICMP_KIND_ECHO)
			return 0;
		__ct_key_echo(k, p->family, p->proto, dir, p->src, p->dst, p->icmp_id);
		return 1;
	}
	__ct_key(k, p->family, p->proto, dir, p->src, p->dst, p->sport, p->dport);
	return 1;
}

/* Key of the flow an ICMP error is about: the quoted packet went the
 * other way. */
static __always_inline int ct_key_related(struct ward_ct_key *k, const struct pkt *p, __u8 dir)
{
	const struct pkt_inner *in = &p->inner;
	__u8 idir = dir == WARD_DIR_INGRESS ? WARD_DIR_EGRESS : WARD_DIR_INGRESS;

	if (p->icmp_kind != ICMP_KIND_ERROR || !in->valid)
		return 0;
	if (in->proto == IPPROTO_ICMP || in->proto == IPPROTO_ICMPV6) {
		__ct_key_echo(k, p->family, in->proto, idir, in->src, in->dst, in->sport);
		return 1;
	}
	__ct_key(k, p->family, in->proto, idir, in->src, in->dst, in->sport, in->dport);
	return 1;
}

static __always_inline int ct_expired(const struct ward_ct_val *v, __u8 proto, __u64 now)
{
	return now - v->last_ns > ward_ct_timeout_ns(proto, v->state);
}

/* Look the packet's flow up; expired entries are deleted and not found. */
/* Sets *now (the coarse clock: timeouts are in seconds) only on a hit, so
 * packets of no flow do not pay for the clock. */
static __always_inline struct ward_ct_val *ct_lookup(struct ward_ct_key *k, const struct pkt *p,
						     __u8 dir, __u64 *now, int *related)
{
	struct ward_ct_val *v;

	*related = 0;
	if (!ct_key(k, p, dir)) {
		if (!ct_key_related(k, p, dir))
			return NULL;
		*related = 1;
	}
	v = bpf_map_lookup_elem(&ward_ct, k);
	if (!v)
		return NULL;
	*now = bpf_ktime_get_coarse_ns();
	if (ct_expired(v, k->proto, *now)) {
		(void)bpf_map_delete_elem(&ward_ct, k);
		return NULL;
	}
	return v;
}

/* Account a packet of a tracked flow and move its state on. */
static __always_inline void ct_update(struct ward_ct_val *v, const struct pkt *p, __u8 dir,
				      __u64 len, __u64 now)
{
	__u8 state = v->state;

	v->last_ns = now;
	__sync_fetch_and_add(&v->packets[dir & 1], 1);
	__sync_fetch_and_add(&v->bytes[dir & 1], len);
	if (p->proto == IPPROTO_TCP) {
		v->tcp_flags[dir & 1] |= p->tcp_flags;
		if (p->tcp_flags & TCPF_RST)
			state = WARD_CT_CLOSED;
		else if (p->tcp_flags & TCPF_FIN)
			state = state == WARD_CT_CLOSED ? state : WARD_CT_CLOSING;
		else if (dir != v->origin && state == WARD_CT_NEW)
			state = WARD_CT_ESTABLISHED;
	} else if (dir != v->origin && state == WARD_CT_NEW) {
		state = WARD_CT_ESTABLISHED;
	}
	if (state != v->state)
		v->state = state;
}

/* A new flow was allowed: remember it. TCP RSTs open nothing. Returns 1
 * when this packet created the entry. */
static __always_inline int ct_create(struct ward_ct_key *k, const struct pkt *p, __u8 dir,
				      __u32 rule_idx, __u16 rl_slot, __u32 generation, __u64 len,
				      __u64 now)
{
	struct ward_ct_val v = {};

	if (p->proto == IPPROTO_TCP && (p->tcp_flags & TCPF_RST))
		return 0;
	v.created_ns = now;
	v.last_ns = now;
	v.packets[dir & 1] = 1;
	v.bytes[dir & 1] = len;
	v.rule_idx = rule_idx;
	v.rl_slot = rl_slot;
	v.generation = generation;
	v.origin = dir;
	v.state = WARD_CT_NEW;
	if (p->proto == IPPROTO_TCP)
		v.tcp_flags[dir & 1] = p->tcp_flags;
	return bpf_map_update_elem(&ward_ct, k, &v, BPF_NOEXIST) == 0;
}

#endif
