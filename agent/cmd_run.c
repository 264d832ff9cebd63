// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* ward run: load the policy, attach, pin, keep running until told to stop. */
#include <errno.h>
#include <malloc.h>
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
#include "ktime.h"
#include "metrics.h"
#include "rl_gc.h"
#include "links.h"
#include "sdnotify.h"
#include "watch.h"
#include "config.h"
#include "control.h"
#include <jansson.h>

#define RUN_MAX_IFACES WARD_MAX_IFACES
#define RUN_MAX_FAILSAFES 16
#define RUN_MAX_SINKS 8
#define RUN_LOGGED_WARNINGS 20 /* per load; ward check lists them all */
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
	const char *metrics; /* --metrics ADDR:PORT; NULL = off */
	const char *config;         /* --config FILE: the flags override it            */
	const char *control_socket; /* NULL: control__default_path(pin_path); "none"   */
	bool mode_set, verbose;
};

/* A published policy as text: what a rollback puts back. */
struct policy_src {
	char *path; /* for messages */
	char *text;
	size_t len;
	char *name;
	__u64 revision;
};

/* The running agent: what the loop and the policy loads share. */
struct agent {
	struct ward w;
	const struct run_opts *o;
	struct rec_pipeline *pl;
	struct flows *flows;
	struct metrics *metrics;
	struct links *links;
	struct filewatch *watch; /* the policy file */
	__u64 last_walk_ns;
	struct control *ctl;
	struct policy_src kept;  /* the policy kept: loaded, reloaded, applied, confirmed */
	struct policy_src trial; /* applied with --confirm-within, not confirmed yet      */
	bool on_trial;
	__u64 trial_deadline_ms; /* CLOCK_MONOTONIC                                       */
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

/* The config file under the flags: what no flag set comes from the file. */
static void merge_config(struct run_opts *o, const struct ward_config *c)
{
	if (!o->policy)
		o->policy = c->policy;
	if (!o->pin_path)
		o->pin_path = c->pin_path;
	for (size_t i = 0; !o->nifaces && i < c->ninterfaces && i < RUN_MAX_IFACES; i++)
		o->ifaces[i] = c->interfaces[i];
	if (!o->nifaces)
		o->nifaces = c->ninterfaces < RUN_MAX_IFACES ? c->ninterfaces : RUN_MAX_IFACES;
	if (!o->mode_set && c->xdp_mode >= 0)
		o->mode = c->xdp_mode;
	if (!o->max_rules)
		o->max_rules = c->max_rules;
	if (!o->ct_size)
		o->ct_size = c->ct_size;
	if (!o->rl_size)
		o->rl_size = c->rl_size;
	for (size_t i = 0; !o->nfailsafes && i < c->nfailsafes && i < RUN_MAX_FAILSAFES; i++)
		o->failsafes[i] = c->failsafes[i];
	if (!o->nfailsafes)
		o->nfailsafes = c->nfailsafes < RUN_MAX_FAILSAFES ? c->nfailsafes : RUN_MAX_FAILSAFES;
	for (size_t i = 0; !o->nsinks && i < c->nflows && i < RUN_MAX_SINKS; i++)
		o->sinks[i] = c->flows[i];
	if (!o->nsinks)
		o->nsinks = c->nflows < RUN_MAX_SINKS ? c->nflows : RUN_MAX_SINKS;
	if (!o->traffic_s)
		o->traffic_s = c->traffic_interval_s;
	if (!o->interval_ms)
		o->interval_ms = c->flow_interval_ms;
	if (!o->control_socket)
		o->control_socket = c->control_socket;
	if (!o->metrics)
		o->metrics = c->metrics;
	if (!o->verbose && c->log_level >= 0)
		log_set_level(c->log_level);
}

/* 0; -1 usage; -2 an invalid config file (printed). */
static int parse_opts(int argc, char **argv, struct run_opts *o, struct ward_config *cfg)
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
		{ "metrics", required_argument, NULL, 'M' },
		{ "config", required_argument, NULL, 'c' },
		{ "control-socket", required_argument, NULL, 'S' },
		{},
	};
	unsigned long n;
	int c;

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
			o->mode_set = true;
			break;
		case 'v':
			log_set_level(LOG_LVL_DEBUG);
			o->verbose = true;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 'S':
			o->control_socket = optarg;
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
		case 'M':
			o->metrics = optarg;
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
	if (o->config && optind == argc) {
		struct diags d = {};

		if (config__parse_file(o->config, cfg, &d)) {
			diags__print(&d, o->config, stderr);
			fprintf(stderr, "ward run: %s: invalid config: %zu error(s)\n", o->config,
				d.nerrors);
			diags__free(&d);
			return -2;
		}
		diags__print(&d, o->config, stderr); /* warnings */
		diags__free(&d);
		merge_config(o, cfg);
	}
	if (!o->pin_path)
		o->pin_path = WARD_DEFAULT_PIN_PATH;
	if (!o->policy || !o->nifaces || optind != argc) {
		fprintf(stderr, "usage: ward run [--config FILE] --policy FILE --interface NAME|GLOB [--interface NAME|GLOB]... "
				"[--pin-path DIR] [--xdp-mode native|generic|auto] [--max-rules N] [--ct-size N]\n"
				"       [--failsafe \"tcp/22 from CIDR\"]... [--flows SINK|none]... [--rl-size N]\n"
				"       [--traffic-interval SECONDS] [--flow-interval MS] [--metrics ADDR:PORT] [--control-socket PATH|none]\n"
				"       (--policy and --interface may come from the config file)\n");
		return -1;
	}
	return 0;
}

