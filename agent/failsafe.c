// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Failsafe rules: management access that the agent's config guarantees
 * whatever the policy says ("tcp/22 from 192.0.2.0/28"). They join every
 * policy the agent compiles, ranked before every deny rule.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "policy.h"

int policy__add_failsafe(struct policy *p, const char *spec, const char **why)
{
	char proto[16], cidr[64], extra;
	size_t nth = 1; /* failsafes are numbered from 1, in config order */
	unsigned port;
	struct term *t;
	struct rule *r;
	struct cidr c;
	int pr;

	if (sscanf(spec, "%15[a-z]/%u from %63s %c", proto, &port, cidr, &extra) != 3) {
		*why = "expected \"PROTO/PORT from CIDR\", e.g. \"tcp/22 from 192.0.2.0/28\"";
		return -EINVAL;
	}
	pr = proto__from_name(proto);
	if (pr != 6 && pr != 17) {
		*why = "PROTO is tcp or udp";
		return -EINVAL;
	}
	if (port > 65535) {
		*why = "PORT is 0-65535";
		return -EINVAL;
	}
	if (cidr__parse(cidr, &c, why))
		return -EINVAL;
	t = realloc(p->terms, (p->nterms + 1) * sizeof(*t));
	if (!t)
		goto oom;
	p->terms = t;
	r = realloc(p->rules, (p->nrules + 1) * sizeof(*r));
	if (!r)
		goto oom;
	p->rules = r;
	t = &p->terms[p->nterms];
	memset(t, 0, sizeof(*t));
	t->name = strdup(cidr);
	t->set.incl = malloc(sizeof(c));
	r = &p->rules[p->nrules];
	memset(r, 0, sizeof(*r));
	r->ports = malloc(sizeof(*r->ports));
	r->terms = malloc(sizeof(*r->terms));
	for (size_t i = 0; i < p->nrules; i++)
		nth += p->rules[i].failsafe;
	if (asprintf(&r->id, "failsafe-%zu-%s-%u", nth, proto, port) < 0)
		r->id = NULL;
	if (!t->name || !t->set.incl || !r->ports || !r->terms || !r->id) {
		free(t->name);
		free(t->set.incl);
		free(r->ports);
		free(r->terms);
		free(r->id);
		goto oom;
	}
	t->set.incl[0] = c;
	t->set.nincl = 1;
	r->dir = WARD_DIR_INGRESS;
	r->action = WARD_ACT_ALLOW;
	r->failsafe = true;
	r->log = true;
	r->proto = pr;
	r->ports[0].lo = r->ports[0].hi = port;
	r->nports = 1;
	r->terms[0] = p->nterms;
	r->nterms = 1;
	r->rate_limit = -1;
	r->src_index = p->nrules;
	p->nterms++;
	p->nrules++;
	return 0;
oom:
	*why = "out of memory";
	return -ENOMEM;
}
