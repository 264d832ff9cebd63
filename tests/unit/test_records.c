// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of the flow-record pipeline: the OCSF and ECS renderings of
 * every kind (parsed back with jansson), JSON escaping, short buffers, the
 * sink spec grammar, and the pipeline's ordering and loss accounting.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <jansson.h>

#include "record.h"

/* ---- helpers -------------------------------------------------------------------- */

static void base_record(struct flow_record *r, enum rec_kind kind)
{
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->seq = 77;
	r->time_ms = 1735689600123ull;
	r->start_ms = 1735689590000ull;
	r->end_ms = 1735689600100ull;
	r->family = 4;
	r->proto = 6;
	r->dir = 0;
	r->tcp_flags = 0x12;
	inet_pton(AF_INET, "198.51.100.7", r->src);
	inet_pton(AF_INET, "10.0.0.2", r->dst);
	r->sport = 40000;
	r->dport = 8000;
	strcpy(r->ifname, "eth0");
	r->packets_in = 10;
	r->packets_out = 8;
	r->bytes_in = 1000;
	r->bytes_out = 800;
	r->allowed = true;
	strcpy(r->rule_id, "api");
	strcpy(r->policy.name, "gpu-node-baseline");
	r->policy.revision = 42;
	memset(r->policy.sha256, 'a', 64);
}

static json_t *render_json(enum rec_format fmt, const struct flow_record *r)
{
	static char buf[65536];
	json_error_t e;
	json_t *j;
	int n = rec_render(fmt, r, buf, sizeof(buf));

	assert_true(n > 0);
	assert_int_equal(strlen(buf), (size_t)n);
	assert_null(memchr(buf, '\n', (size_t)n));
	j = json_loadb(buf, (size_t)n, 0, &e);
	if (!j)
		fail_msg("not JSON (%s): %s", e.text, buf);
	return j;
}

/* The value at a dotted path ("a.b.c"); NULL if absent. */
static json_t *at(json_t *j, const char *path)
{
	char key[128];
	const char *p = path;

	while (j && *p) {
		size_t n = strcspn(p, ".");

		snprintf(key, sizeof(key), "%.*s", (int)n, p);
		j = json_object_get(j, key);
		p += n + (p[n] == '.');
	}
	return j;
}

static long long num(json_t *j, const char *path)
{
	json_t *v = at(j, path);

	if (!json_is_integer(v))
		fail_msg("%s: not an integer", path);
	return json_integer_value(v);
}

static const char *str(json_t *j, const char *path)
{
	json_t *v = at(j, path);

	if (!json_is_string(v))
		fail_msg("%s: not a string", path);
	return json_string_value(v);
}

/* One expected field: a string, or (s NULL) an integer. */
struct want {
	const char *path;
	const char *s;
	long long n;
};

static void expect_fields(json_t *j, const struct want *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (w[i].s)
			assert_string_equal(str(j, w[i].path), w[i].s);
		else if (num(j, w[i].path) != w[i].n)
			fail_msg("%s: %lld, expected %lld", w[i].path, num(j, w[i].path), w[i].n);
	}
}

#define EXPECT(j, ...)                                                                       \
	do {                                                                                 \
		const struct want w_[] = { __VA_ARGS__ };                                    \
		expect_fields((j), w_, sizeof(w_) / sizeof(w_[0]));                          \
	} while (0)

