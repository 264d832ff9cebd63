// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Datapath events and conntrack into flow records. The datapath sends an
 * event per opened flow and per aggregated key (deny, rate limit, audit);
 * what it summed after its last event is collected here once the key goes
 * idle, so the counts of a key's records add up to its packets. Events
 * name rules by index under a policy generation: the names of the last two
 * published policies are kept, like the datapath's two slots.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "flows.h"
#include "ktime.h"
#include "log.h"

struct view {
	__u32 generation;
	bool valid;
	struct rec_policy pol;
	size_t nrules;
	char (*ids)[WARD_NAME_LEN];
	__u8 *log;       /* the rule's records are wanted              */
	__s16 *rl;       /* rate-limit index of the rule, -1 = none    */
	char (*rl_names)[WARD_NAME_LEN];
	size_t nrl;
	__u8 default_log;
};

struct flows {
	struct ward *w;
	struct rec_pipeline *pl;
	struct ring_buffer *rb;
	struct view views[2];
	__u32 newest;
	unsigned traffic_s, interval_ms;
	int agg_fd, lost_fd, ncpu;
	__u64 lost_seen[WARD_EV_MAX];  /* events (or packets, [0]) already reported */
	char ifnames[WARD_MAX_IFACES][IF_NAMESIZE];
	int ifindex[WARD_MAX_IFACES];
};

static __u64 clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Event times are CLOCK_MONOTONIC; records carry wall-clock epoch ms. */
static __u64 mono_to_ms(__u64 mono_ns)
{
	__u64 off = clock_ns(CLOCK_REALTIME) - ward_ktime_ns();

	return (mono_ns + off) / 1000000ull;
}

static void view_free(struct view *v)
{
	free(v->ids);
	free(v->log);
	free(v->rl);
	free(v->rl_names);
	memset(v, 0, sizeof(*v));
}

static void sha_hex(char out[65], const __u8 sha[32])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", sha[i]);
}

void flows__policy(struct flows *f, const struct policy *p, __u32 generation)
{
	struct view *v = &f->views[generation & 1];

	view_free(v);
	v->ids = calloc(p->nrules ? p->nrules : 1, sizeof(*v->ids));
	v->log = calloc(p->nrules ? p->nrules : 1, sizeof(*v->log));
	v->rl = calloc(p->nrules ? p->nrules : 1, sizeof(*v->rl));
	v->rl_names = calloc(p->nrate_limits ? p->nrate_limits : 1, sizeof(*v->rl_names));
	if (!v->ids || !v->log || !v->rl || !v->rl_names) {
		view_free(v);
		pr_warn("flow records: out of memory naming policy rules\n");
		return;
	}
	for (size_t i = 0; i < p->nrules; i++) {
		snprintf(v->ids[i], sizeof(v->ids[i]), "%s", p->rules[i].id);
		v->log[i] = p->rules[i].log;
		v->rl[i] = p->rules[i].rate_limit;
	}
	for (size_t i = 0; i < p->nrate_limits; i++)
		snprintf(v->rl_names[i], sizeof(v->rl_names[i]), "%s", p->rate_limits[i].name);
	v->nrules = p->nrules;
	v->nrl = p->nrate_limits;
	v->default_log = p->default_log;
	snprintf(v->pol.name, sizeof(v->pol.name), "%s", p->name ? p->name : "");
	v->pol.revision = p->revision;
	sha_hex(v->pol.sha256, p->sha256);
	v->generation = generation;
	v->valid = true;
	f->newest = generation;
}

/* The names in force at a generation; the newest when it is gone. */
static const struct view *view_of(const struct flows *f, __u32 generation)
{
	const struct view *v = &f->views[generation & 1];

	if (v->valid && v->generation == generation)
		return v;
	v = &f->views[f->newest & 1];
	return v->valid ? v : NULL;
}

static bool rule_logged(const struct view *v, __u32 rule_idx, bool allowed)
{
	if (!v)
		return true; /* unknown: better a record too many */
	if (rule_idx == WARD_RULE_NONE)
		return v->default_log == WARD_LOG_ALL || (!allowed && v->default_log == WARD_LOG_DENIED);
	return rule_idx < v->nrules && v->log[rule_idx];
}

