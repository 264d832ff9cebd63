// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Records as OCSF 1.x JSON lines (../shared/tools/ocsf-check validates them).
 *
 * Flow kinds are Network Activity (4001). Lost records are Network Activity
 * too, activity 99 "Records Lost" with `count`: a SIEM that watches class
 * 4001 sees the gap in the same stream, as AWS flow logs' SKIPDATA. Policy
 * changes are Entity Management (3004) of a "Policy" entity (entity = the
 * policy before, entity_result = after), agent start/stop is Application
 * Lifecycle (6002): both carry actor, outcome (status_id) and message.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "rec_json.h"

/* The schema the records are validated against (../shared/ocsf). */
#define OCSF_VERSION "1.9.0-dev"

static char host_name[256];
static char product_version[32] = "0";
static pthread_once_t host_once = PTHREAD_ONCE_INIT;

static void host_default(void)
{
	if (host_name[0])
		return;
	if (gethostname(host_name, sizeof(host_name) - 1) || !host_name[0])
		snprintf(host_name, sizeof(host_name), "localhost");
}

void rec_set_host(const char *hostname, const char *version)
{
	if (hostname && hostname[0])
		snprintf(host_name, sizeof(host_name), "%s", hostname);
	if (version && version[0])
		snprintf(product_version, sizeof(product_version), "%s", version);
	pthread_once(&host_once, host_default);
}

const char *rec_hostname(void)
{
	pthread_once(&host_once, host_default);
	return host_name;
}

const char *rec_product_version(void)
{
	return product_version;
}

/* ---- pieces every class shares ------------------------------------------------ */

struct ocsf_class {
	unsigned class_uid, category_uid;
	const char *class_name, *category_name;
};

static const struct ocsf_class NETWORK_ACTIVITY = { 4001, 4, "Network Activity", "Network Activity" };
static const struct ocsf_class ENTITY_MANAGEMENT = { 3004, 3, "Entity Management",
						     "Identity & Access Management" };
static const struct ocsf_class APP_LIFECYCLE = { 6002, 6, "Application Lifecycle",
						 "Application Activity" };

static const char *const SEVERITY[] = { "Unknown", "Informational", "Low", "Medium", "High" };

static void ocsf_head(struct jbuf *b, const struct flow_record *r, const struct ocsf_class *c,
		      unsigned activity, const char *activity_name, unsigned severity)
{
	jb_u64(b, "class_uid", c->class_uid);
	jb_str(b, "class_name", c->class_name);
	jb_u64(b, "category_uid", c->category_uid);
	jb_str(b, "category_name", c->category_name);
	jb_u64(b, "activity_id", activity);
	jb_str(b, "activity_name", activity_name);
	jb_u64(b, "type_uid", (uint64_t)c->class_uid * 100 + activity);
	jb_str3(b, "type_name", c->class_name, ": ", activity_name);
	jb_u64(b, "severity_id", severity);
	jb_str(b, "severity", SEVERITY[severity]);
	jb_u64(b, "time", r->time_ms);
}

static void ocsf_metadata(struct jbuf *b, const struct flow_record *r, const char *log_name,
			  const char *event_code)
{
	jb_open(b, "metadata");
	jb_str(b, "version", OCSF_VERSION);
	jb_open(b, "product");
	jb_str(b, "name", REC_PRODUCT);
	jb_str(b, "vendor_name", REC_VENDOR);
	jb_str(b, "version", rec_product_version());
	jb_close(b);
	jb_u64(b, "sequence", r->seq);
	jb_str(b, "log_name", log_name);
	jb_str(b, "event_code", event_code);
	jb_open_arr(b, "profiles");
	jb_str(b, NULL, "host");
	jb_str(b, NULL, "security_control");
	jb_close_arr(b);
	jb_close(b);
}

/* The host Ward runs on: where every record is observed. */
static void ocsf_device(struct jbuf *b, const char *ifname)
{
	jb_open(b, "device");
	jb_str(b, "hostname", rec_hostname());
	jb_u64(b, "type_id", 1);
	jb_str(b, "type", "Server");
	jb_str_opt(b, "interface_name", ifname);
	jb_close(b);
}

static void ocsf_policy(struct jbuf *b, const struct rec_policy *pol, bool applied)
{
	if (!pol->name[0] && !pol->sha256[0])
		return;
	jb_open(b, "policy");
	jb_str_opt(b, "name", pol->name);
	jb_str_opt(b, "uid", pol->sha256);
	jb_u64_str(b, "version", pol->revision);
	jb_bool(b, "is_applied", applied);
	jb_close(b);
}

static void ocsf_status(struct jbuf *b, bool success)
{
	jb_u64(b, "status_id", success ? 1 : 2);
	jb_str(b, "status", success ? "Success" : "Failure");
}

/* ---- Network Activity ------------------------------------------------------------ */

struct verdict {
	unsigned activity, action, disposition, severity;
	const char *activity_name, *action_name, *disposition_name;
};

