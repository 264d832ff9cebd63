// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of the policy parser and compiler (docs/policy.md, agent/policy.h).
 * Plain C, cmocka, no root. Every document is an inline string; where line and
 * column matter the expected position is computed from the document text
 * itself (locate()), and a few tests also pin absolute numbers by hand.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_pos.h"
#include "policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers -------------------------------------------------------------- */

static int parse(const char *doc, struct policy *p, struct diags *d)
{
	memset(p, 0, sizeof(*p));
	memset(d, 0, sizeof(*d));
	return policy__parse(doc, strlen(doc), p, d);
}

static void dump_diags(const char *what, const struct diags *d)
{
	fprintf(stderr, "--- diags of %s (%zu errors, %zu warnings):\n", what, d->nerrors,
		d->nwarnings);
	diags__print(d, "doc", stderr);
}

/* Parse a document that must be valid; fail with its diags otherwise. */
static void parse_ok(const char *doc, struct policy *p)
{
	struct diags d;
	int rc = parse(doc, p, &d);

	if (rc != 0 || d.nerrors != 0) {
		size_t nerrors = d.nerrors;

		dump_diags("a valid document", &d);
		diags__free(&d);
		fail_msg("policy__parse returned %d with %zu errors, expected 0 and none", rc,
			 nerrors);
	}
	diags__free(&d);
}

/*
 * 1-based line and column of the nth (1-based) occurrence of `at` that starts
 * at or after the first occurrence of `ctx` (NULL: the start of doc).
 */
static void locate(const char *doc, const char *ctx, const char *at, int nth, int *line, int *col)
{
	const char *s = doc, *q = NULL;

	if (ctx) {
		s = strstr(doc, ctx);
		if (!s)
			fail_msg("test bug: context '%s' not in the document", ctx);
	}
	if (nth < 1)
		nth = 1;
	for (int i = 0; i < nth; i++, s = q + 1) {
		q = strstr(s, at);
		if (!q)
			fail_msg("test bug: '%s' (occurrence %d) not in the document", at, nth);
	}
	*line = 1;
	*col = 1;
	for (s = doc; s < q; s++) {
		if (*s == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* Does any '|'-separated alternative of alts equal s (exact) / occur in s (ci)? */
static bool alt_match(const char *alts, const char *s, bool substring)
{
	const char *a = alts;

	if (!s)
		return false;
	for (;;) {
		const char *bar = strchr(a, '|');
		size_t n = bar ? (size_t)(bar - a) : strlen(a);
		char tok[256];

		snprintf(tok, sizeof(tok), "%.*s", (int)n, a);
		if (substring ? strcasestr(s, tok) != NULL : strcmp(s, tok) == 0)
			return true;
		if (!bar)
			return false;
		a = bar + 1;
	}
}

struct expect {
	const char *pointer; /* '|'-separated alternatives; "" is the root          */
	const char *ctx;     /* the value is the first `at` after ctx                 */
	const char *at;
	int nth;             /* occurrence of at (after ctx), 1-based, 0 = 1          */
	const char *reason;  /* '|'-separated, one must occur in the reason (ci)    */
	const char *value;   /* expected diag.value, NULL = not checked             */
};

/* The error diag for e->pointer must exist, be located at e->at, give a reason. */
static void expect_error(const char *doc, const struct diags *d, const struct expect *e)
{
	const struct diag *g = NULL;
	int line, col;

	for (size_t i = 0; i < d->n && !g; i++)
		if (!d->v[i].warning && alt_match(e->pointer, d->v[i].pointer, false))
			g = &d->v[i];
	if (!g) {
		dump_diags(e->pointer, d);
		fail_msg("no error with pointer '%s'", e->pointer);
	}
	locate(doc, e->ctx, e->at, e->nth, &line, &col);
	if (g->line != line || g->col != col) {
		dump_diags(e->pointer, d);
		fail_msg("%s: located at %d:%d, expected %d:%d (the value '%s')", g->pointer,
			 g->line, g->col, line, col, e->at);
	}
	if (!alt_match(e->reason, g->reason, true)) {
		dump_diags(e->pointer, d);
		fail_msg("%s: reason '%s' mentions none of '%s'", g->pointer,
			 g->reason ? g->reason : "(null)", e->reason);
	}
	if (e->value && (!g->value || strcmp(g->value, e->value))) {
		dump_diags(e->pointer, d);
		fail_msg("%s: value '%s', expected '%s'", g->pointer, g->value ? g->value : "(null)",
			 e->value);
	}
}

static const struct term *find_group(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->ngroups && i < p->nterms; i++)
		if (p->terms[i].name && !strcmp(p->terms[i].name, name))
			return &p->terms[i];
	return NULL;
}

static const struct rule *find_rule(const struct policy *p, const char *id)
{
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].id && !strcmp(p->rules[i].id, id))
			return &p->rules[i];
	fail_msg("no rule with id '%s'", id);
	return NULL;
}

/* The rule references a term with this name (group, literal text or "any"). */
static const struct term *rule_term(const struct policy *p, const struct rule *r, const char *name)
{
	for (size_t i = 0; i < r->nterms; i++) {
		assert_true(r->terms[i] < p->nterms);
		if (p->terms[r->terms[i]].name && !strcmp(p->terms[r->terms[i]].name, name))
			return &p->terms[r->terms[i]];
	}
	fail_msg("rule '%s' does not reference '%s'", r->id, name);
	return NULL;
}

static int rl_index(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->nrate_limits; i++)
		if (p->rate_limits[i].name && !strcmp(p->rate_limits[i].name, name))
			return (int)i;
	fail_msg("no rate limit '%s'", name);
	return -1;
}

static int cmp_range(const void *a, const void *b)
{
	const struct port_range *x = a, *y = b;

	return x->lo != y->lo ? x->lo - y->lo : x->hi - y->hi;
}

/* Port (or ICMP type) ranges equal the expected list, in any order. */
static void expect_ranges(const struct rule *r, const struct port_range *want, size_t n)
{
	struct port_range got[64];

	if (r->nports != n)
		fail_msg("rule '%s': %zu port/type ranges, expected %zu", r->id, r->nports, n);
	assert_non_null(r->ports);
	assert_true(n <= ARRAY_SIZE(got));
	memcpy(got, r->ports, n * sizeof(*got));
	qsort(got, n, sizeof(*got), cmp_range);
	for (size_t i = 0; i < n; i++)
		if (got[i].lo != want[i].lo || got[i].hi != want[i].hi)
			fail_msg("rule '%s': range %zu is %u-%u, expected %u-%u", r->id, i,
				 got[i].lo, got[i].hi, want[i].lo, want[i].hi);
}

/* Address as (family, 16 bytes) for addrset__contains. */
static bool in_set(const struct addrset *s, const char *addr)
{
	uint8_t a[16] = { 0 };

	if (inet_pton(AF_INET, addr, a) == 1)
		return addrset__contains(s, WARD_FAM_V4, a);
	if (inet_pton(AF_INET6, addr, a) == 1)
		return addrset__contains(s, WARD_FAM_V6, a);
	fail_msg("test bug: bad address %s", addr);
	return false;
}

/* The set holds exactly this CIDR among incl (or excl). */
static bool has_cidr(const struct cidr *v, size_t n, const char *text)
{
	struct cidr c;
	const char *why = NULL;

	if (cidr__parse(text, &c, &why))
		fail_msg("test bug: cidr__parse(%s): %s", text, why ? why : "?");
	for (size_t i = 0; i < n; i++)
		if (v[i].family == c.family && v[i].len == c.len && !memcmp(v[i].addr, c.addr, 16))
			return true;
	return false;
}

/* ---- valid documents -------------------------------------------------------- */

#define MIN_DOC "{\"version\": 1, \"name\": \"m\"}"

static void test_parse_minimal(void **state)
{
	struct policy p;

	parse_ok(MIN_DOC, &p);
	assert_int_equal(p.version, 1);
	assert_string_equal(p.name, "m");
	assert_int_equal(p.revision, 0);
	assert_int_equal(p.mode, WARD_MODE_ENFORCE);
	assert_int_equal(p.defaults[WARD_DIR_INGRESS], WARD_ACT_DENY);
	assert_int_equal(p.defaults[WARD_DIR_EGRESS], WARD_ACT_DENY);
	assert_int_equal(p.default_log, POLICY_LOG_DENIED);
	assert_int_equal(p.nterms, 0);
	assert_int_equal(p.ngroups, 0);
	assert_int_equal(p.nrate_limits, 0);
	assert_int_equal(p.nrules, 0);
	policy__free(&p);
}

/* sha256 of the exact source bytes (printf '%s' MIN_DOC | sha256sum). */
static void test_parse_sha256(void **state)
{
	static const uint8_t want[32] = {
		0x52, 0x5b, 0x5f, 0xff, 0x61, 0x30, 0x99, 0x04,
		0xff, 0x46, 0xd0, 0x9f, 0x89, 0xf9, 0x5a, 0x97,
		0x82, 0xf0, 0xd0, 0x8f, 0xbf, 0x74, 0x6e, 0x17,
		0xa3, 0x99, 0x11, 0xb9, 0x77, 0x34, 0xca, 0x43,
	};
	struct policy p;

	parse_ok(MIN_DOC, &p);
	assert_memory_equal(p.sha256, want, 32);
	policy__free(&p);
}

/* Only len bytes are the document: trailing bytes past len are not read. */
static void test_parse_respects_len(void **state)
{
	const char *buf = MIN_DOC "}}} garbage";
	struct policy p;
	struct diags d = { 0 };
	int rc;

	memset(&p, 0, sizeof(p));
	rc = policy__parse(buf, strlen(MIN_DOC), &p, &d);
	if (rc)
		dump_diags("len-limited document", &d);
	assert_int_equal(rc, 0);
	assert_string_equal(p.name, "m");
	policy__free(&p);
	diags__free(&d);
}

