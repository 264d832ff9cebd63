// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * IPFIX sink (RFC 7011): flow records as IPFIX Data Records to a collector
 * such as nfcapd, over UDP or TCP.
 *
 * Written by hand rather than with libfixbuf (CERT NetSA), after trying
 * libfixbuf 2.4.1's export API:
 * - its network exporter (fbExporterAllocNet) connects and writes with
 *   blocking calls on the caller's thread, and reconnects by closing and
 *   reopening on the next emit; the writer thread must never wait for a
 *   collector, so we would still own the transport, through its buffer
 *   exporter (fbExporterAllocBuffer);
 * - that path needs manual message control, where a template export
 *   ends the message with an error the caller must detect and retry, and
 *   an internal template must mirror a C struct byte for byte (padding
 *   included); in our trial fBufAppend crashed in its transcoder
 *   (SIGSEGV) where an error return was due;
 * - it brings GLib (GError, gthread) into the agent for what is, here,
 *   two fixed templates of fixed-length fields and one short string.
 * What is left to write is the encoding: a 16-octet header, template and
 * data sets, big-endian integers, one variable-length string (below,
 * about 200 lines). It is checked by two independent decoders, nfdump
 * and tshark (tests/records/test_ipfix.sh).
 *
 * What is exported:
 * - One template per family (256 IPv4, 257 IPv6) from one field table.
 *   Counters are biflow (RFC 5103): octet/packetDeltaCount in the
 *   direction of the first packet (source -> destination), the reverse
 *   elements (PEN 29305) back. ICMP type and code go in
 *   icmpTypeCodeIPv4/IPv6, the ports are then 0.
 * - firewallEvent: open 1 created, close 2 deleted, refuse and rate limit
 *   3 denied, audit 4 alert, traffic 5 update (the value Cisco NSEL and
 *   VMware NSX export for a long flow's periodic record; tshark 4.0 does
 *   not name it). forwardingStatus (RFC 7270) says the same for
 *   collectors that read only that: 64 forwarded, 129 dropped by ACL
 *   deny, 138 dropped by policer (rate limit).
 * - flowEndReason: idle 1, traffic (periodic) 2, fin/rst 3, revoked 4
 *   (forced end), evicted 5 (lack of resources); 0 when the flow has not
 *   ended (open, denies, audit).
 * - The rule: an enterprise-specific string, wardRuleId, holding the rule
 *   id or "default-ingress"/"default-egress", as firewall_rule.uid in the
 *   JSON. No IANA element names a firewall rule (NSEL uses private ACL
 *   ids too). WARD_PEN is 32473, the documentation PEN of RFC 5612,
 *   until Ward has an enterprise number of its own; collectors that do
 *   not know the element skip it, as RFC 7011 lets them.
 * - ingress/egressInterface: the index of the record's interface on the
 *   side the first packet crossed, 0 when unknown.
 * Records of kind lost, policy and agent are not flows: this sink skips
 * them. They count as written (the sink took them; it has nothing to
 * export), not lost, and are counted in `skipped`.
 *
 * Transport: records are batched into one message, sent when the next
 * record would not fit (IPFIX_UDP_MAX, under the path MTU as RFC 7011
 * 10.3.3 asks; IPFIX_TCP_MAX on TCP) and on every tick. UDP sends the
 * templates first and again every template_s; TCP sends them at the start
 * of every connection. The header sequence number counts the data records
 * exported before the message; a message lost locally still advances it,
 * so the collector sees the gap.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <net/if.h>

#include "log.h"
#include "rec_json.h"
#include "record.h"
#include "sink_net.h"

#define IPFIX_VERSION 10
#define IPFIX_HDR_LEN 16
#define IPFIX_SET_HDR_LEN 4
#define IPFIX_SET_TEMPLATE 2
#define IPFIX_TID_V4 256
#define IPFIX_TID_V6 257
#define IPFIX_ENTERPRISE_BIT 0x8000
#define IPFIX_VARLEN 0xffff
#define PEN_REVERSE 29305 /* RFC 5103: reverse direction of a biflow */
#define WARD_PEN 32473    /* RFC 5612 documentation PEN: Ward has none yet */

