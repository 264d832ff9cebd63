// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Stage 2 of the compiler: (class, direction, protocol, port) entries.
 * Rules get a rank: enforcing denies, then audit denies, then allows, each
 * by id (docs/policy.md, "deciding rule"). For a class, direction and
 * protocol, a sweep over the port boundaries keeps the covering rules in a
 * min-heap by rank; the top is the deciding rule of each elementary
 * interval. Intervals are merged and covered by aligned prefixes. Rules of
 * proto "any" become one 40-bit entry per class and direction, which the
 * longest match falls back to. Pure: no I/O.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "compile_int.h"
#include "json_pos.h"

#define PORT_SPACE 65536u /* values of the 16-bit port slot */

struct span {
	uint32_t lo, hi; /* inclusive */
	uint32_t rank;
	bool specific;   /* from a rule of this protocol, not proto any */
};

struct out {
	struct rule_entry *v;
	size_t n, cap;
	int err;
};

struct ctx {
	const struct policy *p;
	uint32_t *rank;      /* rank[rule] */
	size_t *by_rank;     /* by_rank[rank] = rule */
	struct out out;
	size_t *rules;       /* scratch: rules of the current class */
	size_t nrules;
	uint32_t *stamp;     /* per rule: last class it was added for */
	size_t **term_rules; /* rules referring to each term */
	size_t *nterm_rules;
	uint8_t *seen;       /* per rule: SEEN_* */
	uint32_t *own;       /* per rule: class it is own to (class_rules) */
	uint32_t *tstamp;    /* per term: scratch of class_rules */
	uint8_t *depth;      /* per class: lookups its chain takes */
	bool *complete;      /* per class: no fallback to the parent */
};

#define SEEN_MATCHES 1 /* some address is in the rule's peers */
#define SEEN_DECIDES 2 /* some compiled entry credits the rule */


/* failsafes, then enforcing denies, audit denies, allows (docs/policy.md) */
static int rank_key(const struct rule *r)
{
	if (r->failsafe)
		return 0;
	if (r->action == WARD_ACT_DENY)
		return r->audit ? 2 : 1;
	return 3;
}

static int cmp_rank(const void *a, const void *b, void *arg)
{
	const struct policy *p = arg;
	const struct rule *x = &p->rules[*(const size_t *)a];
	const struct rule *y = &p->rules[*(const size_t *)b];
	int d = rank_key(x) - rank_key(y);

	return d ? d : strcmp(x->id, y->id);
}

static void out_add(struct out *o, uint32_t cls, uint8_t dir, uint8_t proto, uint32_t port,
		    uint32_t plen, struct ctx *c, size_t rule)
{
	const struct rule *r = &c->p->rules[rule];
	struct rule_entry *e;

	if (o->err)
		return;
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 256;

		e = realloc(o->v, cap * sizeof(*e));
		if (!e) {
			o->err = -ENOMEM;
			return;
		}
		o->v = e;
		o->cap = cap;
	}
	e = &o->v[o->n++];
	memset(e, 0, sizeof(*e));
	e->key.prefixlen = plen;
	e->key.class_id = htonl(cls);
	e->key.dir = dir;
	e->key.proto = proto;
	e->key.port = htons(port);
	e->val.rule_idx = rule;
	c->seen[rule] |= SEEN_DECIDES;
	e->val.action = r->action;
	e->val.flags = (r->audit ? WARD_RF_AUDIT : 0) | (r->log ? WARD_RF_LOG : 0);
	e->val.rl_slot = r->rate_limit + 1;
}

/* Cover [lo, hi] with aligned prefixes of the 16-bit port slot. */
static void emit_range(struct ctx *c, uint32_t cls, uint8_t dir, uint8_t proto, uint32_t lo,
		       uint32_t hi, size_t rule)
{
	while (lo <= hi) {
		uint32_t k = 0;

		while (k < 16 && !(lo & ((2u << k) - 1)) && lo + (2u << k) - 1 <= hi)
			k++;
		out_add(&c->out, cls, dir, proto, lo, WARD_RULE_KEY_BITS_PROTO + 16 - k, c, rule);
		lo += 1u << k;
	}
}