static const char full_doc[] =
	"{\n"
	"  \"version\": 1,\n"
	"  \"name\": \"full\",\n"
	"  \"revision\": 42,\n"
	"  \"mode\": \"audit\",\n"
	"  \"defaults\": { \"ingress\": \"deny\", \"egress\": \"allow\", \"log\": \"all\" },\n"
	"  \"groups\": {\n"
	"    \"clients\": { \"cidrs\": [\"198.51.100.0/24\", \"2001:db8:20::/48\"],\n"
	"                 \"except\": [\"198.51.100.128/25\"] },\n"
	"    \"registry\": [\"203.0.113.10/32\", \"203.0.113.11\"],\n"
	"    \"dns\": [\"192.0.2.53\", \"2001:db8::53\"]\n"
	"  },\n"
	"  \"rate_limits\": {\n"
	"    \"api\": { \"pps\": 2000, \"burst\": 4000, \"key\": \"source\", \"ipv4_prefix\": 24,\n"
	"             \"ipv6_prefix\": 56 },\n"
	"    \"slow\": { \"pps\": 10, \"bps\": 100000, \"bytes_burst\": 200000 }\n"
	"  },\n"
	"  \"ingress\": [\n"
	"    { \"id\": \"web\", \"from\": [\"clients\", \"10.0.0.0/8\", \"2001:db8:1::/64\"],\n"
	"      \"proto\": \"tcp\", \"ports\": [80, 443, \"8000-8080\"], \"rate_limit\": \"api\",\n"
	"      \"log\": false },\n"
	"    { \"id\": \"ping\", \"from\": [\"any\"], \"proto\": \"icmp\",\n"
	"      \"icmp_types\": [\"echo-request\", 0, \"3-5\"] },\n"
	"    { \"id\": \"ping6\", \"from\": [\"any\"], \"proto\": \"icmpv6\",\n"
	"      \"icmp_types\": [\"echo-request\", 1] },\n"
	"    { \"id\": \"gre\", \"from\": [\"registry\"], \"proto\": 47, \"description\": \"tunnel\" },\n"
	"    { \"id\": \"block\", \"action\": \"deny\", \"from\": [\"198.51.100.7\"], \"audit\": true,\n"
	"      \"log\": true }\n"
	"  ],\n"
	"  \"egress\": [\n"
	"    { \"id\": \"dns\", \"to\": [\"dns\"], \"proto\": \"udp\", \"ports\": [53],\n"
	"      \"rate_limit\": \"slow\", \"action\": \"allow\" },\n"
	"    { \"id\": \"all-out\", \"to\": [\"any\"], \"proto\": \"any\" },\n"
	"    { \"id\": \"no-smtp\", \"action\": \"deny\", \"to\": [\"any\"], \"proto\": 6,\n"
	"      \"ports\": [25] }\n"
	"  ]\n"
	"}\n";

static void test_parse_full_header(void **state)
{
	struct policy p;

	parse_ok(full_doc, &p);
	assert_int_equal(p.version, 1);
	assert_string_equal(p.name, "full");
	assert_int_equal(p.revision, 42);
	assert_int_equal(p.mode, WARD_MODE_AUDIT);
	assert_int_equal(p.defaults[WARD_DIR_INGRESS], WARD_ACT_DENY);
	assert_int_equal(p.defaults[WARD_DIR_EGRESS], WARD_ACT_ALLOW);
	assert_int_equal(p.default_log, POLICY_LOG_ALL);
	assert_int_equal(p.nrules, 8);
	assert_int_equal(p.nrate_limits, 2);
	assert_int_equal(p.ngroups, 3);
	assert_true(p.nterms >= 3 + 4); /* + 10/8, 2001:db8:1::/64, any, 198.51.100.7 */
	policy__free(&p);
}

static void test_parse_full_groups(void **state)
{
	const struct term *t;
	struct policy p;

	parse_ok(full_doc, &p);
	/* groups come first in terms */
	assert_non_null(t = find_group(&p, "clients"));
	assert_int_equal(t->set.nincl, 2);
	assert_int_equal(t->set.nexcl, 1);
	assert_true(has_cidr(t->set.incl, t->set.nincl, "198.51.100.0/24"));
	assert_true(has_cidr(t->set.incl, t->set.nincl, "2001:db8:20::/48"));
	assert_true(has_cidr(t->set.excl, t->set.nexcl, "198.51.100.128/25"));
	assert_true(in_set(&t->set, "198.51.100.1"));
	assert_true(in_set(&t->set, "198.51.100.127"));
	assert_false(in_set(&t->set, "198.51.100.128"));
	assert_false(in_set(&t->set, "198.51.100.255"));
	assert_true(in_set(&t->set, "2001:db8:20:ffff::1"));
	assert_false(in_set(&t->set, "2001:db8:21::1"));
	assert_false(in_set(&t->set, "10.0.0.1"));

	assert_non_null(t = find_group(&p, "registry"));
	assert_int_equal(t->set.nincl, 2);
	assert_int_equal(t->set.nexcl, 0);
	assert_true(has_cidr(t->set.incl, t->set.nincl, "203.0.113.10/32"));
	assert_true(has_cidr(t->set.incl, t->set.nincl, "203.0.113.11/32")); /* bare = /32 */
	assert_true(in_set(&t->set, "203.0.113.11"));
	assert_false(in_set(&t->set, "203.0.113.12"));

	assert_non_null(t = find_group(&p, "dns"));
	assert_int_equal(t->set.nincl, 2);
	assert_true(has_cidr(t->set.incl, t->set.nincl, "192.0.2.53/32"));
	assert_true(has_cidr(t->set.incl, t->set.nincl, "2001:db8::53/128")); /* bare = /128 */
	assert_true(in_set(&t->set, "2001:db8::53"));
	assert_false(in_set(&t->set, "2001:db8::54"));
	policy__free(&p);
}

static void test_parse_full_rate_limits(void **state)
{
	const struct rate_limit *r;
	struct policy p;

	parse_ok(full_doc, &p);
	r = &p.rate_limits[rl_index(&p, "api")];
	assert_int_equal(r->pps, 2000);
	assert_int_equal(r->burst, 4000);
	assert_int_equal(r->bps, 0);
	assert_int_equal(r->ipv4_prefix, 24);
	assert_int_equal(r->ipv6_prefix, 56);
	r = &p.rate_limits[rl_index(&p, "slow")];
	assert_int_equal(r->pps, 10);
	assert_int_equal(r->burst, 10); /* default: pps */
	assert_int_equal(r->bps, 100000);
	assert_int_equal(r->bytes_burst, 200000);
	assert_int_equal(r->ipv4_prefix, 32); /* defaults */
	assert_int_equal(r->ipv6_prefix, 64);
	policy__free(&p);
}

static void test_parse_full_rules(void **state)
{
	static const char *const order[] = { "web", "ping", "ping6", "gre", "block",
					     "dns", "all-out", "no-smtp" };
	const struct port_range web_ports[] = { { 80, 80 }, { 443, 443 }, { 8000, 8080 } };
	const struct port_range ping_types[] = { { 0, 0 }, { 3, 5 }, { 8, 8 } };
	const struct port_range ping6_types[] = { { 1, 1 }, { 128, 128 } };
	const struct port_range dns_ports[] = { { 53, 53 } };
	const struct port_range smtp_ports[] = { { 25, 25 } };
	const struct rule *r;
	const struct term *t;
	struct policy p;

	parse_ok(full_doc, &p);
	/* ingress then egress, document order */
	assert_int_equal(p.nrules, ARRAY_SIZE(order));
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		assert_non_null(p.rules[i].id);
		assert_string_equal(p.rules[i].id, order[i]);
		assert_int_equal(p.rules[i].dir, i < 5 ? WARD_DIR_INGRESS : WARD_DIR_EGRESS);
	}

	r = find_rule(&p, "web");
	assert_int_equal(r->action, WARD_ACT_ALLOW);
	assert_int_equal(r->proto, 6);
	assert_false(r->audit);
	assert_false(r->log); /* explicit false beats defaults.log "all" */
	expect_ranges(r, web_ports, ARRAY_SIZE(web_ports));
	assert_int_equal(r->nterms, 3);
	assert_ptr_equal(rule_term(&p, r, "clients"), find_group(&p, "clients"));
	t = rule_term(&p, r, "10.0.0.0/8");
	assert_int_equal(t->set.nincl, 1);
	assert_int_equal(t->set.nexcl, 0);
	assert_int_equal(t->set.incl[0].family, WARD_FAM_V4);
	assert_int_equal(t->set.incl[0].len, 8);
	t = rule_term(&p, r, "2001:db8:1::/64");
	assert_int_equal(t->set.incl[0].family, WARD_FAM_V6);
	assert_int_equal(t->set.incl[0].len, 64);
	assert_true(in_set(&t->set, "2001:db8:1::99"));
	assert_int_equal(r->rate_limit, rl_index(&p, "api"));

	r = find_rule(&p, "ping");
	assert_int_equal(r->proto, 1);
	expect_ranges(r, ping_types, ARRAY_SIZE(ping_types)); /* echo-request = 8 */
	t = rule_term(&p, r, "any");
	assert_true(in_set(&t->set, "192.0.2.1"));
	assert_true(in_set(&t->set, "2001:db8::1"));
	assert_true(in_set(&t->set, "0.0.0.0"));
	assert_true(in_set(&t->set, "::"));
	assert_int_equal(r->rate_limit, -1);
	assert_true(r->log); /* defaults.log "all" */

	r = find_rule(&p, "ping6");
	assert_int_equal(r->proto, 58);
	expect_ranges(r, ping6_types, ARRAY_SIZE(ping6_types)); /* ICMPv6 echo-request = 128 */

	r = find_rule(&p, "gre");
	assert_int_equal(r->proto, 47);
	assert_int_equal(r->nports, 0);
	assert_null(r->ports);
	assert_ptr_equal(rule_term(&p, r, "registry"), find_group(&p, "registry"));

	r = find_rule(&p, "block");
	assert_int_equal(r->action, WARD_ACT_DENY);
	assert_true(r->audit);
	assert_true(r->log);
	assert_int_equal(r->proto, POLICY_PROTO_ANY);
	assert_null(r->ports);
	t = rule_term(&p, r, "198.51.100.7");
	assert_int_equal(t->set.nincl, 1);
	assert_int_equal(t->set.incl[0].len, 32); /* bare literal = host route */
	assert_true(in_set(&t->set, "198.51.100.7"));
	assert_false(in_set(&t->set, "198.51.100.6"));

	r = find_rule(&p, "dns");
	assert_int_equal(r->dir, WARD_DIR_EGRESS);
	assert_int_equal(r->proto, 17);
	expect_ranges(r, dns_ports, ARRAY_SIZE(dns_ports));
	assert_ptr_equal(rule_term(&p, r, "dns"), find_group(&p, "dns"));
	assert_int_equal(r->rate_limit, rl_index(&p, "slow"));

	r = find_rule(&p, "all-out");
	assert_int_equal(r->action, WARD_ACT_ALLOW);
	assert_int_equal(r->proto, POLICY_PROTO_ANY);
	assert_null(r->ports);

	r = find_rule(&p, "no-smtp");
	assert_int_equal(r->action, WARD_ACT_DENY);
	assert_false(r->audit);
	assert_int_equal(r->proto, 6);
	expect_ranges(r, smtp_ports, ARRAY_SIZE(smtp_ports));
	policy__free(&p);
}