static void actor(char *buf, size_t len, const char *via)
{
	snprintf(buf, len, "uid=%u pid=%d via=%s", (unsigned)getuid(), (int)getpid(), via);
}

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
}

static void src_free(struct policy_src *s)
{
	free(s->path);
	free(s->text);
	free(s->name);
	memset(s, 0, sizeof(*s));
}

/* Who asked: the control socket's peer while it is being served, else us. */
static void who_asked(struct agent *a, char *buf, size_t len, const char *via)
{
	const struct control_peer *peer = control__peer(a->ctl);

	if (peer)
		snprintf(buf, len, "uid=%u pid=%d via=%s", (unsigned)peer->uid, (int)peer->pid, via);
	else
		actor(buf, len, via);
}

static char *diags_text(const struct diags *d, const char *path)
{
	char *s = NULL;
	size_t n = 0;
	FILE *mem = open_memstream(&s, &n);

	if (!mem)
		return NULL;
	diags__print(d, path, mem);
	fclose(mem);
	return s;
}

static const char *activity(const char *via)
{
	if (!strcmp(via, "start"))
		return "load";
	if (!strcmp(via, "SIGHUP") || !strcmp(via, "inotify"))
		return "reload";
	return via; /* apply, rollback */
}

/*
 * Parse (the text, or the file at path when text is NULL), compile and
 * publish; on any error the live policy stays (-EINVAL: invalid). Every
 * outcome is an audit record. msgs (may be NULL): the located errors and
 * warnings as text. On success, *out holds the published text.
 */
