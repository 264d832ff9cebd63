// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Longest prefix match over the compiler's entries, by brute force. */
#include <stdbool.h>
#include <string.h>
#include <arpa/inet.h>
#include "lpm_sim.h"

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full))
		return false;
	return !rest || !((a[full] ^ b[full]) & (0xff << (8 - rest)));
}

const struct ward_addr_val *lpm_sim_classify(const struct compiled *c, uint8_t fam,
					     const uint8_t *addr)
{
	struct ward_addr_key k = { .family = fam };
	const struct ward_addr_val *best = NULL;
	long bestlen = -1;

	k.prefixlen = WARD_ADDR_KEY_BITS(fam == WARD_FAM_V6);
	memcpy(k.addr, addr, 16);
	for (size_t i = 0; i < c->naddrs; i++) {
		const struct ward_addr_key *e = &c->addrs[i].key;

		if (e->prefixlen <= k.prefixlen && (long)e->prefixlen > bestlen &&
		    prefix_match(&e->family, &k.family, e->prefixlen)) {
			best = &c->addrs[i].val;
			bestlen = e->prefixlen;
		}
	}
	return best;
}

static const struct ward_rule_val *rule_of(const struct compiled *c, const struct ward_rule_key *k)
{
	const struct ward_rule_val *best = NULL;
	long bestlen = -1;

	for (size_t i = 0; i < c->nrules; i++) {
		const struct ward_rule_key *e = &c->rules[i].key;

		if (e->prefixlen <= k->prefixlen && (long)e->prefixlen > bestlen &&
		    prefix_match((const uint8_t *)&e->class_id, (const uint8_t *)&k->class_id,
				 e->prefixlen)) {
			best = &c->rules[i].val;
			bestlen = e->prefixlen;
		}
	}
	return best;
}

const struct ward_rule_val *lpm_sim_rule(const struct compiled *c, const struct ward_addr_val *av,
					 uint8_t dir, uint8_t proto, uint16_t port, uint32_t *cls)
{
	struct ward_rule_key k = { .prefixlen = WARD_RULE_KEY_BITS_FULL, .dir = dir,
				   .proto = proto, .port = htons(port) };
	const struct ward_rule_val *v;

	for (int i = 0; av && i < WARD_CLASS_CHAIN && av->class_id[i]; i++) {
		k.class_id = htonl(av->class_id[i]);
		if ((v = rule_of(c, &k))) {
			*cls = av->class_id[i];
			return v;
		}
	}
	return NULL;
}