/* Port and type edges, numeric protos with ports/types, defaults.log "none". */
static void test_parse_edges(void **state)
{
	const char *doc =
		"{ \"version\": 1, \"name\": \"edges\", \"revision\": 0,\n"
		"  \"defaults\": { \"ingress\": \"allow\", \"log\": \"none\" },\n"
		"  \"ingress\": [\n"
		"    { \"id\": \"lo\", \"from\": [\"0.0.0.0/0\"], \"proto\": 17, \"ports\": [0, 65535] },\n"
		"    { \"id\": \"all\", \"from\": [\"::/0\"], \"proto\": \"tcp\", \"ports\": [\"0-65535\"] },\n"
		"    { \"id\": \"t1\", \"from\": [\"any\"], \"proto\": 1, \"icmp_types\": [255, \"timestamp-reply\"] },\n"
		"    { \"id\": \"t6\", \"from\": [\"any\"], \"proto\": 58, \"icmp_types\": [\"packet-too-big\"] },\n"
		"    { \"id\": \"raw\", \"from\": [\"any\"], \"proto\": 0 },\n"
		"    { \"id\": \"d\", \"action\": \"deny\", \"from\": [\"any\"], \"proto\": 255 }\n"
		"  ]\n"
		"}\n";
	const struct port_range lo[] = { { 0, 0 }, { 65535, 65535 } };
	const struct port_range all[] = { { 0, 65535 } };
	const struct port_range t1[] = { { 14, 14 }, { 255, 255 } };
	const struct port_range t6[] = { { 2, 2 } };
	const struct rule *r;
	struct policy p;

	parse_ok(doc, &p);
	assert_int_equal(p.defaults[WARD_DIR_INGRESS], WARD_ACT_ALLOW);
	assert_int_equal(p.defaults[WARD_DIR_EGRESS], WARD_ACT_DENY);
	assert_int_equal(p.default_log, POLICY_LOG_NONE);
	r = find_rule(&p, "lo");
	assert_int_equal(r->proto, 17);
	expect_ranges(r, lo, ARRAY_SIZE(lo));
	assert_int_equal(rule_term(&p, r, "0.0.0.0/0")->set.incl[0].len, 0);
	r = find_rule(&p, "all");
	expect_ranges(r, all, ARRAY_SIZE(all));
	assert_false(in_set(&rule_term(&p, r, "::/0")->set, "192.0.2.1")); /* ::/0 is IPv6 only */
	r = find_rule(&p, "t1");
	expect_ranges(r, t1, ARRAY_SIZE(t1));
	r = find_rule(&p, "t6");
	expect_ranges(r, t6, ARRAY_SIZE(t6));
	assert_int_equal(find_rule(&p, "raw")->proto, 0);
	r = find_rule(&p, "d");
	assert_int_equal(r->proto, 255);
	assert_false(r->log); /* defaults.log "none" */
	policy__free(&p);
}

#define A16 "aaaaaaaaaaaaaaaa"
#define A63 A16 A16 A16 "aaaaaaaaaaaaaaa"
#define A64 A16 A16 A16 A16

/* Names and ids of exactly 63 bytes are valid. */
static void test_parse_63_byte_names(void **state)
{
	const char *doc = "{ \"version\": 1, \"name\": \"" A63 "\",\n"
			  "  \"groups\": { \"" A63 "\": [\"10.0.0.0/8\"] },\n"
			  "  \"ingress\": [ { \"id\": \"" A63 "\", \"from\": [\"" A63 "\"] } ] }\n";
	struct policy p;

	assert_int_equal(strlen(A63), 63);
	parse_ok(doc, &p);
	assert_int_equal(strlen(p.name), 63);
	assert_int_equal(strlen(p.rules[0].id), 63);
	policy__free(&p);
}

/* docs/policy.md: a rule id is "string, 1-63 bytes" -- no character set. */
/* ids are restricted to [A-Za-z0-9_.-] so records and syslog never need
 * quoting (docs/policy.md): free text belongs in "description". */
static void test_parse_rule_id_free_text(void **state)
{
	const char *doc = "{ \"version\": 1, \"name\": \"ids\",\n"
			  "  \"ingress\": [ { \"id\": \"allow web: 80/443\", \"from\": [\"any\"],\n"
			  "    \"description\": \"allow web: 80/443\" } ] }\n";
	struct policy p;
	struct diags d = {};

	assert_int_not_equal(policy__parse(doc, strlen(doc), &p, &d), 0);
	assert_int_equal(d.nerrors, 1);
	assert_string_equal(d.v[0].pointer, "/ingress/0/id");
	diags__free(&d);
}

/* ---- invalid documents: one error each, located --------------------------- */

struct err_case {
	const char *name;
	const char *doc;
	struct expect e;
};

#define HDR "{\n  \"version\": 1,\n  \"name\": \"t\",\n"
#define INGRESS(rule) HDR "  \"ingress\": [\n    " rule "\n  ]\n}\n"
#define GROUPS(groups) HDR "  \"groups\": {\n    " groups "\n  }\n}\n"

