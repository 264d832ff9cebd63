// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ward suggest: a policy written from observed flow records (audit mode,
 * docs/rollout.md). Flows are keyed by (direction, remote, protocol, port);
 * the peers of one service (direction, protocol, port) are aggregated into
 * CIDRs, services with the same peers become one rule with port ranges,
 * peer sets that serve several rules or hold several CIDRs become named
 * groups. Every rule says in its description what it covers. The result is
 * parsed and compiled like `ward check` would, and every observed flow it
 * should allow is run through the real programs to prove that it does.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cmd.h"
#include "flowread.h"
#include "log.h"

#define PROG "ward suggest"
#define MAX_FILES 4096

struct sopts {
	char *files[MAX_FILES];
	size_t nfiles;
	const char *current, *output, *name;
	int max4, max6, min_hosts, port_gap, any_above;
	uint64_t min_flows;
	size_t max_keys;
	struct port_span eph;
	const char *log;
	bool log_set, include_denied, verify, json, audit_mode;
};

/* What the records say about one key. */
struct sstat {
	struct flow_tally t;
	uint8_t local[16];
	int sport;
	bool drop; /* allowed by --policy already, or denied there by a deny rule */
};

struct sctx {
	struct sopts *o;
	struct ftab keys;
	bool coarse; /* the table filled: remotes folded to --max-prefix */
	uint64_t used, denied_skipped;
	struct flow_skips skips;
	int err;
};

static uint64_t key_flows(const struct sstat *s)
{
	return flow_tally__flows(&s->t);
}

static uint64_t key_bytes(const struct sstat *s)
{
	return flow_tally__bytes(&s->t);
}

static void mask(uint8_t *a, int len)
{
	for (int i = len; i < 128; i++)
		a[i >> 3] &= ~(0x80 >> (i & 7));
}

static int host_len(uint8_t family)
{
	return family == WARD_FAM_V4 ? 32 : 128;
}

/* Fold every remote to the widest prefix aggregation may use. */
static int coarsen(struct sctx *c)
{
	struct ftab old = c->keys;
	int err = ftab__init(&c->keys, sizeof(struct flow_key), sizeof(struct sstat), old.max);

	if (err)
		return err;
	for (size_t i = 0; i < old.cap; i++) {
		const void *kp;
		struct sstat *s = ftab__at(&old, i, &kp), *d;
		struct flow_key k;
		bool created;

		if (!s)
			continue;
		memcpy(&k, kp, sizeof(k));
		k.plen = k.family == WARD_FAM_V4 ? c->o->max4 : c->o->max6;
		mask(k.remote, k.plen);
		d = ftab__get(&c->keys, &k, &created);
		if (!d) {
			ftab__free(&old);
			return -E2BIG;
		}
		if (created)
			*d = *s;
		else
			flow_tally__merge(&d->t, &s->t);
	}
	ftab__free(&old);
	c->coarse = true;
	return 0;
}

static int on_record(void *ctx, const struct flow_rec *r, const char *file, uint64_t line)
{
	struct sctx *c = ctx;
	struct sstat *s;
	struct flow_key k;
	uint8_t local[16];
	bool created;

	if (flow_rec__use(r, &c->o->eph, &c->skips, &k, local))
		return 0;
	if (r->action == FR_ACT_DENIED && !c->o->include_denied) {
		c->denied_skipped++;
		return 0;
	}
	if (c->coarse) {
		k.plen = k.family == WARD_FAM_V4 ? c->o->max4 : c->o->max6;
		mask(k.remote, k.plen);
	}
	s = ftab__get(&c->keys, &k, &created);
	if (!s && !c->coarse) {
		fprintf(stderr, PROG ": more than %zu distinct (direction, peer, protocol, port) "
				"keys: peers are folded to /%d (IPv4) and /%d (IPv6) from here on\n",
			c->keys.max, c->o->max4, c->o->max6);
		if ((c->err = coarsen(c)))
			return c->err;
		return on_record(ctx, r, file, line);
	}
	if (!s) {
		fprintf(stderr, PROG ": more than %zu distinct keys even with peers folded to "
				"their /%d, /%d: raise --max-keys\n", c->keys.max, c->o->max4, c->o->max6);
		return c->err = -E2BIG;
	}
	if (created) {
		memcpy(s->local, local, 16);
		s->sport = r->sport;
	}
	c->used++;
	flow_tally__add(&s->t, r);
	return 0;
}

/* ---- from keys to rules ------------------------------------------------------ */

struct kent {
	const struct flow_key *k;
	struct sstat *s;
};

static int cmp_addr(const struct flow_key *a, const struct flow_key *b)
{
	int d;

	if (a->family != b->family)
		return a->family - b->family;
	d = memcmp(a->remote, b->remote, 16);
	return d ? d : a->plen - b->plen;
}

static int cmp_kent(const void *x, const void *y)
{
	const struct flow_key *a = ((const struct kent *)x)->k, *b = ((const struct kent *)y)->k;

	if (a->dir != b->dir)
		return a->dir - b->dir;
	if (a->proto != b->proto)
		return a->proto - b->proto;
	if (a->port != b->port)
		return a->port - b->port;
	return cmp_addr(a, b);
}

struct pcidr {
	uint8_t family, len;
	uint8_t addr[16];
};

static int cmp_pcidr(const void *x, const void *y)
{
	const struct pcidr *a = x, *b = y;
	int d;

	if (a->family != b->family)
		return a->family - b->family;
	d = memcmp(a->addr, b->addr, 16);
	return d ? d : a->len - b->len;
}

static bool prefix_eq(const uint8_t *a, const uint8_t *b, int len)
{
	int whole = len / 8, rest = len % 8;

	if (memcmp(a, b, whole))
		return false;
	return !rest || !((a[whole] ^ b[whole]) & (0xff << (8 - rest)));
}

static bool pcidr_has(const struct pcidr *outer, const struct pcidr *inner)
{
	return outer->family == inner->family && outer->len <= inner->len &&
	       prefix_eq(outer->addr, inner->addr, outer->len);
}

static int common_len(const uint8_t *a, const uint8_t *b, int max)
{
	int l = 0;

	while (l < max && prefix_eq(a, b, l + 1))
		l++;
	return l;
}

