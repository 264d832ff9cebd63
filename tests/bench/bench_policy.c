// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Policy benchmark: compile/apply time and memory at 10 .. 100,000 rules,
 * and per-packet cost of the real programs (BPF_PROG_TEST_RUN) against an
 * empty XDP program and xdp-filter in allow-list mode, measured in the same
 * interleaved, shuffled rounds; medians of per-round values and ratios.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "loader.h"
#include "log.h"
#include "pktgen.h"
#include "ward.skel.h"

#define NPKTS   64     /* distinct packets per mix                   */
#define REPEAT  2000   /* BPF_PROG_TEST_RUN repeats per packet        */
#define MAXCFG  8

static const int sizes[] = { 10, 1000, 10000, 100000 };
#define NSIZES (int)(sizeof(sizes) / sizeof(sizes[0]))

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Clustered, realistic: tenants of /24s (IPv4) and /56s (IPv6), each rule
 * one tenant group or a host inside it, service ports (70% one, 20% two,
 * 10% a range), 5% deny rules, one rule in 50 from a whole /16 aggregate. */
static char *gen_policy(int n)
{
	size_t cap = 256 + (size_t)n * 200, o = 0;
	char *s = malloc(cap);
	int ngroups = n / 4 + 1;

	o += sprintf(s + o, "{\"version\":1,\"name\":\"bench-%d\",\"revision\":1,\"groups\":{", n);
	for (int g = 0; g < ngroups; g++)
		o += sprintf(s + o, "%s\"t%d\":[\"10.%d.%d.0/24\",\"2001:db8:%x:%x00::/56\"]",
			     g ? "," : "", g, (g >> 8) & 255, g & 255, (g >> 8) & 0xffff, g & 255);
	o += sprintf(s + o, "},\"ingress\":[");
	for (int i = 0; i < n; i++) {
		int g = i % ngroups, port = 1000 + (i * 7) % 60000;
		char from[96], ports[64];

		if (i % 50 == 49)
			sprintf(from, "\"10.%d.0.0/16\"", (g >> 8) & 255);
		else if (i % 3 == 1)
			sprintf(from, "\"10.%d.%d.%d/32\"", (g >> 8) & 255, g & 255, 1 + i % 200);
		else
			sprintf(from, "\"t%d\"", g);
		/* 70% one port, 20% two, 10% a range (NCCL-like) */
		if (i % 10 < 7)
			sprintf(ports, "%d", port);
		else if (i % 10 < 9)
			sprintf(ports, "%d,%d", port, port + 443);
		else
			sprintf(ports, "\"%d-%d\"", port, port + 100 + i % 900);
		o += sprintf(s + o, "%s{\"id\":\"r%d\",%s\"from\":[%s],\"proto\":\"%s\",\"ports\":[%s]}",
			     i ? "," : "", i, i % 20 == 19 ? "\"action\":\"deny\"," : "", from,
			     i % 4 == 3 ? "udp" : "tcp", ports);
	}
	o += sprintf(s + o, "]}");
	return s;
}

struct cp_result {
	double parse_s, compile_s, publish_s;
	long rss_kib;
	size_t naddrs, nentries, nclasses;
	long map_kib;
};

