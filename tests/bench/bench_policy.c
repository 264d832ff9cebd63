// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Policy benchmark (make bench; docs/benchmarks.md explains the method).
 *
 *   bench_policy control MAX [TSV]       compile/apply time and memory at
 *                                        10 .. MAX rules, each in a child
 *   bench_policy conntrack N [TSV]       ward_ct memory with N entries
 *   bench_policy packet ROUNDS MAX [TSV] per-packet cost, BPF_PROG_TEST_RUN
 *   bench_policy policy N [audit]        print the generated policy (JSON)
 *
 * Per-packet cost: the real Ward programs against an empty XDP program and
 * xdp-filter (both of its modes), every (configuration, packet mix) once per
 * round in a shuffled order, medians of per-round values and ratios.
 * "Hot" mixes run each of 64 distinct packets REPEAT times (caches warm, as
 * test_run does); "cold" mixes run each of NCOLD distinct flows once, so a
 * flow is new to conntrack (whose table is emptied before every round) and
 * the syscall between two packets cools the caches as other traffic would.
 * Markdown goes to stdout; machine-readable rows to TSV when given.
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
#include "heap.h"
#include "loader.h"
#include "log.h"
#include "pktgen.h"
#include "ward.skel.h"

#define NHOT    64     /* distinct packets of a hot mix                 */
#define NCOLD   4096   /* distinct flows of a cold mix, one run each    */
#define REPEAT  2000   /* BPF_PROG_TEST_RUN repeats per hot packet      */
#define MAXROUNDS 64
#define XDPF_MAX_IPS 10000 /* xdp-filter's address maps hold this many  */
#define XDPF_DIR "/usr/lib/x86_64-linux-gnu/bpf"

static const int sizes[] = { 10, 1000, 10000, 100000 };
#define NSIZES (int)(sizeof(sizes) / sizeof(sizes[0]))

static FILE *tsv;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the generated policy ------------------------------------------------ */
/*
 * Clustered, realistic: tenants of /24s (IPv4) and /56s (IPv6) under
 * 10.0.0.0/8 and 2001:db8::/32; each rule is a tenant group, a host inside
 * it or (one rule in 50) a whole /16 aggregate; service ports (70% one, 20%
 * two, 10% a range); TCP, one rule in 4 UDP; 5% deny rules (i % 20 == 9);
 * 10% of the rules carry a rate limit (i % 10 == 5).
 */
static int ngroups_of(int n)
{
	return n / 4 + 1;
}

static int rule_port(int i)
{
	return 1000 + (i * 7) % 60000;
}

static int rule_is_deny(int i)
{
	return i % 20 == 9;
}

static int rule_is_rl(int i)
{
	return i % 10 == 5;
}

static int rule_from_group(int i)
{
	return i % 50 != 49 && i % 3 != 1;
}

static int rule_proto(int i)
{
	return i % 4 == 3 ? IPPROTO_UDP : IPPROTO_TCP;
}

static char *gen_policy(int n, int audit)
{
	size_t cap = 512 + (size_t)n * 220, o = 0;
	char *s = malloc(cap);
	int ngroups = ngroups_of(n);

	o += sprintf(s + o,
		     "{\"version\":1,\"name\":\"bench-%d\",\"revision\":1,\"mode\":\"%s\","
		     "\"rate_limits\":{\"api\":{\"pps\":100000,\"burst\":200000}},\"groups\":{",
		     n, audit ? "audit" : "enforce");
	for (int g = 0; g < ngroups; g++)
		o += sprintf(s + o, "%s\"t%d\":[\"10.%d.%d.0/24\",\"2001:db8:%x:%x00::/56\"]",
			     g ? "," : "", g, (g >> 8) & 255, g & 255, (g >> 8) & 0xffff, g & 255);
	o += sprintf(s + o, "},\"ingress\":[");
	for (int i = 0; i < n; i++) {
		int g = i % ngroups, port = rule_port(i);
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
		o += sprintf(s + o, "%s{\"id\":\"r%d\",%s%s\"from\":[%s],\"proto\":\"%s\",\"ports\":[%s]}",
			     i ? "," : "", i, rule_is_deny(i) ? "\"action\":\"deny\"," : "",
			     rule_is_rl(i) ? "\"rate_limit\":\"api\"," : "", from,
			     rule_proto(i) == IPPROTO_UDP ? "udp" : "tcp", ports);
	}
	o += sprintf(s + o, "]}");
	return s;
}

static int compile_text(const char *text, int n, struct policy *p, struct compiled *c)
{
	struct compile_limits lim = { .max_rules = (size_t)n };
	struct diags d = {};

	if (policy__parse(text, strlen(text), p, &d) || policy__compile_limits(p, &lim, c, &d)) {
		diags__print(&d, "bench", stderr);
		diags__free(&d);
		return -1;
	}
	diags__free(&d);
	return 0;
}

