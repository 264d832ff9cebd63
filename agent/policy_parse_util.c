// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "hash.h"
#include "policy_parse_util.h"

static void vdiag(struct pctx *c, bool warning, const char *ptr, json_t *value, const char *fmt,
		  va_list ap)
{
	char *reason = NULL, *val = NULL;

	if (vasprintf(&reason, fmt, ap) < 0) {
		c->oom = true;
		return;
	}
	if (value)
		val = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
	diags__add(c->d, warning, ptr, val, "%s", reason);
	free(val);
	free(reason);
}

void perr(struct pctx *c, const char *ptr, json_t *value, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(c, false, ptr, value, fmt, ap);
	va_end(ap);
}

void pwarn(struct pctx *c, const char *ptr, json_t *value, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(c, true, ptr, value, fmt, ap);
	va_end(ap);
}

void ptr_sub(char *dst, const char *base, const char *key)
{
	size_t b = strlen(base), k = strlen(key);

	if (b + 1 + k >= PTR_MAX) { /* cut as snprintf would */
		snprintf(dst, PTR_MAX, "%s/%s", base, key);
		return;
	}
	memcpy(dst, base, b);
	dst[b] = '/';
	memcpy(dst + b + 1, key, k + 1);
}

void ptr_index(char *dst, const char *base, size_t i)
{
	char num[24], *d = num + sizeof(num);

	*--d = '\0';
	do
		*--d = (char)('0' + i % 10);
	while (i /= 10);
	ptr_sub(dst, base, d);
}

void ptr_join(char *dst, size_t n, const char *base, const char *token)
{
	size_t o = snprintf(dst, n, "%s/", base);

	for (; *token && o + 3 < n; token++) {
		if (*token == '~' || *token == '/') {
			dst[o++] = '~';
			dst[o++] = *token == '~' ? '0' : '1';
		} else {
			dst[o++] = *token;
		}
	}
	dst[o < n ? o : n - 1] = '\0';
}

void check_keys(struct pctx *c, json_t *obj, const char *ptr, const char *const *allowed)
{
	char sub[PTR_MAX];
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		const char *const *a = allowed;

		while (*a && strcmp(*a, key))
			a++;
		if (*a)
			continue;
		ptr_join(sub, sizeof(sub), ptr, key);
		perr(c, sub, v, "unknown key \"%s\"", key);
	}
}

int get_int(struct pctx *c, json_t *v, const char *ptr, long long lo, long long hi,
	    long long *ret)
{
	long long n;

	if (!json_is_integer(v)) {
		perr(c, ptr, v, "must be an integer");
		return -1;
	}
	n = json_integer_value(v);
	if (n < lo || n > hi) {
		perr(c, ptr, v, "out of range (%lld-%lld)", lo, hi);
		return -1;
	}
	*ret = n;
	return 0;
}

int get_enum(struct pctx *c, json_t *v, const char *ptr, const char *const *names)
{
	char list[256] = "";

	if (json_is_string(v)) {
		for (int i = 0; names[i]; i++)
			if (!strcmp(names[i], json_string_value(v)))
				return i;
	}
	for (int i = 0; names[i]; i++) {
		strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
		strncat(list, names[i], sizeof(list) - strlen(list) - 1);
	}
	perr(c, ptr, v, "must be one of: %s", list);
	return -1;
}

int get_bool(struct pctx *c, json_t *v, const char *ptr, bool *ret)
{
	if (!json_is_boolean(v)) {
		perr(c, ptr, v, "must be true or false");
		return -1;
	}
	*ret = json_is_true(v);
	return 0;
}

void valid_name(struct pctx *c, const char *name, const char *ptr, const char *what)
{
	size_t n = strlen(name);

	if (n == 0 || n >= WARD_NAME_LEN) {
		perr(c, ptr, NULL, "%s must be 1-%d bytes", what, WARD_NAME_LEN - 1);
		return;
	}
	if (strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != n)
		perr(c, ptr, NULL, "%s \"%s\" may only hold A-Z a-z 0-9 _ . -", what, name);
}

char *get_name(struct pctx *c, json_t *v, const char *ptr, bool restricted)
{
	const char *s;
	size_t n;

	if (!json_is_string(v)) {
		perr(c, ptr, v, "must be a string");
		return NULL;
	}
	s = json_string_value(v);
	n = strlen(s);
	if (restricted) {
		valid_name(c, s, ptr, "id");
	} else if (n == 0 || n >= WARD_NAME_LEN) {
		perr(c, ptr, v, "must be 1-%d bytes", WARD_NAME_LEN - 1);
		return NULL;
	}
	return strdup(s);
}