static const struct err_case err_cases[] = {
	/* header */
	{ "err_version_wrong", "{\n  \"version\": 2,\n  \"name\": \"t\"\n}\n",
	  { "/version", "\"version\"", "2", 0, "1|version", "2" } },
	{ "err_version_string", "{\n  \"version\": \"1\",\n  \"name\": \"t\"\n}\n",
	  { "/version", "\"version\":", "\"1\"", 0, "integer|number|version", "\"1\"" } },
	{ "err_version_missing", "\n  {\n    \"name\": \"t\"\n  }\n",
	  { "|/version", NULL, "{", 0, "version", NULL } },
	{ "err_name_missing", "\n\n   {\"version\": 1}\n", { "|/name", NULL, "{", 0, "name", NULL } },
	{ "err_name_wrong_type", "{\n  \"version\": 1,\n  \"name\": 5\n}\n",
	  { "/name", "\"name\":", "5", 0, "string", "5" } },
	{ "err_name_empty", "{\n  \"version\": 1,\n  \"name\": \"\"\n}\n",
	  { "/name", "\"name\":", "\"\"", 0, "1-63|empty|byte", NULL } },
	{ "err_name_64_bytes", "{\n  \"version\": 1,\n  \"name\": \"" A64 "\"\n}\n",
	  { "/name", "\"name\":", "\"a", 0, "63", NULL } },
	{ "err_revision_negative", HDR "  \"revision\": -1\n}\n",
	  { "/revision", "\"revision\":", "-1", 0, "range|>= 0|negative", "-1" } },
	{ "err_mode_unknown", HDR "  \"mode\": \"permissive\"\n}\n",
	  { "/mode", "\"mode\":", "\"permissive\"", 0, "enforce", NULL } },
	{ "err_not_an_object", "\n [1, 2]\n", { "", NULL, "[", 0, "object", NULL } },
	/* unknown keys anywhere */
	{ "err_unknown_top_key", HDR "  \"colour\": \"red\"\n}\n",
	  { "/colour", "\"colour\":", "\"red\"", 0, "unknown", NULL } },
	{ "err_unknown_rule_key", INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"prot\": \"tcp\" }"),
	  { "/ingress/0/prot", "\"prot\":", "\"tcp\"", 0, "unknown", NULL } },
	{ "err_unknown_defaults_key", HDR "  \"defaults\": { \"ingres\": \"allow\" }\n}\n",
	  { "/defaults/ingres", "\"ingres\":", "\"allow\"", 0, "unknown", NULL } },
	{ "err_unknown_group_key",
	  GROUPS("\"g\": { \"cidrs\": [\"10.0.0.0/8\"], \"exclude\": [\"10.1.0.0/16\"] }"),
	  { "/groups/g/exclude", "\"exclude\":", "[", 0, "unknown", NULL } },
	{ "err_unknown_rate_limit_key",
	  HDR "  \"rate_limits\": { \"rl\": { \"pps\": 10, \"burts\": 20 } }\n}\n",
	  { "/rate_limits/rl/burts", "\"burts\":", "20", 0, "unknown", NULL } },
	{ "err_egress_rule_with_from",
	  HDR "  \"egress\": [\n    { \"id\": \"e\", \"to\": [\"any\"], \"from\": [\"any\"] }\n  ]\n}\n",
	  { "/egress/0/from", "\"from\":", "[", 0, "unknown", NULL } },
	/* docs/policy.md lists no "description" at the top level: unknown key */
	/* wrong types */
	{ "err_ingress_not_array", HDR "  \"ingress\": { \"id\": \"r\" }\n}\n",
	  { "/ingress", "\"ingress\":", "{", 0, "array", NULL } },
	{ "err_groups_not_object", HDR "  \"groups\": [\"10.0.0.0/8\"]\n}\n",
	  { "/groups", "\"groups\":", "[", 0, "object", NULL } },
	{ "err_group_is_string", GROUPS("\"g\": \"10.0.0.0/8\""),
	  { "/groups/g", "\"g\":", "\"10.0.0.0/8\"", 0, "array|object", NULL } },
	{ "err_defaults_bad_action", HDR "  \"defaults\": { \"ingress\": \"drop\" }\n}\n",
	  { "/defaults/ingress", "\"ingress\":", "\"drop\"", 0, "allow", NULL } },
	{ "err_rule_not_object", INGRESS("\"r\""),
	  { "/ingress/0", "\"ingress\":", "\"r\"", 0, "object", NULL } },
	{ "err_rule_audit_not_bool",
	  INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"action\": \"deny\", \"audit\": \"yes\" }"),
	  { "/ingress/0/audit", "\"audit\":", "\"yes\"", 0, "true|bool", "\"yes\"" } },
	{ "err_rule_log_not_bool", INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"log\": 1 }"),
	  { "/ingress/0/log", "\"log\":", "1", 0, "true|bool", "1" } },
	{ "err_rule_action_unknown", INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"action\": \"drop\" }"),
	  { "/ingress/0/action", "\"action\":", "\"drop\"", 0, "allow|deny", NULL } },
	{ "err_rule_id_number", INGRESS("{ \"id\": 7, \"from\": [\"any\"] }"),
	  { "/ingress/0/id", "\"id\":", "7", 0, "string", NULL } },
	{ "err_rule_id_64_bytes", INGRESS("{ \"id\": \"" A64 "\", \"from\": [\"any\"] }"),
	  { "/ingress/0/id", "\"id\":", "\"a", 0, "63", NULL } },
	{ "err_rule_id_missing", INGRESS("{ \"from\": [\"any\"] }"),
	  { "/ingress/0|/ingress/0/id", "\"ingress\":", "{", 0, "id", NULL } },
	{ "err_from_missing", INGRESS("{ \"id\": \"r\", \"proto\": \"tcp\" }"),
	  { "/ingress/0|/ingress/0/from", "\"ingress\":", "{", 0, "from", NULL } },
	{ "err_from_not_array", INGRESS("{ \"id\": \"r\", \"from\": \"any\" }"),
	  { "/ingress/0/from", "\"from\":", "\"any\"", 0, "array", NULL } },
	{ "err_from_empty", INGRESS("{ \"id\": \"r\", \"from\": [] }"),
	  { "/ingress/0/from", "\"from\":", "[", 0, "empty", NULL } },
	{ "err_from_entry_number", INGRESS("{ \"id\": \"r\", \"from\": [\"any\", 10] }"),
	  { "/ingress/0/from/1", "\"from\":", "10", 0, "group|cidr|string", NULL } },
	{ "err_ports_not_array", INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"proto\": \"tcp\", \"ports\": 80 }"),
	  { "/ingress/0/ports", "\"ports\":", "80", 0, "array", NULL } },
	{ "err_port_bool", INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"proto\": \"tcp\", \"ports\": [80, true] }"),
	  { "/ingress/0/ports/1", "\"ports\":", "true", 0, "number|port|integer", "true" } },
	{ "err_rate_limit_not_string",
	  HDR "  \"rate_limits\": { \"api\": { \"pps\": 10 } },\n"
	      "  \"ingress\": [\n    { \"id\": \"r\", \"from\": [\"any\"], \"rate_limit\": 5 }\n  ]\n}\n",
	  { "/ingress/0/rate_limit", "\"rate_limit\":", "5", 0, "string|name", NULL } },
	{ "err_proto_name", INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"proto\": \"sctpx\" }"),
	  { "/ingress/0/proto", "\"proto\":", "\"sctpx\"", 0, "tcp", "\"sctpx\"" } },
	{ "err_proto_256", INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"proto\": 256 }"),
	  { "/ingress/0/proto", "\"proto\":", "256", 0, "255", "256" } },
	{ "err_proto_negative", INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"proto\": -1 }"),
	  { "/ingress/0/proto", "\"proto\":", "-1", 0, "255|range", "-1" } },
	/* group names */
	{ "err_group_named_any", GROUPS("\"any\": [\"10.0.0.0/8\"]"),
	  { "/groups/any", "\"any\":", "[", 0, "reserved", NULL } },
	{ "err_group_name_chars", GROUPS("\"web servers\": [\"10.0.0.0/8\"]"),
	  { "/groups/web servers", "\"web servers\":", "[", 0, "A-Z|character|may only", NULL } },
	{ "err_group_no_cidrs", GROUPS("\"g\": { \"except\": [\"10.1.0.0/16\"] }"),
	  { "/groups/g|/groups/g/cidrs", "\"g\":", "{", 0, "cidrs", NULL } },
	/* CIDRs */
	{ "err_cidr_text_rule", INGRESS("{ \"id\": \"r\", \"from\": [\"10.0.0.300/8\"] }"),
	  { "/ingress/0/from/0", "\"from\":", "\"10.0.0.300/8\"", 0, "cidr|address", "\"10.0.0.300/8\"" } },
	{ "err_cidr_len_group", GROUPS("\"g\": { \"cidrs\": [\"10.0.0.0/8\", \"10.0.0.0/33\"] }"),
	  { "/groups/g/cidrs/1", NULL, "\"10.0.0.0/33\"", 0, "prefix|length|0-32", "\"10.0.0.0/33\"" } },
	{ "err_cidr_v6_len_group_array", GROUPS("\"g\": [\"2001:db8::/32\", \"2001:db8::/129\"]"),
	  { "/groups/g/1", NULL, "\"2001:db8::/129\"", 0, "prefix|length|0-128", NULL } },
	{ "err_cidr_garbage_except",
	  GROUPS("\"g\": { \"cidrs\": [\"10.0.0.0/8\"], \"except\": [\"10.1.0.0/1x\"] }"),
	  { "/groups/g/except/0", NULL, "\"10.1.0.0/1x\"", 0, "prefix|length|cidr", NULL } },
	{ "err_host_bits_group", GROUPS("\"clients\": { \"cidrs\": [\"198.51.100.1/24\"] }"),
	  { "/groups/clients/cidrs/0", NULL, "\"198.51.100.1/24\"", 0, "host bits", "\"198.51.100.1/24\"" } },
	{ "err_host_bits_v6_group", GROUPS("\"g\": [\"2001:db8::/48\", \"2001:db8::1/64\"]"),
	  { "/groups/g/1", NULL, "\"2001:db8::1/64\"", 0, "host bits", NULL } },
	{ "err_host_bits_rule", INGRESS("{ \"id\": \"r\", \"from\": [\"any\", \"10.1.2.3/8\"] }"),
	  { "/ingress/0/from/1", NULL, "\"10.1.2.3/8\"", 0, "host bits", NULL } },
	{ "err_except_outside",
	  GROUPS("\"g\": { \"cidrs\": [\"10.0.0.0/16\", \"2001:db8::/32\"],\n"
		 "           \"except\": [\"10.0.5.0/24\", \"10.1.0.0/24\"] }"),
	  { "/groups/g/except/1", NULL, "\"10.1.0.0/24\"", 0, "inside|outside|within|not in|contain", NULL } },
	{ "err_except_wider_than_cidr",
	  GROUPS("\"g\": { \"cidrs\": [\"10.0.0.0/16\"], \"except\": [\"10.0.0.0/8\"] }"),
	  { "/groups/g/except/0", NULL, "\"10.0.0.0/8\"", 0, "inside|outside|within|not in|contain", NULL } },
	{ "err_except_other_family",
	  GROUPS("\"g\": { \"cidrs\": [\"10.0.0.0/8\"], \"except\": [\"2001:db8::/32\"] }"),
	  { "/groups/g/except/0", NULL, "\"2001:db8::/32\"", 0, "inside|outside|within|not in|contain", NULL } },
	/* ports and ICMP types */
	{ "err_ports_with_icmp",
	  INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"proto\": \"icmp\", \"ports\": [80] }"),
	  { "/ingress/0/ports", "\"ports\":", "[", 0, "tcp|udp", NULL } },
	{ "err_ports_with_proto_any",
	  INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"proto\": \"any\", \"ports\": [80] }"),
	  { "/ingress/0/ports", "\"ports\":", "[", 0, "tcp|udp", NULL } },
	{ "err_ports_without_proto", INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"ports\": [80] }"),
	  { "/ingress/0/ports", "\"ports\":", "[", 0, "tcp|udp", NULL } },
	{ "err_ports_with_proto_47",
	  INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"proto\": 47, \"ports\": [80] }"),
	  { "/ingress/0/ports", "\"ports\":", "[", 0, "tcp|udp", NULL } },
	{ "err_icmp_types_with_tcp",
	  INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"proto\": \"tcp\", \"icmp_types\": [8] }"),
	  { "/ingress/0/icmp_types", "\"icmp_types\":", "[", 0, "icmp", NULL } },
	{ "err_port_70000",
	  INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"proto\": \"tcp\", \"ports\": [80, 70000] }"),
	  { "/ingress/0/ports/1", NULL, "70000", 0, "65535|range", "70000" } },
	{ "err_port_negative",
	  INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"proto\": \"udp\", \"ports\": [-1] }"),
	  { "/ingress/0/ports/0", "\"ports\":", "-1", 0, "65535|range|port", "-1" } },
	{ "err_port_range_hi_70000",
	  INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"proto\": \"udp\", \"ports\": [\"80-70000\"] }"),
	  { "/ingress/0/ports/0", NULL, "\"80-70000\"", 0, "65535|range", "\"80-70000\"" } },
	{ "err_port_range_empty",
	  INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"proto\": \"tcp\", \"ports\": [80, \"90-80\"] }"),
	  { "/ingress/0/ports/1", NULL, "\"90-80\"", 0, "empty range", "\"90-80\"" } },
	{ "err_port_range_garbage",
	  INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"proto\": \"tcp\", \"ports\": [\"http\"] }"),
	  { "/ingress/0/ports/0", NULL, "\"http\"", 0, "port|range", "\"http\"" } },
	{ "err_port_range_open",
	  INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"proto\": \"tcp\", \"ports\": [\"80-\"] }"),
	  { "/ingress/0/ports/0", NULL, "\"80-\"", 0, "port|range", NULL } },
	{ "err_icmp_type_name",
	  INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"proto\": \"icmp\",\n"
		  "      \"icmp_types\": [\"echo-request\", \"echo-requets\"] }"),
	  { "/ingress/0/icmp_types/1", NULL, "\"echo-requets\"", 0, "icmp|type", "\"echo-requets\"" } },
	{ "err_icmp_v6_name_on_icmp",
	  INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"proto\": \"icmp\", \"icmp_types\": [\"packet-too-big\"] }"),
	  { "/ingress/0/icmp_types/0", NULL, "\"packet-too-big\"", 0, "icmp|type", NULL } },
	{ "err_icmp_v4_name_on_icmpv6",
	  INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"proto\": \"icmpv6\", \"icmp_types\": [\"redirect\"] }"),
	  { "/ingress/0/icmp_types/0", NULL, "\"redirect\"", 0, "icmp|type", NULL } },
	{ "err_icmp_type_256",
	  INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"proto\": \"icmp\", \"icmp_types\": [256] }"),
	  { "/ingress/0/icmp_types/0", NULL, "256", 0, "255|range", "256" } },
	{ "err_icmp_type_range_empty",
	  INGRESS("{ \"id\": \"r\", \"from\": [\"any\"], \"proto\": \"icmp\", \"icmp_types\": [\"11-3\"] }"),
	  { "/ingress/0/icmp_types/0", NULL, "\"11-3\"", 0, "empty range", NULL } },
	/* ids, references */
	{ "err_duplicate_id",
	  HDR "  \"ingress\": [\n"
	      "    { \"id\": \"web\", \"from\": [\"any\"] },\n"
	      "    { \"id\": \"web\", \"from\": [\"any\"], \"proto\": \"udp\" }\n"
	      "  ]\n}\n",
	  { "/ingress/1/id", NULL, "\"web\"", 2, "duplicate", NULL } },
	{ "err_duplicate_id_across_directions",
	  HDR "  \"ingress\": [ { \"id\": \"dup\", \"from\": [\"any\"] } ],\n"
	      "  \"egress\": [\n      { \"id\": \"dup\", \"to\": [\"any\"] } ]\n}\n",
	  { "/egress/0/id", NULL, "\"dup\"", 2, "duplicate", NULL } },
	{ "err_unknown_group",
	  HDR "  \"groups\": { \"web\": [\"10.0.0.0/8\"] },\n"
	      "  \"ingress\": [\n    { \"id\": \"r\", \"from\": [\"web\", \"nosuch\"] }\n  ]\n}\n",
	  { "/ingress/0/from/1", NULL, "\"nosuch\"", 0, "group", "\"nosuch\"" } },
	{ "err_unknown_rate_limit",
	  HDR "  \"rate_limits\": { \"api\": { \"pps\": 10 } },\n"
	      "  \"ingress\": [\n    { \"id\": \"r\", \"from\": [\"any\"], \"rate_limit\": \"nope\" }\n  ]\n}\n",
	  { "/ingress/0/rate_limit", NULL, "\"nope\"", 0, "rate limit|rate_limit|unknown", "\"nope\"" } },
	{ "err_rate_limit_on_deny",
	  HDR "  \"rate_limits\": { \"api\": { \"pps\": 10 } },\n"
	      "  \"ingress\": [\n"
	      "    { \"id\": \"r\", \"action\": \"deny\", \"from\": [\"any\"], \"rate_limit\": \"api\" }\n"
	      "  ]\n}\n",
	  { "/ingress/0/rate_limit", "\"rate_limit\":", "\"api\"", 0, "allow|deny", NULL } },
	/* rate limits */
	{ "err_rate_limit_pps_0", HDR "  \"rate_limits\": { \"rl\": { \"pps\": 0 } }\n}\n",
	  { "/rate_limits/rl/pps", "\"pps\":", "0", 0, "range|>= 1|1-", "0" } },
	{ "err_rate_limit_no_pps", HDR "  \"rate_limits\": { \"rl\": { \"burst\": 5 } }\n}\n",
	  { "/rate_limits/rl|/rate_limits/rl/pps", "\"rl\":", "{", 0, "pps", NULL } },
	{ "err_rate_limit_key", HDR "  \"rate_limits\": { \"rl\": { \"pps\": 1, \"key\": \"destination\" } }\n}\n",
	  { "/rate_limits/rl/key", NULL, "\"destination\"", 0, "source", NULL } },
	{ "err_rate_limit_ipv4_prefix_33",
	  HDR "  \"rate_limits\": { \"rl\": { \"pps\": 1, \"ipv4_prefix\": 33 } }\n}\n",
	  { "/rate_limits/rl/ipv4_prefix", NULL, "33", 0, "32|range", "33" } },
	{ "err_rate_limit_ipv6_prefix_129",
	  HDR "  \"rate_limits\": { \"rl\": { \"pps\": 1, \"ipv6_prefix\": 129 } }\n}\n",
	  { "/rate_limits/rl/ipv6_prefix", NULL, "129", 0, "128|range", "129" } },
};

