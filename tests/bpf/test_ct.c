// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Connection tracking through BPF_PROG_TEST_RUN: sequences of crafted
 * frames, each case in IPv4 and IPv6. Replies, related ICMP errors and
 * echo replies are admitted by conntrack; look-alikes are not; a new
 * policy revokes flows it denies on their next packet; entries expire.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "loader.h"
#include "log.h"
#include "pktgen.h"

static int npass, nfail;
static int fam; /* 4 or 6: the family of the case running */

#define LOCAL4  "192.0.2.1"
#define LOCAL6  "2001:db8::1"
#define REG4    "203.0.113.10"
#define REG6    "2001:db8:300::10"
#define CLIENT4 "198.51.100.2"
#define CLIENT6 "2001:db8:1::2"

static const char *POLICY_A =
	"{\"version\":1,\"name\":\"ct\",\"revision\":1,"
	"\"groups\":{\"reg\":[\"" REG4 "/32\",\"" REG6 "/128\"],"
	"\"clients\":[\"" CLIENT4 "/32\",\"" CLIENT6 "/128\"]},"
	"\"ingress\":[{\"id\":\"api\",\"from\":[\"clients\"],\"proto\":\"tcp\",\"ports\":[8000]},"
	"{\"id\":\"ping-in\",\"from\":[\"clients\"],\"proto\":\"icmp\",\"icmp_types\":[\"echo-request\"]},"
	"{\"id\":\"ping6-in\",\"from\":[\"clients\"],\"proto\":\"icmpv6\",\"icmp_types\":[\"echo-request\"]}],"
	"\"egress\":[{\"id\":\"weights\",\"to\":[\"reg\"],\"proto\":\"tcp\",\"ports\":[443]},"
	"{\"id\":\"dns\",\"to\":[\"reg\"],\"proto\":\"udp\",\"ports\":[53]},"
	"{\"id\":\"ping-out\",\"to\":[\"reg\"],\"proto\":\"icmp\"},"
	"{\"id\":\"ping6-out\",\"to\":[\"reg\"],\"proto\":\"icmpv6\"}]}";

/* A without the api rule, ping rules kept: a new generation */
static const char *POLICY_B =
	"{\"version\":1,\"name\":\"ct\",\"revision\":2,"
	"\"groups\":{\"reg\":[\"" REG4 "/32\",\"" REG6 "/128\"]},"
	"\"egress\":[{\"id\":\"weights\",\"to\":[\"reg\"],\"proto\":\"tcp\",\"ports\":[443]}]}";

static const char *POLICY_AUDIT =
	"{\"version\":1,\"name\":\"ct-audit\",\"mode\":\"audit\"}";

static struct ward w;

static int publish(const char *json)
{
	struct compiled c;
	struct diags d = {};
	struct policy p;
	int err = policy__parse(json, strlen(json), &p, &d);

	if (!err)
		err = policy__compile(&p, &c, &d);
	if (err) {
		diags__print(&d, "policy", stderr);
		return err;
	}
	err = ward__publish(&w, &c, &p);
	compiled__free(&c);
	policy__free(&p);
	diags__free(&d);
	return err;
}

struct frame {
	uint8_t b[256];
	size_t len;
};

static void addr(const char *v4, const char *v6, uint8_t out[16])
{
	uint8_t f;

	(void)pktgen_addr(fam == 4 ? v4 : v6, &f, out);
}

/* A frame from src to dst. ICMP: dport = type, sport = identifier. */
static struct frame mk(const char *s4, const char *s6, const char *d4, const char *d6, int proto,
		       int sport, int dport, int tcp_flags)
{
	struct pkt_spec s = { .family = fam, .proto = proto, .sport = sport, .dport = dport,
			      .tcp_flags = tcp_flags };
	struct frame f = {};
	int icmp = proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;

	addr(s4, s6, s.src);
	addr(d4, d6, s.dst);
	if (icmp)
		s.sport = 0; /* code */
	f.len = pktgen_build(&s, f.b, sizeof(f.b));
	if (icmp) { /* identifier at bytes 4-5 of the ICMP header */
		size_t l4 = 14 + (fam == 4 ? 20 : 40);

		f.b[l4 + 4] = sport >> 8;
		f.b[l4 + 5] = sport & 0xff;
	}
	return f;
}

/* An ICMP error (dest unreachable) from `from` quoting frame q. */
static struct frame mk_error(const char *f4, const char *f6, const char *d4, const char *d6,
			     const struct frame *q)
{
	int proto = fam == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	size_t iph = fam == 4 ? 20 : 40, quote = iph + 8;
	struct pkt_spec s = { .family = fam, .proto = proto, .dport = fam == 4 ? 3 : 1,
			      .payload = (uint16_t)quote };
	struct frame f = {};

	addr(f4, f6, s.src);
	addr(d4, d6, s.dst);
	f.len = pktgen_build(&s, f.b, sizeof(f.b));
	memcpy(f.b + 14 + iph + 8, q->b + 14, quote);
	return f;
}

