/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Reference model of the policy semantics of docs/policy.md: a plain linear
 * evaluator over the parsed struct policy. It shares no code with the
 * compiler (agent/policy_compile.c) nor with agent/netaddr.c: membership,
 * matching, precedence and attribution are all written out here again, the
 * slow and obvious way, so that the differential test (test_diff.c) can hold
 * the compiled datapath against it.
 */
#ifndef WARD_POLICY_REF_H
#define WARD_POLICY_REF_H

#include <stdbool.h>
#include <stdint.h>
#include "ward/abi.h"
#include "policy.h"
#include "pktgen.h"

struct ref_result {
	int pass;           /* 1 the packet passes, 0 it is dropped            */
	uint32_t rule_idx;  /* deciding rule: index into policy.rules, or
			     * WARD_RULE_NONE (default, ARP, ND)               */
	int audit;          /* 1 when audit turned a deny into a pass          */
	int action;         /* enum ward_action of the verdict (before audit)  */
	uint8_t verdict;    /* enum ward_verdict                               */
	int rate_limit;     /* deciding rule's rate_limit index, -1 = none     */
	int nmatch;         /* matching rules (for reports)                    */
};

/*
 * The T of docs/policy.md for this packet: the destination port for TCP and
 * UDP, the ICMP type for ICMP in IPv4 and ICMPv6 in IPv6. Any other packet
 * has no port (T = 0; only tcp/udp/icmp/icmpv6 rules can restrict T).
 * The document does not say what T is for ICMP carried in IPv6 or ICMPv6 in
 * IPv4 (a type of the other family): the model treats it as "no type", 0,
 * like every packet without a port.
 */
int ref_port_of(const struct pkt_spec *pkt);

/* Is the address (family 4/6, 16 bytes network order) in the term's set? */
bool ref_term_has(const struct term *t, uint8_t family, const uint8_t *addr);

/* Does rule r match a packet of direction dir? (step 1 of Semantics) */
bool ref_rule_matches(const struct policy *p, const struct rule *r, int dir,
		      const struct pkt_spec *pkt);

/*
 * Decide one IPv4/IPv6 packet (a well-formed, first-fragment packet as
 * pktgen builds it) in direction dir (enum ward_dir). Returns 0, or -1 on a
 * bad argument.
 */
int ref_eval(const struct policy *p, int dir, const struct pkt_spec *pkt, struct ref_result *r);

/* An ARP frame: passes whatever the policy (step 5). */
void ref_eval_arp(struct ref_result *r);

const char *ref_verdict_name(unsigned v);

#endif
