/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow records read back (ward suggest, ward replay): the JSON lines the file
 * sink writes (OCSF or ECS, docs/flow-records.md), from plain, rotated or
 * gzip files, each turned into the few fields that say which flow it was and
 * what the policy did to it. Also the two things both commands need beside
 * reading: a byte-keyed hash table with a bound on its entries, and the
 * verdict of a compiled policy for a flow, from the real programs through
 * BPF_PROG_TEST_RUN (as `ward explain`).
 */
#ifndef WARD_FLOWREAD_H
#define WARD_FLOWREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "policy.h"

enum fr_kind {
	FR_OTHER = 0,   /* not a flow: policy, agent records, other classes     */
	FR_OPEN,        /* an allowed flow's first packet                       */
	FR_CLOSE,       /* an allowed flow ended (its whole counters)           */
	FR_TRAFFIC,     /* a long flow's periodic counters                      */
	FR_RESET,       /* a flow a new policy revoked (OCSF activity 3)        */
	FR_REFUSE,      /* denied packets of one key, summed (count)            */
	FR_AUDIT,       /* would-be denies audit let through, summed (count)    */
	FR_RATE_LIMIT,  /* rate-limited packets of a client: not a policy verdict */
	FR_LOST,        /* records lost (count)                                 */
	FR_KIND_MAX,
};

/* OCSF action_id: what the datapath did. */
enum { FR_ACT_ALLOWED = 1, FR_ACT_DENIED = 2, FR_ACT_OBSERVED = 3 };

struct flow_rec {
	enum fr_kind kind;
	uint8_t action;        /* FR_ACT_*; 0 unknown                              */
	uint8_t dir;           /* WARD_DIR_* of the flow's first packet            */
	uint8_t family;        /* 4 or 6, 0 when no address was read               */
	uint8_t proto;         /* IPPROTO_*                                        */
	int tcp_flags;         /* OR of the flags seen, -1 unknown                 */
	int sport, dport;      /* -1 absent                                        */
	int icmp_type;         /* -1 absent                                        */
	uint8_t src[16], dst[16]; /* network order; IPv4 in [0..3]                 */
	uint64_t time_ms, start_ms, end_ms; /* epoch ms, 0 absent                  */
	uint64_t count;        /* aggregates: packets; FR_LOST: records lost       */
	uint64_t packets, bytes;
	char rule[64];         /* firewall_rule.uid / rule.id, "" absent           */
};

/* Parse one JSON line (OCSF or ECS) into *out. 0, or -1 when it is not a
 * JSON object (a torn last line, foreign text). Unknown fields are skipped. */
int flow_rec__parse(const char *line, size_t len, struct flow_rec *out);

/* ---- files: plain or gzip (detected by content), "-" is standard input ---- */
struct flow_reader;
struct flow_reader *flow_reader__open(const char *path); /* NULL, errno set */
/* The next line (without its newline, NUL-terminated, valid until the next
 * call): its length, 0 at the end, -1 on a read error (a truncated gzip:
 * what came before it was returned). */
ssize_t flow_reader__line(struct flow_reader *r, const char **line);
void flow_reader__close(struct flow_reader *r);

/* Everything read from a list of files. */
struct flow_scan {
	uint64_t files, lines, bad_lines, skipped_files, read_errors;
	uint64_t by_kind[FR_KIND_MAX];
	uint64_t lost_records;     /* sum of the counts of records-lost records   */
	uint64_t first_ms, last_ms; /* of the flow records                        */
};

/* Called for each record of a flow kind (FR_OPEN .. FR_LOST). Nonzero stops
 * the scan and is returned. */
typedef int (*flow_scan_cb)(void *ctx, const struct flow_rec *r, const char *file, uint64_t line);
/* Read the files in order. Files named *.tmp (a compression in progress)
 * are skipped with a warning; unreadable files are an error (-errno, and
 * the file is named on stderr). prog: the command's name, for messages. */
int flow_scan__files(const char *prog, char *const *files, size_t n, struct flow_scan *st,
		     flow_scan_cb cb, void *ctx);

/* ---- the flow a record stands for ------------------------------------------ */
struct flow_key {
	uint8_t dir;           /* WARD_DIR_*                                    */
	uint8_t family;        /* 4 or 6                                        */
	uint8_t proto;
	uint8_t plen;          /* the remote as a prefix (hosts: 32 / 128)      */
	uint16_t port;         /* T of docs/policy.md: dport, ICMP type, else 0 */
	uint16_t pad;
	uint8_t remote[16];    /* source when inbound, destination when outbound */
};

/* The key of a flow record (FR_OPEN .. FR_AUDIT). 0, or -1 when the record
 * carries no usable addresses. local (16 bytes) gets the other end. */
