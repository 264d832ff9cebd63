/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The in-memory policy (policy v1, docs/policy.md), its parser and compiler. */
#ifndef WARD_POLICY_H
#define WARD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "ward/abi.h"

#define POLICY_PROTO_ANY (-1)

struct cidr {
	uint8_t family;   /* WARD_FAM_V4 | WARD_FAM_V6 | WARD_FAM_ANY ("any") */
	uint8_t len;      /* prefix length in address bits                   */
	uint8_t addr[16]; /* network order, host bits zero                   */
};

/* A set of addresses: the union of incl minus the union of excl. */
struct addrset {
	struct cidr *incl;
	size_t nincl;
	struct cidr *excl;
	size_t nexcl;
};

/* A named group, a literal CIDR or "any": what from/to entries refer to. */
struct term {
	char *name;        /* group name, or the literal text               */
	struct addrset set;
};

struct port_range {
	uint16_t lo, hi; /* inclusive, host order */
};

struct rate_limit {
	char *name;
	uint64_t pps, burst;       /* packets/s, packets                     */
	uint64_t bps, bytes_burst; /* bytes/s, bytes; 0 = no byte limit      */
	uint64_t cps, cps_burst;   /* new flows/s, flows; 0 = no flow limit  */
	uint8_t ipv4_prefix;       /* client key: source masked to these     */
	uint8_t ipv6_prefix;
};

struct rule {
	char *id;
	uint8_t dir;        /* enum ward_dir                                  */
	uint8_t action;     /* enum ward_action                               */
	bool audit, log;
	int proto;          /* 0..255 or POLICY_PROTO_ANY                     */
	struct port_range *ports; /* dports, or ICMP types; NULL = all        */
	size_t nports;
	size_t *terms;      /* indexes into policy.terms                     */
	size_t nterms;
	int rate_limit;     /* index into policy.rate_limits, -1 = none       */
	bool failsafe;      /* from the agent's config: wins over every rule  */
	size_t src_index;   /* position in its ingress/egress array           */
};

struct policy {
	int version;
	char *name;
	uint64_t revision;
	uint8_t mode;                       /* enum ward_mode                */
	uint8_t defaults[WARD_DIR_MAX];     /* enum ward_action              */
	uint8_t default_log;                /* POLICY_LOG_*                  */
	struct term *terms;                 /* groups first, then literals   */
	size_t nterms, ngroups;
	struct rate_limit *rate_limits;
	size_t nrate_limits;
	struct rule *rules;                 /* ingress then egress, doc order */
	size_t nrules;
	uint8_t sha256[32];                 /* of the source bytes           */
	char *src;                          /* the source text, to locate    */
	size_t srclen;                      /* compiler warnings             */
};

enum { POLICY_LOG_NONE = WARD_LOG_NONE, POLICY_LOG_DENIED = WARD_LOG_DENIED, POLICY_LOG_ALL = WARD_LOG_ALL };

/* One located problem in a policy document. */
struct diag {
	bool warning;
	int line, col;     /* 1-based; 0 when unknown                         */
	char *pointer;     /* RFC 6901 JSON pointer                           */
	char *value;       /* compact JSON of the offending value, may be NULL */
	char *reason;
};

struct diags {
	struct diag *v;
	size_t n, nerrors, nwarnings;
};

void diags__free(struct diags *d);
/* Drop the diags past the first n. */
void diags__truncate(struct diags *d, size_t n);
/* Order by line, then column. */
void diags__sort(struct diags *d);
/* Print every diag as FILE:LINE:COL: /pointer: value: reason. */
void diags__print(const struct diags *d, const char *file, FILE *out);
/* The same, with the warnings past the first max_warnings counted in one
 * line (the agent's log: a policy may have thousands). */
void diags__print_some(const struct diags *d, const char *file, FILE *out, size_t max_warnings);
void diags__add(struct diags *d, bool warning, const char *pointer, const char *value,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Parse a policy document. Returns 0 and fills *ret, or -EINVAL with every
 * error in *diags (located). Warnings may be added on success too.
 */
int policy__parse(const char *text, size_t len, struct policy *ret, struct diags *diags);
int policy__parse_file(const char *path, struct policy *ret, struct diags *diags);
void policy__free(struct policy *p);

/*
 * Add a failsafe rule from the agent's config: "PROTO/PORT from CIDR"
 * (e.g. "tcp/22 from 192.0.2.0/28"), an ingress allow rule that no rule
 * of any policy can override (its replies pass by conntrack). 0, or
 * -EINVAL with *why set.
 */
int policy__add_failsafe(struct policy *p, const char *spec, const char **why);

/* Parse "a.b.c.d/n" or "x::y/n" (host bits must be zero). 0 or -EINVAL. */
int cidr__parse(const char *s, struct cidr *ret, const char **why);
bool cidr__contains(const struct cidr *outer, const struct cidr *inner);
/* Does the address (family, 16 bytes) fall into the set? */
bool addrset__contains(const struct addrset *s, uint8_t family, const uint8_t *addr);

/* ---- compiler: policy -> map entries (pure, no I/O) ---------------------- */
struct addr_entry {
	struct ward_addr_key key;
	struct ward_addr_val val;
};

struct rule_entry {
	struct ward_rule_key key;
	struct ward_rule_val val;
};

struct compiled {
	struct addr_entry *addrs;
	size_t naddrs;
	struct rule_entry *rules;
	size_t nrules;
	struct ward_cfg cfg;
	size_t nclasses;
	struct ward_rl_cfg *rl;     /* rl[i]: the limit of rl_slot i + 1      */
	size_t nrl;
};

/* What the maps of the running agent hold; 0 = the defaults of abi.h. */
struct compile_limits {
	size_t max_rules; /* rule counters per slot (ward run --max-rules) */
};

int policy__compile(const struct policy *p, struct compiled *ret, struct diags *diags);
int policy__compile_limits(const struct policy *p, const struct compile_limits *lim,
			   struct compiled *ret, struct diags *diags);
void compiled__free(struct compiled *c);
/* A rate limit as the datapath's GCRA parameters. */
void rate_limit__compile(const struct rate_limit *r, struct ward_rl_cfg *out);
/* Bucket-key ids from the limits' names, made unique within the policy: a
 * limit keeps its clients' buckets when others are added or removed. */
void rate_limit__key_ids(struct ward_rl_cfg *out, const struct rate_limit *r, size_t n);

/* Protocol names: IPPROTO_*, POLICY_PROTO_ANY for "any", -2 unknown.
 * ICMP type names: the type, -1 unknown. */
int proto__from_name(const char *s);
const char *proto__name(int proto); /* "tcp", ..., or NULL */
int icmp_type__from_name(const char *s, bool v6);

#endif
