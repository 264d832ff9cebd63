// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Stage 1 of the compiler: address classes. Every CIDR of every term is a
 * node of a prefix tree; a node's class is the set of terms whose includes
 * cover it and whose excepts do not. Walking the nodes in (family, address,
 * length) order puts every ancestor before its descendants, so one stack
 * gives each node its parent. A node whose class equals its parent's needs
 * no address entry. A class is a term set plus the class it falls back to
 * (its parent node's), so the datapath can look the rules of a prefix up
 * first and those of the enclosing prefixes after (policy_compile.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "compile_int.h"
#include "hash.h"

#define MARK_INCL 1
#define MARK_EXCL 2

struct mark {
	size_t term;
	unsigned bits; /* MARK_* */
};

struct pnode {
	struct cidr c;
	struct mark *marks; /* own marks, then (after walk) inherited state */
	size_t nmarks;
	size_t cls;
};

static int cmp_node(const void *a, const void *b)
{
	const struct cidr *x = &((const struct pnode *)a)->c, *y = &((const struct pnode *)b)->c;
	int r;

	if (x->family != y->family)
		return x->family - y->family;
	r = memcmp(x->addr, y->addr, 16);
	return r ? r : x->len - y->len;
}

static int cmp_mark(const void *a, const void *b)
{
	const struct mark *x = a, *y = b;

	return x->term < y->term ? -1 : x->term > y->term;
}

static int add_node(struct pnode **v, size_t *n, size_t *cap, const struct cidr *c, size_t term,
		    unsigned bits)
{
	struct pnode *nd;

	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;

		nd = realloc(*v, ncap * sizeof(*nd));
		if (!nd)
			return -ENOMEM;
		*v = nd;
		*cap = ncap;
	}
	nd = &(*v)[(*n)++];
	memset(nd, 0, sizeof(*nd));
	nd->c = *c;
	nd->marks = malloc(sizeof(*nd->marks));
	if (!nd->marks)
		return -ENOMEM;
	nd->marks[0] = (struct mark){ .term = term, .bits = bits };
	nd->nmarks = 1;
	return 0;
}

/* Merge duplicates (same prefix) into one node with all their marks. */
static size_t dedup_nodes(struct pnode *v, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (o && !cmp_node(&v[o - 1], &v[i])) {
			struct pnode *d = &v[o - 1];
			struct mark *m = realloc(d->marks, (d->nmarks + v[i].nmarks) * sizeof(*m));

			if (m) {
				memcpy(m + d->nmarks, v[i].marks, v[i].nmarks * sizeof(*m));
				d->marks = m;
				d->nmarks += v[i].nmarks;
			}
			free(v[i].marks);
			continue;
		}
		v[o++] = v[i];
	}
	return o;
}

/* state = parent state OR own marks (both sorted by term after this). */
static int inherit(struct pnode *nd, const struct pnode *parent)
{
	size_t n = nd->nmarks + (parent ? parent->nmarks : 0), o = 0;
	struct mark *m = malloc((n ? n : 1) * sizeof(*m));

	if (!m)
		return -ENOMEM;
	memcpy(m, nd->marks, nd->nmarks * sizeof(*m));
	if (parent)
		memcpy(m + nd->nmarks, parent->marks, parent->nmarks * sizeof(*m));
	qsort(m, n, sizeof(*m), cmp_mark);
	for (size_t i = 0; i < n; i++) {
		if (o && m[o - 1].term == m[i].term)
			m[o - 1].bits |= m[i].bits;
		else
			m[o++] = m[i];
	}
	free(nd->marks);
	nd->marks = m;
	nd->nmarks = o;
	return 0;
}

static bool is_ancestor(const struct cidr *a, const struct cidr *b)
{
	return cidr__contains(a, b);
}

static size_t hash_terms(const size_t *t, size_t n, size_t parent)
{
	return hash_fold(fnv1a(fnv1a(FNV1A_INIT, &parent, sizeof(parent)), t, n * sizeof(*t)));
}

static int rehash(struct classes *cl, size_t want)
{
	size_t cap = cl->hcap ? cl->hcap * 2 : 1024;
	size_t *hv;

	while (cap < want)
		cap *= 2;
	hv = calloc(cap, sizeof(*hv));

	if (!hv)
		return -ENOMEM;
	for (size_t c = 1; c < cl->n; c++) {
		size_t h = hash_terms(cl->terms[c], cl->nterms[c], cl->parent[c]) & (cap - 1);

		while (hv[h])
			h = (h + 1) & (cap - 1);
		hv[h] = c;
	}
	free(cl->hash);
	cl->hash = hv;
	cl->hcap = cap;
	return 0;
}

/* Room for more classes, want at least: capacity doubles (not one realloc
 * per class). */
