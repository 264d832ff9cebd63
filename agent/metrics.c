// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Prometheus metrics: the pinned maps and the record pipeline's counters
 * rendered as text exposition format 0.0.4 on every scrape, served by
 * libmicrohttpd from its own thread. Nothing is cached: a scrape opens the
 * maps read-only, sums the per-CPU counters and closes them, so the
 * numbers are those ward status and ward stats print at the same moment.
 *
 * Each metric family is written into a buffer of its own and the buffers
 * are joined at the end, so that the samples of a family stay together
 * (as the format requires) while the maps are walked once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <microhttpd.h>
#include "cmd.h"
#include "log.h"
#include "mapread.h"
#include "metrics.h"
#include "record.h"
#include "verdict.h"

#define RENDER_TRIES 5 /* renders retried when a policy swap lands mid-scrape */
#define HTTP_MAX_CONNS 32
#define HTTP_TIMEOUT_S 10
#define STR_(x) #x
#define STR(x) STR_(x)

static const char *const dir_names[WARD_DIR_MAX] = { "ingress", "egress" };
static const char *const act_names[2] = { "deny", "allow" };
static const char *const ev_names[WARD_EV_MAX] = {
	[WARD_EV_FLOW] = "flow", [WARD_EV_DENY] = "deny", [WARD_EV_RATE] = "rate_limit",
	[WARD_EV_AUDIT] = "audit",
};

enum fid {
	F_AGENT_INFO, F_ENFORCING, F_POLICY_INFO, F_POLICY_REVISION, F_POLICY_RULES,
	F_POLICY_FAILSAFES, F_POLICY_GENERATION, F_POLICY_LOADED, F_IFACE,
	F_RULE_PKTS, F_RULE_BYTES, F_RULE_RL, F_DEF_PKTS, F_DEF_BYTES, F_VERD_PKTS, F_VERD_BYTES,
	F_CT_ENTRIES, F_CT_CAP, F_RL_BUCKETS, F_RL_CAP, F_EV_LOST, F_EV_LOST_PKTS, F_EV_UNAGG,
	F_REC_EMITTED, F_REC_WRITTEN, F_REC_LOST, F_REC_RELOAD_FAILED, F_REC_QUEUE_LOST, F_REC_UPSTREAM_LOST,
	F_MAX
};