static bool arr_has(json_t *j, const char *path, const char *s)
{
	json_t *a = at(j, path), *v;
	size_t i;

	json_array_foreach(a, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return true;
	return false;
}

/* ---- OCSF ------------------------------------------------------------------------- */

struct ocsf_case {
	enum rec_kind kind;
	bool audit, allowed;
	enum rec_close_reason end;
	int activity, action, disposition;
};

static void test_ocsf_network_kinds(void **state)
{
	static const struct ocsf_case cases[] = {
		{ REC_OPEN, false, true, 0, 1, 1, 1 },
		{ REC_CLOSE, false, true, REC_END_FIN, 2, 1, 1 },
		{ REC_CLOSE, false, true, REC_END_REVOKED, 3, 2, 24 },
		{ REC_TRAFFIC, false, true, 0, 6, 1, 1 },
		{ REC_REFUSE, false, false, 0, 5, 2, 2 },
		{ REC_RATE_LIMIT, false, false, 0, 5, 2, 6 },
		{ REC_AUDIT, true, true, 0, 6, 3, 17 },
		{ REC_OPEN, true, true, 0, 1, 3, 17 },
	};
	struct flow_record r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ocsf_case *c = &cases[i];
		json_t *j;

		base_record(&r, c->kind);
		r.audit = c->audit;
		r.allowed = c->allowed;
		r.end_reason = c->end;
		if (c->kind == REC_RATE_LIMIT)
			strcpy(r.rate_limit, "api-limit");
		j = render_json(REC_FMT_OCSF, &r);
		EXPECT(j, { "class_uid", NULL, 4001 },
		       { "category_uid", NULL, 4 },
		       { "activity_id", NULL, c->activity },
		       { "type_uid", NULL, 400100 + c->activity },
		       { "action_id", NULL, c->action },
		       { "disposition_id", NULL, c->disposition },
		       { "time", NULL, 1735689600123ll },
		       { "start_time", NULL, 1735689590000ll },
		       { "end_time", NULL, 1735689600100ll },
		       { "metadata.sequence", NULL, 77 },
		       { "metadata.version", "1.9.0-dev", 0 },
		       { "metadata.product.name", "Ward", 0 },
		       { "connection_info.direction_id", NULL, 1 },
		       { "connection_info.protocol_num", NULL, 6 },
		       { "connection_info.protocol_ver_id", NULL, 4 },
		       { "connection_info.tcp_flags", NULL, 0x12 },
		       { "src_endpoint.ip", "198.51.100.7", 0 },
		       { "firewall_rule.uid", "api", 0 },
		       { "firewall_rule.version", "42", 0 },
		       { "policy.name", "gpu-node-baseline", 0 });
		assert_int_equal(strlen(str(j, "policy.uid")), 64);
		assert_true(num(j, "severity_id") >= 1);
		if (c->kind == REC_RATE_LIMIT) {
			assert_non_null(strstr(str(j, "status_detail"), "api-limit"));
			/* a client's sum over every destination: the client only */
			assert_null(at(j, "dst_endpoint"));
			assert_null(at(j, "src_endpoint.port"));
		} else {
			EXPECT(j, { "dst_endpoint.ip", "10.0.0.2", 0 },
			       { "src_endpoint.port", NULL, 40000 },
			       { "dst_endpoint.port", NULL, 8000 },
			       /* inbound: the interface is the local (destination) end's */
			       { "dst_endpoint.interface_name", "eth0", 0 });
		}
		if (c->kind == REC_REFUSE || c->kind == REC_RATE_LIMIT || c->kind == REC_AUDIT)
			assert_non_null(at(j, "count"));
		json_decref(j);
	}
}

static void test_ocsf_traffic_direction(void **state)
{
	struct flow_record r;
	json_t *j;

	/* Inbound: the source sent what the host received (bytes_in). */
	base_record(&r, REC_CLOSE);
	j = render_json(REC_FMT_OCSF, &r);
	EXPECT(j, { "traffic.bytes_out", NULL, 1000 },
	       { "traffic.bytes_in", NULL, 800 },
	       { "traffic.packets_out", NULL, 10 },
	       { "traffic.packets", NULL, 18 },
	       { "traffic.bytes", NULL, 1800 });
	json_decref(j);

	/* Outbound: the host is the source. */
	r.dir = 1;
	j = render_json(REC_FMT_OCSF, &r);
	EXPECT(j, { "connection_info.direction_id", NULL, 2 },
	       { "traffic.bytes_out", NULL, 800 },
	       { "traffic.bytes_in", NULL, 1000 },
	       { "src_endpoint.interface_name", "eth0", 0 });
	json_decref(j);

	/* Aggregates count packets in `count`. */
	base_record(&r, REC_REFUSE);
	r.allowed = false;
	r.packets_in = r.packets_out = r.bytes_out = 0;
	r.count = 5;
	j = render_json(REC_FMT_OCSF, &r);
	assert_int_equal(num(j, "count"), 5);
	assert_int_equal(num(j, "traffic.packets"), 5);
	json_decref(j);
}

