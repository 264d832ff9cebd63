// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Ward datapath: XDP on ingress, TC clsact on egress, one decision
 * function for both directions and both address families.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/stats.h"
#include "lib/ct.h"

/* Set by loaders that want per-packet decisions recorded (ward explain,
 * tests). The verifier prunes the trace code when it is 0. */
const volatile __u8 cfg_trace = 0;
/* Connection tracking; off only in loads that decide single packets as
 * new flows (ward explain, the differential test). */
const volatile __u8 cfg_ct = 1;

static __always_inline void trace_record(__u8 dir, __u8 verdict, const struct pkt *p,
					 const struct decision *d, __u8 audit, __u32 generation)
{
	__u32 zero = 0;
	struct ward_trace *t = bpf_map_lookup_elem(&ward_trace, &zero);

	if (!t)
		return;
	t->rule_idx = d->rule_idx;
	t->rl_slot = d->rl_slot;
	t->verdict = verdict;
	t->action = WARD_V_IS_PASS(verdict) ? WARD_ACT_ALLOW : WARD_ACT_DENY;
	t->dir = dir;
	t->proto = p->proto;
	t->family = p->family;
	t->audit = audit;
	t->class_id = d->class_id;
	t->port = p->dport;
	t->generation = generation;
	t->count++;
}

static __always_inline __u8 verdict_for(int parsed, const struct pkt *p)
{
	switch (parsed) {
	case PARSE_ARP:
		return WARD_V_PASS_ARP;
	case PARSE_NON_IP:
		return WARD_V_DROP_NON_IP;
	case PARSE_FRAGMENT:
		return WARD_V_DROP_FRAGMENT;
	case PARSE_TCP_FLAGS:
		return WARD_V_DROP_TCP_FLAGS;
	case PARSE_OK:
		break;
	default:
		return WARD_V_DROP_MALFORMED;
	}
	if (p->family == WARD_FAM_V6 && p->proto == IPPROTO_ICMPV6 &&
	    p->dport >= ICMPV6_ND_ROUTER_SOLICIT && p->dport <= ICMPV6_ND_NEIGH_ADVERT)
		return WARD_V_PASS_ND;
	return WARD_V_MAX; /* decide by policy */
}

/* The policy's verdict for a new flow (or a flow decided again). */
static __always_inline __u8 policy_verdict(const struct pkt *p, __u8 dir, __u32 slot,
					   const struct ward_cfg *cfg, struct decision *d,
					   __u8 *audit)
{
	policy_lookup(p, dir, slot, cfg, d);
	if (d->action == WARD_ACT_ALLOW)
		return d->rule_idx == WARD_RULE_NONE ? WARD_V_PASS_DEFAULT : WARD_V_PASS_RULE;
	if (cfg->mode == WARD_MODE_AUDIT || (d->flags & WARD_RF_AUDIT)) {
		*audit = 1;
		return WARD_V_PASS_AUDIT;
	}
	return d->rule_idx == WARD_RULE_NONE ? WARD_V_DROP_DEFAULT : WARD_V_DROP_RULE;
}

/*
 * A packet of a tracked flow. Under the policy the flow was decided with,
 * it passes. Under a newer one, the flow's first packet (either way) has
 * the flow decided again from its opening tuple: still allowed, it goes on;
 * denied, the entry is removed and the packet dropped (revocation).
 */
static __always_inline __u8 ct_verdict(struct ward_ct_key *k, struct ward_ct_val *ct,
				       const struct pkt *p, __u8 dir, __u32 slot,
				       const struct ward_cfg *cfg, struct decision *d, __u8 *audit,
				       int related, __u64 len, __u64 now)
{
	if (ct->generation != cfg->generation) {
		struct pkt fwd = {};
		__u8 v;

		ct_forward_pkt(&fwd, k, ct->origin);
		v = policy_verdict(&fwd, ct->origin, slot, cfg, d, audit);
		if (!WARD_V_IS_PASS(v)) {
			(void)bpf_map_delete_elem(&ward_ct, k);
			return v;
		}
		ct->generation = cfg->generation;
		ct->rule_idx = d->rule_idx;
		ct->rl_slot = d->rl_slot;
	}
	if (!related)
		ct_update(ct, p, dir, len, now);
	d->rule_idx = ct->rule_idx;
	d->rl_slot = ct->rl_slot;
	*audit = 0;
	return WARD_V_PASS_CT;
}

/* Returns 1 to pass, 0 to drop. Every packet is counted exactly once. */
static __always_inline int ward_decide(void *data, void *data_end, __u64 len, __u8 dir)
{
	struct decision d = { .rule_idx = WARD_RULE_NONE };
	struct ward_ct_val *ct = NULL;
	struct ward_ct_key ck = {};
	struct pkt p = {};
	struct ward_cfg *cfg = NULL;
	__u32 zero = 0, slot = 0, stat;
	__u8 verdict, audit = 0;
	int related = 0;
	__u64 now = 0;
	__u32 *active;

	verdict = verdict_for(parse_packet(data, data_end, len, dir == WARD_DIR_EGRESS, &p), &p);
	if (verdict != WARD_V_MAX)
		goto out;
	/* Read the live slot once: this packet sees one policy, whole. */
	active = bpf_map_lookup_elem(&ward_active, &zero);
	if (active)
		slot = *active & (WARD_SLOTS - 1);
	cfg = bpf_map_lookup_elem(&ward_cfg, &slot);
	if (!cfg || !cfg->loaded) {
		verdict = WARD_V_DROP_NOPOLICY;
		goto out;
	}
	/* a tracked flow's packets take one hash lookup, no trie */
	if (cfg_ct) {
		ct = ct_lookup(&ck, &p, dir, &now, &related);
		if (ct) {
			verdict = ct_verdict(&ck, ct, &p, dir, slot, cfg, &d, &audit, related, len,
					     now);
			goto out;
		}
	}
	verdict = policy_verdict(&p, dir, slot, cfg, &d, &audit);
	if (cfg_ct && WARD_V_IS_PASS(verdict) && ct_key(&ck, &p, dir))
		ct_create(&ck, &p, dir, d.rule_idx, d.rl_slot, cfg->generation, len,
			  bpf_ktime_get_coarse_ns());
out:
	stat = d.rule_idx == WARD_RULE_NONE ? WARD_RULE_NONE : WARD_STAT_RULE(d.rule_idx);
	if (verdict == WARD_V_PASS_DEFAULT || verdict == WARD_V_DROP_DEFAULT ||
	    (verdict == WARD_V_PASS_AUDIT && d.rule_idx == WARD_RULE_NONE))
		stat = WARD_STAT_DEFAULT(dir, d.action);
	stats_count(dir, verdict, slot, stat, len);
	if (cfg_trace)
		trace_record(dir, verdict, &p, &d, audit, cfg ? cfg->generation : 0);
	return WARD_V_IS_PASS(verdict);
}

SEC("xdp")
int xdp_ingress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	return ward_decide(data, data_end, data_end - data, WARD_DIR_INGRESS) ? XDP_PASS
									       : XDP_DROP;
}

SEC("tc")
int tc_egress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	/* Headers may sit in paged data (GSO, GRO): make them linear first. */
	if (data_end - data < 128 && skb->len > (__u32)(data_end - data)) {
		(void)bpf_skb_pull_data(skb, skb->len < 128 ? skb->len : 128);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}
	return ward_decide(data, data_end, skb->len, WARD_DIR_EGRESS) ? TC_ACT_OK : TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