/* ---- control plane ------------------------------------------------------- */
struct cp_result {
	double parse_s, compile_s, load_s, publish_s;
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

/* Kernel memory of the live slot's lookup tables (the inner maps). */
static long tables_kib(struct ward *w)
{
	static const char *const outer[] = { "ward_atab_slots", "ward_ptab_slots",
					      "ward_ival_slots" };
	__u32 zero = 0, slot = 0;
	long kib = 0;

	if (bpf_map_lookup_elem(ward__map_fd(w, "ward_active"), &zero, &slot))
		return 0;
	slot &= 1;
	for (size_t i = 0; i < sizeof(outer) / sizeof(outer[0]); i++) {
		__u32 id = 0;
		int fd;

		if (bpf_map_lookup_elem(ward__map_fd(w, outer[i]), &slot, &id))
			continue;
		fd = bpf_map_get_fd_by_id(id);
		if (fd < 0)
			continue;
		kib += fdinfo_memlock(fd) / 1024;
		close(fd);
	}
	return kib;
}

/* One control-plane measurement in a child, so its RSS is its own. */
static int control_plane(int n, struct cp_result *r)
{
	struct ward_load_opts lo = { .max_rules = (size_t)n, .ct_size = 1024 };
	struct compiled c;
	struct policy p;
	struct ward w;
	char *text = gen_policy(n, 0);
	double t0, t1, t2, t25, t3;
	struct compile_limits lim = { .max_rules = (size_t)n };
	struct diags d = {};
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
	if (ward__load_ex(&w, NULL, &lo))
		return -1;
	t25 = now_s();
	if (ward__publish(&w, &c, &p))
		return -1;
	t3 = now_s();
	getrusage(RUSAGE_SELF, &ru);
	r->parse_s = t1 - t0;
	r->compile_s = t2 - t1;
	r->load_s = t25 - t2;
	r->publish_s = t3 - t25;
	r->rss_kib = ru.ru_maxrss;
	r->naddrs = c.naddrs;
	r->nentries = c.nrules;
	r->nclasses = c.nclasses - 1;
	r->map_kib = tables_kib(&w);
	return 0;
}

#define CP_REPEAT 3 /* control-plane runs per size; medians reported */

static double med3(double a, double b, double c)
{
	return a > b ? (b > c ? b : (a > c ? c : a)) : (a > c ? a : (b > c ? c : b));
}

static int cmd_control(int maxn)
{
	printf("## Control plane (each size in its own process, %d runs, medians)\n\n", CP_REPEAT);
	printf("| rules | classes | address entries | rule entries | parse s | compile s | "
	       "publish s | apply s (parse+compile+publish) | program load s | peak RSS MiB | "
	       "policy map KiB |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (int i = 0; i < NSIZES && sizes[i] <= maxn; i++) {
		struct cp_result rr[CP_REPEAT] = {}, r;

		for (int k = 0; k < CP_REPEAT; k++) {
			int pfd[2], st;
			pid_t pid;

			if (pipe(pfd))
				return 1;
			fflush(stdout);
			pid = fork();
			if (pid == 0) {
				int rc = control_plane(sizes[i], &rr[k]);

				if (write(pfd[1], &rr[k], sizeof(rr[k])) != sizeof(rr[k]))
					_exit(1);
				_exit(rc ? 1 : 0);
			}
			close(pfd[1]);
			if (read(pfd[0], &rr[k], sizeof(rr[k])) != sizeof(rr[k]) ||
			    waitpid(pid, &st, 0) < 0 || st) {
				fprintf(stderr, "control plane at %d rules failed\n", sizes[i]);
				return 1;
			}
			close(pfd[0]);
		}
		/* each figure the median of its runs (timings vary, sizes do not) */
		r = rr[0];
		r.parse_s = med3(rr[0].parse_s, rr[1].parse_s, rr[2].parse_s);
		r.compile_s = med3(rr[0].compile_s, rr[1].compile_s, rr[2].compile_s);
		r.load_s = med3(rr[0].load_s, rr[1].load_s, rr[2].load_s);
		r.publish_s = med3(rr[0].publish_s, rr[1].publish_s, rr[2].publish_s);
		r.rss_kib = (long)med3(rr[0].rss_kib, rr[1].rss_kib, rr[2].rss_kib);
		printf("| %d | %zu | %zu | %zu | %.3f | %.3f | %.3f | %.3f | %.3f | %.1f | %ld |\n",
		       sizes[i], r.nclasses, r.naddrs, r.nentries, r.parse_s, r.compile_s, r.publish_s,
		       r.parse_s + r.compile_s + r.publish_s, r.load_s, r.rss_kib / 1024.0, r.map_kib);
		if (tsv)
			fprintf(tsv,
				"control\t%d\tclasses=%zu\taddr_entries=%zu\trule_entries=%zu\t"
				"parse_s=%.4f\tcompile_s=%.4f\tpublish_s=%.4f\ttotal_s=%.4f\t"
				"load_s=%.4f\trss_mib=%.1f\tmap_kib=%ld\n",
				sizes[i], r.nclasses, r.naddrs, r.nentries, r.parse_s, r.compile_s,
				r.publish_s, r.parse_s + r.compile_s + r.publish_s, r.load_s,
				r.rss_kib / 1024.0, r.map_kib);
		fflush(stdout);
	}
	return 0;
}

/* ward_ct memory: an LRU hash is preallocated, so memlock is the figure;
 * filled to N entries to show it does not grow. */
static int cmd_conntrack(long n)
{
	struct ward_load_opts lo = { .no_ct = false, .ct_size = (size_t)n };
	struct ward w;
	long empty_kib, full_kib;
	double t0, t1;
	int fd;
	long i;

	if (ward__load_ex(&w, NULL, &lo)) {
		fprintf(stderr, "conntrack: load with --ct-size %ld failed\n", n);
		return 1;
	}
	fd = ward__map_fd(&w, "ward_ct");
	if (fd < 0)
		return 1;
	empty_kib = fdinfo_memlock(fd) / 1024;
	t0 = now_s();
	for (i = 0; i < n; i++) {
		struct ward_ct_key k = { .family = WARD_FAM_V4, .proto = IPPROTO_TCP };
		struct ward_ct_val v = { .state = WARD_CT_ESTABLISHED };

		k.rport = htons((uint16_t)(1024 + i % 60000));
		k.lport = htons(443);
		k.raddr[0] = 10, k.raddr[1] = (uint8_t)(i >> 16), k.raddr[2] = (uint8_t)(i >> 8);
		k.raddr[3] = (uint8_t)i;
		k.laddr[0] = 192, k.laddr[1] = 0, k.laddr[2] = 2, k.laddr[3] = 1;
		if (bpf_map_update_elem(fd, &k, &v, BPF_NOEXIST))
			break;
	}
	t1 = now_s();
	full_kib = fdinfo_memlock(fd) / 1024;
	printf("## Conntrack memory\n\n");
	printf("| ward_ct entries | filled | memlock empty MiB | memlock filled MiB | bytes/entry | fill s |\n"
	       "|---|---|---|---|---|---|\n");
	printf("| %ld | %ld | %.1f | %.1f | %.0f | %.2f |\n\n", n, i, empty_kib / 1024.0,
	       full_kib / 1024.0, full_kib * 1024.0 / (double)n, t1 - t0);
	printf("key %zu bytes, value %zu bytes (include/ward/abi.h); the LRU hash is preallocated "
	       "at load, so the memory is taken whether the table is full or not.\n\n",
	       sizeof(struct ward_ct_key), sizeof(struct ward_ct_val));
	if (tsv)
		fprintf(tsv, "conntrack\t%ld\tfilled=%ld\tmemlock_mib=%.1f\tbytes_per_entry=%.0f\n", n,
			i, full_kib / 1024.0, full_kib * 1024.0 / (double)n);
	ward__close(&w);
	return 0;
}

/* ---- packet mixes -------------------------------------------------------- */
enum mix_kind {
	MX_ALLOW,     /* allowed by a rule without rate limit             */
	MX_RL,        /* allowed by a rule with a rate limit              */
	MX_DENY_RULE, /* denied by a deny rule                            */
	MX_DENY_DEF,  /* outside every prefix: denied by the default      */
	MX_MISS,      /* inside the clustered space, in no prefix (v6)    */
	MX_KINDS,
};
static const char *const mix_keys[MX_KINDS] = { "allow", "rl", "deny_rule", "deny_def", "miss" };

struct mix {
	int n;
	uint8_t (*frames)[128];
	size_t *len;
};

static void mix_alloc(struct mix *m, int n)
{
	m->n = n;
	m->frames = calloc((size_t)n, 128);
	m->len = calloc((size_t)n, sizeof(size_t));
}

static size_t frame_v4(uint8_t *buf, uint32_t src, uint8_t proto, uint16_t sport, uint16_t dport)
{
	struct pkt_spec s = { .family = 4, .proto = proto, .sport = sport, .dport = dport };

	src = htonl(src);
	memcpy(s.src, &src, 4);
	s.dst[0] = 192, s.dst[1] = 0, s.dst[2] = 2, s.dst[3] = 1;
	return pktgen_build(&s, buf, 128);
}

static size_t frame_v6(uint8_t *buf, int g, int host, uint8_t proto, uint16_t sport, uint16_t dport)
{
	struct pkt_spec s = { .family = 6, .proto = proto, .sport = sport, .dport = dport };

	s.src[0] = 0x20, s.src[1] = 0x01, s.src[2] = 0x0d, s.src[3] = 0xb8;
	s.src[4] = (uint8_t)((g >> 8) >> 8), s.src[5] = (uint8_t)((g >> 8) & 255);
	s.src[6] = (uint8_t)(g & 255), s.src[14] = (uint8_t)(host >> 8), s.src[15] = (uint8_t)host;
	s.dst[0] = 0x20, s.dst[1] = 0x01, s.dst[2] = 0x0d, s.dst[3] = 0xb8, s.dst[15] = 1;
	return pktgen_build(&s, buf, 128);
}

static int rule_fits(enum mix_kind kind, int i)
{
	switch (kind) {
	case MX_ALLOW:
		return rule_from_group(i) && !rule_is_deny(i) && !rule_is_rl(i);
	case MX_RL:
		return rule_from_group(i) && rule_is_rl(i);
	case MX_DENY_RULE:
		return rule_from_group(i) && rule_is_deny(i);
	default:
		return 1;
	}
}

/*
 * Frame k of a mix of the given kind at n rules; sport makes flows distinct.
 * Rules are visited in a scattered order (k * 7919), so a mix spreads over
 * the whole rule set. Returns 0 when no rule fits.
 */
static size_t build_frame(uint8_t *buf, enum mix_kind kind, int v6, int n, int k, int *cursor,
			  uint16_t sport)
{
	int ngroups = ngroups_of(n), i = -1;

	if (kind == MX_DENY_DEF) {
		if (v6)
			return frame_v6(buf, 0xffff00 | (k & 255), 1, IPPROTO_TCP, sport, 22);
		return frame_v4(buf, 198u << 24 | 51 << 16 | 100 << 8 | (k & 255), IPPROTO_TCP,
				sport, 22);
	}
	if (kind == MX_MISS) {
		int maxg = ngroups - 1, lo0 = (maxg & 255) + 1;
		int g = (maxg & ~255) | (lo0 + k % (256 - lo0));

		return frame_v6(buf, g, 1 + k % 200, IPPROTO_TCP, sport, (uint16_t)rule_port(0));
	}
	for (int t = 0; t < n; t++) {
		int c = (int)(((long)(*cursor) * 7919 + t) % n);

		if (rule_fits(kind, c)) {
			i = c;
			break;
		}
	}
	(*cursor)++;
	if (i < 0)
		return 0;
	{
		int g = i % ngroups;
		uint16_t port = (uint16_t)rule_port(i);

		if (v6)
			return frame_v6(buf, g, 0x250, (uint8_t)rule_proto(i), sport, port);
		return frame_v4(buf, 10u << 24 | (uint32_t)((g >> 8) & 255) << 16 |
					     (uint32_t)(g & 255) << 8 | 250,
				(uint8_t)rule_proto(i), sport, port);
	}
}

/* Expected XDP verdict of a kind under enforce. */
static int kind_passes(enum mix_kind kind)
{
	return kind == MX_ALLOW || kind == MX_RL;
}

static int run_once(int prog_fd, const uint8_t *frame, size_t len, __u32 repeat, __u32 *retval,
		    __u32 *duration)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -errno;
	if (retval)
		*retval = o.retval;
	if (duration)
		*duration = o.duration;
	return 0;
}

