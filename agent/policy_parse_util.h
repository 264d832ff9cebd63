/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared helpers of the policy parser (policy_parse.c, policy_rules.c). */
#ifndef WARD_POLICY_PARSE_UTIL_H
#define WARD_POLICY_PARSE_UTIL_H

#include <jansson.h>
#include "json_split.h"
#include "policy.h"

#define PTR_MAX 1024 /* longest JSON pointer we build, bytes */

struct pctx {
	struct policy *p;
	struct diags *d;
	bool oom;
	size_t *names;  /* open addressing over policy.terms (hash, index + 1), 0 = empty */
	size_t ncap;    /* power of two */
	size_t tcap;    /* room in policy.terms                      */
	const char *text; /* the document, for rule arrays left as spans */
	bool not_json;    /* a rule span jansson refused: parse again whole */
};

/* Term by name (group, literal CIDR text, "any"), or -1. */
long term_find(struct pctx *c, const char *name);
/* Remember term idx under its name; 0 or -ENOMEM. */
int term_index(struct pctx *c, size_t idx);

/* Error at pointer; value (may be NULL) is shown as compact JSON. */
void perr(struct pctx *c, const char *ptr, json_t *value, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void pwarn(struct pctx *c, const char *ptr, json_t *value, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* dst (PTR_MAX bytes) = base + "/" + key, key a literal member name (no
 * '~' or '/' to escape), or + "/" + the index i; cut at PTR_MAX. */
void ptr_sub(char *dst, const char *base, const char *key);
void ptr_index(char *dst, const char *base, size_t i);
/* dst = base + "/" + escaped(token) */
void ptr_join(char *dst, size_t n, const char *base, const char *token);
/* The hash of a name (group, rule id) for the open-addressing tables. */
size_t name_hash(const char *s);
void check_keys(struct pctx *c, json_t *obj, const char *ptr, const char *const *allowed);
int get_int(struct pctx *c, json_t *v, const char *ptr, long long lo, long long hi,
	    long long *ret);
int get_enum(struct pctx *c, json_t *v, const char *ptr, const char *const *names);
int get_bool(struct pctx *c, json_t *v, const char *ptr, bool *ret);
/* strdup of a valid name, or NULL after an error. */
char *get_name(struct pctx *c, json_t *v, const char *ptr, bool restricted);
void valid_name(struct pctx *c, const char *name, const char *ptr, const char *what);
struct term *term_new(struct pctx *c);
void get_cidrs(struct pctx *c, json_t *arr, const char *ptr, struct cidr **ret, size_t *n);
void check_except(struct pctx *c, const struct addrset *s, json_t *except, const char *ptr);

/* The rules of root's key, or of span (not empty) decoded one at a time. */
void parse_rules(struct pctx *c, json_t *root, struct json_span span, const char *key, int dir);
void check_rules(struct pctx *c);

#endif