/* Sorted, nothing inside another, siblings merged (adds no address). */
static size_t normalize(struct pcidr *v, size_t n)
{
	size_t m = 0;

	qsort(v, n, sizeof(*v), cmp_pcidr);
	for (size_t i = 0; i < n; i++) {
		if (m && pcidr_has(&v[m - 1], &v[i]))
			continue;
		v[m++] = v[i];
		while (m >= 2) {
			struct pcidr *a = &v[m - 2], *b = &v[m - 1];
			int l = a->len;

			if (a->family != b->family || b->len != l || !l || !prefix_eq(a->addr, b->addr, l - 1))
				break;
			a->len = l - 1; /* a has bit l-1 clear, b set: the parent */
			m--;
		}
	}
	return m;
}

struct service {
	uint8_t dir, proto;
	uint16_t port;
	size_t a, b;      /* its keys: ents[a, b)                                */
	struct pcidr *peers;
	size_t npeers;
	char *set;        /* the peers as text, "any" or "a/32,b/128": its identity */
	uint64_t flows, bytes, records, first, last;
};

struct srule {
	uint8_t dir, proto;
	size_t s0, s1;    /* its services: svcs[s0, s1), one peer set, ports ascending */
	uint64_t flows, bytes, records, first, last, nhosts;
	char id[64];
	int group;        /* index into groups, -1: peers written inline        */
	bool left_out;
};

struct sgroup {
	const char *set;
	size_t uses;
	unsigned dirs; /* bit per direction of the rules that use it */
	char name[64];
	int first_rule;
};

static void cidr_text(const struct pcidr *c, char *buf, size_t len)
{
	char a[64];

	fr_addr_text(c->family, c->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, c->len);
}

static int aggregate(const struct sopts *o, const struct kent *e, struct service *sv)
{
	size_t n = sv->b - sv->a, m = 0, len = 0;
	struct pcidr *v = calloc(n ? n : 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = sv->a; i < sv->b;) {
		const struct flow_key *k = e[i].k;
		int maxp = k->family == WARD_FAM_V4 ? o->max4 : o->max6, minlen = k->plen;
		size_t j = i + 1;

		while (j < sv->b && e[j].k->family == k->family &&
		       prefix_eq(e[j].k->remote, k->remote, maxp)) {
			if (e[j].k->plen < minlen)
				minlen = e[j].k->plen;
			j++;
		}
		if (maxp < host_len(k->family) && j - i >= (size_t)o->min_hosts) {
			struct pcidr *c = &v[m++];

			c->family = k->family;
			c->len = common_len(k->remote, e[j - 1].k->remote, minlen);
			memcpy(c->addr, k->remote, 16);
			mask(c->addr, c->len);
		} else {
			for (size_t x = i; x < j; x++) {
				v[m].family = e[x].k->family;
				v[m].len = e[x].k->plen;
				memcpy(v[m++].addr, e[x].k->remote, 16);
			}
		}
		i = j;
	}
	m = normalize(v, m);
	sv->peers = v;
	sv->npeers = m;
	if (o->any_above && m > (size_t)o->any_above) {
		sv->set = strdup("any");
		return sv->set ? 0 : -ENOMEM;
	}
	sv->set = malloc(m * 45 + 1);
	if (!sv->set)
		return -ENOMEM;
	sv->set[0] = 0;
	for (size_t i = 0; i < m; i++) {
		char t[64];

		cidr_text(&v[i], t, sizeof(t));
		len += snprintf(sv->set + len, 46, "%s%s", i ? "," : "", t);
	}
	return 0;
}

static int cmp_service(const void *x, const void *y)
{
	const struct service *a = x, *b = y;
	int d;

	if (a->dir != b->dir)
		return a->dir - b->dir;
	if (a->proto != b->proto)
		return a->proto - b->proto;
	d = strcmp(a->set, b->set);
	return d ? d : a->port - b->port;
}

static bool has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

static bool has_types(uint8_t proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/* ICMP type names of docs/policy.md (the numbers come from the parser). */
static const char *type_name(uint8_t proto, unsigned t)
{
	static const char *const names[] = {
		"echo-request", "echo-reply", "destination-unreachable", "time-exceeded",
		"parameter-problem", "packet-too-big", "redirect", "router-advertisement",
		"router-solicitation", "neighbor-solicitation", "neighbor-advertisement",
		"timestamp-request", "timestamp-reply",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (icmp_type__from_name(names[i], proto == IPPROTO_ICMPV6) == (int)t)
			return names[i];
	return NULL;
}

/* Port ranges of a rule: ports within --port-gap of each other join. */
struct prange {
	unsigned lo, hi;
};

static size_t rule_ranges(const struct sopts *o, const struct service *sv, const struct srule *r,
			  struct prange *out)
{
	size_t n = 0;

	for (size_t i = r->s0; i < r->s1; i++) {
		unsigned p = sv[i].port;

		if (n && has_ports(r->proto) && p - out[n - 1].hi <= (unsigned)o->port_gap)
			out[n - 1].hi = p;
		else
			out[n++] = (struct prange){ p, p };
	}
	return n;
}

/* "tcp-8000.8443", "icmp-echo-request", "proto-47": a name for ids. */
static void service_label(const struct sopts *o, const struct service *sv, const struct srule *r,
			  char *buf, size_t len)
{
	const char *pn = proto__name(r->proto);
	struct prange *rg = calloc(r->s1 - r->s0, sizeof(*rg));
	size_t n = rg ? rule_ranges(o, sv, r, rg) : 0, off;

	if (pn)
		off = snprintf(buf, len, "%s", pn);
	else
		off = snprintf(buf, len, "proto-%u", r->proto);
	for (size_t i = 0; i < n && (has_ports(r->proto) || has_types(r->proto)); i++) {
		char item[40];
		const char *tn = has_types(r->proto) ? type_name(r->proto, rg[i].lo) : NULL;

		if (tn)
			snprintf(item, sizeof(item), "%s", tn);
		else if (rg[i].lo == rg[i].hi)
			snprintf(item, sizeof(item), "%u", rg[i].lo);
		else
			snprintf(item, sizeof(item), "%u-%u", rg[i].lo, rg[i].hi);
		if (off + strlen(item) + 6 >= len || off > 36) {
			snprintf(buf + off, len - off, ".etc");
			break;
		}
		off += snprintf(buf + off, len - off, "%s%s", i ? "." : "-", item);
	}
	free(rg);
}

static void human_bytes(uint64_t b, char *buf, size_t len)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	double v = b;
	int u = -1;

	if (b < 1024) {
		snprintf(buf, len, "%llu bytes", (unsigned long long)b);
		return;
	}
	do {
		v /= 1024;
		u++;
	} while (v >= 1024 && u < 3);
	snprintf(buf, len, "%.1f %s", v, unit[u]);
}

/* ---- names --------------------------------------------------------------------- */

struct names {
	char **v;
	size_t n, cap;
};

static bool names_has(const struct names *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], name))
			return true;
	return false;
}

