// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rec_tool: push N deterministic synthetic records through a real record
 * pipeline to real sinks, then report what each sink took.
 *
 *   rec_tool --sink SPEC [--sink SPEC ...] --count N [--rate PER_S] [--seed S]
 *            [--kinds mix|all|open,close,...] [--expect FILE] [--depth D]
 *            [--host NAME]
 *
 * Prints, after the pipeline has drained and closed its sinks:
 *   sink SPEC-NAME written W lost L        (one line per sink)
 *   emitted N written W lost L             (sums over the sinks)
 *   pipeline queue_lost Q upstream_lost U
 *   rate R records/s                       (wall time of emit + drain)
 *   reloads H                              (after a SIGHUP only: how many
 *   sink SPEC-NAME reload_failed F          were asked, and per sink failed)
 * For each sink, written + lost = N: lost counts records the full queue
 * refused and records the sink could not take; the pipeline's own LOST
 * records are not counted. --expect writes the OCSF line of every record
 * the pipeline accepted, as a receiver should see it (LOST records aside).
 * SIGHUP asks the pipeline to reload its sinks (rec_pipeline_reload), as
 * the agent's SIGHUP does, and says on stderr how many records were
 * emitted before. Exit 0 when every record was written to every
 * sink, 1 when some were lost, 2 on usage errors.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "record.h"

#define MAX_SINKS 8
#define BASE_MS 1735689600000ull /* 2025-01-01T00:00:00Z: records are reproducible */

static volatile sig_atomic_t hup;

static void on_hup(int sig)
{
	(void)sig;
	hup = 1;
}

/* splitmix64: small, fast, and the same sequence on every machine */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const struct {
	const char *name;
	enum rec_kind kind;
} kind_names[] = {
	{ "open", REC_OPEN },	    { "close", REC_CLOSE },   { "traffic", REC_TRAFFIC },
	{ "refuse", REC_REFUSE },   { "rate_limit", REC_RATE_LIMIT }, { "audit", REC_AUDIT },
	{ "lost", REC_LOST },	    { "policy", REC_POLICY }, { "agent", REC_AGENT },
};

static int parse_kinds(const char *arg, enum rec_kind *out)
{
	char *copy = strdup(arg), *save = NULL;
	int n = 0;

	if (!copy)
		return -1;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		bool found = false;

		if (!strcmp(t, "mix") || !strcmp(t, "all")) {
			for (enum rec_kind k = REC_OPEN; k <= REC_AUDIT && n < 32; k++)
				out[n++] = k;
			if (!strcmp(t, "all") && n < 30) {
				out[n++] = REC_POLICY;
				out[n++] = REC_AGENT;
			}
			continue;
		}
		for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
			if (!strcmp(t, kind_names[i].name) && n < 32) {
				out[n++] = kind_names[i].kind;
				found = true;
			}
		}
		if (!found) {
			fprintf(stderr, "rec_tool: unknown kind '%s'\n", t);
			free(copy);
			return -1;
		}
	}
	free(copy);
	return n;
}

static void hex_digest(uint64_t seed, char *out)
{
	for (int i = 0; i < 64; i++)
		out[i] = "0123456789abcdef"[rnd(&seed) & 15];
	out[64] = '\0';
}