static const struct {
	const char *name, *type, *help;
} fam_def[F_MAX] = {
	[F_AGENT_INFO] = { "ward_agent_info", "gauge", "Version of the agent and of its BPF ABI." },
	[F_ENFORCING] = { "ward_enforcing", "gauge",
			  "1 when a policy is loaded and at least one interface is attached (ward status exits 0)." },
	[F_POLICY_INFO] = { "ward_policy_info", "gauge", "The policy in force: name, sha256 of the file, mode." },
	[F_POLICY_REVISION] = { "ward_policy_revision", "gauge", "Revision field of the policy in force." },
	[F_POLICY_RULES] = { "ward_policy_rules", "gauge", "Rules of the policy in force, failsafes not included." },
	[F_POLICY_FAILSAFES] = { "ward_policy_failsafe_rules", "gauge",
				 "Failsafe rules the agent added to the policy (--failsafe)." },
	[F_POLICY_GENERATION] = { "ward_policy_generation", "gauge",
				  "Policy loads into the pinned maps so far (bumped by every load or reload)." },
	[F_POLICY_LOADED] = { "ward_policy_load_timestamp_seconds", "gauge",
			      "When the policy in force was loaded, seconds since the epoch." },
	[F_IFACE] = { "ward_interface_attached", "gauge",
		      "1 while the XDP program of an interface the agent attached to is still linked." },
	[F_RULE_PKTS] = { "ward_rule_packets_total", "counter",
			  "Packets decided by a rule, and the later packets of the flows it opened (reset on policy load)." },
	[F_RULE_BYTES] = { "ward_rule_bytes_total", "counter",
			   "Bytes of the packets counted in ward_rule_packets_total (reset on policy load)." },
	[F_RULE_RL] = { "ward_rule_rate_limited_packets_total", "counter",
			"Packets over the rule's rate limit: dropped, or only counted in audit (reset on policy load)." },
	[F_DEF_PKTS] = { "ward_default_packets_total", "counter",
			 "Packets decided by a direction's default (reset on policy load)." },
	[F_DEF_BYTES] = { "ward_default_bytes_total", "counter",
			  "Bytes of the packets decided by a direction's default (reset on policy load)." },
	[F_VERD_PKTS] = { "ward_verdict_packets_total", "counter",
			  "Packets by direction and verdict: why each packet passed or was dropped." },
	[F_VERD_BYTES] = { "ward_verdict_bytes_total", "counter", "Bytes by direction and verdict." },
	[F_CT_ENTRIES] = { "ward_conntrack_entries", "gauge", "Flows in the connection tracking table." },
	[F_CT_CAP] = { "ward_conntrack_capacity", "gauge",
		       "Size of the connection tracking table; when full the least recently used flows are evicted." },
	[F_RL_BUCKETS] = { "ward_rate_limit_buckets", "gauge", "Rate-limit client buckets in use." },
	[F_RL_CAP] = { "ward_rate_limit_capacity", "gauge",
		       "Rate-limit client buckets available; past it new clients share a sketch." },
	[F_EV_LOST] = { "ward_events_lost_total", "counter",
			"Flow events the datapath could not put in the ring buffer (full), by kind." },
	[F_EV_LOST_PKTS] = { "ward_events_lost_packets_total", "counter",
			     "Packets covered by the flow events lost, by kind." },
	[F_EV_UNAGG] = { "ward_events_unaggregated_packets_total", "counter",
			 "Denied, rate-limited or audited packets that found the aggregation table full (in no event)." },
	[F_REC_EMITTED] = { "ward_records_emitted_total", "counter", "Flow and audit records the agent produced." },
	[F_REC_WRITTEN] = { "ward_records_written_total", "counter", "Records a sink wrote." },
	[F_REC_LOST] = { "ward_records_lost_total", "counter",
			 "Records that did not reach a sink: refused by the full queue or failed by the sink." },
	[F_REC_RELOAD_FAILED] = { "ward_sink_reload_failures_total", "counter",
				  "SIGHUP reloads a sink refused (e.g. unreadable or mismatched TLS certificates); it kept what it had." },
	[F_REC_QUEUE_LOST] = { "ward_records_queue_lost_total", "counter",
			       "Records refused because the record queue was full (no sink got them)." },
	[F_REC_UPSTREAM_LOST] = { "ward_records_upstream_lost_total", "counter",
				  "Records that could not be produced: events lost before the record queue." },
};

struct render {
	struct {
		FILE *f;
		char *buf;
		size_t len;
		unsigned n;
	} fam[F_MAX];
};

/* Length of the UTF-8 sequence at p, 0 when it is not one (overlong,
 * surrogate, past U+10FFFF, cut short). */
static int utf8_len(const unsigned char *p)
{
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	int n = *p < 0x80 ? 1 : *p >= 0xc2 && *p < 0xe0 ? 2 : (*p & 0xf0) == 0xe0 ? 3
		: *p >= 0xf0 && *p < 0xf5 ? 4 : 0;
	uint32_t cp = n > 1 ? *p & (0x7f >> n) : *p;

	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (n > 1 && (cp < min[n] || (cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff))
		return 0;
	return n;
}

/* A label value: \ " and newline escaped; bytes that are not UTF-8 (an
 * interface name or a file path may have them) become U+FFFD. */
static void label_value(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		int n = utf8_len(p);

		if (!n) {
			fputs("\xef\xbf\xbd", f);
			p++;
			continue;
		}
		if (*p == '\\' || *p == '"')
			fputc('\\', f);
		if (*p == '\n')
			fputs("\\n", f);
		else
			fwrite(p, 1, n, f);
		p += n;
	}
}