static int names_add(struct names *s, const char *name)
{
	if (s->n == s->cap) {
		char **v = realloc(s->v, (s->cap = s->cap ? 2 * s->cap : 64) * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
	}
	return (s->v[s->n] = strdup(name)) ? (s->n++, 0) : -ENOMEM;
}

static void names_free(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

/* base, or base-2, base-3 ...: unused in taken, then taken. 63 bytes at most. */
static int unique_name(struct names *taken, const char *base, char *out, size_t len)
{
	snprintf(out, len, "%.56s", base);
	for (int i = 2; names_has(taken, out); i++)
		snprintf(out, len, "%.56s-%d", base, i);
	return names_add(taken, out);
}

/* ---- the document ---------------------------------------------------------------- */

struct sresult {
	struct kent *ents;
	size_t nents;
	struct service *svcs;
	size_t nsvcs;
	struct srule *rules;
	size_t nrules;
	struct sgroup *groups;
	size_t ngroups;
	uint64_t covered, conflicts, conflict_flows, left_out, left_out_flows;
	json_t *conflict_list, *left_out_list;
};

static json_t *rule_json(const struct sopts *o, const struct sresult *R, const struct srule *r)
{
	const struct service *sv = R->svcs;
	json_t *j = json_object(), *peers = json_array();
	struct prange *rg = calloc(r->s1 - r->s0, sizeof(*rg));
	size_t n = rg ? rule_ranges(o, sv, r, rg) : 0;
	char when0[32], when1[32], bytes[32], desc[1024];
	const char *pn = proto__name(r->proto);
	size_t off;
	bool widened = false;

	if (r->group >= 0) {
		json_array_append_new(peers, json_string(R->groups[r->group].name));
	} else if (!strcmp(sv[r->s0].set, "any")) {
		json_array_append_new(peers, json_string("any"));
	} else {
		for (size_t i = 0; i < sv[r->s0].npeers; i++) {
			char t[64];

			cidr_text(&sv[r->s0].peers[i], t, sizeof(t));
			json_array_append_new(peers, json_string(t));
		}
	}
	json_object_set_new(j, "id", json_string(r->id));
	json_object_set_new(j, r->dir == WARD_DIR_INGRESS ? "from" : "to", peers);
	if (pn)
		json_object_set_new(j, "proto", json_string(pn));
	else
		json_object_set_new(j, "proto", json_integer(r->proto));
	if (has_ports(r->proto) || has_types(r->proto)) {
		json_t *ports = json_array();

		for (size_t i = 0; i < n; i++) {
			const char *tn = has_types(r->proto) ? type_name(r->proto, rg[i].lo) : NULL;
			char t[16];

			if (tn) {
				json_array_append_new(ports, json_string(tn));
			} else if (rg[i].lo == rg[i].hi) {
				json_array_append_new(ports, json_integer(rg[i].lo));
			} else {
				snprintf(t, sizeof(t), "%u-%u", rg[i].lo, rg[i].hi);
				json_array_append_new(ports, json_string(t));
				widened |= rg[i].hi - rg[i].lo + 1 > 0 &&
					   (size_t)(rg[i].hi - rg[i].lo + 1) > 1;
			}
		}
		json_object_set_new(j, has_ports(r->proto) ? "ports" : "icmp_types", ports);
	}
	fr_time_text(r->first, when0, sizeof(when0));
	fr_time_text(r->last, when1, sizeof(when1));
	human_bytes(r->bytes, bytes, sizeof(bytes));
	off = snprintf(desc, sizeof(desc), "%llu flow%s (%llu record%s), %s, %s .. %s; %llu peer%s",
		       (unsigned long long)r->flows, r->flows == 1 ? "" : "s",
		       (unsigned long long)r->records, r->records == 1 ? "" : "s", bytes, when0, when1,
		       (unsigned long long)r->nhosts, r->nhosts == 1 ? "" : "s");
	if (widened) {
		size_t seen = 0;
		bool gaps = false;

		for (size_t i = 0; i < n; i++)
			seen += rg[i].hi - rg[i].lo + 1;
		gaps = seen != r->s1 - r->s0;
		if (gaps) {
			off += snprintf(desc + off, sizeof(desc) - off, "; ports seen:");
			for (size_t i = r->s0; i < r->s1 && off < sizeof(desc) - 16; i++)
				off += snprintf(desc + off, sizeof(desc) - off, "%s %u",
						i > r->s0 ? "," : "", sv[i].port);
		}
	}
	if (strcmp(sv[r->s0].set, "any") == 0)
		snprintf(desc + off, sizeof(desc) - off, "; more than %d peer prefixes: any",
			 o->any_above);
	json_object_set_new(j, "description", json_string(desc));
	free(rg);
	return j;
}

/* Count peer hosts and sum a rule's services. */
static void rule_totals(struct sresult *R, struct srule *r)
{
	size_t nh = 0;

	for (size_t i = r->s0; i < r->s1; i++) {
		const struct service *s = &R->svcs[i];

		r->flows += s->flows;
		r->bytes += s->bytes;
		r->records += s->records;
		if (!r->first || (s->first && s->first < r->first))
			r->first = s->first;
		if (s->last > r->last)
			r->last = s->last;
		nh += s->b - s->a;
	}
	/* hosts seen in several services of the rule count once: the services
	 * share one peer set, so the largest is a fair lower bound */
	for (size_t i = r->s0; i < r->s1; i++)
		if (R->svcs[i].b - R->svcs[i].a > r->nhosts)
			r->nhosts = R->svcs[i].b - R->svcs[i].a;
	(void)nh;
}

static int build(struct sopts *o, struct sctx *c, struct sresult *R, struct names *ids,
		 struct names *gnames)
{
	size_t n = 0, ns = 0, nr = 0;
	int err;

	R->ents = calloc(c->keys.n ? c->keys.n : 1, sizeof(*R->ents));
	if (!R->ents)
		return -ENOMEM;
	for (size_t i = 0; i < c->keys.cap; i++) {
		const void *k;
		struct sstat *s = ftab__at(&c->keys, i, &k);

		if (s && !s->drop)
			R->ents[n++] = (struct kent){ .k = k, .s = s };
	}
	R->nents = n;
	qsort(R->ents, n, sizeof(*R->ents), cmp_kent);

	/* services: the keys of one (dir, proto, port) */
	R->svcs = calloc(n ? n : 1, sizeof(*R->svcs));
	if (!R->svcs)
		return -ENOMEM;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		struct service *sv = &R->svcs[ns++];

		sv->dir = R->ents[i].k->dir;
		sv->proto = R->ents[i].k->proto;
		sv->port = R->ents[i].k->port;
		sv->a = i;
		while (j < n && R->ents[j].k->dir == sv->dir &&
		       R->ents[j].k->proto == sv->proto && R->ents[j].k->port == sv->port) {
			struct sstat *s = R->ents[j].s;

			sv->flows += key_flows(s);
			sv->bytes += key_bytes(s);
			sv->records += s->t.records;
			if (!sv->first || (s->t.first && s->t.first < sv->first))
				sv->first = s->t.first;
			if (s->t.last > sv->last)
				sv->last = s->t.last;
			j++;
		}
		sv->b = j;
		if ((err = aggregate(o, R->ents, sv)))
			return err;
		i = j;
	}
	R->nsvcs = ns;
	qsort(R->svcs, ns, sizeof(*R->svcs), cmp_service);

	/* rules: services of one (dir, proto, peer set) */
	R->rules = calloc(ns ? ns : 1, sizeof(*R->rules));
	if (!R->rules)
		return -ENOMEM;
	for (size_t i = 0; i < ns;) {
		struct srule *r = &R->rules[nr++];
		size_t j = i + 1;

		while (j < ns && R->svcs[j].dir == R->svcs[i].dir &&
		       R->svcs[j].proto == R->svcs[i].proto && !strcmp(R->svcs[j].set, R->svcs[i].set))
			j++;
		r->dir = R->svcs[i].dir;
		r->proto = R->svcs[i].proto;
		r->s0 = i;
		r->s1 = j;
		r->group = -1;
		rule_totals(R, r);
		if (r->flows < o->min_flows) {
			r->left_out = true;
			R->left_out++;
			R->left_out_flows += r->flows;
		}
		i = j;
	}
	R->nrules = nr;

	/* ids, in the order rules are written: by direction, protocol, first port */
	for (size_t i = 0; i < nr; i++) {
		struct srule *r = &R->rules[i];
		char label[64], base[80];

		if (r->left_out)
			continue;
		service_label(o, R->svcs, r, label, sizeof(label));
		snprintf(base, sizeof(base), "%s-%s", r->dir == WARD_DIR_INGRESS ? "in" : "out", label);
		if ((err = unique_name(ids, base, r->id, sizeof(r->id))))
			return err;
	}

	/* groups: a peer set of several CIDRs, or one that serves several rules */
	R->groups = calloc(nr ? nr : 1, sizeof(*R->groups));
	if (!R->groups)
		return -ENOMEM;
	R->ngroups = 0;
	for (size_t i = 0; i < nr; i++) {
		struct srule *r = &R->rules[i];
		const struct service *sv = &R->svcs[r->s0];
		size_t g;

		if (r->left_out || !strcmp(sv->set, "any"))
			continue;
		for (g = 0; g < R->ngroups && strcmp(R->groups[g].set, sv->set); g++)
			;
		if (g == R->ngroups) {
			R->groups[g].set = sv->set;
			R->groups[g].first_rule = i;
			R->ngroups++;
		}
		R->groups[g].uses++;
		R->groups[g].dirs |= 1u << r->dir;
		r->group = g;
	}
	for (size_t g = 0; g < R->ngroups; g++) {
		struct sgroup *gr = &R->groups[g];
		const struct srule *r = &R->rules[gr->first_rule];
		char label[64], base[80];

		if (gr->uses < 2 && R->svcs[r->s0].npeers < 2)
			continue;
		service_label(o, R->svcs, r, label, sizeof(label));
		snprintf(base, sizeof(base), "%s-%s",
			 gr->dirs == 3 ? "peers" : r->dir == WARD_DIR_INGRESS ? "clients" : "servers", label);
		if ((err = unique_name(gnames, base, gr->name, sizeof(gr->name))))
			return err;
	}
	for (size_t i = 0; i < nr; i++)
		if (R->rules[i].group >= 0 && !R->groups[R->rules[i].group].name[0])
			R->rules[i].group = -1;
	return 0;
}

/* ---- --policy CURRENT: what it allows already, what it denies on purpose ------ */

static int against_current(struct sopts *o, struct sctx *c, struct sresult *R,
			   const struct policy *cur)
{
	struct policy p = *cur;
	struct flow_eval *ev = NULL;
	struct diags d = {};
	int err;

	p.mode = WARD_MODE_ENFORCE; /* what the suggestion will be */
	err = flow_eval__open(&ev, &p, &d);
	diags__print(&d, o->current, stderr);
	diags__free(&d);
	if (err) {
		fprintf(stderr, PROG ": --policy needs the programs to evaluate %s: %s\n", o->current,
			strerror(-err));
		return err;
	}
	for (size_t i = 0; i < c->keys.cap && !err; i++) {
		const void *kp;
		struct sstat *s = ftab__at(&c->keys, i, &kp);
		const struct flow_key *k = kp;
		struct flow_verdict v;
		char peer[64], svc[32], msg[256];

		if (!s || (err = flow_eval__run(ev, k, s->local, s->sport, &v)))
			continue;
		if (v.pass) {
			s->drop = true;
			R->covered += key_flows(s);
		} else if (v.rule_idx != WARD_RULE_NONE && v.rule_idx < cur->nrules) {
			s->drop = true;
			R->conflicts++;
			R->conflict_flows += key_flows(s);
			flow_key__remote(k, peer, sizeof(peer));
			flow_key__service(k, svc, sizeof(svc));
			snprintf(msg, sizeof(msg), "%s %s %s: denied by rule %s of the current policy",
				 k->dir == WARD_DIR_INGRESS ? "in" : "out", peer, svc,
				 cur->rules[v.rule_idx].id);
			json_array_append_new(R->conflict_list, json_string(msg));
		}
	}
	if (err)
		fprintf(stderr, PROG ": evaluate with %s: %s\n", o->current, strerror(-err));
	flow_eval__close(ev);
	return err;
}

/* ---- writing ---------------------------------------------------------------------- */

/* A key as JSON text (quoted, escaped); free() it. */
static char *key_text(const char *key)
{
	json_t *k = json_string(key);
	char *s = k ? json_dumps(k, JSON_ENCODE_ANY) : NULL;

	json_decref(k);
	return s;
}

static void put_line(FILE *f, int indent, const char *key, json_t *v, bool comma)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);

	if (key) {
		char *k = key_text(key);

		fprintf(f, "%*s%s: %s%s\n", indent, "", k ? k : "\"?\"", s ? s : "null", comma ? "," : "");
		free(k);
	} else {
		fprintf(f, "%*s%s%s\n", indent, "", s ? s : "null", comma ? "," : "");
	}
	free(s);
}

