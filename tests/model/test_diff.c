// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Differential test: random policies (JSON text -> policy__parse ->
 * policy__compile -> ward__publish) and random packets run through the real
 * BPF programs with BPF_PROG_TEST_RUN, each decision held against the
 * reference model (policy_ref.c). The model also runs on a policy built
 * directly from the generator's own description (no parser involved), so a
 * parser that misreads a document shows up as well.
 *
 *   test_model [--seed N] [--long] [--policies N] [--packets N] [--policy I]
 *              [--max-reports N] [--quiet] [--doc-extras]
 *
 * Last line: "N passed, N failed" (one test = one policy). Exit 1 on any
 * mismatch, or when nothing could be run (no root, no BPF).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ward/abi.h"
#include "policy.h"
#include "loader.h"
#include "pktgen.h"
#include "policy_ref.h"

#define DEF_POLICIES  2000
#define DEF_PACKETS   600 /* per policy */
#define LONG_POLICIES 10000
#define LONG_PACKETS  2000

/* ---- random numbers (splitmix64: seedable, same stream everywhere) ------ */
static uint64_t rng_state;

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd64(void)
{
	return mix64(rng_state += 0x9e3779b97f4a7c15ull);
}

/* 0 .. n-1 */
static uint32_t rnd(uint32_t n)
{
	return n ? (uint32_t)(rnd64() % n) : 0;
}

/* true with probability pct percent */
static bool chance(unsigned pct)
{
	return rnd(100) < pct;
}

/* ---- growable string -------------------------------------------------- */
struct sbuf {
	char *s;
	size_t len, cap;
};

static void sb_addf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_addf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			abort();
		if (b->s && (size_t)n < room) {
			b->len += n;
			return;
		}
		b->cap = (b->cap + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			abort();
	}
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_addf(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			sb_addf(b, "\\%c", c);
		else if (c < 0x20)
			sb_addf(b, "\\u%04x", c);
		else
			sb_addf(b, "%c", c);
	}
	sb_addf(b, "\"");
}

/* ---- the generator's own description of a policy ---------------------- */
#define MAXG  16  /* groups */
#define MAXC  16  /* cidrs (and excepts) per group */
#define MAXR  128 /* rules */
#define MAXE  4  /* from/to entries per rule */
#define MAXP  6  /* port / type ranges per rule */
#define MAXRL 4  /* rate limits */

struct gcidr {
	uint8_t fam; /* 4 or 6 */
	uint8_t len;
	uint8_t a[16];
	bool bare;   /* printed without /len (host routes only) */
};

struct ggroup {
	char name[64];
	struct gcidr incl[MAXC];
	int nincl;
	struct gcidr excl[MAXC];
	int nexcl;
	bool as_array; /* ["..."] instead of {"cidrs": [...]} */
	bool empty_except; /* {"cidrs": [...], "except": []} */
};

enum { E_GROUP, E_LIT, E_ANY };
struct gentry {
	int kind;
	int group;
	struct gcidr lit;
};

enum { RF_INT, RF_RANGE, RF_NAME };
struct grange {
	int lo, hi;
	int form;
	const char *name;
};

enum { PR_ABSENT, PR_NAME, PR_NUM };
struct grule {
	char id[64];
	int dir, action;
	bool action_explicit;
	int audit, log; /* -1 absent, 0 false, 1 true */
	int proto_form;
	int proto;      /* POLICY_PROTO_ANY or 0..255 */
	struct gentry ent[MAXE];
	int nent;
	struct grange pr[MAXP];
	int npr;        /* -1: key absent */
	int rl;         /* rate limit index, -1 none */
	bool desc;
};

struct grl {
	char name[64];
	uint64_t pps, burst, bps, bytes_burst;
	int v4p, v6p; /* -1 absent */
	bool key;
};

struct gpol {
	char name[64];
	int64_t revision; /* -1 absent */
	int mode;         /* -1 absent */
	bool has_defaults;
	int def[2];       /* -1 absent */
	int deflog;       /* -1 absent */
	struct ggroup g[MAXG];
	int ng;
	bool omit_unused; /* emit only groups some rule uses (shrinking) */
	struct grl rl[MAXRL];
	int nrl;
	struct grule r[MAXR]; /* ingress first, then egress */
	int nr;
};

/* ---- ICMP names (docs/policy.md) -------------------------------------- */
struct icmp_name {
	const char *name;
	int type;
};
static const struct icmp_name icmp4_names[] = {
	{ "echo-reply", 0 },		 { "destination-unreachable", 3 },
	{ "redirect", 5 },		 { "echo-request", 8 },
	{ "router-advertisement", 9 },	 { "router-solicitation", 10 },
	{ "time-exceeded", 11 },	 { "parameter-problem", 12 },
	{ "timestamp-request", 13 },	 { "timestamp-reply", 14 },
};
static const struct icmp_name icmp6_names[] = {
	{ "destination-unreachable", 1 }, { "packet-too-big", 2 },
	{ "time-exceeded", 3 },		  { "parameter-problem", 4 },
	{ "echo-request", 128 },	  { "echo-reply", 129 },
	{ "router-solicitation", 133 },	  { "router-advertisement", 134 },
	{ "neighbor-solicitation", 135 }, { "neighbor-advertisement", 136 },
};
#define NNAMES(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- addresses -------------------------------------------------------- */
static int fam_bits(int fam)
{
	return fam == 4 ? 32 : 128;
}

static int getbit(const uint8_t *a, int i)
{
	return (a[i >> 3] >> (7 - (i & 7))) & 1;
}

static void setbit(uint8_t *a, int i, int v)
{
	if (v)
		a[i >> 3] |= (uint8_t)(0x80 >> (i & 7));
	else
		a[i >> 3] &= (uint8_t) ~(0x80 >> (i & 7));
}

static void mask_host(struct gcidr *c)
{
	for (int i = c->len; i < 128; i++)
		setbit(c->a, i, 0);
}

static void fmt_addr(int fam, const uint8_t *a, char *out, size_t n)
{
	if (!inet_ntop(fam == 4 ? AF_INET : AF_INET6, a, out, n))
		snprintf(out, n, "?");
}

static void fmt_cidr(const struct gcidr *c, char *out, size_t n)
{
	char a[INET6_ADDRSTRLEN];

	fmt_addr(c->fam, c->a, a, sizeof(a));
	if (c->bare && c->len == fam_bits(c->fam))
		snprintf(out, n, "%s", a);
	else
		snprintf(out, n, "%s/%u", a, c->len);
}

/* Address pools: a few clustered bases per policy, so prefixes nest and
 * overlap and random packets hit them. */
static const char *const v4_bases[] = {
	"10.0.0.0",	"10.1.0.0",	 "10.1.128.0",	    "192.168.0.0", "172.16.0.0",
	"198.51.100.0", "203.0.113.0",	 "0.0.0.0",	    "128.0.0.0",   "127.255.255.0",
	"255.255.255.0", "100.64.0.0",
};
static const char *const v6_bases[] = {
	"2001:db8::",		     "2001:db8:0:1::",	 "2001:db8:ffff::",
	"fe80::",		     "::",		 "ff00::",
	"::ffff:10.1.0.0",	     "a01::",		 "2001:db8:ffff:ffff:ffff:ffff:ffff:ff00",
	"8000::",		     "7fff:ffff:ffff:ffff::", "fd00:0:0:0:ffff::",
};

struct pools {
	uint8_t v4[3][16];
	int nv4;
	uint8_t v6[3][16];
	int nv6;
};

static void pick_pools(struct pools *pl)
{
	pl->nv4 = 1 + rnd(3);
	pl->nv6 = 1 + rnd(3);
	for (int i = 0; i < pl->nv4; i++) {
		memset(pl->v4[i], 0, 16);
		inet_pton(AF_INET, v4_bases[rnd(NNAMES(v4_bases))], pl->v4[i]);
		if (chance(30)) /* jiggle a few low bits of the base */
			pl->v4[i][2] ^= (uint8_t)rnd(4);
	}
	for (int i = 0; i < pl->nv6; i++) {
		inet_pton(AF_INET6, v6_bases[rnd(NNAMES(v6_bases))], pl->v6[i]);
		if (chance(30))
			pl->v6[i][7] ^= (uint8_t)rnd(4);
	}
}

