// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Table-driven tests of the Ward datapath through BPF_PROG_TEST_RUN.
 *
 * Each row: a policy (JSON, written with ' for " to keep the table
 * readable), a frame (pktgen spec, optionally mutated, or raw bytes), a
 * direction (ingress runs the XDP program, egress the TC program) and the
 * expected outcome: pass/drop, ward_trace.verdict and the deciding rule (by
 * id, resolved to its index in policy.rules; NULL = a default / no rule).
 * Rows with fam 0 run twice, as IPv4 and as IPv6. Every run also checks the
 * ward_verdicts counter and, for policy verdicts, the ward_rule_stats
 * counter of the deciding rule (or of the direction's default).
 *
 * Output: "ok N - name" / "not ok N - name: expected ... got ...", then
 * "N passed, N failed". Exit 1 on any failure, or when BPF cannot be loaded.
 * TEST_BPF_PCAP=FILE writes every frame run to FILE (tcpdump -r FILE).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "ward/abi.h"
#include "policy.h"
#include "loader.h"
#include "pktgen.h"
#include "verdict.h"

#define FRAME_CAP  2048 /* bytes */
#define ETH_LEN    14   /* bytes */
#define MIN_FRAME  64   /* bytes */
#define F_RAW      1    /* row fam: raw frame, no IPv4/IPv6 variant */
#define DEF_SPORT  43210

/* ---- output ---------------------------------------------------------------- */

static int n_pass, n_fail, n_case;

static void result(bool ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void result(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	n_case++;
	if (ok) {
		n_pass++;
		printf("ok %d - %s\n", n_case, name);
		return;
	}
	n_fail++;
	printf("not ok %d - %s: ", n_case, name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}


/* ---- byte helpers ------------------------------------------------------------ */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void ip4_fix_csum(uint8_t *ip)
{
	size_t hlen = (size_t)(ip[0] & 0x0f) * 4, i;
	uint32_t sum = 0;

	if (hlen < 20)
		hlen = 20;
	put16(ip + 10, 0);
	for (i = 0; i < hlen; i += 2)
		sum += get16(ip + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(ip + 10, (uint16_t)~sum);
}

static size_t l4_off(int fam)
{
	return ETH_LEN + (fam == 4 ? 20 : 40);
}

/* Frame length without Ethernet padding (untagged frame from pktgen). */
static size_t ip_end(const uint8_t *buf, int fam)
{
	const uint8_t *ip = buf + ETH_LEN;

	return ETH_LEN + (fam == 4 ? get16(ip + 2) : 40 + (size_t)get16(ip + 4));
}

static size_t pad_frame(uint8_t *buf, size_t len)
{
	if (len < MIN_FRAME) {
		memset(buf + len, 0, MIN_FRAME - len);
		len = MIN_FRAME;
	}
	return len;
}

static size_t insert(uint8_t *buf, size_t len, size_t cap, size_t off, const uint8_t *b, size_t n)
{
	if (len + n > cap || off > len)
		return 0;
	memmove(buf + off + n, buf + off, len - off);
	memcpy(buf + off, b, n);
	return len + n;
}

/* ---- frame mutators: (frame from pktgen, its length) -> new length ------ */

typedef size_t (*mut_fn)(uint8_t *buf, size_t len, size_t cap, int fam, int arg);

static size_t m_ethertype(uint8_t *buf, size_t len, size_t cap, int fam, int arg)
{
	put16(buf + 12, (uint16_t)arg);
	return len;
}

/* IPv4 body behind the IPv6 ethertype and vice versa. */
static size_t m_etherswap(uint8_t *buf, size_t len, size_t cap, int fam, int arg)
{
	put16(buf + 12, fam == 4 ? 0x86dd : 0x0800);
	return len;
}

/* arg VLAN tags; with 2 or more the outer one is 802.1ad. */
static size_t m_vlan(uint8_t *buf, size_t len, size_t cap, int fam, int arg)
{
	uint8_t tags[16];
	int i;

	for (i = 0; i < arg && i < 4; i++) {
		put16(tags + 4 * i, (i == 0 && arg > 1) ? 0x88a8 : 0x8100);
		put16(tags + 4 * i + 2, (uint16_t)(100 + i));
	}
	len = insert(buf, ip_end(buf, fam), cap, 12, tags, (size_t)i * 4);
	return len ? pad_frame(buf, len) : 0;
}

/* VLAN ethertype, then only arg bytes of the tag. */
static size_t m_trunc_vlan(uint8_t *buf, size_t len, size_t cap, int fam, int arg)
{
	put16(buf + 12, 0x8100);
	put16(buf + 14, 100);
	return ETH_LEN + (size_t)arg;
}

/* The IP header short by arg bytes. */
static size_t m_trunc_l3(uint8_t *buf, size_t len, size_t cap, int fam, int arg)
{
	return l4_off(fam) - (size_t)arg;
}

/* One VLAN tag, then the IP header short by arg bytes. On egress this is
 * the only way to hand the TC program a truncated IP header: for an
 * IPv4/IPv6 ethertype BPF_PROG_TEST_RUN itself refuses (EINVAL) a frame
 * shorter than the IP header. */
static size_t m_vlan_trunc_l3(uint8_t *buf, size_t len, size_t cap, int fam, int arg)
{
	static const uint8_t tag[4] = { 0x81, 0x00, 0x00, 0x64 };

	len = insert(buf, len, cap, 12, tag, sizeof(tag));
	return len ? l4_off(fam) + sizeof(tag) - (size_t)arg : 0;
}

/* Only arg bytes of the l4 header. */
static size_t m_trunc_l4(uint8_t *buf, size_t len, size_t cap, int fam, int arg)
{
	return l4_off(fam) + (size_t)arg;
}

static size_t m_ihl(uint8_t *buf, size_t len, size_t cap, int fam, int arg)
{
	buf[ETH_LEN] = (uint8_t)(0x40 | (arg & 0x0f));
	ip4_fix_csum(buf + ETH_LEN);
	return len;
}

static size_t m_totlen(uint8_t *buf, size_t len, size_t cap, int fam, int arg)
{
	put16(buf + ETH_LEN + 2, (uint16_t)arg);
	ip4_fix_csum(buf + ETH_LEN);
	return len;
}

/* IPv6 payload length field = arg. */
static size_t m_plen(uint8_t *buf, size_t len, size_t cap, int fam, int arg)
{
	put16(buf + ETH_LEN + 4, (uint16_t)arg);
	return len;
}

/* TCP flags byte = arg. */
static size_t m_flags(uint8_t *buf, size_t len, size_t cap, int fam, int arg)
{
	buf[l4_off(fam) + 13] = (uint8_t)arg;
	return len;
}

static size_t m_doff(uint8_t *buf, size_t len, size_t cap, int fam, int arg)
{
	buf[l4_off(fam) + 12] = (uint8_t)(arg << 4);
	return len;
}

#define FRAG_MF 0x10000 /* m_frag arg: more-fragments flag; low bits: offset in 8-byte units */

static size_t m_frag(uint8_t *buf, size_t len, size_t cap, int fam, int arg)
{
	uint16_t off = (uint16_t)(arg & 0x1fff);
	bool mf = arg & FRAG_MF;
	uint8_t *ip = buf + ETH_LEN;
	uint8_t fh[8] = { 0 };

	if (fam == 4) {
		put16(ip + 6, (uint16_t)((mf ? 0x2000 : 0) | off));
		ip4_fix_csum(ip);
		return len;
	}
	fh[0] = ip[6];                 /* next header: the l4 protocol */
	put16(fh + 2, (uint16_t)(off << 3 | (mf ? 1 : 0)));
	fh[7] = 0x2a;                  /* identification */
	len = insert(buf, ip_end(buf, fam), cap, l4_off(6), fh, sizeof(fh));
	if (!len)
		return 0;
	ip[6] = IPPROTO_FRAGMENT;
	put16(ip + 4, (uint16_t)(get16(ip + 4) + sizeof(fh)));
	return pad_frame(buf, len);
}

/*
 * IPv6: arg extension headers before the l4 header: hop-by-hop (8 bytes)
 * first, then alternately destination options (16 bytes) and routing (8).
 * IPv4: arg words of NOP options (IHL 5 + arg), the IPv4 counterpart.
 */
static size_t m_ext(uint8_t *buf, size_t len, size_t cap, int fam, int arg)
{
	uint8_t *ip = buf + ETH_LEN;
	uint8_t hdrs[256] = { 0 };
	size_t n = 0, prev_nh_off = SIZE_MAX; /* SIZE_MAX: the IPv6 header's */
	uint8_t l4;
	int i;

	len = ip_end(buf, fam);
	if (fam == 4) {
		memset(hdrs, 0x01, (size_t)arg * 4); /* NOP */
		len = insert(buf, len, cap, l4_off(4), hdrs, (size_t)arg * 4);
		if (!len)
			return 0;
		ip[0] = (uint8_t)(0x40 | (5 + arg));
		put16(ip + 2, (uint16_t)(get16(ip + 2) + arg * 4));
		ip4_fix_csum(ip);
		return pad_frame(buf, len);
	}
	l4 = ip[6];
	for (i = 0; i < arg; i++) {
		uint8_t type;
		size_t hl;

		if (i == 0) {
			type = IPPROTO_HOPOPTS;
			hl = 8;
		} else if (i % 2) {
			type = IPPROTO_DSTOPTS;
			hl = 16;
		} else {
			type = IPPROTO_ROUTING;
			hl = 8;
		}
		if (prev_nh_off == SIZE_MAX)
			ip[6] = type;
		else
			hdrs[prev_nh_off] = type;
		prev_nh_off = n;
		hdrs[n + 1] = (uint8_t)(hl / 8 - 1);
		if (type == IPPROTO_ROUTING) {
			hdrs[n + 2] = 3; /* routing type, segments left 0: ignored */
		} else {
			hdrs[n + 2] = 1;                   /* PadN */
			hdrs[n + 3] = (uint8_t)(hl - 4);  /* its data length */
		}
		n += hl;
	}
	if (prev_nh_off == SIZE_MAX)
		return len;
	hdrs[prev_nh_off] = l4;
	len = insert(buf, len, cap, l4_off(6), hdrs, n);
	if (!len)
		return 0;
	put16(ip + 4, (uint16_t)(get16(ip + 4) + n));
	return pad_frame(buf, len);
}

/* A header whose stated length runs past the frame: IPv6 hop-by-hop of
 * 2048 bytes, IPv4 IHL 15 (60 bytes) with no options present. */
static size_t m_hdr_overrun(uint8_t *buf, size_t len, size_t cap, int fam, int arg)
{
	uint8_t *ip = buf + ETH_LEN;
	uint8_t hbh[8] = { 0 };

	if (fam == 4) {
		ip[0] = 0x4f;
		ip4_fix_csum(ip);
		return len;
	}
	hbh[0] = ip[6];
	hbh[1] = 255;
	len = insert(buf, ip_end(buf, fam), cap, l4_off(6), hbh, sizeof(hbh));
	if (!len)
		return 0;
	ip[6] = IPPROTO_HOPOPTS;
	put16(ip + 4, (uint16_t)(get16(ip + 4) + sizeof(hbh)));
	return pad_frame(buf, len);
}

/* ---- raw frames ---------------------------------------------------------------- */

typedef size_t (*raw_fn)(uint8_t *buf, size_t cap, int arg);

/* ARP request (arg 1) or reply (arg 2), 192.0.2.1 asking for 192.0.2.2. */
static size_t raw_arp(uint8_t *buf, size_t cap, int arg)
{
	static const uint8_t frame[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,
		0x02, 0, 0, 0, 0, 0x01, 192, 0, 2, 1,
		0, 0, 0, 0, 0, 0, 192, 0, 2, 2,
	};

	if (cap < MIN_FRAME)
		return 0;
	memcpy(buf, frame, sizeof(frame));
	buf[21] = (uint8_t)arg;
	return pad_frame(buf, sizeof(frame));
}

/* Bare Ethernet header with ethertype arg and no payload (14 bytes). */
static size_t raw_eth_only(uint8_t *buf, size_t cap, int arg)
{
	static const uint8_t hdr[12] = { 0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01 };

	memcpy(buf, hdr, sizeof(hdr));
	put16(buf + 12, (uint16_t)arg);
	return ETH_LEN;
}

/* ---- addresses ----------------------------------------------------------------- */

enum addr_id {
	A_LOCAL,     /* this host                                          */
	A_CLIENT,    /* in group clients                                   */
	A_CLIENT2,   /* in group clients, not the host the deny names      */
	A_EXC_BELOW, /* in clients, last address before the except range  */
	A_EXCEPT,    /* in clients' except: not in the group               */
	A_EXC_FIRST, /* first address of the except range                  */
	A_CLI_OUT,   /* just past the clients CIDR                         */
	A_OTHER,     /* in nothing                                         */
	A_LIT,       /* in the literal CIDR of rule lit                    */
	A_ADMIN,     /* in group admins                                    */
	A_MAX
};

static const char *const addr_text[A_MAX][2] = {
	[A_LOCAL] = { "192.0.2.1", "2001:db8:1::1" },
	[A_CLIENT] = { "198.51.100.7", "2001:db8:20::7" },
	[A_CLIENT2] = { "198.51.100.8", "2001:db8:20::8" },
	[A_EXC_BELOW] = { "198.51.100.127", "2001:db8:20:fe:ffff:ffff:ffff:ffff" },
	[A_EXCEPT] = { "198.51.100.200", "2001:db8:20:ff::7" },
	[A_EXC_FIRST] = { "198.51.100.128", "2001:db8:20:ff::" },
	[A_CLI_OUT] = { "198.51.101.0", "2001:db8:21::" },
	[A_OTHER] = { "203.0.113.50", "2001:db8:99::50" },
	[A_LIT] = { "10.1.2.3", "2001:db8:10::3" },
	[A_ADMIN] = { "192.168.77.5", "2001:db8:77::5" },
};

/* ---- policies (' stands for ") --------------------------------------------- */

#define GROUPS                                                                          \
	"'groups':{'clients':{'cidrs':['198.51.100.0/24','2001:db8:20::/48'],"           \
	"'except':['198.51.100.128/25','2001:db8:20:ff::/64']},"                          \
	"'admins':['192.168.77.0/24','2001:db8:77::/48']}"

static const char P_BASE[] =
	"{'version':1,'name':'base','revision':3," GROUPS ","
	"'ingress':["
	"{'id':'web','from':['clients'],'proto':'tcp','ports':[80,443,'8000-8099']},"
	"{'id':'dns','from':['clients'],'proto':'udp','ports':[53]},"
	"{'id':'ping','from':['clients'],'proto':'icmp','icmp_types':['echo-request','3-5']},"
	"{'id':'ping6','from':['clients'],'proto':'icmpv6','icmp_types':['echo-request','1-4']},"
	"{'id':'lit','from':['10.1.0.0/16','2001:db8:10::/48'],'proto':'tcp'},"
	"{'id':'gre','from':['any'],'proto':47},"
	"{'id':'sctp','from':['clients'],'proto':132},"
	"{'id':'admin','from':['admins']}],"
	"'egress':["
	"{'id':'out-web','to':['clients'],'proto':'tcp','ports':[443]},"
	"{'id':'out-dns','to':['any'],'proto':'udp','ports':[53]}]}";

/* deny after the allows, then deny first: same verdicts, same deciding rules */
static const char P_ORDER1[] =
	"{'version':1,'name':'order1'," GROUPS ",'ingress':["
	"{'id':'m-allow','from':['clients'],'proto':'tcp','ports':[22,23]},"
	"{'id':'b-allow','from':['any'],'proto':'tcp'},"
	"{'id':'k-deny','action':'deny','from':['198.51.100.7','2001:db8:20::7'],"
	"'proto':'tcp','ports':[22]}]}";
static const char P_ORDER2[] =
	"{'version':1,'name':'order2'," GROUPS ",'ingress':["
	"{'id':'k-deny','action':'deny','from':['198.51.100.7','2001:db8:20::7'],"
	"'proto':'tcp','ports':[22]},"
	"{'id':'m-allow','from':['clients'],'proto':'tcp','ports':[22,23]},"
	"{'id':'b-allow','from':['any'],'proto':'tcp'}]}";

static const char P_OPEN[] =
	"{'version':1,'name':'open','defaults':{'ingress':'allow','egress':'allow'},"
	"'ingress':[{'id':'no-telnet','action':'deny','from':['any'],'proto':'tcp','ports':[23]}],"
	"'egress':[{'id':'no-smtp','action':'deny','to':['any'],'proto':'tcp','ports':[25]}]}";

static const char P_MIXED[] =
	"{'version':1,'name':'mixed','defaults':{'ingress':'allow','egress':'deny'}}";

static const char P_EMPTY[] = "{'version':1,'name':'empty'}";

static const char P_AUDIT[] =
	"{'version':1,'name':'audit','mode':'audit'," GROUPS ",'ingress':["
	"{'id':'web','from':['clients'],'proto':'tcp','ports':[443]},"
	"{'id':'blk','action':'deny','from':['clients'],'proto':'tcp','ports':[22]}]}";

static const char P_RAUDIT[] =
	"{'version':1,'name':'raudit'," GROUPS ",'ingress':["
	"{'id':'a-watch','action':'deny','audit':true,'from':['clients'],'proto':'tcp',"
	"'ports':[22,23]},"
	"{'id':'z-block','action':'deny','from':['clients'],'proto':'tcp','ports':[23]},"
	"{'id':'ssh','from':['any'],'proto':'tcp','ports':[22,2222]}]}";

static const char P_NODENY_ICMP[] =
	"{'version':1,'name':'no-icmp','defaults':{'ingress':'allow','egress':'allow'},"
	"'ingress':[{'id':'no-icmp6','action':'deny','from':['any'],'proto':'icmpv6'},"
	"{'id':'no-icmp','action':'deny','from':['any'],'proto':'icmp'}],"
	"'egress':[{'id':'out-no-icmp6','action':'deny','to':['any'],'proto':'icmpv6'},"
	"{'id':'out-no-icmp','action':'deny','to':['any'],'proto':'icmp'}]}";

static const char P_SWAP_A[] =
	"{'version':1,'name':'swap-a'," GROUPS ",'ingress':["
	"{'id':'https','from':['clients'],'proto':'tcp','ports':[443]}]}";
static const char P_SWAP_B[] =
	"{'version':1,'name':'swap-b'," GROUPS ",'ingress':["
	"{'id':'ssh-only','from':['clients'],'proto':'tcp','ports':[22]}]}";

/* ---- the table ----------------------------------------------------------------- */

struct row {
	const char *name;
	const char *policy; /* NULL: run before any policy is published */
	int fam;            /* 0: IPv4 and IPv6; 4 or 6: that one; F_RAW */
	int dir;            /* enum ward_dir */
	int remote, local;  /* enum addr_id; src/dst follow from dir */
	int proto;
	uint16_t sport, dport; /* ICMP: code, type */
	uint16_t payload;
	mut_fn mut;
	raw_fn raw;
	int arg;            /* for mut / raw */
	int pass;           /* expected: 1 pass, 0 drop */
	int verdict;        /* expected enum ward_verdict */
	const char *rule;   /* expected deciding rule id, NULL: none */
};

#define IN       .dir = WARD_DIR_INGRESS
#define OUT      .dir = WARD_DIR_EGRESS
#define V4       .fam = 4
#define V6       .fam = 6
#define RAW(f, a) .fam = F_RAW, .raw = (f), .arg = (a)
#define MUT(f, a) .mut = (f), .arg = (a)
#define FROM(a)  .remote = (a)
#define TCP(p)   .proto = IPPROTO_TCP, .dport = (p)
#define UDP(p)   .proto = IPPROTO_UDP, .dport = (p)
#define ICMP(t)  .proto = IPPROTO_ICMP, .dport = (t)
#define ICMP6(t) .proto = IPPROTO_ICMPV6, .dport = (t)
#define PROTO(p) .proto = (p)
#define PASS(v, r) .pass = 1, .verdict = WARD_V_##v, .rule = (r)
#define DROP(v, r) .pass = 0, .verdict = WARD_V_##v, .rule = (r)

static const struct row rows[] = {
	/* before any policy: parse-level verdicts still apply, the rest drops */
	{ "no policy published: tcp dropped", NULL, IN, FROM(A_CLIENT), TCP(443), DROP(DROP_NOPOLICY, NULL) },
	{ "no policy published: egress tcp dropped", NULL, OUT, FROM(A_CLIENT), TCP(443), DROP(DROP_NOPOLICY, NULL) },
	{ "no policy published: ARP passes", NULL, IN, RAW(raw_arp, 1), PASS(PASS_ARP, NULL) },
	{ "no policy published: ICMPv6 neighbour solicitation passes", NULL, V6, IN, FROM(A_OTHER), ICMP6(135), PASS(PASS_ND, NULL) },

	/* tcp ports */
	{ "allowed tcp port 443", P_BASE, IN, FROM(A_CLIENT), TCP(443), PASS(PASS_RULE, "web") },
	{ "allowed tcp port 80", P_BASE, IN, FROM(A_CLIENT), TCP(80), PASS(PASS_RULE, "web") },
	{ "tcp port 22 outside the list", P_BASE, IN, FROM(A_CLIENT), TCP(22), DROP(DROP_DEFAULT, NULL) },
	{ "tcp port 444 next to a listed port", P_BASE, IN, FROM(A_CLIENT), TCP(444), DROP(DROP_DEFAULT, NULL) },
	{ "tcp port 0", P_BASE, IN, FROM(A_CLIENT), TCP(0), DROP(DROP_DEFAULT, NULL) },
	{ "tcp port 65535", P_BASE, IN, FROM(A_CLIENT), TCP(65535), DROP(DROP_DEFAULT, NULL) },
	{ "port range 8000-8099: lo-1 (7999)", P_BASE, IN, FROM(A_CLIENT), TCP(7999), DROP(DROP_DEFAULT, NULL) },
	{ "port range 8000-8099: lo (8000)", P_BASE, IN, FROM(A_CLIENT), TCP(8000), PASS(PASS_RULE, "web") },
	{ "port range 8000-8099: inside (8064)", P_BASE, IN, FROM(A_CLIENT), TCP(8064), PASS(PASS_RULE, "web") },
	{ "port range 8000-8099: hi (8099)", P_BASE, IN, FROM(A_CLIENT), TCP(8099), PASS(PASS_RULE, "web") },
	{ "port range 8000-8099: hi+1 (8100)", P_BASE, IN, FROM(A_CLIENT), TCP(8100), DROP(DROP_DEFAULT, NULL) },
	{ "source port is not the port", P_BASE, IN, FROM(A_CLIENT), TCP(22), .sport = 443, DROP(DROP_DEFAULT, NULL) },
	{ "tcp with payload", P_BASE, IN, FROM(A_CLIENT), TCP(443), .payload = 1200, PASS(PASS_RULE, "web") },

	/* udp */
	{ "udp 53 allowed", P_BASE, IN, FROM(A_CLIENT), UDP(53), PASS(PASS_RULE, "dns") },
	{ "udp 54 denied", P_BASE, IN, FROM(A_CLIENT), UDP(54), DROP(DROP_DEFAULT, NULL) },
	{ "udp 443: tcp-only rule does not match", P_BASE, IN, FROM(A_CLIENT), UDP(443), DROP(DROP_DEFAULT, NULL) },
	{ "tcp 53: udp-only rule does not match", P_BASE, IN, FROM(A_CLIENT), TCP(53), DROP(DROP_DEFAULT, NULL) },

	/* icmp / icmpv6 by type */
	{ "icmp echo-request allowed", P_BASE, V4, IN, FROM(A_CLIENT), ICMP(8), PASS(PASS_RULE, "ping") },
	{ "icmp echo-reply denied by type", P_BASE, V4, IN, FROM(A_CLIENT), ICMP(0), DROP(DROP_DEFAULT, NULL) },
	{ "icmpv6 echo-request allowed", P_BASE, V6, IN, FROM(A_CLIENT), ICMP6(128), PASS(PASS_RULE, "ping6") },
	{ "icmpv6 echo-reply denied by type", P_BASE, V6, IN, FROM(A_CLIENT), ICMP6(129), DROP(DROP_DEFAULT, NULL) },
	{ "icmp type range 3-5: 3", P_BASE, V4, IN, FROM(A_CLIENT), ICMP(3), .sport = 1, PASS(PASS_RULE, "ping") },
	{ "icmp type range 3-5: 5", P_BASE, V4, IN, FROM(A_CLIENT), ICMP(5), PASS(PASS_RULE, "ping") },
	{ "icmp type range 3-5: 6", P_BASE, V4, IN, FROM(A_CLIENT), ICMP(6), DROP(DROP_DEFAULT, NULL) },
	{ "icmpv6 type range 1-4: 1", P_BASE, V6, IN, FROM(A_CLIENT), ICMP6(1), PASS(PASS_RULE, "ping6") },
	{ "icmpv6 type range 1-4: 2 packet-too-big", P_BASE, V6, IN, FROM(A_CLIENT), ICMP6(2), PASS(PASS_RULE, "ping6") },
	{ "icmpv6 type range 1-4: 4", P_BASE, V6, IN, FROM(A_CLIENT), ICMP6(4), PASS(PASS_RULE, "ping6") },
	{ "icmpv6 type range 1-4: 5", P_BASE, V6, IN, FROM(A_CLIENT), ICMP6(5), DROP(DROP_DEFAULT, NULL) },
	{ "icmpv6 type 8 is not icmp echo-request", P_BASE, V6, IN, FROM(A_CLIENT), ICMP6(8), DROP(DROP_DEFAULT, NULL) },
	{ "icmp type 128 is not icmpv6 echo-request", P_BASE, V4, IN, FROM(A_CLIENT), ICMP(128), DROP(DROP_DEFAULT, NULL) },

	/* addresses: group with except, CIDR edges, literal CIDR, any */
	{ "group: address inside except denied", P_BASE, IN, FROM(A_EXCEPT), TCP(443), DROP(DROP_DEFAULT, NULL) },
	{ "group: first address of except denied", P_BASE, IN, FROM(A_EXC_FIRST), TCP(443), DROP(DROP_DEFAULT, NULL) },
	{ "group: last address before except allowed", P_BASE, IN, FROM(A_EXC_BELOW), TCP(443), PASS(PASS_RULE, "web") },
	{ "group: first address past the CIDR denied", P_BASE, IN, FROM(A_CLI_OUT), TCP(443), DROP(DROP_DEFAULT, NULL) },
	{ "address in no group denied", P_BASE, IN, FROM(A_OTHER), TCP(443), DROP(DROP_DEFAULT, NULL) },
	{ "literal CIDR, rule without ports: port 22", P_BASE, IN, FROM(A_LIT), TCP(22), PASS(PASS_RULE, "lit") },
	{ "literal CIDR, rule without ports: port 0", P_BASE, IN, FROM(A_LIT), TCP(0), PASS(PASS_RULE, "lit") },
	{ "literal CIDR, rule without ports: port 65535", P_BASE, IN, FROM(A_LIT), TCP(65535), PASS(PASS_RULE, "lit") },
	{ "literal CIDR, tcp rule: udp denied", P_BASE, IN, FROM(A_LIT), UDP(53), DROP(DROP_DEFAULT, NULL) },
	{ "'any' matches an address in no group (gre)", P_BASE, IN, FROM(A_OTHER), PROTO(47), PASS(PASS_RULE, "gre") },

	/* protocols: numeric, any */
	{ "numeric proto 47 (GRE) allowed", P_BASE, IN, FROM(A_CLIENT), PROTO(47), PASS(PASS_RULE, "gre") },
	{ "numeric proto 132 (SCTP) allowed", P_BASE, IN, FROM(A_CLIENT), PROTO(132), PASS(PASS_RULE, "sctp") },
	{ "numeric proto 132 (SCTP) from outside group denied", P_BASE, IN, FROM(A_OTHER), PROTO(132), DROP(DROP_DEFAULT, NULL) },
	{ "proto 50 (ESP) without a rule denied", P_BASE, IN, FROM(A_CLIENT), PROTO(50), DROP(DROP_DEFAULT, NULL) },
	{ "proto any: tcp 1", P_BASE, IN, FROM(A_ADMIN), TCP(1), PASS(PASS_RULE, "admin") },
	{ "proto any: udp 9999", P_BASE, IN, FROM(A_ADMIN), UDP(9999), PASS(PASS_RULE, "admin") },
	{ "proto any: sctp", P_BASE, IN, FROM(A_ADMIN), PROTO(132), PASS(PASS_RULE, "admin") },
	{ "proto any: icmp echo-reply", P_BASE, V4, IN, FROM(A_ADMIN), ICMP(0), PASS(PASS_RULE, "admin") },
	{ "proto any: icmpv6 echo-reply", P_BASE, V6, IN, FROM(A_ADMIN), ICMP6(129), PASS(PASS_RULE, "admin") },
	{ "proto any and gre both match: smallest id decides", P_BASE, IN, FROM(A_ADMIN), PROTO(47), PASS(PASS_RULE, "admin") },
	{ "proto any: protocol 255", P_BASE, IN, FROM(A_ADMIN), PROTO(255), PASS(PASS_RULE, "admin") },

	/* directions */
	{ "egress: allowed to group", P_BASE, OUT, FROM(A_CLIENT), TCP(443), PASS(PASS_RULE, "out-web") },
	{ "egress: not allowed to other", P_BASE, OUT, FROM(A_OTHER), TCP(443), DROP(DROP_DEFAULT, NULL) },
	{ "egress: remote is the destination (src other, dst client)", P_BASE, OUT, FROM(A_CLIENT), .local = A_OTHER, TCP(443), PASS(PASS_RULE, "out-web") },
	{ "egress: remote is the destination (src client, dst other)", P_BASE, OUT, FROM(A_OTHER), .local = A_CLIENT, TCP(443), DROP(DROP_DEFAULT, NULL) },
	{ "ingress: remote is the source (src other, dst client)", P_BASE, IN, FROM(A_OTHER), .local = A_CLIENT, TCP(443), DROP(DROP_DEFAULT, NULL) },
	{ "egress: ingress rule does not apply (tcp 80)", P_BASE, OUT, FROM(A_CLIENT), TCP(80), DROP(DROP_DEFAULT, NULL) },
	{ "egress: 'any' destination udp 53", P_BASE, OUT, FROM(A_OTHER), UDP(53), PASS(PASS_RULE, "out-dns") },
	{ "ingress: egress rule does not apply (udp 53 from other)", P_BASE, IN, FROM(A_OTHER), UDP(53), DROP(DROP_DEFAULT, NULL) },

	/* always-pass traffic */
	{ "ARP request passes with no rule", P_EMPTY, IN, RAW(raw_arp, 1), PASS(PASS_ARP, NULL) },
	{ "ARP reply passes with no rule", P_EMPTY, IN, RAW(raw_arp, 2), PASS(PASS_ARP, NULL) },
	{ "ARP passes on egress", P_EMPTY, OUT, RAW(raw_arp, 1), PASS(PASS_ARP, NULL) },
	{ "ICMPv6 neighbour solicitation passes under default deny", P_EMPTY, V6, IN, FROM(A_OTHER), ICMP6(135), PASS(PASS_ND, NULL) },
	{ "ICMPv6 neighbour advertisement passes under default deny", P_EMPTY, V6, IN, FROM(A_OTHER), ICMP6(136), PASS(PASS_ND, NULL) },
	{ "ICMPv6 router solicitation passes under default deny", P_EMPTY, V6, OUT, FROM(A_OTHER), ICMP6(133), PASS(PASS_ND, NULL) },
	{ "ICMPv6 router advertisement passes under default deny", P_EMPTY, V6, IN, FROM(A_OTHER), ICMP6(134), PASS(PASS_ND, NULL) },
	{ "ICMPv6 redirect (137) is not exempt", P_EMPTY, V6, IN, FROM(A_OTHER), ICMP6(137), DROP(DROP_DEFAULT, NULL) },
	{ "ICMP router solicitation (v4) is not exempt", P_EMPTY, V4, IN, FROM(A_OTHER), ICMP(10), DROP(DROP_DEFAULT, NULL) },
	{ "ICMPv6 neighbour solicitation passes despite a deny rule", P_NODENY_ICMP, V6, IN, FROM(A_OTHER), ICMP6(135), PASS(PASS_ND, NULL) },
	{ "ICMPv6 neighbour advertisement passes egress deny rule", P_NODENY_ICMP, V6, OUT, FROM(A_OTHER), ICMP6(136), PASS(PASS_ND, NULL) },
	{ "ICMPv6 echo-request hits the deny rule", P_NODENY_ICMP, V6, IN, FROM(A_OTHER), ICMP6(128), DROP(DROP_RULE, "no-icmp6") },
	{ "ICMP echo-request hits the deny rule", P_NODENY_ICMP, V4, IN, FROM(A_OTHER), ICMP(8), DROP(DROP_RULE, "no-icmp") },
	{ "empty policy: tcp denied by default", P_EMPTY, IN, FROM(A_CLIENT), TCP(443), DROP(DROP_DEFAULT, NULL) },
	{ "empty policy: egress denied by default", P_EMPTY, OUT, FROM(A_CLIENT), TCP(443), DROP(DROP_DEFAULT, NULL) },

	/* deny beats allow, regardless of order; smallest id decides */
	{ "deny after allows: denied host", P_ORDER1, IN, FROM(A_CLIENT), TCP(22), DROP(DROP_RULE, "k-deny") },
	{ "deny after allows: other client, smallest allow id", P_ORDER1, IN, FROM(A_CLIENT2), TCP(22), PASS(PASS_RULE, "b-allow") },
	{ "deny after allows: denied host, other port", P_ORDER1, IN, FROM(A_CLIENT), TCP(23), PASS(PASS_RULE, "b-allow") },
	{ "deny after allows: other address", P_ORDER1, IN, FROM(A_OTHER), TCP(22), PASS(PASS_RULE, "b-allow") },
	{ "deny first: denied host", P_ORDER2, IN, FROM(A_CLIENT), TCP(22), DROP(DROP_RULE, "k-deny") },
	{ "deny first: other client, smallest allow id", P_ORDER2, IN, FROM(A_CLIENT2), TCP(22), PASS(PASS_RULE, "b-allow") },
	{ "deny first: denied host, other port", P_ORDER2, IN, FROM(A_CLIENT), TCP(23), PASS(PASS_RULE, "b-allow") },

	/* defaults */
	{ "default allow: ingress without rule", P_OPEN, IN, FROM(A_OTHER), TCP(22), PASS(PASS_DEFAULT, NULL) },
	{ "default allow: ingress deny rule", P_OPEN, IN, FROM(A_OTHER), TCP(23), DROP(DROP_RULE, "no-telnet") },
	{ "default allow: egress without rule", P_OPEN, OUT, FROM(A_OTHER), UDP(443), PASS(PASS_DEFAULT, NULL) },
	{ "default allow: egress deny rule", P_OPEN, OUT, FROM(A_OTHER), TCP(25), DROP(DROP_RULE, "no-smtp") },
	{ "default allow: ingress deny rule is not egress", P_OPEN, OUT, FROM(A_OTHER), TCP(23), PASS(PASS_DEFAULT, NULL) },
	{ "per-direction defaults: ingress allow", P_MIXED, IN, FROM(A_OTHER), TCP(22), PASS(PASS_DEFAULT, NULL) },
	{ "per-direction defaults: egress deny", P_MIXED, OUT, FROM(A_OTHER), TCP(22), DROP(DROP_DEFAULT, NULL) },

	/* audit mode */
	{ "audit mode: deny rule becomes audit pass", P_AUDIT, IN, FROM(A_CLIENT), TCP(22), PASS(PASS_AUDIT, "blk") },
	{ "audit mode: default deny becomes audit pass", P_AUDIT, IN, FROM(A_OTHER), TCP(80), PASS(PASS_AUDIT, NULL) },
	{ "audit mode: egress default deny becomes audit pass", P_AUDIT, OUT, FROM(A_OTHER), TCP(80), PASS(PASS_AUDIT, NULL) },
	{ "audit mode: allow rule still a rule pass", P_AUDIT, IN, FROM(A_CLIENT), TCP(443), PASS(PASS_RULE, "web") },
	{ "audit mode: malformed still dropped", P_AUDIT, IN, FROM(A_CLIENT), TCP(443), MUT(m_doff, 4), DROP(DROP_MALFORMED, NULL) },
	{ "audit mode: fragment still dropped", P_AUDIT, IN, FROM(A_CLIENT), TCP(443), MUT(m_frag, 100), DROP(DROP_FRAGMENT, NULL) },
	{ "audit mode: non-IP still dropped", P_AUDIT, IN, FROM(A_CLIENT), TCP(443), MUT(m_ethertype, 0x88cc), DROP(DROP_NON_IP, NULL) },

	/* rule-level audit */
	{ "audit deny rule beats allow, passes as audit", P_RAUDIT, IN, FROM(A_CLIENT), TCP(22), PASS(PASS_AUDIT, "a-watch") },
	{ "enforcing deny beats audit deny with smaller id", P_RAUDIT, IN, FROM(A_CLIENT), TCP(23), DROP(DROP_RULE, "z-block") },
	{ "audit deny does not reach outside its group", P_RAUDIT, IN, FROM(A_OTHER), TCP(22), PASS(PASS_RULE, "ssh") },
	{ "rule-level audit: default still enforces", P_RAUDIT, IN, FROM(A_CLIENT), TCP(24), DROP(DROP_DEFAULT, NULL) },

	/* frames Ward does not read */
	{ "non-IP ethertype (LLDP) dropped", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_ethertype, 0x88cc), DROP(DROP_NON_IP, NULL) },
	{ "non-IP ethertype (MPLS) dropped on egress", P_BASE, OUT, FROM(A_CLIENT), TCP(443), MUT(m_ethertype, 0x8847), DROP(DROP_NON_IP, NULL) },
	{ "non-IP: bare Ethernet header, ethertype 0x9000", P_BASE, IN, RAW(raw_eth_only, 0x9000), DROP(DROP_NON_IP, NULL) },
	{ "truncated Ethernet: VLAN ethertype, no tag", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_trunc_vlan, 0), DROP(DROP_MALFORMED, NULL) },
	{ "truncated Ethernet: half a VLAN tag", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_trunc_vlan, 2), DROP(DROP_MALFORMED, NULL) },
	{ "truncated Ethernet: IPv4 ethertype, no IP header", P_BASE, IN, RAW(raw_eth_only, 0x0800), DROP(DROP_MALFORMED, NULL) },
	{ "truncated Ethernet: IPv6 ethertype, no IP header", P_BASE, IN, RAW(raw_eth_only, 0x86dd), DROP(DROP_MALFORMED, NULL) },
	{ "truncated IP header (1 byte short)", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_trunc_l3, 1), DROP(DROP_MALFORMED, NULL) },
	{ "truncated IP header behind a VLAN tag", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_vlan_trunc_l3, 1), DROP(DROP_MALFORMED, NULL) },
	{ "truncated IP header behind a VLAN tag on egress", P_BASE, OUT, FROM(A_CLIENT), TCP(443), MUT(m_vlan_trunc_l3, 1), DROP(DROP_MALFORMED, NULL) },
	{ "truncated TCP header (19 bytes)", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_trunc_l4, 19), DROP(DROP_MALFORMED, NULL) },
	{ "truncated TCP header on egress", P_BASE, OUT, FROM(A_CLIENT), TCP(443), MUT(m_trunc_l4, 10), DROP(DROP_MALFORMED, NULL) },
	{ "TCP header exactly at frame end (unpadded)", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_trunc_l4, 20), PASS(PASS_RULE, "web") },
	{ "truncated UDP header (7 bytes)", P_BASE, IN, FROM(A_CLIENT), UDP(53), MUT(m_trunc_l4, 7), DROP(DROP_MALFORMED, NULL) },
	{ "UDP header exactly at frame end (unpadded)", P_BASE, IN, FROM(A_CLIENT), UDP(53), MUT(m_trunc_l4, 8), PASS(PASS_RULE, "dns") },
	{ "truncated ICMP header (1 byte)", P_BASE, V4, IN, FROM(A_CLIENT), ICMP(8), MUT(m_trunc_l4, 1), DROP(DROP_MALFORMED, NULL) },
	{ "truncated ICMPv6 header (1 byte)", P_BASE, V6, IN, FROM(A_CLIENT), ICMP6(128), MUT(m_trunc_l4, 1), DROP(DROP_MALFORMED, NULL) },
	{ "IP version does not match the ethertype", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_etherswap, 0), DROP(DROP_MALFORMED, NULL) },
	{ "IPv4 IHL 4", P_BASE, V4, IN, FROM(A_CLIENT), TCP(443), MUT(m_ihl, 4), DROP(DROP_MALFORMED, NULL) },
	{ "IPv4 IHL 0", P_BASE, V4, IN, FROM(A_CLIENT), TCP(443), MUT(m_ihl, 0), DROP(DROP_MALFORMED, NULL) },
	{ "IPv4 total length 19 < header length", P_BASE, V4, IN, FROM(A_CLIENT), TCP(443), MUT(m_totlen, 19), DROP(DROP_MALFORMED, NULL) },
	{ "IPv4 total length 0", P_BASE, V4, IN, FROM(A_CLIENT), TCP(443), MUT(m_totlen, 0), DROP(DROP_MALFORMED, NULL) },
	{ "IPv4 total length beyond the frame (1000)", P_BASE, V4, IN, FROM(A_CLIENT), TCP(443), MUT(m_totlen, 1000), DROP(DROP_MALFORMED, NULL) },
	{ "IPv4 total length beyond the frame on egress", P_BASE, V4, OUT, FROM(A_CLIENT), TCP(443), MUT(m_totlen, 1000), DROP(DROP_MALFORMED, NULL) },
	{ "IPv4 total length 0 on egress (BIG TCP) accepted", P_BASE, V4, OUT, FROM(A_CLIENT), TCP(443), MUT(m_totlen, 0), PASS(PASS_RULE, "out-web") },
	{ "IPv6 payload length beyond the frame (1000)", P_BASE, V6, IN, FROM(A_CLIENT), TCP(443), MUT(m_plen, 1000), DROP(DROP_MALFORMED, NULL) },
	{ "IPv6 payload length 0 on ingress (jumbogram) dropped", P_BASE, V6, IN, FROM(A_CLIENT), TCP(443), MUT(m_plen, 0), DROP(DROP_MALFORMED, NULL) },
	{ "IPv6 payload length 0 on egress (BIG TCP) accepted", P_BASE, V6, OUT, FROM(A_CLIENT), TCP(443), MUT(m_plen, 0), PASS(PASS_RULE, "out-web") },
	{ "IPv6 payload length shorter than the frame (padding) accepted", P_BASE, V6, IN, FROM(A_CLIENT), TCP(443), MUT(m_plen, 20), PASS(PASS_RULE, "web") },
	{ "TCP SYN+FIN dropped", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_flags, 0x03), DROP(DROP_TCP_FLAGS, NULL) },
	{ "TCP SYN+RST dropped", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_flags, 0x06), DROP(DROP_TCP_FLAGS, NULL) },
	{ "TCP FIN+RST+ACK dropped", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_flags, 0x15), DROP(DROP_TCP_FLAGS, NULL) },
	{ "TCP no flags (NULL scan) dropped", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_flags, 0x00), DROP(DROP_TCP_FLAGS, NULL) },
	{ "TCP FIN alone dropped", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_flags, 0x01), DROP(DROP_TCP_FLAGS, NULL) },
	{ "TCP Xmas (FIN+PSH+URG) dropped", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_flags, 0x29), DROP(DROP_TCP_FLAGS, NULL) },
	{ "TCP illegal flags dropped on egress too", P_BASE, OUT, FROM(A_CLIENT), TCP(443), MUT(m_flags, 0x03), DROP(DROP_TCP_FLAGS, NULL) },
	{ "TCP FIN+ACK accepted", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_flags, 0x11), PASS(PASS_RULE, "web") },
	{ "TCP PSH+ACK accepted", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_flags, 0x18), PASS(PASS_RULE, "web") },
	{ "TCP SYN+ACK+ECE+CWR accepted", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_flags, 0xd2), PASS(PASS_RULE, "web") },
	{ "TCP RST alone accepted", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_flags, 0x04), PASS(PASS_RULE, "web") },
	{ "IP header length beyond the frame", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_hdr_overrun, 0), DROP(DROP_MALFORMED, NULL) },
	{ "TCP doff 4", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_doff, 4), DROP(DROP_MALFORMED, NULL) },
	{ "TCP doff 0 on egress", P_BASE, OUT, FROM(A_CLIENT), TCP(443), MUT(m_doff, 0), DROP(DROP_MALFORMED, NULL) },
	{ "TCP doff 5 accepted", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_doff, 5), PASS(PASS_RULE, "web") },

	/* fragments */
	{ "first fragment (offset 0, MF) parsed", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_frag, FRAG_MF), PASS(PASS_RULE, "web") },
	{ "first fragment (offset 0, MF) to a denied port", P_BASE, IN, FROM(A_CLIENT), TCP(22), MUT(m_frag, FRAG_MF), DROP(DROP_DEFAULT, NULL) },
	{ "non-first fragment (offset 185, MF) dropped", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_frag, FRAG_MF | 185), DROP(DROP_FRAGMENT, NULL) },
	{ "last fragment (offset 1, no MF) dropped", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_frag, 1), DROP(DROP_FRAGMENT, NULL) },
	{ "non-first fragment dropped on egress", P_BASE, OUT, FROM(A_CLIENT), TCP(443), MUT(m_frag, 0x1fff), DROP(DROP_FRAGMENT, NULL) },
	{ "non-first fragment of allow-all proto dropped", P_BASE, IN, FROM(A_ADMIN), UDP(53), MUT(m_frag, 7), DROP(DROP_FRAGMENT, NULL) },

	/* IPv6 extension headers (IPv4: the same number of option words) */
	{ "hop-by-hop + dest-opts parsed to the port (443)", P_BASE, IN, FROM(A_CLIENT), TCP(443), .sport = 22, MUT(m_ext, 2), PASS(PASS_RULE, "web") },
	{ "hop-by-hop + dest-opts parsed to the port (22)", P_BASE, IN, FROM(A_CLIENT), TCP(22), .sport = 443, MUT(m_ext, 2), DROP(DROP_DEFAULT, NULL) },
	{ "hop-by-hop + dest-opts, udp", P_BASE, IN, FROM(A_CLIENT), UDP(53), MUT(m_ext, 2), PASS(PASS_RULE, "dns") },
	{ "hop-by-hop only, icmpv6 echo-request", P_BASE, V6, IN, FROM(A_CLIENT), ICMP6(128), MUT(m_ext, 1), PASS(PASS_RULE, "ping6") },
	{ "hop-by-hop, then neighbour solicitation passes", P_EMPTY, V6, IN, FROM(A_OTHER), ICMP6(135), MUT(m_ext, 1), PASS(PASS_ND, NULL) },
	{ "three extension headers", P_BASE, IN, FROM(A_CLIENT), TCP(8000), MUT(m_ext, 3), PASS(PASS_RULE, "web") },
	{ "six extension headers (the documented maximum)", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_ext, 6), PASS(PASS_RULE, "web") },
	{ "seven extension headers dropped", P_BASE, V6, IN, FROM(A_CLIENT), TCP(443), MUT(m_ext, 7), DROP(DROP_MALFORMED, NULL) },

	/* VLAN */
	{ "VLAN-tagged frame parsed", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_vlan, 1), PASS(PASS_RULE, "web") },
	{ "VLAN-tagged frame, denied port", P_BASE, IN, FROM(A_CLIENT), TCP(22), MUT(m_vlan, 1), DROP(DROP_DEFAULT, NULL) },
	{ "VLAN-tagged frame on egress", P_BASE, OUT, FROM(A_CLIENT), TCP(443), MUT(m_vlan, 1), PASS(PASS_RULE, "out-web") },
	{ "QinQ (802.1ad + 802.1Q) parsed", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_vlan, 2), PASS(PASS_RULE, "web") },
	{ "three VLAN tags: not skipped, non-IP", P_BASE, IN, FROM(A_CLIENT), TCP(443), MUT(m_vlan, 3), DROP(DROP_NON_IP, NULL) },
	{ "VLAN-tagged ARP passes", P_EMPTY, IN, RAW(raw_arp, 1), .mut = m_vlan, PASS(PASS_ARP, NULL) },
};

