// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flood generator for the veth benchmark (tests/bench/flood.sh): loads
 * xdp_gen.bpf.o, pins itself to one CPU and runs the program with
 * BPF_PROG_TEST_RUN + BPF_F_TEST_XDP_LIVE_FRAMES, so every repeat becomes a
 * live XDP frame redirected into --ifname (one end of a veth pair). Runs in
 * the caller's network namespace. Prints one line:
 *   sent=N ns=BUSY_NS wall_ns=WALL_NS
 * Bounded: --count frames at most, in chunks, and never longer than --max-s.
 *
 * usage: bench_flood --obj FILE --ifname IF --cpu N --count N --src IP
 *                    --dst IP --dmac MAC [--dport N] [--sources N] [--max-s S]
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "pktgen.h"

#define CHUNK 1000000 /* frames per BPF_PROG_TEST_RUN call */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "obj", required_argument, NULL, 'o' },   { "ifname", required_argument, NULL, 'i' },
		{ "cpu", required_argument, NULL, 'c' },   { "count", required_argument, NULL, 'n' },
		{ "src", required_argument, NULL, 's' },   { "dst", required_argument, NULL, 'd' },
		{ "dmac", required_argument, NULL, 'm' },  { "dport", required_argument, NULL, 'p' },
		{ "sources", required_argument, NULL, 'S' }, { "max-s", required_argument, NULL, 't' },
		{},
	};
	const char *obj_path = NULL, *ifname = NULL, *src = NULL, *dst = NULL, *dmac = NULL;
	long cpu = 1, count = 1000000, dport = 9, nsources = 0;
	double max_s = 30;
	struct pkt_spec s = { .proto = IPPROTO_UDP, .sport = 40000 };
	uint8_t frame[128], fam2, mac[6];
	size_t len;
	struct bpf_object *obj;
	struct bpf_program *prog;
	cpu_set_t set;
	int c, ifindex, prog_fd;
	long sent = 0;
	double t0, t1, busy_ns = 0;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'o': obj_path = optarg; break;
		case 'i': ifname = optarg; break;
		case 'c': cpu = atol(optarg); break;
		case 'n': count = atol(optarg); break;
		case 's': src = optarg; break;
		case 'd': dst = optarg; break;
		case 'm': dmac = optarg; break;
		case 'p': dport = atol(optarg); break;
		case 'S': nsources = atol(optarg); break;
		case 't': max_s = atof(optarg); break;
		default: return 2;
		}
	}
	if (!obj_path || !ifname || !src || !dst || !dmac || count <= 0) {
		fprintf(stderr, "bench_flood: --obj --ifname --src --dst --dmac are required\n");
		return 2;
	}
	if (pktgen_addr(src, &s.family, s.src) || pktgen_addr(dst, &fam2, s.dst) ||
	    fam2 != s.family || parse_mac(dmac, mac)) {
		fprintf(stderr, "bench_flood: bad address\n");
		return 2;
	}
	s.dport = (uint16_t)dport;
	len = pktgen_build(&s, frame, sizeof(frame));
	if (!len)
		return 1;
	memcpy(frame, mac, 6);
	if (nsources > 1) {
		if (s.family != 4) {
			fprintf(stderr, "bench_flood: --sources is IPv4 only\n");
			return 2;
		}
		frame[14 + 20 + 6] = frame[14 + 20 + 7] = 0; /* UDP checksum 0: none */
	}
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		fprintf(stderr, "bench_flood: no interface %s\n", ifname);
		return 1;
	}
	CPU_ZERO(&set);
	CPU_SET((int)cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("sched_setaffinity");
		return 1;
	}
	obj = bpf_object__open_file(obj_path, NULL);
	if (!obj)
		return 1;
	prog = bpf_object__find_program_by_name(obj, "xdp_gen");
	{
		struct bpf_map *m;

		bpf_object__for_each_map(m, obj) {
			if (bpf_map__is_internal(m) && strstr(bpf_map__name(m), ".rodata")) {
				size_t sz;
				const void *cur = bpf_map__initial_value(m, &sz);
				__u32 ro[16] = { 0 };

				/* .rodata: target_ifindex, then nsources */
				if (!cur || sz < 8 || sz > sizeof(ro))
					return 1;
				memcpy(ro, cur, sz);
				ro[0] = (__u32)ifindex;
				ro[1] = (__u32)nsources;
				if (bpf_map__set_initial_value(m, ro, sz))
					return 1;
			}
		}
	}
	if (!prog || bpf_object__load(obj)) {
		fprintf(stderr, "bench_flood: cannot load %s\n", obj_path);
		return 1;
	}
	prog_fd = bpf_program__fd(prog);
	t0 = now_s();
	while (sent < count && now_s() - t0 < max_s) {
		long n = count - sent < CHUNK ? count - sent : CHUNK;
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (__u32)len,
			    .repeat = (__u32)n, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

		if (bpf_prog_test_run_opts(prog_fd, &o)) {
			fprintf(stderr, "bench_flood: test_run: %s\n", strerror(errno));
			return 1;
		}
		sent += n;
		busy_ns += (double)o.duration * (double)n;
	}
	t1 = now_s();
	/* busy: the kernel's own timing of the run (per-frame average x frames),
	 * which leaves out the time the generator was scheduled out; wall: all */
	printf("sent=%ld ns=%.0f wall_ns=%.0f\n", sent, busy_ns, (t1 - t0) * 1e9);
	bpf_object__close(obj);
	return 0;
}