static void test_ocsf_ipv6_icmp_default(void **state)
{
	struct flow_record r;
	json_t *j;

	base_record(&r, REC_REFUSE);
	r.family = 6;
	r.proto = 58;
	r.dir = 1;
	r.allowed = false;
	r.is_default = true;
	r.rule_id[0] = '\0';
	r.sport = 0;
	r.dport = 128;
	inet_pton(AF_INET6, "2001:db8::1", r.src);
	inet_pton(AF_INET6, "fe80::abcd:1", r.dst);
	j = render_json(REC_FMT_OCSF, &r);
	assert_string_equal(str(j, "src_endpoint.ip"), "2001:db8::1");
	assert_string_equal(str(j, "dst_endpoint.ip"), "fe80::abcd:1");
	assert_null(at(j, "dst_endpoint.port")); /* ICMP has no ports */
	EXPECT(j, { "unmapped.icmp_type", NULL, 128 },
	       { "connection_info.protocol_ver_id", NULL, 6 },
	       { "connection_info.protocol_name", "ipv6-icmp", 0 });
	assert_null(at(j, "connection_info.tcp_flags"));
	assert_string_equal(str(j, "firewall_rule.uid"), "default-egress");
	assert_string_equal(str(j, "firewall_rule.type"), "default");
	json_decref(j);

	r.dir = 0;
	j = render_json(REC_FMT_OCSF, &r);
	assert_string_equal(str(j, "firewall_rule.uid"), "default-ingress");
	json_decref(j);
}

static void test_ocsf_audit_kinds(void **state)
{
	struct flow_record r;
	json_t *j;

	memset(&r, 0, sizeof(r));
	r.kind = REC_LOST;
	r.seq = 9;
	r.time_ms = 1735689600000ull;
	r.count = 123;
	r.message = "123 records lost: 123 at ring buffer";
	j = render_json(REC_FMT_OCSF, &r);
	EXPECT(j, { "class_uid", NULL, 4001 },
	       { "activity_id", NULL, 99 },
	       { "type_uid", NULL, 400199 },
	       { "count", NULL, 123 },
	       { "metadata.sequence", NULL, 9 });
	assert_non_null(strstr(str(j, "message"), "ring buffer"));
	json_decref(j);

	memset(&r, 0, sizeof(r));
	r.kind = REC_POLICY;
	r.time_ms = 1735689600000ull;
	strcpy(r.activity, "reject");
	r.success = false;
	strcpy(r.policy.name, "p1");
	r.policy.revision = 8;
	memset(r.policy.sha256, 'b', 64);
	r.old_revision = 7;
	memset(r.old_sha256, 'c', 64);
	strcpy(r.actor, "uid=0 pid=4321 via=SIGHUP");
	r.message = "policy.json:1:2: /x: bad";
	j = render_json(REC_FMT_OCSF, &r);
	EXPECT(j, { "class_uid", NULL, 3004 },
	       { "type_uid", NULL, 300403 },
	       { "status_id", NULL, 2 },
	       { "entity.version", "7", 0 },
	       { "entity_result.version", "8", 0 });
	assert_int_equal(str(j, "entity.uid")[0], 'c');
	assert_int_equal(str(j, "entity_result.uid")[0], 'b');
	EXPECT(j, { "actor.user.uid", "0", 0 },
	       { "actor.process.pid", NULL, 4321 },
	       { "metadata.event_code", "policy-reject", 0 },
	       { "message", "policy.json:1:2: /x: bad", 0 });
	json_decref(j);

	memset(&r, 0, sizeof(r));
	r.kind = REC_AGENT;
	strcpy(r.activity, "start");
	r.success = true;
	j = render_json(REC_FMT_OCSF, &r);
	EXPECT(j, { "class_uid", NULL, 6002 },
	       { "activity_id", NULL, 3 },
	       { "type_uid", NULL, 600203 },
	       { "status_id", NULL, 1 },
	       { "app.name", "Ward", 0 },
	       { "actor.invoked_by", "ward", 0 });
	json_decref(j);
}

/* ---- ECS ------------------------------------------------------------------------- */