static int cmp_span_lo(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Min-heap of span indexes by rank. */
struct heap {
	size_t *v, n;
	const struct span *s;
};

static void heap_push(struct heap *h, size_t i)
{
	size_t k = h->n++;

	h->v[k] = i;
	while (k && h->s[h->v[(k - 1) / 2]].rank > h->s[h->v[k]].rank) {
		size_t t = h->v[k];

		h->v[k] = h->v[(k - 1) / 2];
		h->v[(k - 1) / 2] = t;
		k = (k - 1) / 2;
	}
}

static void heap_pop(struct heap *h)
{
	size_t k = 0;

	h->v[0] = h->v[--h->n];
	for (;;) {
		size_t l = 2 * k + 1, m = k, t;

		if (l < h->n && h->s[h->v[l]].rank < h->s[h->v[m]].rank)
			m = l;
		if (l + 1 < h->n && h->s[h->v[l + 1]].rank < h->s[h->v[m]].rank)
			m = l + 1;
		if (m == k)
			return;
		t = h->v[k];
		h->v[k] = h->v[m];
		h->v[m] = t;
		k = m;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Most sweeps have a handful of spans: insertion sort below this many
 * elements (qsort's call overhead dominated the compile at 100k rules). */
#define SMALL_SORT 24

static void sort_u32(uint32_t *v, size_t n)
{
	if (n > SMALL_SORT) {
		qsort(v, n, sizeof(*v), cmp_u32);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		uint32_t x = v[i];
		size_t j = i;

		for (; j && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static void sort_spans(struct span *v, size_t n)
{
	if (n > SMALL_SORT) {
		qsort(v, n, sizeof(*v), cmp_span_lo);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		struct span x = v[i];
		size_t j = i;

		for (; j && v[j - 1].lo > x.lo; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* Sweep the spans of one (class, dir, proto); emit merged intervals. */
static int sweep(struct ctx *c, uint32_t cls, uint8_t dir, uint8_t proto, struct span *s,
		 size_t ns)
{
	/* boundaries (2 per span), starts and ends of specific spans, heap */
	uint32_t small_u32[4 * SMALL_SORT];
	size_t small_hv[SMALL_SORT];
	bool small = ns <= SMALL_SORT;
	uint32_t *b = small ? small_u32 : malloc(4 * ns * sizeof(*b)), cur_lo = 0;
	uint32_t *starts = b ? b + 2 * ns : NULL, *ends = b ? b + 3 * ns : NULL;
	size_t *hv = small ? small_hv : malloc(ns * sizeof(*hv)), nb = 0, nsp = 0, next = 0;
	size_t si = 0, ei = 0, cur_rule = SIZE_MAX, alive_specific = 0;
	struct heap h = { .v = hv, .s = s };
	int err = 0;

	if (!b || !hv) {
		err = -ENOMEM;
		goto cleanup;
	}
	sort_spans(s, ns);
	for (size_t i = 0; i < ns; i++) {
		b[nb++] = s[i].lo;
		b[nb++] = s[i].hi + 1;
		if (s[i].specific) {
			starts[nsp] = s[i].lo; /* in order: the spans are sorted by lo */
			ends[nsp++] = s[i].hi + 1;
		}
	}
	sort_u32(b, nb);
	sort_u32(ends, nsp);
	for (size_t i = 0; i < nb; i++) {
		uint32_t x = b[i];
		size_t rule = SIZE_MAX;

		if (i && b[i - 1] == x)
			continue;
		if (x >= PORT_SPACE)
			break;
		while (next < ns && s[next].lo <= x)
			heap_push(&h, next++);
		while (h.n && s[h.v[0]].hi < x)
			heap_pop(&h);
		while (si < nsp && starts[si] <= x) {
			si++;
			alive_specific++;
		}
		while (ei < nsp && ends[ei] <= x) {
			ei++;
			alive_specific--;
		}
		if (alive_specific && h.n)
			rule = c->by_rank[s[h.v[0]].rank];
		if (rule != cur_rule) {
			if (cur_rule != SIZE_MAX)
				emit_range(c, cls, dir, proto, cur_lo, x - 1, cur_rule);
			cur_rule = rule;
			cur_lo = x;
		}
	}
	if (cur_rule != SIZE_MAX)
		emit_range(c, cls, dir, proto, cur_lo, PORT_SPACE - 1, cur_rule);
cleanup:
	if (!small) {
		free(b);
		free(hv);
	}
	return err;
}

static int add_spans(const struct rule *r, uint32_t rank, bool specific, struct span **v,
		     size_t *n, size_t *cap)
{
	size_t k = r->nports ? r->nports : 1;

	if (*n + k > *cap) {
		size_t ncap = (*n + k) * 2;
		struct span *t = realloc(*v, ncap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		*v = t;
		*cap = ncap;
	}
	for (size_t i = 0; i < k; i++) {
		struct span *sp = &(*v)[(*n)++];

		sp->lo = r->nports ? r->ports[i].lo : 0;
		sp->hi = r->nports ? r->ports[i].hi : PORT_SPACE - 1;
		sp->rank = rank;
		sp->specific = specific;
	}
	return 0;
}

/*
 * All entries of one class and direction. A complete class carries every
 * decision for its addresses (and a 40-bit entry for its proto-any rules);
 * an incomplete one only the intervals its own rules cover, each decided
 * over all its rules; elsewhere the datapath falls back to the parent.
 */
static int compile_class_dir(struct ctx *c, uint32_t cls, uint8_t dir, bool complete)
{
	struct span *sv = NULL;
	size_t ns = 0, cap = 0, best_any = SIZE_MAX;
	bool seen[256] = { false };
	int err = 0;

	for (size_t i = 0; i < c->nrules; i++) {
		const struct rule *r = &c->p->rules[c->rules[i]];

		if (r->dir != dir)
			continue;
		if (r->proto == POLICY_PROTO_ANY) {
			if (best_any == SIZE_MAX || c->rank[c->rules[i]] < c->rank[best_any])
				best_any = c->rules[i];
		} else if (complete || c->own[c->rules[i]] == cls) {
			seen[r->proto] = true;
		}
	}
	if (best_any != SIZE_MAX && complete)
		out_add(&c->out, cls, dir, 0, 0, WARD_RULE_KEY_BITS_DIR, c, best_any);
	for (int proto = 0; proto < 256 && !err; proto++) {
		if (!seen[proto])
			continue;
		ns = 0;
		for (size_t i = 0; i < c->nrules && !err; i++) {
			size_t ri = c->rules[i];
			const struct rule *r = &c->p->rules[ri];

			if (r->dir != dir || (r->proto != proto && r->proto != POLICY_PROTO_ANY))
				continue;
			err = add_spans(r, c->rank[ri], r->proto == proto && (complete || c->own[ri] == cls),
					&sv, &ns, &cap);
		}
		if (!err)
			err = sweep(c, cls, dir, proto, sv, ns);
	}
	free(sv);
	return err;
}

/* Rules that refer to any term of class cls, each once; own[r] = cls for
 * rules that refer to a term the parent class does not have. */
static void class_rules(struct ctx *c, const struct classes *cl, uint32_t cls)
{
	size_t pc = cl->parent[cls];

	for (size_t i = 0; pc && i < cl->nterms[pc]; i++)
		c->tstamp[cl->terms[pc][i]] = cls;
	c->nrules = 0;
	for (size_t i = 0; i < cl->nterms[cls]; i++) {
		size_t t = cl->terms[cls][i];
		bool own = c->tstamp[t] != cls;

		for (size_t j = 0; j < c->nterm_rules[t]; j++) {
			size_t r = c->term_rules[t][j];

			if (own)
				c->own[r] = cls;
			if (c->stamp[r] == cls)
				continue;
			c->stamp[r] = cls;
			c->seen[r] |= SEEN_MATCHES;
			c->rules[c->nrules++] = r;
		}
	}
}

/* Does class cls hold every term of its parent (so falling back is sound)? */
static bool has_parent_terms(const struct classes *cl, size_t cls)
{
	size_t pc = cl->parent[cls], j = 0;

	for (size_t i = 0; i < cl->nterms[pc]; i++) {
		while (j < cl->nterms[cls] && cl->terms[cls][j] < cl->terms[pc][i])
			j++;
		if (j == cl->nterms[cls] || cl->terms[cls][j] != cl->terms[pc][i])
			return false;
	}
	return true;
}

/* After class_rules(cls): may it keep only its own intervals? */
static bool is_complete(struct ctx *c, const struct classes *cl, size_t cls)
{
	size_t pc = cl->parent[cls];

	if (!pc || c->depth[pc] + 1 > WARD_CLASS_CHAIN || !has_parent_terms(cl, cls))
		return true;
	for (size_t i = 0; i < c->nrules; i++)
		if (c->own[c->rules[i]] == cls && c->p->rules[c->rules[i]].proto == POLICY_PROTO_ANY)
			return true;
	return false;
}

/* Give every address entry its fallback chain. */
static void fill_chains(struct ctx *c, const struct classes *cl, struct compiled *ret)
{
	for (size_t i = 0; i < ret->naddrs; i++) {
		struct ward_addr_val *v = &ret->addrs[i].val;
		size_t cls = v->class_id[0];

		for (int k = 1; k < WARD_CLASS_CHAIN && cls && !c->complete[cls]; k++) {
			cls = cl->parent[cls];
			v->class_id[k] = cls;
		}
	}
}

static int index_terms(struct ctx *c)
{
	const struct policy *p = c->p;

	c->term_rules = calloc(p->nterms + 1, sizeof(*c->term_rules));
	c->nterm_rules = calloc(p->nterms + 1, sizeof(*c->nterm_rules));
	if (!c->term_rules || !c->nterm_rules)
		return -ENOMEM;
	for (size_t r = 0; r < p->nrules; r++) {
		for (size_t i = 0; i < p->rules[r].nterms; i++) {
			size_t t = p->rules[r].terms[i];
			size_t *v = realloc(c->term_rules[t], (c->nterm_rules[t] + 1) * sizeof(*v));

			if (!v)
				return -ENOMEM;
			v[c->nterm_rules[t]++] = r;
			c->term_rules[t] = v;
		}
	}
	return 0;
}

static int rank_rules(struct ctx *c)
{
	size_t n = c->p->nrules;

	c->rank = calloc(n + 1, sizeof(*c->rank));
	c->by_rank = calloc(n + 1, sizeof(*c->by_rank));
	c->rules = calloc(n + 1, sizeof(*c->rules));
	c->stamp = calloc(n + 1, sizeof(*c->stamp));
	c->seen = calloc(n + 1, sizeof(*c->seen));
	c->own = calloc(n + 1, sizeof(*c->own));
	c->tstamp = calloc(c->p->nterms + 1, sizeof(*c->tstamp));
	if (!c->rank || !c->by_rank || !c->rules || !c->stamp || !c->seen || !c->own || !c->tstamp)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		c->by_rank[i] = i;
	qsort_r(c->by_rank, n, sizeof(*c->by_rank), cmp_rank, (void *)c->p);
	for (size_t i = 0; i < n; i++)
		c->rank[c->by_rank[i]] = i;
	return 0;
}

static void ctx_free(struct ctx *c)
{
	for (size_t t = 0; c->term_rules && t <= c->p->nterms; t++)
		free(c->term_rules[t]);
	free(c->term_rules);
	free(c->nterm_rules);
	free(c->rank);
	free(c->by_rank);
	free(c->rules);
	free(c->stamp);
	free(c->seen);
	free(c->own);
	free(c->tstamp);
	free(c->depth);
	free(c->complete);
}

static void rule_ptr(const struct rule *r, char *buf, size_t n)
{
	snprintf(buf, n, "/%s/%zu", r->dir == WARD_DIR_INGRESS ? "ingress" : "egress",
		 r->src_index);
}

static bool covers(const struct rule *r, int proto, uint16_t port)
{
	if (r->proto != POLICY_PROTO_ANY && r->proto != proto)
		return false;
	if (!r->nports || r->proto == POLICY_PROTO_ANY)
		return true;
	for (size_t i = 0; i < r->nports; i++)
		if (r->ports[i].lo <= port && port <= r->ports[i].hi)
			return true;
	return false;
}

/* Warnings: they never change the exit status (docs/policy.md). */
static void compile_warnings(const struct policy *p, const uint8_t *seen, struct diags *d)
{
	bool ssh = false;
	char ptr[64];

	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];

		if (r->failsafe) {
			ssh |= r->proto == 6 && covers(r, 6, 22);
			continue;
		}
		rule_ptr(r, ptr, sizeof(ptr));
		if (!(seen[i] & SEEN_MATCHES))
			diags__add(d, true, ptr, NULL,
				   "rule \"%s\" can never match: its addresses are all excepted", r->id);
		else if (!(seen[i] & SEEN_DECIDES))
			diags__add(d, true, ptr, NULL,
				   "rule \"%s\" has no effect: every packet it matches is decided by "
				   "a deny rule or by a rule with a smaller id (shadowed)", r->id);
		if (r->action == WARD_ACT_DENY && r->proto == IPPROTO_ICMPV6) {
			for (int t = 133; t <= 136; t++) {
				if (covers(r, IPPROTO_ICMPV6, t)) {
					diags__add(d, true, ptr, NULL,
						   "IPv6 neighbour discovery (ICMPv6 133-136) always "
						   "passes; this deny does not apply to it");
					break;
				}
			}
		}
		if (r->dir == WARD_DIR_INGRESS && r->action == WARD_ACT_ALLOW &&
		    (seen[i] & SEEN_DECIDES) && covers(r, 6, 22))
			ssh = true;
	}
	if (p->defaults[WARD_DIR_INGRESS] == WARD_ACT_DENY && p->mode == WARD_MODE_ENFORCE && !ssh)
		diags__add(d, true, "/defaults/ingress", NULL,
			   "ingress default is deny and no rule allows SSH (tcp/22) in: make sure "
			   "management can still reach this host");
}

int policy__compile(const struct policy *p, struct compiled *ret, struct diags *diags)
{
	return policy__compile_limits(p, NULL, ret, diags);
}

int policy__compile_limits(const struct policy *p, const struct compile_limits *lim,
			   struct compiled *ret, struct diags *diags)
{
	size_t max_rules = lim && lim->max_rules ? lim->max_rules : WARD_RULES_DEFAULT;
	struct ctx c = { .p = p };
	struct classes cl = {};
	int err;

	memset(ret, 0, sizeof(*ret));
	err = classes__build(p, &cl, &ret->addrs, &ret->naddrs);
	if (!err)
		err = rank_rules(&c);
	if (!err)
		err = index_terms(&c);
	if (!err) {
		c.depth = calloc(cl.n, sizeof(*c.depth));
		c.complete = calloc(cl.n, sizeof(*c.complete));
		if (!c.depth || !c.complete)
			err = -ENOMEM;
	}
	/* parents have smaller ids than their children (built in prefix order) */
	for (uint32_t cls = 1; cls < cl.n && !err; cls++) {
		class_rules(&c, &cl, cls);
		c.complete[cls] = is_complete(&c, &cl, cls);
		c.depth[cls] = c.complete[cls] ? 1 : c.depth[cl.parent[cls]] + 1;
		for (uint8_t dir = 0; dir < WARD_DIR_MAX && !err; dir++)
			err = compile_class_dir(&c, cls, dir, c.complete[cls]);
		err = err ? err : c.out.err;
	}
	if (!err)
		fill_chains(&c, &cl, ret);
	if (err) {
		diags__add(diags, false, "", NULL, "compile: %s", strerror(-err));
		goto cleanup;
	}
	ret->rules = c.out.v;
	ret->nrules = c.out.n;
	c.out.v = NULL;
	ret->nclasses = cl.n;
	ret->cfg.default_action[WARD_DIR_INGRESS] = p->defaults[WARD_DIR_INGRESS];
	ret->cfg.default_action[WARD_DIR_EGRESS] = p->defaults[WARD_DIR_EGRESS];
	ret->cfg.mode = p->mode;
	ret->cfg.loaded = 1;
	ret->cfg.default_log = p->default_log;
	if (p->nrate_limits && !(ret->rl = calloc(p->nrate_limits, sizeof(*ret->rl)))) {
		err = -ENOMEM;
		goto cleanup;
	}
	ret->nrl = p->nrate_limits;
	for (size_t i = 0; i < p->nrate_limits; i++)
		rate_limit__compile(&p->rate_limits[i], &ret->rl[i]);
	rate_limit__key_ids(ret->rl, p->rate_limits, p->nrate_limits);
	if (p->nrules > max_rules)
		diags__add(diags, false, p->nrules > 0 ? "/ingress" : "", NULL,
			   "too many rules for the configured map size: %zu, the agent holds %zu "
			   "(ward run --max-rules)", p->nrules, max_rules);
	if (ret->naddrs > WARD_MAX_PREFIXES)
		diags__add(diags, false, "", NULL, "too many address prefixes: %zu, the map holds %d",
			   ret->naddrs, WARD_MAX_PREFIXES);
	if (ret->nrules > WARD_MAX_POLICY_ENT)
		diags__add(diags, false, "", NULL,
			   "too many compiled rule entries: %zu, the map holds %d", ret->nrules,
			   WARD_MAX_POLICY_ENT);
	if (diags->nerrors)
		err = -E2BIG;
	else
		compile_warnings(p, c.seen, diags);
cleanup:
	free(c.out.v);
	ctx_free(&c);
	classes__free(&cl);
	if (err)
		compiled__free(ret);
	if (p->src)
		json_pos__resolve(p->src, p->srclen, diags);
	diags__sort(diags);
	return err;
}

void compiled__free(struct compiled *c)
{
	if (!c)
		return;
	free(c->addrs);
	free(c->rules);
	free(c->rl);
	memset(c, 0, sizeof(*c));
}
