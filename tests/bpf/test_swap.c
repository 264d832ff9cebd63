// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Atomic policy swap under load. One thread runs packets through the real
 * programs (BPF_PROG_TEST_RUN) without pause while the main thread
 * publishes policies A and B alternately, SWAPS times. Each traced decision
 * names the generation of the policy the packet saw; the packet's verdict
 * and deciding rule must be exactly what the reference model gives for
 * that policy: no gap (no packet without a policy), no mix of the two (no
 * union, no half policy). A and B differ in prefixes, classes, rules and
 * rule order, so any mixed lookup shows as a wrong verdict or rule.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include "loader.h"
#include "log.h"
#include "pktgen.h"
#include "policy_ref.h"

#define SWAPS 200 /* policy publications, alternating A and B */

static const char *POLICY[2] = {
	"{\"version\":1,\"name\":\"swap-a\",\"revision\":1,"
	"\"groups\":{\"clients\":[\"198.51.100.0/24\",\"2001:db8:1::/64\"]},"
	"\"ingress\":["
	"{\"id\":\"both\",\"from\":[\"clients\"],\"proto\":\"tcp\",\"ports\":[8000]},"
	"{\"id\":\"a-only\",\"from\":[\"clients\"],\"proto\":\"tcp\",\"ports\":[8001]},"
	"{\"id\":\"a-deny\",\"action\":\"deny\",\"from\":[\"198.51.100.128/25\",\"2001:db8:1::8000/113\"],\"proto\":\"tcp\",\"ports\":[\"8000-8010\"]},"
	"{\"id\":\"a-udp\",\"from\":[\"any\"],\"proto\":\"udp\",\"ports\":[\"5000-5999\"]}],"
	"\"egress\":[{\"id\":\"a-out\",\"to\":[\"clients\"],\"proto\":\"tcp\",\"ports\":[7000]}]}",
	"{\"version\":1,\"name\":\"swap-b\",\"revision\":2,"
	"\"defaults\":{\"egress\":\"allow\"},"
	"\"groups\":{\"half\":[\"198.51.100.0/25\",\"2001:db8:1::/65\"],"
	"\"other\":[\"198.51.100.128/25\",\"2001:db8:1:0:8000::/65\"]},"
	"\"ingress\":["
	"{\"id\":\"b-only\",\"from\":[\"half\",\"other\"],\"proto\":\"tcp\",\"ports\":[8002]},"
	"{\"id\":\"b-both\",\"from\":[\"half\",\"other\"],\"proto\":\"tcp\",\"ports\":[8000]},"
	"{\"id\":\"b-deny-udp\",\"action\":\"deny\",\"from\":[\"other\"],\"proto\":\"udp\"},"
	"{\"id\":\"b-udp\",\"from\":[\"any\"],\"proto\":\"udp\",\"ports\":[\"5500-6500\"]}],"
	"\"egress\":[{\"id\":\"b-out-deny\",\"action\":\"deny\",\"to\":[\"other\"],\"proto\":\"tcp\"}]}",
};

struct probe {
	struct pkt_spec s;
	int dir;
	uint8_t frame[128];
	size_t len;
	struct ref_result want[2]; /* per policy */
};

static struct policy pol[2];
static struct compiled comp[2];
static struct ward w;
static struct probe probes[64];
static int nprobes;
static atomic_int done;
static atomic_uint first_gen; /* generation of the first publication (policy A) */
static unsigned long runs, wrong, gaps, per_policy[2];

static void add_probe(const char *src, const char *dst, int proto, int dport, int dir)
{
	struct probe *p = &probes[nprobes++];
	uint8_t f;

	memset(p, 0, sizeof(*p));
	(void)pktgen_addr(src, &p->s.family, p->s.src);
	(void)pktgen_addr(dst, &f, p->s.dst);
	p->s.proto = proto;
	p->s.sport = 40000;
	p->s.dport = dport;
	p->dir = dir;
	p->len = pktgen_build(&p->s, p->frame, sizeof(p->frame));
	for (int i = 0; i < 2; i++)
		(void)ref_eval(&pol[i], dir, &p->s, &p->want[i]);
}