static void test_ecs_network(void **state)
{
	struct flow_record r;
	json_t *j;

	rec_set_host("node-1", "9.9.9");
	base_record(&r, REC_OPEN);
	j = render_json(REC_FMT_ECS, &r);
	assert_string_equal(str(j, "@timestamp"), "2025-01-01T00:00:00.123Z");
	assert_string_equal(str(j, "event.kind"), "event");
	assert_true(arr_has(j, "event.category", "network"));
	assert_true(arr_has(j, "event.type", "connection"));
	assert_true(arr_has(j, "event.type", "start"));
	assert_true(arr_has(j, "event.type", "allowed"));
	EXPECT(j, { "event.outcome", "success", 0 },
	       { "event.sequence", NULL, 77 },
	       { "event.duration", NULL, 10100ll * 1000000 },
	       { "event.start", "2024-12-31T23:59:50.000Z", 0 },
	       { "event.end", "2025-01-01T00:00:00.100Z", 0 },
	       { "source.ip", "198.51.100.7", 0 },
	       { "source.port", NULL, 40000 },
	       { "source.bytes", NULL, 1000 },
	       { "destination.bytes", NULL, 800 },
	       { "destination.port", NULL, 8000 },
	       { "network.transport", "tcp", 0 },
	       { "network.iana_number", "6", 0 },
	       { "network.type", "ipv4", 0 },
	       { "network.direction", "ingress", 0 },
	       { "network.bytes", NULL, 1800 },
	       { "network.packets", NULL, 18 },
	       { "rule.id", "api", 0 },
	       { "rule.version", "42", 0 },
	       { "rule.ruleset", "gpu-node-baseline", 0 },
	       { "observer.hostname", "node-1", 0 },
	       { "observer.type", "firewall", 0 },
	       { "observer.product", "Ward", 0 },
	       { "observer.version", "9.9.9", 0 },
	       { "observer.ingress.interface.name", "eth0", 0 });
	assert_int_equal(strlen(str(j, "labels.policy_sha256")), 64);
	json_decref(j);

	base_record(&r, REC_REFUSE);
	r.allowed = false;
	r.family = 6;
	r.dir = 1;
	inet_pton(AF_INET6, "2001:db8::2", r.src);
	j = render_json(REC_FMT_ECS, &r);
	assert_true(arr_has(j, "event.type", "denied"));
	EXPECT(j, { "event.outcome", "failure", 0 },
	       { "network.type", "ipv6", 0 },
	       { "network.direction", "egress", 0 },
	       { "source.ip", "2001:db8::2", 0 },
	       { "observer.egress.interface.name", "eth0", 0 });
	json_decref(j);

	base_record(&r, REC_CLOSE);
	r.end_reason = REC_END_IDLE;
	j = render_json(REC_FMT_ECS, &r);
	assert_true(arr_has(j, "event.type", "end"));
	assert_string_equal(str(j, "event.reason"), "idle");
	json_decref(j);

	base_record(&r, REC_AUDIT);
	r.audit = true;
	r.is_default = true;
	j = render_json(REC_FMT_ECS, &r);
	EXPECT(j, { "event.action", "audit-would-deny", 0 },
	       { "rule.id", "default-ingress", 0 },
	       { "labels.default_rule", "true", 0 });
	json_decref(j);
	rec_set_host("", "");
}

static void test_ecs_audit_kinds(void **state)
{
	struct flow_record r;
	json_t *j;

	memset(&r, 0, sizeof(r));
	r.kind = REC_POLICY;
	strcpy(r.activity, "reload");
	r.success = true;
	strcpy(r.actor, "uid=1000 pid=77");
	r.policy.revision = 3;
	strcpy(r.policy.name, "p");
	j = render_json(REC_FMT_ECS, &r);
	assert_true(arr_has(j, "event.category", "configuration"));
	assert_true(arr_has(j, "event.type", "change"));
	EXPECT(j, { "event.action", "policy-reload", 0 },
	       { "event.outcome", "success", 0 },
	       { "user.id", "1000", 0 },
	       { "process.pid", NULL, 77 },
	       { "rule.version", "3", 0 });
	json_decref(j);

	memset(&r, 0, sizeof(r));
	r.kind = REC_LOST;
	r.count = 4;
	j = render_json(REC_FMT_ECS, &r);
	assert_string_equal(str(j, "event.action"), "records-lost");
	assert_int_equal(num(j, "ward.records_lost"), 4);
	json_decref(j);

	memset(&r, 0, sizeof(r));
	r.kind = REC_AGENT;
	strcpy(r.activity, "stop");
	r.success = true;
	j = render_json(REC_FMT_ECS, &r);
	assert_true(arr_has(j, "event.type", "end"));
	json_decref(j);
}

/* @timestamp is formatted without gmtime: compare with it over leap days,
 * century years and the epoch. */
static void test_ecs_timestamps(void **state)
{
	static const uint64_t sec[] = { 0, 951782400, 951868799, 4107542400ull, 4107628800ull,
					1709164800, 1735689599, 1735689600, 2147483648ull,
					253402300799ull };
	struct flow_record r;

	memset(&r, 0, sizeof(r));
	r.kind = REC_AGENT;
	strcpy(r.activity, "start");
	for (size_t i = 0; i < sizeof(sec) / sizeof(sec[0]); i++) {
		time_t t = (time_t)sec[i];
		char want[40];
		struct tm tm;
		json_t *j;

		gmtime_r(&t, &tm);
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S.042Z", &tm);
		r.time_ms = sec[i] * 1000 + 42;
		j = render_json(REC_FMT_ECS, &r);
		assert_string_equal(str(j, "@timestamp"), want);
		json_decref(j);
	}
}