static long fdinfo_memlock(int fd)
{
	char path[64], line[256];
	long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* One control-plane measurement in a child, so its RSS is its own. */
static int control_plane(int n, struct cp_result *r)
{
	struct compile_limits lim = { .max_rules = n };
	struct compiled c;
	struct diags d = {};
	struct policy p;
	struct ward w;
	struct bpf_map *m;
	char *text = gen_policy(n);
	double t0, t1, t2, t3;
	struct rusage ru;

	t0 = now_s();
	if (policy__parse(text, strlen(text), &p, &d)) {
		diags__print(&d, "bench", stderr);
		return -1;
	}
	t1 = now_s();
	if (policy__compile_limits(&p, &lim, &c, &d)) {
		diags__print(&d, "bench", stderr);
		return -1;
	}
	t2 = now_s();
	if (ward__load_opts(&w, NULL, false, lim.max_rules) || ward__publish(&w, &c, &p))
		return -1;
	t3 = now_s();
	getrusage(RUSAGE_SELF, &ru);
	r->parse_s = t1 - t0;
	r->compile_s = t2 - t1;
	r->publish_s = t3 - t2;
	r->rss_kib = ru.ru_maxrss;
	r->naddrs = c.naddrs;
	r->nentries = c.nrules;
	r->nclasses = c.nclasses - 1;
	r->map_kib = 0;
	bpf_object__for_each_map(m, w.skel->obj) {
		const char *name = bpf_map__name(m);

		if (!strncmp(name, "ward_addrs_", 11) || !strncmp(name, "ward_rules_", 11))
			r->map_kib += fdinfo_memlock(bpf_map__fd(m)) / 1024;
	}
	return 0;
}

struct cfg {
	const char *name;
	int prog_fd;
	struct ward w;
	int nrules;
};

struct mix {
	const char *name;
	uint8_t frames[NPKTS][128];
	size_t len[NPKTS];
};

static void frame_v4(struct mix *m, int i, uint32_t src, uint8_t proto, uint16_t dport)
{
	struct pkt_spec s = { .family = 4, .proto = proto, .sport = 40000 + i, .dport = dport };

	src = htonl(src);
	memcpy(s.src, &src, 4);
	s.dst[0] = 192, s.dst[1] = 0, s.dst[2] = 2, s.dst[3] = 1;
	m->len[i] = pktgen_build(&s, m->frames[i], sizeof(m->frames[i]));
}

static void frame_v6(struct mix *m, int i, int g, uint8_t proto, uint16_t dport)
{
	struct pkt_spec s = { .family = 6, .proto = proto, .sport = 40000 + i, .dport = dport };

	s.src[0] = 0x20, s.src[1] = 0x01, s.src[2] = 0x0d, s.src[3] = 0xb8;
	s.src[4] = (g >> 8) >> 8, s.src[5] = (g >> 8) & 255, s.src[6] = g & 255, s.src[15] = 1 + i;
	s.dst[0] = 0x20, s.dst[1] = 0x01, s.dst[2] = 0x0d, s.dst[3] = 0xb8, s.dst[15] = 1;
	m->len[i] = pktgen_build(&s, m->frames[i], sizeof(m->frames[i]));
}

/* Allowed: rule i's tenant and port. Denied: outside every prefix. */
static void build_mixes(struct mix *mx, int nrules)
{
	int ngroups = nrules / 4 + 1;

	mx[0].name = "allowed v4";
	mx[1].name = "denied v4";
	mx[2].name = "allowed v6";
	mx[3].name = "denied v6";
	for (int k = 0; k < NPKTS; k++) {
		int i = (int)((k * 7919L) % nrules), g = i % ngroups;
		int port = 1000 + (i * 7) % 60000;

		if (i % 20 == 19 || i % 50 == 49 || i % 3 == 1)
			i = (i / 6) * 6, g = i % ngroups, port = 1000 + (i * 7) % 60000;
		frame_v4(&mx[0], k, 10u << 24 | ((g >> 8) & 255) << 16 | (g & 255) << 8 | 77,
			 i % 4 == 3 ? IPPROTO_UDP : IPPROTO_TCP, port);
		frame_v4(&mx[1], k, 198u << 24 | 51 << 16 | 100 << 8 | (k & 255), IPPROTO_TCP, 22);
		frame_v6(&mx[2], k, g, i % 4 == 3 ? IPPROTO_UDP : IPPROTO_TCP, port);
		frame_v6(&mx[3], k, 0xffff00 | k, IPPROTO_TCP, 22);
	}
}

/* Average ns per packet over the mix. */
static double run_mix(int prog_fd, const struct mix *m)
{
	double total = 0;

	for (int k = 0; k < NPKTS; k++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = m->frames[k], .data_size_in = m->len[k],
			    .repeat = REPEAT);

		if (bpf_prog_test_run_opts(prog_fd, &o))
			return -1;
		total += o.duration;
	}
	return total / NPKTS;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int load_empty(const char *path)
{
	struct bpf_object *o = bpf_object__open_file(path, NULL);

	if (!o || bpf_object__load(o))
		return -1;
	return bpf_program__fd(bpf_object__next_program(o, NULL));
}

/* xdp-filter (xdp-tools) in allow-list mode with the same number of entries,
 * capped by its exact-match maps; a port allow-list of the rule ports. */
static int load_xdp_filter(int n, const struct mix *mx)
{
	const char *path = "/usr/lib/x86_64-linux-gnu/bpf/xdpfilt_alw_all.o";
	struct bpf_object *o;
	struct bpf_map *m;
	__u64 one = 1; /* MAP_FLAG_SRC | MAP_FLAG_DST bits, see xdp-filter docs */

	log_libbpf_quiet(1);
	o = bpf_object__open_file(path, NULL);
	if (!o || bpf_object__load(o)) {
		log_libbpf_quiet(0);
		return -1;
	}
	log_libbpf_quiet(0);
	one = 3;
	bpf_object__for_each_map(m, o) {
		const char *name = bpf_map__name(m);
		int fd = bpf_map__fd(m);

		if (!strcmp(name, "filter_ports")) {
			for (int i = 0; i < n && i < 65536; i++) {
				__u32 port = htons(1000 + (i * 7) % 60000);

				(void)bpf_map_update_elem(fd, &port, &one, BPF_ANY);
			}
		} else if (!strcmp(name, "filter_ipv4")) {
			for (int k = 0; k < NPKTS; k++) {
				__u32 a;

				memcpy(&a, mx[0].frames[k] + 14 + 12, 4);
				(void)bpf_map_update_elem(fd, &a, &one, BPF_ANY);
			}
		} else if (!strcmp(name, "filter_ipv6")) {
			for (int k = 0; k < NPKTS; k++)
				(void)bpf_map_update_elem(fd, mx[2].frames[k] + 14 + 8, &one, BPF_ANY);
		}
	}
	return bpf_program__fd(bpf_object__next_program(o, NULL));
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 11, maxn = argc > 2 ? atoi(argv[2]) : 100000;
	static struct mix mixes[NSIZES][4];
	struct cfg cfgs[MAXCFG];
	int ncfg = 0, empty_fd, filt_fd;
	double res[MAXCFG][4][64];

	log_setup_libbpf();
	log_set_level(LOG_LVL_WARN);
	printf("## Control plane (each size in its own process)\n\n");
	printf("| rules | classes | address entries | rule entries | parse s | compile s | "
	       "apply s | total s | agent RSS MiB | policy map KiB |\n|---|---|---|---|---|---|---|---|---|---|\n");
	for (int i = 0; i < NSIZES && sizes[i] <= maxn; i++) {
		struct cp_result r = {};
		int pfd[2], st;
		pid_t pid;

		if (pipe(pfd))
			return 1;
		pid = fork();
		if (pid == 0) {
			int rc = control_plane(sizes[i], &r);

			if (write(pfd[1], &r, sizeof(r)) != sizeof(r))
				_exit(1);
			_exit(rc ? 1 : 0);
		}
		close(pfd[1]);
		if (read(pfd[0], &r, sizeof(r)) != sizeof(r) || waitpid(pid, &st, 0) < 0 || st) {
			fprintf(stderr, "control plane at %d rules failed\n", sizes[i]);
			return 1;
		}
		close(pfd[0]);
		printf("| %d | %zu | %zu | %zu | %.3f | %.3f | %.3f | %.3f | %.1f | %ld |\n", sizes[i],
		       r.nclasses, r.naddrs, r.nentries, r.parse_s, r.compile_s, r.publish_s,
		       r.parse_s + r.compile_s + r.publish_s, r.rss_kib / 1024.0, r.map_kib);
		fflush(stdout);
	}
	if (argc > 3 && !strcmp(argv[3], "control"))
		return 0;
	/* data plane: every configuration loaded side by side */
	empty_fd = load_empty("build/bench/empty.bpf.o");
	if (empty_fd < 0) {
		fprintf(stderr, "cannot load the empty XDP program\n");
		return 1;
	}
	for (int i = 0; i < NSIZES && sizes[i] <= maxn; i++) {
		struct compile_limits lim = { .max_rules = sizes[i] };
		struct compiled c;
		struct diags d = {};
		struct policy p;
		char *text = gen_policy(sizes[i]);

		build_mixes(mixes[i], sizes[i]);
		if (policy__parse(text, strlen(text), &p, &d) || policy__compile_limits(&p, &lim, &c, &d) ||
		    ward__load_opts(&cfgs[ncfg].w, NULL, false, lim.max_rules) || ward__publish(&cfgs[ncfg].w, &c, &p)) {
			fprintf(stderr, "load at %d rules failed\n", sizes[i]);
			return 1;
		}
		cfgs[ncfg].prog_fd = bpf_program__fd(cfgs[ncfg].w.skel->progs.xdp_ingress);
		cfgs[ncfg].nrules = sizes[i];
		ncfg++;
		compiled__free(&c);
		policy__free(&p);
		free(text);
	}
	filt_fd = load_xdp_filter(10, mixes[0]);
	if (filt_fd < 0)
		fprintf(stderr, "warning: xdp-filter object not loadable, no xdp-filter anchor\n");
	if (rounds > 64)
		rounds = 64;
	/* rounds: every (config, mix) once, in a shuffled order; anchors too */
	double empty[64] = { 0 }, filt[64][2] = { { 0 } };
	for (int r = 0; r < rounds; r++) {
		int order[MAXCFG * 4 + 3], n = 0;

		for (int c = 0; c < ncfg; c++)
			for (int k = 0; k < 4; k++)
				order[n++] = c * 4 + k;
		order[n++] = -1;
		order[n++] = -2;
		order[n++] = -3;
		for (int i = n - 1; i > 0; i--) {
			int j = rand() % (i + 1), t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (int i = 0; i < n; i++) {
			int o = order[i];

			if (o == -1)
				empty[r] = run_mix(empty_fd, &mixes[0][0]);
			else if (o == -2)
				filt[r][0] = filt_fd >= 0 ? run_mix(filt_fd, &mixes[0][0]) : 0;
			else if (o == -3)
				filt[r][1] = filt_fd >= 0 ? run_mix(filt_fd, &mixes[0][1]) : 0;
			else
				res[o / 4][o % 4][r] = run_mix(cfgs[o / 4].prog_fd, &mixes[o / 4][o % 4]);
		}
	}
	double ratio_e[64], ratio_f[64], ratio_10[64], tmp[64];
	double e_med, f_med = 0;

	memcpy(tmp, empty, sizeof(double) * rounds);
	e_med = median(tmp, rounds);
	for (int r = 0; r < rounds; r++)
		tmp[r] = filt[r][0];
	if (filt_fd >= 0)
		f_med = median(tmp, rounds);
	printf("\n## Per-packet cost (BPF_PROG_TEST_RUN, %d packets x %d repeats per mix, %d rounds)\n\n",
	       NPKTS, REPEAT, rounds);
	printf("Anchors: empty XDP program %.1f ns; xdp-filter allow-list (allowed packet) %.1f ns.\n\n",
	       e_med, f_med);
	printf("| rules | mix | ns/packet (median) | vs empty | vs xdp-filter | vs 10 rules |\n|---|---|---|---|---|---|\n");
	for (int c = 0; c < ncfg; c++) {
		for (int k = 0; k < 4; k++) {
			for (int r = 0; r < rounds; r++) {
				tmp[r] = res[c][k][r];
				ratio_e[r] = res[c][k][r] / empty[r];
				ratio_f[r] = filt_fd >= 0 ? res[c][k][r] / filt[r][k & 1] : 0;
				ratio_10[r] = res[c][k][r] / res[0][k][r];
			}
			printf("| %d | %s | %.1f | %.2f | %.2f | %.3f |\n", cfgs[c].nrules,
			       mixes[c][k].name, median(tmp, rounds), median(ratio_e, rounds),
			       median(ratio_f, rounds), median(ratio_10, rounds));
		}
	}
	return 0;
}
