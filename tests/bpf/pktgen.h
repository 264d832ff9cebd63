/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Build Ethernet frames for BPF_PROG_TEST_RUN: IPv4/IPv6, TCP/UDP/ICMP/ICMPv6
 * or any other protocol, with correct lengths and checksums. */
#ifndef WARD_PKTGEN_H
#define WARD_PKTGEN_H

#include <stddef.h>
#include <stdint.h>

struct pkt_spec {
	uint8_t family;      /* 4 or 6 (WARD_FAM_V4 / WARD_FAM_V6)            */
	uint8_t src[16];     /* network order; IPv4 in [0..3]                 */
	uint8_t dst[16];
	uint8_t proto;       /* IPPROTO_*                                      */
	uint16_t sport;      /* host order; ICMP: code                        */
	uint16_t dport;      /* host order; ICMP/ICMPv6: type                 */
	uint8_t tcp_flags;   /* TCP only; 0 = SYN                             */
	uint16_t payload;    /* bytes of zero payload after the l4 header     */
};

/* Frame length, or 0 if cap is too small. Frames are at least 64 bytes. */
size_t pktgen_build(const struct pkt_spec *s, uint8_t *buf, size_t cap);

/* Parse "198.51.100.7" or "2001:db8::1" into family + 16 bytes. 0 or -1. */
int pktgen_addr(const char *text, uint8_t *family, uint8_t addr[16]);

#endif
