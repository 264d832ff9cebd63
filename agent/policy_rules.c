// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Policy v1 rules: from/to, proto, ports, icmp_types, actions, flags. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "policy_parse_util.h"

static const char *const rule_keys[WARD_DIR_MAX][11] = {
	{ "id", "action", "from", "proto", "ports", "icmp_types", "rate_limit", "audit", "log",
	  "description", NULL },
	{ "id", "action", "to", "proto", "ports", "icmp_types", "rate_limit", "audit", "log",
	  "description", NULL },
};

/* Index of the term for a from/to entry: group, "any" or literal CIDR. */
static long resolve_term(struct pctx *c, json_t *v, const char *ptr)
{
	struct policy *p = c->p;
	const char *s, *why;
	struct cidr cd;
	struct term *t;

	if (!json_is_string(v)) {
		perr(c, ptr, v, "must be a group name, a CIDR or \"any\"");
		return -1;
	}
	s = json_string_value(v);
	{
		long found = term_find(c, s);

		if (found >= 0)
			return found;
	}
	if (!strcmp(s, "any")) {
		memset(&cd, 0, sizeof(cd));
		cd.family = WARD_FAM_ANY;
	} else if (cidr__parse(s, &cd, &why)) {
		if (strchr(s, '/') || strchr(s, ':') || strspn(s, "0123456789.") == strlen(s))
			perr(c, ptr, v, "%s", why);
		else
			perr(c, ptr, v, "unknown group (and not a CIDR)");
		return -1;
	}
	t = term_new(c);
	if (!t || !(t->set.incl = malloc(sizeof(cd)))) {
		c->oom = true;
		return -1;
	}
	t->name = strdup(s);
	t->set.incl[0] = cd;
	t->set.nincl = 1;
	if (term_index(c, p->nterms - 1))
		return -1;
	return p->nterms - 1;
}

static void parse_peers(struct pctx *c, json_t *arr, const char *ptr, struct rule *r)
{
	char sub[PTR_MAX];
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) == 0) {
		perr(c, ptr, arr, "must be a non-empty array of group names, CIDRs or \"any\"");
		return;
	}
	r->terms = calloc(json_array_size(arr), sizeof(*r->terms));
	if (!r->terms) {
		c->oom = true;
		return;
	}
	json_array_foreach(arr, i, v) {
		long t;

		ptr_index(sub, ptr, i);
		t = resolve_term(c, v, sub);
		if (t >= 0)
			r->terms[r->nterms++] = t;
	}
}

/* "lo-hi", "n", or an integer; names for ICMP types when icmp >= 0. */
static int get_range(struct pctx *c, json_t *v, const char *ptr, long max, int icmp,
		     struct port_range *ret)
{
	long lo, hi;
	char *end;

	if (json_is_integer(v)) {
		lo = hi = json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);

		if (icmp >= 0 && (lo = icmp_type__from_name(s, icmp == IPPROTO_ICMPV6)) >= 0) {
			hi = lo;
		} else {
			lo = strtol(s, &end, 10);
			hi = lo;
			if (end != s && *end == '-')
				hi = strtol(end + 1, &end, 10);
			if (end == s || *end || s[0] == '-' || s[0] == '+') {
				perr(c, ptr, v, icmp >= 0 ? "not an ICMP type, name or \"lo-hi\" range"
							  : "not a port or \"lo-hi\" range");
				return -1;
			}
		}
	} else {
		perr(c, ptr, v, "must be a number or a \"lo-hi\" string");
		return -1;
	}
	if (lo < 0 || hi < 0 || lo > max || hi > max) {
		perr(c, ptr, v, "out of range (0-%ld)", max);
		return -1;
	}
	if (lo > hi) {
		perr(c, ptr, v, "empty range (lo > hi)");
		return -1;
	}
	ret->lo = lo;
	ret->hi = hi;
	return 0;
}

static void parse_ranges(struct pctx *c, json_t *arr, const char *ptr, long max, int icmp,
			 struct rule *r)
{
	char sub[PTR_MAX];
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) == 0) {
		perr(c, ptr, arr, "must be a non-empty array");
		return;
	}
	r->ports = calloc(json_array_size(arr), sizeof(*r->ports));
	if (!r->ports) {
		c->oom = true;
		return;
	}
	json_array_foreach(arr, i, v) {
		ptr_index(sub, ptr, i);
		if (!get_range(c, v, sub, max, icmp, &r->ports[r->nports]))
			r->nports++;
	}
}