/*
 * Fill a mix with frames of one kind whose verdict under verify_fd (Ward,
 * enforce, no conntrack) is the expected one; a frame that is not is skipped
 * (counted in *skipped), so every measured packet takes the path it names.
 */
static int fill_mix(struct mix *m, int count, enum mix_kind kind, int v6, int n, int verify_fd,
		    int sport_base, int *skipped)
{
	int cursor = 0, k = 0, tries = 0;

	mix_alloc(m, count);
	while (k < count && tries < count * 20) {
		size_t len = build_frame(m->frames[k], kind, v6, n, tries, &cursor,
					 (uint16_t)(sport_base + k % 20000));
		__u32 ret = 0;

		tries++;
		if (!len)
			return -1;
		if (run_once(verify_fd, m->frames[k], len, 1, &ret, NULL))
			return -1;
		if ((ret == XDP_PASS) != kind_passes(kind)) {
			(*skipped)++;
			continue;
		}
		m->len[k++] = len;
	}
	return k == count ? 0 : -1;
}

/* ---- configurations -------------------------------------------------------- */
struct winst {
	struct ward w;
	int prog_fd;
	int ct_fd; /* -1 without conntrack */
};

static int winst_load(struct winst *wi, const struct compiled *c, const struct policy *p, int n,
		      int ct)
{
	struct ward_load_opts lo = { .no_ct = !ct, .max_rules = (size_t)n,
				     .ct_size = ct ? 262144 : 1024 };

	int err = ward__load_ex(&wi->w, NULL, &lo);

	if (!err)
		err = ward__publish(&wi->w, c, p);
	if (err) {
		fprintf(stderr, "%s: %s\n", ct ? "conntrack on" : "conntrack off", strerror(-err));
		return -1;
	}
	wi->prog_fd = bpf_program__fd(wi->w.skel->progs.xdp_ingress);
	wi->ct_fd = ct ? ward__map_fd(&wi->w, "ward_ct") : -1;
	return 0;
}

