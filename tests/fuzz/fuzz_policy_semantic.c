// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_policy_semantic: mutated valid policies, judged by their verdicts.
 *
 * Inputs are policy documents. A custom mutator (LLVMFuzzerCustomMutator)
 * edits them as JSON, the way an author would: add, drop or duplicate
 * rules, flip actions, audit, mode and defaults, rename ids (the deciding
 * rule is the smallest id), change protocols, port and ICMP ranges, add
 * groups, nested prefixes and excepts (address classes and their fallback
 * chains), literal CIDRs and "any". Now and then it leaves the structure to
 * libFuzzer's byte mutations instead.
 *
 * Every accepted policy is compiled, published into the real BPF programs
 * (loaded once per process, with tracing; ward__publish per input) and a
 * set of packets aimed at its edges (fuzz_derive_packets) is run through
 * XDP (ingress) and TC (egress) with BPF_PROG_TEST_RUN. Pass, verdict,
 * deciding rule and audit flag must equal the reference model's
 * (tests/model/policy_ref.c). For 30% of the inputs, 1-2 failsafe rules
 * (agent config, policy__add_failsafe) aimed at the policy are added first;
 * a matching failsafe then decides ahead of everything (eval_with_failsafes).
 * Needs root (CAP_BPF, CAP_NET_ADMIN).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"
#include "loader.h"

#define NPACKETS  16   /* per input */
#define FRAME_CAP 2048 /* bytes */

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);

static struct ward w;

/* datapath feedback for libFuzzer (no coverage inside BPF): verdicts seen */
__attribute__((section("__libfuzzer_extra_counters"))) static uint8_t
	extra_counters[WARD_DIR_MAX][WARD_V_MAX + 1];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int err = ward__load(&w, NULL, true);

	if (err) {
		fprintf(stderr, "fuzz_policy_semantic: cannot load the BPF programs: %s "
				"(needs root: CAP_BPF, CAP_NET_ADMIN)\n", strerror(-err));
		exit(2);
	}
	return 0;
}

/* ---- the mutator ------------------------------------------------------------- */
static const char *const base_cidrs[] = {
	"10.0.0.0/8", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "0.0.0.0/0",
	"2001:db8::/32", "2001:db8:1::/48", "fd00::/8", "::/0", "::ffff:0:0/96",
};

static const char *pick(struct frng *r, const char *const *v, size_t n)
{
	return v[frng_below(r, (uint32_t)n)];
}
#define PICK(r, v) pick((r), (v), sizeof(v) / sizeof((v)[0]))

/* A CIDR near one of the policy's (sub- or super-prefix), or a base one. */
static void gen_cidr(struct frng *r, json_t *root, char *out, size_t n);

static void collect_cidrs(json_t *v, json_t *acc)
{
	size_t i;
	const char *k;
	json_t *x;

	if (json_is_string(v) && strchr(json_string_value(v), '/') &&
	    json_array_size(acc) < 256)
		json_array_append(acc, v);
	else if (json_is_array(v))
		json_array_foreach(v, i, x) collect_cidrs(x, acc);
	else if (json_is_object(v))
		json_object_foreach(v, k, x) collect_cidrs(x, acc);
}

static void gen_cidr(struct frng *r, json_t *root, char *out, size_t n)
{
	json_t *acc = json_array();
	const char *src = NULL;
	char buf[64], *slash;
	uint8_t a[16] = { 0 };
	int fam, bits, len;

	collect_cidrs(root, acc);
	if (json_array_size(acc) && frng_chance(r, 75))
		src = json_string_value(json_array_get(acc, frng_below(r, json_array_size(acc))));
	if (!src)
		src = PICK(r, base_cidrs);
	snprintf(buf, sizeof(buf), "%s", src);
	json_decref(acc);
	slash = strchr(buf, '/');
	len = slash ? atoi(slash + 1) : -1;
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, a) == 1) {
		fam = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, buf, a) == 1) {
		fam = AF_INET6;
		bits = 128;
	} else {
		snprintf(out, n, "%s", PICK(r, base_cidrs));
		return;
	}
	if (len < 0 || len > bits)
		len = bits;
	switch (frng_below(r, 4)) {
	case 0: /* shorter */
		len -= (int)frng_below(r, 9);
		break;
	case 3: /* the same */
		break;
	default: /* longer, random bits below */
		len += 1 + (int)frng_below(r, bits == 32 ? 8 : 24);
		break;
	}
	len = len < 0 ? 0 : len > bits ? bits : len;
	for (int i = 0; i < bits; i++) {
		uint8_t m = 0x80 >> (i % 8);

		if (i >= len)
			a[i / 8] &= ~m; /* host bits zero */
		else if (i >= len - 8 && frng_chance(r, 30))
			a[i / 8] ^= m;
	}
	if (frng_chance(r, 2)) /* now and then: host bits set (an error) */
		a[bits / 8 - 1] |= 1;
	inet_ntop(fam, a, buf, sizeof(buf));
	if (len == bits && frng_chance(r, 30))
		snprintf(out, n, "%s", buf); /* bare address */
	else
		snprintf(out, n, "%s/%d", buf, len);
}

