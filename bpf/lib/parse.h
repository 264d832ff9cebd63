/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing with a bounds-checked cursor, one result struct for IPv4
 * and IPv6. Never reads past data_end; never reads ports of a non-first
 * fragment.
 */
#ifndef WARD_BPF_PARSE_H
#define WARD_BPF_PARSE_H

#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_endian.h>
#include "ward/abi.h"
#include "consts.h"

enum parse_result {
	PARSE_OK = 0,     /* IPv4/IPv6 with l4 fields filled              */
	PARSE_ARP,        /* ARP: caller passes                            */
	PARSE_NON_IP,     /* other ethertype                               */
	PARSE_MALFORMED,  /* truncated or inconsistent                     */
	PARSE_FRAGMENT,   /* non-first fragment: no l4 header to read      */
	PARSE_TCP_FLAGS,  /* a TCP flag combination no stack sends          */
};

/*
 * Illegal TCP flag combinations (scans, evasion): no flag at all; SYN with
 * FIN or RST; FIN with RST; FIN, PSH or URG without ACK (RFC 9293: every
 * segment after the first SYN carries ACK).
 */
static __always_inline int tcp_flags_illegal(__u8 f)
{
	if (!(f & (TCPF_FIN | TCPF_SYN | TCPF_RST | TCPF_ACK)))
		return 1;
	if ((f & TCPF_SYN) && (f & (TCPF_FIN | TCPF_RST)))
		return 1;
	if ((f & TCPF_FIN) && (f & TCPF_RST))
		return 1;
	return (f & (TCPF_FIN | TCPF_PSH | TCPF_URG)) && !(f & TCPF_ACK);
}

/* The header an ICMP error quotes: the packet it is about. */
struct pkt_inner {
	__u8 proto;    /* IPPROTO_*                                        */
	__u8 valid;    /* 1 when the quoted headers were read              */
	__u16 sport;   /* host order; ICMP echo: identifier                */
	__u16 dport;   /* host order; ICMP echo: 0                         */
	__u8 src[16];
	__u8 dst[16];
};

struct pkt {
	__u8 family;   /* WARD_FAM_V4 | WARD_FAM_V6                        */
	__u8 proto;    /* l4 protocol after extension headers              */
	__u16 dport;   /* host order; ICMP(v6) type for ICMP               */
	__u16 sport;   /* host order; ICMP code for ICMP                   */
	__u8 tcp_flags; /* TCP only                                        */
	__u8 icmp_kind; /* ICMP_KIND_*                                     */
	__u16 icmp_id;  /* host order; echo request/reply identifier       */
	__u8 src[16];  /* network order; IPv4 in [0..3]                    */
	__u8 dst[16];
	struct pkt_inner inner; /* ICMP_KIND_ERROR only                    */
};

#define ICMP_KIND_OTHER 0
#define ICMP_KIND_ECHO  1 /* echo request or reply: tracked by identifier */
#define ICMP_KIND_ERROR 2 /* error quoting a packet: related to its flow  */

struct cursor {
	void *pos;
	void *end;
	void *start;   /* the Ethernet header                               */
	__u64 len;     /* bytes of the whole frame (skb->len on TC)         */
	__u8 egress;   /* from the local stack: BIG TCP may zero IP lengths */
};

/* Bytes of the frame from p on (the frame may be longer than the linear
 * data on TC). */
static __always_inline __u64 cursor_left(const struct cursor *c, const void *p)
{
	__u64 off = p - c->start;

	return off < c->len ? c->len - off : 0;
}

/* Returns a pointer to len bytes at the cursor and advances, or NULL. */
#define cursor_pull(c, type) ((type *)__cursor_pull((c), sizeof(type)))
static __always_inline void *__cursor_pull(struct cursor *c, __u32 len)
{
	void *p = c->pos;

	if (p + len > c->end)
		return NULL;
	c->pos = p + len;
	return p;
}

static __always_inline int parse_eth(struct cursor *c, __u16 *proto)
{
	struct ethhdr *eth = cursor_pull(c, struct ethhdr);
	__u16 h;

	if (!eth)
		return PARSE_MALFORMED;
	h = bpf_ntohs(eth->h_proto);
#pragma unroll
	for (int i = 0; i < WARD_MAX_VLAN_TAGS; i++) {
		struct vlan { __be16 tci; __be16 proto; } *v;

		if (h != ETH_P_8021Q_ && h != ETH_P_8021AD_)
			break;
		v = cursor_pull(c, struct vlan);
		if (!v)
			return PARSE_MALFORMED;
		h = bpf_ntohs(v->proto);
	}
	*proto = h;
	return PARSE_OK;
}

