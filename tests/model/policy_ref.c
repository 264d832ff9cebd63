// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Reference model of docs/policy.md ("Semantics"), written from the document
 * alone: for every packet, look at every rule. No tries, no classes, no
 * precomputation, nothing shared with the compiler.
 */
#include <string.h>
#include "policy_ref.h"
#include "verdict.h"

#define P_ICMP   1
#define P_TCP    6
#define P_UDP    17
#define P_ICMPV6 58

/* Bit i (0 = most significant bit of byte 0) of a 16-byte address. */
static int bit_at(const uint8_t *a, int i)
{
	return (a[i >> 3] >> (7 - (i & 7))) & 1;
}

/* One CIDR (or "any") of a term: does it contain the address? */
static bool ref_cidr_has(const struct cidr *c, uint8_t family, const uint8_t *addr)
{
	int bits;

	if (c->family == WARD_FAM_ANY)
		return true; /* "any": every IPv4 and IPv6 address */
	if (c->family != family)
		return false; /* IPv4 and IPv6 never contain each other */
	bits = family == WARD_FAM_V4 ? 32 : 128;
	if (c->len > bits)
		return false;
	for (int i = 0; i < c->len; i++)
		if (bit_at(c->addr, i) != bit_at(addr, i))
			return false;
	return true;
}

bool ref_term_has(const struct term *t, uint8_t family, const uint8_t *addr)
{
	bool in = false;

	/* inside at least one of cidrs ... */
	for (size_t i = 0; i < t->set.nincl; i++)
		if (ref_cidr_has(&t->set.incl[i], family, addr))
			in = true;
	if (!in)
		return false;
	/* ... and inside none of except */
	for (size_t i = 0; i < t->set.nexcl; i++)
		if (ref_cidr_has(&t->set.excl[i], family, addr))
			return false;
	return true;
}

int ref_port_of(const struct pkt_spec *pkt)
{
	switch (pkt->proto) {
	case P_TCP:
	case P_UDP:
		return pkt->dport;
	case P_ICMP:
		return pkt->family == WARD_FAM_V4 ? pkt->dport : 0;
	case P_ICMPV6:
		return pkt->family == WARD_FAM_V6 ? pkt->dport : 0;
	default:
		return 0;
	}
}

bool ref_rule_matches(const struct policy *p, const struct rule *r, int dir,
		      const struct pkt_spec *pkt)
{
	const uint8_t *remote;
	bool addr_ok = false;

	if (r->dir != dir)
		return false;
	/* the remote address: source for ingress, destination for egress */
	remote = dir == WARD_DIR_INGRESS ? pkt->src : pkt->dst;
	for (size_t i = 0; i < r->nterms && !addr_ok; i++) {
		if (r->terms[i] >= p->nterms)
			return false;
		addr_ok = ref_term_has(&p->terms[r->terms[i]], pkt->family, remote);
	}
	if (!addr_ok)
		return false;
	if (r->proto == POLICY_PROTO_ANY)
		return true; /* proto any: ports are never checked */
	if (r->proto != pkt->proto)
		return false;
	if (r->ports) {
		int t = ref_port_of(pkt);
		bool in = false;

		for (size_t i = 0; i < r->nports && !in; i++)
			in = t >= r->ports[i].lo && t <= r->ports[i].hi;
		if (!in)
			return false;
	}
	return true;
}

/* Is rule a a better deciding rule than rule b (smaller id, byte order)? */
static bool id_before(const struct policy *p, size_t a, size_t b)
{
	return strcmp(p->rules[a].id, p->rules[b].id) < 0;
}

void ref_eval_arp(struct ref_result *r)
{
	memset(r, 0, sizeof(*r));
	r->pass = 1;
	r->rule_idx = WARD_RULE_NONE;
	r->action = WARD_ACT_ALLOW;
	r->verdict = WARD_V_PASS_ARP;
	r->rate_limit = -1;
}

int ref_eval(const struct policy *p, int dir, const struct pkt_spec *pkt, struct ref_result *r)
{
	const size_t none = (size_t)-1;
	size_t deny = none, deny_audit = none, allow = none, decider = none;
	uint8_t def;

	memset(r, 0, sizeof(*r));
	r->rule_idx = WARD_RULE_NONE;
	r->rate_limit = -1;
	if (!p || !pkt || (dir != WARD_DIR_INGRESS && dir != WARD_DIR_EGRESS) ||
	    (pkt->family != WARD_FAM_V4 && pkt->family != WARD_FAM_V6))
		return -1;

	/* 6. TCP flag combinations no stack sends are dropped before the policy:
	 * none of SYN/FIN/RST/ACK, SYN+FIN, SYN+RST, FIN+RST, or FIN/PSH/URG
	 * without ACK. (pktgen sends SYN for tcp_flags 0.) */
	if (pkt->proto == 6) {
		unsigned f = pkt->tcp_flags ? pkt->tcp_flags : 0x02;
		bool syn = f & 0x02, fin = f & 0x01, rst = f & 0x04, ack = f & 0x10;
		bool psh = f & 0x08, urg = f & 0x20;

		if ((!syn && !fin && !rst && !ack) || (syn && (fin || rst)) || (fin && rst) ||
		    ((fin || psh || urg) && !ack)) {
			r->action = WARD_ACT_DENY;
			r->verdict = WARD_V_DROP_TCP_FLAGS;
			return 0;
		}
	}

	/* 5. neighbour discovery passes whatever the policy */
	if (pkt->family == WARD_FAM_V6 && pkt->proto == P_ICMPV6 && pkt->dport >= 133 &&
	    pkt->dport <= 136) {
		r->pass = 1;
		r->action = WARD_ACT_ALLOW;
		r->verdict = WARD_V_PASS_ND;
		return 0;
	}

	/* 1. every matching rule; 3. per class, the one with the smallest id */
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *ru = &p->rules[i];
		size_t *best;

		if (!ref_rule_matches(p, ru, dir, pkt))
			continue;
		r->nmatch++;
		if (ru->action == WARD_ACT_DENY)
			best = ru->audit ? &deny_audit : &deny;
		else
			best = &allow;
		if (*best == none || id_before(p, i, *best))
			*best = i;
	}

	/* 2. deny wins, then allow, then the default; 3. enforcing denies first */
	if (deny != none || deny_audit != none) {
		decider = deny != none ? deny : deny_audit;
		r->action = WARD_ACT_DENY;
	} else if (allow != none) {
		decider = allow;
		r->action = WARD_ACT_ALLOW;
	} else {
		def = p->defaults[dir];
		r->action = def == WARD_ACT_ALLOW ? WARD_ACT_ALLOW : WARD_ACT_DENY;
	}

	if (decider != none) {
		r->rule_idx = (uint32_t)decider;
		r->rate_limit = p->rules[decider].rate_limit;
	}

	if (r->action == WARD_ACT_ALLOW) {
		r->pass = 1;
		r->verdict = decider != none ? WARD_V_PASS_RULE : WARD_V_PASS_DEFAULT;
		return 0;
	}
	/* 4. audit: the policy mode, or the deciding rule's own flag */
	if (p->mode == WARD_MODE_AUDIT || (decider != none && p->rules[decider].audit)) {
		r->pass = 1;
		r->audit = 1;
		r->verdict = WARD_V_PASS_AUDIT;
		return 0;
	}
	r->pass = 0;
	r->verdict = decider != none ? WARD_V_DROP_RULE : WARD_V_DROP_DEFAULT;
	return 0;
}

const char *ref_verdict_name(unsigned v)
{
	return verdict__name(v);
}