/* ---- escaping, short buffers ----------------------------------------------------------- */

static void test_escaping(void **state)
{
	/* quotes, backslashes, every control byte, DEL, valid UTF-8, bad UTF-8 */
	static const char hostile[] = "a\"b\\c\n\r\t\b\f\x01\x1f\x7f é ✓ \xff\xc3 \xed\xa0\x80 z";
	static const char decoded[] = "a\"b\\c\n\r\t\b\f\x01\x1f\x7f é ✓ \xef\xbf\xbd\xef\xbf\xbd "
				      "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd z";
	struct flow_record r;

	for (int fmt = 0; fmt < 2; fmt++) {
		json_t *j;

		memset(&r, 0, sizeof(r));
		r.kind = REC_POLICY;
		strcpy(r.activity, "reject");
		strcpy(r.actor, "uid=0 \"evil\\");
		strcpy(r.policy.name, "n\"\\\x02");
		r.message = (char *)hostile;
		j = render_json((enum rec_format)fmt, &r);
		assert_string_equal(str(j, "message"), decoded);
		json_decref(j);

		base_record(&r, REC_OPEN);
		strcpy(r.rule_id, "r\"}\\{");
		strcpy(r.ifname, "e\"\n");
		j = render_json((enum rec_format)fmt, &r);
		assert_string_equal(str(j, fmt ? "rule.id" : "firewall_rule.uid"), "r\"}\\{");
		json_decref(j);
	}
}

static void test_small_buffer(void **state)
{
	static char buf[65536];
	struct flow_record r;

	base_record(&r, REC_CLOSE);
	for (int fmt = 0; fmt < 2; fmt++) {
		int n = rec_render((enum rec_format)fmt, &r, buf, sizeof(buf));

		assert_true(n > 100);
		for (int cap = 0; cap < n; cap++)
			assert_int_equal(rec_render((enum rec_format)fmt, &r, buf, (size_t)cap), -1);
		assert_int_equal(rec_render((enum rec_format)fmt, &r, buf, (size_t)n), n);
		assert_int_equal(rec_render((enum rec_format)fmt, &r, buf, (size_t)n + 1), n);
		assert_int_equal(buf[n], '\0');
	}
}

/* ---- sink specs ------------------------------------------------------------------------ */