static int publish_policy(struct agent *a, const char *path, const char *text, size_t len,
			  const char *via, char **msgs, struct policy_src *out)
{
	const struct run_opts *o = a->o;
	struct compile_limits lim = { .max_rules = a->w.max_rules };
	struct compiled c = {};
	struct diags d = {};
	struct policy p = {};
	char who[64], *errs = NULL;
	int err;

	who_asked(a, who, sizeof(who), via);
	err = text ? policy__parse(text, len, &p, &d) : policy__parse_file(path, &p, &d);
	for (int i = 0; !err && i < o->nfailsafes; i++) {
		const char *why;

		err = policy__add_failsafe(&p, o->failsafes[i], &why);
	}
	if (!err)
		err = policy__compile_limits(&p, &lim, &c, &d);
	diags__print_some(&d, path, stderr, RUN_LOGGED_WARNINGS);
	if (msgs && d.n)
		*msgs = diags_text(&d, path);
	if (err) {
		errs = diags_text(&d, path);
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
			flows__audit(a->flows, REC_POLICY, activity(via), true, &p, who, NULL);
			flows__policy(a->flows, &p, ward__generation(&a->w));
		}
		out->path = strdup(path);
		out->text = p.src; /* the policy's own copy, NUL-terminated */
		out->len = p.srclen;
		p.src = NULL;
		out->name = strdup(p.name);
		out->revision = p.revision;
	}
	compiled__free(&c);
	policy__free(&p);
	malloc_trim(0); /* a large policy's parse and compile leave freed heap */
	return err;
}

/* The file of --policy (start, SIGHUP): it becomes the policy kept, and ends a trial. */
static int load_policy(struct agent *a, const char *via)
{
	struct policy_src s = {};
	int err = publish_policy(a, a->o->policy, NULL, 0, via, NULL, &s);

	if (err)
		return err;
	if (a->on_trial)
		pr_warn("%s: the policy on trial (\"%s\" revision %llu) is replaced: no rollback\n",
			via, a->trial.name, (unsigned long long)a->trial.revision);
	src_free(&a->trial);
	a->on_trial = false;
	src_free(&a->kept);
	a->kept = s;
	return 0;
}

/* ward apply: publish the text; with confirm_s, on trial until ward confirm. */
static int ctl_apply(void *arg, const char *path, const char *text, size_t len, unsigned confirm_s,
		     char **reply)
{
	struct agent *a = arg;
	struct policy_src s = {};
	char *msgs = NULL;
	json_t *r;
	int err;

	err = publish_policy(a, path, text, len, "apply", &msgs, &s);
	if (err) {
		*reply = msgs ? msgs : strdup(strerror(-err));
		return err;
	}
	r = json_pack("{s:s?,s:I,s:s,s:I}", "name", s.name, "revision", (json_int_t)s.revision,
		      "warnings", msgs ? msgs : "", "confirm_within", (json_int_t)confirm_s);
	free(msgs);
	if (confirm_s) {
		json_object_set_new(r, "rollback_to",
				    json_pack("{s:s?,s:I}", "name", a->kept.name, "revision",
					      (json_int_t)a->kept.revision));
		pr_warn("policy \"%s\" revision %llu on trial: back to \"%s\" revision %llu unless "
			"ward confirm comes within %u s\n",
			s.name, (unsigned long long)s.revision, a->kept.name,
			(unsigned long long)a->kept.revision, confirm_s);
		src_free(&a->trial);
		a->trial = s;
		a->on_trial = true;
		a->trial_deadline_ms = now_ms() + confirm_s * 1000ull;
	} else {
		if (a->on_trial)
			pr_info("the policy on trial is replaced by an apply: no rollback\n");
		src_free(&a->trial);
		a->on_trial = false;
		src_free(&a->kept);
		a->kept = s;
	}
	*reply = r ? json_dumps(r, JSON_COMPACT) : NULL;
	json_decref(r);
	return 0;
}

static int ctl_confirm(void *arg, char **reply)
{
	struct agent *a = arg;
	char who[64];

	if (!a->on_trial)
		return -ENOENT;
	who_asked(a, who, sizeof(who), "confirm");
	pr_info("policy \"%s\" revision %llu confirmed (%s)\n", a->trial.name,
		(unsigned long long)a->trial.revision, who);
	src_free(&a->kept);
	a->kept = a->trial;
	memset(&a->trial, 0, sizeof(a->trial));
	a->on_trial = false;
	{
		json_t *r = json_pack("{s:s?,s:I}", "name", a->kept.name, "revision",
				      (json_int_t)a->kept.revision);

		*reply = r ? json_dumps(r, JSON_COMPACT) : NULL;
		json_decref(r);
	}
	return 0;
}