static void expect(const char *what, int dir, const struct frame *f, int want_pass, int want_verdict)
{
	struct ward_trace t;
	int pass = -1, err;

	err = ward__test_run(&w, dir, f->b, f->len, &pass, &t);
	if (!err && pass == want_pass && t.verdict == want_verdict) {
		npass++;
		printf("ok %d - %s [v%d]\n", npass + nfail, what, fam);
	} else {
		nfail++;
		printf("not ok %d - %s [v%d]: want pass=%d verdict=%d, got err=%d pass=%d verdict=%d\n",
		       npass + nfail, what, fam, want_pass, want_verdict, err, pass, t.verdict);
	}
}

static void flush_ct(void)
{
	int fd = ward__map_fd(&w, "ward_ct");
	struct ward_ct_key k;

	while (!bpf_map_get_next_key(fd, NULL, &k))
		(void)bpf_map_delete_elem(fd, &k);
}

/* Age every entry by `secs` seconds, as if time had passed. */
static void age_ct(unsigned secs)
{
	int fd = ward__map_fd(&w, "ward_ct");
	struct ward_ct_key k, *prev = NULL, cur;
	struct ward_ct_val v;

	while (!bpf_map_get_next_key(fd, prev, &k)) {
		if (!bpf_map_lookup_elem(fd, &k, &v)) {
			v.last_ns -= (uint64_t)secs * 1000000000ull;
			(void)bpf_map_update_elem(fd, &k, &v, BPF_EXIST);
		}
		cur = k;
		prev = &cur;
	}
}

#define I WARD_DIR_INGRESS
#define E WARD_DIR_EGRESS
#define L LOCAL4, LOCAL6
#define R REG4, REG6
#define C CLIENT4, CLIENT6
#define TCP_SYN 0x02
#define TCP_SYNACK 0x12
#define TCP_ACK 0x10
#define TCP_RST 0x04