static void test_sink_spec(void **state)
{
	static const struct {
		const char *spec;
		bool ok;
		const char *kind;
		enum rec_format fmt;
	} table[] = {
		{ "stdout", true, "stdout", REC_FMT_OCSF },
		{ "stdout,format=ecs", true, "stdout", REC_FMT_ECS },
		{ "stdout,format=ocsf", true, "stdout", REC_FMT_OCSF },
		{ "file:@/a.json", true, "file", REC_FMT_OCSF },
		{ "file:@/b.json,max_bytes=1000,max_age=60,keep=3,gzip=1,format=ecs", true, "file",
		  REC_FMT_ECS },
		{ "file:@/c.json,gzip=0", true, "file", REC_FMT_OCSF },
		{ "syslog+udp://127.0.0.1:5514", true, "syslog", REC_FMT_OCSF },
		{ "syslog+udp://[::1]:5514,format=ecs", true, "syslog", REC_FMT_ECS },
		{ "ipfix+udp://127.0.0.1:4739,template=30,domain=7", true, "ipfix", REC_FMT_OCSF },
		{ "ipfix+udp://[::1]:4739", true, "ipfix", REC_FMT_OCSF },
		{ "", false, NULL, 0 },
		{ "stderr", false, NULL, 0 },
		{ "stdout,format=xml", false, NULL, 0 },
		{ "stdout,gzip=1", false, NULL, 0 },
		{ "stdout,", false, NULL, 0 },
		{ "stdout,,format=ecs", false, NULL, 0 },
		{ "file:", false, NULL, 0 },
		{ "file:@/d.json,max_bytes=10M", false, NULL, 0 },
		{ "file:@/d.json,max_bytes=-1", false, NULL, 0 },
		{ "file:@/d.json,keep=99999999999", false, NULL, 0 },
		{ "file:@/d.json,gzip=yes", false, NULL, 0 },
		{ "file:@/d.json,gzip=1,gzip=0", false, NULL, 0 },
		{ "file:@/d.json,template=5", false, NULL, 0 },
		{ "file:@/d.json,colour=red", false, NULL, 0 },
		{ "file:@/d.json,max_age", false, NULL, 0 },
		{ "file:/nonexistent-dir/x/y.json", false, NULL, 0 },
		{ "syslog+udp://127.0.0.1", false, NULL, 0 },
		{ "syslog+udp://127.0.0.1:0", false, NULL, 0 },
		{ "syslog+udp://127.0.0.1:65536", false, NULL, 0 },
		{ "syslog+udp://:514", false, NULL, 0 },
		{ "syslog+udp://::1:514", false, NULL, 0 },
		{ "syslog+udp://[::1]514", false, NULL, 0 },
		{ "syslog+sctp://127.0.0.1:514", false, NULL, 0 },
		{ "syslog+udp://127.0.0.1:514,template=3", false, NULL, 0 },
		{ "ipfix+udp://127.0.0.1:4739,format=ecs", false, NULL, 0 },
		{ "ipfix+udp://127.0.0.1:4739,template=0", false, NULL, 0 },
		{ "ipfix+udp://127.0.0.1:4739,domain=4294967296", false, NULL, 0 },
	};
	char dir[] = "/tmp/test_records.XXXXXX", spec[512], err[256];

	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const char *at_sign = strchr(table[i].spec, '@');
		struct sink *s;

		if (at_sign)
			snprintf(spec, sizeof(spec), "%.*s%s%s", (int)(at_sign - table[i].spec),
				 table[i].spec, dir, at_sign + 1);
		else
			snprintf(spec, sizeof(spec), "%s", table[i].spec);
		err[0] = '\0';
		s = sink_open_spec(spec, err, sizeof(err));
		if (table[i].ok) {
			if (!s)
				fail_msg("'%s' rejected: %s", spec, err);
			assert_string_equal(s->ops->kind, table[i].kind);
			assert_int_equal(s->format, table[i].fmt);
			s->ops->close(s);
		} else {
			if (s)
				fail_msg("'%s' accepted", spec);
			assert_true(strlen(err) > 5);
		}
	}
	snprintf(spec, sizeof(spec), "rm -rf '%s'", dir);
	assert_int_equal(system(spec), 0);
}

/* ---- pipeline --------------------------------------------------------------------------- */

#define CAP_MAX 4096

/* A sink that keeps what it is given; close leaves the capture readable. */
struct capsink {
	struct sink s;
	bool fail;        /* refuse every record                */
	useconds_t delay; /* per record: a slow disk            */
	size_t n;
	uint64_t seq[CAP_MAX];
	enum rec_kind kind[CAP_MAX];
	uint64_t count[CAP_MAX];
	char *msg[CAP_MAX];
	bool closed;
};

static int cap_write(struct sink *s, const struct flow_record *r, const char *json, size_t len)
{
	struct capsink *c = (struct capsink *)s;

	if (c->delay)
		usleep(c->delay);
	if (c->fail)
		return -1;
	assert_true(len > 0 && json[0] == '{' && json[len - 1] == '}');
	if (c->n < CAP_MAX) {
		c->seq[c->n] = r->seq;
		c->kind[c->n] = r->kind;
		c->count[c->n] = r->count;
		c->msg[c->n] = r->message ? strdup(r->message) : NULL;
		c->n++;
	}
	return 0;
}

static void cap_close(struct sink *s)
{
	((struct capsink *)s)->closed = true;
}

static const struct sink_ops cap_ops = { .kind = "capture", .write = cap_write, .close = cap_close };

static struct capsink *cap_new(const char *name, bool fail, useconds_t delay)
{
	struct capsink *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->s.ops = &cap_ops;
	c->fail = fail;
	c->delay = delay;
	snprintf(c->s.name, sizeof(c->s.name), "%s", name);
	return c;
}

static void cap_free(struct capsink *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->msg[i]);
	free(c);
}

static void emit_n(struct rec_pipeline *p, unsigned n, unsigned *refused)
{
	for (unsigned i = 0; i < n; i++) {
		struct flow_record r;

		base_record(&r, REC_OPEN);
		r.seq = 0;
		r.message = strdup("owned by the pipeline");
		if (rec_emit(p, &r))
			(*refused)++;
		assert_null(r.message);
		assert_true(r.seq > 0);
	}
}

/* Sequence numbers increase strictly, and flow records plus LOST counts
 * add up: what a SIEM can check. Returns the sum of LOST counts. */
