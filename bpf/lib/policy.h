/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Policy decision, whatever the rule count:
 *   remote address -> class chain          (ward_addrs, one LPM lookup)
 *   (class, dir, proto, port) -> decision  (ward_rules, one LPM lookup per
 *                                           class of the chain until a hit,
 *                                           at most WARD_CLASS_CHAIN)
 * The compiler has already merged deny-wins precedence and attribution
 * into each ward_rules entry, so the first hit is the answer.
 */
#ifndef WARD_BPF_POLICY_H
#define WARD_BPF_POLICY_H

#include "maps.h"
#include "parse.h"
#include "chain.h"

struct decision {
	__u32 rule_idx;  /* WARD_RULE_NONE for a default */
	__u32 class_id;
	__u16 rl_slot;
	__u8 action;     /* enum ward_action */
	__u8 flags;      /* WARD_RF_* */
};

static __always_inline struct ward_addr_val *policy_classify(const struct pkt *p, __u8 dir,
							     __u32 slot)
{
	struct ward_addr_key k = {};
	void *trie = bpf_map_lookup_elem(&ward_addr_slots, &slot);

	if (!trie)
		return NULL;

	k.family = p->family;
	k.prefixlen = WARD_ADDR_KEY_BITS(p->family == WARD_FAM_V6);
	__builtin_memcpy(k.addr, dir == WARD_DIR_INGRESS ? p->src : p->dst, 16);
	return bpf_map_lookup_elem(trie, &k);
}

static __always_inline void policy_lookup(const struct pkt *p, __u8 dir, __u32 slot,
					  const struct ward_cfg *cfg, struct decision *d)
{
	/* class 0 or no match: no lookup in ward_rules, the default decides */
	const struct ward_addr_val *av = policy_classify(p, dir, slot);
	void *trie = bpf_map_lookup_elem(&ward_rule_slots, &slot);
	struct ward_rule_key k = {};
	struct ward_rule_val *v = NULL;

	d->class_id = 0;
	k.prefixlen = WARD_RULE_KEY_BITS_FULL;
	k.dir = dir;
	k.proto = p->proto;
	k.port = bpf_htons(p->dport);
	if (av && trie) {
		v = policy_rules_chain(trie, av, &k, &d->class_id);
		if (!v)
			d->class_id = av->class_id[0];
	}
	if (v) {
		d->rule_idx = v->rule_idx;
		d->action = v->action;
		d->flags = v->flags;
		d->rl_slot = v->rl_slot;
	} else {
		d->rule_idx = WARD_RULE_NONE;
		d->action = dir == WARD_DIR_INGRESS ? cfg->default_action[WARD_DIR_INGRESS]
						    : cfg->default_action[WARD_DIR_EGRESS];
		d->flags = 0;
		d->rl_slot = 0;
	}
}

#endif