static void gen_id(struct frng *r, char *out, size_t n)
{
	static const char alpha[] = "abcXYZ019_-.";
	size_t len = 1 + frng_below(r, 3);

	for (size_t i = 0; i < len && i + 1 < n; i++)
		out[i] = alpha[frng_below(r, sizeof(alpha) - 1)];
	out[len < n ? len : n - 1] = '\0';
}

static json_t *obj_child(json_t *o, const char *key, bool array)
{
	json_t *v = json_object_get(o, key);

	if (!v || (array ? !json_is_array(v) : !json_is_object(v))) {
		v = array ? json_array() : json_object();
		json_object_set_new(o, key, v);
	}
	return v;
}

static json_t *gen_range(struct frng *r, int max)
{
	int lo = (int)frng_below(r, max + 1), hi;
	static const int edges[] = { 0, 1, 22, 53, 79, 80, 81, 443, 1023, 1024, 8000, 32768,
				     65534, 65535 };

	if (frng_chance(r, 40)) {
		lo = edges[frng_below(r, sizeof(edges) / sizeof(edges[0]))];
		if (lo > max)
			lo = max;
	}
	if (frng_chance(r, 50))
		return json_integer(lo);
	hi = lo + (int)frng_below(r, frng_chance(r, 50) ? 16 : max + 1);
	if (hi > max)
		hi = max;
	if (frng_chance(r, 3))
		hi = lo - 1; /* empty range: an error */
	{
		char buf[32];

		snprintf(buf, sizeof(buf), "%d-%d", lo, hi);
		return json_string(buf);
	}
}

static json_t *gen_peer(struct frng *r, json_t *root)
{
	json_t *groups = json_object_get(root, "groups");
	char buf[64];

	if (json_is_object(groups) && json_object_size(groups) && frng_chance(r, 50)) {
		size_t k = frng_below(r, json_object_size(groups));
		const char *name;
		json_t *g;

		json_object_foreach(groups, name, g) {
			if (!k--)
				return json_string(name);
		}
	}
	if (frng_chance(r, 15))
		return json_string("any");
	gen_cidr(r, root, buf, sizeof(buf));
	return json_string(buf);
}

static void set_proto(struct frng *r, json_t *rule)
{
	static const char *const names[] = { "tcp", "udp", "icmp", "icmpv6", "any" };
	int max = 0;

	json_object_del(rule, "ports");
	json_object_del(rule, "icmp_types");
	if (frng_chance(r, 15)) {
		json_object_del(rule, "proto");
		return;
	}
	if (frng_chance(r, 20)) {
		static const int nums[] = { 6, 17, 1, 58, 47, 132, 0, 255, 59 };
		int n = nums[frng_below(r, sizeof(nums) / sizeof(nums[0]))];

		json_object_set_new(rule, "proto", json_integer(n));
		max = n == 6 || n == 17 ? 65535 : n == 1 || n == 58 ? 255 : 0;
	} else {
		const char *s = PICK(r, names);

		json_object_set_new(rule, "proto", json_string(s));
		max = !strcmp(s, "tcp") || !strcmp(s, "udp") ? 65535 : strncmp(s, "icmp", 4) ? 0 : 255;
	}
	if (max && frng_chance(r, 70)) {
		json_t *a = json_array();
		size_t n = 1 + frng_below(r, 4);

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, gen_range(r, max));
		if (max == 255 && frng_chance(r, 30))
			json_array_append_new(a, json_string(frng_chance(r, 50) ? "echo-request"
										 : "echo-reply"));
		json_object_set_new(rule, max == 255 ? "icmp_types" : "ports", a);
	}
}

