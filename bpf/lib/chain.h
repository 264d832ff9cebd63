/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The walk down an address's class chain (no maps of its own, so the
 * benchmark probes can run it on the live tries). */
#ifndef WARD_BPF_CHAIN_H
#define WARD_BPF_CHAIN_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "ward/abi.h"

/*
 * The rules of the chain's classes, most specific first, until a hit.
 * k carries dir, proto and port; *ret_class is the class that matched.
 */
static __always_inline struct ward_rule_val *policy_rules_chain(void *trie,
								 const struct ward_addr_val *av,
								 struct ward_rule_key *k,
								 __u32 *ret_class)
{
	struct ward_rule_val *v;

#pragma unroll
	for (int i = 0; i < WARD_CLASS_CHAIN; i++) {
		__u32 c = av->class_id[i];

		if (!c)
			break;
		k->class_id = bpf_htonl(c);
		v = bpf_map_lookup_elem(trie, k);
		if (v) {
			*ret_class = c;
			return v;
		}
	}
	return NULL;
}

#endif
