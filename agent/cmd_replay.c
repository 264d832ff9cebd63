// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ward replay: recorded flows against a candidate policy. Each distinct
 * (direction, remote, protocol, port) of the records is decided once by the
 * candidate compiled into the real programs (BPF_PROG_TEST_RUN, as `ward
 * explain`), so replay is the datapath by construction; the verdict the
 * records carry (or a --baseline policy's) is what happens now. Flows whose
 * verdict would change are reported per rule and per peer, and the exit
 * status says whether anything observed would be newly denied (4), for CI.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "flowread.h"

#define PROG "ward replay"
#define MAX_FILES 4096
#define EXIT_NEWLY_DENIED 4

enum change { CH_SAME = 0, CH_DENIED, CH_ALLOWED, CH_MAX };

struct ropts {
	const char *policy, *baseline;
	char *files[MAX_FILES];
	size_t nfiles;
	const char *failsafes[16];
	int nfailsafes;
	struct port_span eph;
	size_t max_keys, max_peers, top;
	bool enforce, each, json;
};

/* One decision each side: the rule is an interned name. */
struct side {
	uint8_t pass, audit;
	uint32_t rule;
};

struct rkey {
	struct flow_key k;
	uint8_t now_pass; /* as recorded (0 with --baseline: the baseline decides) */
	uint8_t pad[3];
	uint32_t now_rule;
};

struct rval {
	struct flow_tally t;
	struct side now, then;
	uint8_t local[16];
	int sport;
};

struct rule_key {
	uint8_t change, dir, pad[2];
	uint32_t now_rule, then_rule;
};

struct rule_val {
	uint64_t flows, records, keys;
	struct flow_key ex;
	uint8_t ex_local[16];
	int ex_sport;
};

struct peer_key {
	uint8_t change, dir, family, plen;
	uint8_t remote[16];
};

#define PEER_SVCS 4
struct peer_val {
	uint64_t flows, records;
	uint32_t now_rule, then_rule;
	uint8_t nsvc, more;
	struct {
		uint8_t proto;
		uint16_t port;
	} svc[PEER_SVCS];
};

struct rctx {
	struct ropts *o;
	struct policy cand, base;
	struct flow_eval *ev_cand, *ev_base;
	struct ftab keys, names, by_rule, by_peer;
	char (*name_v)[64];
	size_t nnames, names_cap;
	uint64_t flows[CH_MAX], records[CH_MAX], nkeys[CH_MAX], peers_unlisted[CH_MAX];
	uint64_t used, evals;
	struct flow_skips skips;
	int err;
};

static uint32_t intern(struct rctx *c, const char *name)
{
	char key[64] = {};
	uint32_t *idx;
	bool created;

	snprintf(key, sizeof(key), "%s", name[0] ? name : "(none)");
	idx = ftab__get(&c->names, key, &created);
	if (!idx)
		return 0; /* 0 is "(other)": the table is full */
	if (created) {
		if (c->nnames == c->names_cap) {
			size_t cap = c->names_cap ? 2 * c->names_cap : 256;
			char(*v)[64] = realloc(c->name_v, cap * sizeof(*v));

			if (!v)
				return 0;
			c->name_v = v;
			c->names_cap = cap;
		}
		memcpy(c->name_v[c->nnames], key, 64);
		*idx = c->nnames++;
	}
	return *idx;
}

static const char *name_of(const struct rctx *c, uint32_t i)
{
	return i < c->nnames ? c->name_v[i] : "?";
}

static int decide(struct rctx *c, struct flow_eval *ev, const struct policy *p,
		  const struct flow_key *k, const uint8_t *local, int sport, struct side *out)
{
	struct flow_verdict v;
	int err = flow_eval__run(ev, k, local, sport, &v);

	if (err)
		return err;
	c->evals++;
	out->pass = v.pass;
	out->audit = v.audit;
	out->rule = intern(c, flow_eval__rule_name(p, &v, k->dir));
	return 0;
}

static enum change change_of(const struct rval *v)
{
	if (v->now.pass && !v->then.pass)
		return CH_DENIED;
	if (!v->now.pass && v->then.pass)
		return CH_ALLOWED;
	return CH_SAME;
}

/* Fold the table into the reports (the table is then cleared). */
static void fold(struct rctx *c)
{
	for (size_t i = 0; i < c->keys.cap; i++) {
		const void *kp;
		struct rval *v = ftab__at(&c->keys, i, &kp);
		const struct rkey *rk = kp;
		enum change ch;
		uint64_t flows;
		struct rule_key bk = {};
		struct peer_key pk = {};
		struct rule_val *rv;
		struct peer_val *pv;
		bool created;

		if (!v)
			continue;
		ch = change_of(v);
		flows = flow_tally__flows(&v->t);
		c->flows[ch] += flows;
		c->records[ch] += v->t.records;
		c->nkeys[ch]++;
		if (ch == CH_SAME)
			continue;
		bk.change = ch;
		bk.dir = rk->k.dir;
		bk.now_rule = v->now.rule;
		bk.then_rule = v->then.rule;
		rv = ftab__get(&c->by_rule, &bk, &created);
		if (rv) {
			if (created) {
				rv->ex = rk->k;
				memcpy(rv->ex_local, v->local, 16);
				rv->ex_sport = v->sport;
			}
			rv->flows += flows;
			rv->records += v->t.records;
			rv->keys++;
		}
		pk.change = ch;
		pk.dir = rk->k.dir;
		pk.family = rk->k.family;
		pk.plen = rk->k.plen;
		memcpy(pk.remote, rk->k.remote, 16);
		pv = ftab__get(&c->by_peer, &pk, &created);
		if (!pv) {
			c->peers_unlisted[ch] += flows;
			continue;
		}
		if (created) {
			pv->now_rule = v->now.rule;
			pv->then_rule = v->then.rule;
		}
		pv->flows += flows;
		pv->records += v->t.records;
		{
			bool seen = false;

			for (int s = 0; s < pv->nsvc; s++)
				seen |= pv->svc[s].proto == rk->k.proto && pv->svc[s].port == rk->k.port;
			if (!seen && pv->nsvc < PEER_SVCS) {
				pv->svc[pv->nsvc].proto = rk->k.proto;
				pv->svc[pv->nsvc++].port = rk->k.port;
			} else if (!seen) {
				pv->more = 1;
			}
		}
	}
	ftab__clear(&c->keys);
}

static const char *verdict_word(bool pass)
{
	return pass ? "allow" : "deny";
}

static const char *change_word(enum change ch)
{
	return ch == CH_DENIED ? "newly-denied" : ch == CH_ALLOWED ? "newly-allowed" : "same";
}

static void print_each(const struct rctx *c, const struct flow_rec *r, const struct rval *v,
		       const char *file, uint64_t line)
{
	static const char *const kinds[FR_KIND_MAX] = {
		[FR_OPEN] = "open",	[FR_CLOSE] = "close", [FR_TRAFFIC] = "traffic",
		[FR_RESET] = "reset",	[FR_REFUSE] = "refuse", [FR_AUDIT] = "audit",
	};
	char src[64], dst[64];
	json_t *j;
	char *s;

	fr_addr_text(r->family, r->src, src, sizeof(src));
	fr_addr_text(r->family, r->dst, dst, sizeof(dst));
	j = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:i}", "file", file, "line", (json_int_t)line,
		      "kind", kinds[r->kind] ? kinds[r->kind] : "?", "direction",
		      r->dir == WARD_DIR_INGRESS ? "ingress" : "egress", "src", src, "dst", dst,
		      "proto", r->proto);
	if (r->proto == IPPROTO_ICMP || r->proto == IPPROTO_ICMPV6) {
		if (r->icmp_type >= 0)
			json_object_set_new(j, "icmp_type", json_integer(r->icmp_type));
	} else {
		if (r->sport >= 0)
			json_object_set_new(j, "sport", json_integer(r->sport));
		if (r->dport >= 0)
			json_object_set_new(j, "dport", json_integer(r->dport));
	}
	json_object_set_new(j, "now", json_string(verdict_word(v->now.pass)));
	json_object_set_new(j, "now_rule", json_string(name_of(c, v->now.rule)));
	json_object_set_new(j, "verdict", json_string(verdict_word(v->then.pass)));
	json_object_set_new(j, "rule", json_string(name_of(c, v->then.rule)));
	json_object_set_new(j, "audit", json_boolean(v->then.audit));
	json_object_set_new(j, "change", json_string(change_word(change_of(v))));
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s)
		puts(s);
	free(s);
	json_decref(j);
}