static void gen_network(struct flow_record *r, uint64_t *s)
{
	static const uint16_t dports[] = { 22, 53, 80, 443, 8000, 9000, 9100, 29500 };
	static const char *const ifnames[] = { "eth0", "ens5", "bond0" };
	uint64_t v = rnd(s), pkts_in = 1 + rnd(s) % 1000, pkts_out = 1 + rnd(s) % 1000;

	r->family = v % 3 == 0 ? 6 : 4;
	r->dir = (v >> 8) & 1;
	if ((v >> 16) % 10 < 6)
		r->proto = 6;
	else if ((v >> 16) % 10 < 9)
		r->proto = 17;
	else
		r->proto = r->family == 6 ? 58 : 1;
	if (r->family == 4) {
		uint32_t a = (uint32_t)rnd(s), b = (uint32_t)rnd(s);

		r->src[0] = 10, r->src[1] = a >> 16 & 255, r->src[2] = a >> 8 & 255, r->src[3] = a & 255;
		r->dst[0] = 192, r->dst[1] = 168, r->dst[2] = b >> 8 & 255, r->dst[3] = b & 255;
	} else {
		uint64_t a = rnd(s), b = rnd(s);

		r->src[0] = 0x20, r->src[1] = 0x01, r->src[2] = 0x0d, r->src[3] = 0xb8;
		r->dst[0] = 0x20, r->dst[1] = 0x01, r->dst[2] = 0x0d, r->dst[3] = 0xb8;
		r->dst[5] = 0x20;
		memcpy(r->src + 8, &a, 8);
		memcpy(r->dst + 12, &b, 4);
	}
	if (r->proto == 6 || r->proto == 17) {
		r->sport = (uint16_t)(1024 + rnd(s) % 60000);
		r->dport = dports[rnd(s) % 8];
	} else {
		r->dport = r->proto == 1 ? 8 : 128; /* echo request */
		r->icmp_code = 0;
	}
	if (r->proto == 6)
		r->tcp_flags = (uint8_t)(0x02 | 0x10 | (rnd(s) % 2 ? 0x01 : 0) | (rnd(s) % 8 ? 0 : 0x04));
	snprintf(r->ifname, sizeof(r->ifname), "%s", ifnames[rnd(s) % 3]);

	r->allowed = r->kind != REC_REFUSE && r->kind != REC_RATE_LIMIT;
	r->audit = r->kind == REC_AUDIT;
	r->is_default = rnd(s) % 10 == 0;
	if (!r->is_default)
		snprintf(r->rule_id, sizeof(r->rule_id), "rule-%u", (unsigned)(rnd(s) % 50));
	if (r->kind == REC_RATE_LIMIT) {
		r->is_default = false;
		snprintf(r->rule_id, sizeof(r->rule_id), "api");
		snprintf(r->rate_limit, sizeof(r->rate_limit), "api");
	}
	if (r->kind == REC_REFUSE || r->kind == REC_RATE_LIMIT || r->kind == REC_AUDIT) {
		uint64_t bytes = 0;

		r->count = 1 + rnd(s) % 100;
		for (uint64_t i = 0; i < r->count && i < 4; i++)
			bytes += 64 + rnd(s) % 1400;
		bytes = bytes * r->count / (r->count < 4 ? r->count : 4);
		if (r->dir == 0)
			r->bytes_in = bytes;
		else
			r->bytes_out = bytes;
	} else {
		r->packets_in = pkts_in;
		r->packets_out = pkts_out;
		r->bytes_in = pkts_in * (64 + rnd(s) % 1400);
		r->bytes_out = pkts_out * (64 + rnd(s) % 1400);
		if (r->kind == REC_OPEN) { /* the first packet, one way */
			uint64_t first = 60 + rnd(s) % 100;

			r->packets_in = r->dir == 0, r->bytes_in = r->dir == 0 ? first : 0;
			r->packets_out = r->dir == 1, r->bytes_out = r->dir == 1 ? first : 0;
		}
	}
	if (r->kind == REC_CLOSE)
		r->end_reason = (enum rec_close_reason)(1 + rnd(s) % 5);
}