static void parse_proto(struct pctx *c, json_t *o, const char *ptr, struct rule *r)
{
	char sub[PTR_MAX];
	json_t *v = json_object_get(o, "proto");
	long long n;

	r->proto = POLICY_PROTO_ANY;
	if (!v)
		return;
	ptr_sub(sub, ptr, "proto");
	if (json_is_string(v)) {
		r->proto = proto__from_name(json_string_value(v));
		if (r->proto == -2) {
			perr(c, sub, v, "must be tcp, udp, icmp, icmpv6, any or a number 0-255");
			r->proto = POLICY_PROTO_ANY;
		}
	} else if (!get_int(c, v, sub, 0, 255, &n)) {
		r->proto = n;
	}
}

static void parse_ports(struct pctx *c, json_t *o, const char *ptr, struct rule *r)
{
	json_t *ports = json_object_get(o, "ports"), *types = json_object_get(o, "icmp_types");
	bool l4 = r->proto == IPPROTO_TCP || r->proto == IPPROTO_UDP;
	bool icmp = r->proto == IPPROTO_ICMP || r->proto == IPPROTO_ICMPV6;
	char sub[PTR_MAX];

	if (ports) {
		ptr_sub(sub, ptr, "ports");
		if (!l4)
			perr(c, sub, ports, "ports need proto tcp or udp");
		else
			parse_ranges(c, ports, sub, 65535, -1, r);
	}
	if (types) {
		ptr_sub(sub, ptr, "icmp_types");
		if (!icmp)
			perr(c, sub, types, "icmp_types need proto icmp or icmpv6");
		else if (ports)
			perr(c, sub, types, "a rule has ports or icmp_types, not both");
		else
			parse_ranges(c, types, sub, 255, r->proto, r);
	}
}

static void parse_flags(struct pctx *c, json_t *o, const char *ptr, struct rule *r)
{
	const char *acts[] = { "deny", "allow", NULL };
	char sub[PTR_MAX];
	json_t *v;
	int a;

	r->action = WARD_ACT_ALLOW;
	ptr_sub(sub, ptr, "action");
	if ((v = json_object_get(o, "action")) && (a = get_enum(c, v, sub, acts)) >= 0)
		r->action = a;
	ptr_sub(sub, ptr, "audit");
	if ((v = json_object_get(o, "audit")))
		(void)get_bool(c, v, sub, &r->audit);
	r->log = c->p->default_log == POLICY_LOG_ALL ||
		 (c->p->default_log == POLICY_LOG_DENIED && r->action == WARD_ACT_DENY);
	ptr_sub(sub, ptr, "log");
	if ((v = json_object_get(o, "log")))
		(void)get_bool(c, v, sub, &r->log);
	r->rate_limit = -1;
	ptr_sub(sub, ptr, "rate_limit");
	if ((v = json_object_get(o, "rate_limit"))) {
		if (!json_is_string(v)) {
			perr(c, sub, v, "must be the name of a rate limit");
			return;
		}
		for (size_t i = 0; i < c->p->nrate_limits; i++)
			if (c->p->rate_limits[i].name &&
			    !strcmp(c->p->rate_limits[i].name, json_string_value(v)))
				r->rate_limit = i;
		if (r->rate_limit < 0)
			perr(c, sub, v, "unknown rate limit");
		else if (r->action != WARD_ACT_ALLOW)
			perr(c, sub, v, "rate_limit only applies to allow rules");
	}
}

static void parse_rule(struct pctx *c, json_t *o, const char *ptr, int dir, struct rule *r)
{
	const char *peer = dir == WARD_DIR_INGRESS ? "from" : "to";
	char sub[PTR_MAX];
	json_t *v;

	r->dir = dir;
	if (!json_is_object(o)) {
		perr(c, ptr, o, "a rule is an object");
		return;
	}
	check_keys(c, o, ptr, rule_keys[dir]);
	ptr_sub(sub, ptr, "id");
	if (!(v = json_object_get(o, "id")))
		perr(c, ptr, NULL, "missing required key \"id\"");
	else
		r->id = get_name(c, v, sub, true);
	if (r->id && !strncmp(r->id, "failsafe-", strlen("failsafe-")))
		perr(c, sub, v, "ids starting with \"failsafe-\" are reserved for the agent's failsafe rules");
	ptr_sub(sub, ptr, peer);
	if (!(v = json_object_get(o, peer)))
		perr(c, ptr, NULL, "missing required key \"%s\"", peer);
	else
		parse_peers(c, v, sub, r);
	parse_proto(c, o, ptr, r);
	parse_ports(c, o, ptr, r);
	parse_flags(c, o, ptr, r);
}

