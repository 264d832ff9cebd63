// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Syslog sink: one RFC 5424 message per record, the record's JSON as MSG.
 *
 *   <PRI>1 2024-05-01T12:00:00.123Z HOST ward PID FLOW_DENY [meta sequenceId="42"] {...}
 *
 * Choices, and why:
 * - Facility local0. Flow records are high-volume data for a SIEM, not
 *   authentication events: auth/authpriv would flood the restricted
 *   auth.log, and the local facilities are where network appliances log
 *   (pfSense filterlog, ASAs on local4) and what a collector routes on.
 * - Severity by outcome: denies and rate limits warning, audit-mode
 *   would-be denies notice (nothing was blocked), allowed flows info,
 *   lost records warning, policy changes notice (a failed one warning).
 * - MSGID per kind (FLOW_OPEN ... AGENT), so a receiver filters without
 *   parsing JSON.
 * - Structured data [meta sequenceId="N"]: "meta" and its sequenceId are
 *   IANA-registered (RFC 5424 7.3.1) for exactly this, so no private
 *   SD-ID and no enterprise number is needed (Ward has none; 32473 is the
 *   documentation PEN of RFC 5612, not for real use). sequenceId is the
 *   record's metadata.sequence, so a gap shows records lost anywhere
 *   before the syslog transport; it wraps 2147483647 -> 1 as the RFC
 *   says, the JSON keeps the full 64-bit number.
 * - No BOM before MSG: RFC 5424 allows MSG-ANY, and RFC 8259 8.1 forbids a
 *   BOM in front of networked JSON (JSON is UTF-8 by definition).
 * - UDP (RFC 5426): one datagram per record, at most SYSLOG_UDP_MAX
 *   octets. A record that is longer gets its free-text message shortened
 *   and is rendered again, so the JSON stays whole; flow records are
 *   ~1 KiB and always fit.
 * - TCP (RFC 6587): octet-counting framing "LEN SP MSG", which survives
 *   any byte in MSG; frames are queued whole in a bounded buffer and sent
 *   non-blocking (sink_net.c); what does not fit is counted lost.
 * - TLS (RFC 5425): the same frames in a mutually authenticated TLS
 *   stream, the TLS layer of sink_tls.c over the same transport. A reload
 *   (SIGHUP) reads the certificates again and, when they are good, sends
 *   what is queued and reconnects with them.
 */
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/uio.h>

#include "log.h"
#include "rec_json.h"
#include "record.h"
#include "sink_net.h"
#include "sink_tls.h"

/* rsyslog's default maxMessageSize (8k) and well above the 2048 octets
 * RFC 5426 3.2 says every receiver should take; IP fragments it. */
#define SYSLOG_UDP_MAX 8192
#define SYSLOG_TCP_BUF (1u << 20)   /* stream buffer: ~1000 records of backlog */
#define SYSLOG_TCP_FLUSH (64u << 10) /* send once this much waits, else on tick */
#define SYSLOG_HDR_MAX 512          /* PRI..SD: hostname is at most 255 */
#define SYSLOG_LINGER_MS 2000       /* close: how long queued frames may take */
#define SYSLOG_FACILITY 16          /* local0 */
#define SYSLOG_SEQ_MAX 2147483647u  /* RFC 5424 7.3.1: sequenceId wraps to 1 */

enum { SEV_ERR = 3, SEV_WARNING = 4, SEV_NOTICE = 5, SEV_INFO = 6 };

struct syslog_sink {
	struct sink s; /* first: the pipeline only knows this */
	struct snet net;
	char procid[16];
	time_t ts_sec;          /* the second ts_text spells */
	char ts_text[24];       /* "YYYY-MM-DDTHH:MM:SS"     */
	char *scratch;          /* a record rendered again, shorter (UDP) */
	uint64_t shortened;
	struct tls_layer *tls;  /* syslog+tls:// (RFC 5425), else NULL */
};

static unsigned syslog_severity(const struct flow_record *r)
{
	switch (r->kind) {
	case REC_REFUSE:
	case REC_RATE_LIMIT:
	case REC_LOST:
		return SEV_WARNING;
	case REC_AUDIT:
	case REC_AGENT:
		return SEV_NOTICE;
	case REC_POLICY:
		return r->success ? SEV_NOTICE : SEV_WARNING;
	case REC_OPEN:
	case REC_CLOSE:
	case REC_TRAFFIC:
		return SEV_INFO;
	}
	return SEV_ERR; /* a kind this file does not know: make it seen */
}