/* Ethernet's 1500 less IPv6 (40) and UDP (8), with room for a tunnel. */
#define IPFIX_UDP_MAX 1400
#define IPFIX_TCP_MAX 16384
#define IPFIX_REC_MAX 256        /* longest data record: 100 octets (IPv6) + 1 + rule id (63) */
#define IPFIX_TCP_BUF (1u << 20) /* stream backlog: ~6000 records */
#define IPFIX_LINGER_MS 2000
#define IPFIX_TEMPLATE_DEFAULT_S 60 /* a restarted collector decodes again within a minute */
#define IPFIX_IFCACHE 8
#define IPFIX_IFCACHE_MS 60000 /* interfaces come and go: look names up again */

enum ipfix_value {
	V_START, V_END, V_OCTETS, V_PACKETS, V_REV_OCTETS, V_REV_PACKETS,
	V_SRC, V_DST, V_IN_IF, V_OUT_IF, V_SPORT, V_DPORT, V_ICMP,
	V_PROTO, V_TCP_FLAGS, V_DIR, V_END_REASON, V_FW_EVENT, V_FWD_STATUS,
	V_RULE, V_COUNT
};

/* One field of both templates: element id and length by family. */
static const struct ipfix_field {
	uint16_t id4, id6;
	uint16_t len4, len6;
	uint32_t pen;
	enum ipfix_value v;
} ipfix_fields[] = {
	{ 152, 152, 8, 8, 0, V_START },              /* flowStartMilliseconds     */
	{ 153, 153, 8, 8, 0, V_END },                /* flowEndMilliseconds       */
	{ 1, 1, 8, 8, 0, V_OCTETS },                 /* octetDeltaCount           */
	{ 2, 2, 8, 8, 0, V_PACKETS },                /* packetDeltaCount          */
	{ 1, 1, 8, 8, PEN_REVERSE, V_REV_OCTETS },   /* reverseOctetDeltaCount    */
	{ 2, 2, 8, 8, PEN_REVERSE, V_REV_PACKETS },  /* reversePacketDeltaCount   */
	{ 8, 27, 4, 16, 0, V_SRC },                  /* sourceIPv4/IPv6Address    */
	{ 12, 28, 4, 16, 0, V_DST },                 /* destinationIPv4/IPv6Address */
	{ 10, 10, 4, 4, 0, V_IN_IF },                /* ingressInterface          */
	{ 14, 14, 4, 4, 0, V_OUT_IF },               /* egressInterface           */
	{ 7, 7, 2, 2, 0, V_SPORT },                  /* sourceTransportPort       */
	{ 11, 11, 2, 2, 0, V_DPORT },                /* destinationTransportPort  */
	{ 32, 139, 2, 2, 0, V_ICMP },                /* icmpTypeCodeIPv4/IPv6     */
	{ 4, 4, 1, 1, 0, V_PROTO },                  /* protocolIdentifier        */
	{ 6, 6, 1, 1, 0, V_TCP_FLAGS },              /* tcpControlBits, reduced size */
	{ 61, 61, 1, 1, 0, V_DIR },                  /* flowDirection             */
	{ 136, 136, 1, 1, 0, V_END_REASON },         /* flowEndReason             */
	{ 233, 233, 1, 1, 0, V_FW_EVENT },           /* firewallEvent             */
	{ 89, 89, 1, 1, 0, V_FWD_STATUS },           /* forwardingStatus, reduced size */
	{ 1, 1, IPFIX_VARLEN, IPFIX_VARLEN, WARD_PEN, V_RULE }, /* wardRuleId (string) */
};
#define IPFIX_NFIELDS (sizeof(ipfix_fields) / sizeof(ipfix_fields[0]))

enum { FW_CREATED = 1, FW_DELETED = 2, FW_DENIED = 3, FW_ALERT = 4, FW_UPDATE = 5 };
enum { END_IDLE = 1, END_ACTIVE = 2, END_OF_FLOW = 3, END_FORCED = 4, END_RESOURCES = 5 };
enum { FWD_FORWARDED = 64, FWD_DROP_ACL_DENY = 129, FWD_DROP_POLICER = 138 };

struct ipfix_sink {
	struct sink s; /* first: the pipeline only knows this */
	struct snet net;
	uint32_t domain;
	uint64_t template_ms;  /* UDP: template refresh interval            */
	uint64_t tmpl_sent_ms; /* UDP: tick clock of the last template send */
	bool tmpl_due;         /* UDP: send templates before the next data  */
	uint32_t seq;          /* data records exported so far (mod 2^32)   */
	uint64_t skipped;      /* records that are not flows                */

	uint8_t *msg;          /* the message being filled                  */
	size_t len, max;       /* its length (header included), the limit   */
	size_t set_off;        /* offset of the open data set, 0 = none     */
	uint16_t set_id;
	uint32_t nrec;         /* data records in the message               */