static int classes_grow(struct classes *cl, size_t want)
{
	size_t cap = cl->cap ? cl->cap * 2 : 256;
	size_t **tt, *nt;

	if (cap < want)
		cap = want;
	tt = realloc(cl->terms, cap * sizeof(*tt));
	if (!tt)
		return -ENOMEM;
	cl->terms = tt;
	nt = realloc(cl->nterms, cap * sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	cl->nterms = nt;
	nt = realloc(cl->parent, cap * sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	cl->parent = nt;
	cl->cap = cap;
	return 0;
}

/*
 * The class of nd: its term set and the class it falls back to (the class
 * of its parent node). Same term set as the parent: the parent's class.
 */
static int class_of(struct classes *cl, const struct pnode *nd, size_t pc, size_t *ret)
{
	size_t *t = malloc((nd->nmarks ? nd->nmarks : 1) * sizeof(*t)), n = 0, h;

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < nd->nmarks; i++)
		if (nd->marks[i].bits == MARK_INCL)
			t[n++] = nd->marks[i].term;
	if (n == 0 || (pc && cl->nterms[pc] == n && !memcmp(cl->terms[pc], t, n * sizeof(*t)))) {
		free(t);
		*ret = n ? pc : 0;
		return 0;
	}
	if (cl->n * 2 >= cl->hcap && rehash(cl, 0))
		goto oom;
	h = hash_terms(t, n, pc) & (cl->hcap - 1);
	for (; cl->hash[h]; h = (h + 1) & (cl->hcap - 1)) {
		size_t c = cl->hash[h];

		if (cl->nterms[c] == n && cl->parent[c] == pc &&
		    !memcmp(cl->terms[c], t, n * sizeof(*t))) {
			free(t);
			*ret = c;
			return 0;
		}
	}
	if (cl->n == cl->cap && classes_grow(cl, 0))
		goto oom;
	cl->hash[h] = cl->n;
	cl->terms[cl->n] = t;
	cl->nterms[cl->n] = n;
	cl->parent[cl->n] = pc;
	*ret = cl->n++;
	return 0;
oom:
	free(t);
	return -ENOMEM;
}

static void emit(struct addr_entry *e, const struct pnode *nd)
{
	memset(e, 0, sizeof(*e));
	if (nd->c.family != WARD_FAM_ANY) {
		e->key.prefixlen = 8 + nd->c.len;
		e->key.family = nd->c.family;
		memcpy(e->key.addr, nd->c.addr, 16);
	}
	e->val.class_id[0] = nd->cls; /* the rest of the chain: policy__compile */
}

int classes__build(const struct policy *p, struct classes *cl, struct addr_entry **ret,
		   size_t *nret)
{
	struct pnode *v = NULL, **stack = NULL;
	size_t n = 0, cap = 0, sp = 0, ne = 0;
	struct addr_entry *out = NULL;
	int err = 0;

	memset(cl, 0, sizeof(*cl));
	cl->terms = calloc(1, sizeof(*cl->terms));
	cl->nterms = calloc(1, sizeof(*cl->nterms));
	cl->parent = calloc(1, sizeof(*cl->parent));
	if (!cl->terms || !cl->nterms || !cl->parent)
		return -ENOMEM;
	cl->n = cl->cap = 1;
	for (size_t t = 0; t < p->nterms && !err; t++) {
		for (size_t i = 0; i < p->terms[t].set.nincl && !err; i++)
			err = add_node(&v, &n, &cap, &p->terms[t].set.incl[i], t, MARK_INCL);
		for (size_t i = 0; i < p->terms[t].set.nexcl && !err; i++)
			err = add_node(&v, &n, &cap, &p->terms[t].set.excl[i], t, MARK_EXCL);
	}
	if (err)
		goto cleanup;
	if (n)
		qsort(v, n, sizeof(*v), cmp_node);
	n = dedup_nodes(v, n);
	stack = calloc(n ? n : 1, sizeof(*stack));
	out = calloc(n ? n : 1, sizeof(*out));
	/* at most a class per node: room for all at once */
	if (!stack || !out || classes_grow(cl, n + 1) || rehash(cl, 2 * (n + 2))) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		struct pnode *parent;

		while (sp && !is_ancestor(&stack[sp - 1]->c, &v[i].c))
			sp--;
		parent = sp ? stack[sp - 1] : NULL;
		err = inherit(&v[i], parent);
		if (!err)
			err = class_of(cl, &v[i], parent ? parent->cls : 0, &v[i].cls);
		if (err)
			goto cleanup;
		if (v[i].cls != (parent ? parent->cls : 0))
			emit(&out[ne++], &v[i]);
		stack[sp++] = &v[i];
	}
	*ret = out;
	*nret = ne;
	out = NULL;
cleanup:
	for (size_t i = 0; i < n; i++)
		free(v[i].marks);
	free(v);
	free(stack);
	free(out);
	return err;
}

void classes__free(struct classes *cl)
{
	for (size_t c = 0; c < cl->n; c++)
		free(cl->terms[c]);
	free(cl->terms);
	free(cl->nterms);
	free(cl->parent);
	free(cl->hash);
	memset(cl, 0, sizeof(*cl));
}
