// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * gen_seeds DIR: the seed frames of fuzz_packet, one file each, built with
 * pktgen and then edited: TCP/UDP/ICMP/ICMPv6 and other protocols over IPv4
 * and IPv6, aimed at the rules of packet_policy.h; VLAN and QinQ tags;
 * IPv4 options and fragments; IPv6 extension headers (hop-by-hop, routing,
 * destination options, fragment) up to and past the limit of 6; truncated
 * and inconsistent headers; ARP and other ethertypes. (make fuzz-seeds)
 * gen_seeds --ct DIR: the frame sequences of fuzz_packet_ct (flows, replies,
 * forged replies, ICMP echo and errors).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "pktgen.h"

#define CAP 2048

struct frame {
	uint8_t b[CAP];
	size_t len;
};

static const char *outdir;
static int nwritten;

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static void save(const char *name, const struct frame *f)
{
	char path[4096];
	FILE *o;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	o = fopen(path, "wb");
	if (!o || fwrite(f->b, 1, f->len, o) != f->len || fclose(o)) {
		perror(path);
		exit(1);
	}
	nwritten++;
}

static struct frame build(const char *src, const char *dst, int proto, int dport)
{
	struct pkt_spec s = { .proto = (uint8_t)proto, .sport = 40000, .dport = (uint16_t)dport };
	struct frame f;
	uint8_t fam2;

	if (pktgen_addr(src, &s.family, s.src) || pktgen_addr(dst, &fam2, s.dst)) {
		fprintf(stderr, "bad address %s / %s\n", src, dst);
		exit(1);
	}
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6)
		s.sport = 0;
	f.len = pktgen_build(&s, f.b, sizeof(f.b));
	if (!f.len)
		exit(1);
	return f;
}

/* Insert n bytes at off. */
static uint8_t *insert(struct frame *f, size_t off, size_t n)
{
	memmove(f->b + off + n, f->b + off, f->len - off);
	memset(f->b + off, 0, n);
	f->len += n;
	return f->b + off;
}

static void vlan(struct frame *f, int ntags)
{
	uint8_t *t = insert(f, 12, 4 * ntags);

	for (int i = 0; i < ntags; i++) {
		put16(t + 4 * i, i == 0 && ntags > 1 ? 0x88a8 : 0x8100);
		put16(t + 4 * i + 2, 100 + i); /* TCI: VLAN id */
	}
	/* the original ethertype moved with the insert: it now follows the last tag */
}

static void ipv4_options(struct frame *f, int words)
{
	uint8_t *ip = f->b + 14;

	insert(f, 14 + 20, 4 * words);
	memset(ip + 20, 1, 4 * words); /* NOP options */
	ip[0] = (uint8_t)(0x40 | (5 + words));
	put16(ip + 2, get16(ip + 2) + 4 * words);
}

static void ipv4_frag(struct frame *f, unsigned field)
{
	put16(f->b + 14 + 6, field);
}

/* IPv6: extension headers of the given types before the l4 header. */
static void ipv6_ext(struct frame *f, const uint8_t *types, int n, unsigned frag_field,
		     uint8_t last_hdrlen)
{
	uint8_t *ip = f->b + 14, l4 = ip[6];
	uint8_t *e = insert(f, 14 + 40, 8 * n);

	ip[6] = types[0];
	for (int i = 0; i < n; i++) {
		uint8_t *h = e + 8 * i;

		h[0] = i + 1 < n ? types[i + 1] : l4;
		if (types[i] == 44) {
			put16(h + 2, frag_field);
			h[7] = 1; /* identification */
		} else {
			h[1] = 0; /* 8 bytes */
			if (types[i] == 43)
				h[2] = 4, h[3] = 0; /* routing type 4 (SRH), segments left 0 */
			else
				h[2] = 1, h[3] = 4; /* PadN, 4 bytes */
		}
	}
	if (last_hdrlen)
		e[8 * (n - 1) + 1] = last_hdrlen;
	put16(ip + 4, get16(ip + 4) + 8 * n);
}

