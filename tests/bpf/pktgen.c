// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Frame builder for BPF_PROG_TEST_RUN (see pktgen.h): Ethernet, then IPv4
 * (IHL 5, header checksum) or IPv6 (no extension headers), then TCP, UDP,
 * ICMP or ICMPv6 with a correct checksum, or for any other protocol an
 * 8-byte zero "header". A zero payload of s->payload bytes follows the l4
 * header; the frame is zero-padded to at least PKTGEN_MIN_FRAME bytes
 * (padding is not part of the IP length).
 */
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "pktgen.h"

#define PKTGEN_MIN_FRAME 64  /* bytes, frame without FCS is padded to this */
#define ETH_HLEN_        14  /* bytes */
#define IPV4_HLEN        20  /* bytes, IHL 5 */
#define IPV6_HLEN        40  /* bytes */
#define TCP_HLEN         20  /* bytes, doff 5 */
#define UDP_HLEN         8   /* bytes */
#define ICMP_HLEN        8   /* bytes: type, code, csum, id, seq */
#define OTHER_HLEN       8   /* bytes of zero for protocols without a header here */

static const uint8_t mac_dst[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t mac_src[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* One's complement sum of len bytes, big-endian 16-bit words, unfolded. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Pseudo-header sum (RFC 793 / RFC 8200 8.1) for an l4 segment of len bytes. */
static uint32_t pseudo_sum(const struct pkt_spec *s, size_t len)
{
	uint32_t sum = 0;
	uint8_t tail[4];

	if (s->family == 4) {
		sum = csum_add(sum, s->src, 4);
		sum = csum_add(sum, s->dst, 4);
		sum += s->proto;
		sum += (uint32_t)len;
	} else {
		sum = csum_add(sum, s->src, 16);
		sum = csum_add(sum, s->dst, 16);
		put32(tail, (uint32_t)len);
		sum = csum_add(sum, tail, 4);
		sum += s->proto;
	}
	return sum;
}

static size_t l4_hlen(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return TCP_HLEN;
	case IPPROTO_UDP:
		return UDP_HLEN;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return ICMP_HLEN;
	default:
		return OTHER_HLEN;
	}
}

size_t pktgen_build(const struct pkt_spec *s, uint8_t *buf, size_t cap)
{
	size_t l3len, l4len, iplen, framelen;
	uint8_t *ip, *l4;
	uint16_t csum;

	if (!s || !buf || (s->family != 4 && s->family != 6))
		return 0;
	l3len = s->family == 4 ? IPV4_HLEN : IPV6_HLEN;
	l4len = l4_hlen(s->proto) + s->payload;
	iplen = l3len + l4len;
	if (s->family == 4 && iplen > 0xffff)
		return 0;
	if (s->family == 6 && l4len > 0xffff)
		return 0;
	framelen = ETH_HLEN_ + iplen;
	if (framelen < PKTGEN_MIN_FRAME)
		framelen = PKTGEN_MIN_FRAME;
	if (cap < framelen)
		return 0;
	memset(buf, 0, framelen);

	/* Ethernet */
	memcpy(buf, mac_dst, 6);
	memcpy(buf + 6, mac_src, 6);
	put16(buf + 12, s->family == 4 ? 0x0800 : 0x86dd);
	ip = buf + ETH_HLEN_;
	l4 = ip + l3len;

	/* IP */
	if (s->family == 4) {
		ip[0] = 0x45;                  /* version 4, IHL 5 */
		ip[1] = 0;                     /* DSCP/ECN */
		put16(ip + 2, (uint16_t)iplen);
		put16(ip + 4, 0x1234);         /* id */
		put16(ip + 6, 0x4000);         /* DF, offset 0 */
		ip[8] = 64;                    /* TTL */
		ip[9] = s->proto;
		memcpy(ip + 12, s->src, 4);
		memcpy(ip + 16, s->dst, 4);
		put16(ip + 10, csum_fold(csum_add(0, ip, IPV4_HLEN)));
	} else {
		ip[0] = 0x60;                  /* version 6, TC 0, flow 0 */
		put16(ip + 4, (uint16_t)l4len);
		ip[6] = s->proto;
		ip[7] = 64;                    /* hop limit */
		memcpy(ip + 8, s->src, 16);
		memcpy(ip + 24, s->dst, 16);
	}

	/* l4 */
	switch (s->proto) {
	case IPPROTO_TCP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put32(l4 + 4, 1);              /* seq */
		put32(l4 + 8, 0);              /* ack */
		l4[12] = 5 << 4;               /* doff 5 */
		l4[13] = s->tcp_flags ? s->tcp_flags : 0x02 /* SYN */;
		put16(l4 + 14, 65535);         /* window */
		csum = csum_fold(csum_add(pseudo_sum(s, l4len), l4, l4len));
		put16(l4 + 16, csum);
		break;
	case IPPROTO_UDP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, (uint16_t)l4len);
		csum = csum_fold(csum_add(pseudo_sum(s, l4len), l4, l4len));
		put16(l4 + 6, csum ? csum : 0xffff);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		l4[0] = (uint8_t)s->dport;     /* type */
		l4[1] = (uint8_t)s->sport;     /* code */
		put16(l4 + 4, 0x0001);         /* identifier */
		put16(l4 + 6, 0x0001);         /* sequence */
		/* ICMPv4 sums the message only; ICMPv6 adds the pseudo-header. */
		if (s->proto == IPPROTO_ICMPV6)
			csum = csum_fold(csum_add(pseudo_sum(s, l4len), l4, l4len));
		else
			csum = csum_fold(csum_add(0, l4, l4len));
		put16(l4 + 2, csum);
		break;
	default:
		break; /* 8 zero bytes, then the zero payload */
	}
	return framelen;
}

int pktgen_addr(const char *text, uint8_t *family, uint8_t addr[16])
{
	uint8_t tmp[16] = { 0 };

	if (!text || !family || !addr)
		return -1;
	if (inet_pton(AF_INET, text, tmp) == 1) {
		*family = 4;
		memcpy(addr, tmp, 16);
		return 0;
	}
	memset(tmp, 0, sizeof(tmp));
	if (inet_pton(AF_INET6, text, tmp) == 1) {
		*family = 6;
		memcpy(addr, tmp, 16);
		return 0;
	}
	return -1;
}
