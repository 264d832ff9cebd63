// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Locate JSON values by RFC 6901 pointer in source text (positions only). */
#include <stdbool.h>
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

	if (need > w->pcap || !w->ptr) {
		size_t cap = need * 2 + 64; /* never 0, even were need to wrap */
		char *p = realloc(w->ptr, cap);

		if (!p)
			return -1;
		w->ptr = p;
		w->pcap = cap;
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

/* The first todo whose pointer is not below key: O(log n). */
static size_t todo_from(const struct walker *w, const char *key)
{
	size_t lo = 0, hi = w->ntodo;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(w->todo[mid]->pointer, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Give the diags naming the current pointer this position: O(log n). */
static void mark(struct walker *w)
{
	const char *cur = w->plen ? w->ptr : "";
	size_t lo = todo_from(w, cur);

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

static unsigned hex4(const char *s)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];

		v = v << 4 | (c >= '0' && c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/* JSON string body (n bytes, escapes) -> UTF-8 in out (at most n bytes). */
static size_t unescape(const char *s, size_t n, char *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		unsigned cp;

		if (s[i] != '\\' || i + 1 >= n) {
			out[o++] = s[i++];
			continue;
		}
		switch (s[i + 1]) {
		case 'b': out[o++] = '\b'; i += 2; continue;
		case 'f': out[o++] = '\f'; i += 2; continue;
		case 'n': out[o++] = '\n'; i += 2; continue;
		case 'r': out[o++] = '\r'; i += 2; continue;
		case 't': out[o++] = '\t'; i += 2; continue;
		case 'u': break;
		default: out[o++] = s[i + 1]; i += 2; continue;
		}
		if (i + 6 > n) {
			out[o++] = s[i++];
			continue;
		}
		cp = hex4(s + i + 2);
		i += 6;
		if (cp >= 0xd800 && cp < 0xdc00 && i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u') {
			unsigned lo = hex4(s + i + 2);

			if (lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			}
		}
		if (cp < 0x80) {
			out[o++] = (char)cp;
		} else if (cp < 0x800) {
			out[o++] = (char)(0xc0 | cp >> 6);
			out[o++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			out[o++] = (char)(0xe0 | cp >> 12);
			out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (cp & 0x3f));
		} else {
			out[o++] = (char)(0xf0 | cp >> 18);
			out[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
			out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	return o;
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

			char *dec;
			size_t dn;
			int err;

			skip_string(w, &key, &n);
			/* pointers name decoded keys: decode the escapes first */
			dec = malloc(n + 1);
			if (!dec)
				return;
			dn = unescape(key, n, dec);
			err = ptr_push(w, dec, dn);
			free(dec);
			if (err)
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

/* Does a diag point inside the current value, at cur + "/..."? Those
 * pointers are contiguous in the sorted todo: O(log n). */
static bool wanted_inside(struct walker *w)
{
	char root[2] = "/", *key = w->plen ? w->ptr : root;
	size_t lo, n = w->plen + 1;
	bool found;

	key[w->plen] = '/'; /* ptr_push left room for it and the '\0' */
	key[n] = '\0';
	lo = todo_from(w, key);
	found = lo < w->ntodo && !strncmp(w->todo[lo]->pointer, key, n);
	key[w->plen] = '\0';
	return found;
}

/* Past the container at w->s without looking for pointers inside it:
 * brackets and strings only, the position moved in one step. */
static void skip_container(struct walker *w)
{
	const char *s = w->s, *bol = NULL; /* the last line's beginning */
	bool in_str = false;
	int depth = 0, lines = 0;

	for (; s < w->end; s++) {
		if (*s == '\n') {
			lines++;
			bol = s + 1;
		}
		if (in_str) {
			if (*s == '\\' && s + 1 < w->end && s[1] != '\n')
				s++;
			else if (*s == '"')
				in_str = false;
		} else if (*s == '"') {
			in_str = true;
		} else if (*s == '{' || *s == '[') {
			depth++;
		} else if ((*s == '}' || *s == ']') && --depth == 0) {
			s++;
			break;
		}
	}
	w->line += lines;
	w->col = bol ? (int)(s - bol) + 1 : w->col + (int)(s - w->s);
	w->s = s;
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
		if (!wanted_inside(w)) {
			skip_container(w);
			break;
		}
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
