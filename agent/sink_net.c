// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The collector connection of the syslog and IPFIX sinks (see sink_net.h).
 * Everything here runs on the writer thread, so nothing may wait: sockets
 * are non-blocking, a connection completes when poll() says so, and the
 * only bounded wait is the linger at close.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "log.h"
#include "sink_net.h"

#define SNET_BACKOFF_MIN_MS 1000u   /* first retry after a failure: one tick */
#define SNET_BACKOFF_MAX_MS 60000u  /* a collector down for long: once a minute */
#define SNET_CONNECT_TIMEOUT_MS 10000u /* a SYN nobody answers */
#define SNET_SNDBUF (1u << 20)      /* socket buffer asked for: rides out bursts */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

/* The connection goes; clean: say goodbye (TLS close_notify). */
static void snet_hangup(struct snet *n, bool clean)
{
	if (n->layer_on)
		n->layer->stop(n->lctx, clean);
	n->layer_on = false;
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
	n->state = SNET_DOWN;
}

static void snet_fail(struct snet *n, const char *what, int err)
{
	if (!n->warned)
		pr_warn("%s %s: %s; retrying in the background\n", what, n->peer, strerror(err));
	n->warned = true;
	snet_hangup(n, false);
	n->next_try_ms = n->now_ms + n->backoff_ms;
	n->backoff_ms = n->backoff_ms * 2 > SNET_BACKOFF_MAX_MS ? SNET_BACKOFF_MAX_MS
								: n->backoff_ms * 2;
	/* the next attempt tries the next address of the name */
	n->cur = n->cur && n->cur->ai_next ? n->cur->ai_next : n->ai;
}

/* A connection is gone: the unit it was in the middle of cannot be resent
 * (the peer saw half of it), units of that connection go with it; the
 * rest wait for the next one. */
static void snet_drop_partial(struct snet *n)
{
	size_t start = n->usent ? n->units[n->usent - 1].end : 0;

	if (n->usent < n->nunits && n->off > start) {
		n->dropped += n->units[n->usent].nrec;
		n->off = n->units[n->usent].end;
		n->usent++;
	}
	while (n->usent < n->nunits && n->units[n->usent].per_conn) {
		n->off = n->units[n->usent].end;
		n->usent++;
	}
	if (n->usent == n->nunits)
		n->off = n->len = n->usent = n->nunits = 0;
}

/* A connection failed or went away. An authentication failure (the layer
 * said why) is no glitch to ride out: what waits was meant for a verified
 * peer only, so it is dropped (counted lost), records are refused until a
 * handshake succeeds, and the next try is at the longest backoff. */
static void snet_lost(struct snet *n, const char *what, int err)
{
	if (err != EKEYREJECTED) {
		snet_fail(n, what, err);
		snet_drop_partial(n);
		return;
	}
	for (size_t i = n->usent; i < n->nunits; i++)
		if (!n->units[i].per_conn)
			n->dropped += n->units[i].nrec;
	n->off = n->len = n->usent = n->nunits = 0;
	n->refusing = true;
	n->warned = true; /* logged by the layer */
	n->backoff_ms = SNET_BACKOFF_MAX_MS;
	snet_fail(n, what, err);
}

static void snet_up(struct snet *n)
{
	n->state = SNET_UP;
	n->backoff_ms = SNET_BACKOFF_MIN_MS;
	if (n->warned)
		pr_info("connected to %s\n", n->peer);
	n->warned = false;
	n->refusing = false;
	if (n->transport == SINK_TCP && n->on_up)
		n->on_up(n->ctx);
}

/* HANDSHAKE: one step of the layer's, no wait. */
static void snet_handshake(struct snet *n)
{
	int rc = n->layer->handshake(n->lctx, &n->want);

	if (rc > 0)
		snet_up(n);
	else if (rc < 0)
		snet_lost(n, "handshake with", -rc);
	else if (n->now_ms - n->connect_ms > SNET_CONNECT_TIMEOUT_MS)
		snet_lost(n, "handshake with", ETIMEDOUT);
}

/* TCP is connected: up, or the layer's handshake first. */
static void snet_established(struct snet *n)
{
	int rc;

	if (!n->layer) {
		snet_up(n);
		return;
	}
	rc = n->layer->start(n->lctx, n->fd);
	if (rc) {
		snet_lost(n, "handshake with", -rc);
		return;
	}
	n->layer_on = true;
	n->state = SNET_HANDSHAKE;
	n->connect_ms = n->now_ms;
	snet_handshake(n);
}