static json_t *gen_rule(struct frng *r, json_t *root, int dir)
{
	json_t *rule = json_object(), *peers = json_array();
	char id[8];
	size_t n = 1 + frng_below(r, 3);

	gen_id(r, id, sizeof(id));
	json_object_set_new(rule, "id", json_string(id));
	if (frng_chance(r, 40))
		json_object_set_new(rule, "action", json_string("deny"));
	if (frng_chance(r, 15))
		json_object_set_new(rule, "audit", json_boolean(frng_chance(r, 80)));
	for (size_t i = 0; i < n; i++)
		json_array_append_new(peers, gen_peer(r, root));
	json_object_set_new(rule, dir ? "to" : "from", peers);
	set_proto(r, rule);
	return rule;
}

/* A random rule of either direction, or NULL. */
static json_t *any_rule(struct frng *r, json_t *root, int *dir, size_t *idx)
{
	json_t *in = json_object_get(root, "ingress"), *out = json_object_get(root, "egress");
	size_t ni = json_is_array(in) ? json_array_size(in) : 0;
	size_t no = json_is_array(out) ? json_array_size(out) : 0;
	size_t k;

	if (!ni && !no)
		return NULL;
	k = frng_below(r, (uint32_t)(ni + no));
	*dir = k >= ni;
	*idx = k >= ni ? k - ni : k;
	return json_array_get(k >= ni ? out : in, *idx);
}