/* Room for n more rules, within the limit; false after an error. */
static bool rules_reserve(struct pctx *c, const char *ptr, size_t n)
{
	struct policy *p = c->p;
	struct rule *r;

	if (p->nrules + n > WARD_RULES_LIMIT) {
		perr(c, ptr, NULL, "too many rules: %zu, the limit is %d", p->nrules + n,
		     WARD_RULES_LIMIT);
		return false;
	}
	if (n == 0)
		return false;
	r = realloc(p->rules, (p->nrules + n) * sizeof(*r));
	if (!r) {
		c->oom = true;
		return false;
	}
	p->rules = r;
	return true;
}

/* The pointer of rule i of a direction's array: /ingress/i, /egress/i. */
static void rule_at(char *dst, int dir, size_t i)
{
	ptr_index(dst, dir == WARD_DIR_INGRESS ? "/ingress" : "/egress", i);
}

static void parse_rule_at(struct pctx *c, json_t *o, size_t i, int dir)
{
	struct rule *r = &c->p->rules[c->p->nrules++];
	char ptr[PTR_MAX];

	memset(r, 0, sizeof(*r));
	r->src_index = i;
	rule_at(ptr, dir, i);
	parse_rule(c, o, ptr, dir, r);
}

/* Each element of the array at span decoded, parsed and freed in turn. */
static void parse_rule_spans(struct pctx *c, struct json_span span, const char *ptr, int dir)
{
	struct json_span k, v;
	struct json_walk w;
	size_t n = 0;
	int rc;

	if (json_walk_open(&w, c->text, span))
		goto not_json;
	while ((rc = json_walk_next(&w, &k, &v)) == 1)
		n++;
	if (rc < 0)
		goto not_json;
	if (!rules_reserve(c, ptr, n))
		return;
	(void)json_walk_open(&w, c->text, span);
	for (size_t i = 0; json_walk_next(&w, &k, &v) == 1; i++) {
		json_t *o = json_loadb(c->text + v.off, v.len,
				       JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);

		if (!o)
			goto not_json;
		parse_rule_at(c, o, i, dir);
		json_decref(o);
	}
	return;
not_json:
	c->not_json = true;
}

void parse_rules(struct pctx *c, json_t *root, struct json_span span, const char *key, int dir)
{
	json_t *arr = json_object_get(root, key), *o;
	char ptr[PTR_MAX];
	size_t i;

	snprintf(ptr, sizeof(ptr), "/%s", key);
	if (span.len) {
		parse_rule_spans(c, span, ptr, dir);
		return;
	}
	if (!arr)
		return;
	if (!json_is_array(arr)) {
		perr(c, ptr, arr, "must be an array of rules");
		return;
	}
	if (!rules_reserve(c, ptr, json_array_size(arr)))
		return;
	json_array_foreach(arr, i, o)
		parse_rule_at(c, o, i, dir);
}

/* Duplicate ids, each reported at its later rule: one pass over an
 * open-addressing set of rule indexes + 1 (0 = empty). */
void check_rules(struct pctx *c)
{
	struct policy *p = c->p;
	size_t cap = 16, *set;
	char at[PTR_MAX], ptr[PTR_MAX];

	if (p->nrules < 2)
		return;
	while (cap < 2 * p->nrules)
		cap *= 2;
	set = calloc(cap, sizeof(*set));
	if (!set) {
		c->oom = true;
		return;
	}
	for (size_t i = 0; i < p->nrules; i++) {
		const struct rule *r = &p->rules[i];
		size_t h;

		if (!r->id)
			continue;
		h = name_hash(r->id);
		for (;; h++) {
			size_t *slot = &set[h & (cap - 1)];

			if (!*slot) {
				*slot = i + 1;
				break;
			}
			if (strcmp(p->rules[*slot - 1].id, r->id))
				continue;
			rule_at(at, r->dir, r->src_index);
			ptr_sub(ptr, at, "id");
			perr(c, ptr, NULL, "duplicate rule id \"%s\"", r->id);
			break;
		}
	}
	free(set);
}