static void gen_audit(struct flow_record *r, uint64_t *s)
{
	static const char *const pol_act[] = { "load", "reload", "reject", "rollback" };
	static const char *const agent_act[] = { "start", "stop" };
	char *msg = NULL;
	int ret = -1;

	r->old_revision = r->policy.revision - 1;
	hex_digest(r->policy.revision * 7 + 1, r->old_sha256);
	snprintf(r->actor, sizeof(r->actor), "uid=0 pid=%u via=%s", (unsigned)(1000 + rnd(s) % 9000),
		 r->kind == REC_POLICY ? "SIGHUP" : "systemd");
	if (r->kind == REC_POLICY) {
		snprintf(r->activity, sizeof(r->activity), "%s", pol_act[rnd(s) % 4]);
		r->success = strcmp(r->activity, "reject") != 0;
		if (!r->success)
			ret = asprintf(&msg, "policy.json:12:7: /ingress/3/ports/0: \"70000\": port out of range\n"
					     "policy.json:20:3: /groups/x: unknown group \\x");
		else
			ret = asprintf(&msg, "policy %s revision %llu %sed", r->policy.name,
				       (unsigned long long)r->policy.revision, r->activity);
	} else if (r->kind == REC_AGENT) {
		snprintf(r->activity, sizeof(r->activity), "%s", agent_act[rnd(s) % 2]);
		r->success = true;
		ret = asprintf(&msg, "ward %s on 2 interfaces", r->activity);
	} else { /* REC_LOST emitted by hand: what an upstream reporter would send */
		r->count = 1 + rnd(s) % 100;
		ret = asprintf(&msg, "%llu records lost at the ring buffer", (unsigned long long)r->count);
	}
	r->message = ret < 0 ? NULL : msg;
}