/* One sample of family id: value, then label name/value pairs up to NULL. */
static void __attribute__((sentinel)) sample_str(struct render *r, enum fid id, const char *val, ...)
{
	FILE *f = r->fam[id].f;
	const char *k, *sep = "{";
	va_list ap;

	fputs(fam_def[id].name, f);
	va_start(ap, val);
	while ((k = va_arg(ap, const char *))) {
		fprintf(f, "%s%s=\"", sep, k);
		label_value(f, va_arg(ap, const char *));
		fputc('"', f);
		sep = ",";
	}
	va_end(ap);
	fprintf(f, "%s %s\n", *sep == ',' ? "}" : "", val);
	r->fam[id].n++;
}

#define sample(r, id, v, ...)                                                        \
	do {                                                                         \
		char val_[24];                                                       \
		snprintf(val_, sizeof(val_), "%" PRIu64, (uint64_t)(v));             \
		sample_str(r, id, val_, ##__VA_ARGS__, (const char *)NULL);          \
	} while (0)

static void render_free(struct render *r)
{
	for (int i = 0; i < F_MAX; i++) {
		if (r->fam[i].f)
			fclose(r->fam[i].f);
		free(r->fam[i].buf);
	}
	memset(r, 0, sizeof(*r));
}

static int render_open(struct render *r)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < F_MAX; i++) {
		r->fam[i].f = open_memstream(&r->fam[i].buf, &r->fam[i].len);
		if (!r->fam[i].f) {
			render_free(r);
			return -ENOMEM;
		}
	}
	return 0;
}

/* The families with samples, each under its HELP and TYPE, in one string. */
static char *render_join(struct render *r)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	bool bad = !f;

	for (int i = 0; i < F_MAX; i++) {
		bad |= ferror(r->fam[i].f) || fclose(r->fam[i].f) != 0;
		r->fam[i].f = NULL;
		if (!f || !r->fam[i].n)
			continue;
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fam_def[i].name, fam_def[i].help,
			fam_def[i].name, fam_def[i].type);
		fwrite(r->fam[i].buf, 1, r->fam[i].len, f);
	}
	if (f)
		bad |= ferror(f) || fclose(f) != 0;
	render_free(r);
	if (bad) {
		free(out);
		return NULL;
	}
	return out;
}

static void render_policy(struct render *r, const struct ward_meta *m, const struct ward_cfg *cfg)
{
	char sha[65], when[32];

	for (int i = 0; i < 32; i++)
		snprintf(sha + 2 * i, 3, "%02x", m->sha256[i]);
	snprintf(when, sizeof(when), "%" PRIu64 ".%03" PRIu64, (uint64_t)m->loaded_ns / 1000000000,
		 (uint64_t)m->loaded_ns / 1000000 % 1000);
	sample(r, F_POLICY_INFO, 1, "name", m->name, "sha256", sha, "mode",
	       cfg->mode == WARD_MODE_AUDIT ? "audit" : "enforce");
	sample(r, F_POLICY_REVISION, m->revision);
	sample(r, F_POLICY_RULES, m->nrules - m->nfailsafes);
	sample(r, F_POLICY_FAILSAFES, m->nfailsafes);
	sample(r, F_POLICY_GENERATION, cfg->generation);
	sample_str(r, F_POLICY_LOADED, when, (const char *)NULL);
}