	struct { char name[16]; uint32_t index; } ifc[IPFIX_IFCACHE];
	unsigned nifc;
	uint64_t ifc_ms;
};

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	return put16(put16(p, v >> 16), v);
}

/* The low `len` octets of v, network order. */
static uint8_t *put_uint(uint8_t *p, uint64_t v, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		p[i] = v >> (8 * (len - 1 - i));
	return p + len;
}

static void ipfix_header(const struct ipfix_sink *is, uint8_t *p, size_t len, uint32_t seq)
{
	p = put16(p, IPFIX_VERSION);
	p = put16(p, (uint16_t)len);
	p = put32(p, (uint32_t)time(NULL));
	p = put32(p, seq);
	put32(p, is->domain);
}

/* A message holding both template records; returns its length. */
static size_t ipfix_templates(const struct ipfix_sink *is, uint8_t *buf, uint32_t seq)
{
	uint8_t *p = buf + IPFIX_HDR_LEN + IPFIX_SET_HDR_LEN;

	for (int fam = 4; fam <= 6; fam += 2) {
		p = put16(p, fam == 4 ? IPFIX_TID_V4 : IPFIX_TID_V6);
		p = put16(p, IPFIX_NFIELDS);
		for (size_t i = 0; i < IPFIX_NFIELDS; i++) {
			const struct ipfix_field *f = &ipfix_fields[i];
			uint16_t id = fam == 4 ? f->id4 : f->id6;

			p = put16(p, f->pen ? id | IPFIX_ENTERPRISE_BIT : id);
			p = put16(p, fam == 4 ? f->len4 : f->len6);
			if (f->pen)
				p = put32(p, f->pen);
		}
	}
	put16(buf + IPFIX_HDR_LEN, IPFIX_SET_TEMPLATE);
	put16(buf + IPFIX_HDR_LEN + 2, (uint16_t)(p - buf - IPFIX_HDR_LEN));
	ipfix_header(is, buf, (size_t)(p - buf), seq);
	return (size_t)(p - buf);
}

/* Upper bound of ipfix_templates(): every field with a PEN. */
#define IPFIX_TMPL_MAX (IPFIX_HDR_LEN + IPFIX_SET_HDR_LEN + 2 * (4 + IPFIX_NFIELDS * 8))

static uint32_t ipfix_ifindex(struct ipfix_sink *is, const char *name)
{
	unsigned i;

	if (!name[0])
		return 0;
	for (i = 0; i < is->nifc; i++)
		if (!strncmp(is->ifc[i].name, name, sizeof(is->ifc[i].name)))
			return is->ifc[i].index;
	i = is->nifc < IPFIX_IFCACHE ? is->nifc++ : 0;
	snprintf(is->ifc[i].name, sizeof(is->ifc[i].name), "%s", name);
	is->ifc[i].index = if_nametoindex(name);
	return is->ifc[i].index;
}

static uint8_t ipfix_fw_event(enum rec_kind k)
{
	switch (k) {
	case REC_OPEN: return FW_CREATED;
	case REC_CLOSE: return FW_DELETED;
	case REC_TRAFFIC: return FW_UPDATE;
	case REC_REFUSE:
	case REC_RATE_LIMIT: return FW_DENIED;
	case REC_AUDIT: return FW_ALERT;
	default: return 0;
	}
}

static uint8_t ipfix_end_reason(const struct flow_record *r)
{
	if (r->kind == REC_TRAFFIC)
		return END_ACTIVE;
	if (r->kind != REC_CLOSE)
		return 0;
	switch (r->end_reason) {
	case REC_END_IDLE: return END_IDLE;
	case REC_END_REVOKED: return END_FORCED;
	case REC_END_EVICTED: return END_RESOURCES;
	case REC_END_FIN:
	case REC_END_RST:
	case REC_END_NONE: break;
	}
	return END_OF_FLOW;
}

/* A rate-limit record sums a client's packets to any destination: it
 * names the client only, destination and ports 0 (unspecified), as the
 * JSON renderings do. */
static bool ipfix_client_only(const struct flow_record *r)
{
	return r->kind == REC_RATE_LIMIT;
}