/* Empty conntrack: keys first, then deletes (no rescans). */
static void ct_clear(int fd)
{
	static struct ward_ct_key keys[1 << 18];
	struct ward_ct_key *prev = NULL;
	int n = 0;

	if (fd < 0)
		return;
	while (n < (int)(sizeof(keys) / sizeof(keys[0])) &&
	       !bpf_map_get_next_key(fd, prev, &keys[n])) {
		prev = &keys[n];
		n++;
	}
	for (int i = 0; i < n; i++)
		(void)bpf_map_delete_elem(fd, &keys[i]);
}

static int ncpus;

/* xdp-filter with its maps unpinned (the object pins by name otherwise). */
static struct bpf_object *xdpf_open(const char *file)
{
	char path[256];
	struct bpf_object *o;
	struct bpf_map *m;

	snprintf(path, sizeof(path), "%s/%s", XDPF_DIR, file);
	log_libbpf_quiet(1);
	o = bpf_object__open_file(path, NULL);
	if (!o) {
		log_libbpf_quiet(0);
		return NULL;
	}
	bpf_object__for_each_map(m, o)
		(void)bpf_map__set_pin_path(m, NULL);
	if (bpf_object__load(o)) {
		bpf_object__close(o);
		log_libbpf_quiet(0);
		return NULL;
	}
	log_libbpf_quiet(0);
	return o;
}

/* xdp-filter's flag bits (xdp-filter/common_kern_user.h) */
#define XF_SRC 1
#define XF_DST 2
#define XF_TCP 4
#define XF_UDP 8

static void xdpf_put(int fd, const void *key, __u64 flags)
{
	__u64 *v = calloc((size_t)ncpus, sizeof(__u64)); /* per-CPU maps */

	for (int c = 0; c < ncpus; c++)
		v[c] = flags;
	(void)bpf_map_update_elem(fd, key, v, BPF_ANY);
	free(v);
}

/*
 * The nearest xdp-filter can come to the same allow-list: exact source
 * addresses (those the allowed mixes use, then others of the rule set up to
 * min(n, 10000) per family) and the destination ports of the rules (up to
 * 65536, an array). Packets of the denied mixes match neither.
 */
static int xdpf_fill(struct bpf_object *o, int n, struct mix *allow4, struct mix *allow6,
		     struct mix *cold4, struct mix *cold6)
{
	int ngroups = ngroups_of(n), want = n < XDPF_MAX_IPS ? n : XDPF_MAX_IPS;
	struct bpf_map *m;

