// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_policy: arbitrary bytes -> policy__parse -> policy__compile.
 *
 * Properties (a violation aborts, libFuzzer keeps the input):
 *  - no crash, no leak, no undefined behaviour (ASan, LSan, UBSan);
 *  - rejected: -EINVAL with at least one error; accepted: no error;
 *  - every diag has an RFC 6901 pointer and a reason, a position inside the
 *    text, and is located when its pointer names a value of the document;
 *  - an accepted policy holds the document's invariants (ids unique, CIDRs
 *    without host bits, excepts inside cidrs, ranges ordered, ports only on
 *    tcp/udp, rate limits only on allow rules, ...);
 *  - compile succeeds with no error, or fails with at least one; compiling
 *    twice gives the same entries (pure, no uninitialised memory);
 *  - the compiled entries are consistent (fuzz_check_compiled) and, looked
 *    up as the datapath does (userspace LPM), decide like the reference
 *    model on packets aimed at the policy's edges.
 *
 * Known divergences (WARD_FUZZ_KNOWN, see fuzz_common.h):
 *   escaped-key   skip the "located" check for inputs with a backslash
 *                 (agent/json_pos.c compares keys raw, undecoded)
 *   empty-rules   skip "ingress": [] with "egress": [] (double free)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"


static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_policy(const struct policy *p)
{
	char **ids;

	FUZZ_ASSERT(p->version == 1, "accepted version %d", p->version);
	FUZZ_ASSERT(p->name && p->name[0] && strlen(p->name) < WARD_NAME_LEN, "accepted name");
	FUZZ_ASSERT(p->mode <= WARD_MODE_AUDIT && p->defaults[0] <= 1 && p->defaults[1] <= 1 &&
			    p->default_log <= POLICY_LOG_ALL,
		    "accepted mode/defaults out of range");
	FUZZ_ASSERT(p->ngroups <= p->nterms, "ngroups > nterms");
	FUZZ_ASSERT(p->nrate_limits < WARD_MAX_RATE_LIMITS, "%zu rate limits", p->nrate_limits);
	for (size_t i = 0; i < p->nrate_limits; i++) {
		const struct rate_limit *r = &p->rate_limits[i];

		FUZZ_ASSERT(r->name && r->pps >= 1 && r->burst >= 1 && r->ipv4_prefix <= 32 &&
				    r->ipv6_prefix <= 128,
			    "accepted rate limit %zu out of range", i);
	}
	for (size_t t = 0; t < p->nterms; t++) {
		const struct addrset *s = &p->terms[t].set;

		FUZZ_ASSERT(p->terms[t].name && s->nincl >= 1, "term %zu: no name or no cidrs", t);
		for (size_t i = 0; i < s->nincl + s->nexcl; i++) {
			const struct cidr *c = i < s->nincl ? &s->incl[i] : &s->excl[i - s->nincl];
			int bits = c->family == WARD_FAM_V4 ? 32 : c->family == WARD_FAM_V6 ? 128 : 0;

			FUZZ_ASSERT(c->len <= bits, "term %zu: /%u for family %u", t, c->len,
				    c->family);
			for (int b = c->len; b < 128; b++)
				FUZZ_ASSERT(!(c->addr[b / 8] & (0x80 >> (b % 8))),
					    "term %zu (%s): host bits set in an accepted cidr", t,
					    p->terms[t].name);
		}
		for (size_t i = 0; i < s->nexcl; i++) {
			bool in = false;

			for (size_t j = 0; j < s->nincl && !in; j++)
				in = cidr__contains(&s->incl[j], &s->excl[i]);
			FUZZ_ASSERT(in, "term %zu (%s): an except outside every cidr", t,
				    p->terms[t].name);
		}
	}
	ids = calloc(p->nrules + 1, sizeof(*ids));
	FUZZ_ASSERT(ids, "oom");
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];
		bool l4 = r->proto == 6 || r->proto == 17, icmp = r->proto == 1 || r->proto == 58;

		FUZZ_ASSERT(r->id && r->id[0] && strlen(r->id) < WARD_NAME_LEN, "rule %zu: id", i);
		FUZZ_ASSERT(strspn(r->id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					  "0123456789_.-") == strlen(r->id),
			    "rule %zu: id \"%s\" outside [A-Za-z0-9_.-]", i, r->id);
		ids[i] = r->id;
		FUZZ_ASSERT(r->dir < WARD_DIR_MAX && r->action <= WARD_ACT_ALLOW, "rule %zu", i);
		FUZZ_ASSERT(r->proto >= POLICY_PROTO_ANY && r->proto <= 255, "rule %zu: proto %d", i,
			    r->proto);
		FUZZ_ASSERT(r->nterms >= 1, "rule \"%s\": accepted with no peer", r->id);
		for (size_t j = 0; j < r->nterms; j++)
			FUZZ_ASSERT(r->terms[j] < p->nterms, "rule \"%s\": term %zu of %zu", r->id,
				    r->terms[j], p->nterms);
		FUZZ_ASSERT(!r->ports || (r->nports >= 1 && (l4 || icmp)),
			    "rule \"%s\": ports/types on proto %d", r->id, r->proto);
		for (size_t j = 0; j < r->nports; j++)
			FUZZ_ASSERT(r->ports[j].lo <= r->ports[j].hi && (!icmp || r->ports[j].hi <= 255),
				    "rule \"%s\": range %u-%u", r->id, r->ports[j].lo, r->ports[j].hi);
		FUZZ_ASSERT(r->rate_limit == -1 ||
				    (r->rate_limit >= 0 && (size_t)r->rate_limit < p->nrate_limits &&
				     r->action == WARD_ACT_ALLOW),
			    "rule \"%s\": rate limit %d", r->id, r->rate_limit);
	}
	qsort(ids, p->nrules, sizeof(*ids), cmp_str);
	for (size_t i = 1; i < p->nrules; i++)
		FUZZ_ASSERT(strcmp(ids[i - 1], ids[i]), "duplicate rule id \"%s\" accepted", ids[i]);
	free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diags d = {}, dc = {}, dc2 = {};
	struct compiled c, c2;
	struct policy p;
	struct frng rng = { fuzz_hash(data, size) };
	bool locate = !(fuzz_known("escaped-key") && memchr(data, '\\', size));
	int err, err2;

	if (fuzz_skip_known_input(data, size))
		return 0;
	err = policy__parse((const char *)data, size, &p, &d);
	fuzz_check_diags(&d, (const char *)data, size, locate);
	if (err) {
		FUZZ_ASSERT(err == -EINVAL && d.nerrors > 0,
			    "policy__parse: %d with %zu errors", err, d.nerrors);
		FUZZ_ASSERT(!p.rules && !p.terms && !p.name && !p.src,
			    "rejected policy not freed/zeroed");
		diags__free(&d);
		return 0;
	}
	FUZZ_ASSERT(d.nerrors == 0, "accepted with %zu errors", d.nerrors);
	FUZZ_ASSERT(p.src && p.srclen == size && !memcmp(p.src, data, size), "policy.src");
	check_policy(&p);

	err = policy__compile(&p, &c, &dc);
	fuzz_check_diags(&dc, (const char *)data, size, locate);
	err2 = policy__compile(&p, &c2, &dc2);
	FUZZ_ASSERT(err == err2 && dc.n == dc2.n, "policy__compile is not deterministic");
	if (err) {
		FUZZ_ASSERT(dc.nerrors > 0, "policy__compile: %d with no error", err);
		FUZZ_ASSERT(!c.addrs && !c.rules, "failed compile left entries");
	} else {
		FUZZ_ASSERT(dc.nerrors == 0, "compiled with %zu errors", dc.nerrors);
		FUZZ_ASSERT(c.naddrs == c2.naddrs && c.nrules == c2.nrules &&
				    c.nclasses == c2.nclasses &&
				    (!c.naddrs || !memcmp(c.addrs, c2.addrs, c.naddrs * sizeof(*c.addrs))) &&
				    (!c.nrules || !memcmp(c.rules, c2.rules, c.nrules * sizeof(*c.rules))),
			    "policy__compile is not deterministic (entries differ)");
		fuzz_check_compiled(&p, &c);
		fuzz_check_sim(&p, &c, &rng, p.src);
	}
	compiled__free(&c);
	compiled__free(&c2);
	diags__free(&dc);
	diags__free(&dc2);
	diags__free(&d);
	policy__free(&p);
	return 0;
}