static void mutate_once(struct frng *r, json_t *root)
{
	json_t *rule, *arr, *v;
	size_t idx;
	int dir;
	char buf[64];

	switch (frng_below(r, 16)) {
	case 0: /* mode */
		json_object_set_new(root, "mode", json_string(frng_chance(r, 50) ? "audit" : "enforce"));
		break;
	case 1: /* a default */
		v = obj_child(root, "defaults", false);
		json_object_set_new(v, frng_chance(r, 50) ? "ingress" : "egress",
				    json_string(frng_chance(r, 50) ? "allow" : "deny"));
		break;
	case 2: /* a new rule */
	case 3:
		dir = (int)frng_below(r, 2);
		arr = obj_child(root, dir ? "egress" : "ingress", true);
		json_array_insert_new(arr, frng_below(r, json_array_size(arr) + 1), gen_rule(r, root, dir));
		break;
	case 4: /* drop a rule */
		if ((rule = any_rule(r, root, &dir, &idx)))
			json_array_remove(json_object_get(root, dir ? "egress" : "ingress"), idx);
		break;
	case 5: /* duplicate a rule under a new id, maybe flipped */
		if ((rule = any_rule(r, root, &dir, &idx))) {
			json_t *c = json_deep_copy(rule);

			gen_id(r, buf, 8);
			json_object_set_new(c, "id", json_string(buf));
			if (frng_chance(r, 50))
				json_object_set_new(c, "action", json_string(frng_chance(r, 50) ? "deny" : "allow"));
			json_array_append_new(json_object_get(root, dir ? "egress" : "ingress"), c);
		}
		break;
	case 6: /* rename (changes which rule decides) */
		if ((rule = any_rule(r, root, &dir, &idx))) {
			gen_id(r, buf, 8);
			json_object_set_new(rule, "id", json_string(buf));
		}
		break;
	case 7: /* flip the action / audit */
		if ((rule = any_rule(r, root, &dir, &idx))) {
			if (frng_chance(r, 50)) {
				v = json_object_get(rule, "action");
				json_object_set_new(rule, "action",
						    json_string(json_is_string(v) && !strcmp(json_string_value(v), "deny")
								? "allow" : "deny"));
				if (frng_chance(r, 80))
					json_object_del(rule, "rate_limit");
			} else {
				json_object_set_new(rule, "audit", json_boolean(!json_is_true(json_object_get(rule, "audit"))));
			}
		}
		break;
	case 8: /* protocol and its ranges */
		if ((rule = any_rule(r, root, &dir, &idx)))
			set_proto(r, rule);
		break;
	case 9: /* one more range on a rule that has ranges */
		if ((rule = any_rule(r, root, &dir, &idx))) {
			bool icmp = json_is_array(json_object_get(rule, "icmp_types"));

			arr = json_object_get(rule, icmp ? "icmp_types" : "ports");
			if (json_is_array(arr)) {
				if (json_array_size(arr) > 1 && frng_chance(r, 30))
					json_array_remove(arr, frng_below(r, json_array_size(arr)));
				else
					json_array_append_new(arr, gen_range(r, icmp ? 255 : 65535));
			}
		}
		break;
	case 10: /* peers */
		if ((rule = any_rule(r, root, &dir, &idx))) {
			arr = obj_child(rule, dir ? "to" : "from", true);
			if (json_array_size(arr) > 1 && frng_chance(r, 30))
				json_array_remove(arr, frng_below(r, json_array_size(arr)));
			else if (json_array_size(arr) && frng_chance(r, 40))
				json_array_set_new(arr, frng_below(r, json_array_size(arr)), gen_peer(r, root));
			else
				json_array_append_new(arr, gen_peer(r, root));
		}
		break;
	case 11: /* a new group of nested prefixes */
	case 12: {
		json_t *g = obj_child(root, "groups", false), *grp, *cidrs = json_array();
		size_t n = 1 + frng_below(r, 3);

		gen_id(r, buf, 8);
		if (!strcmp(buf, "any"))
			break;
		for (size_t i = 0; i < n; i++) {
			char c[64];

			gen_cidr(r, root, c, sizeof(c));
			json_array_append_new(cidrs, json_string(c));
		}
		if (frng_chance(r, 50)) {
			json_object_set_new(g, buf, cidrs);
		} else {
			grp = json_object();
			json_object_set_new(grp, "cidrs", cidrs);
			json_object_set_new(g, buf, grp);
		}
		break;
	}
	case 13: { /* an except inside a group's cidr, or one more cidr */
		json_t *g = json_object_get(root, "groups"), *grp = NULL, *cidrs;
		const char *name;
		char gname[256] = "";
		size_t k;

		if (!json_is_object(g) || !json_object_size(g))
			break;
		k = frng_below(r, json_object_size(g));
		json_object_foreach(g, name, v) {
			if (!k--) {
				grp = v;
				snprintf(gname, sizeof(gname), "%s", name);
				break;
			}
		}
		if (json_is_array(grp)) {
			cidrs = json_deep_copy(grp);
			grp = json_object();
			json_object_set_new(grp, "cidrs", cidrs);
			json_object_set_new(g, gname, grp);
		}
		if (!json_is_object(grp) || !json_is_array(cidrs = json_object_get(grp, "cidrs")) ||
		    !json_array_size(cidrs))
			break;
		if (frng_chance(r, 70)) {
			/* a sub-prefix of one of its cidrs */
			json_t *tmp = json_object();
			char c[64];

			json_object_set(tmp, "x", json_array_get(cidrs, frng_below(r, json_array_size(cidrs))));
			gen_cidr(r, tmp, c, sizeof(c));
			json_decref(tmp);
			json_array_append_new(obj_child(grp, "except", true), json_string(c));
		} else {
			char c[64];

			gen_cidr(r, root, c, sizeof(c));
			json_array_append_new(cidrs, json_string(c));
		}
		break;
	}
	case 14: /* rate limits */
		if ((rule = any_rule(r, root, &dir, &idx))) {
			json_t *rl = obj_child(root, "rate_limits", false);

			if (!json_object_size(rl)) {
				json_t *o = json_object();

				json_object_set_new(o, "pps", json_integer(1 + frng_below(r, 1000)));
				json_object_set_new(rl, "rl", o);
			}
			json_object_set_new(rule, "rate_limit", json_string("rl"));
			json_object_set_new(rule, "action", json_string("allow"));
		}
		break;
	default: /* move a rule to the other direction */
		if ((rule = any_rule(r, root, &dir, &idx))) {
			json_t *c = json_deep_copy(rule), *peers = json_object_get(c, dir ? "to" : "from");

			json_incref(peers);
			json_object_del(c, dir ? "to" : "from");
			if (peers)
				json_object_set_new(c, dir ? "from" : "to", peers);
			json_array_remove(json_object_get(root, dir ? "egress" : "ingress"), idx);
			json_array_append_new(obj_child(root, dir ? "ingress" : "egress", true), c);
		}
		break;
	}
}

