/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Datapath constants, each with its unit. */
#ifndef WARD_BPF_CONSTS_H
#define WARD_BPF_CONSTS_H

#define ETH_P_IP_     0x0800 /* ethertype, host order */
#define ETH_P_IPV6_   0x86DD
#define ETH_P_ARP_    0x0806
#define ETH_P_8021Q_  0x8100
#define ETH_P_8021AD_ 0x88A8

#define WARD_MAX_VLAN_TAGS 2 /* 802.1Q/802.1ad tags skipped, count       */
#define WARD_MAX_EXT_HDRS  6 /* IPv6 extension headers walked, count     */

#define IPV4_FRAG_OFFSET_MASK 0x1fff /* fragment offset, 8-byte units   */
#define IPV4_FRAG_MF          0x2000 /* more-fragments flag             */
#define IPV6_FRAG_OFFSET_MASK 0xfff8 /* offset bits of frag_off field   */

/* ICMPv6 neighbour discovery (RFC 4861), always passed (RFC 4890). */
#define ICMPV6_ND_ROUTER_SOLICIT 133
#define ICMPV6_ND_NEIGH_ADVERT   136

#define TCP_FLAGS_OFFSET 13 /* byte of the TCP header holding FIN..CWR   */
#define TCPF_FIN  0x01
#define TCPF_SYN  0x02
#define TCPF_RST  0x04
#define TCPF_PSH  0x08
#define TCPF_ACK  0x10
#define TCPF_URG  0x20

#endif