static __always_inline int parse_ipv4(struct cursor *c, struct pkt *p)
{
	struct iphdr *ip = cursor_pull(c, struct iphdr);
	__u32 hlen;

	if (!ip || ip->version != 4 || ip->ihl < 5)
		return PARSE_MALFORMED;
	hlen = ip->ihl * 4;
	if ((void *)ip + hlen > c->end)
		return PARSE_MALFORMED;
	/* total length: at least the header, at most what the frame holds
	 * (0 on egress: BIG TCP GSO packets from the local stack) */
	if (!(c->egress && ip->tot_len == 0) &&
	    (bpf_ntohs(ip->tot_len) < hlen || bpf_ntohs(ip->tot_len) > cursor_left(c, ip)))
		return PARSE_MALFORMED;
	c->pos = (void *)ip + hlen;
	p->family = WARD_FAM_V4;
	p->proto = ip->protocol;
	__builtin_memcpy(p->src, &ip->saddr, 4);
	__builtin_memcpy(p->dst, &ip->daddr, 4);
	if (bpf_ntohs(ip->frag_off) & IPV4_FRAG_OFFSET_MASK)
		return PARSE_FRAGMENT;
	return PARSE_OK;
}

static __always_inline int parse_ipv6(struct cursor *c, struct pkt *p)
{
	struct ipv6hdr *ip6 = cursor_pull(c, struct ipv6hdr);
	__u8 nh;

	if (!ip6 || ip6->version != 6)
		return PARSE_MALFORMED;
	/* payload length: what the frame holds at most (0 on egress: BIG TCP;
	 * 0 on ingress: a jumbogram, not supported) */
	if (!(c->egress && ip6->payload_len == 0) &&
	    (ip6->payload_len == 0 ||
	     bpf_ntohs(ip6->payload_len) > cursor_left(c, ip6) - sizeof(*ip6)))
		return PARSE_MALFORMED;
	p->family = WARD_FAM_V6;
	__builtin_memcpy(p->src, &ip6->saddr, 16);
	__builtin_memcpy(p->dst, &ip6->daddr, 16);
	nh = ip6->nexthdr;
#pragma unroll
	for (int i = 0; i <= WARD_MAX_EXT_HDRS; i++) { /* the last turn reads l4 */
		struct ipv6_opt_hdr *opt;
		struct frag_hdr { __u8 nexthdr; __u8 res; __be16 frag_off; __be32 id; } *fh;

		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			opt = cursor_pull(c, struct ipv6_opt_hdr);
			if (!opt)
				return PARSE_MALFORMED;
			/* the whole header must fit the frame, not only its first 2 bytes */
			if (cursor_left(c, opt) < (opt->hdrlen + 1) * 8)
				return PARSE_MALFORMED;
			c->pos = (void *)opt + (opt->hdrlen + 1) * 8;
			nh = opt->nexthdr;
			break;
		case IPPROTO_FRAGMENT:
			fh = cursor_pull(c, struct frag_hdr);
			if (!fh)
				return PARSE_MALFORMED;
			nh = fh->nexthdr;
			if (bpf_ntohs(fh->frag_off) & IPV6_FRAG_OFFSET_MASK) {
				p->proto = nh;
				return PARSE_FRAGMENT;
			}
			break;
		default:
			goto done;
		}
	}
	/* more extension headers than we walk: refuse to guess */
	return PARSE_MALFORMED;
done:
	p->proto = nh;
	return PARSE_OK;
}

static __always_inline __u8 icmp_kind(__u8 family, __u8 type)
{
	if (family == WARD_FAM_V4) {
		if (type == ICMP_ECHO || type == ICMP_ECHOREPLY)
			return ICMP_KIND_ECHO;
		if (type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
		    type == ICMP_PARAMETERPROB)
			return ICMP_KIND_ERROR;
		return ICMP_KIND_OTHER;
	}
	if (type == ICMPV6_ECHO_REQUEST || type == ICMPV6_ECHO_REPLY)
		return ICMP_KIND_ECHO;
	if (type >= ICMPV6_DEST_UNREACH && type <= ICMPV6_PARAMPROB)
		return ICMP_KIND_ERROR;
	return ICMP_KIND_OTHER;
}

/*
 * The packet an ICMP error quotes: its addresses, protocol and the first
 * eight bytes of its l4 header (RFC 792, RFC 4443). Best effort: a quote
 * we cannot read leaves inner.valid 0 and the error is decided by policy.
 */