/* Rules and defaults of the live slot. */
static void render_rules(struct render *r, const char *pin, __u32 slot, __u32 nrules)
{
	int ifd = mapread_open(pin, "ward_rule_ids"), sfd = mapread_open(pin, "ward_rule_stats");
	int lfd = mapread_open(pin, "ward_rl_drops");

	for (__u32 i = 0; ifd >= 0 && sfd >= 0 && i < nrules; i++) {
		__u32 k = WARD_STAT_IDX(i, slot), c = WARD_STAT_IDX(WARD_STAT_RULE(i), slot);
		struct ward_counter st, rl = {};
		struct ward_rule_info info;
		const char *dir, *act;

		if (bpf_map_lookup_elem(ifd, &k, &info) || mapread_counter(sfd, c, &st))
			continue;
		info.id[sizeof(info.id) - 1] = '\0';
		dir = dir_names[info.dir & 1];
		act = act_names[info.action & 1];
		sample(r, F_RULE_PKTS, st.packets, "rule", info.id, "direction", dir, "action", act);
		sample(r, F_RULE_BYTES, st.bytes, "rule", info.id, "direction", dir, "action", act);
		if (lfd >= 0 && !mapread_counter(lfd, c, &rl))
			sample(r, F_RULE_RL, rl.packets, "rule", info.id, "direction", dir, "action",
			       act);
	}
	for (int d = 0; sfd >= 0 && d < WARD_DIR_MAX; d++) {
		for (int a = 0; a < 2; a++) {
			struct ward_counter st;

			if (mapread_counter(sfd, WARD_STAT_IDX(WARD_STAT_DEFAULT(d, a), slot), &st))
				continue;
			sample(r, F_DEF_PKTS, st.packets, "direction", dir_names[d], "action",
			       act_names[a]);
			sample(r, F_DEF_BYTES, st.bytes, "direction", dir_names[d], "action",
			       act_names[a]);
		}
	}
	if (lfd >= 0)
		close(lfd);
	if (ifd >= 0)
		close(ifd);
	if (sfd >= 0)
		close(sfd);
}

/* Returns the interfaces still attached. A series twice would fail the
 * whole scrape: an entry like an earlier one (same name, same mode, so the
 * same link pin) is left out. */
static int render_ifaces(struct render *r, const char *pin)
{
	int fd = mapread_open(pin, "ward_ifaces"), live = 0;
	struct ward_iface v, seen[WARD_MAX_IFACES];
	__u32 n = 0;

	for (__u32 i = 0; fd >= 0 && i < WARD_MAX_IFACES; i++) {
		__u32 mode, j;
		bool up;

		if (bpf_map_lookup_elem(fd, &i, &v) || !v.ifindex)
			continue;
		v.name[sizeof(v.name) - 1] = '\0';
		mode = v.flags & WARD_IF_XDP_GENERIC;
		for (j = 0; j < n; j++)
			if (!strcmp(seen[j].name, v.name) && (seen[j].flags & WARD_IF_XDP_GENERIC) == mode)
				break;
		if (j < n)
			continue;
		seen[n++] = v;
		up = mapread_xdp_link_live(pin, v.name);
		live += up;
		sample(r, F_IFACE, up, "interface", v.name, "xdp_mode", mode ? "generic" : "native");
	}
	if (fd >= 0)
		close(fd);
	return live;
}

/* Counters that do not depend on the policy slot. */
static void render_datapath(struct render *r, const char *pin)
{
	int fd = mapread_open(pin, "ward_verdicts");
	uint64_t n, cap;

	for (int d = 0; fd >= 0 && d < WARD_DIR_MAX; d++) {
		for (int v = 0; v < WARD_V_MAX; v++) {
			struct ward_counter c;

			if (mapread_counter(fd, WARD_VERDICT_IDX(d, v), &c))
				continue;
			sample(r, F_VERD_PKTS, c.packets, "direction", dir_names[d], "verdict",
			       verdict__name(v));
			sample(r, F_VERD_BYTES, c.bytes, "direction", dir_names[d], "verdict",
			       verdict__name(v));
		}
	}
	if (fd >= 0)
		close(fd);
	if (!mapread_usage(pin, "ward_ct", &n, &cap)) {
		sample(r, F_CT_ENTRIES, n);
		sample(r, F_CT_CAP, cap);
	}
	if (!mapread_usage(pin, "ward_rl", &n, &cap)) {
		sample(r, F_RL_BUCKETS, n);
		sample(r, F_RL_CAP, cap);
	}
	fd = mapread_open(pin, "ward_ev_lost");
	for (__u32 k = 0; fd >= 0 && k < WARD_EV_MAX; k++) {
		struct ward_counter c;

		if (mapread_counter(fd, k, &c))
			continue;
		if (k == WARD_EV_LOST_AGG_FULL) {
			sample(r, F_EV_UNAGG, c.bytes);
		} else if (ev_names[k]) {
			sample(r, F_EV_LOST, c.packets, "kind", ev_names[k]);
			sample(r, F_EV_LOST_PKTS, c.bytes, "kind", ev_names[k]);
		}
	}
	if (fd >= 0)
		close(fd);
}

