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
};

struct pkt {
	__u8 family;   /* WARD_FAM_V4 | WARD_FAM_V6                        */
	__u8 proto;    /* l4 protocol after extension headers              */
	__u16 dport;   /* host order; ICMP(v6) type for ICMP               */
	__u16 sport;   /* host order; ICMP code for ICMP                   */
	__u16 pad;
	__u8 src[16];  /* network order; IPv4 in [0..3]                    */
	__u8 dst[16];
};

struct cursor {
	void *pos;
	void *end;
};

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
	if (bpf_ntohs(ip->tot_len) < hlen)
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

/* Fill p->dport/sport from the l4 header, if the protocol has one we use. */
static __always_inline int parse_l4(struct cursor *c, struct pkt *p)
{
	switch (p->proto) {
	case IPPROTO_TCP: {
		struct tcphdr *th = cursor_pull(c, struct tcphdr);

		if (!th || th->doff < 5)
			return PARSE_MALFORMED;
		p->sport = bpf_ntohs(th->source);
		p->dport = bpf_ntohs(th->dest);
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
		struct icmp_tc { __u8 type; __u8 code; } *ic = cursor_pull(c, struct icmp_tc);

		if (!ic)
			return PARSE_MALFORMED;
		if ((p->proto == IPPROTO_ICMP) != (p->family == WARD_FAM_V4))
			return PARSE_OK; /* ICMP in IPv6 or ICMPv6 in IPv4: no type */
		p->dport = ic->type;
		p->sport = ic->code;
		return PARSE_OK;
	}
	default:
		return PARSE_OK;
	}
}

static __always_inline int parse_packet(void *data, void *data_end, struct pkt *p)
{
	struct cursor c = { .pos = data, .end = data_end };
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