static int on_record(void *ctx, const struct flow_rec *r, const char *file, uint64_t line)
{
	struct rctx *c = ctx;
	struct rkey rk = {};
	struct rval *v;
	uint8_t local[16];
	bool created;
	int err;

	if (flow_rec__use(r, &c->o->eph, &c->skips, &rk.k, local))
		return 0;
	if (!c->o->baseline) {
		rk.now_pass = r->action != FR_ACT_DENIED;
		rk.now_rule = intern(c, r->rule[0] ? r->rule
					: r->dir == WARD_DIR_INGRESS ? "default-ingress" : "default-egress");
	}
	v = ftab__get(&c->keys, &rk, &created);
	if (!v) {
		fold(c); /* full: fold what it holds into the reports, start over */
		v = ftab__get(&c->keys, &rk, &created);
		if (!v)
			return c->err = -ENOMEM;
	}
	if (created) {
		memcpy(v->local, local, 16);
		v->sport = r->sport;
		if (c->o->baseline) {
			if ((err = decide(c, c->ev_base, &c->base, &rk.k, local, r->sport, &v->now)))
				return c->err = err;
		} else {
			v->now.pass = rk.now_pass;
			v->now.rule = rk.now_rule;
			v->now.audit = r->action == FR_ACT_OBSERVED;
		}
		if ((err = decide(c, c->ev_cand, &c->cand, &rk.k, local, r->sport, &v->then)))
			return c->err = err;
	}
	c->used++;
	flow_tally__add(&v->t, r);
	if (c->o->each)
		print_each(c, r, v, file, line);
	return 0;
}