static int rand_len(int fam)
{
	unsigned r = rnd(100);

	if (fam == 4) {
		if (r < 3)
			return 0;
		if (r < 10)
			return 1 + rnd(7);
		if (r < 30)
			return 8 + rnd(9);
		return 16 + rnd(17);
	}
	if (r < 3)
		return 0;
	if (r < 10)
		return 1 + rnd(31);
	if (r < 40)
		return 32 + rnd(33);
	if (r < 55)
		return 64 + rnd(33);
	return 96 + rnd(33);
}

/* All CIDRs of the policy being generated: packets aim at them, new CIDRs
 * nest in them. */
struct cidr_list {
	struct gcidr v[MAXG * MAXC * 2 + MAXR * MAXE + 8];
	int n;
};

static void cl_add(struct cidr_list *cl, const struct gcidr *c)
{
	if (cl->n < (int)(sizeof(cl->v) / sizeof(cl->v[0])))
		cl->v[cl->n++] = *c;
}

static void gen_cidr(struct gcidr *c, int fam, const struct pools *pl, const struct cidr_list *cl)
{
	int bits = fam_bits(fam);

	memset(c, 0, sizeof(*c));
	c->fam = (uint8_t)fam;
	if (cl->n && chance(40)) {
		/* derived from an existing CIDR of this family: narrower or wider */
		const struct gcidr *o = NULL;

		for (int tries = 0; tries < 8 && !o; tries++) {
			const struct gcidr *x = &cl->v[rnd(cl->n)];

			if (x->fam == fam)
				o = x;
		}
		if (o) {
			*c = *o;
			c->bare = false;
			if (chance(70)) {
				int nl = o->len + (int)rnd(9);

				c->len = (uint8_t)(nl > bits ? bits : nl);
				for (int i = o->len; i < c->len; i++)
					setbit(c->a, i, (int)rnd(2));
			} else {
				int nl = o->len - 1 - (int)rnd(8);

				c->len = (uint8_t)(nl < 0 ? 0 : nl);
			}
			mask_host(c);
			return;
		}
	}
	if (fam == 4)
		memcpy(c->a, pl->v4[rnd(pl->nv4)], 16);
	else
		memcpy(c->a, pl->v6[rnd(pl->nv6)], 16);
	c->len = (uint8_t)rand_len(fam);
	{
		int w = (int)rnd(7);
		int from = c->len - w < 0 ? 0 : c->len - w;

		for (int i = from; i < c->len; i++)
			setbit(c->a, i, (int)rnd(2));
	}
	mask_host(c);
}

static int rand_fam(void)
{
	return chance(50) ? 4 : 6;
}

/* Also generate what docs/policy.md allows but the parser refuses. */
static bool doc_extras;

/* ---- names ------------------------------------------------------------ */
static bool id_taken(const struct gpol *g, const char *id)
{
	for (int i = 0; i < g->nr; i++)
		if (!strcmp(g->r[i].id, id))
			return true;
	return false;
}

static void gen_id(const struct gpol *g, char *out)
{
	/* prefixes whose byte order differs from document order, UTF-8, digits
	 * sorting around letters, prefixes of each other */
	static const char *const pre[] = { "r",	 "R",  "a",    "rule", "allow-", "deny_", "Z",
					   "0",	 "9.", "_",    "-",    "r1",	 "r10",	  "web.",
					   "A-", ".", "z_", "\xc3\xa9", "~x", "\xe2\x82\xac" };
	/* the last three are outside [A-Za-z0-9_.-]: the parser rejects them
	 * though docs/policy.md does not restrict ids; only with --doc-extras */
	int npre = NNAMES(pre) - (doc_extras ? 0 : 3);

	for (;;) {
		if (chance(3)) {
			/* 63 bytes, the longest id */
			memset(out, 'a' + rnd(3), 63);
			out[63] = '\0';
			out[62] = (char)('0' + rnd(10));
		} else if (chance(50)) {
			snprintf(out, 64, "%s%u", pre[rnd(npre)], rnd(100));
		} else {
			snprintf(out, 64, "%s", pre[rnd(npre)]);
		}
		if (!id_taken(g, out))
			return;
	}
}

static void gen_group_name(const struct gpol *g, char *out)
{
	static const char *const pre[] = { "web", "db", "clients", "Net.A", "x-y_z", "g", "0", "any2" };

	for (;;) {
		bool dup = false;

		if (chance(3)) {
			memset(out, 'G', 63);
			out[63] = '\0';
			out[62] = (char)('0' + rnd(10));
		} else {
			snprintf(out, 64, "%s%u", pre[rnd(NNAMES(pre))], rnd(50));
		}
		for (int i = 0; i < g->ng; i++)
			dup |= !strcmp(g->g[i].name, out);
		if (!dup)
			return;
	}
}

/* ---- ports and types --------------------------------------------------- */
static const int port_points[] = { 0,	1,    21,   22,	  23,	 53,	79,    80,    81,
				   443, 1023, 1024, 1025, 8080, 32767, 32768, 65534, 65535 };
static const int type_points[] = { 0, 1, 3, 8, 11, 127, 128, 129, 132, 133, 136, 137, 255 };

static void gen_range(struct grange *r, bool icmp, bool v6names, const int *pool, int npool)
{
	int max = icmp ? 255 : 65535;
	int anchor = chance(70) ? pool[rnd(npool)] : (int)rnd(max + 1);
	int width;
	unsigned w = rnd(100);

	if (w < 35)
		width = 0;
	else if (w < 55)
		width = 1 + rnd(3);
	else if (w < 75)
		width = 1 + rnd(64);
	else if (w < 90)
		width = 64 + rnd(icmp ? 128 : 4096);
	else
		width = (int)rnd(max + 1);
	if (chance(50)) {
		r->lo = anchor;
		r->hi = anchor + width > max ? max : anchor + width;
	} else {
		r->hi = anchor;
		r->lo = anchor - width < 0 ? 0 : anchor - width;
	}
	r->name = NULL;
	if (r->lo == r->hi) {
		r->form = chance(80) ? RF_INT : RF_RANGE;
		if (icmp && chance(50)) {
			const struct icmp_name *t = v6names ? icmp6_names : icmp4_names;
			int n = v6names ? NNAMES(icmp6_names) : NNAMES(icmp4_names);

			for (int i = 0; i < n; i++)
				if (t[i].type == r->lo) {
					r->form = RF_NAME;
					r->name = t[i].name;
				}
			if (!r->name && chance(60)) {
				/* pick a name instead */
				int k = (int)rnd(n);

				r->form = RF_NAME;
				r->name = t[k].name;
				r->lo = r->hi = t[k].type;
			}
		}
	} else {
		r->form = RF_RANGE;
	}
}

/* ---- generate one policy ---------------------------------------------- */
struct gen_ctx {
	struct pools pl;
	struct cidr_list cl;
	int ports[8], nports;
	int types[8], ntypes;
};

static void gen_group(struct gpol *g, struct ggroup *gr, struct gen_ctx *cx)
{
	int fam_bias = rnd(3); /* 0 mixed, 1 v4, 2 v6 */

	memset(gr, 0, sizeof(*gr));
	gen_group_name(g, gr->name);
	gr->nincl = chance(85) ? 1 + rnd(3) : chance(80) ? 1 + rnd(8) : 1 + rnd(MAXC);
	for (int i = 0; i < gr->nincl; i++) {
		int fam = fam_bias == 1 ? 4 : fam_bias == 2 ? 6 : rand_fam();

		if (fam_bias && chance(10))
			fam = fam == 4 ? 6 : 4;
		gen_cidr(&gr->incl[i], fam, &cx->pl, &cx->cl);
		if (chance(10)) {
			/* a host route, maybe written as a bare address */
			struct gcidr *c = &gr->incl[i];

			c->len = (uint8_t)fam_bits(c->fam);
			c->bare = chance(50);
		}
		cl_add(&cx->cl, &gr->incl[i]);
	}
	if (chance(40)) {
		gr->nexcl = chance(90) ? 1 + rnd(3) : 1 + rnd(MAXC);
		for (int i = 0; i < gr->nexcl; i++) {
			/* inside one of cidrs (or inside an earlier except, which is
			 * inside a cidr too) */
			const struct gcidr *o = (i && chance(25)) ? &gr->excl[rnd(i)]
								 : &gr->incl[rnd(gr->nincl)];
			struct gcidr *c = &gr->excl[i];
			int bits = fam_bits(o->fam);
			int nl = o->len + (chance(10) ? 0 : 1 + (int)rnd(10));

			*c = *o;
			c->bare = false;
			c->len = (uint8_t)(nl > bits ? bits : nl);
			for (int b = o->len; b < c->len; b++)
				setbit(c->a, b, (int)rnd(2));
			mask_host(c);
			if (c->len == bits)
				c->bare = chance(30);
			cl_add(&cx->cl, c);
		}
	}
	gr->as_array = gr->nexcl == 0 && chance(50);
	/* "except": [] is rejected by the parser, the document allows it */
	gr->empty_except = doc_extras && gr->nexcl == 0 && !gr->as_array && chance(15);
}