static void name_decision(struct flow_record *r, const struct view *v, __u32 rule_idx,
			  __u16 rl_slot)
{
	r->is_default = rule_idx == WARD_RULE_NONE;
	if (v)
		r->policy = v->pol;
	if (r->is_default || !v)
		return;
	if (rule_idx < v->nrules) {
		snprintf(r->rule_id, sizeof(r->rule_id), "%s", v->ids[rule_idx]);
		if (!rl_slot && v->rl[rule_idx] >= 0)
			rl_slot = v->rl[rule_idx] + 1;
	} else {
		snprintf(r->rule_id, sizeof(r->rule_id), "#%u", rule_idx);
	}
	if (rl_slot && rl_slot <= v->nrl)
		snprintf(r->rate_limit, sizeof(r->rate_limit), "%s", v->rl_names[rl_slot - 1]);
}

static void name_iface(struct flows *f, struct flow_record *r, __u32 ifindex)
{
	int slot = ifindex % WARD_MAX_IFACES;

	if (!ifindex)
		return;
	if (f->ifindex[slot] != (int)ifindex) {
		if (!if_indextoname(ifindex, f->ifnames[slot]))
			snprintf(f->ifnames[slot], IF_NAMESIZE, "if%u", ifindex);
		f->ifindex[slot] = ifindex;
	}
	snprintf(r->ifname, sizeof(r->ifname), "%s", f->ifnames[slot]);
}

static void set_counts(struct flow_record *r, __u8 dir, __u64 packets, __u64 bytes)
{
	r->count = packets;
	if (dir == WARD_DIR_INGRESS) {
		r->packets_in = packets;
		r->bytes_in = bytes;
	} else {
		r->packets_out = packets;
		r->bytes_out = bytes;
	}
}

static void set_ports(struct flow_record *r, __u8 proto, __u16 sport, __u16 dport)
{
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		r->icmp_code = sport; /* the datapath keeps the code in sport */
		r->dport = dport;
		return;
	}
	r->sport = sport;
	r->dport = dport;
}

static const enum rec_kind ev_kinds[WARD_EV_MAX] = {
	[WARD_EV_FLOW] = REC_OPEN, [WARD_EV_DENY] = REC_REFUSE,
	[WARD_EV_RATE] = REC_RATE_LIMIT, [WARD_EV_AUDIT] = REC_AUDIT,
};

static void emit_event(struct flows *f, const struct ward_event *e)
{
	const struct view *v = view_of(f, e->generation);
	struct flow_record r = {};

	if (e->kind == 0 || e->kind >= WARD_EV_MAX)
		return;
	r.kind = ev_kinds[e->kind];
	r.start_ms = mono_to_ms(e->first_ns);
	r.end_ms = mono_to_ms(e->last_ns);
	r.time_ms = r.end_ms;
	r.family = e->family;
	r.proto = e->proto;
	r.dir = e->dir;
	r.tcp_flags = e->tcp_flags;
	memcpy(r.src, e->src, 16);
	memcpy(r.dst, e->dst, 16);
	set_ports(&r, e->proto, e->sport, e->dport);
	set_counts(&r, e->dir, e->packets, e->bytes);
	r.allowed = WARD_V_IS_PASS(e->verdict);
	r.audit = e->verdict == WARD_V_PASS_AUDIT;
	name_decision(&r, v, e->rule_idx, e->rl_slot);
	name_iface(f, &r, e->ifindex);
	(void)rec_emit(f->pl, &r);
}

static int on_event(void *ctx, void *data, size_t size)
{
	if (size >= sizeof(struct ward_event))
		emit_event(ctx, data);
	return 0;
}

/* The remainder of aggregates idle for two intervals (every aggregate when
 * the agent stops, so its last records account for every packet so far):
 * sent, key freed. */