static void trunc(struct frame *f, size_t len)
{
	if (len < f->len)
		f->len = len;
}

/* ---- conntrack sequences (fuzz_packet_ct): [dir][len][frame]... ---------- */
struct seq {
	uint8_t b[CAP * 4];
	size_t len;
};

static void seq_add(struct seq *s, int dir, const struct frame *f)
{
	if (f->len > 255 || s->len + 2 + f->len > sizeof(s->b))
		exit(1);
	s->b[s->len++] = (uint8_t)dir;
	s->b[s->len++] = (uint8_t)f->len;
	memcpy(s->b + s->len, f->b, f->len);
	s->len += f->len;
}

static void seq_save(const char *name, const struct seq *s)
{
	struct frame f;

	memcpy(f.b, s->b, s->len < CAP ? s->len : CAP);
	f.len = s->len;
	save(name, &f);
}

static struct frame build_tcp(const char *src, const char *dst, int sport, int dport, int flags)
{
	struct frame f = build(src, dst, 6, dport);
	size_t l4 = 14 + (strchr(src, ':') ? 40 : 20);

	put16(f.b + l4, sport);
	f.b[l4 + 13] = (uint8_t)flags;
	return f;
}

static struct frame build_udp(const char *src, const char *dst, int sport, int dport)
{
	struct frame f = build(src, dst, 17, dport);

	put16(f.b + 14 + (strchr(src, ':') ? 40 : 20), sport);
	return f;
}

/* ICMP(v6) of a type (echo: with this identifier; error: quoting q) */
static struct frame build_icmp(const char *src, const char *dst, int type, int id,
			       const struct frame *q)
{
	bool v6 = strchr(src, ':');
	size_t ip = v6 ? 40 : 20, l4 = 14 + ip, qlen = q ? ip + 8 : 0;
	struct pkt_spec s = { .proto = v6 ? 58 : 1, .dport = (uint16_t)type, .payload = (uint16_t)qlen };
	struct frame f;
	uint8_t fam2;

	pktgen_addr(src, &s.family, s.src);
	pktgen_addr(dst, &fam2, s.dst);
	f.len = pktgen_build(&s, f.b, sizeof(f.b));
	put16(f.b + l4 + 4, id);
	if (q)
		memcpy(f.b + l4 + 8, q->b + 14, qlen); /* its IP header and 8 bytes of l4 */
	return f;
}