static void gen_rule(struct gpol *g, struct grule *r, int dir, struct gen_ctx *cx)
{
	unsigned p;

	memset(r, 0, sizeof(*r));
	gen_id(g, r->id);
	r->dir = dir;
	r->action = chance(35) ? WARD_ACT_DENY : WARD_ACT_ALLOW;
	r->action_explicit = r->action == WARD_ACT_DENY || chance(50);
	if (r->action == WARD_ACT_DENY)
		r->audit = chance(30) ? 1 : chance(30) ? 0 : -1;
	else
		r->audit = chance(10) ? 0 : -1;
	r->log = chance(30) ? (int)rnd(2) : -1;
	r->desc = chance(10);
	r->rl = -1;
	if (r->action == WARD_ACT_ALLOW && g->nrl && chance(25))
		r->rl = rnd(g->nrl);

	r->nent = chance(70) ? 1 : chance(70) ? 2 : 1 + rnd(MAXE);
	for (int i = 0; i < r->nent; i++) {
		struct gentry *e = &r->ent[i];
		unsigned k = rnd(100);

		if (k < 7) {
			e->kind = E_ANY;
		} else if (k < 32 || !g->ng) {
			e->kind = E_LIT;
			gen_cidr(&e->lit, rand_fam(), &cx->pl, &cx->cl);
			if (chance(15)) {
				e->lit.len = (uint8_t)fam_bits(e->lit.fam);
				e->lit.bare = chance(50);
			}
			cl_add(&cx->cl, &e->lit);
		} else {
			e->kind = E_GROUP;
			e->group = rnd(g->ng);
		}
	}

	r->npr = -1;
	p = rnd(100);
	if (p < 12) {
		r->proto_form = PR_ABSENT;
		r->proto = POLICY_PROTO_ANY;
	} else if (p < 17) {
		r->proto_form = PR_NAME;
		r->proto = POLICY_PROTO_ANY;
	} else if (p < 42) {
		r->proto_form = PR_NAME;
		r->proto = 6;
	} else if (p < 57) {
		r->proto_form = PR_NAME;
		r->proto = 17;
	} else if (p < 67) {
		r->proto_form = PR_NAME;
		r->proto = 1;
	} else if (p < 77) {
		r->proto_form = PR_NAME;
		r->proto = 58;
	} else {
		static const int nums[] = { 6, 17, 1, 58, 47, 132, 0, 255, 50, 41 };

		r->proto_form = PR_NUM;
		r->proto = chance(80) ? nums[rnd(NNAMES(nums))] : (int)rnd(256);
	}
	if ((r->proto == 6 || r->proto == 17) && chance(70)) {
		r->npr = chance(60) ? 1 : 1 + rnd(MAXP);
		for (int i = 0; i < r->npr; i++)
			gen_range(&r->pr[i], false, false, cx->ports, cx->nports);
	} else if ((r->proto == 1 || r->proto == 58) && chance(60)) {
		r->npr = chance(60) ? 1 : 1 + rnd(MAXP);
		for (int i = 0; i < r->npr; i++)
			gen_range(&r->pr[i], true, r->proto == 58, cx->types, cx->ntypes);
	}

	/* a twin: the addresses (and often the protocol and ranges) of an
	 * earlier rule of this direction, so that rules contest packets:
	 * deny against allow, audit against enforcing, id against id */
	if (g->nr && chance(35)) {
		const struct grule *o = &g->r[rnd(g->nr)];

		if (o->dir == dir) {
			memcpy(r->ent, o->ent, sizeof(r->ent));
			r->nent = o->nent;
			if (chance(60)) {
				r->proto_form = o->proto_form;
				r->proto = o->proto;
				memcpy(r->pr, o->pr, sizeof(r->pr));
				r->npr = chance(70) ? o->npr : -1;
			}
		}
	}
}

static void gen_policy(struct gpol *g, struct gen_ctx *cx, uint64_t seed, int idx)
{
	int nin, neg;
	unsigned k;

	memset(g, 0, sizeof(*g));
	memset(cx, 0, sizeof(*cx));
	pick_pools(&cx->pl);
	cx->nports = 2 + rnd(6);
	for (int i = 0; i < cx->nports; i++)
		cx->ports[i] = chance(70) ? port_points[rnd(NNAMES(port_points))] : (int)rnd(65536);
	cx->ntypes = 2 + rnd(6);
	for (int i = 0; i < cx->ntypes; i++)
		cx->types[i] = chance(70) ? type_points[rnd(NNAMES(type_points))] : (int)rnd(256);

	snprintf(g->name, sizeof(g->name), "diff-%" PRIu64 "-%d", seed, idx);
	g->revision = chance(40) ? (int64_t)rnd(1000000) : -1;
	g->mode = chance(60) ? -1 : chance(60) ? WARD_MODE_ENFORCE : WARD_MODE_AUDIT;
	g->has_defaults = chance(85);
	for (int d = 0; d < 2; d++)
		g->def[d] = !g->has_defaults || chance(15) ? -1 : (int)rnd(2);
	g->deflog = g->has_defaults && chance(50) ? (int)rnd(3) : -1;

	g->nrl = chance(50) ? (int)rnd(MAXRL + 1) : 0;
	for (int i = 0; i < g->nrl; i++) {
		struct grl *rl = &g->rl[i];

		snprintf(rl->name, sizeof(rl->name), "rl%d%s", i, chance(30) ? "-api" : "");
		rl->pps = 1 + rnd(100000);
		rl->burst = chance(50) ? 1 + rnd(200000) : 0;
		rl->bps = chance(30) ? 1 + rnd(100000000) : 0;
		rl->bytes_burst = rl->bps && chance(50) ? 1 + rnd(100000000) : 0;
		rl->key = chance(50);
		rl->v4p = chance(40) ? (int)rnd(33) : -1;
		rl->v6p = chance(40) ? (int)rnd(129) : -1;
	}

	{
		int ng = chance(10) ? 0 : 1 + rnd(chance(80) ? 5 : MAXG);

		/* g->ng counts the groups done: names are unique among them */
		for (g->ng = 0; g->ng < ng; g->ng++)
			gen_group(g, &g->g[g->ng], cx);
	}

	k = rnd(100);
	{
		int n = k < 5	 ? 0
			: k < 75 ? 1 + rnd(10)
			: k < 95 ? 10 + rnd(21)
			: k < 98 ? 40 + rnd(25)
				 : 64 + rnd(MAXR - 64 + 1);

		nin = n ? (int)rnd(n + 1) : 0;
		neg = n - nin;
	}
	/* g->nr counts the rules done: ids are unique among them */
	for (int i = 0; i < nin + neg; i++, g->nr++)
		gen_rule(g, &g->r[g->nr], i < nin ? WARD_DIR_INGRESS : WARD_DIR_EGRESS, cx);
}

/* ---- JSON ------------------------------------------------------------- */
static bool group_used(const struct gpol *g, int gi)
{
	for (int i = 0; i < g->nr; i++)
		for (int e = 0; e < g->r[i].nent; e++)
			if (g->r[i].ent[e].kind == E_GROUP && g->r[i].ent[e].group == gi)
				return true;
	return false;
}

static void emit_cidr_array(struct sbuf *b, const struct gcidr *v, int n)
{
	char t[80];

	sb_addf(b, "[");
	for (int i = 0; i < n; i++) {
		fmt_cidr(&v[i], t, sizeof(t));
		sb_addf(b, "%s\"%s\"", i ? ", " : "", t);
	}
	sb_addf(b, "]");
}

