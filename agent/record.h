/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow and audit records (self-contained: no pointers but message, so a
 * record can cross to the writer thread while the policy changes): what the agent knows about one event, rendered
 * as OCSF or ECS JSON and handed to every configured sink. The pipeline
 * (rec_pipeline.c) numbers records, queues them to a writer thread and
 * counts every record a sink could not take; the datapath and the
 * policy handling never wait for a sink.
 */
#ifndef WARD_RECORD_H
#define WARD_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rec_kind {
	REC_OPEN = 1,    /* first packet of an allowed flow               */
	REC_CLOSE,       /* flow ended: FIN/RST or idle timeout            */
	REC_TRAFFIC,     /* periodic counters of a long flow               */
	REC_REFUSE,      /* denied packets, aggregated per (src,dst,proto,dport) */
	REC_RATE_LIMIT,  /* rate-limited packets, aggregated per client    */
	REC_AUDIT,       /* would-be denies let through by audit, aggregated */
	REC_LOST,        /* records that could not be produced or written  */
	REC_POLICY,      /* policy load, reload, rejection                 */
	REC_AGENT,       /* agent start, stop                              */
};

enum rec_close_reason {
	REC_END_NONE = 0,
	REC_END_FIN,     /* TCP FIN seen both ways or one way, then idle   */
	REC_END_RST,     /* TCP RST                                        */
	REC_END_IDLE,    /* idle timeout                                   */
	REC_END_EVICTED, /* conntrack table full, entry reused             */
	REC_END_REVOKED, /* a new policy denied the flow                   */
};

/* Policy identity, carried by every record. */
struct rec_policy {
	char name[64];      /* "" before any policy is loaded   */
	uint64_t revision;
	char sha256[65];    /* lowercase hex, "" when none      */
};

struct flow_record {
	enum rec_kind kind;
	uint64_t seq;           /* metadata.sequence, set by the pipeline       */
	uint64_t time_ms;       /* CLOCK_REALTIME, epoch ms: when it happened   */
	uint64_t start_ms;      /* first packet (flows, aggregates); 0 = time_ms */
	uint64_t end_ms;        /* last packet; 0 = time_ms                     */

	/* network (not for REC_LOST / REC_POLICY / REC_AGENT) */
	uint8_t family;         /* 4 or 6                                       */
	uint8_t proto;          /* IPPROTO_*                                    */
	uint8_t dir;            /* enum ward_dir of the first packet            */
	uint8_t tcp_flags;      /* OR of the flags seen (TCP)                   */
	uint8_t src[16], dst[16]; /* network order; IPv4 in [0..3]; of the first packet */
	uint16_t sport, dport;  /* host order; ICMP: sport 0, dport = type      */
	uint8_t icmp_code;
	char ifname[16];        /* interface the first packet crossed, "" unknown */

	/* counters. Flows: by direction relative to the host ("in" = received).
	 * Aggregates (refuse, rate limit, audit): count = packets, bytes_in or
	 * bytes_out by the direction. */
	uint64_t count;
	uint64_t packets_in, packets_out, bytes_in, bytes_out;
	enum rec_close_reason end_reason;

	/* decision */
	bool allowed;           /* the packets passed (audit: true)              */
	bool audit;             /* would have been denied; audit let it through */
	bool is_default;        /* decided by the direction's default            */
	char rule_id[64];       /* "" for a default                              */
	char rate_limit[64];    /* name, or ""                                   */

	struct rec_policy policy;

	/* REC_LOST: count = records lost; message says where (ring, queue, sink) */
	/* REC_POLICY / REC_AGENT */
	char activity[16];      /* "load", "reload", "reject", "rollback", "start", "stop" */
	bool success;
	uint64_t old_revision;
	char old_sha256[65];
	char actor[64];         /* e.g. "uid=0 pid=123 via=SIGHUP"               */
	char *message;          /* free text (errors of a rejection, where records
				 * were lost); malloc'd, owned by the record once
				 * emitted: the pipeline frees it               */
};

enum rec_format { REC_FMT_OCSF = 0, REC_FMT_ECS = 1 };

/*
 * Render one record as one line of JSON (no trailing newline) into buf.
 * Returns the length, or -1 when it does not fit. The hostname and
 * product version are process-wide (rec_set_host).
 */
int rec_render(enum rec_format fmt, const struct flow_record *r, char *buf, size_t cap);
int rec_render_ocsf(const struct flow_record *r, char *buf, size_t cap);
int rec_render_ecs(const struct flow_record *r, char *buf, size_t cap);
void rec_set_host(const char *hostname, const char *version);

/* ---- sinks ---------------------------------------------------------------- */
struct sink;