static const char *syslog_msgid(enum rec_kind k)
{
	switch (k) {
	case REC_OPEN: return "FLOW_OPEN";
	case REC_CLOSE: return "FLOW_CLOSE";
	case REC_TRAFFIC: return "FLOW_TRAFFIC";
	case REC_REFUSE: return "FLOW_DENY";
	case REC_RATE_LIMIT: return "FLOW_RATE_LIMIT";
	case REC_AUDIT: return "FLOW_AUDIT";
	case REC_LOST: return "RECORDS_LOST";
	case REC_POLICY: return "POLICY";
	case REC_AGENT: return "AGENT";
	}
	return "-";
}

/* RFC 5424 6.2.4: HOSTNAME is 1..255 printable US-ASCII, "-" when unknown. */
static size_t syslog_hostname(char *out, size_t cap)
{
	const char *h = rec_hostname();
	size_t n = 0;

	for (; *h && n < 255 && n + 1 < cap; h++)
		if (*h > ' ' && *h < 0x7f)
			out[n++] = *h;
	if (!n)
		out[n++] = '-';
	out[n] = '\0';
	return n;
}

/* "<PRI>1 TIMESTAMP HOSTNAME APP PROCID MSGID SD " into hdr. */
static int syslog_header(struct syslog_sink *ss, const struct flow_record *r, char *hdr,
			 size_t cap)
{
	uint64_t ms = r->time_ms;
	time_t sec = (time_t)(ms / 1000);
	char host[256];
	struct tm tm;

	if (!ms) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		sec = ts.tv_sec;
		ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	}
	if (sec != ss->ts_sec || !ss->ts_text[0]) { /* records come in bursts of one second */
		gmtime_r(&sec, &tm);
		strftime(ss->ts_text, sizeof(ss->ts_text), "%Y-%m-%dT%H:%M:%S", &tm);
		ss->ts_sec = sec;
	}
	syslog_hostname(host, sizeof(host));
	return snprintf(hdr, cap, "<%u>1 %s.%03uZ %s ward %s %s [meta sequenceId=\"%llu\"] ",
			SYSLOG_FACILITY * 8 + syslog_severity(r), ss->ts_text,
			(unsigned)(ms % 1000), host, ss->procid, syslog_msgid(r->kind),
			r->seq ? (unsigned long long)((r->seq - 1) % SYSLOG_SEQ_MAX + 1) : 0ull);
}

/* Render r again into ss->scratch (cap bytes; its JSON had `have`) with
 * its free-text message cut short ("..." at the end), so the JSON stays
 * valid. -1 when even an empty message does not fit. */
static int syslog_shorten(struct syslog_sink *ss, const struct flow_record *r, size_t have,
			  size_t cap)
{
	size_t mlen = r->message ? strlen(r->message) : 0;
	size_t excess = have > cap ? have - cap : 0;
	struct flow_record c;
	char *msg;
	int len = -1;

	if (!mlen)
		return -1;
	msg = malloc(mlen + 4);
	if (!msg)
		return -1;
	c = *r;
	c.message = msg;
	/* escaping may make each byte up to six: start from the estimate,
	 * halve until it fits */
	mlen = mlen > excess + 16 ? mlen - excess - 16 : mlen / 2;
	for (;;) {
		while (mlen && ((unsigned char)r->message[mlen] & 0xc0) == 0x80)
			mlen--; /* do not split a UTF-8 sequence */
		memcpy(msg, r->message, mlen);
		memcpy(msg + mlen, "...", 4);
		len = rec_render(ss->s.format, &c, ss->scratch, cap);
		if (len >= 0 || !mlen)
			break;
		mlen /= 2;
	}
	free(msg);
	return len;
}

static int syslog_send_udp(struct syslog_sink *ss, const struct flow_record *r,
			   const char *hdr, size_t hlen, const char *json, size_t len)
{
	struct iovec iov[2] = { { (void *)hdr, hlen }, { (void *)json, len } };

	if (hlen + len > SYSLOG_UDP_MAX) {
		int n = syslog_shorten(ss, r, len, SYSLOG_UDP_MAX - hlen);

		if (n < 0) {
			pr_debug("%s: record %llu does not fit a datagram\n", ss->s.name,
				 (unsigned long long)r->seq);
			return -1;
		}
		if (!ss->shortened++)
			pr_warn("%s: records longer than %u octets are shortened (UDP); use TCP for long messages\n",
				ss->s.name, SYSLOG_UDP_MAX);
		iov[1].iov_base = ss->scratch;
		iov[1].iov_len = (size_t)n;
	}
	return snet_sendv(&ss->net, iov, 2);
}

static int syslog_queue_tcp(struct syslog_sink *ss, const char *hdr, size_t hlen,
			    const char *json, size_t len)
{
	size_t mlen = hlen + len;
	char prefix[24];
	int plen = snprintf(prefix, sizeof(prefix), "%zu ", mlen);
	char *p = snet_reserve(&ss->net, (size_t)plen + mlen);

	if (!p)
		return -1;
	memcpy(p, prefix, (size_t)plen);
	memcpy(p + plen, hdr, hlen);
	memcpy(p + plen + hlen, json, len);
	snet_commit(&ss->net, (size_t)plen + mlen, 1);
	if (snet_pending(&ss->net) >= SYSLOG_TCP_FLUSH)
		snet_flush(&ss->net);
	return 0;
}

