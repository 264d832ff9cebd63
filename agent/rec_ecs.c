// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Records as Elastic Common Schema JSON lines: the same facts as the OCSF
 * rendering, for stacks that speak ECS (Filebeat, Elastic Agent, Logstash).
 * Fields that ECS does not define (lost counts, ICMP type) go under the
 * custom `ward` object or `labels`, never under an ECS name.
 */
#include <stdio.h>

#include "rec_json.h"

#define ECS_VERSION "8.11.0"

/* Year, month, day of a day count since 1970-01-01 (H. Hinnant's
 * civil_from_days): gmtime_r and snprintf cost more than the rest of an
 * ECS record, and it has three timestamps. */
static void civil(int64_t z, unsigned *y, unsigned *m, unsigned *d)
{
	int64_t era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (unsigned)(yy + (*m <= 2));
}

static char *digits(char *p, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + n;
}

/* ISO-8601 in UTC with milliseconds, e.g. 2024-05-01T12:00:00.123Z. */
static void jb_time(struct jbuf *b, const char *key, uint64_t ms)
{
	uint64_t sec = ms / 1000, sod = sec % 86400;
	unsigned y, mo, d;
	char t[24], *p = t;

	civil((int64_t)(sec / 86400), &y, &mo, &d);
	p = digits(p, y % 10000, 4);
	*p++ = '-';
	p = digits(p, mo, 2);
	*p++ = '-';
	p = digits(p, d, 2);
	*p++ = 'T';
	p = digits(p, (unsigned)(sod / 3600), 2);
	*p++ = ':';
	p = digits(p, (unsigned)(sod / 60 % 60), 2);
	*p++ = ':';
	p = digits(p, (unsigned)(sod % 60), 2);
	*p++ = '.';
	p = digits(p, (unsigned)(ms % 1000), 3);
	*p++ = 'Z';
	jb_strn(b, key, t, (size_t)(p - t));
}

static void jb_str_list(struct jbuf *b, const char *key, const char *const *v)
{
	jb_open_arr(b, key);
	for (; *v; v++)
		jb_str(b, NULL, *v);
	jb_close_arr(b);
}

/* @timestamp, ecs and the opening of `event` with what all records share. */
static void ecs_event_head(struct jbuf *b, const struct flow_record *r, const char *const *category,
			   const char *const *type, const char *action, const char *outcome,
			   const char *dataset)
{
	jb_time(b, "@timestamp", r->time_ms);
	jb_open(b, "ecs");
	jb_str(b, "version", ECS_VERSION);
	jb_close(b);
	jb_open(b, "event");
	jb_str(b, "kind", "event");
	jb_str_list(b, "category", category);
	jb_str_list(b, "type", type);
	jb_str(b, "action", action);
	jb_str(b, "outcome", outcome);
	jb_u64(b, "sequence", r->seq);
	jb_str(b, "module", "ward");
	jb_str(b, "dataset", dataset);
}

static void ecs_observer(struct jbuf *b, const struct flow_record *r, bool network)
{
	jb_open(b, "observer");
	jb_str(b, "hostname", rec_hostname());
	jb_str(b, "type", "firewall");
	jb_str(b, "product", REC_PRODUCT);
	jb_str(b, "vendor", REC_VENDOR);
	jb_str(b, "version", rec_product_version());
	if (network && r->ifname[0]) {
		jb_open(b, r->dir == 0 ? "ingress" : "egress");
		jb_open(b, "interface");
		jb_str(b, "name", r->ifname);
		jb_close(b);
		jb_close(b);
	}
	jb_close(b);
}

static void ecs_endpoint(struct jbuf *b, const char *key, const char *ip, uint16_t port, bool ports,
			 uint64_t bytes, uint64_t packets)
{
	jb_open(b, key);
	jb_str(b, "ip", ip);
	if (ports)
		jb_u64(b, "port", port);
	jb_u64(b, "bytes", bytes);
	jb_u64(b, "packets", packets);
	jb_close(b);
}

