// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Per-client rate limits through BPF_PROG_TEST_RUN: crafted frames, each
 * case in IPv4 and IPv6, on a load with rate limits on (bpf/lib/rl.h).
 *
 * Time is the coarse monotonic clock (one tick = 1/HZ); the test reads the
 * same clock (CLOCK_MONOTONIC_COARSE) around each phase, so every bound
 * below is derived from the measured ticks, not from sleeps:
 *   - a fresh bucket passes exactly `burst` back-to-back packets when the
 *     phase lasts less than one packet cost (else burst + elapsed/cost);
 *   - after a pause, a drained bucket passes k packets with
 *     (min_pause/cost - 1) < k < (max_pause/cost + 1).
 *
 * Cases: (a) burst then DROP_RATE, (b) refill, (c) /32 (/128) keys are
 * separate buckets, (d) /24 (/64) keys share, (e) established TCP packets
 * count, replies do not, (f) connections per second, (g) bytes per second,
 * (h) audit mode, (i) a reload keeps the buckets, (j) a flood of spoofed
 * sources fills the table and the sketch without freeing anyone, (k) the
 * counters ward_verdicts[DROP_RATE] and ward_rl_drops equal the drops seen
 * (checked after each case).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "loader.h"
#include "log.h"
#include "pktgen.h"
#include "ward.skel.h"

#define NS 1000000000ull
#define RL_SIZE 4096 /* small: the spoofed flood fills it fast */
#define MAX_RULE 8

static int npass, nfail;
static int fam; /* 4 or 6: the family of the case running */
static struct ward w;
static int ncpus;
static int audit_case; /* PASS_AUDIT means "over the limit" in this case */
static unsigned revision = 1;

#define LOCAL4 "192.0.2.1"
#define LOCAL6 "2001:db8::1"
/* C1, C3: one /24 (one /64), different hosts; C2: another host; C4: another /24 (/64) */
#define C1_4 "198.51.100.2"
#define C1_6 "2001:db8:1::2"
#define C2_4 "198.51.100.3"
#define C2_6 "2001:db8:2::3"
#define C3_4 "198.51.100.77"
#define C3_6 "2001:db8:1:0:ffff::77"
#define C4_4 "203.0.113.5"
#define C4_6 "2001:db8:3::5"
/* the flood test's real clients */
#define R_4 "198.51.100.10"
#define R_6 "2001:db8:10::10"
#define G_4 "198.51.100.11"
#define G_6 "2001:db8:11::11"
#define NO_4 "198.51.100.12"
#define NO_6 "2001:db8:12::12"
#define NC_4 "198.51.100.13"
#define NC_6 "2001:db8:13::13"
#define B1_4 "198.51.100.14"
#define B1_6 "2001:db8:14::14"
#define B2_4 "198.51.100.15"
#define B2_6 "2001:db8:15::15"
#define N1_4 "198.51.100.16"
#define N1_6 "2001:db8:16::16"
#define N2_4 "198.51.100.17"
#define N2_6 "2001:db8:17::17"

#define I WARD_DIR_INGRESS
#define E WARD_DIR_EGRESS
#define TCP_SYN 0x02
#define TCP_SYNACK 0x12
#define TCP_ACK 0x10

/* ---- reporting ------------------------------------------------------------ */
static void result(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void result(int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		npass++;
	else
		nfail++;
	printf("%s %d - ", ok ? "ok" : "not ok", npass + nfail);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" [v%d]\n", fam);
	fflush(stdout);
}

static uint64_t coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	uint64_t now = mono_ns();

	if (t > now) {
		struct timespec ts = { .tv_sec = (time_t)((t - now) / NS),
				       .tv_nsec = (long)((t - now) % NS) };

		nanosleep(&ts, NULL);
	}
}

/* ---- policy ------------------------------------------------------------------ */
/*
 * One policy per case: rule "api" (udp/9000) and rule "web" (tcp/8000)
 * from any, both under the limit "api" given as its JSON body; extra_limits
 * is inserted before "api" in rate_limits (the reload case).
 */
static int publish_rl(const char *mode, const char *extra_limits, const char *limit)
{
	char json[2048];
	struct compiled c;
	struct diags d = {};
	struct policy p;
	int err;

	snprintf(json, sizeof(json),
		 "{\"version\":1,\"name\":\"rl\",\"revision\":%u,\"mode\":\"%s\","
		 "\"rate_limits\":{%s\"api\":{%s}},"
		 "\"ingress\":[{\"id\":\"api\",\"from\":[\"any\"],\"proto\":\"udp\",\"ports\":[9000],"
		 "\"rate_limit\":\"api\"},"
		 "{\"id\":\"web\",\"from\":[\"any\"],\"proto\":\"tcp\",\"ports\":[8000],"
		 "\"rate_limit\":\"api\"}]}",
		 revision++, mode, extra_limits ? extra_limits : "", limit);
	err = policy__parse(json, strlen(json), &p, &d);
	if (!err)
		err = policy__compile(&p, &c, &d);
	if (err) {
		diags__print(&d, "policy", stderr);
		diags__free(&d);
		result(0, "policy compiles: %s", json);
		return err;
	}
	err = ward__publish(&w, &c, &p);
	compiled__free(&c);
	policy__free(&p);
	diags__free(&d);
	if (err)
		result(0, "ward__publish: %d", err);
	return err;
}

/* ---- frames ------------------------------------------------------------------ */
struct frame {
	uint8_t b[1600];
	size_t len;
};

static void addr(const char *v4, const char *v6, uint8_t out[16])
{
	uint8_t f;

	memset(out, 0, 16);
	if (pktgen_addr(fam == 4 ? v4 : v6, &f, out)) {
		fprintf(stderr, "bad address %s\n", fam == 4 ? v4 : v6);
		abort();
	}
}