	bpf_object__for_each_map(m, o) {
		const char *name = bpf_map__name(m);
		int fd = bpf_map__fd(m);

		if (!strcmp(name, "filter_ports")) {
			for (int i = 0; i < n && i < 65536; i++) {
				__u32 port = htons((uint16_t)rule_port(i));

				if (!rule_is_deny(i))
					xdpf_put(fd, &port, XF_DST | XF_TCP | XF_UDP);
			}
		} else if (!strcmp(name, "filter_ipv4")) {
			int put = 0;

			for (int k = 0; k < allow4->n; k++, put++)
				xdpf_put(fd, allow4->frames[k] + 14 + 12, XF_SRC);
			for (int k = 0; k < cold4->n; k++, put++)
				xdpf_put(fd, cold4->frames[k] + 14 + 12, XF_SRC);
			for (int i = 0; put < want && i < n; i++, put++) {
				__u32 a = htonl(10u << 24 | (uint32_t)((i % ngroups >> 8) & 255) << 16 |
						(uint32_t)(i % ngroups & 255) << 8 | (1 + i % 200));

				xdpf_put(fd, &a, XF_SRC);
			}
		} else if (!strcmp(name, "filter_ipv6")) {
			int put = 0;

			for (int k = 0; k < allow6->n; k++, put++)
				xdpf_put(fd, allow6->frames[k] + 14 + 8, XF_SRC);
			for (int k = 0; k < cold6->n; k++, put++)
				xdpf_put(fd, cold6->frames[k] + 14 + 8, XF_SRC);
			for (int i = 0; put < want && i < n; i++, put++) {
				uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8 };
				int g = i % ngroups;

				a[5] = (uint8_t)(g >> 8), a[6] = (uint8_t)g, a[15] = (uint8_t)(1 + i % 200);
				xdpf_put(fd, a, XF_SRC);
			}
		}
	}
	return 0;
}

/* ---- the measurements ------------------------------------------------------ */
enum meas_kind { HOT, COLD };

struct meas {
	char key[64];       /* machine-readable name                        */
	char label[96];     /* table label                                  */
	int size_idx, v6;
	int prog_fd;
	int ct_fd;          /* conntrack emptied before every round, or -1  */
	struct mix *mix;
	enum meas_kind how;
	int expect_pass;    /* -1 any                                        */
	int ref;            /* index of the xdp-filter measurement, or -1   */
	int base;           /* the same at 10 rules, or -1                   */
	double v[MAXROUNDS];
	long bad;           /* runs whose verdict was not the expected one  */
};

static struct meas meas[512];
static int nmeas;

static struct meas *add_meas(const char *key, const char *label, int si, int v6, int fd, int ct_fd,
			     struct mix *mx, enum meas_kind how, int expect_pass)
{
	struct meas *m = &meas[nmeas++];

	snprintf(m->key, sizeof(m->key), "%s", key);
	snprintf(m->label, sizeof(m->label), "%s", label);
	m->size_idx = si;
	m->v6 = v6;
	m->prog_fd = fd;
	m->ct_fd = ct_fd;
	m->mix = mx;
	m->how = how;
	m->expect_pass = expect_pass;
	m->ref = m->base = -1;
	return m;
}

static int find_meas(const char *key, int si, int v6)
{
	for (int i = 0; i < nmeas; i++)
		if (!strcmp(meas[i].key, key) && meas[i].size_idx == si && meas[i].v6 == v6)
			return i;
	return -1;
}

/* Average ns per packet over a mix. */
static double run_meas(struct meas *m)
{
	double total = 0;
	__u32 repeat = m->how == HOT ? REPEAT : 1;

	for (int k = 0; k < m->mix->n; k++) {
		__u32 ret = 0, dur = 0;

		if (run_once(m->prog_fd, m->mix->frames[k], m->mix->len[k], repeat, &ret, &dur))
			return -1;
		if (m->expect_pass >= 0 && (ret == XDP_PASS) != m->expect_pass)
			m->bad++;
		total += dur;
	}
	return total / m->mix->n;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double t[MAXROUNDS];

	memcpy(t, v, sizeof(double) * n);
	qsort(t, n, sizeof(*t), cmp_d);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static double median_ratio(const struct meas *a, const struct meas *b, int rounds)
{
	double r[MAXROUNDS];

	for (int i = 0; i < rounds; i++)
		r[i] = a->v[i] / b->v[i];
	return median(r, rounds);
}

static struct winst w_ct[NSIZES], w_noct[NSIZES], w_audit[NSIZES];
static struct mix hot[NSIZES][2][MX_KINDS], cold_allow[NSIZES][2], cold_rl[NSIZES][2],
	cold_deny[NSIZES][2];

static int load_size(int si, int *skipped)
{
	int n = sizes[si];
	struct compiled c, ca;
	struct policy p, pa;
	char *text = gen_policy(n, 0), *atext = gen_policy(n, 1);

	if (compile_text(text, n, &p, &c) || compile_text(atext, n, &pa, &ca))
		return -1;
	if (winst_load(&w_ct[si], &c, &p, n, 1) || winst_load(&w_noct[si], &c, &p, n, 0) ||
	    winst_load(&w_audit[si], &ca, &pa, n, 1)) {
		fprintf(stderr, "load at %d rules failed\n", n);
		return -1;
	}
	for (int v6 = 0; v6 < 2; v6++) {
		for (int k = 0; k < MX_KINDS; k++) {
			if (k == MX_MISS && !v6)
				continue;
			if (fill_mix(&hot[si][v6][k], NHOT, k, v6, n, w_noct[si].prog_fd,
				     1024 + k * 100, skipped)) {
				fprintf(stderr, "no %s mix at %d rules\n", mix_keys[k], n);
				return -1;
			}
		}
		if (fill_mix(&cold_allow[si][v6], NCOLD, MX_ALLOW, v6, n, w_noct[si].prog_fd, 20000,
			     skipped) ||
		    fill_mix(&cold_rl[si][v6], NCOLD, MX_RL, v6, n, w_noct[si].prog_fd, 40000,
			     skipped) ||
		    fill_mix(&cold_deny[si][v6], NCOLD, MX_DENY_RULE, v6, n, w_noct[si].prog_fd,
			     20000, skipped)) {
			fprintf(stderr, "no cold mix at %d rules\n", n);
			return -1;
		}
	}
	compiled__free(&c);
	compiled__free(&ca);
	policy__free(&p);
	policy__free(&pa);
	free(text);
	free(atext);
	return 0;
}

/* The probe programs on the live slot of w_noct[si]. */
static int load_probe(int si, int fds[5])
{
	static const char *const shared[] = { "ward_atab_slots", "ward_ptab_slots",
					      "ward_ival_slots", "ward_lookup" };
	struct bpf_object *o = bpf_object__open_file("build/bench/lookup_probe.bpf.o", NULL);
	__u32 zero = 0, slot = 0;
	struct bpf_map *ro;

	if (!o)
		return -1;
	if (bpf_map_lookup_elem(bpf_map__fd(w_noct[si].w.skel->maps.ward_active), &zero, &slot))
		return -1;
	slot &= 1;
	ro = bpf_object__find_map_by_name(o, ".rodata");
	if (!ro || bpf_map__set_initial_value(ro, &slot, sizeof(slot)))
		return -1;
	for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++)
		if (bpf_map__reuse_fd(bpf_object__find_map_by_name(o, shared[i]),
				      ward__map_fd(&w_noct[si].w, shared[i])))
			return -1;
	if (bpf_map__reuse_fd(bpf_object__find_map_by_name(o, "probe_ct"), w_ct[si].ct_fd))
		return -1;
	if (bpf_object__load(o))
		return -1;
	fds[3] = bpf_program__fd(bpf_object__find_program_by_name(o, "probe_ktime"));
	fds[4] = bpf_program__fd(bpf_object__find_program_by_name(o, "probe_ctmiss"));
	fds[0] = bpf_program__fd(bpf_object__find_program_by_name(o, "probe_parse"));
	fds[1] = bpf_program__fd(bpf_object__find_program_by_name(o, "probe_addr"));
	fds[2] = bpf_program__fd(bpf_object__find_program_by_name(o, "probe_full"));
	return 0;
}