static void ecs_network(struct jbuf *b, const struct flow_record *r)
{
	static const char *const category[] = { "network", NULL };
	static const char *const t_open[] = { "connection", "start", "allowed", NULL };
	static const char *const t_close[] = { "connection", "end", "allowed", NULL };
	static const char *const t_revoked[] = { "connection", "end", "denied", NULL };
	static const char *const t_traffic[] = { "connection", "info", "allowed", NULL };
	static const char *const t_denied[] = { "connection", "denied", NULL };
	static const char *const t_audit[] = { "connection", "allowed", NULL };
	const char *const *type = t_traffic;
	const char *action = "flow-traffic", *outcome = "success", *proto = rec_proto_name(r->proto);
	bool ingress = r->dir == 0, ports = rec_has_ports(r);
	bool revoked = r->kind == REC_CLOSE && r->end_reason == REC_END_REVOKED;
	uint64_t start = rec_start_ms(r), end = rec_end_ms(r);
	char src[46], dst[46], rule[64], reason[96] = "";
	struct rec_traffic t;

	switch (r->kind) {
	case REC_OPEN: type = t_open, action = "flow-open"; break;
	case REC_CLOSE: type = revoked ? t_revoked : t_close, action = "flow-close"; break;
	case REC_REFUSE: type = t_denied, action = "flow-refuse", outcome = "failure"; break;
	case REC_RATE_LIMIT: type = t_denied, action = "rate-limit", outcome = "failure"; break;
	case REC_AUDIT: type = t_audit, action = "audit-would-deny"; break;
	default: break;
	}
	if (r->kind == REC_RATE_LIMIT)
		snprintf(reason, sizeof(reason), "rate limit %s exceeded",
			 r->rate_limit[0] ? r->rate_limit : "(unnamed)");
	else if (revoked)
		snprintf(reason, sizeof(reason), "revoked by policy revision %llu",
			 (unsigned long long)r->policy.revision);
	else if (r->kind == REC_CLOSE && rec_end_name(r->end_reason))
		snprintf(reason, sizeof(reason), "%s", rec_end_name(r->end_reason));
	rec_addrs(r, src, dst);
	rec_traffic(r, &t);

	ecs_event_head(b, r, category, type, action, outcome, "ward.flows");
	jb_time(b, "start", start);
	jb_time(b, "end", end);
	jb_u64(b, "duration", (end - start) * 1000000);
	jb_str_opt(b, "reason", reason);
	jb_close(b);

	if (r->kind == REC_RATE_LIMIT) { /* the client key only, as in OCSF */
		ecs_endpoint(b, "source", src, 0, false, t.bytes_fwd, t.pkts_fwd);
	} else {
		ecs_endpoint(b, "source", src, r->sport, ports, t.bytes_fwd, t.pkts_fwd);
		ecs_endpoint(b, "destination", dst, r->dport, ports, t.bytes_rev, t.pkts_rev);
	}

	jb_open(b, "network");
	if (proto)
		jb_str(b, "transport", proto);
	jb_u64_str(b, "iana_number", r->proto);
	jb_str(b, "type", r->family == 6 ? "ipv6" : "ipv4");
	jb_str(b, "direction", ingress ? "ingress" : "egress");
	jb_u64(b, "bytes", t.bytes_fwd + t.bytes_rev);
	jb_u64(b, "packets", t.pkts_fwd + t.pkts_rev);
	jb_close(b);

	jb_open(b, "rule");
	jb_str(b, "id", rec_rule_uid(r, rule, sizeof(rule)));
	jb_str(b, "name", rec_rule_uid(r, rule, sizeof(rule)));
	jb_u64_str(b, "version", r->policy.revision);
	jb_str_opt(b, "ruleset", r->policy.name);
	jb_close(b);
	ecs_observer(b, r, true);

	jb_open(b, "labels");
	jb_str_opt(b, "policy_sha256", r->policy.sha256);
	if (r->is_default || !r->rule_id[0])
		jb_str(b, "default_rule", "true");
	if (r->audit || r->kind == REC_AUDIT)
		jb_str(b, "audit", "would-deny");
	jb_close(b);

	jb_open(b, "ward");
	jb_str(b, "kind", rec_kind_name(r->kind));
	if (rec_is_aggregate(r))
		jb_u64(b, "count", r->count);
	if (r->proto == 6)
		jb_u64(b, "tcp_flags", r->tcp_flags);
	if (!ports && (r->proto == 1 || r->proto == 58)) {
		jb_u64(b, "icmp_type", r->dport);
		jb_u64(b, "icmp_code", r->icmp_code);
	}
	jb_close(b);
}

