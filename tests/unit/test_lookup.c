// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The lookup tables (agent/lookup.c) against the meaning of the compiler's
 * entries, longest prefix match, computed by brute force: random entries
 * of every prefix length (nested, overlapping, both families), random
 * queries near them. The tables' C lookups mirror the datapath's
 * (bpf/lib/lookup.h); the model suite judges the datapath itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "lookup.h"
#include "lpm_sim.h"

static uint64_t rng = 88172645463325252ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* An address near one of the entries': its bits, then random ones. */
static void near_addr(const struct compiled *c, uint8_t fam, uint8_t *a)
{
	const struct ward_addr_key *k = &c->addrs[rnd() % c->naddrs].key;
	unsigned keep = k->prefixlen > 8 && k->family == fam ? k->prefixlen - 8 : 0;

	keep += rnd() % 3 == 0 ? rnd() % 9 : 0; /* sometimes a little further */
	for (unsigned i = 0; i < 16; i++)
		a[i] = (uint8_t)rnd();
	for (unsigned b = 0; b < keep && b < 128; b++)
		if (k->addr[b / 8] & (0x80 >> b % 8))
			a[b / 8] |= 0x80 >> b % 8;
		else
			a[b / 8] &= (uint8_t)~(0x80 >> b % 8);
	if (fam == WARD_FAM_V4)
		memset(a + 4, 0, 12);
}

static void add_addr(struct compiled *c, uint8_t fam, unsigned len, const uint8_t *base)
{
	struct addr_entry *e = &c->addrs[c->naddrs];

	memset(e, 0, sizeof(*e));
	e->key.family = fam;
	e->key.prefixlen = fam == WARD_FAM_ANY ? 0 : 8 + len;
	for (unsigned b = 0; b < len; b++)
		if (base[b / 8] & (0x80 >> b % 8))
			e->key.addr[b / 8] |= 0x80 >> b % 8;
	for (size_t i = 0; i < c->naddrs; i++)
		if (!memcmp(&c->addrs[i].key, &e->key, sizeof(e->key)))
			return; /* keys are unique, as in the compiler's output */
	for (int k = 0; k < WARD_CLASS_CHAIN; k++)
		e->val.class_id[k] = k && rnd() % 2 ? 0 : 1 + rnd() % 40;
	if (!e->val.class_id[1])
		memset(&e->val.class_id[1], 0, 12);
	c->naddrs++;
}

static void add_rule(struct compiled *c, uint32_t cls, uint8_t dir, uint8_t proto, uint16_t port,
		     unsigned plen)
{
	struct rule_entry *e = &c->rules[c->nrules];

	memset(e, 0, sizeof(*e));
	e->key.prefixlen = plen;
	e->key.class_id = htonl(cls);
	e->key.dir = dir;
	e->key.proto = plen > WARD_RULE_KEY_BITS_DIR ? proto : 0;
	e->key.port = plen > WARD_RULE_KEY_BITS_PROTO ?
			      htons(port & (uint16_t)(0xffff0000u >> (plen - WARD_RULE_KEY_BITS_PROTO))) : 0;
	for (size_t i = 0; i < c->nrules; i++)
		if (!memcmp(&c->rules[i].key, &e->key, sizeof(e->key)))
			return;
	e->val.rule_idx = (uint32_t)c->nrules;
	e->val.action = rnd() % 2;
	e->val.flags = rnd() % 4;
	e->val.rl_slot = rnd() % 3;
	c->nrules++;
}

/* Entries of every length, nested chains, overlapping ranges. */
static void random_compiled(struct compiled *c, size_t naddr, size_t nrule)
{
	static const uint8_t protos[] = { 6, 17, 1, 58, 132 };

	memset(c, 0, sizeof(*c));
	c->addrs = calloc(naddr + 4, sizeof(*c->addrs));
	c->rules = calloc(nrule, sizeof(*c->rules));
	assert_non_null(c->addrs);
	assert_non_null(c->rules);
	if (rnd() % 2)
		add_addr(c, WARD_FAM_ANY, 0, (uint8_t[16]){ 0 });
	if (rnd() % 2)
		add_addr(c, WARD_FAM_V4, 0, (uint8_t[16]){ 0 });
	while (c->naddrs < naddr) {
		uint8_t fam = rnd() % 2 ? WARD_FAM_V4 : WARD_FAM_V6, a[16];
		unsigned max = fam == WARD_FAM_V4 ? 32 : 128;

		if (c->naddrs && rnd() % 2) { /* nest under an earlier one */
			near_addr(c, fam, a);
		} else {
			for (int i = 0; i < 16; i++)
				a[i] = (uint8_t)(rnd() % 4); /* a small space: overlaps */
		}
		add_addr(c, fam, 1 + rnd() % max, a);
	}
	while (c->nrules < nrule) {
		uint32_t cls = 1 + rnd() % 40;
		uint8_t dir = rnd() % 2, proto = protos[rnd() % 5];
		unsigned kind = rnd() % 10;

		if (kind == 0)
			add_rule(c, cls, dir, 0, 0, WARD_RULE_KEY_BITS_DIR);
		else if (kind == 1)
			add_rule(c, cls, dir, proto, 0, WARD_RULE_KEY_BITS_PROTO);
		else
			add_rule(c, cls, dir, proto, (uint16_t)(rnd() % 1024),
				 WARD_RULE_KEY_BITS_PROTO + 1 + rnd() % 16);
	}
}

