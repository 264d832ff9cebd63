// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* ward run: load the policy, attach, pin, keep running until told to stop. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "cmd.h"
#include "loader.h"
#include "log.h"
#include "ct_gc.h"
#include "flows.h"
#include "rl_gc.h"
#include "links.h"
#include "sdnotify.h"

#define RUN_MAX_IFACES WARD_MAX_IFACES
#define RUN_MAX_FAILSAFES 16
#define RUN_MAX_SINKS 8
#define RUN_DEFAULT_FLOWS_DIR "/var/log/ward"
#define RUN_DEFAULT_FLOWS "file:" RUN_DEFAULT_FLOWS_DIR "/flows.json,max_bytes=104857600,keep=10,gzip=1"
#define RUN_QUEUE_DEPTH 32768 /* records; about 600 bytes each when full */

struct run_opts {
	const char *policy;
	const char *pin_path;
	const char *ifaces[RUN_MAX_IFACES];
	int nifaces;
	enum xdp_mode mode;
	size_t max_rules;
	size_t ct_size;
	const char *failsafes[RUN_MAX_FAILSAFES];
	int nfailsafes;
	const char *sinks[RUN_MAX_SINKS]; /* --flows; "none" = no records */
	int nsinks;
	size_t rl_size;
	unsigned traffic_s, interval_ms;
};

/* The running agent: what the loop and the policy loads share. */
struct agent {
	struct ward w;
	const struct run_opts *o;
	struct rec_pipeline *pl;
	struct flows *flows;
	struct links *links;
	__u64 last_walk_ns;
};