static void flush_aggregates(struct flows *f, bool all)
{
	__u64 now = ward_ktime_ns(), idle = all ? 0 : 2ull * f->interval_ms * 1000000ull;
	struct ward_agg_key k, prev, *done = NULL;
	size_t ndone = 0, cap = 0;
	struct ward_agg_val v;
	bool first = true;

	while (!bpf_map_get_next_key(f->agg_fd, first ? NULL : &prev, &k)) {
		first = false;
		prev = k;
		if (bpf_map_lookup_elem(f->agg_fd, &k, &v) || v.last_ns + idle > now)
			continue;
		if (ndone == cap) {
			struct ward_agg_key *n = realloc(done, (cap = cap ? 2 * cap : 256) * sizeof(*n));

			if (!n)
				break;
			done = n;
		}
		done[ndone++] = k;
	}
	for (size_t i = 0; i < ndone; i++) {
		struct ward_event e = {};

		if (bpf_map_lookup_and_delete_elem(f->agg_fd, &done[i], &v) || !v.packets)
			continue;
		e.kind = done[i].kind;
		e.dir = done[i].dir;
		e.family = done[i].family;
		e.proto = done[i].proto;
		e.first_ns = v.first_ns;
		e.last_ns = v.last_ns;
		e.packets = v.packets;
		e.bytes = v.bytes;
		e.rule_idx = v.rule_idx;
		e.generation = v.generation;
		e.ifindex = v.ifindex;
		e.verdict = v.verdict;
		e.tcp_flags = v.tcp_flags;
		e.rl_slot = v.rl_slot;
		e.dport = e.kind == WARD_EV_RATE ? 0 : done[i].dport;
		memcpy(e.src, done[i].src, 16);
		memcpy(e.dst, done[i].dst, 16);
		emit_event(f, &e);
	}
	free(done);
}

/* Events the ring could not take, and packets no aggregate could hold. */
static void report_lost(struct flows *f, bool emit)
{
	struct ward_counter *c = calloc(f->ncpu, sizeof(*c));

	if (!c)
		return;
	for (__u32 kind = 0; kind < WARD_EV_MAX; kind++) {
		__u64 events = 0, packets = 0, n;
		char where[128];

		if (bpf_map_lookup_elem(f->lost_fd, &kind, c))
			continue;
		for (int i = 0; i < f->ncpu; i++) {
			events += c[i].packets;
			packets += c[i].bytes;
		}
		n = kind == WARD_EV_LOST_AGG_FULL ? packets : events;
		if (n <= f->lost_seen[kind])
			continue;
		if (!emit) {
			f->lost_seen[kind] = n;
			continue;
		}
		if (kind == WARD_EV_LOST_AGG_FULL)
			snprintf(where, sizeof(where),
				 "datapath: aggregation table full, %llu denied/limited packets unrecorded",
				 (unsigned long long)(n - f->lost_seen[kind]));
		else
			snprintf(where, sizeof(where), "datapath: ring buffer full (%llu packets)",
				 (unsigned long long)packets);
		rec_lost(f->pl, n - f->lost_seen[kind], where);
		f->lost_seen[kind] = n;
	}
	free(c);
}

/* A conntrack entry as a flow record: oriented as its first packet went. */
static void ct_record(struct flows *f, struct flow_record *r, const struct ward_ct_key *k,
		      const struct ward_ct_val *v)
{
	const struct view *view = view_of(f, v->generation);
	bool in = v->origin == WARD_DIR_INGRESS;

	r->start_ms = mono_to_ms(v->created_ns);
	r->end_ms = mono_to_ms(v->last_ns);
	r->family = k->family;
	r->proto = k->proto;
	r->dir = v->origin;
	r->tcp_flags = v->tcp_flags[0] | v->tcp_flags[1];
	memcpy(r->src, in ? k->raddr : k->laddr, 16);
	memcpy(r->dst, in ? k->laddr : k->raddr, 16);
	if (k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6) {
		r->dport = k->proto == IPPROTO_ICMP ? 8 : 128; /* an echo flow */
	} else {
		r->sport = ntohs(in ? k->rport : k->lport);
		r->dport = ntohs(in ? k->lport : k->rport);
	}
	r->packets_in = v->packets[WARD_DIR_INGRESS];
	r->packets_out = v->packets[WARD_DIR_EGRESS];
	r->bytes_in = v->bytes[WARD_DIR_INGRESS];
	r->bytes_out = v->bytes[WARD_DIR_EGRESS];
	r->count = r->packets_in + r->packets_out;
	r->allowed = true;
	name_decision(r, view, v->rule_idx, v->rl_slot);
}

static bool ct_logged(struct flows *f, const struct ward_ct_val *v)
{
	return rule_logged(view_of(f, v->generation), v->rule_idx, true);
}