static int syslog_write(struct sink *s, const struct flow_record *r, const char *json, size_t len)
{
	struct syslog_sink *ss = (struct syslog_sink *)s;
	char hdr[SYSLOG_HDR_MAX];
	int hlen = syslog_header(ss, r, hdr, sizeof(hdr));
	int err;

	if (hlen < 0 || hlen >= (int)sizeof(hdr))
		return -1;
	if (ss->net.transport == SINK_UDP)
		return syslog_send_udp(ss, r, hdr, (size_t)hlen, json, len);
	/* losses of earlier records first: the pipeline counts this one
	 * written only after we return, so a loss of it (a flush below that
	 * breaks the connection) is accounted at the next call or tick */
	snet_account(&ss->net, s);
	err = syslog_queue_tcp(ss, hdr, (size_t)hlen, json, len);
	return err;
}

static void syslog_tick(struct sink *s, uint64_t now_ms)
{
	struct syslog_sink *ss = (struct syslog_sink *)s;

	snet_tick(&ss->net, now_ms);
	snet_account(&ss->net, s);
}

static void syslog_flush(struct sink *s)
{
	snet_finish(&((struct syslog_sink *)s)->net, SYSLOG_LINGER_MS, s);
}

/* TLS: new certificates, then a new connection once the frames queued
 * so far are sent. Plain syslog has nothing to reload. */
static int syslog_reload(struct sink *s)
{
	struct syslog_sink *ss = (struct syslog_sink *)s;

	if (!ss->tls)
		return 0;
	if (tls_layer_reload(ss->tls))
		return -1;
	snet_redial(&ss->net, SYSLOG_LINGER_MS);
	snet_account(&ss->net, s);
	return 0;
}

static void syslog_close(struct sink *s)
{
	struct syslog_sink *ss = (struct syslog_sink *)s;

	if (!ss)
		return;
	snet_close(&ss->net);
	tls_layer_free(ss->tls);
	free(ss->scratch);
	free(ss);
}

static const struct sink_ops syslog_ops = {
	.kind = "syslog",
	.flush = syslog_flush,
	.write = syslog_write,
	.tick = syslog_tick,
	.reload = syslog_reload,
	.close = syslog_close,
};

/* TLS (RFC 5425) is TCP's octet counting inside a TLS stream: tls != NULL. */
static struct sink *syslog_open(const char *host, const char *port, enum sink_transport t,
				const struct tls_opts *tls, enum rec_format fmt)
{
	struct syslog_sink *ss = calloc(1, sizeof(*ss));
	const char *scheme = tls ? "tls" : t == SINK_TCP ? "tcp" : "udp";
	char err[512];

	if (!ss)
		return NULL;
	ss->s.ops = &syslog_ops;
	ss->s.format = fmt;
	snprintf(ss->procid, sizeof(ss->procid), "%d", (int)getpid());
	if (t == SINK_UDP && !(ss->scratch = malloc(SYSLOG_UDP_MAX)))
		goto fail;
	if (tls) {
		char who[300];

		snprintf(who, sizeof(who), strchr(host, ':') ? "syslog+tls://[%s]:%s" : "syslog+tls://%s:%s",
			 host, port);
		ss->tls = tls_layer_new(tls, host, who, err, sizeof(err));
		if (!ss->tls) {
			pr_warn("%s: %s\n", who, err);
			errno = 0;
			goto fail;
		}
		ss->net.layer = &tls_snet_layer; /* before snet_open: it may connect at once */
		ss->net.lctx = ss->tls;
	}
	if (snet_open(&ss->net, host, port, t, SYSLOG_TCP_BUF, err, sizeof(err))) {
		pr_warn("syslog sink: %s\n", err);
		errno = 0; /* the reason is in the log, not in errno */
		goto fail;
	}
	snprintf(ss->s.name, sizeof(ss->s.name), "syslog+%s://%s", scheme, ss->net.peer);
	return &ss->s;
fail:
	tls_layer_free(ss->tls);
	free(ss->scratch);
	free(ss);
	return NULL;
}

struct sink *sink_syslog_open(const char *host, const char *port, enum sink_transport t,
			      enum rec_format fmt)
{
	return syslog_open(host, port, t, NULL, fmt);
}

struct sink *sink_syslog_tls_open(const char *host, const char *port, const struct tls_opts *o,
				  enum rec_format fmt)
{
	return syslog_open(host, port, SINK_TCP, o, fmt);
}