/* The document as a person lays it out: one group, one rule a line. */
static void write_doc(FILE *f, json_t *doc)
{
	const char *key;
	json_t *v;
	size_t i = 0, n = json_object_size(doc);

	fprintf(f, "{\n");
	json_object_foreach(doc, key, v) {
		bool last = ++i == n;

		if (json_is_object(v) && (!strcmp(key, "groups") || !strcmp(key, "rate_limits")) &&
		    json_object_size(v)) {
			const char *k2;
			json_t *v2;
			size_t i2 = 0, n2 = json_object_size(v);
			char *kq = key_text(key);

			fprintf(f, "  %s: {\n", kq);
			free(kq);
			json_object_foreach(v, k2, v2)
				put_line(f, 4, k2, v2, ++i2 < n2);
			fprintf(f, "  }%s\n", last ? "" : ",");
		} else if (json_is_array(v) && json_array_size(v) &&
			   (!strcmp(key, "ingress") || !strcmp(key, "egress"))) {
			size_t idx;
			json_t *r;

			fprintf(f, "  \"%s\": [\n", key);
			json_array_foreach(v, idx, r)
				put_line(f, 4, NULL, r, idx + 1 < json_array_size(v));
			fprintf(f, "  ]%s\n", last ? "" : ",");
		} else {
			put_line(f, 2, key, v, !last);
		}
	}
	fprintf(f, "}\n");
}