static void run_err_case(void **state)
{
	const struct err_case *c = *state;
	struct policy p;
	struct diags d;
	int rc = parse(c->doc, &p, &d);

	if (rc != -EINVAL || d.nerrors != 1) {
		size_t nerrors = d.nerrors;

		dump_diags(c->name, &d);
		diags__free(&d);
		if (rc == 0)
			policy__free(&p);
		fail_msg("%s: policy__parse returned %d with %zu errors, expected -EINVAL and 1",
			 c->name, rc, nerrors);
	}
	expect_error(c->doc, &d, &c->e);
	diags__free(&d);
}

/* ---- JSON syntax errors ------------------------------------------------------- */

static void test_err_json_syntax(void **state)
{
	/* the second ',' is on line 4, column 42 */
	const char *doc = "{\n"
			  "  \"version\": 1,\n"
			  "  \"name\": \"x\",\n"
			  "  \"ingress\": [ { \"id\": \"a\", \"ports\": [80,, 443] } ]\n"
			  "}\n";
	struct policy p;
	struct diags d;
	int line, col;

	assert_int_equal(parse(doc, &p, &d), -EINVAL);
	assert_int_equal(d.nerrors, 1);
	locate(doc, "[80,", ",", 2, &line, &col);
	assert_int_equal(line, 4); /* the helper agrees with a count by hand */
	assert_int_equal(col, 42);
	if (d.v[0].line != 4 || d.v[0].col != 42) {
		dump_diags("syntax error", &d);
		fail_msg("syntax error located at %d:%d, expected 4:42", d.v[0].line, d.v[0].col);
	}
	assert_non_null(d.v[0].reason);
	diags__free(&d);
}

static void test_err_json_trailing_comma(void **state)
{
	const char *doc = "{\n"
			  "  \"version\": 1,\n"
			  "  \"name\": \"x\", }\n";
	struct policy p;
	struct diags d;

	assert_int_equal(parse(doc, &p, &d), -EINVAL);
	assert_int_equal(d.nerrors, 1);
	if (d.v[0].line != 3 || d.v[0].col != 16) {
		dump_diags("trailing comma", &d);
		fail_msg("syntax error located at %d:%d, expected 3:16", d.v[0].line, d.v[0].col);
	}
	diags__free(&d);
}

/*
 * Rule arrays are decoded one rule at a time (agent/json_split.c); these
 * pin down that it reads the same language as one json_loadb() of the
 * whole document.
 */
static void test_stream_rules_before_groups(void **state)
{
	/* rules first, the group they name after them; brackets, braces and an
	 * escaped quote inside strings of a rule must not end the rule */
	const char *doc = "{\"ingress\": [ {\"id\": \"r1\", \"from\": [\"g\"], \"proto\": \"tcp\","
			  " \"ports\": [80], \"description\": \"] } [ { \\\" ,\"},"
			  " {\"id\": \"r2\", \"from\": [\"198.51.100.7/32\"]} ],"
			  " \"version\": 1, \"name\": \"s\","
			  " \"groups\": {\"g\": [\"192.0.2.0/24\", \"2001:db8::/32\"]} }";
	struct policy p;
	struct diags d;

	if (parse(doc, &p, &d)) {
		dump_diags("rules before groups", &d);
		fail_msg("a valid policy with its rules before its groups was refused");
	}
	assert_int_equal(p.nrules, 2);
	assert_string_equal(p.rules[0].id, "r1");
	assert_string_equal(p.rules[1].id, "r2");
	assert_int_equal(p.rules[0].nterms, 1);
	assert_string_equal(p.terms[p.rules[0].terms[0]].name, "g");
	assert_int_equal(p.terms[p.rules[0].terms[0]].set.nincl, 2);
	policy__free(&p);
	diags__free(&d);
}

static void test_stream_syntax_error_only(void **state)
{
	/* rule a has a semantic error, rule b a syntax error (a leading zero,
	 * which only a JSON decoder sees): the syntax error alone is reported */
	const char *doc = "{\"version\": 1, \"name\": \"x\", \"ingress\": [\n"
			  "  {\"id\": \"a\", \"from\": [\"nosuchgroup\"]},\n"
			  "  {\"id\": \"b\", \"from\": [\"any\"], \"ports\": [01]} ]}";
	struct policy p;
	struct diags d;

	assert_int_equal(parse(doc, &p, &d), -EINVAL);
	if (d.nerrors != 1 || d.v[0].line != 3 || !strstr(d.v[0].reason, "invalid JSON")) {
		dump_diags("syntax error in a later rule", &d);
		fail_msg("expected one 'invalid JSON' error on line 3");
	}
	diags__free(&d);
}

static void test_stream_duplicate_rule_array(void **state)
{
	const char *doc = "{\"version\": 1, \"name\": \"x\","
			  " \"ingress\": [{\"id\": \"a\", \"from\": [\"any\"]}],"
			  " \"ingress\": [{\"id\": \"b\", \"from\": [\"any\"]}]}";
	struct policy p;
	struct diags d;

	assert_int_equal(parse(doc, &p, &d), -EINVAL);
	if (d.nerrors != 1 || !strstr(d.v[0].reason, "duplicate")) {
		dump_diags("two ingress arrays", &d);
		fail_msg("expected one error naming the duplicate key");
	}
	diags__free(&d);
}