static const char *fam(int v6)
{
	return v6 ? "IPv6" : "IPv4";
}

static void print_row(const struct meas *m, int rounds, const struct meas *empty)
{
	double med = median(m->v, rounds);

	printf("| %d | %s | %s | %.1f |", sizes[m->size_idx], fam(m->v6), m->label, med);
	if (empty)
		printf(" %.1f |", med - median(empty->v, rounds));
	if (m->ref >= 0)
		printf(" %.2f |", median_ratio(m, &meas[m->ref], rounds));
	else
		printf(" – |");
	if (m->base >= 0)
		printf(" %.3f |", median_ratio(m, &meas[m->base], rounds));
	else
		printf(" – |");
	printf("\n");
}

static void tsv_row(const struct meas *m, int rounds, const struct meas *empty)
{
	if (!tsv)
		return;
	fprintf(tsv, "packet\t%d\t%s\t%s\tns=%.2f", sizes[m->size_idx], m->v6 ? "v6" : "v4", m->key,
		median(m->v, rounds));
	if (empty)
		fprintf(tsv, "\tnet_ns=%.2f", median(m->v, rounds) - median(empty->v, rounds));
	if (m->ref >= 0)
		fprintf(tsv, "\tvs_xdpf=%.4f", median_ratio(m, &meas[m->ref], rounds));
	if (m->base >= 0)
		fprintf(tsv, "\tvs_10=%.4f", median_ratio(m, &meas[m->base], rounds));
	fprintf(tsv, "\tbad=%ld\n", m->bad);
}

