/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef WARD_JSON_POS_H
#define WARD_JSON_POS_H

#include <stddef.h>
#include "policy.h"

/*
 * jansson keeps no positions for values: walk the (already valid) text once
 * and give every diag whose line is 0 the line and column of the value its
 * JSON pointer names. Unresolvable pointers keep line 0.
 */
void json_pos__resolve(const char *text, size_t len, struct diags *d);

#endif
