/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Walk the members of a JSON object or the elements of a JSON array in
 * source text without building a tree: each value comes back as a span for
 * json_loadb(), so a large array is decoded one element at a time. The walk
 * only finds boundaries; json_loadb() of each span validates it. On text
 * that is not JSON the walk may fail (-1) where jansson would say why: the
 * caller then asks jansson for the error.
 */
#ifndef WARD_JSON_SPLIT_H
#define WARD_JSON_SPLIT_H
#include <stdbool.h>
#include <stddef.h>

struct json_span {
	size_t off, len; /* bytes of the source text */
};

struct json_walk {
	const char *s;
	size_t len, pos;
	char close; /* '}' or ']' */
	bool first;
};

/* Start at the container that begins at span (leading whitespace skipped). */
int json_walk_open(struct json_walk *w, const char *s, struct json_span span);
/* Next member (key set, quotes included) or element (key NULL): 1; the
 * end of the container: 0; not JSON: -1. */
int json_walk_next(struct json_walk *w, struct json_span *key, struct json_span *val);
/* The span of the whole text, whitespace trimmed. */
struct json_span json_span_all(const char *s, size_t len);

#endif
