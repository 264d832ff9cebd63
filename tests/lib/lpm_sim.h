/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The meaning of the compiler's entries, by brute force: longest prefix
 * match over every entry, no table. What the datapath's lookup tables
 * (agent/lookup.c, bpf/lib/lookup.h) must agree with; used by the lookup
 * unit suite and the fuzz targets.
 */
#ifndef WARD_TEST_LPM_SIM_H
#define WARD_TEST_LPM_SIM_H

#include <stdint.h>
#include "policy.h"

/* The chain of the longest address entry holding (fam, addr), or NULL. */
const struct ward_addr_val *lpm_sim_classify(const struct compiled *c, uint8_t fam,
					     const uint8_t *addr);
/* The decision of the first class of av's chain with an entry for (dir,
 * proto, port: host order), or NULL; *cls is that class. */
const struct ward_rule_val *lpm_sim_rule(const struct compiled *c, const struct ward_addr_val *av,
					 uint8_t dir, uint8_t proto, uint16_t port, uint32_t *cls);

#endif
