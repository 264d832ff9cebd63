/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Internal to the record renderers (rec_ocsf.c, rec_ecs.c): a JSON writer
 * into the caller's buffer and the facts both formats derive from a record.
 * Written by hand rather than with jansson: a record is rendered straight
 * into the writer thread's buffer, with no allocation and no tree, which is
 * what keeps the file sink above 100,000 records/s on one core.
 */
#ifndef WARD_REC_JSON_H
#define WARD_REC_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "record.h"

/* A cursor into the output buffer. Once something does not fit, `full`
 * sticks and every later write is a no-op, so renderers check only once. */
struct jbuf {
	char *p, *end;
	char *start;
	bool full;
	bool comma; /* the next member needs a leading ',' */
};

static inline void jb_init(struct jbuf *b, char *buf, size_t cap)
{
	b->start = b->p = buf;
	b->end = buf + cap;
	b->full = cap == 0;
	b->comma = false;
}

static inline void jb_mem(struct jbuf *b, const char *s, size_t n)
{
	if (b->full || (size_t)(b->end - b->p) < n) {
		b->full = true;
		return;
	}
	memcpy(b->p, s, n);
	b->p += n;
}

static inline void jb_lit(struct jbuf *b, const char *s)
{
	jb_mem(b, s, strlen(s));
}

/* Length of the rendering, or -1 when it did not fit. A NUL is written
 * after the JSON when there is room, but is not counted. */
static inline int jb_finish(struct jbuf *b)
{
	if (b->full)
		return -1;
	if (b->p < b->end)
		*b->p = '\0';
	return (int)(b->p - b->start);
}

/* One record as one JSON object into buf: body writes the members and
 * returns false for a kind it does not render. -1 then, or when it did not fit. */
int jb_render(char *buf, size_t cap, const struct flow_record *r,
	      bool (*body)(struct jbuf *b, const struct flow_record *r));

/* Structure: jb_key() writes the separator and "key":, the value follows. */
void jb_key(struct jbuf *b, const char *key);
void jb_open(struct jbuf *b, const char *key);   /* "key":{  (key NULL: a bare {) */
void jb_close(struct jbuf *b);                   /* }                            */
void jb_open_arr(struct jbuf *b, const char *key);
void jb_close_arr(struct jbuf *b);
/* Values; with key NULL they are array elements. */
void jb_str(struct jbuf *b, const char *key, const char *s);
void jb_strn(struct jbuf *b, const char *key, const char *s, size_t n);
/* One string made of three, without a temporary copy. */
void jb_str3(struct jbuf *b, const char *key, const char *s1, const char *s2, const char *s3);
void jb_u64(struct jbuf *b, const char *key, uint64_t v);
void jb_u64_str(struct jbuf *b, const char *key, uint64_t v); /* as a JSON string */
void jb_bool(struct jbuf *b, const char *key, bool v);
/* Skipped when s is empty: optional inline strings of the record. */
void jb_str_opt(struct jbuf *b, const char *key, const char *s);

/* ---- what both formats say about a record --------------------------------- */

/* Process-wide, set by rec_set_host(): never empty. */
const char *rec_hostname(void);
const char *rec_product_version(void);

#define REC_PRODUCT "Ward"
#define REC_VENDOR "Ward"

/* "tcp", "udp", "icmp", "ipv6-icmp", ... or NULL for other numbers. */
const char *rec_proto_name(uint8_t proto);
/* Lowercase name of the kind: "open", "rate_limit", ... */
const char *rec_kind_name(enum rec_kind k);
/* "fin", "rst", "idle", "evicted", "revoked", or NULL. */
const char *rec_end_name(enum rec_close_reason e);
bool rec_is_network(const struct flow_record *r);
bool rec_is_aggregate(const struct flow_record *r);
bool rec_has_ports(const struct flow_record *r);
/* Source and destination addresses as text (buffers of INET6_ADDRSTRLEN). */
void rec_addrs(const struct flow_record *r, char *src, char *dst);

/* The counters seen from the flow's first packet: fwd = source to
 * destination, rev = back. The record counts relative to the host. */
struct rec_traffic {
	uint64_t pkts_fwd, pkts_rev, bytes_fwd, bytes_rev;
};
void rec_traffic(const struct flow_record *r, struct rec_traffic *t);

/* start/end in epoch ms, with the record's defaults applied. */
uint64_t rec_start_ms(const struct flow_record *r);
uint64_t rec_end_ms(const struct flow_record *r);

/* The rule a record names: its id, or "default-ingress"/"default-egress". */
const char *rec_rule_uid(const struct flow_record *r, char *buf, size_t cap);

/* "user":{uid_key:"0"},"process":{"pid":123} from an actor such as
 * "uid=0 pid=123 via=SIGHUP", each part only when the actor names it. */
void jb_actor_ids(struct jbuf *b, const char *actor, const char *uid_key);

#endif