/* ---- reports ---------------------------------------------------------------- */

struct row {
	const void *k;
	const void *v;
	uint64_t flows;
};

static int cmp_row(const void *x, const void *y)
{
	const struct row *a = x, *b = y;

	return a->flows < b->flows ? 1 : a->flows > b->flows ? -1 : 0;
}

/* The rows of a change class, most flows first. */
static struct row *rows_of(const struct ftab *t, enum change ch, bool peers, size_t *n)
{
	struct row *v = calloc(t->n ? t->n : 1, sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < t->cap; i++) {
		const void *k;
		const void *val = ftab__at(t, i, &k);

		if (!val || *(const uint8_t *)k != ch)
			continue;
		v[*n].k = k;
		v[*n].v = val;
		v[*n].flows = peers ? ((const struct peer_val *)val)->flows
				    : ((const struct rule_val *)val)->flows;
		(*n)++;
	}
	qsort(v, *n, sizeof(*v), cmp_row);
	return v;
}

static void example_text(const struct flow_key *k, const uint8_t *local, int sport, char *buf,
			 size_t len)
{
	char r[64], l[64], svc[32];
	bool in = k->dir == WARD_DIR_INGRESS;

	flow_key__remote(k, r, sizeof(r));
	fr_addr_text(k->family, local, l, sizeof(l));
	flow_key__service(k, svc, sizeof(svc));
	if (sport > 0 && (k->proto == IPPROTO_TCP || k->proto == IPPROTO_UDP))
		snprintf(buf, len, "%s %s %s:%d -> %s", in ? "in" : "out", svc, in ? r : l, sport,
			 in ? l : r);
	else
		snprintf(buf, len, "%s %s %s -> %s", in ? "in" : "out", svc, in ? r : l, in ? l : r);
}

static void peer_services(const struct peer_val *pv, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (int s = 0; s < pv->nsvc && off < len; s++) {
		struct flow_key k = { .proto = pv->svc[s].proto, .port = pv->svc[s].port };
		char t[32];

		flow_key__service(&k, t, sizeof(t));
		off += snprintf(buf + off, len - off, "%s%s", s ? ", " : "", t);
	}
	if (pv->more && off < len)
		snprintf(buf + off, len - off, ", ...");
}