static void net_verdict(const struct flow_record *r, struct verdict *v)
{
	static const struct {
		unsigned id;
		const char *name;
	} act[] = {
		[REC_OPEN] = { 1, "Open" },	    [REC_CLOSE] = { 2, "Close" },
		[REC_TRAFFIC] = { 6, "Traffic" },   [REC_REFUSE] = { 5, "Refuse" },
		[REC_RATE_LIMIT] = { 5, "Refuse" }, [REC_AUDIT] = { 6, "Traffic" },
	};

	v->activity = act[r->kind].id;
	v->activity_name = act[r->kind].name;
	v->severity = 1;
	if (r->audit || r->kind == REC_AUDIT) {
		v->action = 3, v->action_name = "Observed";
		v->disposition = 17, v->disposition_name = "Logged";
	} else if (r->kind == REC_RATE_LIMIT) {
		v->action = 2, v->action_name = "Denied";
		v->disposition = 6, v->disposition_name = "Dropped";
		v->severity = 2;
	} else if (r->kind == REC_CLOSE && r->end_reason == REC_END_REVOKED) {
		/* A new policy cut the flow: the firewall reset it. */
		v->activity = 3, v->activity_name = "Reset";
		v->action = 2, v->action_name = "Denied";
		v->disposition = 24, v->disposition_name = "Access Revoked";
	} else if (r->kind == REC_REFUSE || !r->allowed) {
		v->action = 2, v->action_name = "Denied";
		v->disposition = 2, v->disposition_name = "Blocked";
		v->severity = 2;
	} else {
		v->action = 1, v->action_name = "Allowed";
		v->disposition = 1, v->disposition_name = "Allowed";
	}
}

static void ocsf_endpoint(struct jbuf *b, const char *key, const char *ip, uint16_t port,
			  bool ports, const char *ifname)
{
	jb_open(b, key);
	jb_str(b, "ip", ip);
	if (ports)
		jb_u64(b, "port", port);
	jb_str_opt(b, "interface_name", ifname);
	jb_close(b);
}

static void ocsf_network(struct jbuf *b, const struct flow_record *r)
{
	char src[46], dst[46], rule[64], detail[96];
	const char *proto = rec_proto_name(r->proto);
	bool ingress = r->dir == 0, ports = rec_has_ports(r);
	uint64_t start = rec_start_ms(r), end = rec_end_ms(r);
	struct rec_traffic t;
	struct verdict v;

	net_verdict(r, &v);
	rec_addrs(r, src, dst);
	rec_traffic(r, &t);

	ocsf_head(b, r, &NETWORK_ACTIVITY, v.activity, v.activity_name, v.severity);
	jb_u64(b, "start_time", start);
	jb_u64(b, "end_time", end);
	jb_u64(b, "duration", end - start);
	if (rec_is_aggregate(r))
		jb_u64(b, "count", r->count);
	jb_u64(b, "action_id", v.action);
	jb_str(b, "action", v.action_name);
	jb_u64(b, "disposition_id", v.disposition);
	jb_str(b, "disposition", v.disposition_name);
	if (r->kind == REC_RATE_LIMIT) {
		snprintf(detail, sizeof(detail), "rate limit %s exceeded",
			 r->rate_limit[0] ? r->rate_limit : "(unnamed)");
		jb_str(b, "status_detail", detail);
	} else if (r->kind == REC_CLOSE && rec_end_name(r->end_reason)) {
		jb_str(b, "status_detail", rec_end_name(r->end_reason));
	}
	ocsf_metadata(b, r, "flows", rec_kind_name(r->kind));
	ocsf_device(b, r->ifname);

	/* The interface belongs to the local end: destination when inbound. A
	 * rate-limit record sums a client's packets to any destination: only
	 * the client (its key, the source masked to the limit's prefix). */
	if (r->kind == REC_RATE_LIMIT) {
		ocsf_endpoint(b, "src_endpoint", src, 0, false, ingress ? "" : r->ifname);
	} else {
		ocsf_endpoint(b, "src_endpoint", src, r->sport, ports, ingress ? "" : r->ifname);
		ocsf_endpoint(b, "dst_endpoint", dst, r->dport, ports, ingress ? r->ifname : "");
	}

	jb_open(b, "connection_info");
	jb_u64(b, "protocol_num", r->proto);
	if (proto)
		jb_str(b, "protocol_name", proto);
	jb_u64(b, "direction_id", ingress ? 1 : 2);
	jb_str(b, "direction", ingress ? "Inbound" : "Outbound");
	jb_u64(b, "protocol_ver_id", r->family == 6 ? 6 : 4);
	if (r->proto == 6)
		jb_u64(b, "tcp_flags", r->tcp_flags);
	jb_close(b);

	jb_open(b, "traffic");
	jb_u64(b, "packets_out", t.pkts_fwd);
	jb_u64(b, "packets_in", t.pkts_rev);
	jb_u64(b, "packets", t.pkts_fwd + t.pkts_rev);
	jb_u64(b, "bytes_out", t.bytes_fwd);
	jb_u64(b, "bytes_in", t.bytes_rev);
	jb_u64(b, "bytes", t.bytes_fwd + t.bytes_rev);
	jb_close(b);

	jb_open(b, "firewall_rule");
	jb_str(b, "uid", rec_rule_uid(r, rule, sizeof(rule)));
	jb_str(b, "name", rec_rule_uid(r, rule, sizeof(rule)));
	jb_str(b, "type", r->is_default || !r->rule_id[0] ? "default" : "rule");
	jb_u64_str(b, "version", r->policy.revision);
	jb_close(b);
	ocsf_policy(b, &r->policy, true);

	if (!ports && (r->proto == 1 || r->proto == 58)) {
		jb_open(b, "unmapped");
		jb_u64(b, "icmp_type", r->dport);
		jb_u64(b, "icmp_code", r->icmp_code);
		jb_close(b);
	}
}

