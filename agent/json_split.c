// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Member and element boundaries of JSON text (see json_split.h). */
#include <string.h>
#include "json_split.h"

#define JSON_SPLIT_MAX_DEPTH 1024

static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static size_t skip_ws(const char *s, size_t len, size_t i)
{
	while (i < len && is_ws(s[i]))
		i++;
	return i;
}

/* End of the string that starts at s[i] == '"', or 0. */
static size_t skip_string(const char *s, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return 0;
}

/* End of the value that starts at s[i], or 0: strings and nesting are
 * followed, scalars run to the next delimiter. */
static size_t skip_value(const char *s, size_t len, size_t i)
{
	int depth = 0;

	if (i >= len)
		return 0;
	if (s[i] != '{' && s[i] != '[' && s[i] != '"') {
		size_t start = i;

		while (i < len && !is_ws(s[i]) && !strchr(",:]}[{\"", s[i]))
			i++;
		return i > start ? i : 0;
	}
	do {
		if (i >= len)
			return 0;
		if (s[i] == '"') {
			if (!(i = skip_string(s, len, i)))
				return 0;
			continue;
		}
		if (s[i] == '{' || s[i] == '[') {
			if (++depth > JSON_SPLIT_MAX_DEPTH)
				return 0;
		} else if (s[i] == '}' || s[i] == ']') {
			depth--;
		}
		i++;
	} while (depth > 0);
	return i;
}

struct json_span json_span_all(const char *s, size_t len)
{
	size_t a = skip_ws(s, len, 0), b = len;

	while (b > a && is_ws(s[b - 1]))
		b--;
	return (struct json_span){ a, b - a };
}

int json_walk_open(struct json_walk *w, const char *s, struct json_span span)
{
	size_t i = skip_ws(s, span.off + span.len, span.off);

	if (i >= span.off + span.len || (s[i] != '{' && s[i] != '['))
		return -1;
	*w = (struct json_walk){ .s = s, .len = span.off + span.len, .pos = i + 1,
				 .close = s[i] == '{' ? '}' : ']', .first = true };
	return 0;
}

int json_walk_next(struct json_walk *w, struct json_span *key, struct json_span *val)
{
	const char *s = w->s;
	size_t i = skip_ws(s, w->len, w->pos), end;

	if (i >= w->len)
		return -1;
	if (s[i] == w->close) {
		w->pos = i + 1;
		return 0;
	}
	if (!w->first) {
		if (s[i] != ',')
			return -1;
		i = skip_ws(s, w->len, i + 1);
	}
	w->first = false;
	if (w->close == '}') {
		if (i >= w->len || s[i] != '"' || !(end = skip_string(s, w->len, i)))
			return -1;
		*key = (struct json_span){ i, end - i };
		i = skip_ws(s, w->len, end);
		if (i >= w->len || s[i] != ':')
			return -1;
		i = skip_ws(s, w->len, i + 1);
	}
	if (!(end = skip_value(s, w->len, i)))
		return -1;
	*val = (struct json_span){ i, end - i };
	w->pos = end;
	return 1;
}
