/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef WARD_RL_GC_H
#define WARD_RL_GC_H

#include <stdbool.h>
#include <stddef.h>
#include "ward/abi.h"

#define RL_GC_MARGIN_NS 100000000ull /* 100 ms */

/* Free the full (idle) buckets of the ward_rl map fd (cap = max_entries);
 * *live = buckets kept. */
int rl_gc__run(int fd, size_t cap, size_t *live);

#endif