static size_t emit(json_t *root, struct frng *r, uint8_t *data, size_t max)
{
	char *s = json_dumps(root, frng_chance(r, 80) ? JSON_COMPACT : JSON_INDENT(1));
	size_t n = s ? strlen(s) : 0;

	if (!s || n > max) {
		free(s);
		return 0;
	}
	memcpy(data, s, n);
	free(s);
	return n;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed)
{
	struct frng r = { seed * 0x9e3779b97f4a7c15ull + size };
	json_t *root = frng_chance(&r, 90) ? json_loadb((const char *)data, size, 0, NULL) : NULL;
	size_t n;

	if (!json_is_object(root)) {
		json_decref(root);
		return LLVMFuzzerMutate(data, size, max);
	}
	for (int i = 1 + (int)frng_below(&r, 3); i > 0; i--)
		mutate_once(&r, root);
	n = emit(root, &r, data, max);
	json_decref(root);
	return n ? n : LLVMFuzzerMutate(data, size, max);
}

/* Rules (and groups) of b spliced into a. */
size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2,
				 uint8_t *out, size_t max, unsigned int seed)
{
	struct frng r = { seed };
	json_t *a = json_loadb((const char *)d1, s1, 0, NULL);
	json_t *b = json_loadb((const char *)d2, s2, 0, NULL);
	size_t n = 0;

	if (json_is_object(a) && json_is_object(b)) {
		const char *dirs[] = { "ingress", "egress" };
		json_t *ga = obj_child(a, "groups", false), *gb = json_object_get(b, "groups"), *v;
		const char *name;

		if (json_is_object(gb))
			json_object_foreach(gb, name, v)
				if (!json_object_get(ga, name))
					json_object_set(ga, name, v);
		for (int d = 0; d < 2; d++) {
			json_t *rb = json_object_get(b, dirs[d]), *ra = obj_child(a, dirs[d], true);
			size_t k;

			if (!json_is_array(rb))
				continue;
			json_array_foreach(rb, k, v)
				if (frng_chance(&r, 50))
					json_array_append_new(ra, json_deep_copy(v));
		}
		n = emit(a, &r, out, max);
	}
	json_decref(a);
	json_decref(b);
	return n;
}

/* ---- failsafe rules (agent config, docs/policy.md Semantics 3) --------------------- */
/* 1-2 failsafes aimed at the policy: a CIDR of one of its terms, a port of one of
 * its rules. Returns how many were added. */
static int add_failsafes(struct policy *p, struct frng *rng)
{
	int n = 1 + (int)frng_below(rng, 2), added = 0;

	for (int i = 0; i < n; i++) {
		char spec[128], addr[INET6_ADDRSTRLEN];
		const struct rule *r = p->nrules ? &p->rules[frng_below(rng, p->nrules)] : NULL;
		unsigned port = r && r->nports && (r->proto == 6 || r->proto == 17)
					? r->ports[frng_below(rng, r->nports)].lo
					: frng_chance(rng, 50) ? 22 : frng_below(rng, 65536);
		const char *proto = r && r->proto == 17 ? "udp" : frng_chance(rng, 80) ? "tcp" : "udp";
		struct cidr c = { .family = WARD_FAM_V4, .len = 24, .addr = { 192, 0, 2 } };
		const char *why;

		if (p->nterms && frng_chance(rng, 80)) {
			const struct addrset *s = &p->terms[frng_below(rng, p->nterms)].set;

			if (s->nincl && s->incl[0].family != WARD_FAM_ANY)
				c = s->incl[frng_below(rng, s->nincl)];
		}
		inet_ntop(c.family == WARD_FAM_V4 ? AF_INET : AF_INET6, c.addr, addr, sizeof(addr));
		snprintf(spec, sizeof(spec), "%s/%u from %s/%u", proto, port, addr, c.len);
		if (!policy__add_failsafe(p, spec, &why))
			added++;
		else
			FUZZ_ASSERT(c.family == WARD_FAM_ANY, "policy__add_failsafe(\"%s\"): %s", spec, why);
	}
	return added;
}

/*
 * The document's verdict with failsafes: drops before the policy and ND as
 * ref_eval says; then, on ingress, a matching failsafe rule passes the packet
 * (the smallest id of them decides) whatever the policy's denies, defaults
 * and audit; otherwise ref_eval (a failsafe that does not match changes
 * nothing).
 */
static int eval_with_failsafes(const struct policy *p, int dir, const struct pkt_spec *s,
			       struct ref_result *r)
{
	size_t best = SIZE_MAX;