static struct frame mk_raw(const uint8_t src[16], const uint8_t dst[16], int proto, int sport,
			   int dport, int flags, int payload)
{
	struct pkt_spec s = { .family = fam, .proto = proto, .sport = sport, .dport = dport,
			      .tcp_flags = flags, .payload = payload };
	struct frame f;

	memcpy(s.src, src, 16);
	memcpy(s.dst, dst, 16);
	f.len = pktgen_build(&s, f.b, sizeof(f.b));
	if (!f.len)
		abort();
	return f;
}

/* client (v4, v6) -> local, or local -> client when out */
static struct frame mk(const char *c4, const char *c6, int out, int proto, int sport, int dport,
		       int flags)
{
	uint8_t c[16], l[16];

	addr(c4, c6, c);
	addr(LOCAL4, LOCAL6, l);
	return out ? mk_raw(l, c, proto, sport, dport, flags, 0)
		   : mk_raw(c, l, proto, sport, dport, flags, 0);
}

/* A UDP frame of exactly len bytes from the client to udp/9000. */
static struct frame mk_len(const char *c4, const char *c6, int sport, size_t len)
{
	uint8_t c[16], l[16];
	size_t hdr = 14 + (fam == 4 ? 20 : 40) + 8;

	addr(c4, c6, c);
	addr(LOCAL4, LOCAL6, l);
	return mk_raw(c, l, IPPROTO_UDP, sport, 9000, 0, (int)(len > hdr ? len - hdr : 0));
}

/* ---- maps -------------------------------------------------------------------- */
struct ctr {
	uint64_t packets, bytes;
};

static struct ctr read_ctr(const char *map, uint32_t idx)
{
	struct ctr s = {};
	struct ward_counter *v = calloc((size_t)ncpus, sizeof(*v));

	if (v && !bpf_map_lookup_elem(ward__map_fd(&w, map), &idx, v))
		for (int i = 0; i < ncpus; i++) {
			s.packets += v[i].packets;
			s.bytes += v[i].bytes;
		}
	free(v);
	return s;
}

/* The sum of a per-CPU counter map over the defaults and rules 0..MAX_RULE-1
 * of both slots (the test's policies have 2 rules). */
static struct ctr sum_map(const char *map)
{
	struct ctr s = {}, e;

	for (uint32_t i = 0; i < WARD_STAT_IDX(WARD_STAT_RULE(MAX_RULE), 0); i++) {
		e = read_ctr(map, i);
		s.packets += e.packets;
		s.bytes += e.bytes;
	}
	return s;
}

static uint32_t active_slot(void)
{
	uint32_t zero = 0, slot = 0;

	(void)bpf_map_lookup_elem(ward__map_fd(&w, "ward_active"), &zero, &slot);
	return slot & (WARD_SLOTS - 1);
}

static void flush_hash(const char *map)
{
	int fd = ward__map_fd(&w, map);
	uint8_t k[64];

	while (!bpf_map_get_next_key(fd, NULL, k))
		if (bpf_map_delete_elem(fd, k))
			break;
}

static size_t count_hash(const char *map)
{
	int fd = ward__map_fd(&w, map);
	uint8_t k[64], cur[64];
	size_t n = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, k)) {
		n++;
		memcpy(cur, k, sizeof(cur));
		prev = cur;
	}
	return n;
}

/* Buckets, conntrack, sketch: all fresh. */
static void flush_all(void)
{
	int fd = ward__map_fd(&w, "ward_rl_sketch");
	struct ward_rl_val zero = {};

	flush_hash("ward_rl");
	flush_hash("ward_ct");
	for (uint32_t i = 0; i < WARD_RL_ROWS * WARD_RL_COLS; i++)
		(void)bpf_map_update_elem(fd, &i, &zero, BPF_ANY);
}

/* The bucket-key id the live policy gives rate-limit slot rl_slot. */
static uint16_t rl_key_id(uint16_t rl_slot)
{
	uint32_t zero = 0, slot = 0, idx;
	struct ward_rl_cfg c = {};

	(void)bpf_map_lookup_elem(ward__map_fd(&w, "ward_active"), &zero, &slot);
	idx = WARD_RL_CFG_IDX(slot & (WARD_SLOTS - 1), rl_slot);
	(void)bpf_map_lookup_elem(ward__map_fd(&w, "ward_rl_cfg"), &idx, &c);
	return c.key_id;
}

/* Whether the client (v4, v6) has a bucket in ward_rl under prefix plen. */
static int has_bucket(const char *c4, const char *c6, int plen, uint16_t rl_slot)
{
	struct ward_rl_key k = { .key_id = rl_key_id(rl_slot), .family = fam, .prefixlen = plen };
	struct ward_rl_val v;
	uint8_t a[16];

	addr(c4, c6, a);
	for (int i = 0; i < 16; i++) {
		int bits = plen - i * 8;

		k.addr[i] = a[i] & (bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits)));
	}
	return !bpf_map_lookup_elem(ward__map_fd(&w, "ward_rl"), &k, &v);
}

/* ---- sending, and the tally of what the test saw ----------------------------- */
/* over-limit packets seen per rule (DROP_RATE, or PASS_AUDIT in audit cases) */
static struct ctr seen_over[MAX_RULE], seen_rate;
static struct ctr base_rate, base_rl_all, base_rl_rule[MAX_RULE];
static int seen_rule[MAX_RULE];
static uint32_t case_slot;