static void test_stream_trailing_garbage(void **state)
{
	const char *doc = "{\"version\": 1, \"name\": \"x\", \"ingress\": []} x";
	struct policy p;
	struct diags d;

	assert_int_equal(parse(doc, &p, &d), -EINVAL);
	assert_int_equal(d.nerrors, 1);
	assert_non_null(strstr(d.v[0].reason, "invalid JSON"));
	diags__free(&d);
}

static void test_err_empty_document(void **state)
{
	struct policy p;
	struct diags d;

	assert_int_equal(parse("", &p, &d), -EINVAL);
	assert_true(d.nerrors >= 1);
	diags__free(&d);
	assert_int_equal(parse("   \n", &p, &d), -EINVAL);
	assert_true(d.nerrors >= 1);
	diags__free(&d);
}

/* ---- several errors: every one reported, each located ---------------------- */

static const char multi_doc[] =
	"{\n"
	"  \"version\": 2,\n"
	"  \"name\": \"multi\",\n"
	"  \"colour\": \"red\",\n"
	"  \"groups\": {\n"
	"    \"web\": { \"cidrs\": [\"10.0.0.1/8\"] }\n"
	"  },\n"
	"  \"ingress\": [\n"
	"    { \"id\": \"a\", \"from\": [\"any\"], \"proto\": \"tcp\", \"ports\": [70000, \"90-80\"] },\n"
	"    { \"id\": \"a\", \"from\": [\"nosuch\"], \"proto\": \"icmp\", \"icmp_types\": [\"bogus\"] }\n"
	"  ],\n"
	"  \"egress\": [\n"
	"    { \"id\": \"b\", \"to\": [\"any\"], \"action\": \"deny\", \"audit\": \"yes\" }\n"
	"  ]\n"
	"}\n";

static void test_err_multi(void **state)
{
	static const struct expect want[] = {
		{ "/version", "\"version\":", "2", 0, "1|version", NULL },
		{ "/colour", "\"colour\":", "\"red\"", 0, "unknown", NULL },
		{ "/groups/web/cidrs/0", NULL, "\"10.0.0.1/8\"", 0, "host bits", NULL },
		{ "/ingress/0/ports/0", NULL, "70000", 0, "65535|range", NULL },
		{ "/ingress/0/ports/1", NULL, "\"90-80\"", 0, "empty range", NULL },
		{ "/ingress/1/id", NULL, "\"a\"", 2, "duplicate", NULL },
		{ "/ingress/1/from/0", NULL, "\"nosuch\"", 0, "group", NULL },
		{ "/ingress/1/icmp_types/0", NULL, "\"bogus\"", 0, "icmp|type", NULL },
		{ "/egress/0/audit", "\"audit\":", "\"yes\"", 0, "true|bool", NULL },
	};
	struct policy p;
	struct diags d;
	int rc = parse(multi_doc, &p, &d);

	if (rc != -EINVAL || d.nerrors != ARRAY_SIZE(want)) {
		dump_diags("multi", &d);
		fail_msg("policy__parse returned %d with %zu errors, expected -EINVAL and %zu", rc,
			 d.nerrors, ARRAY_SIZE(want));
	}
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		expect_error(multi_doc, &d, &want[i]);
	diags__free(&d);
}

/* The printed form: FILE:LINE:COL: /pointer: value: reason (docs/policy.md). */
static void test_err_print_format(void **state)
{
	/* the docs' example geometry: "90-80" at 12:17 */
	const char *doc = "{\n"
			  "  \"version\": 1,\n"
			  "  \"name\": \"bad\",\n"
			  "  \"ingress\": [\n"
			  "    {\n"
			  "      \"id\": \"web\",\n"
			  "      \"from\": [\"any\"],\n"
			  "      \"proto\": \"tcp\",\n"
			  "      \"ports\": [\n"
			  "\n"
			  "\n"
			  "        80, 81, \"90-80\"]}]}\n";
	const char *want = "policies/bad.json:12:17: /ingress/0/ports/2: \"90-80\": ";
	char *out = NULL;
	size_t outlen = 0;
	struct policy p;
	struct diags d;
	FILE *f;

	assert_int_equal(parse(doc, &p, &d), -EINVAL);
	assert_int_equal(d.nerrors, 1);
	f = open_memstream(&out, &outlen);
	assert_non_null(f);
	diags__print(&d, "policies/bad.json", f);
	fclose(f);
	assert_non_null(out);
	if (strncmp(out, want, strlen(want)) || !strstr(out, "empty range") || !outlen ||
	    out[outlen - 1] != '\n')
		fail_msg("printed '%s', expected '%sempty range ...'", out, want);
	free(out);
	diags__free(&d);
}

/* ---- cidr__parse, names ---------------------------------------------------- */

static void expect_cidr(const char *s, uint8_t family, uint8_t len, const char *addr)
{
	uint8_t want[16] = { 0 };
	const char *why = NULL;
	struct cidr c;

	if (cidr__parse(s, &c, &why))
		fail_msg("cidr__parse(\"%s\") failed: %s", s, why ? why : "(no reason)");
	assert_int_equal(c.family, family);
	assert_int_equal(c.len, len);
	assert_int_equal(inet_pton(family == WARD_FAM_V4 ? AF_INET : AF_INET6, addr, want), 1);
	assert_memory_equal(c.addr, want, 16); /* IPv4 in addr[0..3], rest zero */
}

static void expect_bad_cidr(const char *s, const char *reason)
{
	const char *why = NULL;
	struct cidr c;
	int rc = cidr__parse(s, &c, &why);

	if (rc != -EINVAL)
		fail_msg("cidr__parse(\"%s\") returned %d, expected -EINVAL", s, rc);
	if (!why || !*why)
		fail_msg("cidr__parse(\"%s\") gave no reason", s);
	if (reason && !alt_match(reason, why, true))
		fail_msg("cidr__parse(\"%s\"): reason '%s' mentions none of '%s'", s, why, reason);
}

static void test_cidr_ipv4(void **state)
{
	expect_cidr("192.0.2.0/24", WARD_FAM_V4, 24, "192.0.2.0");
	expect_cidr("10.0.0.0/8", WARD_FAM_V4, 8, "10.0.0.0");
	expect_cidr("0.0.0.0/0", WARD_FAM_V4, 0, "0.0.0.0");
	expect_cidr("203.0.113.10/32", WARD_FAM_V4, 32, "203.0.113.10");
	expect_cidr("172.16.0.0/12", WARD_FAM_V4, 12, "172.16.0.0");
}

static void test_cidr_ipv6(void **state)
{
	expect_cidr("2001:db8::/32", WARD_FAM_V6, 32, "2001:db8::");
	expect_cidr("2001:db8:20::/48", WARD_FAM_V6, 48, "2001:db8:20::");
	expect_cidr("::/0", WARD_FAM_V6, 0, "::");
	expect_cidr("2001:db8::1/128", WARD_FAM_V6, 128, "2001:db8::1");
	expect_cidr("fe80::/10", WARD_FAM_V6, 10, "fe80::");
	expect_cidr("::ffff:192.0.2.0/120", WARD_FAM_V6, 120, "::ffff:192.0.2.0");
}

static void test_cidr_bare_host(void **state)
{
	expect_cidr("192.0.2.7", WARD_FAM_V4, 32, "192.0.2.7");
	expect_cidr("2001:db8::7", WARD_FAM_V6, 128, "2001:db8::7");
	expect_cidr("::1", WARD_FAM_V6, 128, "::1");
}

static void test_cidr_bad_len(void **state)
{
	expect_bad_cidr("10.0.0.0/33", "prefix|length|32");
	expect_bad_cidr("0.0.0.0/33", NULL);
	expect_bad_cidr("2001:db8::/129", "prefix|length|128");
	expect_bad_cidr("::/129", NULL);
	expect_bad_cidr("10.0.0.0/-1", NULL);
	expect_bad_cidr("10.0.0.0/", NULL);
	expect_bad_cidr("10.0.0.0/8x", NULL);
	expect_bad_cidr("10.0.0.0/ab", NULL);
	expect_bad_cidr("10.0.0.0/8/8", NULL);
	expect_bad_cidr("10.0.0.0/4294967304", NULL); /* 2^32 + 8 must not wrap to 8 */
}

static void test_cidr_host_bits(void **state)
{
	expect_bad_cidr("198.51.100.1/24", "host bits");
	expect_bad_cidr("10.0.0.0/6", "host bits"); /* 10 = 0b000010|10: a host bit set */
	expect_bad_cidr("11.0.0.0/7", "host bits");
	expect_cidr("10.0.0.0/7", WARD_FAM_V4, 7, "10.0.0.0"); /* 0b0000101|0: none */
	expect_bad_cidr("2001:db8::1/64", "host bits");
	expect_bad_cidr("::1/127", "host bits");
}