static void ct_seeds(void)
{
	const char *c4 = "198.51.100.7", *l4 = "10.9.9.9", *r4 = "10.8.8.8", *rt4 = "10.7.7.7";
	const char *c6 = "2001:db8:1::7", *l6 = "2001:db8:ffff::1", *r6 = "fd00::8", *rt6 = "fd00::7";
	const char *b4 = "203.0.113.9";
	struct frame a, b;
	struct seq s;

	/* an allowed inbound connection and its replies */
	s.len = 0;
	a = build_tcp(c4, l4, 40000, 443, 0x02), seq_add(&s, 0, &a);
	a = build_tcp(l4, c4, 443, 40000, 0x12), seq_add(&s, 1, &a);
	a = build_tcp(c4, l4, 40000, 443, 0x10), seq_add(&s, 0, &a);
	a = build_tcp(c4, l4, 40000, 443, 0x11), seq_add(&s, 0, &a);
	a = build_tcp(l4, c4, 443, 40000, 0x04), seq_add(&s, 1, &a);
	seq_save("ct-v4-tcp-in-web", &s);
	s.len = 0;
	a = build_tcp(c6, l6, 40000, 8000, 0x02), seq_add(&s, 0, &a);
	a = build_tcp(l6, c6, 8000, 40000, 0x12), seq_add(&s, 1, &a);
	a = build_tcp(c6, l6, 40000, 8000, 0x18), seq_add(&s, 0, &a);
	seq_save("ct-v6-tcp-in-web", &s);
	/* denied outbound connection: its "reply" finds no flow */
	s.len = 0;
	a = build_tcp(l4, b4, 40001, 22, 0x02), seq_add(&s, 1, &a);
	a = build_tcp(b4, l4, 22, 40001, 0x12), seq_add(&s, 0, &a);
	seq_save("ct-v4-tcp-out-denied", &s);
	/* outbound UDP (egress default allow), reply admitted; a forged one not */
	s.len = 0;
	a = build_udp(l4, "172.16.8.8", 5353, 53), seq_add(&s, 1, &a);
	a = build_udp("172.16.8.8", l4, 53, 5353), seq_add(&s, 0, &a);
	a = build_udp("172.16.8.8", l4, 53, 5354), seq_add(&s, 0, &a);
	seq_save("ct-v4-udp-out-reply", &s);
	s.len = 0;
	a = build_udp(l6, "2001:db8:8::8", 5353, 53), seq_add(&s, 1, &a);
	a = build_udp("2001:db8:8::8", l6, 53, 5353), seq_add(&s, 0, &a);
	seq_save("ct-v6-udp-out-reply", &s);
	s.len = 0; /* denied on the way out (low-udp-deny): the answer finds no flow */
	a = build_udp(l4, r4, 5353, 53), seq_add(&s, 1, &a);
	a = build_udp(r4, l4, 53, 5353), seq_add(&s, 0, &a);
	seq_save("ct-v4-udp-out-denied", &s);
	s.len = 0; /* let through by an audit deny: tracked too */
	a = build_tcp(l4, "192.0.2.200", 40002, 80, 0x02), seq_add(&s, 1, &a);
	a = build_tcp("192.0.2.200", l4, 80, 40002, 0x12), seq_add(&s, 0, &a);
	seq_save("ct-v4-audit-flow", &s);
	s.len = 0;
	a = build_udp(r4, l4, 53, 5353), seq_add(&s, 0, &a);
	seq_save("ct-v4-udp-forged-reply", &s);
	/* ICMP echo by identifier */
	s.len = 0;
	a = build_icmp(l6, r6, 128, 7, NULL), seq_add(&s, 1, &a);
	a = build_icmp(r6, l6, 129, 7, NULL), seq_add(&s, 0, &a);
	a = build_icmp(r6, l6, 129, 8, NULL), seq_add(&s, 0, &a);
	seq_save("ct-v6-echo", &s);
	s.len = 0;
	a = build_icmp(l4, r4, 8, 7, NULL), seq_add(&s, 1, &a);
	a = build_icmp(r4, l4, 0, 7, NULL), seq_add(&s, 0, &a);
	seq_save("ct-v4-echo", &s);
	/* ICMP errors quoting a tracked flow (from a router), and an untracked one */
	s.len = 0;
	b = build_udp(l4, r4, 5000, 9999), seq_add(&s, 1, &b);
	a = build_icmp(rt4, l4, 3, 0, &b), seq_add(&s, 0, &a);
	a = build_icmp(rt4, l4, 11, 0, &b), seq_add(&s, 0, &a);
	b = build_udp(l4, r4, 5001, 9999);
	a = build_icmp(rt4, l4, 3, 0, &b), seq_add(&s, 0, &a);
	seq_save("ct-v4-icmp-error-related", &s);
	s.len = 0;
	b = build_tcp(l6, r6, 40000, 443, 0x02), seq_add(&s, 1, &b);
	a = build_icmp(rt6, l6, 1, 0, &b), seq_add(&s, 0, &a);
	a = build_icmp(rt6, l6, 2, 0, &b), seq_add(&s, 0, &a);
	seq_save("ct-v6-icmp-error-related", &s);
	s.len = 0;
	b = build_icmp(l4, r4, 8, 9, NULL), seq_add(&s, 1, &b);
	a = build_icmp(rt4, l4, 11, 0, &b), seq_add(&s, 0, &a);
	seq_save("ct-v4-icmp-error-quoting-echo", &s);
	/* other protocol: the address pair */
	s.len = 0;
	a = build(l4, r4, 132, 0), seq_add(&s, 1, &a);
	a = build(r4, l4, 132, 0), seq_add(&s, 0, &a);
	seq_save("ct-v4-sctp-pair", &s);
	/* a RST opens nothing */
	s.len = 0;
	a = build_tcp(l4, r4, 443, 40000, 0x04), seq_add(&s, 1, &a);
	a = build_tcp(r4, l4, 40000, 443, 0x10), seq_add(&s, 0, &a);
	seq_save("ct-v4-rst-opens-nothing", &s);
}

