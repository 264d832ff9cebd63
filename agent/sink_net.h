/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The network transport shared by the syslog and IPFIX sinks: a UDP or
 * TCP socket to one collector that never blocks the writer thread.
 *
 * UDP: one datagram per call; a full socket buffer loses the datagram.
 * TCP: the sink queues whole units (a syslog frame, an IPFIX message) in a
 * bounded buffer that is sent as the socket takes it. A unit is queued
 * whole or not at all, so the stream never carries half a frame, and a
 * full buffer refuses the unit (the caller counts its records lost).
 * Connecting and reconnecting are non-blocking, driven by snet_tick()
 * with exponential backoff; while the connection is down, units wait in
 * the buffer. On a new connection the on_up callback may queue units in
 * front of the waiting ones (IPFIX templates).
 */
#ifndef WARD_SINK_NET_H
#define WARD_SINK_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/types.h>
#include <sys/uio.h>

#include "record.h"

/* HANDSHAKE: TCP is up, the layer's handshake (TLS) is not done yet. */
enum snet_state { SNET_DOWN, SNET_CONNECTING, SNET_HANDSHAKE, SNET_UP };

/*
 * An optional layer over the TCP stream (TLS: sink_tls.c). snet keeps the
 * one connection, backoff and buffer logic; the layer adds a handshake
 * after connect and carries the bytes. Functions fail with -1 (or a
 * negative errno) and errno; EAGAIN means "later". EKEYREJECTED means
 * authentication failed (a certificate, a name, a protocol version): the
 * layer has logged why; snet drops what waits (counted lost) and refuses
 * records until a later handshake succeeds (tried at the longest backoff).
 */
struct snet_layer {
	/* TCP connected on fd: begin (0 or -errno). */
	int (*start)(void *ctx, int fd);
	/* Advance the handshake: 1 done, 0 not yet (*events: what fd must
	 * become for progress, POLLIN or POLLOUT), -errno failed. */
	int (*handshake)(void *ctx, short *events);
	ssize_t (*send)(void *ctx, const void *p, size_t len);
	ssize_t (*recv)(void *ctx, void *p, size_t len);
	/* The connection goes (fd still open): release it; clean: say goodbye
	 * (TLS close_notify), without waiting. */
	void (*stop)(void *ctx, bool clean);
};

/* A queued unit: where it ends in the buffer, how many records it holds. */
struct snet_unit {
	size_t end;
	uint32_t nrec;
	bool per_conn; /* belongs to one connection (templates): dropped with it */
};

struct snet {
	enum sink_transport transport;
	enum snet_state state;
	int fd;
	struct addrinfo *ai;      /* every address of the collector        */
	struct addrinfo *cur;     /* the one in use or tried next          */
	char peer[300];           /* "host:port" for logs                  */
	uint64_t now_ms;          /* monotonic ms, as of the last tick     */
	uint64_t next_try_ms;     /* DOWN: next connection attempt         */
	uint64_t connect_ms;      /* CONNECTING: when it started           */
	unsigned backoff_ms;
	bool warned;              /* a failure was logged; log recovery    */

	/* TCP: the stream buffer, bytes [off, len) not yet sent */
	char *buf;
	size_t cap, len, off;
	struct snet_unit *units;  /* units [usent, nunits) not fully sent */
	size_t nunits, usent, ucap;

	void (*on_up)(void *ctx); /* TCP connected: queue what goes first */
	void *ctx;
	const struct snet_layer *layer; /* NULL: plain TCP; set before snet_open */
	void *lctx;
	bool layer_on;            /* layer started on this fd, not stopped  */
	short want;               /* HANDSHAKE: poll events it waits for    */
	bool refusing;            /* authentication failed: records refused */
	bool redial;              /* snet_redial: reconnect once nothing waits */
	uint64_t dropped;         /* records of queued units lost, not yet accounted */
};

/* n comes zeroed, with on_up and ctx set (a connection may be up at once).
 * Resolve host:port (getaddrinfo, IPv4 or IPv6) and start connecting.
 * bufcap is the TCP stream buffer. Returns 0 or -errno, with a reason in
 * err (a name that does not resolve is an error: better at startup than
 * silently later). */
int snet_open(struct snet *n, const char *host, const char *port, enum sink_transport t,
	      size_t bufcap, char *err, size_t errlen);
/* UDP: one datagram of cnt pieces. 0, or -1 when it was not sent. */
int snet_sendv(struct snet *n, const struct iovec *iov, int cnt);
/* TCP: a pointer where a unit of up to len bytes can be written, or NULL
 * when the buffer lacks room; snet_commit() queues what was written. */
char *snet_reserve(struct snet *n, size_t len);
void snet_commit(struct snet *n, size_t len, uint32_t nrec);
/* TCP: bytes queued and not sent yet. */
static inline size_t snet_pending(const struct snet *n)
{
	return n->len - n->off;
}
/* TCP, from on_up: the first unit waiting (whole: nothing of it is sent
 * on a new connection), or NULL. */
static inline const uint8_t *snet_first_unit(const struct snet *n)
{
	return n->off < n->len ? (const uint8_t *)n->buf + n->off : NULL;
}
/* TCP, from on_up only: queue a unit ahead of those waiting (the oldest
 * of them are dropped when there is no room). */
int snet_queue_front(struct snet *n, const void *p, size_t len);
/* TCP: send what the socket takes now. */
void snet_flush(struct snet *n);
/* Connect, reconnect, notice a peer that left, flush. */
void snet_tick(struct snet *n, uint64_t now_ms);
/* TCP: a new connection on purpose (new credentials were loaded): what
 * waits is sent on the current connection first (up to linger_ms, longer
 * if need be: until then new units go the same way), then it is closed
 * cleanly (TLS close_notify) and the next one starts at once, even after
 * an authentication failure; it waits up to linger_ms more for it to be
 * up, so that what comes meanwhile waits in the caller's queue rather
 * than in the stream buffer. Nothing queued is lost. */
void snet_redial(struct snet *n, unsigned linger_ms);
/* Records a sink accepted (the pipeline counted them written) and lost
 * later move from written to lost, as the file sink does with lines it
 * could not write. */
void sink_lost_late(struct sink *s, uint64_t n);
/* Move the records of queued units lost since the last call (a
 * connection that broke mid-stream) into s's counts. */
void snet_account(struct snet *n, struct sink *s);
/* The last flush (TCP: up to linger_ms), then what could not be sent is
 * counted lost on s: after it the sink's counts are final. */
void snet_finish(struct snet *n, unsigned linger_ms, struct sink *s);
/* Release the connection and buffers. */
void snet_close(struct snet *n);

#endif
