/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Policy decision, whatever the rule count (lookup.h):
 *   remote address -> class chain          (binary search over prefix
 *                                           lengths, <= 8 hash probes)
 *   (class, dir, proto, port) -> decision  (per class of the chain until a
 *                                           hit, at most WARD_CLASS_CHAIN:
 *                                           a port-list probe and a binary
 *                                           search of its intervals)
 * The compiler has already merged deny-wins precedence and attribution
 * into each entry, so the first hit is the answer.
 */
#ifndef WARD_BPF_POLICY_H
#define WARD_BPF_POLICY_H

#include "maps.h"
#include "parse.h"
#include "lookup.h"

struct decision {
	__u32 rule_idx;  /* WARD_RULE_NONE for a default */
	__u32 class_id;
	__u16 rl_slot;
	__u8 action;     /* enum ward_action */
	__u8 flags;      /* WARD_RF_* */
};

/* The query of a tracked flow's opening packet (its origin direction): the
 * remote address, and the port the opening packet went to. */
static __always_inline struct policy_query *policy_query_ct(const struct ward_ct_key *k,
							     __u8 origin, __u32 slot)
{
	__u16 port = bpf_ntohs(origin == WARD_DIR_INGRESS ? k->lport : k->rport);

	/* an echo flow is opened by an echo request */
	if (k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6)
		port = k->proto == IPPROTO_ICMP ? ICMP_ECHO : ICMPV6_ECHO_REQUEST;
	return policy_query(slot, k->family, origin, k->proto, port, k->raddr);
}

/* The decision for q (filled by policy_query_pkt or policy_query_ct); no
 * query (cannot happen: a per-CPU array of one entry) is the default's. */
static __always_inline void policy_lookup(struct policy_query *q, __u8 dir,
					  const struct ward_cfg *cfg, struct decision *d)
{
	/* class 0 or no match: no rule lookup, the default decides */
	int hit = ward_policy_lookup(q);

	d->class_id = q ? q->class_id : 0;
	if (hit && q) {
		d->rule_idx = q->val.rule_idx;
		d->action = q->val.action;
		d->flags = q->val.flags;
		d->rl_slot = q->val.rl_slot;
	} else {
		d->rule_idx = WARD_RULE_NONE;
		d->action = dir == WARD_DIR_INGRESS ? cfg->default_action[WARD_DIR_INGRESS]
						    : cfg->default_action[WARD_DIR_EGRESS];
		d->flags = 0;
		d->rl_slot = 0;
	}
}

#endif