static json_t *class_json(const struct rctx *c, enum change ch)
{
	json_t *o = json_object(), *rules = json_array(), *peers = json_array();
	size_t n;
	struct row *rv = rows_of(&c->by_rule, ch, false, &n);

	for (size_t i = 0; rv && i < n; i++) {
		const struct rule_key *k = rv[i].k;
		const struct rule_val *v = rv[i].v;
		char ex[160];

		example_text(&v->ex, v->ex_local, v->ex_sport, ex, sizeof(ex));
		json_array_append_new(
			rules, json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:s}", "direction",
					 k->dir == WARD_DIR_INGRESS ? "ingress" : "egress", "now_rule",
					 name_of(c, k->now_rule), "rule", name_of(c, k->then_rule),
					 "flows", (json_int_t)v->flows, "records", (json_int_t)v->records,
					 "keys", (json_int_t)v->keys, "example", ex));
	}
	free(rv);
	rv = rows_of(&c->by_peer, ch, true, &n);
	for (size_t i = 0; rv && i < n; i++) {
		const struct peer_key *k = rv[i].k;
		const struct peer_val *v = rv[i].v;
		struct flow_key fk = { .family = k->family, .plen = k->plen };
		json_t *svcs = json_array();
		char peer[64];

		memcpy(fk.remote, k->remote, 16);
		flow_key__remote(&fk, peer, sizeof(peer));
		for (int s = 0; s < v->nsvc; s++) {
			struct flow_key sk = { .proto = v->svc[s].proto, .port = v->svc[s].port };
			char t[32];

			flow_key__service(&sk, t, sizeof(t));
			json_array_append_new(svcs, json_string(t));
		}
		json_array_append_new(
			peers, json_pack("{s:s,s:s,s:I,s:I,s:o,s:b,s:s,s:s}", "peer", peer, "direction",
					 k->dir == WARD_DIR_INGRESS ? "ingress" : "egress", "flows",
					 (json_int_t)v->flows, "records", (json_int_t)v->records,
					 "services", svcs, "more_services", v->more != 0, "now_rule",
					 name_of(c, v->now_rule), "rule", name_of(c, v->then_rule)));
	}
	free(rv);
	json_object_set_new(o, "flows", json_integer(c->flows[ch]));
	json_object_set_new(o, "records", json_integer(c->records[ch]));
	json_object_set_new(o, "keys", json_integer(c->nkeys[ch]));
	json_object_set_new(o, "by_rule", rules);
	json_object_set_new(o, "by_peer", peers);
	json_object_set_new(o, "flows_of_unlisted_peers", json_integer(c->peers_unlisted[ch]));
	return o;
}

static void print_class(const struct rctx *c, enum change ch, const char *title, const char *what)
{
	size_t n;
	struct row *rv;

	if (!c->flows[ch] && !c->records[ch])
		return;
	printf("\n%s: %llu flows, %llu records (%s)\n", title, (unsigned long long)c->flows[ch],
	       (unsigned long long)c->records[ch], what);
	rv = rows_of(&c->by_rule, ch, false, &n);
	printf("  by rule (now -> candidate):\n");
	for (size_t i = 0; rv && i < n && i < c->o->top; i++) {
		const struct rule_key *k = rv[i].k;
		const struct rule_val *v = rv[i].v;
		char pair[140], ex[160];

		snprintf(pair, sizeof(pair), "%s -> %s", name_of(c, k->now_rule), name_of(c, k->then_rule));
		example_text(&v->ex, v->ex_local, v->ex_sport, ex, sizeof(ex));
		printf("    %-40s %3s %8llu flows %8llu records  e.g. %s\n", pair,
		       k->dir == WARD_DIR_INGRESS ? "in" : "out", (unsigned long long)v->flows,
		       (unsigned long long)v->records, ex);
	}
	if (rv && n > c->o->top)
		printf("    ... %zu more (--top, --json)\n", n - c->o->top);
	free(rv);
	rv = rows_of(&c->by_peer, ch, true, &n);
	printf("  by peer:\n");
	for (size_t i = 0; rv && i < n && i < c->o->top; i++) {
		const struct peer_key *k = rv[i].k;
		const struct peer_val *v = rv[i].v;
		struct flow_key fk = { .family = k->family, .plen = k->plen };
		char peer[64], svcs[160];

		memcpy(fk.remote, k->remote, 16);
		flow_key__remote(&fk, peer, sizeof(peer));
		peer_services(v, svcs, sizeof(svcs));
		printf("    %-40s %3s %8llu flows %8llu records  %s  (%s -> %s)\n", peer,
		       k->dir == WARD_DIR_INGRESS ? "in" : "out", (unsigned long long)v->flows,
		       (unsigned long long)v->records, svcs, name_of(c, v->now_rule),
		       name_of(c, v->then_rule));
	}
	if (rv && n > c->o->top)
		printf("    ... %zu more peers (--top, --json)\n", n - c->o->top);
	if (c->peers_unlisted[ch])
		printf("    and %llu flows of peers past --max-peers\n",
		       (unsigned long long)c->peers_unlisted[ch]);
	free(rv);
}