static int num_opt(const char *name, const char *arg, unsigned long lo, unsigned long hi,
		   unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(arg, &end, 10);
	if (errno || *end || !*arg || *out < lo || *out > hi) {
		fprintf(stderr, "ward run: --%s is %lu-%lu\n", name, lo, hi);
		return -1;
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct run_opts *o)
{
	static const struct option lo[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "interface", required_argument, NULL, 'i' },
		{ "pin-path", required_argument, NULL, 'P' },
		{ "xdp-mode", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "max-rules", required_argument, NULL, 'R' },
		{ "ct-size", required_argument, NULL, 'C' },
		{ "failsafe", required_argument, NULL, 'F' },
		{ "flows", required_argument, NULL, 'f' },
		{ "rl-size", required_argument, NULL, 'L' },
		{ "traffic-interval", required_argument, NULL, 'T' },
		{ "flow-interval", required_argument, NULL, 'I' },
		{},
	};
	unsigned long n;
	int c;

	o->pin_path = WARD_DEFAULT_PIN_PATH;
	while ((c = getopt_long(argc, argv, "p:i:P:m:v", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			o->policy = optarg;
			break;
		case 'i':
			if (o->nifaces == RUN_MAX_IFACES) {
				fprintf(stderr, "ward run: at most %d interfaces\n", RUN_MAX_IFACES);
				return -1;
			}
			o->ifaces[o->nifaces++] = optarg;
			break;
		case 'P':
			o->pin_path = optarg;
			break;
		case 'm':
			if (!strcmp(optarg, "native"))
				o->mode = XDP_MODE_NATIVE;
			else if (!strcmp(optarg, "generic"))
				o->mode = XDP_MODE_GENERIC;
			else if (!strcmp(optarg, "auto"))
				o->mode = XDP_MODE_AUTO;
			else {
				fprintf(stderr, "ward run: --xdp-mode is native, generic or auto\n");
				return -1;
			}
			break;
		case 'v':
			log_set_level(LOG_LVL_DEBUG);
			break;
		case 'F': {
			struct policy probe = {};
			const char *why;

			if (o->nfailsafes == RUN_MAX_FAILSAFES ||
			    policy__add_failsafe(&probe, optarg, &why)) {
				fprintf(stderr, "ward run: --failsafe %s: %s\n", optarg,
					o->nfailsafes == RUN_MAX_FAILSAFES ? "too many" : why);
				policy__free(&probe);
				return -1;
			}
			policy__free(&probe);
			o->failsafes[o->nfailsafes++] = optarg;
			break;
		}
		case 'C': {
			char *end;

			o->ct_size = strtoul(optarg, &end, 10);
			if (*end || o->ct_size < 1024 || o->ct_size > (1u << 26)) {
				fprintf(stderr, "ward run: --ct-size is 1024-%u\n", 1u << 26);
				return -1;
			}
			break;
		}
		case 'f':
			if (o->nsinks == RUN_MAX_SINKS) {
				fprintf(stderr, "ward run: at most %d --flows sinks\n", RUN_MAX_SINKS);
				return -1;
			}
			o->sinks[o->nsinks++] = optarg;
			break;
		case 'L':
			if (num_opt("rl-size", optarg, 1024, 1ul << 24, &n))
				return -1;
			o->rl_size = n;
			break;
		case 'T':
			if (num_opt("traffic-interval", optarg, 1, 86400, &n))
				return -1;
			o->traffic_s = n;
			break;
		case 'I':
			if (num_opt("flow-interval", optarg, 10, 60000, &n))
				return -1;
			o->interval_ms = n;
			break;
		case 'R': {
			char *end;

			o->max_rules = strtoul(optarg, &end, 10);
			if (*end || !o->max_rules || o->max_rules > WARD_RULES_LIMIT) {
				fprintf(stderr, "ward run: --max-rules is 1-%d\n", WARD_RULES_LIMIT);
				return -1;
			}
			break;
		}
		default:
			return -1;
		}
	}
	if (!o->policy || !o->nifaces || optind != argc) {
		fprintf(stderr, "usage: ward run --policy FILE --interface NAME [--interface NAME]... "
				"[--pin-path DIR] [--xdp-mode native|generic|auto] [--max-rules N] [--ct-size N]\n"
				"       [--failsafe \"tcp/22 from CIDR\"]... [--flows SINK|none]... [--rl-size N]\n"
				"       [--traffic-interval SECONDS] [--flow-interval MS]\n");
		return -1;
	}
	return 0;
}

static void actor(char *buf, size_t len, const char *via)
{
	snprintf(buf, len, "uid=%u pid=%d via=%s", (unsigned)getuid(), (int)getpid(), via);
}

/* Parse, compile and publish; on any error the live policy stays. Every
 * outcome is an audit record. */
static int load_policy(struct agent *a, const char *via)
{
	const struct run_opts *o = a->o;
	const char *path = o->policy;
	struct compile_limits lim = { .max_rules = a->w.max_rules };
	struct compiled c = {};
	struct diags d = {};
	struct policy p = {};
	char who[64], *errs = NULL;
	size_t errlen = 0;
	FILE *mem;
	int err;

	actor(who, sizeof(who), via);
	err = policy__parse_file(path, &p, &d);
	for (int i = 0; !err && i < o->nfailsafes; i++) {
		const char *why;

		err = policy__add_failsafe(&p, o->failsafes[i], &why);
	}
	if (!err)
		err = policy__compile_limits(&p, &lim, &c, &d);
	diags__print(&d, path, stderr);
	if (err) {
		mem = open_memstream(&errs, &errlen);
		if (mem) {
			diags__print(&d, path, mem);
			fclose(mem);
		}
		pr_warn("policy %s rejected, keeping the policy in force\n", path);
		if (a->flows)
			flows__audit(a->flows, REC_POLICY, "reject", false, &p, who, errs);
		free(errs);
		diags__free(&d);
		policy__free(&p);
		return -EINVAL;
	}
	diags__free(&d);
	err = ward__publish(&a->w, &c, &p);
	if (err) {
		pr_warn("policy %s: publish: %s, keeping the policy in force\n", path,
			strerror(-err));
		if (a->flows)
			flows__audit(a->flows, REC_POLICY, "reject", false, &p, who, strerror(-err));
	} else {
		pr_info("policy \"%s\" revision %llu in force: %zu rules, %zu prefixes, %zu entries\n",
			p.name, (unsigned long long)p.revision, p.nrules, c.naddrs, c.nrules);
		if (a->flows) {
			flows__audit(a->flows, REC_POLICY, strcmp(via, "start") ? "reload" : "load",
				     true, &p, who, NULL);
			flows__policy(a->flows, &p, ward__generation(&a->w));
		}
	}
	compiled__free(&c);
	policy__free(&p);
	return err;
}

static void walk_fn(void *arg, const struct ward_ct_key *k, const struct ward_ct_val *v, bool dead,
		    __u64 now)
{
	struct agent *a = arg;

	if (dead)
		flows__ct_end(a->flows, k, v, now);
	else
		flows__ct_live(a->flows, k, v, now, a->last_walk_ns);
}

static size_t map_cap(struct ward *w, const char *name)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = ward__map_fd(w, name);

	return fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) ? info.max_entries : 0;
}

