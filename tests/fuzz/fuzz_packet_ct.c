// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_packet_ct: sequences of frames through both programs with connection
 * tracking on (docs/policy.md, "Stateful flows"), against a userspace flow
 * table written from the document.
 *
 * Input: up to MAX_RECORDS records, each [flags][len][len bytes of frame]:
 * flags bit 0 = direction (0 ingress / XDP, 1 egress / TC). The conntrack
 * map is emptied before each input, so an input is a self-contained story
 * (a crash reproduces from its file alone). The fixed policy is the one of
 * fuzz_packet (packet_policy.h), published once.
 *
 * Per frame, what the document says must happen:
 *  - frames Ward cannot read (frame_model) are dropped before anything;
 *  - ARP and ND pass and are never tracked;
 *  - a packet of a tracked flow passes (PASS_CT, credited to the rule that
 *    opened the flow); so does an ICMP error quoting a packet of a tracked
 *    flow, whatever its source;
 *  - anything else is decided by the policy (ref_eval); when it passes, a
 *    flow is opened unless it is a TCP RST, an ICMP message other than echo,
 *    or an ICMP error.
 * A flow is the protocol plus the remote and local address and port
 * (protocols without ports: the address pair; ICMP echo: the identifier).
 * The policy never changes and an input runs in milliseconds, so
 * revocation and timeouts do not come into it. Needs root.
 *
 * WARD_FUZZ_LAX=ct-quote-type: an ICMP error quoting an ICMP message of any
 * type is related to the echo flow of its identifier (as the datapath does);
 * by default only a quoted echo request or reply belongs to an echo flow.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "fuzz_common.h"
#include "loader.h"
#include "packet_policy.h"

#define MAX_RECORDS 8
#define MIN_FRAME   14
#define CT_SIZE     4096 /* entries: small, emptied per input */

static struct ward w;
static struct policy pol;
static unsigned lax;
static bool lax_quote_type;
static int ct_fd;
static bool verbose; /* WARD_FUZZ_VERBOSE=1: one line per step */

/* libFuzzer feedback from the datapath: which verdicts each step produced */
__attribute__((section("__libfuzzer_extra_counters"))) static uint8_t
	extra_counters[MAX_RECORDS][WARD_DIR_MAX][WARD_V_MAX + 1];

struct flow {
	uint8_t family, proto;
	uint16_t rport, lport; /* host order */
	uint8_t raddr[16], laddr[16];
	uint32_t rule_idx;     /* the rule that opened it */
};

static struct flow flows[MAX_RECORDS];
static size_t nflows;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ward_load_opts o = { .trace = true, .no_ct = false, .ct_size = CT_SIZE };
	const char *text = PACKET_POLICY;
	struct diags d = {};
	struct compiled c;
	const char *s = getenv("WARD_FUZZ_LAX");
	int err;

	lax = fuzz_lax_from_env();
	verbose = getenv("WARD_FUZZ_VERBOSE");
	lax_quote_type = s && (strstr(s, "ct-quote-type") || strstr(s, "all"));
	err = policy__parse(text, strlen(text), &pol, &d);
	if (!err)
		err = policy__compile(&pol, &c, &d);
	if (err || d.nerrors) {
		diags__print(&d, "packet_policy.h", stderr);
		exit(2);
	}
	diags__free(&d);
	err = ward__load_ex(&w, NULL, &o);
	if (!err)
		err = ward__publish(&w, &c, &pol);
	if (err) {
		fprintf(stderr, "fuzz_packet_ct: cannot load/publish the BPF programs: %s "
				"(needs root: CAP_BPF, CAP_NET_ADMIN)\n", strerror(-err));
		exit(2);
	}
	compiled__free(&c);
	ct_fd = ward__map_fd(&w, "ward_ct");
	if (ct_fd < 0) {
		fprintf(stderr, "fuzz_packet_ct: no ward_ct map\n");
		exit(2);
	}
	return 0;
}