static void report(const struct rctx *c, const struct flow_scan *st, int exit_code)
{
	const struct ropts *o = c->o;
	char t0[32], t1[32];
	uint64_t total = c->flows[CH_SAME] + c->flows[CH_DENIED] + c->flows[CH_ALLOWED];

	fr_time_text(st->first_ms, t0, sizeof(t0));
	fr_time_text(st->last_ms, t1, sizeof(t1));
	if (o->json) {
		json_t *j = json_object(), *f = json_object();
		char *s;

		json_object_set_new(j, "policy",
				    json_pack("{s:s,s:s,s:I,s:s}", "file", o->policy, "name",
					      c->cand.name, "revision", (json_int_t)c->cand.revision,
					      "mode", c->cand.mode == WARD_MODE_AUDIT ? "audit" : "enforce"));
		if (o->baseline)
			json_object_set_new(j, "baseline",
					    json_pack("{s:s,s:s,s:I}", "file", o->baseline, "name",
						      c->base.name, "revision",
						      (json_int_t)c->base.revision));
		json_object_set_new(
			j, "input",
			json_pack("{s:I,s:I,s:I,s:I,s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "files",
				  (json_int_t)st->files, "lines", (json_int_t)st->lines, "bad_lines",
				  (json_int_t)st->bad_lines, "records_used", (json_int_t)c->used,
				  "first", t0, "last", t1, "records_lost",
				  (json_int_t)st->lost_records, "rate_limit_skipped",
				  (json_int_t)c->skips.rate_limit, "midstream_skipped",
				  (json_int_t)c->skips.midstream, "no_flow", (json_int_t)c->skips.no_key,
				  "evaluations", (json_int_t)c->evals));
		json_object_set_new(f, "total", json_integer(total));
		json_object_set_new(f, "unchanged", json_integer(c->flows[CH_SAME]));
		json_object_set_new(f, "newly_denied", json_integer(c->flows[CH_DENIED]));
		json_object_set_new(f, "newly_allowed", json_integer(c->flows[CH_ALLOWED]));
		json_object_set_new(j, "flows", f);
		json_object_set_new(j, "newly_denied", class_json(c, CH_DENIED));
		json_object_set_new(j, "newly_allowed", class_json(c, CH_ALLOWED));
		json_object_set_new(j, "exit", json_integer(exit_code));
		s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s)
			puts(s);
		free(s);
		json_decref(j);
		return;
	}
	printf("ward replay: %s (\"%s\" revision %llu, %s%s) against %llu flow records in %llu "
	       "file%s, %s .. %s\n", o->policy, c->cand.name, (unsigned long long)c->cand.revision,
	       c->cand.mode == WARD_MODE_AUDIT ? "audit" : "enforce", o->enforce ? " forced" : "",
	       (unsigned long long)c->used, (unsigned long long)st->files, st->files == 1 ? "" : "s",
	       t0, t1);
	if (o->baseline)
		printf("  now = %s (\"%s\" revision %llu), not the verdicts recorded\n", o->baseline,
		       c->base.name, (unsigned long long)c->base.revision);
	printf("  %llu flows: %llu unchanged, %llu newly denied, %llu newly allowed\n",
	       (unsigned long long)total, (unsigned long long)c->flows[CH_SAME],
	       (unsigned long long)c->flows[CH_DENIED], (unsigned long long)c->flows[CH_ALLOWED]);
	if (st->lost_records)
		printf("  WARNING: %llu records were lost while recording: the observation has gaps\n",
		       (unsigned long long)st->lost_records);
	if (c->skips.rate_limit || c->skips.midstream || st->bad_lines || c->skips.no_key)
		printf("  skipped: %llu rate-limit records, %llu TCP records of connections older than "
		       "the recording, %llu lines not JSON, %llu records without addresses\n",
		       (unsigned long long)c->skips.rate_limit, (unsigned long long)c->skips.midstream,
		       (unsigned long long)st->bad_lines, (unsigned long long)c->skips.no_key);
	print_class(c, CH_DENIED, "newly denied", "they pass now; the candidate drops them");
	print_class(c, CH_ALLOWED, "newly allowed", "dropped now; the candidate lets them through");
	if (exit_code == EXIT_NEWLY_DENIED)
		printf("\nresult: %llu observed flows would be newly denied (exit %d)\n",
		       (unsigned long long)c->flows[CH_DENIED], EXIT_NEWLY_DENIED);
	else
		printf("\nresult: nothing observed would be newly denied\n");
}