static void test_cidr_garbage(void **state)
{
	static const char *const bad[] = {
		"", "garbage", "any", "/8", "10.0.0/8", "10.0.0.256/32", "10.0.0.0.0/8",
		"1.2.3.4 /32", " 1.2.3.4/32", "2001:db8:::/32", "2001:db8::g/64", "10.0.0.0\\8",
		"0x0a.0.0.0/8", "10.0.0.0/32 ", "1.2.3.4/32/",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		expect_bad_cidr(bad[i], NULL);
}

static void test_cidr_contains(void **state)
{
	struct cidr a, b, c6;
	const char *why;

	assert_int_equal(cidr__parse("10.0.0.0/8", &a, &why), 0);
	assert_int_equal(cidr__parse("10.1.0.0/16", &b, &why), 0);
	assert_int_equal(cidr__parse("::/0", &c6, &why), 0);
	assert_true(cidr__contains(&a, &b));
	assert_false(cidr__contains(&b, &a));
	assert_true(cidr__contains(&a, &a));
	assert_false(cidr__contains(&c6, &a)); /* ::/0 does not hold IPv4 */
}

static void test_proto_names(void **state)
{
	assert_int_equal(proto__from_name("tcp"), 6);
	assert_int_equal(proto__from_name("udp"), 17);
	assert_int_equal(proto__from_name("icmp"), 1);
	assert_int_equal(proto__from_name("icmpv6"), 58);
	/* unknown: negative, and distinguishable from "any" */
	assert_true(proto__from_name("sctpx") < 0);
	assert_true(proto__from_name("") < 0);
	assert_string_equal(proto__name(6), "tcp");
	assert_string_equal(proto__name(17), "udp");
	assert_string_equal(proto__name(1), "icmp");
	assert_string_equal(proto__name(58), "icmpv6");
	assert_null(proto__name(47));
}

static void test_icmp_names(void **state)
{
	static const struct {
		const char *name;
		int v4, v6;
	} t[] = {
		{ "echo-reply", 0, 129 },
		{ "destination-unreachable", 3, 1 },
		{ "redirect", 5, -1 },
		{ "echo-request", 8, 128 },
		{ "router-advertisement", 9, 134 },
		{ "router-solicitation", 10, 133 },
		{ "time-exceeded", 11, 3 },
		{ "parameter-problem", 12, 4 },
		{ "timestamp-request", 13, -1 },
		{ "timestamp-reply", 14, -1 },
		{ "packet-too-big", -1, 2 },
		{ "neighbor-solicitation", -1, 135 },
		{ "neighbor-advertisement", -1, 136 },
		{ "echo", -1, -1 },
		{ "", -1, -1 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		int v4 = icmp_type__from_name(t[i].name, false);
		int v6 = icmp_type__from_name(t[i].name, true);

		if (v4 != t[i].v4 || v6 != t[i].v6)
			fail_msg("icmp_type__from_name(\"%s\"): v4 %d v6 %d, expected %d %d",
				 t[i].name, v4, v6, t[i].v4, t[i].v6);
	}
}

/* The proto of an unknown name must not read as "any" (POLICY_PROTO_ANY). */
static void test_proto_unknown_not_any(void **state)
{
	int any = proto__from_name("any");

	assert_int_equal(any, POLICY_PROTO_ANY);
	assert_int_not_equal(proto__from_name("sctpx"), POLICY_PROTO_ANY);
}

/* ---- compiler ------------------------------------------------------------------ */

static void compile_doc(const char *doc, struct policy *p, struct compiled *c)
{
	struct diags d = { 0 };
	int rc;

	parse_ok(doc, p);
	memset(c, 0, sizeof(*c));
	rc = policy__compile(p, c, &d);
	if (rc != 0 || d.nerrors) {
		dump_diags("compile", &d);
		fail_msg("policy__compile returned %d with %zu errors", rc, d.nerrors);
	}
	diags__free(&d);
}

static const struct addr_entry *find_addr(const struct compiled *c, uint8_t family, uint32_t bits,
					  const char *addr)
{
	uint8_t a[16] = { 0 };

	assert_int_equal(inet_pton(family == WARD_FAM_V4 ? AF_INET : AF_INET6, addr, a), 1);
	for (size_t i = 0; i < c->naddrs; i++) {
		const struct ward_addr_key *k = &c->addrs[i].key;

		if (k->family == family && k->prefixlen == 8 + bits && !memcmp(k->addr, a, 16))
			return &c->addrs[i];
	}
	fail_msg("no address entry %s/%u", addr, bits);
	return NULL;
}

static const struct rule_entry *find_rule_entry(const struct compiled *c, uint32_t cls, uint8_t dir,
						uint8_t proto, uint16_t port, uint32_t prefixlen)
{
	for (size_t i = 0; i < c->nrules; i++) {
		const struct ward_rule_key *k = &c->rules[i].key;

		if (ntohl(k->class_id) == cls && k->dir == dir && k->proto == proto &&
		    ntohs(k->port) == port && k->prefixlen == prefixlen)
			return &c->rules[i];
	}
	fail_msg("no rule entry class %u dir %u proto %u port %u /%u", cls, dir, proto, port,
		 prefixlen);
	return NULL;
}

static void test_compile_minimal(void **state)
{
	struct compiled c;
	struct policy p;

	compile_doc("{\"version\": 1, \"name\": \"m\", \"defaults\": {\"egress\": \"allow\"}}", &p, &c);
	assert_int_equal(c.naddrs, 0);
	assert_int_equal(c.nrules, 0);
	assert_int_equal(c.cfg.default_action[WARD_DIR_INGRESS], WARD_ACT_DENY);
	assert_int_equal(c.cfg.default_action[WARD_DIR_EGRESS], WARD_ACT_ALLOW);
	assert_int_equal(c.cfg.mode, WARD_MODE_ENFORCE);
	compiled__free(&c);
	policy__free(&p);
}

static void test_compile_tiny(void **state)
{
	const char *doc =
		"{\"version\": 1, \"name\": \"tiny\", \"mode\": \"audit\",\n"
		" \"ingress\": [{\"id\": \"ssh\", \"from\": [\"10.0.0.0/8\"], \"proto\": \"tcp\",\n"
		"               \"ports\": [22, \"80-81\"]}],\n"
		" \"egress\": [{\"id\": \"dns\", \"to\": [\"2001:db8::/32\"], \"proto\": \"udp\"}]}\n";
	const struct addr_entry *a4, *a6;
	const struct rule_entry *r;
	struct compiled c;
	struct policy p;
	uint32_t c4, c6;

	compile_doc(doc, &p, &c);
	/* one entry per distinct prefix; 22 (/64) + 80-81 (/63) + udp any port (/48) */
	assert_int_equal(c.naddrs, 2);
	assert_int_equal(c.nrules, 3);
	assert_int_equal(c.cfg.mode, WARD_MODE_AUDIT);

	a4 = find_addr(&c, WARD_FAM_V4, 8, "10.0.0.0");
	a6 = find_addr(&c, WARD_FAM_V6, 32, "2001:db8::");
	c4 = a4->val.class_id[0];
	c6 = a6->val.class_id[0];
	assert_int_not_equal(c4, 0);
	assert_int_not_equal(c6, 0);
	assert_int_not_equal(c4, c6);

	r = find_rule_entry(&c, c4, WARD_DIR_INGRESS, 6, 22, 64);
	assert_int_equal(r->val.action, WARD_ACT_ALLOW);
	assert_string_equal(p.rules[r->val.rule_idx].id, "ssh");
	assert_int_equal(r->val.rl_slot, 0);
	r = find_rule_entry(&c, c4, WARD_DIR_INGRESS, 6, 80, 63);
	assert_int_equal(r->val.action, WARD_ACT_ALLOW);
	assert_string_equal(p.rules[r->val.rule_idx].id, "ssh");
	r = find_rule_entry(&c, c6, WARD_DIR_EGRESS, 17, 0, 48);
	assert_int_equal(r->val.action, WARD_ACT_ALLOW);
	assert_string_equal(p.rules[r->val.rule_idx].id, "dns");
	compiled__free(&c);
	policy__free(&p);
}

/* Rule flags and rate-limit slots reach the entries. */
static void test_compile_flags(void **state)
{
	const char *doc =
		"{\"version\": 1, \"name\": \"flags\", \"defaults\": {\"log\": \"none\"},\n"
		" \"rate_limits\": {\"api\": {\"pps\": 100}},\n"
		" \"ingress\": [\n"
		"  {\"id\": \"obs\", \"action\": \"deny\", \"from\": [\"10.0.0.0/8\"], \"audit\": true,\n"
		"   \"log\": true},\n"
		"  {\"id\": \"api\", \"from\": [\"192.0.2.0/24\"], \"proto\": \"tcp\", \"ports\": [443],\n"
		"   \"rate_limit\": \"api\"}]}\n";
	const struct rule_entry *r;
	struct compiled c;
	struct policy p;

	compile_doc(doc, &p, &c);
	assert_int_equal(c.naddrs, 2);
	assert_int_equal(c.nrules, 2);
	r = find_rule_entry(&c, find_addr(&c, WARD_FAM_V4, 8, "10.0.0.0")->val.class_id[0],
			    WARD_DIR_INGRESS, 0, 0, 40); /* any protocol */
	assert_int_equal(r->val.action, WARD_ACT_DENY);
	assert_int_equal(r->val.flags, WARD_RF_AUDIT | WARD_RF_LOG);
	assert_int_equal(r->val.rl_slot, 0);
	r = find_rule_entry(&c, find_addr(&c, WARD_FAM_V4, 24, "192.0.2.0")->val.class_id[0],
			    WARD_DIR_INGRESS, 6, 443, 64);
	assert_int_equal(r->val.action, WARD_ACT_ALLOW);
	assert_int_equal(r->val.flags, 0);
	assert_int_not_equal(r->val.rl_slot, 0); /* slot 0 = none */
	compiled__free(&c);
	policy__free(&p);
}

/* Order test: same rules, every array reversed (and egress before ingress). */
#define ORDER_GROUPS                                                                         \
	"\"groups\": {\"g1\": {\"cidrs\": [\"10.0.0.0/8\", \"2001:db8:1::/48\"],"            \
	" \"except\": [\"10.2.0.0/16\"]}, \"g2\": [\"10.1.0.0/16\", \"192.0.2.0/24\"]},\n"   \
	" \"rate_limits\": {\"rl\": {\"pps\": 5}},\n"
#define R_IN1 "{\"id\": \"i1\", \"from\": [\"g1\"], \"proto\": \"tcp\", \"ports\": [22, \"8000-8100\"]}"
#define R_IN2 "{\"id\": \"i2\", \"action\": \"deny\", \"from\": [\"10.1.0.0/16\"], \"proto\": \"tcp\", \"ports\": [8080]}"
#define R_IN3 "{\"id\": \"i3\", \"from\": [\"2001:db8::/32\", \"10.0.0.0/8\"], \"proto\": \"udp\"}"
#define R_IN4 "{\"id\": \"i4\", \"from\": [\"any\"], \"proto\": \"icmp\", \"icmp_types\": [\"echo-request\"]}"
#define R_IN5 "{\"id\": \"i5\", \"action\": \"deny\", \"from\": [\"g2\"], \"audit\": true}"
#define R_EG1 "{\"id\": \"e1\", \"to\": [\"192.0.2.0/24\"], \"proto\": \"tcp\", \"ports\": [443], \"rate_limit\": \"rl\"}"
#define R_EG2 "{\"id\": \"e2\", \"action\": \"deny\", \"to\": [\"g1\"]}"
#define R_EG3 "{\"id\": \"e3\", \"to\": [\"any\", \"10.1.0.0/16\"], \"proto\": \"tcp\", \"ports\": [\"1-1023\"]}"

static const char order_a[] =
	"{\"version\": 1, \"name\": \"order\",\n " ORDER_GROUPS
	" \"ingress\": [" R_IN1 ",\n " R_IN2 ",\n " R_IN3 ",\n " R_IN4 ",\n " R_IN5 "],\n"
	" \"egress\": [" R_EG1 ",\n " R_EG2 ",\n " R_EG3 "]}\n";
static const char order_b[] =
	"{\"version\": 1, \"name\": \"order\",\n " ORDER_GROUPS
	" \"egress\": [" R_EG3 ",\n " R_EG2 ",\n " R_EG1 "],\n"
	" \"ingress\": [" R_IN5 ",\n " R_IN4 ",\n " R_IN3 ",\n " R_IN2 ",\n " R_IN1 "]}\n";

struct norm_addr {
	struct ward_addr_key key;
	uint32_t cls;
};

struct norm_rule {
	struct ward_rule_key key;
	uint8_t action, flags;
	uint16_t rl_slot;
	char id[WARD_NAME_LEN];
};

static int cmp_norm_addr(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct norm_addr));
}

