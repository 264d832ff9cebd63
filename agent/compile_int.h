/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Internals shared by the compiler's two stages. */
#ifndef WARD_COMPILE_INT_H
#define WARD_COMPILE_INT_H

#include "policy.h"

/* Address classes: every remote address maps to the set of terms
 * (groups, literal CIDRs, "any") that contain it. */
struct classes {
	size_t n;           /* class ids 1..n-1; 0 = no term          */
	size_t **terms;     /* terms[class]: sorted term indexes      */
	size_t *nterms;
	size_t *parent;     /* parent[class]: the class it falls back to */
	size_t cap;         /* room in terms, nterms, parent          */
	size_t *hash;       /* open addressing: class id, 0 = empty   */
	size_t hcap;        /* power of two                           */
};

int classes__build(const struct policy *p, struct classes *cl, struct addr_entry **ret,
		   size_t *nret);
void classes__free(struct classes *cl);

#endif