/* Records lost: the gap itself, with how many and where in `message`. */
static void ocsf_lost(struct jbuf *b, const struct flow_record *r)
{
	ocsf_head(b, r, &NETWORK_ACTIVITY, 99, "Records Lost", 3);
	jb_u64(b, "start_time", rec_start_ms(r)); /* the first loss reported */
	jb_u64(b, "end_time", rec_end_ms(r));
	jb_u64(b, "count", r->count);
	if (r->message)
		jb_str(b, "message", r->message);
	ocsf_status(b, false);
	ocsf_metadata(b, r, "flows", rec_kind_name(r->kind));
	ocsf_device(b, "");
	jb_open(b, "src_endpoint");
	jb_str(b, "hostname", rec_hostname());
	jb_close(b);
}

/* ---- audit records: who did what, with which outcome -------------------------------- */

static void ocsf_actor(struct jbuf *b, const struct flow_record *r)
{
	jb_open(b, "actor");
	jb_actor_ids(b, r->actor, "uid");
	jb_str(b, "invoked_by", r->actor[0] ? r->actor : "ward");
	jb_close(b);
}

static void ocsf_entity(struct jbuf *b, const char *key, const char *name, const char *sha,
			uint64_t revision)
{
	jb_open(b, key);
	jb_str(b, "type", "Policy");
	jb_u64(b, "type_id", 5);
	jb_str(b, "name", name[0] ? name : "(none)");
	jb_str_opt(b, "uid", sha);
	jb_u64_str(b, "version", revision);
	jb_close(b);
}

static void ocsf_audit_tail(struct jbuf *b, const struct flow_record *r, const char *code)
{
	ocsf_status(b, r->success);
	if (r->message)
		jb_str(b, "message", r->message);
	ocsf_metadata(b, r, "audit", code);
	ocsf_device(b, "");
	ocsf_actor(b, r);
}

static void ocsf_policy_change(struct jbuf *b, const struct flow_record *r)
{
	bool create = !strcmp(r->activity, "load");
	bool had_old = r->old_sha256[0] || r->old_revision;
	char code[48];

	snprintf(code, sizeof(code), "policy-%s", r->activity[0] ? r->activity : "change");
	ocsf_head(b, r, &ENTITY_MANAGEMENT, create ? 1 : 3, create ? "Create" : "Update",
		  r->success ? 1 : 3);
	ocsf_audit_tail(b, r, code);
	if (had_old)
		ocsf_entity(b, "entity", r->policy.name, r->old_sha256, r->old_revision);
	else
		ocsf_entity(b, "entity", r->policy.name, r->policy.sha256, r->policy.revision);
	ocsf_entity(b, "entity_result", r->policy.name, r->policy.sha256, r->policy.revision);
	ocsf_policy(b, &r->policy, r->success);
}

static void ocsf_agent(struct jbuf *b, const struct flow_record *r)
{
	unsigned act = 99;
	const char *name = r->activity[0] ? r->activity : "Other";
	char code[48];

	if (!strcmp(r->activity, "start"))
		act = 3, name = "Start";
	else if (!strcmp(r->activity, "stop"))
		act = 4, name = "Stop";
	snprintf(code, sizeof(code), "agent-%s", r->activity[0] ? r->activity : "other");
	ocsf_head(b, r, &APP_LIFECYCLE, act, name, r->success ? 1 : 3);
	ocsf_audit_tail(b, r, code);
	jb_open(b, "app");
	jb_str(b, "name", REC_PRODUCT);
	jb_str(b, "vendor_name", REC_VENDOR);
	jb_str(b, "version", rec_product_version());
	jb_close(b);
	ocsf_policy(b, &r->policy, true);
}

static bool ocsf_body(struct jbuf *b, const struct flow_record *r)
{
	if (rec_is_network(r))
		ocsf_network(b, r);
	else if (r->kind == REC_LOST)
		ocsf_lost(b, r);
	else if (r->kind == REC_POLICY)
		ocsf_policy_change(b, r);
	else if (r->kind == REC_AGENT)
		ocsf_agent(b, r);
	else
		return false;
	return true;
}

int rec_render_ocsf(const struct flow_record *r, char *buf, size_t cap)
{
	return jb_render(buf, cap, r, ocsf_body);
}

int rec_render(enum rec_format fmt, const struct flow_record *r, char *buf, size_t cap)
{
	return fmt == REC_FMT_ECS ? rec_render_ecs(r, buf, cap) : rec_render_ocsf(r, buf, cap);
}