static void build_probes(void)
{
	const char *src4[] = { "198.51.100.7", "198.51.100.200", "203.0.113.9" };
	const char *src6[] = { "2001:db8:1::7", "2001:db8:1::9000", "2001:db8:9::1" };
	const int tcp_ports[] = { 8000, 8001, 8002, 8005 };
	const int udp_ports[] = { 5100, 5600, 6400 };

	for (int i = 0; i < 3; i++) {
		for (int k = 0; k < 4; k++) {
			add_probe(src4[i], "192.0.2.1", IPPROTO_TCP, tcp_ports[k], WARD_DIR_INGRESS);
			add_probe(src6[i], "2001:db8::1", IPPROTO_TCP, tcp_ports[k], WARD_DIR_INGRESS);
		}
		for (int k = 0; k < 3; k++) {
			add_probe(src4[i], "192.0.2.1", IPPROTO_UDP, udp_ports[k], WARD_DIR_INGRESS);
			add_probe(src6[i], "2001:db8::1", IPPROTO_UDP, udp_ports[k], WARD_DIR_INGRESS);
		}
		add_probe("192.0.2.1", src4[i], IPPROTO_TCP, 7000, WARD_DIR_EGRESS);
		add_probe("2001:db8::1", src6[i], IPPROTO_TCP, 7000, WARD_DIR_EGRESS);
	}
}

static void *traffic(void *arg)
{
	while (!atomic_load(&done)) {
		for (int i = 0; i < nprobes; i++) {
			struct probe *p = &probes[i];
			struct ward_trace t;
			int pass, which;

			if (ward__test_run(&w, p->dir, p->frame, p->len, &pass, &t)) {
				wrong++;
				continue;
			}
			runs++;
			if (t.verdict == WARD_V_DROP_NOPOLICY || t.generation < first_gen) {
				gaps++;
				continue;
			}
			which = (t.generation - first_gen) % 2;
			per_policy[which]++;
			if (pass != p->want[which].pass || t.verdict != p->want[which].verdict ||
			    t.rule_idx != p->want[which].rule_idx) {
				if (wrong++ < 5)
					fprintf(stderr, "# probe %d under policy %c (gen %u): got pass=%d "
						"verdict=%d rule=%u, want pass=%d verdict=%d rule=%u\n",
						i, 'A' + which, t.generation, pass, t.verdict,
						t.rule_idx, p->want[which].pass, p->want[which].verdict,
						p->want[which].rule_idx);
			}
		}
	}
	return NULL;
}

int main(void)
{
	struct ward_load_opts o = { .trace = true, .no_ct = true };
	struct timespec t0, t1;
	pthread_t th;
	int failed = 0;

	log_setup_libbpf();
	if (geteuid() != 0) {
		printf("not ok 1 - needs root\n0 passed, 1 failed\n");
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		struct diags d = {};

		if (policy__parse(POLICY[i], strlen(POLICY[i]), &pol[i], &d) ||
		    policy__compile(&pol[i], &comp[i], &d)) {
			diags__print(&d, i ? "B" : "A", stderr);
			printf("not ok 1 - policies compile\n0 passed, 1 failed\n");
			return 1;
		}
		diags__free(&d);
	}
	build_probes();
	if (ward__load_ex(&w, NULL, &o) || ward__publish(&w, &comp[0], &pol[0])) {
		printf("not ok 1 - load and publish\n0 passed, 1 failed\n");
		return 1;
	}
	first_gen = 1; /* a fresh load: policy A is generation 1 */
	pthread_create(&th, NULL, traffic, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 1; i <= SWAPS; i++) {
		if (ward__publish(&w, &comp[i % 2], &pol[i % 2])) {
			failed = 1;
			break;
		}
		usleep(2000); /* let packets see this policy too */
	}
	usleep(20000);
	atomic_store(&done, 1);
	pthread_join(th, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# %d swaps in %.2f s; %lu packets decided (%lu under A, %lu under B); "
	       "%lu misclassified, %lu without a policy\n",
	       SWAPS, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, runs,
	       per_policy[0], per_policy[1], wrong, gaps);
	printf("%s 1 - every publication succeeded\n", failed ? "not ok" : "ok");
	printf("%s 2 - zero misclassified packets across %d swaps (%lu packets)\n",
	       wrong ? "not ok" : "ok", SWAPS, runs);
	printf("%s 3 - no packet without a policy (no gap)\n", gaps ? "not ok" : "ok");
	printf("%s 4 - both policies were exercised (>= 1000 packets each)\n",
	       per_policy[0] >= 1000 && per_policy[1] >= 1000 ? "ok" : "not ok");
	{
		int f = failed + !!wrong + !!gaps + !(per_policy[0] >= 1000 && per_policy[1] >= 1000);

		printf("%d passed, %d failed\n", 4 - f, f);
		ward__close(&w);
		return f ? 1 : 0;
	}
}
