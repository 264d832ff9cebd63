/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* FNV-1a over bytes, for the agent's open-addressing tables. */
#ifndef WARD_HASH_H
#define WARD_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FNV1A_INIT 14695981039346656037ull

static inline uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* Fold high bits into the low ones a power-of-two mask keeps. */
static inline size_t hash_fold(uint64_t h)
{
	return h ^ (h >> 31);
}

#endif