struct sink_ops {
	const char *kind; /* "file", "stdout", "syslog", "ipfix" */
	/* One record; json is its rendering (len bytes, no newline). Returns 0,
	 * or -1 when the record could not be written (the caller counts it lost). */
	int (*write)(struct sink *s, const struct flow_record *r, const char *json, size_t len);
	/* Called about once a second by the writer thread, and at close:
	 * flush buffers, rotate, resend templates, reconnect. */
	void (*tick)(struct sink *s, uint64_t now_ms);
	/* Optional: the last flush before close, after which written and lost
	 * are final (what it cannot deliver, it counts lost). */
	void (*flush)(struct sink *s);
	/* Optional, asked by rec_pipeline_reload (SIGHUP): called once every
	 * record queued before the request has gone to write(); send what the
	 * sink holds, then take up its files again (TLS certificates, a log
	 * file moved away). Returns 0, or -1 when it could not: the sink has
	 * logged why and carries on as it was. */
	int (*reload)(struct sink *s);
	void (*close)(struct sink *s);
};

struct sink {
	const struct sink_ops *ops;
	enum rec_format format;  /* the JSON handed to write()           */
	uint64_t written, lost;  /* records; updated by the writer thread */
	uint64_t reload_failed;  /* reloads that failed; by the writer thread */
	char name[64];           /* for logs and metrics, e.g. "file:/var/log/ward/flows.json" */
};

struct file_sink_opts {
	const char *path;        /* records are appended here               */
	uint64_t max_bytes;      /* rotate when the file reaches it; 0 = never */
	uint64_t max_age_s;      /* rotate when the file is older; 0 = never */
	unsigned keep;           /* rotated files kept (path.1.gz ...); 0 = all */
	bool gzip;               /* compress rotated files with zlib        */
};
struct sink *sink_file_open(const struct file_sink_opts *o, enum rec_format fmt);
struct sink *sink_stdout_open(enum rec_format fmt);

enum sink_transport { SINK_UDP = 0, SINK_TCP = 1 };
/* RFC 5424; TCP uses octet counting (RFC 6587). */
struct sink *sink_syslog_open(const char *host, const char *port, enum sink_transport t,
			      enum rec_format fmt);
/* RFC 7011; templates for IPv4 and IPv6, resent every template_s (UDP). */
struct sink *sink_ipfix_open(const char *host, const char *port, enum sink_transport t,
			     unsigned template_s, uint32_t domain_id);

/*
 * A sink from its one-string spec (the --flows flag and the config file):
 *   stdout[,format=ecs]
 *   file:PATH[,max_bytes=N][,max_age=SECONDS][,keep=N][,gzip=0|1][,format=ecs]
 *   syslog+udp://HOST:PORT[,format=ecs]     syslog+tcp://HOST:PORT
 *   ipfix+udp://HOST:PORT[,template=SECONDS][,domain=N]   ipfix+tcp://HOST:PORT
 *   syslog+tls://HOST[:PORT],ca=PEM,cert=PEM,key=PEM[,name=NAME][,tls=1.2][,format=ecs]
 *     (RFC 5425, port 6514 by default, TLS 1.3 unless tls=1.2; docs/tls.md)
 * IPv6 hosts in brackets. NULL on error, with the reason in err.
 */
struct sink *sink_open_spec(const char *spec, char *err, size_t errlen);

/* ---- pipeline --------------------------------------------------------------- */
struct rec_pipeline;

/* A queue of `depth` records and a writer thread fanning out to the sinks
 * (taken over: closed by rec_pipeline_close). */
struct rec_pipeline *rec_pipeline_new(struct sink **sinks, size_t nsinks, size_t depth);
/* Numbers the record and queues it; never blocks. Returns 0, or -1 when
 * the queue is full (counted; a REC_LOST record follows when room is back). */
int rec_emit(struct rec_pipeline *p, struct flow_record *r);
/* Count records lost before they reached the pipeline (e.g. ring buffer). */
void rec_lost(struct rec_pipeline *p, uint64_t n, const char *where);
struct rec_stats {
	uint64_t emitted, queue_lost, upstream_lost;
};
void rec_pipeline_stats(struct rec_pipeline *p, struct rec_stats *st);
/* Ask the writer thread to reload the sinks that can (sink_ops.reload)
 * once the records queued so far are written; never blocks, p may be NULL.
 * Records emitted meanwhile wait in the queue. */
void rec_pipeline_reload(struct rec_pipeline *p);
/* Drains the queue, closes the sinks. */
void rec_pipeline_close(struct rec_pipeline *p);
/* rec_pipeline_close in two steps: drain and close the sinks, keeping the
 * counts readable (rec_pipeline_sink_stats, final after this) until
 * rec_pipeline_close frees the pipeline. */
void rec_pipeline_drain(struct rec_pipeline *p);
/* Name, written, lost and reload_failed of sink i (ops NULL); false past
 * the last sink. */
bool rec_pipeline_sink_stats(struct rec_pipeline *p, size_t i, struct sink *out);

#endif