static void render_records(struct render *r, struct rec_pipeline *pl)
{
	struct rec_stats st;
	struct sink s;

	rec_pipeline_stats(pl, &st);
	sample(r, F_REC_EMITTED, st.emitted);
	sample(r, F_REC_QUEUE_LOST, st.queue_lost);
	sample(r, F_REC_UPSTREAM_LOST, st.upstream_lost);
	for (size_t i = 0; rec_pipeline_sink_stats(pl, i, &s); i++) {
		char name[sizeof(s.name) + 24];
		unsigned same = 1;
		struct sink t;

		s.name[sizeof(s.name) - 1] = '\0';
		/* the same sink given twice: "stdout", "stdout#2" (one series each) */
		for (size_t j = 0; j < i && rec_pipeline_sink_stats(pl, j, &t); j++)
			same += !strncmp(t.name, s.name, sizeof(t.name));
		snprintf(name, sizeof(name), same > 1 ? "%s#%u" : "%s", s.name, same);
		sample(r, F_REC_WRITTEN, s.written, "sink", name);
		sample(r, F_REC_LOST, s.lost, "sink", name);
		sample(r, F_REC_RELOAD_FAILED, s.reload_failed, "sink", name);
	}
}

/* What is loaded, from ward_active, ward_cfg and ward_meta. */
struct view {
	__u32 slot;
	struct ward_cfg cfg;
	struct ward_meta m;
	bool loaded;
};

/* False when the view is torn: ward_meta is written right after the slot
 * flips, so a consistent view has one generation in both. */
static bool view_read(const char *pin, struct view *v)
{
	memset(v, 0, sizeof(*v));
	if (mapread_active(pin, &v->slot, &v->cfg) || mapread_meta(pin, &v->m))
		return true; /* nothing (complete) pinned: nothing to tear */
	v->slot &= WARD_SLOTS - 1;
	v->loaded = v->cfg.loaded;
	return !v->loaded || v->m.generation == v->cfg.generation;
}

char *metrics__render(const struct metrics_source *src)
{
	const char *pin = src->pin_path;
	struct render r;

	for (int try = 1;; try++) {
		struct view v, after;
		bool ok = view_read(pin, &v);
		int live;

		if (render_open(&r))
			return NULL;
		sample(&r, F_AGENT_INFO, 1, "version", WARD_VERSION, "abi", STR(WARD_ABI_VERSION));
		live = render_ifaces(&r, pin);
		sample(&r, F_ENFORCING, v.loaded && live > 0);
		if (v.loaded) {
			render_policy(&r, &v.m, &v.cfg);
			render_rules(&r, pin, v.slot, v.m.nrules);
		}
		render_datapath(&r, pin);
		if (src->pl)
			render_records(&r, src->pl);
		/* Counters of one policy only: read again when a load landed meanwhile. */
		ok = ok && view_read(pin, &after) && after.loaded == v.loaded &&
		     after.slot == v.slot && after.cfg.generation == v.cfg.generation;
		if (ok || try == RENDER_TRIES)
			return render_join(&r);
		render_free(&r);
	}
}

/* ---- HTTP ------------------------------------------------------------------------------ */

struct metrics {
	struct MHD_Daemon *d;
	struct metrics_source src;
	char *pin;
	char lasterr[256]; /* libmicrohttpd's last message, for a failed start */
};