static uint64_t check_stream(const struct capsink *c, size_t *flows)
{
	uint64_t lost = 0;

	*flows = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (i)
			assert_true(c->seq[i] > c->seq[i - 1]);
		if (c->kind[i] == REC_LOST) {
			lost += c->count[i];
			assert_non_null(c->msg[i]);
		} else {
			(*flows)++;
		}
	}
	return lost;
}

static void test_pipeline_order(void **state)
{
	struct capsink *a = cap_new("a", false, 0), *b = cap_new("b", false, 0);
	struct sink *sinks[] = { &a->s, &b->s };
	struct rec_pipeline *p = rec_pipeline_new(sinks, 2, 64);
	unsigned refused = 0;
	struct rec_stats st;
	struct sink s;
	size_t flows;

	assert_non_null(p);
	b->s.format = REC_FMT_ECS;
	for (int round = 0; round < 20; round++) {
		emit_n(p, 50, &refused);
		usleep(2000);
	}
	rec_pipeline_drain(p);
	rec_pipeline_stats(p, &st);
	assert_true(a->closed && b->closed);
	assert_int_equal(st.emitted, 1000);
	assert_int_equal(st.queue_lost, refused);
	assert_int_equal(check_stream(a, &flows), refused);
	assert_int_equal(flows, 1000 - refused);
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		assert_int_equal(a->seq[i], b->seq[i]);
	if (!refused)
		for (size_t i = 0; i < a->n; i++)
			assert_int_equal(a->seq[i], i + 1);
	assert_true(rec_pipeline_sink_stats(p, 0, &s));
	assert_string_equal(s.name, "a");
	assert_int_equal(s.written + s.lost, 1000);
	assert_false(rec_pipeline_sink_stats(p, 2, &s));
	rec_pipeline_close(p);
	cap_free(a);
	cap_free(b);
}

static void test_pipeline_sink_failure(void **state)
{
	struct capsink *bad = cap_new("bad-sink", true, 0), *good = cap_new("good", false, 0);
	struct sink *sinks[] = { &bad->s, &good->s };
	struct rec_pipeline *p = rec_pipeline_new(sinks, 2, 1024);
	unsigned refused = 0;
	size_t flows;
	struct sink s;
	bool named = false;

	assert_non_null(p);
	emit_n(p, 100, &refused);
	rec_pipeline_drain(p);
	assert_int_equal(refused, 0);
	/* the good sink got every record and LOST records counting the bad one's */
	assert_int_equal(check_stream(good, &flows), 100);
	assert_int_equal(flows, 100);
	for (size_t i = 0; i < good->n; i++)
		if (good->kind[i] == REC_LOST && strstr(good->msg[i], "bad-sink"))
			named = true;
	assert_true(named);
	rec_pipeline_sink_stats(p, 0, &s);
	assert_int_equal(s.written, 0);
	assert_int_equal(s.lost, 100);
	rec_pipeline_sink_stats(p, 1, &s);
	assert_int_equal(s.written, 100);
	assert_int_equal(s.lost, 0);
	rec_pipeline_close(p);
	cap_free(bad);
	cap_free(good);
}

static void test_pipeline_queue_full(void **state)
{
	struct capsink *slow = cap_new("slow", false, 500);
	struct sink *sinks[] = { &slow->s };
	struct rec_pipeline *p = rec_pipeline_new(sinks, 1, 4);
	unsigned refused = 0;
	struct rec_stats st;
	size_t flows;
	uint64_t lost, gaps = 0;

	assert_non_null(p);
	emit_n(p, 300, &refused);
	rec_pipeline_drain(p);
	rec_pipeline_stats(p, &st);
	assert_true(refused > 200); /* 4 slots, 0.5 ms a record */
	assert_int_equal(st.queue_lost, refused);
	assert_int_equal(st.emitted, 300);
	lost = check_stream(slow, &flows);
	assert_int_equal(flows + refused, 300);
	assert_int_equal(lost, refused); /* every refused record reported */
	/* the numbers refused records took are gaps in the stream */
	for (size_t i = 1; i < slow->n; i++)
		gaps += slow->seq[i] - slow->seq[i - 1] - 1;
	gaps += slow->seq[0] - 1;
	assert_int_equal(gaps, refused);
	rec_pipeline_close(p);
	cap_free(slow);
}