static void gen_record(struct flow_record *r, uint64_t i, uint64_t seed, const enum rec_kind *kinds,
		       int nkinds)
{
	uint64_t s = seed * 0x100000001b3ull ^ i;

	memset(r, 0, sizeof(*r));
	r->kind = kinds[rnd(&s) % (uint64_t)nkinds];
	r->time_ms = BASE_MS + i;
	r->start_ms = r->time_ms - rnd(&s) % 60000;
	r->end_ms = r->time_ms;
	snprintf(r->policy.name, sizeof(r->policy.name), "gpu-node-baseline");
	r->policy.revision = 42;
	hex_digest(seed, r->policy.sha256);
	if (r->kind <= REC_AUDIT)
		gen_network(r, &s);
	else
		gen_audit(r, &s);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pace(double t0, uint64_t i, double rate)
{
	double due = t0 + (double)i / rate, now = now_s();
	struct timespec ts;

	if (now >= due)
		return;
	ts.tv_sec = (time_t)(due - now);
	ts.tv_nsec = (long)((due - now - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static void usage(void)
{
	fprintf(stderr, "usage: rec_tool --sink SPEC [--sink SPEC ...] --count N [--rate PER_S] "
			"[--seed S] [--kinds mix|all|open,close,traffic,refuse,rate_limit,audit,policy,agent,lost] "
			"[--expect FILE] [--depth D] [--host NAME]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sink", required_argument, NULL, 's' },  { "count", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },  { "seed", required_argument, NULL, 'S' },
		{ "kinds", required_argument, NULL, 'k' }, { "expect", required_argument, NULL, 'e' },
		{ "depth", required_argument, NULL, 'd' }, { "host", required_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *specs[MAX_SINKS], *expect_path = NULL, *host = NULL;
	struct sink *sinks[MAX_SINKS];
	enum rec_kind kinds[32];
	int nspecs = 0, nkinds = 0, c;
	uint64_t count = 0, seed = 1, depth = 0, tw = 0, tl = 0, reloads = 0;
	struct sigaction sa = { .sa_handler = on_hup };
	double rate = 0, t0, dt;
	struct rec_pipeline *p;
	struct rec_stats st;
	FILE *expect = NULL;
	char err[256], *line;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (nspecs == MAX_SINKS) {
				fprintf(stderr, "rec_tool: at most %d sinks\n", MAX_SINKS);
				return 2;
			}
			specs[nspecs++] = optarg;
			break;
		case 'n': count = strtoull(optarg, NULL, 10); break;
		case 'r': rate = strtod(optarg, NULL); break;
		case 'S': seed = strtoull(optarg, NULL, 10); break;
		case 'd': depth = strtoull(optarg, NULL, 10); break;
		case 'e': expect_path = optarg; break;
		case 'h': host = optarg; break;
		case 'k':
			nkinds = parse_kinds(optarg, kinds);
			if (nkinds <= 0)
				return 2;
			break;
		default: usage(); return 2;
		}
	}
	if (!nspecs || optind != argc) {
		usage();
		return 2;
	}
	if (!nkinds)
		nkinds = parse_kinds("mix", kinds);
	/* By default the queue holds every record: what is measured is the
	 * writer, not a race between the producer and a small queue. */
	if (!depth)
		depth = count < 1024 ? 1024 : count > 262144 ? 262144 : count;
	rec_set_host(host, "0.1.0");

	for (int i = 0; i < nspecs; i++) {
		sinks[i] = sink_open_spec(specs[i], err, sizeof(err));
		if (!sinks[i]) {
			fprintf(stderr, "rec_tool: --sink %s: %s\n", specs[i], err);
			return 2;
		}
	}
	if (expect_path && !(expect = fopen(expect_path, "w"))) {
		fprintf(stderr, "rec_tool: %s: %s\n", expect_path, strerror(errno));
		return 2;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL); /* no SA_RESTART: a paced sleep ends early */
	line = malloc(1 << 20);
	p = rec_pipeline_new(sinks, (size_t)nspecs, (size_t)depth);
	if (!p || !line) {
		fprintf(stderr, "rec_tool: cannot start the pipeline\n");
		return 2;
	}

	t0 = now_s();
	for (uint64_t i = 0; i < count; i++) {
		struct flow_record r;
		char *msg_copy;

		if (rate > 0 && i % 16 == 0)
			pace(t0, i, rate);
		if (hup) {
			hup = 0;
			reloads++;
			fprintf(stderr, "rec_tool: SIGHUP after %llu records: reloading the sinks\n",
				(unsigned long long)i);
			rec_pipeline_reload(p);
		}
		gen_record(&r, i, seed, kinds, nkinds);
		msg_copy = expect && r.message ? strdup(r.message) : NULL;
		if (!rec_emit(p, &r) && expect) {
			int n;

			r.message = msg_copy;
			n = rec_render_ocsf(&r, line, 1 << 20);
			if (n >= 0) {
				fwrite(line, 1, (size_t)n, expect);
				fputc('\n', expect);
			}
		}
		free(msg_copy);
	}
	rec_pipeline_drain(p);
	dt = now_s() - t0;

	for (size_t i = 0; i < (size_t)nspecs; i++) {
		struct sink s;

		rec_pipeline_sink_stats(p, i, &s);
		printf("sink %s written %llu lost %llu\n", s.name, (unsigned long long)s.written,
		       (unsigned long long)s.lost);
		tw += s.written;
		tl += s.lost;
	}
	rec_pipeline_stats(p, &st);
	printf("emitted %llu written %llu lost %llu\n", (unsigned long long)count,
	       (unsigned long long)tw, (unsigned long long)tl);
	printf("pipeline queue_lost %llu upstream_lost %llu\n", (unsigned long long)st.queue_lost,
	       (unsigned long long)st.upstream_lost);
	printf("rate %.0f records/s\n", dt > 0 ? (double)count / dt : 0.0);
	if (reloads) {
		struct sink s;

		printf("reloads %llu\n", (unsigned long long)reloads);
		for (size_t i = 0; rec_pipeline_sink_stats(p, i, &s); i++)
			printf("sink %s reload_failed %llu\n", s.name,
			       (unsigned long long)s.reload_failed);
	}
	rec_pipeline_close(p);
	free(line);
	if (expect && fclose(expect)) {
		fprintf(stderr, "rec_tool: %s: %s\n", expect_path, strerror(errno));
		return 2;
	}
	return tl ? 1 : 0;
}