static const struct control_ops ctl_ops = { .apply = ctl_apply, .confirm = ctl_confirm };

/* A trial past its deadline (or the agent stopping): put the kept policy back. */
static void end_trial(struct agent *a, bool stopping)
{
	struct policy_src s = {};
	int err;

	if (!a->on_trial || (!stopping && now_ms() < a->trial_deadline_ms))
		return;
	pr_warn("%s: rolling back from \"%s\" revision %llu to \"%s\" revision %llu\n",
		stopping ? "stopping with a policy on trial" : "no ward confirm in time",
		a->trial.name, (unsigned long long)a->trial.revision, a->kept.name,
		(unsigned long long)a->kept.revision);
	err = publish_policy(a, a->kept.path, a->kept.text, a->kept.len, "rollback", NULL, &s);
	src_free(&s);
	if (err) {
		pr_warn("rollback: %s; trying again in 1 s\n", strerror(-err));
		a->trial_deadline_ms = now_ms() + 1000;
		return;
	}
	src_free(&a->trial);
	a->on_trial = false;
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
	int err;

	err = ct_gc__run(ward__map_fd(&a->w, "ward_ct"), cap, &st, a->flows ? walk_fn : NULL, a);
	a->last_walk_ns = ward_ktime_ns(); /* compared with conntrack times */
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

enum { FD_SIGNAL, FD_EVENTS, FD_LINKS, FD_CONTROL, FD_WATCH, FD_MAX };

/* The policy file changed: reload once it has been quiet this long, so a
 * writer that is not done yet is not read half-written (and if it is, the
 * parse fails and the live policy stays). */
#define RELOAD_SETTLE_MS 300

static int serve(struct agent *a)
{
	struct pollfd fds[FD_MAX];
	struct timespec last_gc = {}, now;
	__u64 reload_at = 0;
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
	fds[FD_CONTROL].fd = control__fd(a->ctl);
	a->watch = filewatch__new(a->o->policy);
	if (a->watch)
		fds[FD_WATCH].fd = filewatch__fd(a->watch);
	else
		pr_warn("%s: cannot watch for changes (%s): reload with SIGHUP\n", a->o->policy,
			strerror(errno));
	clock_gettime(CLOCK_MONOTONIC, &last_gc);
	for (;;) {
		int timeout = 1000, n;

		if (a->on_trial) {
			__u64 t = now_ms();

			timeout = a->trial_deadline_ms <= t ? 0
				  : a->trial_deadline_ms - t < 1000 ? (int)(a->trial_deadline_ms - t)
								     : 1000;
		}
		if (reload_at && timeout > RELOAD_SETTLE_MS)
			timeout = RELOAD_SETTLE_MS;
		n = poll(fds, FD_MAX, timeout);

		if (n < 0 && errno != EINTR) {
			close(fds[FD_SIGNAL].fd);
			return -errno;
		}
		if (a->flows && n > 0 && (fds[FD_EVENTS].revents & POLLIN))
			flows__poll(a->flows);
		if (n > 0 && (fds[FD_LINKS].revents & POLLIN))
			links__poll(a->links);
		if (n > 0 && (fds[FD_CONTROL].revents & POLLIN))
			control__handle(a->ctl, &ctl_ops, a);
		if (n > 0 && (fds[FD_WATCH].revents & POLLIN) && filewatch__changed(a->watch))
			reload_at = now_ms() + RELOAD_SETTLE_MS;
		if (reload_at && now_ms() >= reload_at) {
			reload_at = 0;
			pr_info("%s changed: reloading\n", a->o->policy);
			(void)sd_notify_msg("RELOADING=1");
			(void)load_policy(a, "inotify");
			(void)sd_notify_msg("READY=1");
		}
		end_trial(a, false);
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
			rec_pipeline_reload(a->pl); /* sinks: TLS certificates, reopened files */
			(void)sd_notify_msg("READY=1");
			continue;
		}
		end_trial(a, true);
		pr_info("%s: exiting; enforcement stays pinned under %s (ward detach removes it)\n",
			strsignal(si.ssi_signo), a->o->pin_path);
		close(fds[FD_SIGNAL].fd);
		filewatch__free(a->watch);
		a->watch = NULL;
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

	/* the metrics thread reads the pipeline's counters: it goes first */
	metrics__stop(a->metrics);
	a->metrics = NULL;
	if (a->flows) {
		actor(who, sizeof(who), why);
		flows__stop(a->flows);
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
	struct ward_config cfg;
	char who[64], ctl_path[108], why[256];
	sigset_t hup;
	int err;

	/* a reload asked for while starting (systemctl reload) waits for the
	 * loop instead of killing the agent with SIGHUP's default action */
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	(void)sigprocmask(SIG_BLOCK, &hup, NULL);
	config__init(&cfg);
	err = parse_opts(argc, argv, &o, &cfg);
	if (err) {
		config__free(&cfg);
		return err == -2 ? EXIT_INVALID : EXIT_USAGE;
	}
	/* before anything is loaded: a second agent on the same socket stops here */
	if (!o.control_socket || strcmp(o.control_socket, "none")) {
		if (!o.control_socket && control__default_path(o.pin_path, ctl_path, sizeof(ctl_path))) {
			pr_warn("--pin-path %s: too long to name the control socket: give "
				"--control-socket\n", o.pin_path);
			config__free(&cfg);
			return EXIT_USAGE;
		}
		a.ctl = control__open(o.control_socket ? o.control_socket : ctl_path, why,
				      sizeof(why));
		if (!a.ctl) {
			pr_warn("control socket: %s\n", why);
			config__free(&cfg);
			return EXIT_RUNTIME;
		}
		pr_info("control socket %s (ward apply, ward confirm)\n",
			o.control_socket ? o.control_socket : ctl_path);
	}
	{
		struct ward_load_opts lo = { .max_rules = o.max_rules, .ct_size = o.ct_size,
					     .rl_size = o.rl_size, .ev_interval_ms = o.interval_ms };

		/* nobody would read flow events: the datapath does not make them */
		lo.no_events = o.nsinks == 1 && !strcmp(o.sinks[0], "none");

		err = ward__load_ex(&a.w, o.pin_path, &lo);
	}
	if (err) {
		pr_warn("load BPF programs (pin path %s): %s\n", o.pin_path, strerror(-err));
		err = EXIT_RUNTIME;
		goto out;
	}
	pr_info("programs loaded, maps %s under %s\n", a.w.adopted ? "adopted" : "pinned",
		o.pin_path);
	err = open_records(&a);
	if (err) {
		ward__close(&a.w);
		err = err == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
		goto out;
	}
	if (o.metrics) {
		struct metrics_source ms = { .pin_path = o.pin_path, .pl = a.pl };

		a.metrics = metrics__start(o.metrics, &ms, why, sizeof(why));
		if (!a.metrics) {
			pr_warn("--metrics: %s\n", why);
			close_records(&a, "error");
			ward__close(&a.w);
			err = EXIT_RUNTIME;
			goto out;
		}
		pr_info("metrics on http://%s/metrics\n", o.metrics);
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
		err = err == -EINVAL ? EXIT_INVALID : EXIT_RUNTIME;
		goto out;
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
			err = EXIT_RUNTIME;
			goto out;
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
	err = err ? EXIT_RUNTIME : EXIT_OK;
out:
	control__close(a.ctl);
	src_free(&a.kept);
	src_free(&a.trial);
	config__free(&cfg);
	return err;
}