static void emit_rule(struct sbuf *b, const struct gpol *g, const struct grule *r)
{
	char t[80];

	sb_addf(b, "    {\"id\": ");
	sb_str(b, r->id);
	if (r->action_explicit)
		sb_addf(b, ", \"action\": \"%s\"", r->action == WARD_ACT_DENY ? "deny" : "allow");
	sb_addf(b, ", \"%s\": [", r->dir == WARD_DIR_INGRESS ? "from" : "to");
	for (int i = 0; i < r->nent; i++) {
		const struct gentry *e = &r->ent[i];

		sb_addf(b, "%s", i ? ", " : "");
		if (e->kind == E_ANY) {
			sb_addf(b, "\"any\"");
		} else if (e->kind == E_LIT) {
			fmt_cidr(&e->lit, t, sizeof(t));
			sb_addf(b, "\"%s\"", t);
		} else {
			sb_str(b, g->g[e->group].name);
		}
	}
	sb_addf(b, "]");
	if (r->proto_form == PR_NAME) {
		const char *n = r->proto == 6	? "tcp"
				: r->proto == 17 ? "udp"
				: r->proto == 1	 ? "icmp"
				: r->proto == 58 ? "icmpv6"
						 : "any";
		sb_addf(b, ", \"proto\": \"%s\"", n);
	} else if (r->proto_form == PR_NUM) {
		sb_addf(b, ", \"proto\": %d", r->proto);
	}
	if (r->npr >= 0) {
		bool icmp = r->proto == 1 || r->proto == 58;

		sb_addf(b, ", \"%s\": [", icmp ? "icmp_types" : "ports");
		for (int i = 0; i < r->npr; i++) {
			const struct grange *x = &r->pr[i];

			sb_addf(b, "%s", i ? ", " : "");
			if (x->form == RF_INT)
				sb_addf(b, "%d", x->lo);
			else if (x->form == RF_NAME)
				sb_addf(b, "\"%s\"", x->name);
			else
				sb_addf(b, "\"%d-%d\"", x->lo, x->hi);
		}
		sb_addf(b, "]");
	}
	if (r->rl >= 0)
		sb_addf(b, ", \"rate_limit\": \"%s\"", g->rl[r->rl].name);
	if (r->audit >= 0)
		sb_addf(b, ", \"audit\": %s", r->audit ? "true" : "false");
	if (r->log >= 0)
		sb_addf(b, ", \"log\": %s", r->log ? "true" : "false");
	if (r->desc)
		sb_addf(b, ", \"description\": \"generated \\\"rule\\\" \\u00e9\"");
	sb_addf(b, "}");
}

static char *emit_json(const struct gpol *g)
{
	static const char *const logs[] = { "none", "denied", "all" };
	struct sbuf b = { 0 };
	bool first;

	sb_addf(&b, "{\n  \"version\": 1,\n  \"name\": ");
	sb_str(&b, g->name);
	if (g->revision >= 0)
		sb_addf(&b, ",\n  \"revision\": %" PRId64, g->revision);
	if (g->mode >= 0)
		sb_addf(&b, ",\n  \"mode\": \"%s\"", g->mode == WARD_MODE_AUDIT ? "audit" : "enforce");
	if (g->has_defaults) {
		sb_addf(&b, ",\n  \"defaults\": {");
		first = true;
		if (g->def[0] >= 0) {
			sb_addf(&b, "\"ingress\": \"%s\"", g->def[0] == WARD_ACT_ALLOW ? "allow" : "deny");
			first = false;
		}
		if (g->def[1] >= 0) {
			sb_addf(&b, "%s\"egress\": \"%s\"", first ? "" : ", ",
				g->def[1] == WARD_ACT_ALLOW ? "allow" : "deny");
			first = false;
		}
		if (g->deflog >= 0)
			sb_addf(&b, "%s\"log\": \"%s\"", first ? "" : ", ", logs[g->deflog]);
		sb_addf(&b, "}");
	}
	if (g->ng) {
		sb_addf(&b, ",\n  \"groups\": {");
		first = true;
		for (int i = 0; i < g->ng; i++) {
			const struct ggroup *gr = &g->g[i];

			if (g->omit_unused && !group_used(g, i))
				continue;
			sb_addf(&b, "%s\n    ", first ? "" : ",");
			first = false;
			sb_str(&b, gr->name);
			sb_addf(&b, ": ");
			if (gr->as_array) {
				emit_cidr_array(&b, gr->incl, gr->nincl);
				continue;
			}
			sb_addf(&b, "{\"cidrs\": ");
			emit_cidr_array(&b, gr->incl, gr->nincl);
			if (gr->nexcl || gr->empty_except) {
				sb_addf(&b, ", \"except\": ");
				emit_cidr_array(&b, gr->excl, gr->nexcl);
			}
			sb_addf(&b, "}");
		}
		sb_addf(&b, "\n  }");
	}
	if (g->nrl) {
		sb_addf(&b, ",\n  \"rate_limits\": {");
		for (int i = 0; i < g->nrl; i++) {
			const struct grl *rl = &g->rl[i];

			sb_addf(&b, "%s\n    \"%s\": {\"pps\": %" PRIu64, i ? "," : "", rl->name, rl->pps);
			if (rl->burst)
				sb_addf(&b, ", \"burst\": %" PRIu64, rl->burst);
			if (rl->bps)
				sb_addf(&b, ", \"bps\": %" PRIu64, rl->bps);
			if (rl->bytes_burst)
				sb_addf(&b, ", \"bytes_burst\": %" PRIu64, rl->bytes_burst);
			if (rl->key)
				sb_addf(&b, ", \"key\": \"source\"");
			if (rl->v4p >= 0)
				sb_addf(&b, ", \"ipv4_prefix\": %d", rl->v4p);
			if (rl->v6p >= 0)
				sb_addf(&b, ", \"ipv6_prefix\": %d", rl->v6p);
			sb_addf(&b, "}");
		}
		sb_addf(&b, "\n  }");
	}
	for (int d = 0; d < 2; d++) {
		int n = 0;

		for (int i = 0; i < g->nr; i++)
			n += g->r[i].dir == d;
		if (!n)
			continue;
		sb_addf(&b, ",\n  \"%s\": [", d == WARD_DIR_INGRESS ? "ingress" : "egress");
		first = true;
		for (int i = 0; i < g->nr; i++) {
			if (g->r[i].dir != d)
				continue;
			sb_addf(&b, "%s\n", first ? "" : ",");
			first = false;
			emit_rule(&b, g, &g->r[i]);
		}
		sb_addf(&b, "\n  ]");
	}
	sb_addf(&b, "\n}\n");
	return b.s;
}

/* ---- the same policy built directly, without the parser ---------------- */
static void to_cidr(struct cidr *out, const struct gcidr *c)
{
	memset(out, 0, sizeof(*out));
	out->family = c->fam;
	out->len = c->len;
	memcpy(out->addr, c->a, 16);
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p)
		abort();
	return p;
}

static void direct_free(struct policy *p)
{
	for (size_t i = 0; i < p->nterms; i++) {
		free(p->terms[i].set.incl);
		free(p->terms[i].set.excl);
	}
	for (size_t i = 0; i < p->nrules; i++) {
		free(p->rules[i].ports);
		free(p->rules[i].terms);
	}
	free(p->terms);
	free(p->rules);
	memset(p, 0, sizeof(*p));
}