/* ---- the command ------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
"usage: ward replay POLICY --flows FILE... [--baseline POLICY] [--enforce]\n"
"                   [--failsafe SPEC]... [--each] [--json] [options]\n"
"\n"
"Evaluate recorded flows against a candidate POLICY and report the flows whose\n"
"verdict would change: allowed now and denied by POLICY (newly denied), and\n"
"the reverse (newly allowed), per rule and per peer, with counts and examples.\n"
"\n"
"Each distinct (direction, remote address, protocol, destination port or ICMP\n"
"type) is decided once, by POLICY compiled into the real programs and run\n"
"with BPF_PROG_TEST_RUN, exactly as `ward explain` does: replay is the\n"
"datapath, for a flow's first packet. Needs CAP_BPF (root).\n"
"\n"
"  POLICY               the candidate (first argument that is not an option)\n"
"  --flows FILE...      the agent's OCSF or ECS JSON lines: plain, rotated, gzip;\n"
"                       further arguments are files too (flows.json*). *.tmp\n"
"                       files (a compression in progress) are skipped\n"
"  --baseline POLICY    \"now\" is this policy's verdict, not the recorded one:\n"
"                       compare two policy files on the same traffic\n"
"  --enforce            evaluate POLICY as if its mode were enforce (what\n"
"                       switching an audit policy to enforce would break)\n"
"  --failsafe SPEC      the agent's failsafe rules (\"tcp/22 from 192.0.2.0/28\"),\n"
"                       repeatable, as ward run and ward explain take them\n"
"  --ephemeral LO-HI    TCP records without a SYN towards these ports are\n"
"                       connections older than the recording and are skipped\n"
"                       (default 32768-60999; none keeps them), as ward suggest\n"
"  --each               one JSON line per record on stdout: its flow, the verdict\n"
"                       now and by POLICY (\"verdict\", \"rule\", \"audit\", as\n"
"                       ward explain --json), and the change; then no report\n"
"  --json               the report as one JSON document\n"
"  --top N              rows per table in the text report (default 20)\n"
"  --max-keys N         distinct flow keys held at once (default 1000000);\n"
"                       more are folded into the report in batches\n"
"  --max-peers N        changed peers listed (default 100000); the flows of\n"
"                       others are counted together\n"
"\n"
"Now: Open, Close and Traffic records were allowed, audit records passed\n"
"(audit mode let the would-be deny through), Refuse and revoked (Reset)\n"
"records were denied. Rate-limit records name no flow and are skipped; the\n"
"records-lost records are summed and reported (the recording has gaps).\n"
"Flows: a connection counts once (Open and Close records of it, or an audit\n"
"record and its Close); a Refuse record counts as one flow.\n"
"\n"
"Exit status: 0 nothing observed would be newly denied; 4 some observed flow\n"
"would be newly denied (a CI gate for a policy change); 1 invalid policy;\n"
"2 usage; 3 runtime failure (a file, the programs).\n");
}

static int parse_args(int argc, char **argv, struct ropts *o)
{
	static const struct option lo[] = {
		{ "flows", required_argument, NULL, 'f' },    { "baseline", required_argument, NULL, 'b' },
		{ "enforce", no_argument, NULL, 'E' },	      { "failsafe", required_argument, NULL, 'F' },
		{ "ephemeral", required_argument, NULL, 'e' }, { "each", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },	      { "top", required_argument, NULL, 't' },
		{ "max-keys", required_argument, NULL, 'K' }, { "max-peers", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },	      { "pin-path", required_argument, NULL, 'p' },
		{},
	};
	int c, bad = 0;
	char *end;

	o->eph = (struct port_span){ 32768, 60999 };
	o->max_keys = 1000000;
	o->max_peers = 100000;
	o->top = 20;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (o->nfiles < MAX_FILES)
				o->files[o->nfiles++] = optarg;
			else
				bad = 1;
			break;
		case 'b': o->baseline = optarg; break;
		case 'E': o->enforce = true; break;
		case 'F':
			if (o->nfailsafes < 16)
				o->failsafes[o->nfailsafes++] = optarg;
			else
				bad = 1;
			break;
		case 'e': bad |= port_span__parse(optarg, &o->eph); break;
		case 'a': o->each = true; break;
		case 'j': o->json = true; break;
		case 't':
			o->top = strtoul(optarg, &end, 10);
			bad |= !*optarg || *end;
			break;
		case 'K':
			o->max_keys = strtoul(optarg, &end, 10);
			bad |= !*optarg || *end || o->max_keys < 1024;
			break;
		case 'P':
			o->max_peers = strtoul(optarg, &end, 10);
			bad |= !*optarg || *end || !o->max_peers;
			break;
		case 'p': break; /* every command takes it; records are files */
		case 'h': usage(stdout); exit(EXIT_OK);
		default: bad = 1;
		}
	}
	for (; optind < argc; optind++) {
		if (!o->policy)
			o->policy = argv[optind];
		else if (o->nfiles < MAX_FILES)
			o->files[o->nfiles++] = argv[optind];
		else
			bad = 1;
	}
	return bad || !o->policy || !o->nfiles ? -1 : 0;
}