/* Lost records, policy changes, agent start/stop. */
static void ecs_other(struct jbuf *b, const struct flow_record *r)
{
	static const char *const c_net[] = { "network", NULL };
	static const char *const c_conf[] = { "configuration", NULL };
	static const char *const c_proc[] = { "process", NULL };
	static const char *const t_info[] = { "info", NULL };
	static const char *const t_change[] = { "change", NULL };
	static const char *const t_create[] = { "creation", NULL };
	static const char *const t_start[] = { "start", NULL };
	static const char *const t_end[] = { "end", NULL };
	const char *const *category = c_net, *const *type = t_info;
	const char *what = r->activity[0] ? r->activity : "other";
	const char *outcome = r->success ? "success" : "failure";
	char action[48];

	if (r->kind == REC_LOST) {
		snprintf(action, sizeof(action), "records-lost");
		outcome = "failure";
	} else if (r->kind == REC_POLICY) {
		category = c_conf;
		type = !strcmp(what, "load") ? t_create : t_change;
		snprintf(action, sizeof(action), "policy-%s", what);
	} else {
		category = c_proc;
		type = !strcmp(what, "stop") ? t_end : !strcmp(what, "start") ? t_start : t_info;
		snprintf(action, sizeof(action), "agent-%s", what);
	}
	ecs_event_head(b, r, category, type, action, outcome,
		       r->kind == REC_LOST ? "ward.flows" : "ward.audit");
	if (r->kind == REC_LOST) {
		jb_time(b, "start", rec_start_ms(r));
		jb_time(b, "end", rec_end_ms(r));
	}
	jb_close(b);
	if (r->message)
		jb_str(b, "message", r->message);
	ecs_observer(b, r, false);
	if (r->kind == REC_LOST) {
		jb_open(b, "ward");
		jb_str(b, "kind", "lost");
		jb_u64(b, "records_lost", r->count);
		jb_close(b);
		return;
	}
	jb_actor_ids(b, r->actor, "id");
	jb_open(b, "rule");
	jb_u64_str(b, "version", r->policy.revision);
	jb_str_opt(b, "ruleset", r->policy.name);
	jb_close(b);
	jb_open(b, "labels");
	jb_str_opt(b, "policy_sha256", r->policy.sha256);
	if (r->kind == REC_POLICY) {
		char rev[24];

		snprintf(rev, sizeof(rev), "%llu", (unsigned long long)r->old_revision);
		jb_str(b, "old_policy_revision", rev);
		jb_str_opt(b, "old_policy_sha256", r->old_sha256);
	}
	jb_str_opt(b, "actor", r->actor);
	jb_close(b);
	jb_open(b, "ward");
	jb_str(b, "kind", rec_kind_name(r->kind));
	jb_close(b);
}

static bool ecs_body(struct jbuf *b, const struct flow_record *r)
{
	if (rec_is_network(r))
		ecs_network(b, r);
	else if (r->kind == REC_LOST || r->kind == REC_POLICY || r->kind == REC_AGENT)
		ecs_other(b, r);
	else
		return false;
	return true;
}

int rec_render_ecs(const struct flow_record *r, char *buf, size_t cap)
{
	return jb_render(buf, cap, r, ecs_body);
}