static void ctr_begin(void)
{
	memset(seen_over, 0, sizeof(seen_over));
	memset(seen_rule, 0, sizeof(seen_rule));
	memset(&seen_rate, 0, sizeof(seen_rate));
	case_slot = active_slot();
	base_rate = read_ctr("ward_verdicts", WARD_VERDICT_IDX(I, WARD_V_DROP_RATE));
	{
		struct ctr e = read_ctr("ward_verdicts", WARD_VERDICT_IDX(E, WARD_V_DROP_RATE));

		base_rate.packets += e.packets;
		base_rate.bytes += e.bytes;
	}
	base_rl_all = sum_map("ward_rl_drops");
	for (int r = 0; r < MAX_RULE; r++)
		base_rl_rule[r] = read_ctr("ward_rl_drops",
					   WARD_STAT_IDX(WARD_STAT_RULE((uint32_t)r), case_slot));
}

static void tally(uint32_t rule, int verdict, size_t len)
{
	int over = verdict == WARD_V_DROP_RATE || (audit_case && verdict == WARD_V_PASS_AUDIT);

	if (verdict == WARD_V_DROP_RATE) {
		seen_rate.packets++;
		seen_rate.bytes += len;
	}
	if (rule < MAX_RULE) {
		seen_rule[rule] = 1;
		if (over) {
			seen_over[rule].packets++;
			seen_over[rule].bytes += len;
		}
	}
}

/* (k): the counters moved by exactly what the test saw since ctr_begin. */
static void ctr_check(const char *what)
{
	struct ctr rate = read_ctr("ward_verdicts", WARD_VERDICT_IDX(I, WARD_V_DROP_RATE)),
		   e = read_ctr("ward_verdicts", WARD_VERDICT_IDX(E, WARD_V_DROP_RATE)),
		   all = sum_map("ward_rl_drops"), over_sum = {};
	int ok = 1;
	char buf[512] = "";
	size_t off = 0;

	rate.packets += e.packets - base_rate.packets;
	rate.bytes += e.bytes - base_rate.bytes;
	for (int r = 0; r < MAX_RULE; r++) {
		struct ctr c = read_ctr("ward_rl_drops",
					WARD_STAT_IDX(WARD_STAT_RULE((uint32_t)r), case_slot));

		c.packets -= base_rl_rule[r].packets;
		c.bytes -= base_rl_rule[r].bytes;
		over_sum.packets += seen_over[r].packets;
		over_sum.bytes += seen_over[r].bytes;
		if (c.packets != seen_over[r].packets || c.bytes != seen_over[r].bytes)
			ok = 0;
		if (seen_rule[r] || c.packets)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off,
						" rule#%d %llu/%llu (seen %llu/%llu)", r,
						(unsigned long long)c.packets,
						(unsigned long long)c.bytes,
						(unsigned long long)seen_over[r].packets,
						(unsigned long long)seen_over[r].bytes);
		if (off >= sizeof(buf))
			off = sizeof(buf) - 1;
	}
	all.packets -= base_rl_all.packets;
	all.bytes -= base_rl_all.bytes;
	if (rate.packets != seen_rate.packets || rate.bytes != seen_rate.bytes ||
	    all.packets != over_sum.packets || all.bytes != over_sum.bytes)
		ok = 0;
	result(ok,
	       "%s: counters equal the packets seen: ward_verdicts[drop_rate] +%llu pkts +%llu B "
	       "(seen %llu/%llu), ward_rl_drops all rules +%llu/%llu, per rule:%s",
	       what, (unsigned long long)rate.packets, (unsigned long long)rate.bytes,
	       (unsigned long long)seen_rate.packets, (unsigned long long)seen_rate.bytes,
	       (unsigned long long)all.packets, (unsigned long long)all.bytes, buf);
}

static int run_err;

/* One frame through the program; its verdict (the trace), -1 on error. */
static int sendf(int dir, const struct frame *f)
{
	struct ward_trace t;
	int pass = -1, err = ward__test_run(&w, dir, f->b, f->len, &pass, &t);

	if (err || pass != WARD_V_IS_PASS(t.verdict)) {
		if (!run_err++)
			fprintf(stderr, "test run failed: err %d pass %d verdict %d\n", err, pass,
				t.verdict);
		return -1;
	}
	tally(t.rule_idx, t.verdict, f->len);
	return t.verdict;
}

/* The flood's fast path: no trace read back; 1 pass, 0 drop, -1 error. */
static int send_raw(int dir, const struct frame *f, uint32_t rule)
{
	struct ward_bpf *skel = (struct ward_bpf *)w.skel;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->b, .data_size_in = f->len, .repeat = 1);
	int fd = bpf_program__fd(dir == I ? skel->progs.xdp_ingress : skel->progs.tc_egress), pass;

	if (bpf_prog_test_run_opts(fd, &opts))
		return -1;
	pass = dir == I ? opts.retval == XDP_PASS : opts.retval == 0;
	/* the only drop of an allowed packet is the rate limit */
	tally(rule, pass ? WARD_V_PASS_RULE : WARD_V_DROP_RATE, f->len);
	return pass;
}

struct run {
	int pass, drop, other; /* other: neither a pass nor the over-limit verdict */
	int prefix;            /* every pass came before the first over-limit packet */
	uint64_t t0, t1;       /* coarse clock before the first and after the last */
	uint32_t rule;
};

/* n frames back to back; over-limit = DROP_RATE (PASS_AUDIT in audit cases) */
static struct run burst(int dir, const struct frame *f, int n)
{
	struct run r = { .prefix = 1, .rule = WARD_RULE_NONE };
	struct ward_trace t;