static void ct_clear(void)
{
	struct ward_ct_key k;

	while (!bpf_map_get_next_key(ct_fd, NULL, &k))
		FUZZ_ASSERT(!bpf_map_delete_elem(ct_fd, &k), "cannot empty ward_ct: %s",
			    strerror(errno));
	nflows = 0;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The flow of a packet seen in direction dir, with src/dst/ports as sent. */
static void flow_of(struct flow *k, uint8_t family, uint8_t proto, int dir, const uint8_t *src,
		    const uint8_t *dst, uint16_t sport, uint16_t dport)
{
	memset(k, 0, sizeof(*k));
	k->family = family;
	k->proto = proto;
	memcpy(k->raddr, dir == WARD_DIR_INGRESS ? src : dst, 16);
	memcpy(k->laddr, dir == WARD_DIR_INGRESS ? dst : src, 16);
	k->rport = dir == WARD_DIR_INGRESS ? sport : dport;
	k->lport = dir == WARD_DIR_INGRESS ? dport : sport;
}

static struct flow *flow_find(const struct flow *k)
{
	for (size_t i = 0; i < nflows; i++)
		if (flows[i].family == k->family && flows[i].proto == k->proto &&
		    flows[i].rport == k->rport && flows[i].lport == k->lport &&
		    !memcmp(flows[i].raddr, k->raddr, 16) && !memcmp(flows[i].laddr, k->laddr, 16))
			return &flows[i];
	return NULL;
}

static bool icmp_echo(uint8_t family, uint8_t type)
{
	return family == WARD_FAM_V4 ? type == 0 || type == 8 : type == 128 || type == 129;
}

static bool icmp_error(uint8_t family, uint8_t type)
{
	return family == WARD_FAM_V4 ? type == 3 || type == 11 || type == 12
				     : type >= 1 && type <= 4;
}

/*
 * The flow a readable packet belongs to (*tracked), or for an ICMP error the
 * flow of the packet it quotes (*related): the quoted IP header of the same
 * family and the first 8 bytes of its l4 header. The quoted packet went the
 * other way.
 */
static void keys_of(const uint8_t *f, size_t len, int dir, const struct fm_result *fm,
		    struct flow *k, bool *tracked, struct flow *rk, bool *related)
{
	const struct pkt_spec *s = &fm->spec;
	const uint8_t *l4 = f + fm->l4off;
	bool icmp = (s->proto == 1 && s->family == WARD_FAM_V4) ||
		    (s->proto == 58 && s->family == WARD_FAM_V6);

	*tracked = *related = false;
	if (s->proto == 1 || s->proto == 58) {
		size_t q = fm->l4off + 8, ihl;
		uint8_t iproto, isrc[16] = { 0 }, idst[16] = { 0 };
		int idir = dir == WARD_DIR_INGRESS ? WARD_DIR_EGRESS : WARD_DIR_INGRESS;

		if (!icmp) /* ICMP of the other family: no type, neither echo nor error */
			return;
		if (icmp_echo(s->family, l4[0])) {
			flow_of(k, s->family, s->proto, dir, s->src, s->dst, 0, 0);
			k->lport = be16(l4 + 4); /* identifier */
			*tracked = true;
			return;
		}
		if (!icmp_error(s->family, l4[0]))
			return;
		if (s->family == WARD_FAM_V4) {
			if (q + 20 > len || f[q] >> 4 != 4 || (f[q] & 15) < 5)
				return;
			ihl = (f[q] & 15) * 4u;
			iproto = f[q + 9];
			memcpy(isrc, f + q + 12, 4);
			memcpy(idst, f + q + 16, 4);
		} else {
			if (q + 40 > len || f[q] >> 4 != 6)
				return;
			ihl = 40;
			iproto = f[q + 6];
			memcpy(isrc, f + q + 8, 16);
			memcpy(idst, f + q + 24, 16);
		}
		q += ihl;
		if (q + 8 > len)
			return;
		if (iproto == 1 || iproto == 58) {
			if (!lax_quote_type && !icmp_echo(s->family, f[q]))
				return; /* a quoted ICMP message other than echo is in no flow */
			flow_of(rk, s->family, iproto, idir, isrc, idst, 0, 0);
			rk->lport = be16(f + q + 4);
		} else if (iproto == 6 || iproto == 17) {
			flow_of(rk, s->family, iproto, idir, isrc, idst, be16(f + q), be16(f + q + 2));
		} else {
			flow_of(rk, s->family, iproto, idir, isrc, idst, 0, 0);
		}
		*related = true;
		return;
	}
	if (s->proto == 6 || s->proto == 17)
		flow_of(k, s->family, s->proto, dir, s->src, s->dst, s->sport, s->dport);
	else
		flow_of(k, s->family, s->proto, dir, s->src, s->dst, 0, 0);
	*tracked = true;
}

static void report(int step, const uint8_t *f, size_t len, int dir, const struct fm_result *fm,
		   const struct ref_result *want, int pass, const struct ward_trace *t,
		   const char *why)
{
	struct ref_result got = { .pass = pass, .verdict = t->verdict, .rule_idx = t->rule_idx,
				  .audit = t->audit };
	struct fpkt k = { .dir = dir, .s = fm->spec };

	fprintf(stderr, "step %d (%s, %s): %s\n", step, dir == WARD_DIR_INGRESS ? "ingress" : "egress",
		dir == WARD_DIR_INGRESS ? "XDP" : "TC", why);
	fprintf(stderr, "  frame model: %s: %s\n", fm_class_name(fm->cls), fm->why);
	if (fm->cls == FM_OK)
		fuzz_print_pkt(&k);
	fuzz_print_result("model", &pol, want);
	fuzz_print_result("datapath", &pol, &got);
	fprintf(stderr, "  flows tracked by the model before this step: %zu\n", nflows);
	fuzz_hexdump(f, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	int step = 0;

	ct_clear();
	while (off + 2 <= size && step < MAX_RECORDS) {
		int dir = data[off] & 1, pass, err;
		size_t len = data[off + 1];
		const uint8_t *f = data + off + 2;
		struct fm_result fm;
		struct ref_result want;
		struct ward_trace t;
		struct flow k, rk, *fl = NULL;
		bool tracked = false, related = false;

		if (off + 2 + len > size)
			break;
		off += 2 + len;
		if (len < MIN_FRAME)
			continue;
		/* the kernel's skb test run refuses IP frames shorter than their header */
		if (dir == WARD_DIR_EGRESS &&
		    ((be16(f + 12) == 0x0800 && len < 34) || (be16(f + 12) == 0x86dd && len < 54)))
			continue;
		frame_model(f, len, dir, lax, &fm);
		memset(&want, 0, sizeof(want));
		want.rule_idx = WARD_RULE_NONE;
		if (fm.cls != FM_OK) {
			want.verdict = fm_verdict(fm.cls);
			want.pass = fm.cls == FM_ARP;
		} else {
			FUZZ_ASSERT(!ref_eval(&pol, dir, &fm.spec, &want), "ref_eval refused");
			if (want.verdict != WARD_V_PASS_ND && want.verdict != WARD_V_DROP_TCP_FLAGS) {
				keys_of(f, len, dir, &fm, &k, &tracked, &rk, &related);
				fl = tracked ? flow_find(&k) : related ? flow_find(&rk) : NULL;
			}
			if (fl) {
				memset(&want, 0, sizeof(want));
				want.pass = 1;
				want.verdict = WARD_V_PASS_CT;
				want.rule_idx = fl->rule_idx;
			} else if (want.pass && tracked && nflows < MAX_RECORDS &&
				   !(fm.spec.proto == 6 && (fm.spec.tcp_flags & 0x04))) {
				k.rule_idx = want.rule_idx;
				flows[nflows++] = k;
			}
		}
		err = ward__test_run(&w, dir, f, len, &pass, &t);
		FUZZ_ASSERT(!err, "ward__test_run(%s, %zu bytes): %s", dir ? "TC" : "XDP", len,
			    strerror(-err));
		if (t.verdict <= WARD_V_MAX)
			extra_counters[step][dir][t.verdict]++;
		if (verbose)
			fprintf(stderr, "step %d %s %s: datapath %s rule %d, model %s rule %d\n", step,
				dir ? "egress" : "ingress", fm_class_name(fm.cls),
				ref_verdict_name(t.verdict), (int)t.rule_idx,
				ref_verdict_name(want.verdict), (int)want.rule_idx);
		if (pass != want.pass || t.verdict != want.verdict || t.rule_idx != want.rule_idx ||
		    t.audit != want.audit) {
			if (fm.cls == FM_MALFORMED && t.verdict == fm.alt_verdict && !pass)
				goto next;
			report(step, f, len, dir, &fm, &want, pass, &t,
			       pass && !want.pass ? "PASSED, the document says drop"
						  : "verdict differs from the model");
			fuzz_fail("step %d %s: datapath %s rule %d, model %s rule %d (%s)", step,
				  dir ? "TC" : "XDP", ref_verdict_name(t.verdict), (int)t.rule_idx,
				  ref_verdict_name(want.verdict), (int)want.rule_idx,
				  fl ? "tracked flow" : related ? "ICMP error, quoted flow not tracked"
				  : tracked ? "new flow" : "not tracked");
		}
next:
		step++;
	}
	return 0;
}