struct term *term_new(struct pctx *c)
{
	struct term *t = c->p->terms;

	if (c->p->nterms >= c->tcap) { /* capacity doubles: no realloc per term */
		size_t cap = c->tcap ? 2 * c->tcap : 64;

		if (cap <= c->p->nterms)
			cap = c->p->nterms + 1;
		t = realloc(c->p->terms, cap * sizeof(*t));
		if (!t) {
			c->oom = true;
			return NULL;
		}
		c->p->terms = t;
		c->tcap = cap;
	}
	t = &t[c->p->nterms++];
	memset(t, 0, sizeof(*t));
	return t;
}

void get_cidrs(struct pctx *c, json_t *arr, const char *ptr, struct cidr **ret, size_t *n)
{
	char sub[PTR_MAX];
	const char *why;
	size_t i;
	json_t *v;

	*ret = NULL;
	*n = 0;
	if (!json_is_array(arr)) {
		perr(c, ptr, arr, "must be an array of CIDRs");
		return;
	}
	if (json_array_size(arr) == 0) {
		perr(c, ptr, arr, "empty list");
		return;
	}
	*ret = calloc(json_array_size(arr), sizeof(**ret));
	if (!*ret) {
		c->oom = true;
		return;
	}
	json_array_foreach(arr, i, v) {
		ptr_index(sub, ptr, i);
		if (!json_is_string(v))
			perr(c, sub, v, "must be a CIDR string");
		else if (cidr__parse(json_string_value(v), &(*ret)[*n], &why))
			perr(c, sub, v, "%s", why);
		else
			(*n)++;
	}
}

void check_except(struct pctx *c, const struct addrset *s, json_t *except, const char *ptr)
{
	char sub[PTR_MAX];
	size_t i, k = 0;
	json_t *v;

	json_array_foreach(except, i, v) {
		bool inside = false;
		struct cidr e;
		const char *why;

		if (!json_is_string(v) || cidr__parse(json_string_value(v), &e, &why))
			continue; /* already reported */
		for (size_t j = 0; j < s->nincl && !inside; j++)
			inside = cidr__contains(&s->incl[j], &e);
		if (!inside) {
			ptr_index(sub, ptr, i);
			perr(c, sub, v, "except must lie inside one of the group's cidrs");
		}
		k++;
	}
}

size_t name_hash(const char *s)
{
	return hash_fold(fnv1a(FNV1A_INIT, s, strlen(s)));
}

/* A slot holds the term index + 1 in its low 32 bits and the name's hash
 * in the high ones: a probe compares hashes before it reads a name. */
#define SLOT_IDX(v)       ((size_t)((v) & 0xffffffffu) - 1)
#define SLOT_HASH(v)      ((uint32_t)((uint64_t)(v) >> 32))
#define SLOT(h, idx)      (((uint64_t)(uint32_t)(h) << 32) | ((idx) + 1))

static void names_put(size_t *v, size_t cap, size_t h, size_t idx)
{
	size_t i = h & (cap - 1);

	while (v[i])
		i = (i + 1) & (cap - 1);
	v[i] = SLOT(h, idx);
}

static int names_grow(struct pctx *c)
{
	size_t cap = c->ncap ? c->ncap * 2 : 256;
	size_t *v = calloc(cap, sizeof(*v));

	if (!v)
		return -1;
	for (size_t i = 0; i < c->ncap; i++) {
		size_t idx = SLOT_IDX(c->names[i]);

		if (c->names[i])
			names_put(v, cap, name_hash(c->p->terms[idx].name), idx);
	}
	free(c->names);
	c->names = v;
	c->ncap = cap;
	return 0;
}

long term_find(struct pctx *c, const char *name)
{
	size_t h = name_hash(name);

	if (!c->ncap)
		return -1;
	for (size_t i = h & (c->ncap - 1); c->names[i]; i = (i + 1) & (c->ncap - 1))
		if (SLOT_HASH(c->names[i]) == (uint32_t)h &&
		    !strcmp(c->p->terms[SLOT_IDX(c->names[i])].name, name))
			return SLOT_IDX(c->names[i]);
	return -1;
}

int term_index(struct pctx *c, size_t idx)
{
	if (!c->p->terms[idx].name)
		return 0;
	if ((idx + 1) * 2 >= c->ncap && names_grow(c)) {
		c->oom = true;
		return -1;
	}
	names_put(c->names, c->ncap, name_hash(c->p->terms[idx].name), idx);
	return 0;
}