static char *doc_text(json_t *doc, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	write_doc(f, doc);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static json_t *summary_text(const struct sopts *o, const struct sctx *c, const struct flow_scan *st,
			    const struct sresult *R, uint64_t flows, size_t nrules)
{
	char t0[32], t1[32], buf[1024];
	size_t off;

	fr_time_text(st->first_ms, t0, sizeof(t0));
	fr_time_text(st->last_ms, t1, sizeof(t1));
	off = snprintf(buf, sizeof(buf),
		       "Suggested by ward suggest from %llu flow records (%llu flows) in %llu file%s, "
		       "%s .. %s: %zu rules.",
		       (unsigned long long)c->used, (unsigned long long)flows,
		       (unsigned long long)st->files, st->files == 1 ? "" : "s", t0, t1, nrules);
	if (st->lost_records)
		off += snprintf(buf + off, sizeof(buf) - off,
				" %llu records were lost while recording: flows may be missing.",
				(unsigned long long)st->lost_records);
	if (c->denied_skipped)
		off += snprintf(buf + off, sizeof(buf) - off,
				" %llu records of denied flows not allowed (--include-denied).",
				(unsigned long long)c->denied_skipped);
	if (R->left_out)
		off += snprintf(buf + off, sizeof(buf) - off,
				" %llu rules under %llu flows left out (--min-flows).",
				(unsigned long long)R->left_out, (unsigned long long)o->min_flows);
	if (R->conflicts)
		off += snprintf(buf + off, sizeof(buf) - off,
				" %llu flows stay denied by deny rules of %s.",
				(unsigned long long)R->conflict_flows, o->current);
	if (c->coarse)
		snprintf(buf + off, sizeof(buf) - off,
			 " Too many distinct peers: peers were folded to /%d and /%d.", o->max4, o->max6);
	return json_string(buf);
}

static json_t *make_doc(const struct sopts *o, struct sresult *R, json_t *base, json_t *summary)
{
	json_t *doc = base ? base : json_object(), *groups, *dirs[2];

	if (!base) {
		json_object_set_new(doc, "version", json_integer(1));
		json_object_set_new(doc, "name", json_string(o->name));
		json_object_set_new(doc, "revision", json_integer(1));
		json_object_set_new(doc, "mode", json_string(o->audit_mode ? "audit" : "enforce"));
		json_object_set_new(doc, "description", summary);
		json_object_set_new(doc, "defaults", json_pack("{s:s,s:s,s:s}", "ingress", "deny",
								"egress", "deny", "log", o->log));
	} else {
		json_t *rev = json_object_get(doc, "revision");

		json_object_set_new(doc, "revision",
				    json_integer(json_is_integer(rev) ? json_integer_value(rev) + 1 : 1));
		json_object_set_new(doc, "mode", json_string(o->audit_mode ? "audit" : "enforce"));
		json_object_set_new(doc, "description", summary);
		if (o->log_set) {
			json_t *def = json_object_get(doc, "defaults");

			if (!json_is_object(def)) {
				def = json_object();
				json_object_set_new(doc, "defaults", def);
			}
			json_object_set_new(def, "log", json_string(o->log));
		}
	}
	groups = json_object_get(doc, "groups");
	if (!json_is_object(groups)) {
		groups = json_object();
		json_object_set_new(doc, "groups", groups);
	}
	for (size_t g = 0; g < R->ngroups; g++) {
		struct sgroup *gr = &R->groups[g];
		const struct service *sv;
		json_t *a;

		if (!gr->name[0])
			continue;
		sv = &R->svcs[R->rules[gr->first_rule].s0];
		a = json_array();
		for (size_t i = 0; i < sv->npeers; i++) {
			char t[64];

			cidr_text(&sv->peers[i], t, sizeof(t));
			json_array_append_new(a, json_string(t));
		}
		json_object_set_new(groups, gr->name, a);
	}
	if (!json_object_size(groups))
		json_object_del(doc, "groups");
	for (int d = 0; d < 2; d++) {
		const char *key = d == WARD_DIR_INGRESS ? "ingress" : "egress";

		dirs[d] = json_object_get(doc, key);
		if (!json_is_array(dirs[d])) {
			dirs[d] = json_array();
			json_object_set_new(doc, key, dirs[d]);
		}
	}
	for (size_t i = 0; i < R->nrules; i++)
		if (!R->rules[i].left_out)
			json_array_append_new(dirs[R->rules[i].dir], rule_json(o, R, &R->rules[i]));
	return doc;
}

/* ---- proof: the policy is valid and allows every flow it should ------------------ */

static int bug_invalid(struct diags *d)
{
	fprintf(stderr, PROG ": BUG: the suggestion does not compile:\n");
	diags__print(d, "(suggestion)", stderr);
	return -EINVAL;
}

/* Valid (parsed and compiled, as ward check), and with the programs: every
 * observed key of a kept rule passes. */
static int verify(const struct sopts *o, const struct sresult *R, const char *text, size_t len,
		  uint64_t *checked, bool *skipped)
{
	struct policy p = {};
	struct diags d = {};
	struct flow_eval *ev = NULL;
	int err, bad = 0;

	*skipped = true;
	err = policy__parse(text, len, &p, &d);
	if (err) {
		err = bug_invalid(&d);
		goto out;
	}
	p.mode = WARD_MODE_ENFORCE; /* audit would pass everything */
	err = o->verify ? flow_eval__open(&ev, &p, &d) : -EPERM;
	if (err == -EINVAL) {
		err = bug_invalid(&d);
		goto out;
	}
	if (err) {
		struct compiled c = {};

		if (o->verify)
			fprintf(stderr, PROG ": not verified against the programs (%s; needs "
					"CAP_BPF)\n", strerror(-err));
		err = policy__compile(&p, &c, &d);
		compiled__free(&c);
		if (err)
			err = bug_invalid(&d);
		goto out;
	}
	*skipped = false;
	for (size_t r = 0; r < R->nrules && !err; r++) {
		const struct srule *ru = &R->rules[r];

		if (ru->left_out)
			continue;
		for (size_t s = ru->s0; s < ru->s1 && !err; s++)
			for (size_t i = R->svcs[s].a; i < R->svcs[s].b && !err; i++) {
				const struct kent *e = &R->ents[i];
				struct flow_verdict v;
				char peer[64], svc[32];

				err = flow_eval__run(ev, e->k, e->s->local, e->s->sport, &v);
				if (err)
					break;
				(*checked)++;
				if (v.pass)
					continue;
				flow_key__remote(e->k, peer, sizeof(peer));
				flow_key__service(e->k, svc, sizeof(svc));
				fprintf(stderr, PROG ": BUG: %s %s %s is not allowed by the suggestion\n",
					e->k->dir == WARD_DIR_INGRESS ? "in" : "out", peer, svc);
				bad++;
			}
	}
	if (err)
		fprintf(stderr, PROG ": verification: %s\n", strerror(-err));
	else if (bad)
		err = -EPROTO;
	flow_eval__close(ev);
out:
	diags__free(&d);
	policy__free(&p);
	return err;
}

static int write_out(const char *path, const char *text, size_t len)
{
	char tmp[4096];
	FILE *f;

	if (!path || !strcmp(path, "-")) {
		fwrite(text, 1, len, stdout);
		return fflush(stdout) ? -errno : 0;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	if (fwrite(text, 1, len, f) != len || fclose(f)) {
		int e = errno;

		unlink(tmp);
		return -e;
	}
	return rename(tmp, path) ? -errno : 0;
}

/* ---- the command ---------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: ward suggest --flows FILE... [--policy CURRENT] [-o OUT] [options]\n"
"\n"
"Write a policy (v1) that allows exactly the flows observed in flow records,\n"
"laid out the way a person would write it. Record the node with a policy in\n"
"audit mode and \"log\": \"all\" first (docs/rollout.md).\n"
"\n"
"Input\n"
"  --flows FILE...      the agent's OCSF or ECS JSON lines: plain, rotated, gzip\n"
"                       (PATH.N.gz); every argument that is not an option is a\n"
"                       file too, so `--flows /var/log/ward/flows.json*` works.\n"
"                       *.tmp files (a compression in progress) are skipped.\n"
"  --policy CURRENT     start from this policy: keep its rules, groups and\n"
"                       defaults, add rules only for the observed flows it would\n"
"                       deny in enforce mode. Flows an enforcing deny rule of\n"
"                       CURRENT denies stay denied (deny wins) and are listed.\n"
"\n"
"What counts as an observed flow\n"
"  Open, Close and Traffic records (allowed), audit records (would-be denies\n"
"  that audit mode let through). Refused flows (Refuse, revoked) only with\n"
"  --include-denied. Rate-limit records name no flow and are skipped. A flow\n"
"  is keyed by direction, remote address, protocol and destination port (ICMP\n"
"  type): source ports are never part of a rule. TCP records without a SYN\n"
"  towards an ephemeral port are connections older than the recording, seen\n"
"  from the reply side, and are left out (--ephemeral).\n"
"\n"
"Shape of the result\n"
"  --max-prefix4 N      peers of one service in one /N (default 24) are written\n"
"  --max-prefix6 N      as the smallest prefix holding them (default /64) when\n"
"  --min-hosts N        there are at least N of them (default 4); otherwise as\n"
"                       hosts. Siblings that add up to a prefix are merged.\n"
"                       --max-prefix4 32 --max-prefix6 128: hosts only.\n"
"  --port-gap N         ports of one peer set within N of each other form one\n"
"                       range (default 4; 1: only adjacent ports)\n"
"  --any-above N        a service with more than N peer prefixes is open to\n"
"                       \"any\" (default 256; 0 never)\n"
"  --min-flows N        leave out rules that cover fewer flows (default 1)\n"
"  --include-denied     allow refused flows too\n"
"  --ephemeral LO-HI    the ephemeral port range (default 32768-60999), or none\n"
"  --mode enforce|audit the mode of the result (default enforce)\n"
"  --name NAME          the policy name (default \"suggested\"; CURRENT's with --policy)\n"
"  --log none|denied|all  defaults.log of the result (default denied; CURRENT's\n"
"                       with --policy). all: allowed flows are recorded too, so\n"
"                       that the enforced policy can be replayed again\n"
"  --max-keys N         distinct (direction, peer, protocol, port) keys held in\n"
"                       memory (default 2000000, ~200 MB); past it, peers are\n"
"                       folded to --max-prefix4/6\n"
"\n"
"Output\n"
"  -o, --output FILE    write the policy there (atomically; default stdout)\n"
"  --no-verify          do not run every flow through the real programs to\n"
"                       prove the result allows it (needs CAP_BPF)\n"
"  --json               the summary on stderr as one JSON object\n"
"\n"
"Each rule's description says how many flows, records and bytes it covers, the\n"
"time span and the peers; the policy's description says what was read and\n"
"what was left out (records lost while recording, denied flows, small rules).\n"
"The result is valid (ward check) by construction: it is parsed and compiled\n"
"before it is written.\n"
"\n"
"Exit status: 0 written; 1 invalid input (CURRENT, no flows observed);\n"
"2 usage; 3 runtime failure (a file, the programs).\n");
}

static int num(const char *s, long lo, long hi, long *ret)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < lo || v > hi)
		return -1;
	*ret = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct sopts *o)
{
	static const struct option lo[] = {
		{ "flows", required_argument, NULL, 'f' },	 { "policy", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },	 { "max-prefix4", required_argument, NULL, '4' },
		{ "max-prefix6", required_argument, NULL, '6' }, { "min-hosts", required_argument, NULL, 'H' },
		{ "port-gap", required_argument, NULL, 'g' },	 { "any-above", required_argument, NULL, 'A' },
		{ "min-flows", required_argument, NULL, 'm' },	 { "include-denied", no_argument, NULL, 'D' },
		{ "ephemeral", required_argument, NULL, 'e' },	 { "mode", required_argument, NULL, 'M' },
		{ "name", required_argument, NULL, 'n' },	 { "max-keys", required_argument, NULL, 'K' },
		{ "no-verify", no_argument, NULL, 'V' },	 { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },		 { "pin-path", required_argument, NULL, 'P' },
		{ "log", required_argument, NULL, 'L' },	 {},
	};
	long v = 0;
	int c, bad = 0;

	o->max4 = 24, o->max6 = 64, o->min_hosts = 4, o->port_gap = 4, o->any_above = 256;
	o->min_flows = 1, o->max_keys = 2000000, o->verify = true, o->name = NULL;
	o->log = "denied";
	o->eph = (struct port_span){ 32768, 60999 };
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (o->nfiles < MAX_FILES)
				o->files[o->nfiles++] = optarg;
			else
				bad = 1;
			break;
		case 'p': o->current = optarg; break;
		case 'o': o->output = optarg; break;
		case '4': bad |= num(optarg, 0, 32, &v); o->max4 = v; break;
		case '6': bad |= num(optarg, 0, 128, &v); o->max6 = v; break;
		case 'H': bad |= num(optarg, 1, 1 << 30, &v); o->min_hosts = v; break;
		case 'g': bad |= num(optarg, 1, 65535, &v); o->port_gap = v; break;
		case 'A': bad |= num(optarg, 0, 1 << 30, &v); o->any_above = v; break;
		case 'm': bad |= num(optarg, 1, 1L << 62, &v); o->min_flows = v; break;
		case 'D': o->include_denied = true; break;
		case 'e': bad |= port_span__parse(optarg, &o->eph); break;
		case 'M':
			if (!strcmp(optarg, "audit"))
				o->audit_mode = true;
			else if (strcmp(optarg, "enforce"))
				bad = 1;
			break;
		case 'n': o->name = optarg; break;
		case 'L':
			o->log = optarg;
			o->log_set = true;
			bad |= strcmp(optarg, "none") && strcmp(optarg, "denied") && strcmp(optarg, "all");
			break;
		case 'K': bad |= num(optarg, 1024, 1L << 40, &v); o->max_keys = v; break;
		case 'V': o->verify = false; break;
		case 'j': o->json = true; break;
		case 'P': break; /* every command takes it; records are files */
		case 'h': usage(stdout); exit(EXIT_OK);
		default: bad = 1;
		}
	}
	for (; optind < argc; optind++) {
		if (o->nfiles < MAX_FILES)
			o->files[o->nfiles++] = argv[optind];
		else
			bad = 1;
	}
	if (!o->nfiles)
		bad = 1;
	if (o->name) {
		bool ok = *o->name && strlen(o->name) <= 63;

		for (const char *s = o->name; *s && ok; s++)
			ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			     (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-';
		if (!ok) {
			fprintf(stderr, PROG ": --name: 1-63 bytes of [A-Za-z0-9_.-]\n");
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

static size_t named_groups(const struct sresult *R)
{
	size_t n = 0;

	for (size_t g = 0; g < R->ngroups; g++)
		n += R->groups[g].name[0] != 0;
	return n;
}

static void print_summary(const struct sopts *o, const struct sctx *c, const struct flow_scan *st,
			  const struct sresult *R, uint64_t flows, size_t nrules, uint64_t checked,
			  bool skipped)
{
	char t0[32], t1[32];

	fr_time_text(st->first_ms, t0, sizeof(t0));
	fr_time_text(st->last_ms, t1, sizeof(t1));
	if (o->json) {
		json_t *j = json_pack(
			"{s:I,s:I,s:I,s:I,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:I,s:I,s:I,s:b,s:I,s:b}",
			"files", (json_int_t)st->files, "lines", (json_int_t)st->lines, "bad_lines",
			(json_int_t)st->bad_lines, "records_used", (json_int_t)c->used, "first", t0,
			"last", t1, "flows", (json_int_t)flows, "keys", (json_int_t)c->keys.n,
			"records_lost", (json_int_t)st->lost_records, "denied_skipped",
			(json_int_t)c->denied_skipped, "rate_limit_skipped", (json_int_t)c->skips.rate_limit,
			"midstream_skipped", (json_int_t)c->skips.midstream, "covered_by_current",
			(json_int_t)R->covered, "rules", (int)nrules, "left_out_rules",
			(json_int_t)R->left_out, "conflicts", (json_int_t)R->conflicts, "verified_keys",
			(json_int_t)checked, "verified", !skipped, "groups", (json_int_t)named_groups(R),
			"peers_folded", c->coarse);
		char *s;

		json_object_set(j, "conflict_list", R->conflict_list);
		s = json_dumps(j, JSON_COMPACT);
		if (s)
			fprintf(stderr, "%s\n", s);
		free(s);
		json_decref(j);
		return;
	}
	fprintf(stderr, PROG ": %llu lines in %llu files, %s .. %s: %llu flow records used "
			"(%llu flows, %zu keys)\n",
		(unsigned long long)st->lines, (unsigned long long)st->files, t0, t1,
		(unsigned long long)c->used, (unsigned long long)flows, c->keys.n);
	if (st->lost_records)
		fprintf(stderr, PROG ": WARNING: %llu records were lost while recording "
				"(records-lost records): some flows may be missing\n",
			(unsigned long long)st->lost_records);
	if (st->bad_lines)
		fprintf(stderr, PROG ": %llu lines were not JSON records (torn or foreign)\n",
			(unsigned long long)st->bad_lines);
	if (c->denied_skipped)
		fprintf(stderr, PROG ": %llu records of denied flows not allowed (--include-denied "
				"allows them)\n", (unsigned long long)c->denied_skipped);
	if (c->skips.rate_limit)
		fprintf(stderr, PROG ": %llu rate-limit records skipped (they name no flow)\n",
			(unsigned long long)c->skips.rate_limit);
	if (c->skips.midstream)
		fprintf(stderr, PROG ": %llu records of TCP connections older than the recording "
				"(no SYN, ephemeral port) left out\n",
			(unsigned long long)c->skips.midstream);
	if (o->current)
		fprintf(stderr, PROG ": %llu flows already allowed by %s\n",
			(unsigned long long)R->covered, o->current);
	for (size_t i = 0; i < json_array_size(R->conflict_list); i++)
		fprintf(stderr, PROG ": stays denied: %s\n",
			json_string_value(json_array_get(R->conflict_list, i)));
	if (R->left_out)
		fprintf(stderr, PROG ": %llu rules covering %llu flows left out (--min-flows %llu)\n",
			(unsigned long long)R->left_out, (unsigned long long)R->left_out_flows,
			(unsigned long long)o->min_flows);
	fprintf(stderr, PROG ": %zu rules, %zu groups", nrules, named_groups(R));
	if (skipped)
		fprintf(stderr, "; not verified against the programs\n");
	else
		fprintf(stderr, "; verified: each of the %llu observed keys it covers passes the real "
				"programs (BPF_PROG_TEST_RUN)\n", (unsigned long long)checked);
}

static void result_free(struct sresult *R)
{
	for (size_t i = 0; i < R->nsvcs; i++) {
		free(R->svcs[i].peers);
		free(R->svcs[i].set);
	}
	free(R->svcs);
	free(R->ents);
	free(R->rules);
	free(R->groups);
	json_decref(R->conflict_list);
	json_decref(R->left_out_list);
}

int cmd_suggest(int argc, char **argv)
{
	static struct sopts o;
	struct sctx c = { .o = &o };
	struct flow_scan st = {};
	struct sresult R = {};
	struct names ids = {}, gnames = {};
	struct policy cur = {};
	struct diags d = {};
	json_t *base = NULL, *doc = NULL;
	char *text = NULL;
	size_t len = 0, nrules = 0;
	uint64_t flows = 0, checked = 0;
	bool skipped = true;
	int err, ret = EXIT_RUNTIME;

	memset(&o, 0, sizeof(o));
	if (parse_args(argc, argv, &o)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	R.conflict_list = json_array();
	R.left_out_list = json_array();
	if (o.current) {
		json_error_t je;

		err = policy__parse_file(o.current, &cur, &d);
		diags__print(&d, o.current, stderr);
		diags__free(&d);
		if (err) {
			ret = EXIT_INVALID;
			goto out;
		}
		base = json_load_file(o.current, 0, &je);
		if (!base) {
			fprintf(stderr, PROG ": %s: %s\n", o.current, je.text);
			ret = EXIT_INVALID;
			goto out;
		}
		for (size_t i = 0; i < cur.nrules; i++)
			if (names_add(&ids, cur.rules[i].id))
				goto out;
		for (size_t i = 0; i < cur.ngroups; i++)
			if (names_add(&gnames, cur.terms[i].name))
				goto out;
	}
	if (!o.name)
		o.name = "suggested";
	if (ftab__init(&c.keys, sizeof(struct flow_key), sizeof(struct sstat), o.max_keys))
		goto out;
	err = flow_scan__files(PROG, o.files, o.nfiles, &st, on_record, &c);
	if (err)
		goto out;
	if (!c.used) {
		fprintf(stderr, PROG ": no observed flows in %zu file(s) (%llu lines): nothing to "
				"suggest\n", o.nfiles, (unsigned long long)st.lines);
		ret = EXIT_INVALID;
		goto out;
	}
	if (o.current) {
		if (against_current(&o, &c, &R, &cur))
			goto out;
		if (!strcmp(o.name, "suggested"))
			o.name = cur.name;
	}
	if (build(&o, &c, &R, &ids, &gnames))
		goto out;
	for (size_t i = 0; i < R.nrules; i++)
		if (!R.rules[i].left_out) {
			nrules++;
			flows += R.rules[i].flows;
		}
	doc = make_doc(&o, &R, base, summary_text(&o, &c, &st, &R, flows, nrules));
	base = NULL;
	text = doc_text(doc, &len);
	if (!text)
		goto out;
	err = verify(&o, &R, text, len, &checked, &skipped);
	if (err)
		goto out;
	err = write_out(o.output, text, len);
	if (err) {
		fprintf(stderr, PROG ": %s: %s\n", o.output, strerror(-err));
		goto out;
	}
	print_summary(&o, &c, &st, &R, flows, nrules, checked, skipped);
	ret = EXIT_OK;
out:
	free(text);
	json_decref(doc);
	json_decref(base);
	result_free(&R);
	names_free(&ids);
	names_free(&gnames);
	ftab__free(&c.keys);
	policy__free(&cur);
	return ret;
}
