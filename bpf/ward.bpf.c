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
#include "lib/rl.h"
#include "lib/events.h"

/* Set by loaders that want per-packet decisions recorded (ward explain,
 * tests). The verifier prunes the trace code when it is 0. */
const volatile __u8 cfg_trace = 0;
/* Connection tracking; off only in loads that decide single packets as
 * new flows (ward explain, the differential test). */
const volatile __u8 cfg_ct = 1;
/* Rate limits; off in loads that decide single packets by policy alone. */
const volatile __u8 cfg_rl = 1;
/* Flow events to the ring buffer; off in loads that decide single packets. */
const volatile __u8 cfg_events = 1;
/* Aggregated events of one key: at most one per interval. */
const volatile __u64 cfg_ev_interval_ns = 1000000000ull;

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
static __always_inline __u8 policy_verdict(struct policy_query *q, __u8 dir,
					   const struct ward_cfg *cfg, struct decision *d,
					   __u8 *audit)
{
	policy_lookup(q, dir, cfg, d);
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
static __noinline __u8 ct_redecide(struct ward_ct_key *k, struct ward_ct_val *ct, __u32 slot,
				   const struct ward_cfg *cfg, struct decision *d)
{
	__u8 audit = 0, v;

	v = policy_verdict(policy_query_ct(k, ct->origin, slot), ct->origin, cfg, d, &audit);
	if (!WARD_V_IS_PASS(v)) {
		(void)bpf_map_delete_elem(&ward_ct, k);
		return v;
	}
	ct->generation = cfg->generation;
	ct->rule_idx = d->rule_idx;
	ct->rl_slot = d->rl_slot;
	return WARD_V_PASS_CT;
}

static __always_inline __u8 ct_verdict(struct ward_ct_key *k, struct ward_ct_val *ct, __u32 slot,
				       const struct ward_cfg *cfg, struct decision *d, __u8 *audit)
{
	if (ct->generation != cfg->generation) {
		__u8 v = ct_redecide(k, ct, slot, cfg, d);

		if (!WARD_V_IS_PASS(v)) {
			*audit = 0;
			return v;
		}
	}
	d->rule_idx = ct->rule_idx;
	d->rl_slot = ct->rl_slot;
	*audit = 0;
	return WARD_V_PASS_CT;
}

/*
 * A packet that its policy lets through, under a rate limit: within its
 * client's limit it goes on; over it, it is dropped (or, in audit mode,
 * only counted).
 */
static __always_inline __u8 rl_verdict(struct rl_req *r, const struct pkt *p, __u8 dir,
				       __u32 slot, const struct ward_cfg *cfg, __u16 rl_slot,
				       __u8 verdict, __u64 len, int new_flow, __u8 *audit,
				       int *rl_over)
{
	__builtin_memcpy(r->remote, dir == WARD_DIR_INGRESS ? p->src : p->dst, 16);
	r->len = len;
	r->slot = slot;
	r->rl_slot = rl_slot;
	r->family = p->family;
	r->new_flow = new_flow;
	if (rl_admit(r))
		return verdict;
	*rl_over = 1;
	if (cfg->mode == WARD_MODE_AUDIT) {
		*audit = 1;
		return WARD_V_PASS_AUDIT;
	}
	return WARD_V_DROP_RATE;
}

/* Whether the decision is recorded: the rule's log flag, or for a
 * default, the policy's defaults.log. */
static __always_inline int logged(const struct decision *d, const struct ward_cfg *cfg, int allowed)
{
	if (d->rule_idx != WARD_RULE_NONE)
		return d->flags & WARD_RF_LOG;
	return cfg->default_log == WARD_LOG_ALL || (!allowed && cfg->default_log == WARD_LOG_DENIED);
}

/* Returns 1 to pass, 0 to drop. Every packet is counted exactly once. */
static __always_inline int ward_decide(void *data, void *data_end, __u64 len, __u8 dir,
				       __u32 ifindex)
{
	struct decision d = { .rule_idx = WARD_RULE_NONE };
	struct ward_ct_val *ct = NULL;
	struct rl_req rk = {};
	struct ward_ct_key ck = {};
	struct pkt p = {};
	struct ward_cfg *cfg = NULL;
	__u32 zero = 0, slot = 0, stat;
	__u8 verdict, audit = 0;
	int related = 0, rl_over = 0, opened = 0;
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
	/* a tracked flow's packets take one hash lookup, no policy lookup */
	if (cfg_ct) {
		ct = ct_lookup(&ck, &p, dir, &now, &related);
		if (ct) {
			verdict = ct_verdict(&ck, ct, slot, cfg, &d, &audit);
			if (!WARD_V_IS_PASS(verdict) || related)
				goto out;
			/* only the client's own packets count against its limit */
			if (dir != ct->origin)
				d.rl_slot = 0;
		}
	}
	if (!ct)
		verdict = policy_verdict(policy_query_pkt(&p, dir, slot), dir, cfg, &d, &audit);
	if (cfg_rl && WARD_V_IS_PASS(verdict) && d.rl_slot)
		verdict = rl_verdict(&rk, &p, dir, slot, cfg, d.rl_slot, verdict, len, !ct, &audit,
				     &rl_over);
	if (ct) {
		if (WARD_V_IS_PASS(verdict))
			ct_update(ct, &p, dir, len, now);
	} else if (cfg_ct && WARD_V_IS_PASS(verdict) && ct_key(&ck, &p, dir)) {
		now = bpf_ktime_get_coarse_ns();
		opened = ct_create(&ck, &p, dir, d.rule_idx, d.rl_slot, cfg->generation, len, now);
	}
out:
	stat = d.rule_idx == WARD_RULE_NONE ? WARD_RULE_NONE : WARD_STAT_RULE(d.rule_idx);
	if (verdict == WARD_V_PASS_DEFAULT || verdict == WARD_V_DROP_DEFAULT ||
	    (verdict == WARD_V_PASS_AUDIT && d.rule_idx == WARD_RULE_NONE))
		stat = WARD_STAT_DEFAULT(dir, d.action);
	stats_count(dir, verdict, slot, stat, len, rl_over);
	if (cfg_trace)
		trace_record(dir, verdict, &p, &d, audit, cfg ? cfg->generation : 0);
	if (cfg_events && cfg) {
		struct ev_ctx x = {
			.p = &p, .len = len, .ifindex = ifindex, .rule_idx = d.rule_idx,
			.generation = cfg->generation, .rl_slot = d.rl_slot, .dir = dir,
			.verdict = verdict,
		};
		__u8 kind = 0;

		if (rl_over)
			kind = WARD_EV_RATE;
		else if (verdict == WARD_V_DROP_RULE || verdict == WARD_V_DROP_DEFAULT)
			kind = logged(&d, cfg, 0) ? WARD_EV_DENY : 0;
		else if (verdict == WARD_V_PASS_AUDIT)
			kind = logged(&d, cfg, 0) ? WARD_EV_AUDIT : 0;
		else if (opened && logged(&d, cfg, 1))
			kind = WARD_EV_FLOW;
		if (kind)
			ev_send(kind, &x, &rk.key, now, cfg_ev_interval_ns);
	}
	return WARD_V_IS_PASS(verdict);
}

SEC("xdp")
int xdp_ingress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	return ward_decide(data, data_end, data_end - data, WARD_DIR_INGRESS, ctx->ingress_ifindex)
		       ? XDP_PASS
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
	return ward_decide(data, data_end, skb->len, WARD_DIR_EGRESS, skb->ifindex) ? TC_ACT_OK
										    : TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