static int cmp_norm_rule(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct norm_rule));
}

struct class_map {
	uint32_t from[4096], to[4096];
	size_t n;
};

static uint32_t map_class(struct class_map *m, uint32_t cls, bool canon)
{
	if (!canon || cls == 0)
		return cls;
	for (size_t i = 0; i < m->n; i++)
		if (m->from[i] == cls)
			return m->to[i];
	assert_true(m->n < ARRAY_SIZE(m->from));
	m->from[m->n] = cls;
	m->to[m->n] = m->n + 1;
	return m->to[m->n++];
}

/*
 * Sorted, comparable copies of the entries: rule_idx replaced by the rule id
 * (stats slots may follow document order); with canon, class ids renumbered
 * by the first address entry (sorted by key) that names them.
 */
static void normalize(const struct policy *p, const struct compiled *c, bool canon,
		      struct norm_addr **ra, struct norm_rule **rr)
{
	struct class_map *m = calloc(1, sizeof(*m));
	struct norm_addr *a = calloc(c->naddrs + 1, sizeof(*a));
	struct norm_rule *r = calloc(c->nrules + 1, sizeof(*r));

	assert_non_null(m);
	assert_non_null(a);
	assert_non_null(r);
	for (size_t i = 0; i < c->naddrs; i++) {
		a[i].key = c->addrs[i].key;
		a[i].cls = c->addrs[i].val.class_id[0];
	}
	qsort(a, c->naddrs, sizeof(*a), cmp_norm_addr);
	for (size_t i = 0; i < c->naddrs; i++)
		a[i].cls = map_class(m, a[i].cls, canon);
	for (size_t i = 0; i < c->nrules; i++) {
		const struct rule_entry *e = &c->rules[i];

		r[i].key = e->key;
		r[i].key.class_id = htonl(map_class(m, ntohl(e->key.class_id), canon));
		r[i].action = e->val.action;
		r[i].flags = e->val.flags;
		r[i].rl_slot = e->val.rl_slot;
		assert_true(e->val.rule_idx < p->nrules);
		snprintf(r[i].id, sizeof(r[i].id), "%s", p->rules[e->val.rule_idx].id);
	}
	qsort(r, c->nrules, sizeof(*r), cmp_norm_rule);
	free(m);
	*ra = a;
	*rr = r;
}

static void compare_order(bool canon)
{
	struct compiled ca, cb;
	struct policy pa, pb;
	struct norm_addr *na, *nb;
	struct norm_rule *ra, *rb;

	compile_doc(order_a, &pa, &ca);
	compile_doc(order_b, &pb, &cb);
	assert_int_equal(ca.naddrs, cb.naddrs);
	assert_int_equal(ca.nrules, cb.nrules);
	assert_int_equal(ca.nclasses, cb.nclasses);
	assert_memory_equal(&ca.cfg, &cb.cfg, sizeof(ca.cfg));
	assert_true(ca.naddrs > 0);
	assert_true(ca.nrules > 0);
	normalize(&pa, &ca, canon, &na, &ra);
	normalize(&pb, &cb, canon, &nb, &rb);
	for (size_t i = 0; i < ca.naddrs; i++) {
		if (memcmp(&na[i], &nb[i], sizeof(na[i])))
			fail_msg("address entry %zu differs: prefixlen %u fam %u class %u vs "
				 "prefixlen %u fam %u class %u",
				 i, na[i].key.prefixlen, na[i].key.family, na[i].cls,
				 nb[i].key.prefixlen, nb[i].key.family, nb[i].cls);
	}
	for (size_t i = 0; i < ca.nrules; i++) {
		if (memcmp(&ra[i], &rb[i], sizeof(ra[i])))
			fail_msg("rule entry %zu differs: class %u dir %u proto %u port %u /%u "
				 "%s act %u vs class %u dir %u proto %u port %u /%u %s act %u",
				 i, ntohl(ra[i].key.class_id), ra[i].key.dir, ra[i].key.proto,
				 ntohs(ra[i].key.port), ra[i].key.prefixlen, ra[i].id,
				 ra[i].action, ntohl(rb[i].key.class_id), rb[i].key.dir,
				 rb[i].key.proto, ntohs(rb[i].key.port), rb[i].key.prefixlen,
				 rb[i].id, rb[i].action);
	}
	free(na);
	free(nb);
	free(ra);
	free(rb);
	compiled__free(&ca);
	compiled__free(&cb);
	policy__free(&pa);
	policy__free(&pb);
}

/* Same lookups whatever the rule order (class ids renumbered canonically). */
static void test_compile_order_independent(void **state)
{
	compare_order(true);
}

/* Stronger: the very same entries, class ids included (only rule_idx mapped to ids). */
/*
 * json_pos skips the containers no pointer points into: what it skips
 * (brackets and quotes inside strings, escaped quotes, newlines) must leave
 * the positions after it exactly where a full walk puts them.
 */
static void test_json_pos_skips(void **state)
{
	static const char doc[] =
		"{\n"
		"  \"a\": [ {\"s\": \"x]}\\\"[{\", \"n\": [1,\n"
		"     2]}, \"q\\\\\", [\"]\"] ],\n"
		"  \"skip\": { \"deep\": [ [ { \"k\": \"{[\\\"]\\n\" } ] ], \"w\": 5,\n"
		"            \"more\": \"}\" },\n"
		"  \"b~c/d\": { \"e\": [ 10, 20,\n"
		"      { \"f\": \"tail\" } ] },\n"
		"  \"z\": [ [ ], {}, \"}\" ]\n"
		"}\n";
	static const struct {
		const char *pointer, *ctx, *at;
	} want[] = {
		{ "/a", "\"a\"", "[" },
		{ "/a/0/n/1", "\"n\"", "2" },
		{ "/a/2/0", "\"q", "\"]\"" },
		{ "/skip/w", "\"w\"", "5" },
		{ "/skip/more", "\"more\"", "\"}\"" },
		{ "/b~0c~1d/e/2/f", "\"f\"", "\"tail\"" },
		{ "/z/2", "\"z\"", "\"}\"" },
	};
	struct diags d = {};
	int line, col;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		diags__add(&d, false, want[i].pointer, NULL, "here");
	diags__add(&d, false, "/skip/nothere", NULL, "absent");
	json_pos__resolve(doc, strlen(doc), &d);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		locate(doc, want[i].ctx, want[i].at, 1, &line, &col);
		if (d.v[i].line != line || d.v[i].col != col)
			fail_msg("%s located at %d:%d, expected %d:%d", want[i].pointer, d.v[i].line,
				 d.v[i].col, line, col);
	}
	assert_int_equal(d.v[ARRAY_SIZE(want)].line, 0); /* no such value: not located */
	diags__free(&d);
}

static void test_compile_order_identical(void **state)
{
	compare_order(false);
}

/* ---- main ------------------------------------------------------------------------- */

#define T(f) { #f, f, NULL, NULL, NULL }

static const struct CMUnitTest fixed_tests[] = {
	T(test_parse_minimal),
	T(test_parse_sha256),
	T(test_parse_respects_len),
	T(test_parse_full_header),
	T(test_parse_full_groups),
	T(test_parse_full_rate_limits),
	T(test_parse_full_rules),
	T(test_parse_edges),
	T(test_parse_63_byte_names),
	T(test_parse_rule_id_free_text),
	T(test_err_json_syntax),
	T(test_err_json_trailing_comma),
	T(test_stream_rules_before_groups),
	T(test_stream_syntax_error_only),
	T(test_stream_duplicate_rule_array),
	T(test_stream_trailing_garbage),
	T(test_err_empty_document),
	T(test_err_multi),
	T(test_err_print_format),
	T(test_cidr_ipv4),
	T(test_cidr_ipv6),
	T(test_cidr_bare_host),
	T(test_cidr_bad_len),
	T(test_cidr_host_bits),
	T(test_cidr_garbage),
	T(test_cidr_contains),
	T(test_proto_names),
	T(test_proto_unknown_not_any),
	T(test_icmp_names),
	T(test_compile_minimal),
	T(test_compile_tiny),
	T(test_compile_flags),
	T(test_compile_order_independent),
	T(test_compile_order_identical),
	T(test_json_pos_skips),
};

int main(void)
{
	size_t nfixed = ARRAY_SIZE(fixed_tests), n = nfixed + ARRAY_SIZE(err_cases);
	struct CMUnitTest *all = calloc(n, sizeof(*all));
	int failed;

	if (!all)
		return 1;
	memcpy(all, fixed_tests, sizeof(fixed_tests));
	for (size_t i = 0; i < ARRAY_SIZE(err_cases); i++) {
		all[nfixed + i].name = err_cases[i].name;
		all[nfixed + i].test_func = run_err_case;
		all[nfixed + i].initial_state = (void *)&err_cases[i];
	}
	failed = _cmocka_run_group_tests("test_policy", all, n, NULL, NULL);
	free(all);
	return failed ? 1 : 0;
}