int main(int argc, char **argv)
{
	/* remote addresses: the groups of packet_policy.h; local: elsewhere */
	static const char *const v4[] = { "198.51.100.7", "192.0.2.5", "203.0.113.9",
					  "198.51.100.200", "10.1.2.3" };
	static const char *const v6[] = { "2001:db8:1::7", "2001:db8:0:1::5", "2001:db8:bad::9",
					  "2001:db8:1::ff", "fd00::3" };
	static const char *const names[] = { "client", "mgmt", "bad", "excepted", "other" };
	static const struct {
		const char *name;
		int proto, port;
	} l4[] = {
		{ "tcp22", 6, 22 },	   { "tcp443", 6, 443 },   { "tcp8080", 6, 8080 },
		{ "tcp25", 6, 25 },	   { "udp53", 17, 53 },	   { "udp123", 17, 123 },
		{ "icmp-echo", 1, 8 },	   { "icmp-redirect", 1, 5 }, { "icmp6-echo", 58, 128 },
		{ "icmp6-ns", 58, 135 },   { "gre", 47, 0 },	   { "sctp", 132, 0 },
		{ "ah", 51, 0 },	   { "nonext", 59, 0 },
	};
	struct frame f;
	char name[256];

	if (argc == 3 && !strcmp(argv[1], "--ct")) {
		outdir = argv[2];
		ct_seeds();
		printf("gen_seeds: %d sequences in %s\n", nwritten, outdir);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: gen_seeds DIR | gen_seeds --ct DIR\n");
		return 2;
	}
	outdir = argv[1];

	/* plain frames: each protocol from each kind of peer, both families */
	for (size_t a = 0; a < sizeof(names) / sizeof(names[0]); a++) {
		for (size_t k = 0; k < sizeof(l4) / sizeof(l4[0]); k++) {
			for (int fam = 4; fam <= 6; fam += 2) {
				const char *src = fam == 4 ? v4[a] : v6[a];
				const char *dst = fam == 4 ? "10.9.9.9" : "2001:db8:ffff::1";

				if ((a + k) % 2 && k > 3)
					continue; /* keep the corpus small */
				f = build(src, dst, l4[k].proto, l4[k].port);
				snprintf(name, sizeof(name), "v%d-%s-from-%s", fam, l4[k].name, names[a]);
				save(name, &f);
			}
		}
	}
	/* egress-flavoured: remote is the destination */
	save("v4-udp123-to-other-egress", (f = build("10.9.9.9", "10.1.2.3", 17, 123), &f));
	save("v4-icmp-redirect-to-client", (f = build("10.9.9.9", "198.51.100.7", 1, 5), &f));
	save("v4-tcp80-to-audit-range", (f = build("10.9.9.9", "192.0.2.200", 6, 80), &f));
	/* ICMP of the other family */
	save("v4-carrying-icmpv6", (f = build("198.51.100.7", "10.9.9.9", 58, 128), &f));
	save("v6-carrying-icmp", (f = build("2001:db8:1::7", "2001:db8:ffff::1", 1, 8), &f));

	/* VLAN */
	f = build("198.51.100.7", "10.9.9.9", 6, 443), vlan(&f, 1), save("vlan1-v4-tcp443", &f);
	f = build("2001:db8:1::7", "2001:db8:ffff::1", 6, 443), vlan(&f, 2), save("qinq-v6-tcp443", &f);
	f = build("198.51.100.7", "10.9.9.9", 6, 443), vlan(&f, 3), save("vlan3-non-ip", &f);
	f = build("198.51.100.7", "10.9.9.9", 6, 443), vlan(&f, 1), trunc(&f, 16), save("vlan-truncated-tag", &f);
	f = build("198.51.100.7", "10.9.9.9", 6, 443), vlan(&f, 2), trunc(&f, 30), save("qinq-truncated-ip", &f);

	/* IPv4 header */
	f = build("192.0.2.5", "10.9.9.9", 6, 22), ipv4_options(&f, 1), save("v4-options-1", &f);
	f = build("192.0.2.5", "10.9.9.9", 17, 53), ipv4_options(&f, 10), save("v4-options-10", &f);
	f = build("192.0.2.5", "10.9.9.9", 6, 22), f.b[14] = 0x44, save("v4-ihl4", &f);
	f = build("192.0.2.5", "10.9.9.9", 6, 22), put16(f.b + 16, 19), save("v4-totlen-19", &f);
	f = build("192.0.2.5", "10.9.9.9", 6, 22), f.b[14] = 0x65, save("v4-version6", &f);
	f = build("192.0.2.5", "10.9.9.9", 6, 22), trunc(&f, 14 + 19), save("v4-truncated-header", &f);
	f = build("192.0.2.5", "10.9.9.9", 6, 22), ipv4_options(&f, 10), trunc(&f, 14 + 40),
		save("v4-options-truncated", &f);

	/* IPv4 fragments */
	f = build("198.51.100.7", "10.9.9.9", 6, 443), ipv4_frag(&f, 0x2000), save("v4-frag-first", &f);
	f = build("198.51.100.7", "10.9.9.9", 6, 22), ipv4_frag(&f, 0x2000 | 185), save("v4-frag-middle", &f);
	f = build("192.0.2.5", "10.9.9.9", 17, 53), ipv4_frag(&f, 7), save("v4-frag-last", &f);

	/* l4 headers */
	f = build("198.51.100.7", "10.9.9.9", 6, 443), f.b[14 + 20 + 12] = 0x40, save("v4-tcp-doff4", &f);
	f = build("198.51.100.7", "10.9.9.9", 6, 443), f.b[14 + 20 + 12] = 0x60, save("v4-tcp-doff6", &f);
	f = build("2001:db8:1::7", "2001:db8:ffff::1", 6, 443), trunc(&f, 14 + 40 + 19),
		save("v6-tcp-truncated", &f);
	f = build("198.51.100.7", "10.9.9.9", 17, 53), trunc(&f, 14 + 20 + 7), save("v4-udp-truncated", &f);
	f = build("2001:db8:1::7", "2001:db8:ffff::1", 58, 128), trunc(&f, 14 + 40 + 1),
		save("v6-icmp6-truncated", &f);

	/* IPv6 extension headers */
	{
		static const uint8_t hd[] = { 0, 60 }, r[] = { 43 }, fr[] = { 44 },
				     six[] = { 0, 60, 43, 44, 60, 60 }, seven[] = { 0, 60, 43, 60, 60, 60, 60 },
				     hf[] = { 0, 44 };

		f = build("2001:db8:1::7", "2001:db8:ffff::1", 6, 443), ipv6_ext(&f, hd, 2, 0, 0),
			save("v6-hbh-dst-tcp443", &f);
		f = build("2001:db8:0:1::5", "2001:db8:ffff::1", 17, 53), ipv6_ext(&f, r, 1, 0, 0),
			save("v6-routing-udp53", &f);
		f = build("2001:db8:1::7", "2001:db8:ffff::1", 6, 443), ipv6_ext(&f, fr, 1, 0x0001, 0),
			save("v6-frag-first", &f);
		f = build("2001:db8:1::7", "2001:db8:ffff::1", 6, 22), ipv6_ext(&f, fr, 1, 185 << 3, 0),
			save("v6-frag-middle", &f);
		f = build("2001:db8:bad::9", "2001:db8:ffff::1", 58, 135), ipv6_ext(&f, hd, 1, 0, 0),
			save("v6-hbh-nd", &f);
		f = build("2001:db8:1::7", "2001:db8:ffff::1", 6, 443), ipv6_ext(&f, six, 6, 0, 0),
			save("v6-six-ext", &f);
		f = build("2001:db8:1::7", "2001:db8:ffff::1", 6, 443), ipv6_ext(&f, seven, 7, 0, 0),
			save("v6-seven-ext", &f);
		f = build("2001:db8:0:1::5", "2001:db8:ffff::1", 59, 0), ipv6_ext(&f, hf, 2, 1, 0),
			save("v6-hbh-frag-nonext", &f);
		f = build("2001:db8:1::7", "2001:db8:ffff::1", 6, 443), ipv6_ext(&f, hd, 2, 0, 1),
			save("v6-dst-16bytes-tcp", &f);
		f = build("2001:db8:1::7", "2001:db8:ffff::1", 6, 443), ipv6_ext(&f, hd, 2, 0, 0),
			trunc(&f, 14 + 40 + 9), save("v6-ext-truncated", &f);
	}

	/* TCP flags: legal, and the combinations docs/policy.md drops */
	{
		static const struct {
			const char *name;
			uint8_t flags;
		} fl[] = { { "ack", 0x10 }, { "synack", 0x12 }, { "finack", 0x11 }, { "rst", 0x04 },
			   { "pshack", 0x18 }, { "none", 0x00 }, { "fin", 0x01 }, { "synfin", 0x03 },
			   { "synrst", 0x06 }, { "xmas", 0x29 }, { "all", 0xff } };

		for (size_t i = 0; i < sizeof(fl) / sizeof(fl[0]); i++) {
			f = build(i % 2 ? "2001:db8:1::7" : "198.51.100.7",
				  i % 2 ? "2001:db8:ffff::1" : "10.9.9.9", 6, 443);
			f.b[14 + (i % 2 ? 40 : 20) + 13] = fl[i].flags;
			snprintf(name, sizeof(name), "v%d-tcp443-flags-%s", i % 2 ? 6 : 4, fl[i].name);
			save(name, &f);
		}
	}
	/* IP lengths: larger than the frame; 0 (BIG TCP on egress) */
	f = build("192.0.2.5", "10.9.9.9", 6, 22), put16(f.b + 16, 200), save("v4-totlen-past-frame", &f);
	f = build("192.0.2.5", "10.9.9.9", 6, 22), put16(f.b + 16, 0), save("v4-totlen-0", &f);
	f = build("2001:db8:0:1::5", "2001:db8:ffff::1", 6, 22), put16(f.b + 18, 0), save("v6-plen-0", &f);
	f = build("2001:db8:0:1::5", "2001:db8:ffff::1", 6, 22), put16(f.b + 18, 100), save("v6-plen-past-frame", &f);

	/* other ethertypes */
	f = build("198.51.100.7", "10.9.9.9", 6, 443);
	put16(f.b + 12, 0x0806), f.len = 42, save("arp", &f);
	vlan(&f, 1), save("vlan-arp", &f);
	f = build("198.51.100.7", "10.9.9.9", 6, 443), put16(f.b + 12, 0x88cc), save("lldp", &f);
	f = build("198.51.100.7", "10.9.9.9", 6, 443), put16(f.b + 12, 0x0040), save("ieee8023-length", &f);
	f = build("2001:db8:1::7", "2001:db8:ffff::1", 6, 443), put16(f.b + 12, 0x0800), save("v6-as-v4", &f);
	f = build("198.51.100.7", "10.9.9.9", 6, 443), trunc(&f, 14), save("ethernet-only", &f);

	printf("gen_seeds: %d frames in %s\n", nwritten, outdir);
	return 0;
}