static int cmd_packet(int rounds, int maxn)
{
	struct bpf_object *xf_allow[NSIZES], *xf_deny[NSIZES], *empty_obj;
	int nsz = 0, skipped = 0, probe[NSIZES][5];
	int empty_fd, e_hot, e_cold;
	double t0 = now_s();

	if (rounds > MAXROUNDS)
		rounds = MAXROUNDS;
	if (rounds < 1)
		rounds = 1;
	ncpus = libbpf_num_possible_cpus();
	empty_obj = bpf_object__open_file("build/bench/empty.bpf.o", NULL);
	if (!empty_obj || bpf_object__load(empty_obj)) {
		fprintf(stderr, "cannot load the empty XDP program\n");
		return 1;
	}
	empty_fd = bpf_program__fd(bpf_object__next_program(empty_obj, NULL));
	for (int si = 0; si < NSIZES && sizes[si] <= maxn; si++, nsz++) {
		if (load_size(si, &skipped) || load_probe(si, probe[si]))
			return 1;
		/* xdp-filter: dny_all = `xdp-filter load -p deny` (allow-list: a match
		 * passes, the rest drops); alw_all = `-p allow` (a match drops). */
		xf_allow[si] = xdpf_open("xdpfilt_dny_all.o");
		xf_deny[si] = xdpf_open("xdpfilt_alw_all.o");
		if (!xf_allow[si] || !xf_deny[si]) {
			fprintf(stderr, "cannot load xdp-filter's objects from %s\n", XDPF_DIR);
			return 1;
		}
		xdpf_fill(xf_allow[si], sizes[si], &hot[si][0][MX_ALLOW], &hot[si][1][MX_ALLOW],
			  &cold_allow[si][0], &cold_allow[si][1]);
		xdpf_fill(xf_deny[si], sizes[si], &hot[si][0][MX_ALLOW], &hot[si][1][MX_ALLOW],
			  &cold_allow[si][0], &cold_allow[si][1]);
	}
	/* anchors: the empty program, hot and cold, on the IPv4 allowed mix */
	e_hot = nmeas;
	add_meas("empty", "empty XDP program", 0, 0, empty_fd, -1, &hot[0][0][MX_ALLOW], HOT, 1);
	e_cold = nmeas;
	add_meas("empty_cold", "empty XDP program", 0, 0, empty_fd, -1, &cold_allow[0][0], COLD, 1);
	for (int si = 0; si < nsz; si++) {
		for (int v6 = 0; v6 < 2; v6++) {
			int xa = xf_allow[si] ? bpf_program__fd(bpf_object__next_program(xf_allow[si], NULL)) : -1;
			int xd = xf_deny[si] ? bpf_program__fd(bpf_object__next_program(xf_deny[si], NULL)) : -1;
			struct mix *h = hot[si][v6];
			int ct = w_ct[si].ct_fd;

			/* peers */
			add_meas("xdpf_allow", "xdp-filter allow-list (-p deny): allowed", si, v6, xa, -1, &h[MX_ALLOW], HOT, 1);
			add_meas("xdpf_allow_deny", "xdp-filter allow-list (-p deny): denied", si, v6, xa, -1, &h[MX_DENY_DEF], HOT, 0);
			add_meas("xdpf_denylist", "xdp-filter deny-list (-p allow, xdpfilt_alw_all): listed source", si, v6, xd, -1, &h[MX_ALLOW], HOT, 0);
			add_meas("xdpf_allow_cold", "xdp-filter allow-list (-p deny): allowed", si, v6, xa, -1, &cold_allow[si][v6], COLD, 1);
			/* Ward, hot */
			add_meas("established", "Ward: established flow (conntrack hit)", si, v6, w_ct[si].prog_fd, -1, &h[MX_ALLOW], HOT, 1);
			add_meas("decide_allow", "Ward: policy decision, allowed (conntrack off)", si, v6, w_noct[si].prog_fd, -1, &h[MX_ALLOW], HOT, 1);
			add_meas("decide_rl", "Ward: policy decision, allowed by a rate-limited rule (conntrack off)", si, v6, w_noct[si].prog_fd, -1, &h[MX_RL], HOT, 1);
			add_meas("decide_deny_rule", "Ward: policy decision, denied by a deny rule (conntrack off)", si, v6, w_noct[si].prog_fd, -1, &h[MX_DENY_RULE], HOT, 0);
			add_meas("decide_deny_def", "Ward: policy decision, denied by default (conntrack off)", si, v6, w_noct[si].prog_fd, -1, &h[MX_DENY_DEF], HOT, 0);
			add_meas("deny_rule", "Ward: denied by a deny rule", si, v6, w_ct[si].prog_fd, -1, &h[MX_DENY_RULE], HOT, 0);
			add_meas("deny_def", "Ward: denied by default, outside every prefix", si, v6, w_ct[si].prog_fd, -1, &h[MX_DENY_DEF], HOT, 0);
			if (v6)
				add_meas("miss", "Ward: clustered miss (address lookup only, then default deny)", si, v6, w_ct[si].prog_fd, -1, &h[MX_MISS], HOT, 0);
			add_meas("probe_parse", "probe: parse only", si, v6, probe[si][0], -1, &h[MX_ALLOW], HOT, 1);
			add_meas("probe_addr", "probe: parse + address lookup", si, v6, probe[si][1], -1, &h[MX_ALLOW], HOT, 1);
			add_meas("probe_full", "probe: parse + address lookup + port lookups", si, v6, probe[si][2], -1, &h[MX_ALLOW], HOT, 1);
			add_meas("probe_ktime", "probe: parse + bpf_ktime_get_ns()", si, v6, probe[si][3], -1, &h[MX_DENY_DEF], HOT, 1);
			add_meas("probe_ctmiss", "probe: parse + conntrack lookup (miss)", si, v6, probe[si][4], -1, &h[MX_DENY_DEF], HOT, 0);
			/* Ward, cold: every flow new to conntrack */
			add_meas("new_allow", "Ward: new allowed flow (conntrack miss + insert)", si, v6, w_ct[si].prog_fd, ct, &cold_allow[si][v6], COLD, 1);
			add_meas("new_rl", "Ward: new allowed flow, rate-limited rule", si, v6, w_ct[si].prog_fd, ct, &cold_rl[si][v6], COLD, 1);
			add_meas("new_deny", "Ward: new flow denied by a deny rule", si, v6, w_ct[si].prog_fd, ct, &cold_deny[si][v6], COLD, 0);
			add_meas("audit", "Ward audit mode: would-be deny passes (new flow)", si, v6, w_audit[si].prog_fd, w_audit[si].ct_fd, &cold_deny[si][v6], COLD, 1);
		}
	}
	/* references: the xdp-filter path a Ward path is held against */
	for (int i = 0; i < nmeas; i++) {
		struct meas *m = &meas[i];
		const char *ref = NULL;

		if (!strncmp(m->key, "deny_", 5) || !strncmp(m->key, "decide_deny", 11) ||
		    !strcmp(m->key, "miss"))
			ref = "xdpf_allow_deny";
		else if (!strcmp(m->key, "probe_ktime") || !strcmp(m->key, "probe_ctmiss"))
			ref = "xdpf_allow_deny";
		else if (!strcmp(m->key, "established") || !strncmp(m->key, "decide_", 7) ||
			 !strncmp(m->key, "probe_", 6))
			ref = "xdpf_allow";
		else if (0)
			ref = "xdpf_allow_deny";
		else if (!strncmp(m->key, "new_", 4) || !strcmp(m->key, "audit"))
			ref = "xdpf_allow_cold";
		if (ref)
			m->ref = find_meas(ref, m->size_idx, m->v6);
		if (strncmp(m->key, "empty", 5))
			m->base = find_meas(m->key, 0, m->v6);
	}
	fprintf(stderr, "bench: %d configurations x mixes loaded in %.1f s (%d candidate packets "
		"skipped for not taking their path); %d rounds\n", nmeas, now_s() - t0, skipped, rounds);
	/* warm conntrack for the established mixes, then the rounds */
	for (int r = 0; r < rounds; r++) {
		int order[512];

		for (int si = 0; si < nsz; si++) {
			ct_clear(w_ct[si].ct_fd);
			ct_clear(w_audit[si].ct_fd);
		}
		for (int i = 0; i < nmeas; i++) {
			order[i] = i;
			if (!strcmp(meas[i].key, "established"))
				for (int k = 0; k < meas[i].mix->n; k++)
					(void)run_once(meas[i].prog_fd, meas[i].mix->frames[k],
						       meas[i].mix->len[k], 1, NULL, NULL);
		}
		for (int i = nmeas - 1; i > 0; i--) {
			int j = rand() % (i + 1), t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (int i = 0; i < nmeas; i++) {
			struct meas *m = &meas[order[i]];

			m->v[r] = run_meas(m);
			if (m->v[r] < 0) {
				fprintf(stderr, "test_run failed: %s\n", m->label);
				return 1;
			}
		}
		fprintf(stderr, "bench: round %d/%d done (%.0f s)\n", r + 1, rounds, now_s() - t0);
	}
	/* report */
	printf("## Per-packet cost (BPF_PROG_TEST_RUN)\n\n");
	printf("%d rounds; every configuration and mix once per round, in a shuffled order. "
	       "Hot: %d distinct packets x %d repeats. Cold: %d distinct flows, one run each, "
	       "conntrack emptied before every round. Values are medians over rounds; ratios are "
	       "medians of per-round ratios. \"net ns\" = ns minus the empty program's "
	       "ns in the same mode (the harness's own cost).\n\n",
	       rounds, NHOT, REPEAT, NCOLD);
	printf("Anchors: empty XDP program %.1f ns hot, %.1f ns cold.\n\n", median(meas[e_hot].v, rounds),
	       median(meas[e_cold].v, rounds));
	tsv_row(&meas[e_hot], rounds, NULL);
	tsv_row(&meas[e_cold], rounds, NULL);
	for (int pass = 0; pass < 2; pass++) {
		enum meas_kind how = pass ? COLD : HOT;
		int e = how == HOT ? e_hot : e_cold;

		printf("### %s\n\n", how == HOT ? "Hot: 64 packets, 2000 repeats each"
						 : "Cold: 4096 new flows, one run each");
		printf("| rules | family | path | ns/packet | net ns | vs xdp-filter | vs 10 rules |\n"
		       "|---|---|---|---|---|---|---|\n");
		for (int i = 2; i < nmeas; i++) {
			if (meas[i].how != how)
				continue;
			print_row(&meas[i], rounds, &meas[e]);
			tsv_row(&meas[i], rounds, &meas[e]);
		}
		printf("\n");
	}
	/* cost split */
	printf("### Where the time goes (hot, allowed mix; net of the empty program)\n\n");
	printf("| rules | family | parse | address lookup | port lookups (class chain) | conntrack, counters, rest | "
	       "Ward decision (conntrack off) | established |\n|---|---|---|---|---|---|---|---|\n");
	for (int si = 0; si < nsz; si++)
		for (int v6 = 0; v6 < 2; v6++) {
			double e = median(meas[e_hot].v, rounds);
			double pp = median(meas[find_meas("probe_parse", si, v6)].v, rounds);
			double pa = median(meas[find_meas("probe_addr", si, v6)].v, rounds);
			double pf = median(meas[find_meas("probe_full", si, v6)].v, rounds);
			double wd = median(meas[find_meas("decide_allow", si, v6)].v, rounds);
			double es = median(meas[find_meas("established", si, v6)].v, rounds);

			printf("| %d | %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", sizes[si], fam(v6),
			       pp - e, pa - pp, pf - pa, wd - pf, wd - e, es - e);
			if (tsv)
				fprintf(tsv, "split\t%d\t%s\tparse=%.2f\taddr=%.2f\tports=%.2f\trest=%.2f\n",
					sizes[si], v6 ? "v6" : "v4", pp - e, pa - pp, pf - pa, wd - pf);
		}
	printf("\n");
	{
		long bad = 0;

		for (int i = 0; i < nmeas; i++)
			bad += meas[i].bad;
		printf("Verdict check: %ld runs of %d measurements returned a verdict other than the "
		       "one their path names (must be 0).\n\n", bad, nmeas);
		if (tsv)
			fprintf(tsv, "packet_check\tbad_verdicts=%ld\tskipped=%d\n", bad, skipped);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	heap__huge(argv); /* as the agent does (agent/main.c) */
	log_setup_libbpf();
	log_set_level(LOG_LVL_WARN);
	srand(1);
	if (!strcmp(cmd, "policy") && argc > 2) {
		char *t = gen_policy(atoi(argv[2]), argc > 3 && !strcmp(argv[3], "audit"));

		puts(t);
		free(t);
		return 0;
	}
	if (!strcmp(cmd, "control") && argc > 2) {
		if (argc > 3)
			tsv = fopen(argv[3], "a");
		return cmd_control(atoi(argv[2]));
	}
	if (!strcmp(cmd, "conntrack") && argc > 2) {
		if (argc > 3)
			tsv = fopen(argv[3], "a");
		return cmd_conntrack(atol(argv[2]));
	}
	if (!strcmp(cmd, "packet") && argc > 3) {
		if (argc > 4)
			tsv = fopen(argv[4], "a");
		return cmd_packet(atoi(argv[2]), atoi(argv[3]));
	}
	fprintf(stderr, "usage: bench_policy control MAX [TSV] | conntrack N [TSV] | "
			"packet ROUNDS MAX [TSV] | policy N [audit]\n");
	return 2;
}