int flow_key__of(const struct flow_rec *r, struct flow_key *k, uint8_t *local);

/* What the records of one key add up to. A connection may leave an Open, a
 * Close and Traffic records, and an audit pass an audit record and a
 * Close: flows are counted once, as the larger of the starts (Open records,
 * audited packets: each is a flow's first) and the ends (Close, Reset). A
 * Refuse record (one peer's denied packets to one port in one interval)
 * counts as one flow. */
struct flow_tally {
	uint64_t opens, closes, traffics, audited, refused, records;
	uint64_t close_bytes, agg_bytes, live_bytes;
	uint64_t first, last; /* epoch ms */
};
void flow_tally__add(struct flow_tally *t, const struct flow_rec *r);
void flow_tally__merge(struct flow_tally *d, const struct flow_tally *s);
uint64_t flow_tally__flows(const struct flow_tally *t);
/* Close records' bytes (whole flows), aggregates', and for flows still open
 * at the end their last Traffic (or Open) record's. */
uint64_t flow_tally__bytes(const struct flow_tally *t);

/* Ephemeral ports, for records of TCP connections picked up mid-stream. */
struct port_span {
	int lo, hi; /* lo > hi: none */
};
int port_span__parse(const char *s, struct port_span *ret); /* "LO-HI" or "none" */
/* A TCP record whose flags show no SYN, towards an ephemeral port: a
 * connection older than the recording, seen from its reply direction. */
bool flow_rec__midstream(const struct flow_rec *r, const struct port_span *eph);

/* Records that are no flow to evaluate, counted by why. */
struct flow_skips {
	uint64_t rate_limit; /* rate-limit records: a client's packets to anywhere */
	uint64_t midstream;  /* flow_rec__midstream                                */
	uint64_t no_key;     /* no usable addresses                                */
};
/* The key (and local address) of a record that stands for a flow to
 * evaluate: 0; 1 (counted in *sk when it is a flow kind) for the others. */
int flow_rec__use(const struct flow_rec *r, const struct port_span *eph, struct flow_skips *sk,
		  struct flow_key *k, uint8_t *local);

/* Text of a key's remote ("198.51.100.7", "2001:db8::/64") and service
 * ("tcp/8000", "icmp/8", "proto 47"). */
void flow_key__remote(const struct flow_key *k, char *buf, size_t len);
void flow_key__service(const struct flow_key *k, char *buf, size_t len);
void fr_addr_text(uint8_t family, const uint8_t *addr, char *buf, size_t len);
/* "2025-01-01T00:00:00Z", or "-" for 0. */
void fr_time_text(uint64_t ms, char *buf, size_t len);

/* ---- a hash table of fixed-size keys and values, bounded ------------------- */
struct ftab {
	size_t ksz, vsz, esz;  /* entry: 1 used byte, key, value (aligned)      */
	size_t cap, n, max;    /* slots (a power of two), entries, entry limit  */
	uint8_t *slots;
};
int ftab__init(struct ftab *t, size_t ksz, size_t vsz, size_t max);
/* The value of key, created zeroed when absent (*created = true). NULL when
 * the table holds max entries already (or out of memory). */
void *ftab__get(struct ftab *t, const void *key, bool *created);
void *ftab__find(const struct ftab *t, const void *key);
/* Entry i (0 .. cap-1): its key and value, or NULL when the slot is free. */
void *ftab__at(const struct ftab *t, size_t i, const void **key);
void ftab__clear(struct ftab *t);
void ftab__free(struct ftab *t);

/* ---- verdicts from the real programs ---------------------------------------- */
struct flow_verdict {
	bool pass;           /* the first packet passes                         */
	bool audit;          /* a deny that audit lets through                  */
	uint32_t rule_idx;   /* deciding rule (index into policy.rules), or WARD_RULE_NONE */
	uint8_t verdict;     /* enum ward_verdict                               */
};

struct flow_eval;
/*
 * Compile p and load it into a private copy of the programs (no pins, no
 * conntrack, no rate limits). -EINVAL with the compiler's diagnostics in
 * *d; other -errno when the programs cannot be loaded (no CAP_BPF).
 */
int flow_eval__open(struct flow_eval **ret, const struct policy *p, struct diags *d);
/* The verdict of the flow's first packet (TCP: a SYN from sport). local:
 * the local address (16 bytes), NULL for a documentation address. */
int flow_eval__run(struct flow_eval *e, const struct flow_key *k, const uint8_t *local, int sport,
		   struct flow_verdict *v);
void flow_eval__close(struct flow_eval *e);
/* The deciding rule's id, or "default-ingress" / "default-egress". */
const char *flow_eval__rule_name(const struct policy *p, const struct flow_verdict *v, int dir);

#endif