static void collect(struct agent *a)
{
	size_t cap = map_cap(&a->w, "ward_ct"), rl_cap = map_cap(&a->w, "ward_rl"), rl_live = 0;
	struct ct_gc_stats st = {};
	struct timespec ts;
	int err;

	err = ct_gc__run(ward__map_fd(&a->w, "ward_ct"), cap, &st, a->flows ? walk_fn : NULL, a);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	a->last_walk_ns = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	if (err)
		pr_warn("conntrack gc: %s, ignoring\n", strerror(-err));
	else if (st.live * 10 > cap * 9)
		pr_warn("conntrack %zu of %zu entries in use: the oldest flows are being evicted "
			"(raise --ct-size)\n", st.live, cap);
	else
		pr_debug("conntrack gc: %zu live, %zu expired freed\n", st.live, st.freed);
	err = rl_gc__run(ward__map_fd(&a->w, "ward_rl"), rl_cap, &rl_live);
	if (err)
		pr_warn("rate-limit gc: %s, ignoring\n", strerror(-err));
	else if (rl_live * 10 > rl_cap * 9)
		pr_warn("rate limits: %zu of %zu client buckets in use: new clients share the "
			"sketch (raise --rl-size)\n", rl_live, rl_cap);
}

enum { FD_SIGNAL, FD_EVENTS, FD_LINKS, FD_MAX };