static void direct_build(const struct gpol *g, struct policy *p)
{
	size_t nt = g->ng + 1; /* groups, "any", then one per literal */

	memset(p, 0, sizeof(*p));
	for (int i = 0; i < g->nr; i++)
		nt += g->r[i].nent;
	p->version = 1;
	p->mode = g->mode == WARD_MODE_AUDIT ? WARD_MODE_AUDIT : WARD_MODE_ENFORCE;
	for (int d = 0; d < 2; d++)
		p->defaults[d] = g->def[d] == WARD_ACT_ALLOW ? WARD_ACT_ALLOW : WARD_ACT_DENY;
	p->terms = xcalloc(nt, sizeof(*p->terms));
	for (int i = 0; i < g->ng; i++) {
		struct term *t = &p->terms[p->nterms++];

		t->set.incl = xcalloc(g->g[i].nincl, sizeof(struct cidr));
		t->set.excl = xcalloc(g->g[i].nexcl, sizeof(struct cidr));
		for (int c = 0; c < g->g[i].nincl; c++)
			to_cidr(&t->set.incl[t->set.nincl++], &g->g[i].incl[c]);
		for (int c = 0; c < g->g[i].nexcl; c++)
			to_cidr(&t->set.excl[t->set.nexcl++], &g->g[i].excl[c]);
	}
	{
		struct term *t = &p->terms[p->nterms++];

		t->set.incl = xcalloc(1, sizeof(struct cidr));
		t->set.incl[0].family = WARD_FAM_ANY;
		t->set.nincl = 1;
	}
	p->rules = xcalloc(g->nr, sizeof(*p->rules));
	for (int i = 0; i < g->nr; i++) {
		const struct grule *gr = &g->r[i];
		struct rule *r = &p->rules[p->nrules++];

		r->id = (char *)gr->id;
		r->dir = (uint8_t)gr->dir;
		r->action = (uint8_t)gr->action;
		r->audit = gr->audit == 1;
		r->log = gr->log == 1;
		r->proto = gr->proto;
		r->rate_limit = gr->rl;
		if (gr->npr >= 0) {
			r->ports = xcalloc(gr->npr, sizeof(*r->ports));
			for (int k = 0; k < gr->npr; k++) {
				r->ports[k].lo = (uint16_t)gr->pr[k].lo;
				r->ports[k].hi = (uint16_t)gr->pr[k].hi;
			}
			r->nports = gr->npr;
		}
		r->terms = xcalloc(gr->nent, sizeof(size_t));
		for (int e = 0; e < gr->nent; e++) {
			const struct gentry *en = &gr->ent[e];

			if (en->kind == E_GROUP) {
				r->terms[r->nterms++] = en->group;
			} else if (en->kind == E_ANY) {
				r->terms[r->nterms++] = g->ng;
			} else {
				struct term *t = &p->terms[p->nterms];

				t->set.incl = xcalloc(1, sizeof(struct cidr));
				to_cidr(&t->set.incl[0], &en->lit);
				t->set.nincl = 1;
				r->terms[r->nterms++] = p->nterms++;
			}
		}
	}
}

/* ---- packets ----------------------------------------------------------- */
static void addr_step(uint8_t *a, int bits, int delta)
{
	for (int i = bits - 1; i >= 0; i--) {
		int b = getbit(a, i);

		setbit(a, i, !b);
		/* +1: carry while the bit was 1; -1: borrow while it was 0 */
		if ((delta > 0 && !b) || (delta < 0 && b))
			return;
	}
}

static void rand_addr_from(uint8_t *a, const uint8_t *base, int fixed, int bits)
{
	memcpy(a, base, 16);
	for (int i = fixed; i < bits; i++)
		setbit(a, i, (int)rnd(2));
	for (int i = bits; i < 128; i++)
		setbit(a, i, 0);
}

/* An address at, inside or just outside c (inside: at or inside only). */
static void addr_near(const struct gcidr *c, uint8_t *fam, uint8_t *a, bool inside)
{
	int bits = fam_bits(c->fam);
	unsigned m = inside ? rnd(4) : rnd(8);

	*fam = c->fam;
	switch (m) {
	case 0:
	case 1:
		rand_addr_from(a, c->a, c->len, bits);
		break;
	case 2: /* first */
		memcpy(a, c->a, 16);
		break;
	case 3: /* last */
		rand_addr_from(a, c->a, bits, bits);
		for (int i = c->len; i < bits; i++)
			setbit(a, i, 1);
		break;
	case 4: /* just before */
		memcpy(a, c->a, 16);
		addr_step(a, bits, -1);
		break;
	case 5: /* just after */
		memcpy(a, c->a, 16);
		for (int i = c->len; i < bits; i++)
			setbit(a, i, 1);
		addr_step(a, bits, +1);
		break;
	case 6: { /* one bit flipped near the prefix boundary */
		int lo = c->len - 3 < 0 ? 0 : c->len - 3;
		int hi = c->len + 3 > bits ? bits : c->len + 3;

		rand_addr_from(a, c->a, c->len, bits);
		if (hi > lo) {
			int i = lo + (int)rnd(hi - lo);

			setbit(a, i, !getbit(a, i));
		}
		break;
	}
	default: /* the other family's twin: IPv4-mapped IPv6 and back */
		rand_addr_from(a, c->a, c->len, bits);
		if (c->fam == 4) {
			uint8_t v4[4];

			memcpy(v4, a, 4);
			memset(a, 0, 16);
			a[10] = a[11] = 0xff;
			memcpy(a + 12, v4, 4);
			*fam = 6;
		} else {
			memmove(a, a + 12, 4);
			memset(a + 4, 0, 12);
			*fam = 4;
		}
		break;
	}
}

/* A remote (or local) address aimed at the policy's prefixes. */
static void gen_addr(const struct gen_ctx *cx, uint8_t *fam, uint8_t *a)
{
	unsigned k = rnd(100);

	memset(a, 0, 16);
	if (cx->cl.n && k < 75) {
		addr_near(&cx->cl.v[rnd(cx->cl.n)], fam, a, false);
		return;
	}
	*fam = (uint8_t)rand_fam();
	if (k < 90) {
		const uint8_t *base = *fam == 4 ? cx->pl.v4[rnd(cx->pl.nv4)] : cx->pl.v6[rnd(cx->pl.nv6)];
		int bits = fam_bits(*fam);

		rand_addr_from(a, base, bits - 1 - (int)rnd(bits == 32 ? 16 : 40), bits);
	} else {
		rand_addr_from(a, a, 0, fam_bits(*fam));
	}
}

/* T values at and around the edges of the policy's ranges */
static int gen_port(const struct gpol *g, const struct gen_ctx *cx, bool icmp)
{
	int max = icmp ? 255 : 65535;
	unsigned k = rnd(100);

	if (k < 55 && g->nr) {
		for (int tries = 0; tries < 6; tries++) {
			const struct grule *r = &g->r[rnd(g->nr)];
			bool ricmp = r->proto == 1 || r->proto == 58;

			if (r->npr > 0 && ricmp == icmp) {
				const struct grange *x = &r->pr[rnd(r->npr)];
				int v = chance(50) ? x->lo : x->hi;

				v += (int)rnd(3) - 1;
				return v < 0 ? 0 : v > max ? max : v;
			}
		}
	}
	if (k < 80) {
		int v = icmp ? cx->types[rnd(cx->ntypes)] : cx->ports[rnd(cx->nports)];

		return v;
	}
	return (int)rnd(max + 1);
}

struct tpkt {
	bool arp;
	int dir;
	struct pkt_spec s;
};

/* A packet aimed at one rule: its direction, near one of its prefixes, its
 * protocol, T at the edges of its ranges. Most such packets match it, and
 * whatever else overlaps it. */
static void gen_packet_for_rule(const struct gpol *g, const struct gen_ctx *cx,
				const struct grule *r, struct tpkt *t)
{
	struct pkt_spec *s = &t->s;
	const struct gentry *e = &r->ent[rnd(r->nent)];
	bool inside = chance(60);
	uint8_t lf, *remote, *local;

	t->dir = chance(95) ? r->dir : !r->dir;
	remote = t->dir == WARD_DIR_INGRESS ? s->src : s->dst;
	local = t->dir == WARD_DIR_INGRESS ? s->dst : s->src;
	if (e->kind == E_LIT) {
		addr_near(&e->lit, &s->family, remote, inside);
	} else if (e->kind == E_GROUP) {
		const struct ggroup *gr = &g->g[e->group];
		int k = (int)rnd(gr->nincl + gr->nexcl);

		addr_near(k < gr->nincl ? &gr->incl[k] : &gr->excl[k - gr->nincl], &s->family, remote,
			  inside);
	} else {
		gen_addr(cx, &s->family, remote);
	}
	do
		gen_addr(cx, &lf, local);
	while (lf != s->family);

	if (r->proto == POLICY_PROTO_ANY) {
		static const uint8_t common[] = { 6, 17, 1, 58, 47, 132 };

		s->proto = chance(80) ? common[rnd(NNAMES(common))] : (uint8_t)rnd(256);
	} else {
		s->proto = (uint8_t)r->proto;
	}
	if (s->family == 6 && (s->proto == 0 || s->proto == 43 || s->proto == 44 || s->proto == 60))
		s->proto = 59;
	s->sport = (uint16_t)rnd(65536);
	if (r->npr > 0 && chance(85)) {
		const struct grange *x = &r->pr[rnd(r->npr)];
		int max = (r->proto == 1 || r->proto == 58) ? 255 : 65535;
		int v;

		switch (rnd(4)) {
		case 0:
			v = x->lo - 1 + (int)rnd(3);
			break;
		case 1:
			v = x->hi - 1 + (int)rnd(3);
			break;
		default:
			v = x->lo + (int)rnd(x->hi - x->lo + 1);
			break;
		}
		s->dport = (uint16_t)(v < 0 ? 0 : v > max ? max : v);
	} else if (s->proto == 1 || s->proto == 58) {
		s->dport = (uint16_t)gen_port(g, cx, true);
	} else {
		s->dport = (uint16_t)gen_port(g, cx, false);
	}
	if (s->proto == 1 || s->proto == 58) {
		s->dport &= 0xff;
		s->sport = (uint16_t)rnd(256);
	}
	s->tcp_flags = 0;
	s->payload = chance(90) ? 0 : (uint16_t)rnd(200);
}