	if (ref_eval(p, dir, s, r))
		return -1;
	if (r->verdict == WARD_V_DROP_TCP_FLAGS || r->verdict == WARD_V_PASS_ND)
		return 0;
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].failsafe && ref_rule_matches(p, &p->rules[i], dir, s) &&
		    (best == SIZE_MAX || strcmp(p->rules[i].id, p->rules[best].id) < 0))
			best = i;
	if (best == SIZE_MAX)
		return 0;
	memset(r, 0, sizeof(*r));
	r->pass = 1;
	r->verdict = WARD_V_PASS_RULE;
	r->action = WARD_ACT_ALLOW;
	r->rule_idx = (uint32_t)best;
	r->rate_limit = -1;
	return 0;
}

/* ---- the check ---------------------------------------------------------------- */
static void report(const struct policy *p, const struct fpkt *k, const uint8_t *frame, size_t len,
		   const struct ref_result *m, int pass, const struct ward_trace *t,
		   const struct compiled *c)
{
	struct ref_result dp = { .pass = pass, .verdict = t->verdict, .rule_idx = t->rule_idx,
				 .audit = t->audit };
	struct ref_result sim;

	fuzz_sim_decide(c, k->dir, &k->s, &sim);
	fprintf(stderr, "datapath (BPF_PROG_TEST_RUN) disagrees with the reference model:\n");
	fuzz_print_pkt(k);
	fuzz_print_result("model", p, m);
	fuzz_print_result("datapath", p, &dp);
	fuzz_print_result("entries", p, &sim);
	fprintf(stderr, "  (entries = the compiled entries looked up in userspace; class %u)\n",
		t->class_id);
	fprintf(stderr, "--- frame ---\n");
	fuzz_hexdump(frame, len);
	fprintf(stderr, "--- policy ---\n%s\n", p->src ? p->src : "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frng rng = { fuzz_hash(data, size) };
	struct diags d = {};
	struct fpkt pk[NPACKETS];
	struct compiled c;
	struct policy p;
	uint8_t frame[FRAME_CAP];
	int err;

	if (fuzz_skip_known_input(data, size))
		return 0;
	err = policy__parse((const char *)data, size, &p, &d);
	fuzz_check_diags(&d, (const char *)data, size, false);
	if (err)
		goto out_diags;
	if (frng_chance(&rng, 30))
		add_failsafes(&p, &rng);
	err = policy__compile(&p, &c, &d);
	fuzz_check_diags(&d, (const char *)data, size, false);
	if (err)
		goto out_policy;
	fuzz_check_compiled(&p, &c);
	if (p.nrules > w.max_rules)
		goto out_compiled;
	err = ward__publish(&w, &c, &p);
	FUZZ_ASSERT(!err, "ward__publish: %s", strerror(-err));
	fuzz_derive_packets(&p, &rng, pk, NPACKETS);
	for (size_t i = 0; i < NPACKETS; i++) {
		struct ref_result m;
		struct ward_trace t;
		size_t len = pktgen_build(&pk[i].s, frame, sizeof(frame));
		int pass;

		FUZZ_ASSERT(len, "pktgen_build failed");
		FUZZ_ASSERT(!eval_with_failsafes(&p, pk[i].dir, &pk[i].s, &m),
			    "ref_eval refused a packet");
		err = ward__test_run(&w, pk[i].dir, frame, len, &pass, &t);
		FUZZ_ASSERT(!err, "ward__test_run: %s", strerror(-err));
		if (t.verdict <= WARD_V_MAX)
			extra_counters[pk[i].dir][t.verdict]++;
		if (pass != m.pass || t.verdict != m.verdict || t.rule_idx != m.rule_idx ||
		    t.audit != m.audit) {
			report(&p, &pk[i], frame, len, &m, pass, &t, &c);
			fuzz_fail("%s: datapath %s rule %d, model %s rule %d",
				  pk[i].dir == WARD_DIR_INGRESS ? "XDP" : "TC",
				  ref_verdict_name(t.verdict), (int)t.rule_idx,
				  ref_verdict_name(m.verdict), (int)m.rule_idx);
		}
	}
out_compiled:
	compiled__free(&c);
out_policy:
	policy__free(&p);
out_diags:
	diags__free(&d);
	return 0;
}
