// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_packet: mutated Ethernet frames through both real programs.
 *
 * One fixed policy (packet_policy.h) is compiled and published once. Each
 * input is a frame, run with BPF_PROG_TEST_RUN through the XDP program
 * (ingress) and the TC program (egress). A userspace frame parser written
 * from docs/policy.md, Semantics 6 (frame_model in fuzz_common.c) says what
 * the frame is:
 *   - ARP: must pass (PASS_ARP);
 *   - non-IP, malformed, non-first fragment: must be dropped with that
 *     verdict (DROP_NON_IP, DROP_MALFORMED, DROP_FRAGMENT), never passed;
 *   - otherwise the model can classify it: pass, verdict, deciding rule and
 *     audit flag must equal ref_eval() on the fields the parser read, and the
 *     trace's family, protocol and port must be those fields.
 * Any difference aborts (a crash for libFuzzer). Needs root.
 *
 * WARD_FUZZ_LAX (fuzz_common.h) switches the frame model to the datapath's
 * narrower reading of "a header that does not fit the frame" for known,
 * reported divergences.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_common.h"
#include "loader.h"
#include "packet_policy.h"

#define MIN_FRAME 14   /* BPF_PROG_TEST_RUN refuses less than an Ethernet header */
#define MAX_FRAME 3000 /* and more than a page minus head/tailroom             */

static struct ward w;
static struct policy pol;
static unsigned lax;

/* libFuzzer cannot see coverage inside the BPF programs: feed back which
 * verdict and deciding rule each direction produced instead. */
__attribute__((section("__libfuzzer_extra_counters"))) static uint8_t
	extra_counters[WARD_DIR_MAX][WARD_V_MAX + 1][32];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *text = PACKET_POLICY;
	struct diags d = {};
	struct compiled c;
	int err;

	lax = fuzz_lax_from_env();
	err = policy__parse(text, strlen(text), &pol, &d);
	if (!err)
		err = policy__compile(&pol, &c, &d);
	if (err || d.nerrors) {
		diags__print(&d, "packet_policy.h", stderr);
		fprintf(stderr, "fuzz_packet: the fixed policy does not compile\n");
		exit(2);
	}
	diags__free(&d);
	err = ward__load(&w, NULL, true);
	if (!err)
		err = ward__publish(&w, &c, &pol);
	if (err) {
		fprintf(stderr, "fuzz_packet: cannot load/publish the BPF programs: %s "
				"(needs root: CAP_BPF, CAP_NET_ADMIN)\n", strerror(-err));
		exit(2);
	}
	compiled__free(&c);
	return 0;
}

static void report(const uint8_t *f, size_t len, int dir, const struct fm_result *fm,
		   const struct ref_result *want, int pass, const struct ward_trace *t,
		   const char *what)
{
	struct ref_result got = { .pass = pass, .verdict = t->verdict, .rule_idx = t->rule_idx,
				  .audit = t->audit };
	struct fpkt k = { .dir = dir, .s = fm->spec };

	fprintf(stderr, "%s (%s, %s program)\n", what, dir == WARD_DIR_INGRESS ? "ingress" : "egress",
		dir == WARD_DIR_INGRESS ? "XDP" : "TC");
	fprintf(stderr, "  frame model: %s: %s (vlan tags %d, ext headers %d)\n",
		fm_class_name(fm->cls), fm->why, fm->vlans, fm->exthdrs);
	if (fm->cls == FM_OK)
		fuzz_print_pkt(&k);
	fuzz_print_result("model", &pol, want);
	fuzz_print_result("datapath", &pol, &got);
	fprintf(stderr, "  trace: family %u proto %u port %u class %u\n", t->family, t->proto,
		t->port, t->class_id);
	fprintf(stderr, "--- frame (%zu bytes) ---\n", len);
	fuzz_hexdump(f, len);
}

/*
 * BPF_PROG_TEST_RUN for skb programs refuses (EINVAL) an IPv4 or IPv6
 * ethertype frame shorter than the base IP header: those only run through
 * XDP here. (On a real egress path, AF_PACKET can send such frames.)
 */
static bool tc_refuses(const uint8_t *f, size_t len)
{
	unsigned et = (unsigned)f[12] << 8 | f[13];

	return (et == 0x0800 && len < 14 + 20) || (et == 0x86dd && len < 14 + 40);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fm_result fm;

	if (size < MIN_FRAME || size > MAX_FRAME)
		return 0;
	for (int dir = 0; dir < WARD_DIR_MAX; dir++) {
		struct ref_result want;
		struct ward_trace t;
		int pass, err;

		frame_model(data, size, dir, lax, &fm);
		if (fm.cls == FM_OK) {
			FUZZ_ASSERT(!ref_eval(&pol, dir, &fm.spec, &want), "ref_eval refused");
		} else {
			memset(&want, 0, sizeof(want));
			want.rule_idx = WARD_RULE_NONE;
			want.verdict = fm_verdict(fm.cls);
			want.pass = fm.cls == FM_ARP;
		}
		if (dir == WARD_DIR_EGRESS && tc_refuses(data, size))
			continue;
		err = ward__test_run(&w, dir, data, size, &pass, &t);
		FUZZ_ASSERT(!err, "ward__test_run(%s, %zu bytes): %s",
			    dir == WARD_DIR_INGRESS ? "XDP" : "TC", size, strerror(-err));
		if (t.verdict <= WARD_V_MAX)
			extra_counters[dir][t.verdict][t.rule_idx < 31 ? t.rule_idx : 31]++;
		if (fm.cls != FM_OK && fm.cls != FM_ARP && pass) {
			report(data, size, dir, &fm, &want, pass, &t,
			       "a frame Ward cannot read safely was PASSED");
			fuzz_fail("%s frame (%s) passed by %s: %s", fm_class_name(fm.cls), fm.why,
				  dir == WARD_DIR_INGRESS ? "XDP" : "TC", ref_verdict_name(t.verdict));
		}
		if (pass != want.pass || t.rule_idx != want.rule_idx || t.audit != want.audit ||
		    (t.verdict != want.verdict &&
		     !(fm.cls == FM_MALFORMED && t.verdict == fm.alt_verdict))) {
			report(data, size, dir, &fm, &want, pass, &t,
			       "datapath verdict differs from the model");
			fuzz_fail("%s: datapath %s rule %d, model %s rule %d (%s: %s)",
				  dir == WARD_DIR_INGRESS ? "XDP" : "TC", ref_verdict_name(t.verdict),
				  (int)t.rule_idx, ref_verdict_name(want.verdict), (int)want.rule_idx,
				  fm_class_name(fm.cls), fm.why);
		}
		if (fm.cls == FM_OK &&
		    (t.family != fm.spec.family || t.proto != fm.spec.proto ||
		     t.port != ref_port_of(&fm.spec))) {
			report(data, size, dir, &fm, &want, pass, &t,
			       "datapath read other header fields than the model");
			fuzz_fail("%s read family %u proto %u port %u, model %u/%u/%d",
				  dir == WARD_DIR_INGRESS ? "XDP" : "TC", t.family, t.proto, t.port,
				  fm.spec.family, fm.spec.proto, ref_port_of(&fm.spec));
		}
	}
	return 0;
}