static void check_random(size_t naddr, size_t nrule, int queries)
{
	static const uint8_t protos[] = { 6, 17, 1, 58, 132, 47 };
	struct lookup_tables t;
	struct compiled c;

	random_compiled(&c, naddr, nrule);
	assert_int_equal(lookup__build(&c, &t), 0);
	for (int n = 0; n < queries; n++) {
		uint8_t fam = rnd() % 2 ? WARD_FAM_V4 : WARD_FAM_V6, a[16], dir = rnd() % 2;
		uint8_t proto = protos[rnd() % 6];
		uint16_t port = (uint16_t)(rnd() % 1100);
		const struct ward_addr_val *want, *got;
		static const struct ward_addr_val none;
		const struct ward_rule_val *rw, *rg;
		uint32_t cw = 0, cg = 0;

		near_addr(&c, fam, a);
		want = lpm_sim_classify(&c, fam, a);
		got = lookup__classify(&t, fam, a);
		if (memcmp(want ? want : &none, got, sizeof(*got))) {
			char s[64];

			inet_ntop(fam == WARD_FAM_V4 ? AF_INET : AF_INET6, a, s, sizeof(s));
			fail_msg("address %s: class %u from the tables, %u by LPM", s, got->class_id[0],
				 want ? want->class_id[0] : 0);
		}
		rw = lpm_sim_rule(&c, got, dir, proto, port, &cw);
		rg = lookup__rule(&t, got, dir, proto, port, &cg);
		if (!rw != !rg || (rw && (memcmp(rw, rg, sizeof(*rw)) || cw != cg)))
			fail_msg("class %u dir %u proto %u port %u: rule %d from the tables, %d by LPM",
				 got->class_id[0], dir, proto, port, rg ? (int)rg->rule_idx : -1,
				 rw ? (int)rw->rule_idx : -1);
	}
	lookup__free(&t);
	free(c.addrs);
	free(c.rules);
}

static void test_lookup_random_small(void **state)
{
	for (int round = 0; round < 200; round++)
		check_random(1 + rnd() % 12, 1 + rnd() % 30, 300);
}

static void test_lookup_random_large(void **state)
{
	for (int round = 0; round < 4; round++)
		check_random(3000, 4000, 20000);
}

/* Every IPv6 length 1..128 nested on one address: the length tree is 8
 * levels deep, the most a lookup walks; every length must be found. */
static void test_lookup_all_lengths(void **state)
{
	struct compiled c = { 0 };
	struct lookup_tables t;
	uint8_t a[16];

	c.addrs = calloc(160, sizeof(*c.addrs));
	assert_non_null(c.addrs);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", a), 1);
	for (unsigned len = 1; len <= 128; len++) {
		add_addr(&c, WARD_FAM_V6, len, a);
		c.addrs[c.naddrs - 1].val.class_id[0] = len;
	}
	assert_int_equal(lookup__build(&c, &t), 0);
	for (unsigned len = 1; len <= 128; len++) {
		uint8_t q[16];

		memcpy(q, a, 16);
		if (len < 128) /* flip the first bit past the prefix */
			q[len / 8] ^= 0x80 >> len % 8;
		assert_int_equal(lookup__classify(&t, WARD_FAM_V6, q)->class_id[0], len);
	}
	/* no prefix of the other family: the IPv4 chain is empty */
	assert_int_equal(lookup__classify(&t, WARD_FAM_V4, a)->class_id[0], 0);
	lookup__free(&t);
	free(c.addrs);
}

/* 100,000 prefixes: two-choice placement succeeds and every one is found. */
static void test_lookup_many(void **state)
{
	struct compiled c = { 0 };
	struct lookup_tables t;

	c.naddrs = 100000;
	c.addrs = calloc(c.naddrs, sizeof(*c.addrs));
	assert_non_null(c.addrs);
	for (size_t i = 0; i < c.naddrs; i++) {
		struct addr_entry *e = &c.addrs[i];
		uint32_t v = htonl(0x0a000000u | (uint32_t)i << 8);

		e->key.family = WARD_FAM_V4;
		e->key.prefixlen = 8 + (i % 3 ? 24 : 32);
		memcpy(e->key.addr, &v, 4);
		e->val.class_id[0] = (uint32_t)i + 1;
	}
	assert_int_equal(lookup__build(&c, &t), 0);
	assert_true(t.hdr.addr_slots >= t.naddr);
	for (size_t i = 0; i < c.naddrs; i++)
		assert_int_equal(lookup__classify(&t, WARD_FAM_V4, c.addrs[i].key.addr)->class_id[0],
				 i + 1);
	lookup__free(&t);
	free(c.addrs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_random_small),
		cmocka_unit_test(test_lookup_random_large),
		cmocka_unit_test(test_lookup_all_lengths),
		cmocka_unit_test(test_lookup_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