static __always_inline void parse_icmp_inner(struct cursor *c, struct pkt *p)
{
	struct pkt_inner *in = &p->inner;
	struct l4_quote { __be16 sport; __be16 dport; __be16 id_or_seq; __be16 rest; } *q;

	if (p->family == WARD_FAM_V4) {
		struct iphdr *ip = cursor_pull(c, struct iphdr);

		if (!ip || ip->version != 4 || ip->ihl < 5)
			return;
		c->pos = (void *)ip + ip->ihl * 4;
		in->proto = ip->protocol;
		__builtin_memcpy(in->src, &ip->saddr, 4);
		__builtin_memcpy(in->dst, &ip->daddr, 4);
	} else {
		struct ipv6hdr *ip6 = cursor_pull(c, struct ipv6hdr);

		if (!ip6 || ip6->version != 6)
			return;
		in->proto = ip6->nexthdr;
		__builtin_memcpy(in->src, &ip6->saddr, 16);
		__builtin_memcpy(in->dst, &ip6->daddr, 16);
	}
	q = cursor_pull(c, struct l4_quote);
	if (!q)
		return;
	if (in->proto == IPPROTO_TCP || in->proto == IPPROTO_UDP) {
		in->sport = bpf_ntohs(q->sport);
		in->dport = bpf_ntohs(q->dport);
	} else if (in->proto == IPPROTO_ICMP || in->proto == IPPROTO_ICMPV6) {
		/* only a quoted echo belongs to an echo flow */
		if (icmp_kind(p->family, ((__u8 *)q)[0]) != ICMP_KIND_ECHO)
			return;
		in->sport = bpf_ntohs(q->id_or_seq); /* echo identifier */
	}
	in->valid = 1;
}

/* Fill p->dport/sport from the l4 header, if the protocol has one we use. */
static __always_inline int parse_l4(struct cursor *c, struct pkt *p)
{
	switch (p->proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = cursor_pull(c, struct tcphdr);

		/* data offset: at least 5 words, and the options must fit the frame */
		if (!th || th->doff < 5 || cursor_left(c, th) < th->doff * 4u)
			return PARSE_MALFORMED;
		p->sport = bpf_ntohs(th->source);
		p->dport = bpf_ntohs(th->dest);
		p->tcp_flags = ((__u8 *)th)[TCP_FLAGS_OFFSET];
		if (tcp_flags_illegal(p->tcp_flags))
			return PARSE_TCP_FLAGS;
		return PARSE_OK;
	}
	case IPPROTO_UDP: {
		struct udphdr *uh = cursor_pull(c, struct udphdr);

		if (!uh)
			return PARSE_MALFORMED;
		p->sport = bpf_ntohs(uh->source);
		p->dport = bpf_ntohs(uh->dest);
		return PARSE_OK;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		/* type and code share the first two bytes of both headers */
		struct icmp_tc { __u8 type; __u8 code; __be16 csum; __be16 id; __be16 seq; } *ic;

		ic = cursor_pull(c, struct icmp_tc);
		if (!ic)
			return PARSE_MALFORMED;
		if ((p->proto == IPPROTO_ICMP) != (p->family == WARD_FAM_V4))
			return PARSE_OK; /* ICMP in IPv6 or ICMPv6 in IPv4: no type */
		p->dport = ic->type;
		p->sport = ic->code;
		p->icmp_kind = icmp_kind(p->family, ic->type);
		if (p->icmp_kind == ICMP_KIND_ECHO)
			p->icmp_id = bpf_ntohs(ic->id);
		else if (p->icmp_kind == ICMP_KIND_ERROR)
			parse_icmp_inner(c, p);
		return PARSE_OK;
	}
	default:
		return PARSE_OK;
	}
}

static __always_inline int parse_packet(void *data, void *data_end, __u64 len, __u8 egress,
					struct pkt *p)
{
	struct cursor c = { .pos = data, .end = data_end, .start = data, .len = len,
			    .egress = egress };
	__u16 eth_proto;
	int r;

	r = parse_eth(&c, &eth_proto);
	if (r != PARSE_OK)
		return r;
	if (eth_proto == ETH_P_ARP_)
		return PARSE_ARP;
	if (eth_proto == ETH_P_IP_)
		r = parse_ipv4(&c, p);
	else if (eth_proto == ETH_P_IPV6_)
		r = parse_ipv6(&c, p);
	else
		return PARSE_NON_IP;
	if (r != PARSE_OK)
		return r;
	return parse_l4(&c, p);
}

#endif