static int serve(struct agent *a)
{
	struct pollfd fds[FD_MAX];
	struct timespec last_gc = {}, now;
	struct signalfd_siginfo si;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	for (int i = 0; i < FD_MAX; i++)
		fds[i] = (struct pollfd){ .fd = -1, .events = POLLIN };
	fds[FD_SIGNAL].fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (fds[FD_SIGNAL].fd < 0)
		return -errno;
	if (a->flows)
		fds[FD_EVENTS].fd = flows__fd(a->flows);
	fds[FD_LINKS].fd = links__fd(a->links);
	clock_gettime(CLOCK_MONOTONIC, &last_gc);
	for (;;) {
		int n = poll(fds, FD_MAX, 1000);

		if (n < 0 && errno != EINTR) {
			close(fds[FD_SIGNAL].fd);
			return -errno;
		}
		if (a->flows && n > 0 && (fds[FD_EVENTS].revents & POLLIN))
			flows__poll(a->flows);
		if (n > 0 && (fds[FD_LINKS].revents & POLLIN))
			links__poll(a->links);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (n == 0 || now.tv_sec != last_gc.tv_sec) {
			if (a->flows)
				flows__tick(a->flows);
			if (now.tv_sec - last_gc.tv_sec >= CT_GC_INTERVAL_S) {
				collect(a);
				last_gc = now;
			}
		}
		if (n <= 0 || !(fds[FD_SIGNAL].revents & POLLIN) ||
		    read(fds[FD_SIGNAL].fd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			pr_info("SIGHUP: reloading %s\n", a->o->policy);
			(void)sd_notify_msg("RELOADING=1");
			(void)load_policy(a, "SIGHUP");
			(void)sd_notify_msg("READY=1");
			continue;
		}
		pr_info("%s: exiting; enforcement stays pinned under %s (ward detach removes it)\n",
			strsignal(si.ssi_signo), a->o->pin_path);
		close(fds[FD_SIGNAL].fd);
		return 0;
	}
}

/* The sinks of --flows (the default file when none is given). */
static int open_records(struct agent *a)
{
	const struct run_opts *o = a->o;
	struct sink *sinks[RUN_MAX_SINKS];
	const char *def = RUN_DEFAULT_FLOWS;
	const char *const *specs = o->nsinks ? o->sinks : &def;
	int n = o->nsinks ? o->nsinks : 1, ns = 0;
	char err[256], host[256];

	if (n == 1 && !strcmp(specs[0], "none")) {
		pr_warn("flow records are off (--flows none)\n");
		return 0;
	}
	if (!o->nsinks && mkdir(RUN_DEFAULT_FLOWS_DIR, 0750) && errno != EEXIST)
		pr_warn("%s: %s\n", RUN_DEFAULT_FLOWS_DIR, strerror(errno));
	if (gethostname(host, sizeof(host)))
		snprintf(host, sizeof(host), "localhost");
	rec_set_host(host, WARD_VERSION);
	for (int i = 0; i < n; i++) {
		sinks[ns] = sink_open_spec(specs[i], err, sizeof(err));
		if (!sinks[ns]) {
			pr_warn("--flows %s: %s\n", specs[i], err);
			for (int j = 0; j < ns; j++)
				sinks[j]->ops->close(sinks[j]);
			return -EINVAL;
		}
		pr_info("flow records to %s\n", sinks[ns]->name);
		ns++;
	}
	a->pl = rec_pipeline_new(sinks, ns, RUN_QUEUE_DEPTH);
	if (!a->pl)
		return -ENOMEM;
	{
		struct flows_opts fo = { .traffic_s = o->traffic_s, .interval_ms = o->interval_ms };

		a->flows = flows__new(&a->w, a->pl, &fo);
	}
	return a->flows ? 0 : -ENOMEM;
}

static void close_records(struct agent *a, const char *why)
{
	char who[64];

	if (a->flows) {
		actor(who, sizeof(who), why);
		flows__tick(a->flows);
		flows__audit(a->flows, REC_AGENT, "stop", true, NULL, who,
			     "agent stopped; enforcement stays pinned");
	}
	flows__free(a->flows);
	a->flows = NULL;
	if (a->pl)
		rec_pipeline_close(a->pl);
	a->pl = NULL;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = {};
	struct agent a = { .o = &o };
	char who[64];
	int err;

	if (parse_opts(argc, argv, &o))
		return EXIT_USAGE;
	{
		struct ward_load_opts lo = { .max_rules = o.max_rules, .ct_size = o.ct_size,
					     .rl_size = o.rl_size, .ev_interval_ms = o.interval_ms };

		/* nobody would read flow events: the datapath does not make them */
		lo.no_events = o.nsinks == 1 && !strcmp(o.sinks[0], "none");

		err = ward__load_ex(&a.w, o.pin_path, &lo);
	}
	if (err) {
		pr_warn("load BPF programs (pin path %s): %s\n", o.pin_path, strerror(-err));
		return EXIT_RUNTIME;
	}
	pr_info("programs loaded, maps %s under %s\n", a.w.adopted ? "adopted" : "pinned",
		o.pin_path);
	err = open_records(&a);
	if (err) {
		ward__close(&a.w);
		return err == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
	}
	if (a.flows) {
		actor(who, sizeof(who), "start");
		flows__audit(a.flows, REC_AGENT, "start", true, NULL, who,
			     a.w.adopted ? "agent started; pinned state adopted" : "agent started");
	}
	err = load_policy(&a, "start");
	if (err) {
		close_records(&a, "error");
		ward__close(&a.w);
		return err == -EINVAL ? EXIT_INVALID : EXIT_RUNTIME;
	}
	{
		const char *missing = NULL;

		a.links = links__start(&a.w, o.ifaces, o.nifaces, o.mode);
		if (!a.links || links__errors(a.links) ||
		    links__literal_missing(a.links, &missing)) {
			if (missing)
				pr_warn("%s: no such interface\n", missing);
			pr_warn("cannot attach to every interface asked for; exiting (what was "
				"attached stays pinned until ward detach)\n");
			links__stop(a.links);
			close_records(&a, "error");
			ward__close(&a.w);
			return EXIT_RUNTIME;
		}
		if (!links__count(a.links))
			pr_warn("no interface matches %s%s yet; enforcing on each as it appears\n",
				o.ifaces[0], o.nifaces > 1 ? " (or the other patterns)" : "");
	}
	for (int i = 0; i < o.nfailsafes; i++)
		pr_info("failsafe: %s (no policy can remove it)\n", o.failsafes[i]);
	/* enforcement is live: systemctl start may return */
	(void)sd_notify_msg("READY=1\nSTATUS=enforcing");
	err = serve(&a);
	(void)sd_notify_msg("STOPPING=1");
	links__stop(a.links);
	close_records(&a, "signal");
	ward__close(&a.w);
	return err ? EXIT_RUNTIME : EXIT_OK;
}