	r.t0 = coarse_ns();
	for (int i = 0; i < n; i++) {
		int pass = -1, err = ward__test_run(&w, dir, f->b, f->len, &pass, &t), over;

		if (err) {
			r.other++;
			continue;
		}
		tally(t.rule_idx, t.verdict, f->len);
		r.rule = t.rule_idx;
		over = t.verdict == WARD_V_DROP_RATE || (audit_case && t.verdict == WARD_V_PASS_AUDIT);
		if (over) {
			r.drop++;
			if (pass != !!audit_case)
				r.other++;
		} else if (pass && (t.verdict == WARD_V_PASS_RULE || t.verdict == WARD_V_PASS_CT)) {
			r.pass++;
			if (r.drop)
				r.prefix = 0;
		} else {
			r.other++;
		}
	}
	r.t1 = coarse_ns();
	return r;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* A fresh bucket: exactly `burst` when the run took less than one cost. */
static void expect_burst(const char *what, const struct run *r, int want, uint64_t cost)
{
	uint64_t el = r->t1 - r->t0;
	int hi = want + (int)(el / cost);

	result(r->other == 0 && r->prefix && r->pass >= want && r->pass <= hi,
	       "%s: %d passed then %d over the limit (want %d%s, run took %.1f ms on the coarse "
	       "clock, cost %.1f ms)%s%s",
	       what, r->pass, r->drop, want, hi > want ? " + refill" : " exactly", ms(el), ms(cost),
	       r->prefix ? "" : ", passes after a drop", r->other ? ", unexpected verdicts" : "");
}

/* ---- cases --------------------------------------------------------------------- */
#define C1 C1_4, C1_6
#define C2 C2_4, C2_6
#define C3 C3_4, C3_6
#define C4 C4_4, C4_6

/* (a) burst, (b) refill */
static void case_burst_refill(void)
{
	/* pps 100: cost 10 ms (2.5 ticks at HZ=250); burst 100: tau 1 s */
	const uint64_t cost = NS / 100;
	struct frame f = mk(C1, 0, IPPROTO_UDP, 40000, 9000, 0);
	struct run r, b;
	uint64_t pause;

	audit_case = 0;
	if (publish_rl("enforce", NULL, "\"pps\":100,\"burst\":100"))
		return;
	flush_all();
	ctr_begin();
	r = burst(I, &f, 110);
	expect_burst("(a) back-to-back udp/9000 from one client (pps 100, burst 100)", &r, 100,
		     cost);
	/* (b) a drained bucket refills at pps: k after a pause P */
	for (int i = 0; i < 2; i++) {
		uint64_t target = i == 0 ? 500 : 250; /* ms */
		double lo, hi;

		sleep_until(mono_ns() + target * 1000000ull);
		b = burst(I, &f, 80);
		/* tat before the pause was in (r.t0 + tau - cost, r.t1 + tau] */
		pause = b.t0 - r.t1;
		lo = (double)(b.t0 - r.t1) / (double)cost - 1;
		hi = (double)(b.t1 - r.t0) / (double)cost + 1;
		/* passes come first, unless the coarse clock ticked during the run
		 * (a busy machine): a tick may cross a token boundary, and a pass
		 * after a drop is then the bucket refilling, as it should */
		result(b.other == 0 && (b.prefix || b.t1 != b.t0) && b.pass > lo &&
			       b.pass < hi && b.drop > 0,
		       "(b) refill after %.0f ms (coarse clock: %.0f-%.0f ms): %d passed, want %.1f < "
		       "k < %.1f (pps x the pause read on the coarse clock around both runs, +-1); "
		       "%d dropped, %d other, passes first: %s (run %.1f ms)",
		       (double)target, ms(pause), ms(b.t1 - r.t0), b.pass, lo, hi, b.drop, b.other,
		       b.prefix ? "yes" : "no", ms(b.t1 - b.t0));
		r = b;
	}
	ctr_check("(a)(b)");
}

/* (c) separate hosts, separate buckets; (d) one /24 (/64), one bucket */
static void case_keys(void)
{
	const uint64_t cost = NS / 10; /* pps 10 */
	struct frame f1 = mk(C1, 0, IPPROTO_UDP, 40000, 9000, 0),
		     f3 = mk(C3, 0, IPPROTO_UDP, 40000, 9000, 0),
		     f4 = mk(C4, 0, IPPROTO_UDP, 40000, 9000, 0), f2 = mk(C2, 0, IPPROTO_UDP, 40000, 9000, 0);
	struct run r;

	audit_case = 0;
	if (publish_rl("enforce", NULL, "\"pps\":10,\"burst\":20,\"ipv4_prefix\":32,\"ipv6_prefix\":128"))
		return;
	flush_all();
	ctr_begin();
	r = burst(I, &f1, 25);
	expect_burst("(c) /32 (/128) keys: client 1 drains its bucket", &r, 20, cost);
	r = burst(I, &f3, 25);
	expect_burst("(c) /32 (/128) keys: a second host of the same /24 (/64) has its own full bucket",
		     &r, 20, cost);
	r = burst(I, &f2, 25);
	expect_burst("(c) /32 (/128) keys: a third host has its own full bucket", &r, 20, cost);
	r = burst(I, &f1, 3);
	result(r.pass == 0 && r.drop == 3 && r.other == 0,
	       "(c) client 1 is still held: %d passed, %d over (want 0, 3)", r.pass, r.drop);
	result(has_bucket(C1, 32 + (fam == 6) * 96, 1) && has_bucket(C3, 32 + (fam == 6) * 96, 1) &&
		       count_hash("ward_rl") == 3,
	       "(c) ward_rl holds one bucket per host (%zu)", count_hash("ward_rl"));
	ctr_check("(c)");

	/* (d) the IPv6 prefix is left to its default, 64 */
	if (publish_rl("enforce", NULL, "\"pps\":10,\"burst\":20,\"ipv4_prefix\":24"))
		return;
	flush_all();
	ctr_begin();
	r = burst(I, &f1, 12);
	result(r.pass == 12 && r.drop == 0 && r.other == 0,
	       "(d) /24 (/64) key: client 1 takes 12 of the 20: %d passed", r.pass);
	r = burst(I, &f3, 15);
	expect_burst("(d) /24 (/64) key: a second host of the same /24 (/64) gets the 8 left", &r, 8,
		     cost);
	r = burst(I, &f1, 3);
	result(r.pass == 0 && r.drop == 3 && r.other == 0,
	       "(d) the shared bucket holds client 1 too: %d passed, %d over", r.pass, r.drop);
	r = burst(I, &f4, 25);
	expect_burst("(d) a host of another /24 (/64) has its own full bucket", &r, 20, cost);
	result(has_bucket(C1, fam == 4 ? 24 : 64, 1) && count_hash("ward_rl") == 2,
	       "(d) ward_rl holds one bucket per /24 (/64): %zu", count_hash("ward_rl"));
	ctr_check("(d)");
}

/* (e) established TCP flow: the client's packets count, replies do not */
static void case_established(void)
{
	const uint64_t cost = NS / 10;
	struct frame syn = mk(C1, 0, IPPROTO_TCP, 50000, 8000, TCP_SYN),
		     synack = mk(C1, 1, IPPROTO_TCP, 8000, 50000, TCP_SYNACK),
		     ack = mk(C1, 0, IPPROTO_TCP, 50000, 8000, TCP_ACK),
		     rep = mk(C1, 1, IPPROTO_TCP, 8000, 50000, TCP_ACK);
	struct run r;
	int v;

	audit_case = 0;
	if (publish_rl("enforce", NULL, "\"pps\":10,\"burst\":10"))
		return;
	flush_all();
	ctr_begin();
	v = sendf(I, &syn);
	result(v == WARD_V_PASS_RULE, "(e) SYN to tcp/8000 opens the flow (verdict %d)", v);
	v = sendf(E, &synack);
	result(v == WARD_V_PASS_CT, "(e) its SYN-ACK passes by conntrack (verdict %d)", v);
	r = burst(E, &rep, 50);
	result(r.pass == 50 && r.drop == 0 && r.other == 0,
	       "(e) 50 reply packets (egress) pass, none counted against the client: %d passed", r.pass);
	r = burst(I, &ack, 15);
	expect_burst("(e) the client's established packets count: SYN + 9 more, then DROP_RATE", &r, 9,
		     cost);
	r = burst(E, &rep, 20);
	result(r.pass == 20 && r.drop == 0 && r.other == 0,
	       "(e) replies still pass while the client is over its limit: %d of 20", r.pass);
	ctr_check("(e)");
}

/* (f) connections per second */
static void case_cps(void)
{
	struct run r;
	int pass = 0, drop = 0, other = 0;
	uint64_t t0, t1;

	audit_case = 0;
	/* cps 5: one flow per 200 ms; burst of 5 flows */
	if (publish_rl("enforce", NULL, "\"pps\":1000,\"burst\":1000,\"cps\":5,\"cps_burst\":5"))
		return;
	flush_all();
	ctr_begin();
	t0 = coarse_ns();
	for (int i = 0; i < 8; i++) {
		struct frame syn = mk(C1, 0, IPPROTO_TCP, 50000 + i, 8000, TCP_SYN);
		int v = sendf(I, &syn);

		if (v == WARD_V_PASS_RULE)
			pass++;
		else if (v == WARD_V_DROP_RATE)
			drop++;
		else
			other++;
	}
	t1 = coarse_ns();
	result(pass == 5 + (int)((t1 - t0) / (NS / 5)) && drop == 8 - pass && other == 0,
	       "(f) 8 new connections, cps_burst 5: %d opened, %d DROP_RATE", pass, drop);
	pass = other = 0;
	for (int i = 0; i < 5; i++) {
		struct frame ack = mk(C1, 0, IPPROTO_TCP, 50000 + i, 8000, TCP_ACK);

		r = burst(I, &ack, 20);
		pass += r.pass;
		other += r.other + r.drop;
	}
	result(pass == 100 && other == 0,
	       "(f) the 5 established flows still pass while new ones are refused: %d of 100", pass);
	{
		struct frame syn = mk(C1, 0, IPPROTO_TCP, 50100, 8000, TCP_SYN);
		int v = sendf(I, &syn);

		result(v == WARD_V_DROP_RATE, "(f) and a further new connection is still refused (verdict %d)",
		       v);
	}
	{
		struct frame syn = mk(C2, 0, IPPROTO_TCP, 50000, 8000, TCP_SYN);
		int v = sendf(I, &syn);

		result(v == WARD_V_PASS_RULE, "(f) another client's connection opens (verdict %d)", v);
	}
	ctr_check("(f)");
}

/* (g) bytes per second */
static void case_bps(void)
{
	struct frame big = mk_len(C1, 40000, 1000), small = mk_len(C1, 40000, 64);
	struct run r;

	audit_case = 0;
	/*
	 * bps 100: one byte costs 10 ms, so a tick (4 ms) refills under a
	 * byte; bytes_burst 5500. pps 10, burst 13: the byte limit binds
	 * first, and the packet refund shows (no refund: 3 small frames).
	 */
	if (publish_rl("enforce", NULL, "\"pps\":10,\"burst\":13,\"bps\":100,\"bytes_burst\":5500"))
		return;
	if (big.len != 1000 || small.len != 64) {
		result(0, "(g) frames of 1000 and 64 bytes (got %zu, %zu)", big.len, small.len);
		return;
	}
	flush_all();
	ctr_begin();
	r = burst(I, &big, 10);
	result(r.pass == 5 && r.drop == 5 && r.prefix && r.other == 0,
	       "(g) 1000-byte frames, bytes_burst 5500: %d passed (want 5), %d DROP_RATE", r.pass,
	       r.drop);
	r = burst(I, &small, 10);
	result(r.pass == 7 && r.drop == 3 && r.prefix && r.other == 0,
	       "(g) then 64-byte frames fit the 500 bytes left: %d passed (want 7: 448 B; the "
	       "packet bucket was refunded for the 5 byte drops)", r.pass);
	ctr_check("(g)");
}

/* (h) audit mode: over the limit passes as PASS_AUDIT, counted as a rate drop */
static void case_audit(void)
{
	struct frame f = mk(C1, 0, IPPROTO_UDP, 40000, 9000, 0);
	struct ctr a0 = read_ctr("ward_verdicts", WARD_VERDICT_IDX(I, WARD_V_PASS_AUDIT)), a1;
	struct run r;

	audit_case = 1;
	if (publish_rl("audit", NULL, "\"pps\":10,\"burst\":10"))
		return;
	flush_all();
	ctr_begin();
	r = burst(I, &f, 15);
	result(r.pass == 10 && r.drop == 5 && r.prefix && r.other == 0,
	       "(h) audit mode: 10 pass within the limit, then %d over the limit pass as PASS_AUDIT "
	       "(want 5, all let through)", r.drop);
	a1 = read_ctr("ward_verdicts", WARD_VERDICT_IDX(I, WARD_V_PASS_AUDIT));
	result(a1.packets - a0.packets == 5,
	       "(h) ward_verdicts[pass_audit] +%llu (want 5)",
	       (unsigned long long)(a1.packets - a0.packets));
	ctr_check("(h) audit: ward_rl_drops counts the over-limit passes, drop_rate does not move");
	audit_case = 0;
}

/*
 * (i) a reload keeps the buckets. Publishing takes time (it waits for an
 * RCU grace period), so the bounds account for the refill of the time that
 * passed: pps 2 (cost 500 ms), burst 10; a bucket refilled by the reload
 * would give all 10 at once.
 */
static void reload_check(const char *what, const struct frame *f, const struct frame *g,
			 const struct run *before_f, const struct run *before_g, int g_left)
{
	const uint64_t cost = NS / 2;
	struct run a, b;
	double lo, hi;
	int glo, ghi;

	a = burst(I, f, 10);
	lo = (double)(a.t0 - before_f->t1) / (double)cost - 1;
	hi = (double)(a.t1 - before_f->t0) / (double)cost + 1;
	result(a.pass > lo && a.pass < hi && a.other == 0,
	       "(i) %s: the drained client gets %d of 10 (want %.1f < k < %.1f: the %.0f ms that "
	       "passed; a refilled bucket would give 10)",
	       what, a.pass, lo, hi, ms(a.t1 - before_f->t1));
	b = burst(I, g, 12);
	glo = g_left + (int)((b.t0 - before_g->t1) / cost);
	ghi = g_left + (int)((b.t1 - before_g->t0) / cost) + 1;
	if (glo > 10)
		glo = 10;
	if (ghi > 10)
		ghi = 10;
	result(b.pass >= glo && b.pass <= ghi && b.other == 0,
	       "(i) %s: a client with %d left keeps them: %d passed (want %d-%d)", what, g_left,
	       b.pass, glo, ghi);
}

static void case_reload(void)
{
	struct frame f = mk(C1, 0, IPPROTO_UDP, 40000, 9000, 0), g[2] = {
		mk(C2, 0, IPPROTO_UDP, 40001, 9000, 0), mk(C4, 0, IPPROTO_UDP, 40001, 9000, 0) };
	const char *lim = "\"pps\":2,\"burst\":10";
	struct run rf, rg, a;
	uint64_t t0;

	audit_case = 0;
	if (publish_rl("enforce", NULL, lim))
		return;
	flush_all();
	ctr_begin();
	rf = burst(I, &f, 12);
	expect_burst("(i) client drains its bucket", &rf, 10, NS / 2);
	rg = burst(I, &g[0], 4); /* a second client: 6 left */
	ctr_check("(i) before the reload");
	t0 = mono_ns();
	if (publish_rl("enforce", NULL, lim))
		return;
	printf("# (i) [v%d] ward__publish took %.1f ms\n", fam, ms(mono_ns() - t0));
	ctr_begin();
	reload_check("after a reload of the same policy", &f, &g[0], &rf, &rg, 6);
	ctr_check("(i) after the reload");
	/*
	 * Buckets are keyed by an id from the limit's name (docs/policy.md):
	 * a policy that lists another limit before this one moves it to
	 * another slot, and its clients keep their buckets.
	 */
	rf = burst(I, &f, 5);
	if (publish_rl("enforce", "\"other\":{\"pps\":1000},", lim))
		return;
	ctr_begin();
	a = burst(I, &f, 12);
	result(a.pass <= (int)((a.t1 - rf.t0) / (NS / 2)) + 1,
	       "(i) after a reload that lists another limit before this one, the drained client "
	       "got %d of 12 at once (a kept bucket gives at most %d)",
	       a.pass, (int)((a.t1 - rf.t0) / (NS / 2)) + 1);
	ctr_check("(i) after a reload that moves the limit");
}

/* ---- (j) spoofed flood ----------------------------------------------------------- */
/* Distinct addresses from a counter: an odd multiplier is a bijection mod 2^32. */
static void spoof_addr(uint32_t n, uint8_t a[16])
{
	uint32_t x = n * 2654435761u + 0x9e3779b9u;

	memset(a, 0, 16);
	x ^= x >> 16;
	x *= 0x7feb352du; /* still a bijection: odd */
	x ^= x >> 15;
	if (fam == 4) {
		a[0] = x >> 24;
		a[1] = x >> 16;
		a[2] = x >> 8;
		a[3] = x;
	} else { /* 2001:db8:XXXX:XXXX::1, a distinct /64 per source */
		a[0] = 0x20;
		a[1] = 0x01;
		a[2] = 0x0d;
		a[3] = 0xb8;
		a[4] = x >> 24;
		a[5] = x >> 16;
		a[6] = x >> 8;
		a[7] = x;
		a[15] = 1;
	}
}

struct client {
	struct frame f;
	int pass, drop;
	uint64_t t0, t1;
};

static void client_send(struct client *c, int n)
{
	for (int i = 0; i < n; i++) {
		int v = sendf(I, &c->f);

		if (!c->t0)
			c->t0 = coarse_ns();
		if (v == WARD_V_DROP_RATE)
			c->drop++;
		else if (v >= 0 && WARD_V_IS_PASS(v))
			c->pass++;
	}
	c->t1 = coarse_ns();
}

static void case_flood(void)
{
	/* pps 100 (cost 10 ms), burst 20 */
	const int pps = 100, bur = 20, rounds = 160, per_round = 1000, newcomer_round = 20;
	const uint64_t window = 4 * NS;
	/* R: over its limit before the flood; G: compliant, with a bucket;
	 * NO, NC: newcomers after the table filled, over and within the limit */
	struct client R = {}, G = {}, NO = {}, NC = {};
	uint8_t l[16], s[16];
	uint32_t spoofed = 0, spoof_pass = 0, spoof_drop = 0, rule = WARD_RULE_NONE;
	size_t in_table, full_at = 0;
	uint64_t start, end, tstart;
	int err = 0;
	struct run r;

	audit_case = 0;
	if (publish_rl("enforce", NULL, "\"pps\":100,\"burst\":20"))
		return;
	flush_all();
	ctr_begin();
	R.f = mk(R_4, R_6, 0, IPPROTO_UDP, 40000, 9000, 0);
	G.f = mk(G_4, G_6, 0, IPPROTO_UDP, 40000, 9000, 0);
	NO.f = mk(NO_4, NO_6, 0, IPPROTO_UDP, 40000, 9000, 0);
	NC.f = mk(NC_4, NC_6, 0, IPPROTO_UDP, 40000, 9000, 0);
	addr(LOCAL4, LOCAL6, l);

	/* before the flood: R is over its limit, G has a bucket and is within it */
	r = burst(I, &R.f, bur + 30);
	rule = r.rule;
	expect_burst("(j) before the flood the over-limit client gets its burst and no more", &r, bur,
		     NS / pps);
	client_send(&G, 1);
	G.pass = G.drop = 0;

	start = mono_ns();
	tstart = coarse_ns();
	for (int round = 0; round < rounds; round++) {
		sleep_until(start + window * (uint64_t)round / rounds);
		for (int i = 0; i < per_round; i++) {
			struct frame f;
			int p;

			spoof_addr(spoofed++, s);
			f = mk_raw(s, l, IPPROTO_UDP, 1024 + (spoofed % 60000), 9000, 0, 0);
			p = send_raw(I, &f, rule);
			if (p < 0)
				err++;
			else if (p)
				spoof_pass++;
			else
				spoof_drop++;
		}
		client_send(&R, 10);
		client_send(&G, 1);
		if (round == newcomer_round) {
			full_at = count_hash("ward_rl");
			NO.t0 = NC.t0 = 0;
		}
		if (round >= newcomer_round) {
			client_send(&NO, 10);
			client_send(&NC, 1);
		}
	}
	end = coarse_ns();
	in_table = count_hash("ward_rl");

	result(err == 0 && run_err == 0, "(j) %u spoofed packets from %u distinct sources ran (%.2f s, "
	       "%d errors)", spoofed, spoofed, ms(end - tstart) / 1000, err + run_err);
	result(full_at == RL_SIZE && in_table == RL_SIZE,
	       "(j) the spoofed flood filled ward_rl (%zu of %d buckets by round %d, %zu at the end)",
	       full_at, RL_SIZE, newcomer_round, in_table);
	{
		int plen = fam == 4 ? 32 : 64; /* the default prefixes */
		double d = (double)(R.t1 - R.t0) / NS, hi = 1.1 * pps * d + bur, lo = 0.9 * pps * d;

		result(has_bucket(R_4, R_6, plen, 1) && has_bucket(G_4, G_6, plen, 1),
		       "(j1)(j2) the real clients' buckets survived the flood (not evicted)");
		result(R.pass <= hi && R.pass >= lo,
		       "(j1) over-limit client during the flood: %d of %d passed in %.2f s = %.1f pps "
		       "(limit %d pps: want %.0f-%.0f, i.e. -10%%..+10%% + burst; a fresh bucket would "
		       "have given %d at once)",
		       R.pass, R.pass + R.drop, d, R.pass / d, pps, lo, hi, bur);
		result(G.drop == 0 && G.pass == rounds,
		       "(j2) compliant client with a bucket (%.0f pps): %d of %d passed, %d dropped",
		       rounds / ((double)window / NS), G.pass, G.pass + G.drop, G.drop);
		d = (double)(NO.t1 - NO.t0) / NS;
		hi = 1.1 * pps * d + bur;
		result(!has_bucket(NO_4, NO_6, plen, 1) && !has_bucket(NC_4, NC_6, plen, 1),
		       "(j3) the newcomers after the table filled have no bucket (the sketch decides)");
		result(NO.pass <= hi && NO.pass > 0,
		       "(j3) over-limit newcomer on the sketch: %d of %d passed in %.2f s = %.1f pps "
		       "(limit %d pps + burst %d: want <= %.0f)",
		       NO.pass, NO.pass + NO.drop, d, NO.pass / d, pps, bur, hi);
		printf("# (j4) [v%d] spoofed sources: %u distinct, %zu got a bucket in ward_rl "
		       "(%d-entry table; 2 real clients hold theirs), %u went to the sketch; of the "
		       "spoofed packets %u passed and %u were held by the sketch\n",
		       fam, spoofed, in_table - 2, RL_SIZE, spoofed - (uint32_t)(in_table - 2),
		       spoof_pass, spoof_drop);
		printf("# (j4) [v%d] compliant newcomer (sketch, %.0f pps): %d of %d passed, %d "
		       "dropped; over-limit newcomer %.1f pps; real over-limit client %.1f pps\n",
		       fam, (double)(rounds - newcomer_round) / d, NC.pass, NC.pass + NC.drop, NC.drop,
		       NO.pass / d, R.pass / ((double)(R.t1 - R.t0) / NS));
		result(NC.drop == 0,
		       "(j4) compliant newcomer on the sketch loses nothing under this flood: %d of %d "
		       "passed", NC.pass, NC.pass + NC.drop);
	}
	ctr_check("(j) flood");

	/*
	 * (j5) byte and connection limits with the table full: for clients
	 * with a bucket (two spoofed buckets are freed first, as the agent's
	 * collection would) and for newcomers decided by the sketch: the
	 * same. (A sketch that decided packets only let a newcomer through
	 * bytes and new flows at the packet rate once a flood filled the table.)
	 */
	if (publish_rl("enforce", NULL,
		       "\"pps\":100,\"burst\":20,\"bps\":1000,\"bytes_burst\":2000,\"cps\":1,\"cps_burst\":2"))
		return;
	ctr_begin();
	{
		int fd = ward__map_fd(&w, "ward_rl"), plen = fam == 4 ? 32 : 64;
		struct ward_rl_key k;
		struct frame b1 = mk_len(B1_4, B1_6, 41000, 1000), n1 = mk_len(N1_4, N1_6, 41000, 1000);
		struct run rb, rn;
		int bs = 0, ns = 0;

		for (int i = 0; i < 2; i++)
			if (!bpf_map_get_next_key(fd, NULL, &k))
				(void)bpf_map_delete_elem(fd, &k);
		rb = burst(I, &b1, 10);
		for (int i = 0; i < 10; i++) {
			struct frame syn = mk(B2_4, B2_6, 0, IPPROTO_TCP, 42000 + i, 8000, TCP_SYN);

			bs += sendf(I, &syn) == WARD_V_PASS_RULE;
		}
		rn = burst(I, &n1, 10);
		for (int i = 0; i < 10; i++) {
			struct frame syn = mk(N2_4, N2_6, 0, IPPROTO_TCP, 42000 + i, 8000, TCP_SYN);

			ns += sendf(I, &syn) == WARD_V_PASS_RULE;
		}
		result(has_bucket(B1_4, B1_6, plen, 1) && has_bucket(B2_4, B2_6, plen, 1) &&
			       !has_bucket(N1_4, N1_6, plen, 1) && !has_bucket(N2_4, N2_6, plen, 1) &&
			       count_hash("ward_rl") == RL_SIZE,
		       "(j5) table full again: two clients took the two freed buckets, two newcomers "
		       "went to the sketch");
		result(rb.pass == 2 && bs == 2,
		       "(j5) clients with a bucket: bytes_burst 2000 lets 2 of 10 1000-byte frames "
		       "through (%d), cps_burst 2 lets 2 of 10 new flows open (%d)", rb.pass, bs);
		result(rn.pass == 2 && ns == 2,
		       "(j5) newcomers decided by the sketch are held to the same byte and "
		       "connection limits: %d of 10 1000-byte frames (%d bytes, bytes_burst 2000), "
		       "%d of 10 new flows (cps_burst 2)", rn.pass, rn.pass * 1000, ns);
	}
	ctr_check("(j5)");
}

/* WARD_RL_CASES=letters runs only those cases (a: a+b, c: c+d, e, f, g, h, i, j) */
static int want(char c)
{
	const char *only = getenv("WARD_RL_CASES");

	return !only || !*only || strchr(only, c);
}

int main(void)
{
	struct ward_load_opts o = { .trace = true, .rl_size = RL_SIZE };

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_setup_libbpf();
	if (geteuid() != 0) {
		printf("not ok 1 - needs root (BPF_PROG_TEST_RUN)\n0 passed, 1 failed\n");
		return 1;
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0 || ward__load_ex(&w, NULL, &o)) {
		printf("not ok 1 - cannot load the programs (rate limits on, rl_size %d)\n"
		       "0 passed, 1 failed\n", RL_SIZE);
		return 1;
	}
	for (fam = 4; fam <= 6; fam += 2) {
		if (want('a'))
			case_burst_refill();
		if (want('c'))
			case_keys();
		if (want('e'))
			case_established();
		if (want('f'))
			case_cps();
		if (want('g'))
			case_bps();
		if (want('h'))
			case_audit();
		if (want('i'))
			case_reload();
		if (want('j'))
			case_flood();
	}
	ward__close(&w);
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail ? 1 : 0;
}