static void gen_packet(const struct gpol *g, const struct gen_ctx *cx, struct tpkt *t)
{
	struct pkt_spec *s = &t->s;
	uint8_t lf, *remote, *local;
	unsigned k;

	memset(t, 0, sizeof(*t));
	t->dir = (int)rnd(2);
	if (chance(1) && chance(50)) {
		t->arp = true;
		return;
	}
	if (g->nr && chance(50)) {
		gen_packet_for_rule(g, cx, &g->r[rnd(g->nr)], t);
		return;
	}
	remote = t->dir == WARD_DIR_INGRESS ? s->src : s->dst;
	local = t->dir == WARD_DIR_INGRESS ? s->dst : s->src;
	gen_addr(cx, &s->family, remote);
	/* the local end: any address of the same family */
	do
		gen_addr(cx, &lf, local);
	while (lf != s->family);

	k = rnd(100);
	if (k < 30) {
		s->proto = 6;
	} else if (k < 50) {
		s->proto = 17;
	} else if (k < 65) {
		s->proto = s->family == 4 ? 1 : 58;
	} else if (k < 70) {
		s->proto = s->family == 4 ? 58 : 1; /* the other family's ICMP */
	} else if (k < 85 && g->nr) {
		/* the protocol of some rule */
		const struct grule *r = &g->r[rnd(g->nr)];

		s->proto = r->proto == POLICY_PROTO_ANY ? (uint8_t)rnd(256) : (uint8_t)r->proto;
	} else {
		s->proto = (uint8_t)rnd(256);
	}
	/* IPv6 extension header numbers would be parsed as such: not a "protocol" */
	if (s->family == 6 && (s->proto == 0 || s->proto == 43 || s->proto == 44 || s->proto == 60))
		s->proto = 59;

	s->sport = (uint16_t)rnd(65536);
	if (s->proto == 6 || s->proto == 17) {
		s->dport = (uint16_t)gen_port(g, cx, false);
	} else if (s->proto == 1 || s->proto == 58) {
		if (s->family == 6 && s->proto == 58 && chance(10))
			s->dport = (uint16_t)(133 + rnd(4)); /* neighbour discovery */
		else
			s->dport = (uint16_t)gen_port(g, cx, true);
		s->sport = (uint16_t)rnd(256); /* code */
	} else {
		s->dport = (uint16_t)rnd(65536); /* not in the frame: must not matter */
	}
	s->tcp_flags = chance(80) ? 0 : (uint8_t)rnd(256);
	s->payload = chance(80) ? 0 : (uint16_t)rnd(200);
}

static size_t build_arp(uint8_t *buf, size_t cap)
{
	static const uint8_t arp[] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, /* request */
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 10,	  1,	0,    1,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 10,	  1,	0,    2,
	};

	if (cap < 64)
		return 0;
	memset(buf, 0, 64);
	memcpy(buf, arp, sizeof(arp));
	return 64;
}

static void fmt_pkt(const struct tpkt *t, char *out, size_t n)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

	if (t->arp) {
		snprintf(out, n, "%s ARP request", t->dir == WARD_DIR_INGRESS ? "ingress" : "egress");
		return;
	}
	fmt_addr(t->s.family, t->s.src, s, sizeof(s));
	fmt_addr(t->s.family, t->s.dst, d, sizeof(d));
	snprintf(out, n, "%s IPv%u %s -> %s proto %u sport %u dport/type %u (T=%d) remote %s",
		 t->dir == WARD_DIR_INGRESS ? "ingress" : "egress", t->s.family, s, d, t->s.proto,
		 t->s.sport, t->s.dport, ref_port_of(&t->s),
		 t->dir == WARD_DIR_INGRESS ? s : d);
}

/* ---- running and comparing -------------------------------------------- */
enum {
	MM_DATAPATH = 1, /* pass / verdict / rule / audit differ from the model */
	MM_RATELIMIT = 2, /* deciding rule's rate-limit slot inconsistent */
	MM_TRACE = 4,    /* trace fields disagree with the packet */
	MM_PARSER = 8,   /* model on parsed policy != model on generator's own */
	MM_RUN = 16,     /* ward__test_run failed */
};

struct outcome {
	struct ref_result m;      /* model, parsed policy */
	struct ref_result md;     /* model, direct policy */
	int pass;
	struct ward_trace tr;
	int err;
};

/* rate-limit index -> slot seen, per published policy */
static int rl_slot_of[MAXRL + 64];

static int run_one(struct ward *w, const struct policy *p, const struct policy *direct,
		   const struct tpkt *t, struct outcome *o)
{
	uint8_t frame[512];
	size_t len;
	int mm = 0;

	memset(o, 0, sizeof(*o));
	if (t->arp) {
		len = build_arp(frame, sizeof(frame));
		ref_eval_arp(&o->m);
		ref_eval_arp(&o->md);
	} else {
		len = pktgen_build(&t->s, frame, sizeof(frame));
		ref_eval(p, t->dir, &t->s, &o->m);
		ref_eval(direct, t->dir, &t->s, &o->md);
	}
	if (!len) {
		o->err = -EINVAL;
		return MM_RUN;
	}
	o->err = ward__test_run(w, t->dir, frame, len, &o->pass, &o->tr);
	if (o->err)
		return MM_RUN;

	if (o->pass != o->m.pass || o->tr.verdict != o->m.verdict ||
	    o->tr.rule_idx != o->m.rule_idx || o->tr.audit != o->m.audit)
		mm |= MM_DATAPATH;
	if (o->tr.dir != t->dir)
		mm |= MM_TRACE;
	if (!t->arp && (o->tr.family != t->s.family || o->tr.proto != t->s.proto ||
			o->tr.port != ref_port_of(&t->s)))
		mm |= MM_TRACE;
	if (!(mm & MM_DATAPATH)) {
		if (o->m.rate_limit < 0) {
			if (o->tr.rl_slot != 0)
				mm |= MM_RATELIMIT;
		} else if (o->tr.rl_slot == 0) {
			mm |= MM_RATELIMIT;
		} else if (o->m.rate_limit < (int)(sizeof(rl_slot_of) / sizeof(rl_slot_of[0]))) {
			int *s = &rl_slot_of[o->m.rate_limit];

			if (*s == 0) {
				/* one slot per rate limit: no other limit may use it */
				for (size_t i = 0; i < sizeof(rl_slot_of) / sizeof(rl_slot_of[0]); i++)
					if (rl_slot_of[i] == o->tr.rl_slot)
						mm |= MM_RATELIMIT;
				*s = o->tr.rl_slot;
			} else if (*s != o->tr.rl_slot) {
				mm |= MM_RATELIMIT;
			}
		}
	}
	/* the parser check: the same decision on the generator's own policy
	 * (rule indexes agree because both list ingress then egress in order) */
	if (o->m.pass != o->md.pass || o->m.verdict != o->md.verdict ||
	    o->m.rule_idx != o->md.rule_idx || o->m.audit != o->md.audit)
		mm |= MM_PARSER;
	return mm;
}

static bool quiet;

static void print_diags(const struct diags *d)
{
	diags__print(d, "<generated>", stdout);
}

