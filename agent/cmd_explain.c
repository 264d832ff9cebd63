// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ward explain: the verdict for one flow, computed by the real compiled
 * programs (BPF_PROG_TEST_RUN on a crafted frame), so it cannot disagree
 * with enforcement.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "loader.h"
#include "log.h"
#include "pktgen.h"

struct explain_opts {
	const char *policy;
	int dir;
	const char *src, *dst, *proto;
	long sport, dport, icmp_type;
	bool json;
	const char *failsafes[16];
	int nfailsafes;
};

static int parse_num(const char *s, long max, long *ret)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 0 || v > max)
		return -1;
	*ret = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct explain_opts *o)
{
	static const struct option lo[] = {
		{ "in", no_argument, NULL, 'I' },	  { "out", no_argument, NULL, 'O' },
		{ "src", required_argument, NULL, 's' },  { "dst", required_argument, NULL, 'd' },
		{ "proto", required_argument, NULL, 'p' }, { "sport", required_argument, NULL, 'S' },
		{ "dport", required_argument, NULL, 'D' },
		{ "icmp-type", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "failsafe", required_argument, NULL, 'F' }, {},
	};
	int c, bad = 0;

	o->dir = -1;
	o->sport = 40000;
	o->dport = -1;
	o->icmp_type = -1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'I': o->dir = WARD_DIR_INGRESS; break;
		case 'O': o->dir = WARD_DIR_EGRESS; break;
		case 's': o->src = optarg; break;
		case 'd': o->dst = optarg; break;
		case 'p': o->proto = optarg; break;
		case 'S': bad |= parse_num(optarg, 65535, &o->sport); break;
		case 'D': bad |= parse_num(optarg, 65535, &o->dport); break;
		case 't': bad |= parse_num(optarg, 255, &o->icmp_type); break;
		case 'j': o->json = true; break;
		case 'F':
			if (o->nfailsafes < 16)
				o->failsafes[o->nfailsafes++] = optarg;
			else
				bad = 1;
			break;
		default: bad = 1;
		}
	}
	if (optind == argc - 1)
		o->policy = argv[optind];
	if (bad || !o->policy || o->dir < 0 || !o->src || !o->dst || !o->proto) {
		fprintf(stderr, "usage: ward explain POLICY --in|--out --src IP --dst IP --proto P "
				"[--sport N] [--dport N | --icmp-type T] [--failsafe SPEC]... [--json]\n");
		return -1;
	}
	return 0;
}

/* proto by name or number; ICMP type by number or name for the family */
static int build_frame(const struct explain_opts *o, uint8_t *buf, size_t cap, size_t *len)
{
	struct pkt_spec s = {};
	uint8_t fam2;
	long n = 0;
	int proto = proto__from_name(o->proto);

	if (pktgen_addr(o->src, &s.family, s.src) || pktgen_addr(o->dst, &fam2, s.dst) ||
	    s.family != fam2) {
		fprintf(stderr, "ward explain: --src and --dst must be addresses of one family\n");
		return -EINVAL;
	}
	if (proto == POLICY_PROTO_ANY || (proto == -2 && parse_num(o->proto, 255, &n))) {
		fprintf(stderr, "ward explain: --proto is tcp, udp, icmp, icmpv6 or 0-255\n");
		return -EINVAL;
	}
	s.proto = proto >= 0 ? proto : n;
	s.sport = o->sport;
	s.dport = o->dport >= 0 ? o->dport : 0;
	if (s.proto == IPPROTO_ICMP || s.proto == IPPROTO_ICMPV6) {
		s.dport = o->icmp_type >= 0 ? o->icmp_type
			: s.proto == IPPROTO_ICMP ? 8 : 128; /* echo request */
		s.sport = 0;
	}
	*len = pktgen_build(&s, buf, cap);
	return *len ? 0 : -EINVAL;
}

static const char *verdict_text(const struct ward_trace *t)
{
	switch (t->verdict) {
	case WARD_V_PASS_ARP: return "always passes (ARP)";
	case WARD_V_PASS_ND: return "always passes (IPv6 neighbour discovery)";
	case WARD_V_DROP_MALFORMED: return "dropped before policy (malformed)";
	default: return NULL;
	}
}