/* ---- running -------------------------------------------------------------------- */

struct live {
	const char *src; /* the row policy string now published */
	struct policy pol;
	struct compiled comp;
	bool have;
};

static struct ward W;
static struct live L;
static int ncpus;
static FILE *pcap; /* TEST_BPF_PCAP=file: every frame run, for tcpdump -r */

static void pcap_open(void)
{
	const char *path = getenv("TEST_BPF_PCAP");
	const uint32_t hdr[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, FRAME_CAP, 1 /* Ethernet */ };

	if (!path || !*path)
		return;
	pcap = fopen(path, "wb");
	if (!pcap || fwrite(hdr, sizeof(hdr), 1, pcap) != 1) {
		fprintf(stderr, "test_bpf: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void pcap_frame(const uint8_t *buf, size_t len)
{
	uint32_t rec[4] = { (uint32_t)n_case + 1, 0, (uint32_t)len, (uint32_t)len };

	if (pcap && (fwrite(rec, sizeof(rec), 1, pcap) != 1 || fwrite(buf, len, 1, pcap) != 1))
		fprintf(stderr, "test_bpf: pcap write failed\n");
}

static char *unquote(const char *s)
{
	char *t = strdup(s), *p;

	if (!t) {
		perror("strdup");
		exit(1);
	}
	for (p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	return t;
}

/* Parse, compile and publish; keep the policy for rule-id lookups. */
static int publish(const char *src, char *why, size_t whylen)
{
	struct policy pol;
	struct compiled comp;
	struct diags d;
	char *text;
	int err;

	if (L.have && L.src == src)
		return 0;
	memset(&pol, 0, sizeof(pol));
	memset(&comp, 0, sizeof(comp));
	memset(&d, 0, sizeof(d));
	text = unquote(src);
	err = policy__parse(text, strlen(text), &pol, &d);
	if (err) {
		diags__print(&d, "policy", stderr);
		snprintf(why, whylen, "policy__parse failed (%d), policy: %s", err, text);
		goto out;
	}
	err = policy__compile(&pol, &comp, &d);
	if (err) {
		diags__print(&d, "policy", stderr);
		snprintf(why, whylen, "policy__compile failed (%d), policy: %s", err, text);
		policy__free(&pol);
		goto out;
	}
	err = ward__publish(&W, &comp, &pol);
	if (err) {
		snprintf(why, whylen, "ward__publish failed (%d: %s)", err, strerror(err < 0 ? -err : err));
		compiled__free(&comp);
		policy__free(&pol);
		goto out;
	}
	if (L.have) {
		compiled__free(&L.comp);
		policy__free(&L.pol);
	}
	L.src = src;
	L.pol = pol;
	L.comp = comp;
	L.have = true;
out:
	diags__free(&d);
	free(text);
	return err ? -1 : 0;
}

static long rule_index(const char *id)
{
	size_t i;

	if (!id)
		return WARD_RULE_NONE;
	for (i = 0; L.have && i < L.pol.nrules; i++)
		if (L.pol.rules[i].id && !strcmp(L.pol.rules[i].id, id))
			return (long)i;
	return -1;
}

/* Sum a per-CPU ward_counter over every possible CPU. */
static int read_counter(const char *map, uint32_t idx, struct ward_counter *sum)
{
	struct ward_counter *v;
	int fd = ward__map_fd(&W, map), i, err;

	memset(sum, 0, sizeof(*sum));
	if (fd < 0)
		return -1;
	v = calloc((size_t)ncpus, sizeof(*v));
	if (!v)
		return -1;
	err = bpf_map_lookup_elem(fd, &idx, v);
	if (!err)
		for (i = 0; i < ncpus; i++) {
			sum->packets += v[i].packets;
			sum->bytes += v[i].bytes;
		}
	free(v);
	return err ? -1 : 0;
}

static uint32_t active_slot(void)
{
	uint32_t zero = 0, slot = 0;
	int fd = ward__map_fd(&W, "ward_active");

	if (fd < 0 || bpf_map_lookup_elem(fd, &zero, &slot))
		return UINT32_MAX;
	return slot;
}

static void rule_name(char *buf, size_t len, uint32_t idx)
{
	if (idx == WARD_RULE_NONE)
		snprintf(buf, len, "none");
	else if (L.have && idx < L.pol.nrules)
		snprintf(buf, len, "%s(%u)", L.pol.rules[idx].id, idx);
	else
		snprintf(buf, len, "#%u", idx);
}

static size_t build(const struct row *r, int fam, uint8_t *buf, size_t cap)
{
	struct pkt_spec s;
	int remote = r->remote, local = r->local;
	uint8_t f;
	size_t len;

	if (r->raw) {
		len = r->raw(buf, cap, r->arg);
		if (len && r->mut) /* only m_vlan makes sense on raw frames */
			len = r->mut == m_vlan ? insert(buf, len, cap, 12, (const uint8_t[]){ 0x81, 0x00, 0x00, 0x64 }, 4) : 0;
		return len;
	}
	memset(&s, 0, sizeof(s));
	s.family = (uint8_t)fam;
	if (pktgen_addr(addr_text[r->dir == WARD_DIR_INGRESS ? remote : local][fam == 6], &f, s.src) ||
	    pktgen_addr(addr_text[r->dir == WARD_DIR_INGRESS ? local : remote][fam == 6], &f, s.dst))
		return 0;
	s.proto = (uint8_t)r->proto;
	s.sport = r->sport ? r->sport : (r->proto == IPPROTO_ICMP || r->proto == IPPROTO_ICMPV6 ? 0 : DEF_SPORT);
	s.dport = r->dport;
	s.payload = r->payload;
	len = pktgen_build(&s, buf, cap);
	if (len && r->mut)
		len = r->mut(buf, len, cap, fam, r->arg);
	return len;
}

static bool is_policy_verdict(int v)
{
	return v == WARD_V_PASS_RULE || v == WARD_V_PASS_DEFAULT || v == WARD_V_DROP_RULE ||
	       v == WARD_V_DROP_DEFAULT || v == WARD_V_PASS_AUDIT;
}

static void run_row(const struct row *r, int fam)
{
	uint8_t buf[FRAME_CAP];
	char name[256], why[1024], got_rule[96], want_rule[96];
	struct ward_trace t;
	struct ward_counter vb, va, rb, ra;
	uint32_t slot, stat_idx = 0;
	long want_idx;
	size_t len;
	int pass = -1, err;
	bool check_rule_stat;

	snprintf(name, sizeof(name), "%s [%s%s]", r->name,
		 fam == 4 ? "v4" : fam == 6 ? "v6" : "raw",
		 r->dir == WARD_DIR_EGRESS ? ", egress" : "");
	if (r->policy && publish(r->policy, why, sizeof(why))) {
		result(false, name, "%s", why);
		return;
	}
	if (!r->policy && L.have) {
		result(false, name, "test table error: no-policy row after a publish");
		return;
	}
	want_idx = rule_index(r->rule);
	if (want_idx < 0) {
		result(false, name, "test table error: rule id '%s' not in the policy", r->rule);
		return;
	}
	len = build(r, fam, buf, sizeof(buf));
	if (!len) {
		result(false, name, "test table error: frame could not be built");
		return;
	}

	slot = active_slot();
	check_rule_stat = r->policy && is_policy_verdict(r->verdict);
	if (check_rule_stat) {
		if (want_idx != (long)WARD_RULE_NONE)
			stat_idx = WARD_STAT_RULE((uint32_t)want_idx);
		else
			stat_idx = WARD_STAT_DEFAULT(r->dir, r->verdict == WARD_V_PASS_DEFAULT ? WARD_ACT_ALLOW : WARD_ACT_DENY);
		stat_idx = WARD_STAT_IDX(stat_idx, slot & (WARD_SLOTS - 1));
	}
	if (read_counter("ward_verdicts", WARD_VERDICT_IDX(r->dir, r->verdict), &vb) ||
	    (check_rule_stat && read_counter("ward_rule_stats", stat_idx, &rb))) {
		result(false, name, "cannot read counters (ward_verdicts / ward_rule_stats)");
		return;
	}

	pcap_frame(buf, len);
	memset(&t, 0, sizeof(t));
	err = ward__test_run(&W, r->dir, buf, len, &pass, &t);
	if (err) {
		result(false, name, "ward__test_run failed: %d (%s), frame %zu bytes", err,
		       strerror(err < 0 ? -err : err), len);
		return;
	}
	rule_name(got_rule, sizeof(got_rule), t.rule_idx);
	rule_name(want_rule, sizeof(want_rule), (uint32_t)want_idx);
	if (pass != r->pass || t.verdict != r->verdict || t.rule_idx != (uint32_t)want_idx) {
		result(false, name, "expected pass=%d verdict=%s rule=%s got pass=%d verdict=%s rule=%s",
		       r->pass, verdict__name((unsigned)r->verdict), want_rule, pass,
		       verdict__name(t.verdict), got_rule);
		return;
	}
	if (t.dir != r->dir || t.audit != (r->verdict == WARD_V_PASS_AUDIT) ||
	    (fam != F_RAW && t.family != fam && r->verdict != WARD_V_DROP_MALFORMED &&
	     r->verdict != WARD_V_DROP_NON_IP)) {
		result(false, name, "expected trace dir=%d audit=%d family=%d got dir=%u audit=%u family=%u",
		       r->dir, r->verdict == WARD_V_PASS_AUDIT, fam, t.dir, t.audit, t.family);
		return;
	}
	if (check_rule_stat && !r->raw && (t.proto != r->proto || t.port != r->dport)) {
		result(false, name, "expected trace proto=%d port=%u got proto=%u port=%u", r->proto,
		       r->dport, t.proto, t.port);
		return;
	}
	if (read_counter("ward_verdicts", WARD_VERDICT_IDX(r->dir, r->verdict), &va) ||
	    (check_rule_stat && read_counter("ward_rule_stats", stat_idx, &ra))) {
		result(false, name, "cannot read counters after the run");
		return;
	}
	if (va.packets - vb.packets != 1 || va.bytes - vb.bytes != len) {
		result(false, name, "expected ward_verdicts[%s] +1 packet +%zu bytes got +%llu packets +%llu bytes",
		       verdict__name((unsigned)r->verdict), len,
		       (unsigned long long)(va.packets - vb.packets),
		       (unsigned long long)(va.bytes - vb.bytes));
		return;
	}
	if (check_rule_stat && (ra.packets - rb.packets != 1 || ra.bytes - rb.bytes != len)) {
		result(false, name, "expected ward_rule_stats[%u] (%s) +1 packet +%zu bytes got +%llu packets +%llu bytes",
		       stat_idx, want_rule, len, (unsigned long long)(ra.packets - rb.packets),
		       (unsigned long long)(ra.bytes - rb.bytes));
		return;
	}
	result(true, name, " ");
}

/* ---- special cases: counters over several packets, slot swap ------------------ */

static int run_simple(int fam, int dir, int remote, uint8_t proto, uint16_t dport, uint16_t payload,
		      int *pass, struct ward_trace *t, size_t *len_out)
{
	struct row r = { .name = "", .fam = fam, .dir = dir, .remote = remote, .proto = proto,
			 .dport = dport, .payload = payload };
	uint8_t buf[FRAME_CAP];
	size_t len = build(&r, fam, buf, sizeof(buf));

	if (len_out)
		*len_out = len;
	if (!len)
		return -EINVAL;
	pcap_frame(buf, len);
	memset(t, 0, sizeof(*t));
	return ward__test_run(&W, dir, buf, len, pass, t);
}

static void test_counters(int fam)
{
	static const uint16_t payloads[3] = { 0, 100, 1000 };
	struct ward_counter rb, ra, db, da;
	struct ward_trace t;
	char name[128], why[512];
	uint32_t base, web_idx, def_idx;
	uint64_t bytes = 0;
	size_t len;
	long idx;
	int i, pass, err;

	snprintf(name, sizeof(name), "counters: 3 packets move ward_rule_stats of rule web only [v%d]", fam);
	if (publish(P_BASE, why, sizeof(why))) {
		result(false, name, "%s", why);
		return;
	}
	idx = rule_index("web");
	if (idx < 0) {
		result(false, name, "rule web not found");
		return;
	}
	base = active_slot() & (WARD_SLOTS - 1);
	web_idx = WARD_STAT_IDX(WARD_STAT_RULE((uint32_t)idx), base);
	def_idx = WARD_STAT_IDX(WARD_STAT_DEFAULT(WARD_DIR_INGRESS, WARD_ACT_DENY), base);
	if (read_counter("ward_rule_stats", web_idx, &rb) || read_counter("ward_rule_stats", def_idx, &db)) {
		result(false, name, "cannot read ward_rule_stats");
		return;
	}
	for (i = 0; i < 3; i++) {
		err = run_simple(fam, WARD_DIR_INGRESS, A_CLIENT, IPPROTO_TCP, 443, payloads[i], &pass, &t, &len);
		if (err || pass != 1) {
			result(false, name, "run %d: err %d pass %d", i, err, pass);
			return;
		}
		bytes += len;
	}
	if (read_counter("ward_rule_stats", web_idx, &ra) || read_counter("ward_rule_stats", def_idx, &da)) {
		result(false, name, "cannot read ward_rule_stats");
		return;
	}
	if (ra.packets - rb.packets != 3 || ra.bytes - rb.bytes != bytes || da.packets != db.packets) {
		result(false, name,
		       "expected web +3 packets +%llu bytes, default deny +0 got web +%llu packets +%llu bytes, default +%llu",
		       (unsigned long long)bytes, (unsigned long long)(ra.packets - rb.packets),
		       (unsigned long long)(ra.bytes - rb.bytes),
		       (unsigned long long)(da.packets - db.packets));
		return;
	}
	result(true, name, " ");

	/* and a denied packet moves the default counter, not web's */
	snprintf(name, sizeof(name), "counters: default deny counter moves, rule web's does not [v%d]", fam);
	rb = ra;
	db = da;
	err = run_simple(fam, WARD_DIR_INGRESS, A_CLIENT, IPPROTO_TCP, 22, 0, &pass, &t, &len);
	if (err || read_counter("ward_rule_stats", web_idx, &ra) || read_counter("ward_rule_stats", def_idx, &da)) {
		result(false, name, "run or read failed (%d)", err);
		return;
	}
	if (pass != 0 || da.packets - db.packets != 1 || da.bytes - db.bytes != len || ra.packets != rb.packets) {
		result(false, name, "expected pass=0 default +1 packet +%zu bytes web +0 got pass=%d default +%llu +%llu bytes web +%llu",
		       len, pass, (unsigned long long)(da.packets - db.packets),
		       (unsigned long long)(da.bytes - db.bytes), (unsigned long long)(ra.packets - rb.packets));
		return;
	}
	result(true, name, " ");
}

static void swap_step(const char *step, const char *policy, int fam, int want_pass, int want_verdict,
		      const char *want_rule, uint32_t *prev_slot)
{
	char name[160], why[512], got[96], want[96];
	struct ward_trace t;
	uint32_t slot;
	long want_idx;
	int pass = -1, err;

	snprintf(name, sizeof(name), "slot swap: %s [v%d]", step, fam);
	if (publish(policy, why, sizeof(why))) {
		result(false, name, "%s", why);
		return;
	}
	slot = active_slot();
	if (slot >= WARD_SLOTS || (*prev_slot != UINT32_MAX && slot == *prev_slot)) {
		result(false, name, "expected ward_active to flip from %u got %u", *prev_slot, slot);
		*prev_slot = slot;
		return;
	}
	*prev_slot = slot;
	want_idx = rule_index(want_rule);
	err = run_simple(fam, WARD_DIR_INGRESS, A_CLIENT, IPPROTO_TCP, 443, 0, &pass, &t, NULL);
	if (err) {
		result(false, name, "ward__test_run failed: %d", err);
		return;
	}
	rule_name(got, sizeof(got), t.rule_idx);
	rule_name(want, sizeof(want), (uint32_t)want_idx);
	if (pass != want_pass || t.verdict != want_verdict || t.rule_idx != (uint32_t)want_idx) {
		result(false, name, "expected pass=%d verdict=%s rule=%s got pass=%d verdict=%s rule=%s",
		       want_pass, verdict__name((unsigned)want_verdict), want, pass,
		       verdict__name(t.verdict), got);
		return;
	}
	result(true, name, " ");
}

static void test_swap(int fam)
{
	uint32_t prev = UINT32_MAX;

	/* force a real publish of A even if A was the last one */
	L.src = NULL;
	swap_step("policy A allows tcp 443", P_SWAP_A, fam, 1, WARD_V_PASS_RULE, "https", &prev);
	swap_step("policy B published, same packet dropped", P_SWAP_B, fam, 0, WARD_V_DROP_DEFAULT, NULL, &prev);
	swap_step("policy A re-published, allowed again", P_SWAP_A, fam, 1, WARD_V_PASS_RULE, "https", &prev);
	swap_step("policy B again, dropped again", P_SWAP_B, fam, 0, WARD_V_DROP_DEFAULT, NULL, &prev);
}

int main(void)
{
	size_t i;
	int err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("test_bpf: needs root to load BPF programs (euid %d); not skipping: failing\n",
		       (int)geteuid());
		printf("0 passed, 1 failed\n");
		return 1;
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		printf("test_bpf: libbpf_num_possible_cpus failed: %d\n", ncpus);
		printf("0 passed, 1 failed\n");
		return 1;
	}
	pcap_open();
	memset(&W, 0, sizeof(W));
	err = ward__load(&W, NULL, true);
	if (err) {
		printf("test_bpf: cannot load the BPF programs: %d (%s); needs root (CAP_BPF, "
		       "CAP_NET_ADMIN) and a kernel with BPF_PROG_TEST_RUN; not skipping: failing\n",
		       err, strerror(err < 0 ? -err : err));
		printf("0 passed, 1 failed\n");
		return 1;
	}

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];

		if (r->fam == F_RAW) {
			run_row(r, F_RAW);
		} else {
			if (r->fam == 0 || r->fam == 4)
				run_row(r, 4);
			if (r->fam == 0 || r->fam == 6)
				run_row(r, 6);
		}
	}
	test_counters(4);
	test_counters(6);
	test_swap(4);
	test_swap(6);

	if (L.have) {
		compiled__free(&L.comp);
		policy__free(&L.pol);
	}
	ward__close(&W);
	if (pcap)
		fclose(pcap);
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