/* Parse, compile and publish. 0, or -1 with the reason printed if loud. */
static int load_policy(struct ward *w, const char *json, struct policy *p, bool loud)
{
	struct diags d = { 0 };
	struct compiled c = { 0 };
	int err;

	memset(p, 0, sizeof(*p));
	err = policy__parse(json, strlen(json), p, &d);
	if (err) {
		if (loud) {
			printf("policy__parse rejected a generated policy (%d):\n", err);
			print_diags(&d);
			printf("--- policy ---\n%s", json);
		}
		diags__free(&d);
		return -1;
	}
	diags__free(&d);
	memset(&d, 0, sizeof(d));
	err = policy__compile(p, &c, &d);
	if (err) {
		if (loud) {
			printf("policy__compile failed (%d):\n", err);
			print_diags(&d);
			printf("--- policy ---\n%s", json);
		}
		diags__free(&d);
		policy__free(p);
		return -1;
	}
	diags__free(&d);
	err = ward__publish(w, &c, p);
	compiled__free(&c);
	if (err) {
		if (loud)
			printf("ward__publish failed: %s\n--- policy ---\n%s", strerror(-err), json);
		policy__free(p);
		return -1;
	}
	memset(rl_slot_of, 0, sizeof(rl_slot_of));
	return 0;
}

/* The mismatch kinds this packet shows on policy g (0: none or unloadable). */
static int try_policy(struct ward *w, const struct gpol *g, const struct tpkt *t)
{
	struct policy p, direct;
	struct outcome o;
	char *json = emit_json(g);
	int mm;

	if (load_policy(w, json, &p, false)) {
		free(json);
		return 0;
	}
	direct_build(g, &direct);
	mm = run_one(w, &p, &direct, t, &o);
	direct_free(&direct);
	policy__free(&p);
	free(json);
	return mm & ~MM_RUN;
}

/* Greedy shrinking: drop rules, entries, ranges, cidrs while the packet
 * still shows a mismatch of the same kind. */
static void shrink(struct ward *w, struct gpol *g, const struct tpkt *t, int kinds)
{
	struct gpol *c = malloc(sizeof(*c));
	bool progress = true;
	int budget = 3000;

	if (!c)
		return;
#define TRY()                                                 \
	do {                                                  \
		budget--;                                     \
		if (try_policy(w, c, t) & kinds) {            \
			*g = *c;                              \
			progress = true;                      \
		} else {                                      \
			*c = *g;                              \
		}                                             \
	} while (0)
	*c = *g;
	c->omit_unused = true;
	TRY();
	while (progress && budget > 0) {
		progress = false;
		for (int i = g->nr - 1; i >= 0 && budget > 0; i--) {
			memmove(&c->r[i], &c->r[i + 1], (c->nr - i - 1) * sizeof(c->r[0]));
			c->nr--;
			TRY();
		}
		for (int i = 0; i < g->nr && budget > 0; i++) {
			for (int e = g->r[i].nent - 1; e >= 0 && g->r[i].nent > 1 && budget > 0; e--) {
				struct grule *r = &c->r[i];

				memmove(&r->ent[e], &r->ent[e + 1], (r->nent - e - 1) * sizeof(r->ent[0]));
				r->nent--;
				TRY();
			}
			for (int k = g->r[i].npr - 1; k >= 0 && budget > 0; k--) {
				struct grule *r = &c->r[i];

				if (r->npr == 1)
					r->npr = -1;
				else {
					memmove(&r->pr[k], &r->pr[k + 1], (r->npr - k - 1) * sizeof(r->pr[0]));
					r->npr--;
				}
				TRY();
			}
			if (g->r[i].rl >= 0) {
				c->r[i].rl = -1;
				TRY();
			}
			if (g->r[i].audit == 0 || (g->r[i].log >= 0) || g->r[i].desc) {
				c->r[i].log = -1;
				c->r[i].desc = false;
				if (c->r[i].audit == 0)
					c->r[i].audit = -1;
				TRY();
			}
		}
		for (int i = 0; i < g->ng && budget > 0; i++) {
			for (int k = g->g[i].nexcl - 1; k >= 0 && budget > 0; k--) {
				struct ggroup *gr = &c->g[i];

				memmove(&gr->excl[k], &gr->excl[k + 1], (gr->nexcl - k - 1) * sizeof(gr->excl[0]));
				gr->nexcl--;
				TRY();
			}
			for (int k = g->g[i].nincl - 1; k >= 0 && g->g[i].nincl > 1 && budget > 0; k--) {
				struct ggroup *gr = &c->g[i];

				memmove(&gr->incl[k], &gr->incl[k + 1], (gr->nincl - k - 1) * sizeof(gr->incl[0]));
				gr->nincl--;
				TRY();
			}
		}
		if (g->nrl) {
			bool used = false;

			for (int i = 0; i < g->nr; i++)
				used |= g->r[i].rl >= 0;
			if (!used) {
				c->nrl = 0;
				TRY();
			}
		}
	}
#undef TRY
	free(c);
}

static void print_result(const char *who, const struct policy *p, const struct ref_result *r)
{
	printf("  %-9s pass=%d verdict=%s rule=", who, r->pass, ref_verdict_name(r->verdict));
	if (r->rule_idx == WARD_RULE_NONE)
		printf("null");
	else if (r->rule_idx < p->nrules)
		printf("%u \"%s\"", r->rule_idx, p->rules[r->rule_idx].id);
	else
		printf("%u (out of range)", r->rule_idx);
	printf(" audit=%d", r->audit);
	if (r->rate_limit >= 0)
		printf(" rate_limit=%d", r->rate_limit);
	printf("\n");
}

static void report(struct ward *w, const struct gpol *g0, const struct tpkt *t, int kinds,
		   uint64_t seed, int idx)
{
	struct gpol *g = malloc(sizeof(*g));
	struct policy p, direct;
	struct outcome o;
	char line[512];
	char *json;
	int mm;

	if (!g)
		return;
	*g = *g0;
	shrink(w, g, t, kinds);
	json = emit_json(g);
	fmt_pkt(t, line, sizeof(line));
	printf("=== MISMATCH policy %d (reproduce: test_model --seed %" PRIu64 " --policy %d)\n", idx,
	       seed, idx);
	if (load_policy(w, json, &p, true)) {
		free(json);
		free(g);
		return;
	}
	direct_build(g, &direct);
	mm = run_one(w, &p, &direct, t, &o);
	printf("--- minimal policy ---\n%s", json);
	printf("--- packet ---\n  %s\n", line);
	printf("--- results (kinds:%s%s%s%s%s) ---\n", mm & MM_DATAPATH ? " datapath" : "",
	       mm & MM_RATELIMIT ? " rate-limit-slot" : "", mm & MM_TRACE ? " trace" : "",
	       mm & MM_PARSER ? " parser" : "", mm & MM_RUN ? " run-error" : "");
	print_result("model", &p, &o.m);
	if (mm & MM_PARSER)
		print_result("model(gen)", &p, &o.md);
	printf("  datapath  pass=%d verdict=%s rule=", o.pass, ref_verdict_name(o.tr.verdict));
	if (o.tr.rule_idx == WARD_RULE_NONE)
		printf("null");
	else if (o.tr.rule_idx < p.nrules)
		printf("%u \"%s\"", o.tr.rule_idx, p.rules[o.tr.rule_idx].id);
	else
		printf("%u (out of range)", o.tr.rule_idx);
	printf(" audit=%d rl_slot=%u class=%u trace(dir=%u family=%u proto=%u port=%u)\n",
	       o.tr.audit, o.tr.rl_slot, o.tr.class_id, o.tr.dir, o.tr.family, o.tr.proto, o.tr.port);
	if (!t->arp) {
		printf("  matching rules:");
		for (size_t i = 0; i < p.nrules; i++)
			if (ref_rule_matches(&p, &p.rules[i], t->dir, &t->s))
				printf(" %zu\"%s\"(%s%s)", i, p.rules[i].id,
				       p.rules[i].action == WARD_ACT_DENY ? "deny" : "allow",
				       p.rules[i].audit ? ",audit" : "");
		printf("\n");
	}
	direct_free(&direct);
	policy__free(&p);
	free(json);
	free(g);
}

/* Structural check of the parse against the generator (clearer diagnosis
 * than a packet mismatch). Returns the number of differences printed. */
