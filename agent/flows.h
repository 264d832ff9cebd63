/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's side of flow records: datapath events from the ring buffer,
 * aggregates the datapath left behind, conntrack ends and long flows, and
 * the agent's own audit records, all turned into struct flow_record and
 * handed to the record pipeline.
 */
#ifndef WARD_FLOWS_H
#define WARD_FLOWS_H

#include "loader.h"
#include "record.h"

struct flows;

struct flows_opts {
	unsigned traffic_s;     /* Traffic record of a long flow every this; 0 = 60 */
	unsigned interval_ms;   /* the datapath's aggregation interval; 0 = 1000   */
};

struct flows *flows__new(struct ward *w, struct rec_pipeline *pl, const struct flows_opts *o);
void flows__free(struct flows *f);

/* Remember the names of a published policy (rules, limits) under its
 * generation, to name what later events refer to. */
void flows__policy(struct flows *f, const struct policy *p, __u32 generation);
/* The agent's own audit records (policy load/reject, start/stop). */
void flows__audit(struct flows *f, enum rec_kind kind, const char *activity, bool success,
		  const struct policy *p, const char *actor, const char *message);

/* An fd to poll for events, then flows__poll consumes them. */
int flows__fd(struct flows *f);
void flows__poll(struct flows *f);
/* About once a second: aggregates gone idle, loss counters. */
void flows__tick(struct flows *f);
/* When the agent stops: every aggregate's remainder, idle or not. */
void flows__stop(struct flows *f);
/* For every conntrack entry ct_gc frees or keeps (from its walk). */
void flows__ct_end(struct flows *f, const struct ward_ct_key *k, const struct ward_ct_val *v,
		   __u64 now_ns);
void flows__ct_live(struct flows *f, const struct ward_ct_key *k, const struct ward_ct_val *v,
		    __u64 now_ns, __u64 prev_walk_ns);

#endif