static void snet_connect(struct snet *n)
{
	struct addrinfo *a = n->cur ? n->cur : n->ai;
	int type = n->transport == SINK_TCP ? SOCK_STREAM : SOCK_DGRAM;
	int one = 1, sndbuf = SNET_SNDBUF;

	if (!a) /* closed: snet_close freed the addresses */
		return;
	n->cur = a;
	n->fd = socket(a->ai_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (n->fd < 0) {
		snet_fail(n, "socket for", errno);
		return;
	}
	(void)setsockopt(n->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (n->transport == SINK_TCP)
		(void)setsockopt(n->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!connect(n->fd, a->ai_addr, a->ai_addrlen)) {
		snet_established(n);
		return;
	}
	if (errno != EINPROGRESS) {
		snet_fail(n, "connect to", errno);
		return;
	}
	n->state = SNET_CONNECTING;
	n->connect_ms = n->now_ms;
}

/* CONNECTING: has the handshake finished? Costs one poll(), no wait. */
static void snet_check_connect(struct snet *n)
{
	struct pollfd p = { .fd = n->fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0;

	if (poll(&p, 1, 0) <= 0) {
		if (n->now_ms - n->connect_ms > SNET_CONNECT_TIMEOUT_MS)
			snet_fail(n, "connect to", ETIMEDOUT);
		return;
	}
	if (getsockopt(n->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err)
		snet_fail(n, "connect to", err);
	else
		snet_established(n);
}

int snet_open(struct snet *n, const char *host, const char *port, enum sink_transport t,
	      size_t bufcap, char *err, size_t errlen)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = t == SINK_TCP ? SOCK_STREAM : SOCK_DGRAM,
		.ai_flags = AI_ADDRCONFIG,
	};
	int rc;

	n->fd = -1;
	n->transport = t;
	n->backoff_ms = SNET_BACKOFF_MIN_MS;
	n->now_ms = mono_ms();
	snprintf(n->peer, sizeof(n->peer), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
	rc = getaddrinfo(host, port, &hints, &n->ai);
	if (rc == EAI_ADDRFAMILY || rc == EAI_NONAME) {
		/* AI_ADDRCONFIG hides ::1 when only loopback has IPv6 */
		hints.ai_flags = 0;
		rc = getaddrinfo(host, port, &hints, &n->ai);
	}
	if (rc) {
		snprintf(err, errlen, "%s: %s", n->peer, gai_strerror(rc));
		return -EINVAL;
	}
	if (t == SINK_TCP) {
		n->cap = bufcap;
		n->buf = malloc(bufcap);
		if (!n->buf) {
			freeaddrinfo(n->ai);
			snprintf(err, errlen, "%s: %s", n->peer, strerror(ENOMEM));
			return -ENOMEM;
		}
	}
	snet_connect(n);
	return 0;
}

int snet_sendv(struct snet *n, const struct iovec *iov, int cnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };

	if (n->state != SNET_UP)
		return -1;
	if (sendmsg(n->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
		return 0;
	/* An ICMP error about an earlier datagram is reported once, by this
	 * call, and this datagram was not sent: try it once more. */
	if (errno == ECONNREFUSED && sendmsg(n->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
		return 0;
	return -1;
}

/* Move the unsent bytes and units to the front of their arrays. */
static void snet_compact(struct snet *n)
{
	size_t off = n->off;

	if (!off && !n->usent)
		return;
	memmove(n->buf, n->buf + off, n->len - off);
	n->len -= off;
	n->off = 0;
	memmove(n->units, n->units + n->usent, (n->nunits - n->usent) * sizeof(*n->units));
	n->nunits -= n->usent;
	n->usent = 0;
	for (size_t i = 0; i < n->nunits; i++)
		n->units[i].end -= off;
}

static int snet_unit_room(struct snet *n)
{
	struct snet_unit *u;
	size_t cap;

	if (n->nunits < n->ucap)
		return 0;
	cap = n->ucap ? n->ucap * 2 : 256;
	u = realloc(n->units, cap * sizeof(*u));
	if (!u)
		return -1;
	n->units = u;
	n->ucap = cap;
	return 0;
}

char *snet_reserve(struct snet *n, size_t len)
{
	if (n->refusing)
		return NULL;
	if (n->cap - n->len < len)
		snet_compact(n);
	if (n->cap - n->len < len || snet_unit_room(n))
		return NULL;
	return n->buf + n->len;
}

void snet_commit(struct snet *n, size_t len, uint32_t nrec)
{
	n->len += len;
	n->units[n->nunits++] = (struct snet_unit){ .end = n->len, .nrec = nrec };
}

int snet_queue_front(struct snet *n, const void *p, size_t len)
{
	snet_compact(n);
	/* what must go first goes: the oldest waiting units make room */
	while (n->cap - n->len < len && n->nunits) {
		n->dropped += n->units[0].nrec;
		n->off = n->units[0].end;
		n->usent = 1;
		snet_compact(n);
	}
	if (n->cap - n->len < len || snet_unit_room(n))
		return -1;
	memmove(n->buf + len, n->buf, n->len);
	memcpy(n->buf, p, len);
	n->len += len;
	memmove(n->units + 1, n->units, n->nunits * sizeof(*n->units));
	for (size_t i = 1; i <= n->nunits; i++)
		n->units[i].end += len;
	n->units[0] = (struct snet_unit){ .end = len, .per_conn = true };
	n->nunits++;
	return 0;
}

/* UP over TCP: a collector never talks back, so readable means it left
 * (EOF) or reset; find out now rather than after the next send. */
static void snet_check_peer(struct snet *n)
{
	struct pollfd p = { .fd = n->fd, .events = POLLIN };
	char scratch[256];
	ssize_t r;

	if (poll(&p, 1, 0) <= 0)
		return;
	r = n->layer ? n->layer->recv(n->lctx, scratch, sizeof(scratch))
		     : recv(n->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
	if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EINTR)))
		return;
	snet_lost(n, "connection to", r == 0 ? ECONNRESET : errno);
}

/* snet_redial, once nothing waits on an established connection: nothing
 * was sent on one still connecting or in its handshake, it just starts
 * over. */
static void snet_redial_now(struct snet *n)
{
	if (n->state == SNET_UP && n->off < n->len)
		return;
	n->redial = false;
	snet_hangup(n, n->state == SNET_UP);
	n->refusing = false; /* what waits for the new handshake stays */
	n->backoff_ms = SNET_BACKOFF_MIN_MS;
	n->now_ms = mono_ms();
	snet_connect(n);
}

void snet_flush(struct snet *n)
{
	if (n->state == SNET_CONNECTING)
		snet_check_connect(n);
	if (n->state == SNET_HANDSHAKE)
		snet_handshake(n);
	/* a collector that closed its end would take one more batch into
	 * nowhere: look before sending */
	if (n->state == SNET_UP && n->off < n->len)
		snet_check_peer(n);
	while (n->state == SNET_UP && n->off < n->len) {
		ssize_t w = n->layer ? n->layer->send(n->lctx, n->buf + n->off, n->len - n->off)
				     : send(n->fd, n->buf + n->off, n->len - n->off,
					    MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			snet_lost(n, "send to", errno);
			break;
		}
		n->off += w;
		while (n->usent < n->nunits && n->units[n->usent].end <= n->off)
			n->usent++;
	}
	if (n->off == n->len)
		n->off = n->len = n->usent = n->nunits = 0;
	if (n->redial)
		snet_redial_now(n);
}

void snet_tick(struct snet *n, uint64_t now_ms)
{
	(void)now_ms; /* backoff runs on the monotonic clock: wall time may jump */
	n->now_ms = mono_ms();
	if (n->state == SNET_DOWN && n->now_ms >= n->next_try_ms)
		snet_connect(n);
	if (n->state == SNET_UP && n->transport == SINK_TCP)
		snet_check_peer(n);
	if (n->transport == SINK_TCP)
		snet_flush(n);
}

void sink_lost_late(struct sink *s, uint64_t n)
{
	s->written -= n < s->written ? n : s->written;
	s->lost += n;
}

void snet_account(struct snet *n, struct sink *s)
{
	sink_lost_late(s, n->dropped);
	n->dropped = 0;
}

/* TCP: flush until nothing waits (up: until the connection is up), the
 * connection is down, or linger_ms have passed. */
static void snet_drain(struct snet *n, unsigned linger_ms, bool up)
{
	uint64_t deadline = mono_ms() + linger_ms;

	for (;;) {
		struct pollfd p = { .fd = n->fd,
				    .events = n->state == SNET_HANDSHAKE ? n->want : POLLOUT };
		uint64_t now = mono_ms();

		n->now_ms = now;
		snet_flush(n);
		if ((up ? n->state == SNET_UP : n->off == n->len) || n->state == SNET_DOWN ||
		    now >= deadline)
			break;
		/* a handshake may also wait for time to pass: look again soon */
		(void)poll(&p, 1, n->state == SNET_HANDSHAKE && deadline - now > 100
					  ? 100 : (int)(deadline - now));
	}
}

void snet_redial(struct snet *n, unsigned linger_ms)
{
	if (n->transport != SINK_TCP)
		return;
	n->redial = true;
	if (n->state == SNET_UP)
		snet_drain(n, linger_ms, false); /* its last flush redials */
	else
		snet_redial_now(n);
	/* the new connection: records wait in the pipeline's queue meanwhile,
	 * which is larger than the stream buffer */
	if (!n->redial)
		snet_drain(n, linger_ms, true);
}

void snet_finish(struct snet *n, unsigned linger_ms, struct sink *s)
{
	if (n->transport == SINK_TCP) {
		n->redial = false; /* closing: no new connection */
		/* records still wait: one last try, even inside the backoff */
		if (n->state == SNET_DOWN && n->usent < n->nunits) {
			n->now_ms = mono_ms();
			snet_connect(n);
		}
		snet_drain(n, linger_ms, false);
		for (size_t i = n->usent; i < n->nunits; i++)
			n->dropped += n->units[i].nrec;
	}
	if (n->dropped)
		pr_warn("%s: %llu records not delivered at close\n", s->name,
			(unsigned long long)n->dropped);
	snet_account(n, s);
	n->nunits = n->usent; /* what is left is counted: never twice */
}

void snet_close(struct snet *n)
{
	snet_hangup(n, true);
	free(n->buf);
	free(n->units);
	if (n->ai)
		freeaddrinfo(n->ai);
	n->buf = NULL;
	n->units = NULL;
	n->ai = NULL;
}