static int check_structure(const struct gpol *g, const struct policy *p, const char *json)
{
	int bad = 0;

	if (p->nrules != (size_t)g->nr) {
		printf("parser: %zu rules, generated %d\n", p->nrules, g->nr);
		return 1;
	}
	for (int i = 0; i < g->nr; i++) {
		const struct grule *gr = &g->r[i];
		const struct rule *r = &p->rules[i];

		if (strcmp(r->id, gr->id) || r->dir != gr->dir || r->action != gr->action ||
		    r->audit != (gr->audit == 1) || r->proto != gr->proto ||
		    (r->ports == NULL) != (gr->npr < 0) || r->nterms != (size_t)gr->nent ||
		    (r->rate_limit < 0) != (gr->rl < 0) ||
		    (gr->rl >= 0 && (size_t)r->rate_limit < p->nrate_limits &&
		     strcmp(p->rate_limits[r->rate_limit].name, g->rl[gr->rl].name))) {
			printf("parser: rule %d \"%s\" read back differently (id \"%s\" dir %u action %u audit %d proto %d ports %s nterms %zu rl %d)\n",
			       i, gr->id, r->id, r->dir, r->action, r->audit, r->proto,
			       r->ports ? "yes" : "absent", r->nterms, r->rate_limit);
			bad++;
		}
	}
	if (p->mode != (g->mode == WARD_MODE_AUDIT ? WARD_MODE_AUDIT : WARD_MODE_ENFORCE) ||
	    p->defaults[0] != (g->def[0] == WARD_ACT_ALLOW ? WARD_ACT_ALLOW : WARD_ACT_DENY) ||
	    p->defaults[1] != (g->def[1] == WARD_ACT_ALLOW ? WARD_ACT_ALLOW : WARD_ACT_DENY)) {
		printf("parser: mode/defaults read back as %u/%u/%u\n", p->mode, p->defaults[0],
		       p->defaults[1]);
		bad++;
	}
	if (bad)
		printf("--- policy ---\n%s", json);
	return bad;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: test_model [--seed N] [--long] [--policies N] [--packets N] [--policy I]\n"
		   "                  [--max-reports N] [--quiet] [--doc-extras]\n");
}

int main(int argc, char **argv)
{
	uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
	long npol = DEF_POLICIES, npkt = DEF_PACKETS, only = -1, max_reports = 5;
	unsigned long long pkts = 0, mism = 0, kinds_count[5] = { 0 };
	unsigned long long st_verdict[WARD_V_MAX] = { 0 }, st_match[4] = { 0 }, st_fam[3] = { 0 };
	long passed = 0, failed = 0, rejected = 0, reports = 0;
	struct ward w;
	double t0, t1;
	int err;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--long")) {
			npol = LONG_POLICIES;
			npkt = LONG_PACKETS;
		} else if (!strcmp(a, "--doc-extras")) {
			doc_extras = true;
		} else if (!strcmp(a, "--quiet")) {
			quiet = true;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (v && !strcmp(a, "--seed")) {
			seed = strtoull(v, NULL, 0);
			i++;
		} else if (v && !strcmp(a, "--policies")) {
			npol = strtol(v, NULL, 0);
			i++;
		} else if (v && !strcmp(a, "--packets")) {
			npkt = strtol(v, NULL, 0);
			i++;
		} else if (v && !strcmp(a, "--policy")) {
			only = strtol(v, NULL, 0);
			i++;
		} else if (v && !strcmp(a, "--max-reports")) {
			max_reports = strtol(v, NULL, 0);
			i++;
		} else {
			usage(stderr);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("test_model: seed %" PRIu64 ", %ld policies x %ld packets\n", seed,
	       only >= 0 ? 1 : npol, npkt);

	if (geteuid() != 0) {
		printf("test_model: not root: BPF_PROG_TEST_RUN needs CAP_BPF/CAP_SYS_ADMIN; nothing run\n");
		printf("0 passed, 0 failed\n");
		return 1;
	}
	memset(&w, 0, sizeof(w));
	err = ward__load(&w, NULL, true);
	if (err) {
		printf("test_model: cannot load the BPF programs: %s; nothing run\n",
		       strerror(err < 0 ? -err : err));
		printf("0 passed, 0 failed\n");
		return 1;
	}

	t0 = now_s();
	for (long i = 0; i < npol; i++) {
		struct gpol *g;
		struct gen_ctx *cx;
		struct policy p, direct;
		struct tpkt first_bad = { 0 };
		int first_kinds = 0;
		long bad = 0;
		char *json;

		if (only >= 0 && i != only)
			continue;
		g = malloc(sizeof(*g));
		cx = malloc(sizeof(*cx));
		if (!g || !cx)
			abort();
		/* each policy has its own stream: --policy I reproduces one */
		rng_state = mix64(mix64(seed) ^ mix64(0x5eed0000ull + (uint64_t)i));
		gen_policy(g, cx, seed, (int)i);
		json = emit_json(g);
		if (load_policy(&w, json, &p, true)) {
			failed++;
			rejected++;
			free(json);
			free(g);
			free(cx);
			continue;
		}
		if (check_structure(g, &p, json))
			bad++;
		direct_build(g, &direct);
		for (long j = 0; j < npkt; j++) {
			struct tpkt t;
			struct outcome o;
			int mm;

			gen_packet(g, cx, &t);
			mm = run_one(&w, &p, &direct, &t, &o);
			pkts++;
			st_verdict[o.m.verdict < WARD_V_MAX ? o.m.verdict : 0]++;
			st_match[o.m.nmatch > 2 ? 3 : o.m.nmatch]++;
			st_fam[t.arp ? 0 : t.s.family == 4 ? 1 : 2]++;
			if (mm & MM_RUN) {
				printf("policy %ld: ward__test_run failed: %s\n", i, strerror(-o.err));
				bad++;
				mism++;
				kinds_count[4]++;
				break;
			}
			if (!mm)
				continue;
			mism++;
			for (int k = 0; k < 4; k++)
				if (mm & (1 << k))
					kinds_count[k]++;
			if (!bad++ || !first_kinds) {
				first_bad = t;
				first_kinds = mm;
			}
		}
		direct_free(&direct);
		policy__free(&p);
		if (bad) {
			failed++;
			if (first_kinds && reports < max_reports) {
				reports++;
				report(&w, g, &first_bad, first_kinds, seed, (int)i);
			} else if (first_kinds) {
				printf("=== MISMATCH policy %ld (%ld packets; report suppressed; reproduce: test_model --seed %" PRIu64 " --policy %ld)\n",
				       i, bad, seed, i);
			}
		} else {
			passed++;
		}
		if (!quiet && (i + 1) % 100 == 0)
			printf("  ... %ld policies, %llu packets, %llu mismatches, %.1f s\n", i + 1, pkts,
			       mism, now_s() - t0);
		free(json);
		free(g);
		free(cx);
	}
	t1 = now_s();
	ward__close(&w);

	printf("policies: %ld run, %ld rejected by parse/compile/publish\n", passed + failed, rejected);
	printf("packets: %llu, mismatches: %llu (datapath %llu, rate-limit slot %llu, trace %llu, parser %llu, run errors %llu)\n",
	       pkts, mism, kinds_count[0], kinds_count[1], kinds_count[2], kinds_count[3],
	       kinds_count[4]);
	printf("model verdicts:");
	for (int v = 0; v < WARD_V_MAX; v++)
		if (st_verdict[v])
			printf(" %s %.1f%%", ref_verdict_name(v), 100.0 * st_verdict[v] / (pkts ? pkts : 1));
	printf("\nmatching rules per packet: 0 %.1f%%, 1 %.1f%%, 2 %.1f%%, 3+ %.1f%%; ARP %llu, IPv4 %llu, IPv6 %llu\n",
	       100.0 * st_match[0] / (pkts ? pkts : 1), 100.0 * st_match[1] / (pkts ? pkts : 1),
	       100.0 * st_match[2] / (pkts ? pkts : 1), 100.0 * st_match[3] / (pkts ? pkts : 1),
	       st_fam[0], st_fam[1], st_fam[2]);
	printf("elapsed: %.2f s (%.0f packets/s)\n", t1 - t0, (t1 - t0) > 0 ? pkts / (t1 - t0) : 0.0);
	printf("%ld passed, %ld failed\n", passed, failed);
	return failed || passed == 0 ? 1 : 0;
}
