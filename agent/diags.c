// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Located diagnostics: FILE:LINE:COL: /json/pointer: value: reason. */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "policy.h"

#define DIAG_VALUE_MAX 80 /* bytes of a value shown before "..." */

void diags__add(struct diags *d, bool warning, const char *pointer, const char *value,
		const char *fmt, ...)
{
	struct diag *v, *g;
	va_list ap;
	char *reason = NULL;

	v = realloc(d->v, (d->n + 1) * sizeof(*v));
	if (!v)
		return; /* out of memory: the count below still says "failed" */
	d->v = v;
	g = &d->v[d->n];
	memset(g, 0, sizeof(*g));
	va_start(ap, fmt);
	if (vasprintf(&reason, fmt, ap) < 0)
		reason = NULL;
	va_end(ap);
	g->warning = warning;
	g->pointer = strdup(pointer ? pointer : "");
	if (value && strlen(value) > DIAG_VALUE_MAX) {
		if (asprintf(&g->value, "%.*s...", DIAG_VALUE_MAX, value) < 0)
			g->value = NULL;
	} else if (value) {
		g->value = strdup(value);
	}
	g->reason = reason;
	d->n++;
	if (warning)
		d->nwarnings++;
	else
		d->nerrors++;
}

static void diag_print(const struct diag *g, const char *file, FILE *out)
{
	if (g->line)
		fprintf(out, "%s:%d:%d: ", file, g->line, g->col);
	else /* about the file, or a value the document does not have */
		fprintf(out, "%s: ", file);
	fprintf(out, "%s", g->warning ? "warning: " : "");
	if (g->pointer[0] || g->line)
		fprintf(out, "%s: ", g->pointer[0] ? g->pointer : "/");
	if (g->value)
		fprintf(out, "%s: ", g->value);
	fprintf(out, "%s\n", g->reason ? g->reason : "(out of memory)");
}

/* Formatted in memory, written at once: stderr is unbuffered, and a policy
 * may have thousands of warnings. */
void diags__print_some(const struct diags *d, const char *file, FILE *out, size_t max_warnings)
{
	FILE *to = out, *mem;
	size_t len = 0, shown = 0;
	char *buf = NULL;

	mem = d->n > 1 ? open_memstream(&buf, &len) : NULL;
	if (mem)
		to = mem; /* else: one diag, or no memory; straight out */
	for (size_t i = 0; i < d->n; i++)
		if (!d->v[i].warning || shown++ < max_warnings)
			diag_print(&d->v[i], file, to);
	if (shown > max_warnings)
		fprintf(to, "%s: and %zu more warnings (ward check %s lists them all)\n", file,
			shown - max_warnings, file);
	if (mem && !fclose(mem))
		(void)!fwrite(buf, 1, len, out);
	free(buf);
}

void diags__print(const struct diags *d, const char *file, FILE *out)
{
	diags__print_some(d, file, out, SIZE_MAX);
}

void diags__truncate(struct diags *d, size_t n)
{
	for (; d->n > n; d->n--) {
		struct diag *g = &d->v[d->n - 1];

		if (g->warning)
			d->nwarnings--;
		else
			d->nerrors--;
		free(g->pointer);
		free(g->value);
		free(g->reason);
	}
}

void diags__free(struct diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].pointer);
		free(d->v[i].value);
		free(d->v[i].reason);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

static int cmp_diag(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;

	if (x->line != y->line)
		return x->line - y->line;
	return x->col - y->col;
}

void diags__sort(struct diags *d)
{
	if (d->n > 1)
		qsort(d->v, d->n, sizeof(*d->v), cmp_diag);
}