static void test_pipeline_upstream_loss(void **state)
{
	struct capsink *c = cap_new("c", false, 0);
	struct sink *sinks[] = { &c->s };
	struct rec_pipeline *p = rec_pipeline_new(sinks, 1, 16);
	unsigned refused = 0, ring = 0, netlink = 0;
	struct rec_stats st;
	size_t flows;

	assert_non_null(p);
	rec_lost(p, 5, "ring buffer");
	rec_lost(p, 2, "ring buffer");
	rec_lost(p, 1, "netlink");
	emit_n(p, 3, &refused);
	rec_pipeline_drain(p);
	rec_pipeline_stats(p, &st);
	assert_int_equal(st.upstream_lost, 8);
	assert_int_equal(check_stream(c, &flows), 8);
	assert_int_equal(flows, 3);
	/* reported at once or pooled, by place: the first LOST leads the stream */
	assert_int_equal(c->kind[0], REC_LOST);
	for (size_t i = 0; i < c->n; i++) {
		if (c->kind[i] != REC_LOST)
			continue;
		ring += strstr(c->msg[i], " at ring buffer") != NULL;
		netlink += strstr(c->msg[i], "1 at netlink") != NULL;
	}
	assert_true(ring >= 1);
	assert_int_equal(netlink, 1);
	rec_pipeline_close(p);
	cap_free(c);
}

/* What the pipeline does with a sink's answer (deliver in rec_pipeline.c);
 * returns the sink's written count, which must never go down. */
static uint64_t file_deliver(struct sink *s, enum rec_kind kind, uint64_t *prev)
{
	static const char line[] = "{\"class_uid\":4001,\"padding\":\"................................\"}";
	struct flow_record r = { .kind = kind };

	if (s->ops->write(s, &r, line, sizeof(line) - 1))
		s->lost++;
	else
		s->written++;
	assert_true(s->written >= *prev);
	*prev = s->written;
	return s->written;
}

/* The file sink counts a record written once write(2) took its line: not
 * when it is buffered, never back down when the disk is full (/dev/full).
 * Its LOST lines are kept when records are given up, before them. */
static void test_file_sink_counts(void **state)
{
	char dir[] = "/tmp/test_records.XXXXXX", path[256], buf[4096];
	struct file_sink_opts o = { .path = path };
	uint64_t prev = 0, lost;
	struct sink *s;
	size_t lines = 0;
	ssize_t n;
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/flows.json", dir);
	s = sink_file_open(&o, REC_FMT_OCSF);
	assert_non_null(s);
	for (int i = 0; i < 10; i++)
		assert_int_equal(file_deliver(s, REC_REFUSE, &prev), 0); /* buffered only */
	s->ops->tick(s, 0);
	assert_int_equal(s->written, 10);
	assert_int_equal(s->lost, 0);
	s->ops->close(s);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	close(fd);
	assert_int_equal(lines, 10);
	unlink(path);
	rmdir(dir);

	/* every write(2) fails with ENOSPC */
	o.path = "/dev/full";
	prev = 0;
	s = sink_file_open(&o, REC_FMT_OCSF);
	assert_non_null(s);
	for (int i = 0; i < 10; i++)
		file_deliver(s, REC_REFUSE, &prev);
	assert_int_equal(file_deliver(s, REC_LOST, &prev), 1); /* a LOST line counts at once */
	s->ops->tick(s, 0);  /* the records are given up: lost, and only lost */
	assert_int_equal(s->written, 1);
	assert_int_equal(s->lost, 10);
	/* records fill the 256 KiB buffer, then are refused; a LOST line
	 * takes the place of the buffered ones, which are counted lost */
	while (s->lost == 10)
		file_deliver(s, REC_REFUSE, &prev);
	lost = s->lost;
	assert_int_equal(file_deliver(s, REC_LOST, &prev), 2);
	assert_true(s->lost > lost + 1000);
	s->ops->close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ocsf_network_kinds),
		cmocka_unit_test(test_ocsf_traffic_direction),
		cmocka_unit_test(test_ocsf_ipv6_icmp_default),
		cmocka_unit_test(test_ocsf_audit_kinds),
		cmocka_unit_test(test_ecs_network),
		cmocka_unit_test(test_ecs_audit_kinds),
		cmocka_unit_test(test_ecs_timestamps),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_small_buffer),
		cmocka_unit_test(test_sink_spec),
		cmocka_unit_test(test_pipeline_order),
		cmocka_unit_test(test_pipeline_sink_failure),
		cmocka_unit_test(test_pipeline_queue_full),
		cmocka_unit_test(test_pipeline_upstream_loss),
		cmocka_unit_test(test_file_sink_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