static void cases(void)
{
	int icmp = fam == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	int req = fam == 4 ? 8 : 128, rep = fam == 4 ? 0 : 129;
	struct frame f, syn;

	publish(POLICY_A);
	flush_ct();
	/* outbound TCP with inbound default deny */
	syn = mk(L, R, IPPROTO_TCP, 40001, 443, TCP_SYN);
	expect("egress SYN to registry:443 allowed by rule", E, &syn, 1, WARD_V_PASS_RULE);
	f = mk(R, L, IPPROTO_TCP, 443, 40001, TCP_SYNACK);
	expect("its SYN-ACK admitted by conntrack", I, &f, 1, WARD_V_PASS_CT);
	f = mk(L, R, IPPROTO_TCP, 40001, 443, TCP_ACK);
	expect("its forward ACK passes as established", E, &f, 1, WARD_V_PASS_CT);
	f = mk(R, L, IPPROTO_TCP, 444, 40001, TCP_ACK);
	expect("ACK from the registry's other port: no flow, dropped", I, &f, 0, WARD_V_DROP_DEFAULT);
	f = mk(R, L, IPPROTO_TCP, 443, 40002, TCP_ACK);
	expect("unsolicited ACK to another local port: dropped", I, &f, 0, WARD_V_DROP_DEFAULT);
	f = mk(C, L, IPPROTO_TCP, 443, 40001, TCP_ACK);
	expect("same ports from another host: dropped", I, &f, 0, WARD_V_DROP_DEFAULT);
	/* related ICMP errors */
	f = mk_error(R, L, &syn);
	expect("ICMP error quoting the flow: related, admitted", I, &f, 1, WARD_V_PASS_CT);
	{
		struct frame other = mk(L, R, IPPROTO_TCP, 40009, 443, TCP_SYN);

		f = mk_error(R, L, &other);
		expect("ICMP error quoting an unknown flow: dropped", I, &f, 0, WARD_V_DROP_DEFAULT);
	}
	/* UDP */
	f = mk(L, R, IPPROTO_UDP, 5353, 53, 0);
	expect("egress DNS query allowed by rule", E, &f, 1, WARD_V_PASS_RULE);
	f = mk(R, L, IPPROTO_UDP, 53, 5353, 0);
	expect("DNS answer admitted by conntrack", I, &f, 1, WARD_V_PASS_CT);
	f = mk(R, L, IPPROTO_UDP, 54, 5353, 0);
	expect("UDP from the right host, wrong port: dropped", I, &f, 0, WARD_V_DROP_DEFAULT);
	/* ICMP echo */
	f = mk(L, R, icmp, 7, req, 0);
	expect("egress echo request id 7 allowed", E, &f, 1, WARD_V_PASS_RULE);
	f = mk(R, L, icmp, 7, rep, 0);
	expect("echo reply id 7 admitted", I, &f, 1, WARD_V_PASS_CT);
	f = mk(R, L, icmp, 8, rep, 0);
	expect("echo reply id 8 (never asked): dropped", I, &f, 0, WARD_V_DROP_DEFAULT);
	/* inbound connection: replies need no egress rule */
	f = mk(C, L, IPPROTO_TCP, 50000, 8000, TCP_SYN);
	expect("client SYN to api:8000 allowed by rule", I, &f, 1, WARD_V_PASS_RULE);
	f = mk(L, C, IPPROTO_TCP, 8000, 50000, TCP_SYNACK);
	expect("api SYN-ACK out, no egress rule: conntrack", E, &f, 1, WARD_V_PASS_CT);
	f = mk(C, L, icmp, 9, req, 0);
	expect("client echo request allowed", I, &f, 1, WARD_V_PASS_RULE);
	f = mk(L, C, icmp, 9, rep, 0);
	expect("echo reply out admitted", E, &f, 1, WARD_V_PASS_CT);
	/* revocation: the new policy no longer allows api */
	publish(POLICY_B);
	f = mk(L, C, IPPROTO_TCP, 8000, 50000, TCP_ACK);
	expect("after the swap, the flow's next packet (a reply) is dropped", E, &f, 0,
	       WARD_V_DROP_DEFAULT);
	f = mk(C, L, IPPROTO_TCP, 50000, 8000, TCP_ACK);
	expect("and its forward packets too (entry gone)", I, &f, 0, WARD_V_DROP_DEFAULT);
	f = mk(L, R, IPPROTO_TCP, 40001, 443, TCP_ACK);
	expect("a flow the new policy still allows goes on", E, &f, 1, WARD_V_PASS_CT);
	f = mk(R, L, IPPROTO_UDP, 53, 5353, 0);
	expect("DNS flow revoked (no dns rule in B) on its next reply", I, &f, 0,
	       WARD_V_DROP_DEFAULT);
	publish(POLICY_A);
	f = mk(C, L, IPPROTO_TCP, 50000, 8000, TCP_ACK);
	expect("policy A again: a mid-flow ACK is decided as new and allowed", I, &f, 1,
	       WARD_V_PASS_RULE);
	/* expiry */
	f = mk(L, R, IPPROTO_UDP, 5354, 53, 0);
	expect("egress DNS query (second)", E, &f, 1, WARD_V_PASS_RULE);
	age_ct(WARD_CT_UDP_S + 1);
	f = mk(R, L, IPPROTO_UDP, 53, 5354, 0);
	expect("answer after the UDP timeout: expired, dropped", I, &f, 0, WARD_V_DROP_DEFAULT);
	f = mk(L, R, IPPROTO_TCP, 40003, 443, TCP_SYN);
	expect("egress SYN (third flow)", E, &f, 1, WARD_V_PASS_RULE);
	f = mk(R, L, IPPROTO_TCP, 443, 40003, TCP_SYNACK);
	expect("its SYN-ACK", I, &f, 1, WARD_V_PASS_CT);
	age_ct(WARD_CT_TCP_CLOSE_S + 1);
	f = mk(R, L, IPPROTO_TCP, 443, 40003, TCP_ACK);
	expect("established TCP outlives the close timeout", I, &f, 1, WARD_V_PASS_CT);
	f = mk(R, L, IPPROTO_TCP, 443, 40003, TCP_RST);
	expect("RST passes and closes the flow", I, &f, 1, WARD_V_PASS_CT);
	age_ct(WARD_CT_TCP_CLOSE_S + 1);
	f = mk(R, L, IPPROTO_TCP, 443, 40003, TCP_ACK);
	expect("after RST and the close timeout: dropped", I, &f, 0, WARD_V_DROP_DEFAULT);
	f = mk(R, L, IPPROTO_TCP, 443, 40004, TCP_RST);
	expect("an unsolicited RST opens nothing", I, &f, 0, WARD_V_DROP_DEFAULT);
	/* audit mode: the would-be deny opens a flow so the exchange works */
	publish(POLICY_AUDIT);
	flush_ct();
	f = mk(C, L, IPPROTO_TCP, 50001, 22, TCP_SYN);
	expect("audit: denied SYN observed and passed", I, &f, 1, WARD_V_PASS_AUDIT);
	f = mk(L, C, IPPROTO_TCP, 22, 50001, TCP_SYNACK);
	expect("audit: its reply passes by conntrack", E, &f, 1, WARD_V_PASS_CT);
}

int main(void)
{
	struct ward_load_opts o = { .trace = true };

	log_setup_libbpf();
	if (geteuid() != 0) {
		printf("not ok 1 - needs root (BPF_PROG_TEST_RUN)\n0 passed, 1 failed\n");
		return 1;
	}
	if (ward__load_ex(&w, NULL, &o)) {
		printf("not ok 1 - cannot load the programs\n0 passed, 1 failed\n");
		return 1;
	}
	for (fam = 4; fam <= 6; fam += 2)
		cases();
	/* a trace load without conntrack decides every packet as new */
	ward__close(&w);
	{
		struct frame f;

		fam = 4;
		if (!ward__load(&w, NULL, true) && !publish(POLICY_A)) {
			f = mk(L, R, IPPROTO_TCP, 40001, 443, TCP_SYN);
			expect("no_ct load: egress SYN allowed", E, &f, 1, WARD_V_PASS_RULE);
			f = mk(R, L, IPPROTO_TCP, 443, 40001, TCP_SYNACK);
			expect("no_ct load: its reply decided as new, dropped", I, &f, 0,
			       WARD_V_DROP_DEFAULT);
		}
	}
	ward__close(&w);
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