static void print_result(const struct explain_opts *o, const struct policy *p,
			 const struct ward_trace *t, int pass)
{
	const struct rule *r = t->rule_idx < p->nrules ? &p->rules[t->rule_idx] : NULL;
	const struct rate_limit *lim = r && r->rate_limit >= 0 ? &p->rate_limits[r->rate_limit] : NULL;
	const char *rl = lim ? lim->name : NULL;
	const char *why = verdict_text(t);

	if (o->json) {
		json_t *j = json_pack("{s:s,s:s?,s:s?,s:b,s:s,s:i}", "verdict",
				      pass ? "allow" : "deny", "rule", r ? r->id : NULL,
				      "rate_limit", rl, "audit", t->audit != 0, "direction",
				      o->dir == WARD_DIR_INGRESS ? "ingress" : "egress",
				      "address_class", (int)t->class_id);
		char *s = json_dumps(j, JSON_COMPACT);

		if (s)
			puts(s);
		free(s);
		json_decref(j);
		return;
	}
	printf("%s", pass ? "allow" : "deny");
	if (t->audit)
		printf(" (audit: the policy denies it, audit mode lets it through)");
	if (r)
		printf(", by rule \"%s\" (%s %s)", r->id,
		       r->dir == WARD_DIR_INGRESS ? "ingress" : "egress",
		       r->action == WARD_ACT_ALLOW ? "allow" : "deny");
	else if (why)
		printf(", %s", why);
	else
		printf(", by the %s default", o->dir == WARD_DIR_INGRESS ? "ingress" : "egress");
	if (lim) {
		printf(", rate limit \"%s\": %llu packets/s (burst %llu)", rl,
		       (unsigned long long)lim->pps, (unsigned long long)lim->burst);
		if (lim->bps)
			printf(", %llu bytes/s (burst %llu)", (unsigned long long)lim->bps,
			       (unsigned long long)lim->bytes_burst);
		if (lim->cps)
			printf(", %llu new flows/s (burst %llu)", (unsigned long long)lim->cps,
			       (unsigned long long)lim->cps_burst);
		printf(" per client (source /%u IPv4, /%u IPv6)", lim->ipv4_prefix, lim->ipv6_prefix);
	}
	printf("\n");
}

int cmd_explain(int argc, char **argv)
{
	struct explain_opts o = {};
	struct compiled c = {};
	struct ward_trace t;
	struct diags d = {};
	struct policy p = {};
	uint8_t frame[256];
	struct ward w;
	size_t len;
	int err, pass, ret = EXIT_RUNTIME;

	if (parse_opts(argc, argv, &o))
		return EXIT_USAGE;
	if (build_frame(&o, frame, sizeof(frame), &len))
		return EXIT_USAGE;
	err = policy__parse_file(o.policy, &p, &d);
	for (int i = 0; !err && i < o.nfailsafes; i++) {
		const char *why;

		err = policy__add_failsafe(&p, o.failsafes[i], &why);
		if (err)
			fprintf(stderr, "ward explain: --failsafe %s: %s\n", o.failsafes[i], why);
	}
	if (!err) {
		struct compile_limits lim = { .max_rules = p.nrules ? p.nrules : 1 };

		err = policy__compile_limits(&p, &lim, &c, &d);
	}
	diags__print(&d, o.policy, stderr);
	diags__free(&d);
	if (err) {
		policy__free(&p);
		return EXIT_INVALID;
	}
	log_libbpf_quiet(1);
	err = ward__load_opts(&w, NULL, true, p.nrules ? p.nrules : 1);
	log_libbpf_quiet(0);
	if (err) {
		fprintf(stderr, "ward explain: load BPF programs: %s\n", strerror(-err));
		goto out;
	}
	err = ward__publish(&w, &c, &p);
	if (!err)
		err = ward__test_run(&w, o.dir, frame, len, &pass, &t);
	if (err)
		fprintf(stderr, "ward explain: run the program: %s\n", strerror(-err));
	else {
		print_result(&o, &p, &t, pass);
		ret = EXIT_OK;
	}
	ward__close(&w);
out:
	compiled__free(&c);
	policy__free(&p);
	return ret;
}