static void ipfix_values(struct ipfix_sink *is, const struct flow_record *r, uint64_t *v)
{
	bool icmp = r->proto == 1 || r->proto == 58, client_only = ipfix_client_only(r);
	struct rec_traffic t;
	uint32_t ifx = ipfix_ifindex(is, r->ifname);

	rec_traffic(r, &t);
	v[V_START] = rec_start_ms(r);
	v[V_END] = rec_end_ms(r);
	v[V_OCTETS] = t.bytes_fwd;
	v[V_PACKETS] = t.pkts_fwd;
	v[V_REV_OCTETS] = t.bytes_rev;
	v[V_REV_PACKETS] = t.pkts_rev;
	v[V_IN_IF] = r->dir == 0 ? ifx : 0;
	v[V_OUT_IF] = r->dir == 0 ? 0 : ifx;
	v[V_SPORT] = icmp || client_only ? 0 : r->sport;
	v[V_DPORT] = icmp || client_only ? 0 : r->dport;
	v[V_ICMP] = icmp ? (uint64_t)(r->dport & 0xff) << 8 | r->icmp_code : 0;
	v[V_PROTO] = r->proto;
	v[V_TCP_FLAGS] = r->proto == 6 ? r->tcp_flags : 0;
	v[V_DIR] = r->dir; /* enum ward_dir: 0 ingress, 1 egress, as flowDirection */
	v[V_END_REASON] = ipfix_end_reason(r);
	v[V_FW_EVENT] = ipfix_fw_event(r->kind);
	v[V_FWD_STATUS] = r->allowed ? FWD_FORWARDED
			: r->kind == REC_RATE_LIMIT ? FWD_DROP_POLICER : FWD_DROP_ACL_DENY;
}

/* One data record at p (IPFIX_REC_MAX bytes of room); returns its end. */
static uint8_t *ipfix_record(struct ipfix_sink *is, const struct flow_record *r, uint8_t *p)
{
	bool v6 = r->family == 6;
	uint64_t v[V_COUNT];
	char rbuf[64];
	const char *rule = rec_rule_uid(r, rbuf, sizeof(rbuf));
	size_t rlen = strnlen(rule, sizeof(r->rule_id) - 1);

	ipfix_values(is, r, v);
	for (size_t i = 0; i < IPFIX_NFIELDS; i++) {
		const struct ipfix_field *f = &ipfix_fields[i];
		unsigned len = v6 ? f->len6 : f->len4;

		switch (f->v) {
		case V_SRC:
			memcpy(p, r->src, len);
			p += len;
			break;
		case V_DST:
			if (ipfix_client_only(r))
				memset(p, 0, len);
			else
				memcpy(p, r->dst, len);
			p += len;
			break;
		case V_RULE: /* short form of RFC 7011 7: one length octet (< 255) */
			*p++ = (uint8_t)rlen;
			memcpy(p, rule, rlen);
			p += rlen;
			break;
		default:
			p = put_uint(p, v[f->v], len);
		}
	}
	return p;
}

static void ipfix_send_templates(struct ipfix_sink *is)
{
	uint8_t buf[IPFIX_TMPL_MAX];
	struct iovec iov = { buf, ipfix_templates(is, buf, is->seq) };

	if (!snet_sendv(&is->net, &iov, 1)) {
		is->tmpl_due = false;
		is->tmpl_sent_ms = is->net.now_ms;
	}
}

/* TCP, a new connection: its templates go before anything waiting, with
 * the sequence number of the first waiting message (templates do not
 * count). */
static void ipfix_on_up(void *ctx)
{
	struct ipfix_sink *is = ctx;
	const uint8_t *first = snet_first_unit(&is->net);
	uint8_t buf[IPFIX_TMPL_MAX];
	uint32_t seq = is->seq;
	size_t len;

	if (first) /* a message waits: its header's sequence number, octets 8..11 */
		seq = (uint32_t)first[8] << 24 | first[9] << 16 | first[10] << 8 | first[11];
	len = ipfix_templates(is, buf, seq);
	if (snet_queue_front(&is->net, buf, len))
		pr_warn("%s: no room for the templates\n", is->s.name);
}

static void ipfix_close_set(struct ipfix_sink *is)
{
	if (!is->set_off)
		return;
	put16(is->msg + is->set_off + 2, (uint16_t)(is->len - is->set_off));
	is->set_off = 0;
	is->set_id = 0;
}