/* Parse, add the failsafes, compile and load one policy. */
static int load(struct rctx *c, const char *file, struct policy *p, struct flow_eval **ev,
		bool enforce)
{
	struct diags d = {};
	int err = policy__parse_file(file, p, &d);

	for (int i = 0; !err && i < c->o->nfailsafes; i++) {
		const char *why;

		err = policy__add_failsafe(p, c->o->failsafes[i], &why);
		if (err)
			fprintf(stderr, PROG ": --failsafe %s: %s\n", c->o->failsafes[i], why);
	}
	if (err) {
		diags__print(&d, file, stderr);
		diags__free(&d);
		return EXIT_INVALID;
	}
	if (enforce)
		p->mode = WARD_MODE_ENFORCE;
	err = flow_eval__open(ev, p, &d);
	diags__print(&d, file, stderr);
	diags__free(&d);
	if (err == -EINVAL)
		return EXIT_INVALID;
	if (err) {
		fprintf(stderr, PROG ": load the programs for %s: %s (needs CAP_BPF)\n", file,
			strerror(-err));
		return EXIT_RUNTIME;
	}
	return 0;
}

int cmd_replay(int argc, char **argv)
{
	static struct ropts o;
	struct rctx c = { .o = &o };
	struct flow_scan st = {};
	int err, ret;

	memset(&o, 0, sizeof(o));
	if (parse_args(argc, argv, &o)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	ret = EXIT_RUNTIME;
	if (ftab__init(&c.keys, sizeof(struct rkey), sizeof(struct rval), o.max_keys) ||
	    ftab__init(&c.names, 64, sizeof(uint32_t), 1 << 20) ||
	    ftab__init(&c.by_rule, sizeof(struct rule_key), sizeof(struct rule_val), 0) ||
	    ftab__init(&c.by_peer, sizeof(struct peer_key), sizeof(struct peer_val), o.max_peers))
		goto out;
	(void)intern(&c, "(other)");
	if ((ret = load(&c, o.policy, &c.cand, &c.ev_cand, o.enforce)))
		goto out;
	if (o.baseline && (ret = load(&c, o.baseline, &c.base, &c.ev_base, false)))
		goto out;
	ret = EXIT_RUNTIME;
	err = flow_scan__files(PROG, o.files, o.nfiles, &st, on_record, &c);
	if (err) {
		if (c.err && c.err != err)
			err = c.err;
		if (err != -ENOENT && err != -EACCES && err != -EISDIR)
			fprintf(stderr, PROG ": %s\n", strerror(-err));
		goto out;
	}
	fold(&c);
	ret = c.flows[CH_DENIED] || c.nkeys[CH_DENIED] ? EXIT_NEWLY_DENIED : EXIT_OK;
	if (!o.each)
		report(&c, &st, ret);
	else if (fflush(stdout))
		ret = EXIT_RUNTIME;
out:
	flow_eval__close(c.ev_cand);
	flow_eval__close(c.ev_base);
	policy__free(&c.cand);
	policy__free(&c.base);
	ftab__free(&c.keys);
	ftab__free(&c.names);
	ftab__free(&c.by_rule);
	ftab__free(&c.by_peer);
	free(c.name_v);
	return ret;
}
