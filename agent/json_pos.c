// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Locate JSON values by RFC 6901 pointer in source text (positions only). */
#include <stdlib.h>
#include <string.h>
#include "json_pos.h"

#define JSON_POS_MAX_DEPTH 256

struct walker {
	const char *s, *end;
	int line, col;
	char *ptr;        /* current pointer, grows like a stack */
	size_t plen, pcap;
	struct diags *d;
	struct diag **todo; /* unresolved diags sorted by pointer */
	size_t ntodo;
	int depth;
};

static void adv(struct walker *w)
{
	if (w->s >= w->end)
		return;
	if (*w->s == '\n') {
		w->line++;
		w->col = 1;
	} else {
		w->col++;
	}
	w->s++;
}

static void skip_ws(struct walker *w)
{
	while (w->s < w->end && strchr(" \t\r\n", *w->s))
		adv(w);
}

static int ptr_push(struct walker *w, const char *tok, size_t n)
{
	size_t need = w->plen + 2 * n + 2;

	if (need > w->pcap) {
		char *p = realloc(w->ptr, need * 2);

		if (!p)
			return -1;
		w->ptr = p;
		w->pcap = need * 2;
	}
	w->ptr[w->plen++] = '/';
	for (size_t i = 0; i < n; i++) {
		if (tok[i] == '~') {
			w->ptr[w->plen++] = '~';
			w->ptr[w->plen++] = '0';
		} else if (tok[i] == '/') {
			w->ptr[w->plen++] = '~';
			w->ptr[w->plen++] = '1';
		} else {
			w->ptr[w->plen++] = tok[i];
		}
	}
	w->ptr[w->plen] = '\0';
	return 0;
}

static int cmp_todo(const void *a, const void *b)
{
	return strcmp((*(struct diag *const *)a)->pointer, (*(struct diag *const *)b)->pointer);
}

/* Give the diags naming the current pointer this position: O(log n). */
static void mark(struct walker *w)
{
	const char *cur = w->plen ? w->ptr : "";
	size_t lo = 0, hi = w->ntodo;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(w->todo[mid]->pointer, cur) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < w->ntodo && !strcmp(w->todo[lo]->pointer, cur); lo++) {
		if (!w->todo[lo]->line) {
			w->todo[lo]->line = w->line;
			w->todo[lo]->col = w->col;
		}
	}
}

/* Skip a string at w->s (on the opening quote); return its raw body. */
static void skip_string(struct walker *w, const char **body, size_t *n)
{
	adv(w);
	*body = w->s;
	while (w->s < w->end && *w->s != '"') {
		if (*w->s == '\\')
			adv(w);
		adv(w);
	}
	*n = w->s - *body;
	adv(w);
}

static void walk_value(struct walker *w);

static void walk_container(struct walker *w, int is_obj)
{
	size_t saved = w->plen, idx = 0;
	char num[24];

	adv(w);
	skip_ws(w);
	while (w->s < w->end && *w->s != (is_obj ? '}' : ']')) {
		if (is_obj) {
			const char *key;
			size_t n;

			skip_string(w, &key, &n);
			/* keys with escapes are compared raw: good enough for locating */
			if (ptr_push(w, key, n))
				return;
			skip_ws(w);
			adv(w); /* ':' */
		} else {
			int k = snprintf(num, sizeof(num), "%zu", idx++);

			if (ptr_push(w, num, k))
				return;
		}
		walk_value(w);
		w->plen = saved;
		if (w->ptr)
			w->ptr[saved] = '\0';
		skip_ws(w);
		if (w->s < w->end && *w->s == ',') {
			adv(w);
			skip_ws(w);
		}
	}
	adv(w);
}

static void walk_value(struct walker *w)
{
	const char *body;
	size_t n;

	skip_ws(w);
	if (w->s >= w->end)
		return;
	mark(w);
	switch (*w->s) {
	case '{':
	case '[':
		if (++w->depth > JSON_POS_MAX_DEPTH)
			return;
		walk_container(w, *w->s == '{');
		w->depth--;
		break;
	case '"':
		skip_string(w, &body, &n);
		break;
	default:
		while (w->s < w->end && !strchr(",]} \t\r\n", *w->s))
			adv(w);
	}
}

void json_pos__resolve(const char *text, size_t len, struct diags *d)
{
	struct walker w = { .s = text, .end = text + len, .line = 1, .col = 1, .d = d };

	w.todo = calloc(d->n ? d->n : 1, sizeof(*w.todo));
	if (!w.todo)
		return;
	for (size_t i = 0; i < d->n; i++)
		if (!d->v[i].line && d->v[i].pointer)
			w.todo[w.ntodo++] = &d->v[i];
	if (w.ntodo) {
		qsort(w.todo, w.ntodo, sizeof(*w.todo), cmp_todo);
		walk_value(&w);
	}
	free(w.todo);
	free(w.ptr);
}