/* Send the message being filled; its records are lost if it cannot go. */
static void ipfix_flush(struct ipfix_sink *is)
{
	uint32_t n = is->nrec;
	int err;

	if (!n)
		return;
	ipfix_close_set(is);
	ipfix_header(is, is->msg, is->len, is->seq);
	if (is->net.transport == SINK_UDP) {
		struct iovec iov = { is->msg, is->len };

		if (is->tmpl_due) /* with this message's number: templates do not count */
			ipfix_send_templates(is);
		err = snet_sendv(&is->net, &iov, 1);
	} else {
		char *p = snet_reserve(&is->net, is->len);

		err = p ? 0 : -1;
		if (p) {
			memcpy(p, is->msg, is->len);
			snet_commit(&is->net, is->len, n);
			snet_flush(&is->net);
		}
	}
	if (err)
		sink_lost_late(&is->s, n);
	is->seq += n;
	is->len = IPFIX_HDR_LEN;
	is->nrec = 0;
}

static int ipfix_write(struct sink *s, const struct flow_record *r, const char *json, size_t len)
{
	struct ipfix_sink *is = (struct ipfix_sink *)s;
	uint16_t tid = r->family == 6 ? IPFIX_TID_V6 : IPFIX_TID_V4;

	if (!rec_is_network(r)) {
		is->skipped++;
		return 0;
	}
	if (is->len + IPFIX_SET_HDR_LEN + IPFIX_REC_MAX > is->max)
		ipfix_flush(is);
	if (is->set_id != tid) {
		ipfix_close_set(is);
		is->set_off = is->len;
		is->set_id = tid;
		put16(is->msg + is->len, tid);
		is->len += IPFIX_SET_HDR_LEN;
	}
	is->len = (size_t)(ipfix_record(is, r, is->msg + is->len) - is->msg);
	is->nrec++;
	snet_account(&is->net, s);
	return 0;
}

static void ipfix_tick(struct sink *s, uint64_t now_ms)
{
	struct ipfix_sink *is = (struct ipfix_sink *)s;

	snet_tick(&is->net, now_ms);
	if (is->net.now_ms - is->ifc_ms >= IPFIX_IFCACHE_MS) {
		is->nifc = 0;
		is->ifc_ms = is->net.now_ms;
	}
	if (is->net.transport == SINK_UDP &&
	    is->net.now_ms - is->tmpl_sent_ms >= is->template_ms)
		is->tmpl_due = true;
	ipfix_flush(is);
	if (is->tmpl_due && is->net.transport == SINK_UDP)
		ipfix_send_templates(is); /* also when idle: keep the collector's cache fresh */
	snet_account(&is->net, s);
}

static void ipfix_final(struct sink *s)
{
	struct ipfix_sink *is = (struct ipfix_sink *)s;

	ipfix_flush(is);
	snet_finish(&is->net, IPFIX_LINGER_MS, s);
}

static void ipfix_close(struct sink *s)
{
	struct ipfix_sink *is = (struct ipfix_sink *)s;

	if (!is)
		return;
	snet_close(&is->net);
	if (is->skipped)
		pr_debug("%s: %llu records were not flows (not exported)\n", s->name,
			 (unsigned long long)is->skipped);
	free(is->msg);
	free(is);
}

static const struct sink_ops ipfix_ops = {
	.kind = "ipfix",
	.flush = ipfix_final,
	.write = ipfix_write,
	.tick = ipfix_tick,
	.close = ipfix_close,
};

struct sink *sink_ipfix_open(const char *host, const char *port, enum sink_transport t,
			     unsigned template_s, uint32_t domain_id)
{
	struct ipfix_sink *is = calloc(1, sizeof(*is));
	char err[512];

	if (!is)
		return NULL;
	is->s.ops = &ipfix_ops;
	is->s.format = REC_FMT_OCSF; /* the JSON is not used */
	is->domain = domain_id;
	is->template_ms = (uint64_t)(template_s ? template_s : IPFIX_TEMPLATE_DEFAULT_S) * 1000;
	is->tmpl_due = true;
	is->max = t == SINK_TCP ? IPFIX_TCP_MAX : IPFIX_UDP_MAX;
	is->len = IPFIX_HDR_LEN;
	is->msg = malloc(is->max);
	if (!is->msg)
		goto fail;
	/* before snet_open: a connection that is up at once sends templates */
	is->net.on_up = ipfix_on_up;
	is->net.ctx = is;
	if (snet_open(&is->net, host, port, t, IPFIX_TCP_BUF, err, sizeof(err))) {
		pr_warn("ipfix sink: %s\n", err);
		errno = 0; /* the reason is in the log, not in errno */
		goto fail;
	}
	snprintf(is->s.name, sizeof(is->s.name), "ipfix+%s://%s", t == SINK_TCP ? "tcp" : "udp",
		 is->net.peer);
	return &is->s;
fail:
	free(is->msg);
	free(is);
	return NULL;
}
