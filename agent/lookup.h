/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The datapath's lookup tables of a compiled policy (layouts and lookup
 * rules in ward/abi.h): the compiler's LPM-style entries turned into
 * two-choice hash tables and sorted port intervals, so that a lookup costs
 * a fixed number of reads whatever the number of rules. Pure, no I/O.
 */
#ifndef WARD_LOOKUP_H
#define WARD_LOOKUP_H

#include <stddef.h>
#include "ward/abi.h"
#include "policy.h"

struct lookup_tables {
	struct ward_lookup hdr;
	struct ward_atab_ent *atab; /* hdr.addr_slots entries             */
	struct ward_ptab_ent *ptab; /* hdr.ports_slots entries            */
	struct ward_ival *ivals;
	size_t nivals;
	size_t naddr;    /* address entries: prefixes and markers          */
	size_t nmarkers; /* of which markers                               */
	size_t nports;   /* port lists                                     */
};

/* 0, or -ENOMEM / -E2BIG (no table could be built). */
int lookup__build(const struct compiled *c, struct lookup_tables *t);
void lookup__free(struct lookup_tables *t);

/* The same lookups as the datapath's (bpf/lib/lookup.h), for tests. */
const struct ward_addr_val *lookup__classify(const struct lookup_tables *t, __u8 family,
					     const __u8 addr[16]);
const struct ward_rule_val *lookup__rule(const struct lookup_tables *t,
					 const struct ward_addr_val *av, __u8 dir, __u8 proto,
					 __u16 port, __u32 *ret_class);

#endif