void flows__ct_end(struct flows *f, const struct ward_ct_key *k, const struct ward_ct_val *v,
		   __u64 now_ns)
{
	struct flow_record r = {};

	if (!f || !ct_logged(f, v))
		return;
	r.kind = REC_CLOSE;
	ct_record(f, &r, k, v);
	r.time_ms = mono_to_ms(now_ns);
	r.end_reason = v->state == WARD_CT_CLOSED ? REC_END_RST
		     : v->state == WARD_CT_CLOSING ? REC_END_FIN : REC_END_IDLE;
	(void)rec_emit(f->pl, &r);
}

void flows__ct_live(struct flows *f, const struct ward_ct_key *k, const struct ward_ct_val *v,
		    __u64 now_ns, __u64 prev_walk_ns)
{
	__u64 period = f ? f->traffic_s * 1000000000ull : 0;
	struct flow_record r = {};

	/* a Traffic record each time the flow's age crosses a period */
	if (!f || !period || now_ns <= v->created_ns + period || !ct_logged(f, v) ||
	    (now_ns - v->created_ns) / period == (prev_walk_ns - v->created_ns) / period ||
	    prev_walk_ns < v->created_ns)
		return;
	r.kind = REC_TRAFFIC;
	ct_record(f, &r, k, v);
	r.time_ms = mono_to_ms(now_ns);
	(void)rec_emit(f->pl, &r);
}

void flows__audit(struct flows *f, enum rec_kind kind, const char *activity, bool success,
		  const struct policy *p, const char *actor, const char *message)
{
	const struct view *cur = view_of(f, f->newest);
	struct flow_record r = {};

	r.kind = kind;
	r.time_ms = clock_ns(CLOCK_REALTIME) / 1000000ull;
	r.success = success;
	snprintf(r.activity, sizeof(r.activity), "%s", activity);
	snprintf(r.actor, sizeof(r.actor), "%s", actor ? actor : "");
	if (cur) {
		r.policy = cur->pol;
		r.old_revision = cur->pol.revision;
		snprintf(r.old_sha256, sizeof(r.old_sha256), "%s", cur->pol.sha256);
	}
	if (p) {
		snprintf(r.policy.name, sizeof(r.policy.name), "%s", p->name ? p->name : "");
		r.policy.revision = p->revision;
		sha_hex(r.policy.sha256, p->sha256);
	}
	r.message = message ? strdup(message) : NULL;
	(void)rec_emit(f->pl, &r);
}

struct flows *flows__new(struct ward *w, struct rec_pipeline *pl, const struct flows_opts *o)
{
	struct flows *f = calloc(1, sizeof(*f));
	int fd = ward__map_fd(w, "ward_events");

	if (!f)
		return NULL;
	f->w = w;
	f->pl = pl;
	f->traffic_s = o && o->traffic_s ? o->traffic_s : 60;
	f->interval_ms = o && o->interval_ms ? o->interval_ms : 1000;
	f->agg_fd = ward__map_fd(w, "ward_agg");
	f->lost_fd = ward__map_fd(w, "ward_ev_lost");
	f->ncpu = libbpf_num_possible_cpus();
	f->rb = fd < 0 ? NULL : ring_buffer__new(fd, on_event, f, NULL);
	if (!f->rb || f->agg_fd < 0 || f->lost_fd < 0 || f->ncpu <= 0) {
		flows__free(f);
		return NULL;
	}
	/* losses from before this agent were reported by the one before */
	report_lost(f, false);
	return f;
}

void flows__free(struct flows *f)
{
	if (!f)
		return;
	ring_buffer__free(f->rb);
	view_free(&f->views[0]);
	view_free(&f->views[1]);
	free(f);
}

int flows__fd(struct flows *f)
{
	return ring_buffer__epoll_fd(f->rb);
}

void flows__poll(struct flows *f)
{
	(void)ring_buffer__consume(f->rb);
}

void flows__tick(struct flows *f)
{
	flows__poll(f);
	flush_aggregates(f, false);
	report_lost(f, true);
}

void flows__stop(struct flows *f)
{
	flows__poll(f);
	flush_aggregates(f, true);
	report_lost(f, true);
}