static void __attribute__((format(printf, 2, 0))) mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct metrics *m = cls;
	size_t n;

	vsnprintf(m->lasterr, sizeof(m->lasterr), fmt, ap);
	n = strlen(m->lasterr);
	while (n && m->lasterr[n - 1] == '\n')
		m->lasterr[--n] = '\0';
	pr_debug("metrics: %s\n", m->lasterr);
}

/* body: a constant, or malloc'd and then owned by the response (owned). */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body, bool owned)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		strlen(body), (void *)body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!resp) {
		if (owned)
			free((void *)body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				status == MHD_HTTP_OK ? "text/plain; version=0.0.4; charset=utf-8"
						      : "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Answered on the first call, with the headers: a request body is never read. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **req)
{
	struct metrics *m = cls;
	char *body;

	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n", false);
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "ward: metrics are at /metrics\n", false);
	body = metrics__render(&m->src);
	if (!body)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "ward: cannot render metrics\n", false);
	return reply(c, MHD_HTTP_OK, body, true);
}

/* "A.B.C.D:PORT" or "[IPV6]:PORT", numeric only. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, uint16_t *portp, char *err,
		      size_t errlen)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	const char *colon = strrchr(addr, ':'), *host = addr;
	bool bracket = addr[0] == '[';
	char hbuf[INET6_ADDRSTRLEN], *end = NULL;
	unsigned long port = 0;
	size_t hlen = 0;

	if (colon) {
		hlen = (size_t)(colon - addr);
		if (bracket && (hlen < 3 || colon[-1] != ']'))
			hlen = 0;
		else if (bracket)
			host++, hlen -= 2;
		if (colon[1] >= '0' && colon[1] <= '9')
			port = strtoul(colon + 1, &end, 10);
	}
	memset(ss, 0, sizeof(*ss));
	if (hlen && hlen < sizeof(hbuf) && port && port <= 65535 && !*end) {
		*portp = (uint16_t)port;
		memcpy(hbuf, host, hlen);
		hbuf[hlen] = '\0';
		if (!bracket && inet_pton(AF_INET, hbuf, &v4->sin_addr) == 1) {
			v4->sin_family = AF_INET;
			v4->sin_port = htons(*portp);
			return 0;
		}
		if (bracket && inet_pton(AF_INET6, hbuf, &v6->sin6_addr) == 1) {
			v6->sin6_family = AF_INET6;
			v6->sin6_port = htons(*portp);
			return 0;
		}
	}
	snprintf(err, errlen, "%s: expected IPV4:PORT or [IPV6]:PORT, numeric, e.g. 127.0.0.1:9470",
		 addr);
	return -EINVAL;
}

struct metrics *metrics__start(const char *addr, const struct metrics_source *src, char *err,
			       size_t errlen)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct sockaddr_storage ss;
	sigset_t all, old;
	uint16_t port = 0;

	if (!m || !(m->pin = strdup(src->pin_path))) {
		snprintf(err, errlen, "out of memory");
		free(m);
		return NULL;
	}
	m->src.pin_path = m->pin;
	m->src.pl = src->pl;
	if (parse_addr(addr, &ss, &port, err, errlen)) {
		metrics__stop(m);
		return NULL;
	}
	/* The server's thread takes no signals: they belong to the event loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	m->d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
			(ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
		port /* for its messages */, NULL, NULL, handle, m, MHD_OPTION_SOCK_ADDR,
		(struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_TIMEOUT_S, MHD_OPTION_EXTERNAL_LOGGER,
		mhd_log, m, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!m->d) {
		snprintf(err, errlen, "cannot serve metrics on %s: %s", addr,
			 m->lasterr[0] ? m->lasterr : "libmicrohttpd failed to start");
		metrics__stop(m);
		return NULL;
	}
	return m;
}

void metrics__stop(struct metrics *m)
{
	if (!m)
		return;
	if (m->d)
		MHD_stop_daemon(m->d);
	free(m->pin);
	free(m);
}
