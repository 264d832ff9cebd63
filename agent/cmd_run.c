// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* ward run: load the policy, attach, pin, keep running until told to stop. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "loader.h"
#include "log.h"
#include "ct_gc.h"

#define RUN_MAX_IFACES WARD_MAX_IFACES
#define RUN_MAX_FAILSAFES 16

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
};

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
		{},
	};
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
				"       [--failsafe \"tcp/22 from CIDR\"]...\n");
		return -1;
	}
	return 0;
}

/* Parse, compile and publish; on any error the live policy stays. */
static int load_policy(struct ward *w, const struct run_opts *o)
{
	const char *path = o->policy;
	struct compile_limits lim = { .max_rules = w->max_rules };
	struct compiled c = {};
	struct diags d = {};
	struct policy p;
	int err;

	err = policy__parse_file(path, &p, &d);
	for (int i = 0; !err && i < o->nfailsafes; i++) {
		const char *why;

		err = policy__add_failsafe(&p, o->failsafes[i], &why);
	}
	if (!err) {
		err = policy__compile_limits(&p, &lim, &c, &d);
		if (err)
			policy__free(&p);
	}
	diags__print(&d, path, stderr);
	diags__free(&d);
	if (err) {
		pr_warn("policy %s rejected, keeping the policy in force\n", path);
		return -EINVAL;
	}
	err = ward__publish(w, &c, &p);
	if (err)
		pr_warn("policy %s: publish: %s, keeping the policy in force\n", path,
			strerror(-err));
	else
		pr_info("policy \"%s\" revision %llu in force: %zu rules, %zu prefixes, %zu entries\n",
			p.name, (unsigned long long)p.revision, p.nrules, c.naddrs, c.nrules);
	compiled__free(&c);
	policy__free(&p);
	return err;
}

static void collect(struct ward *w, size_t cap)
{
	struct ct_gc_stats st = {};
	int err = ct_gc__run(ward__map_fd(w, "ward_ct"), cap, &st);

	if (err)
		pr_warn("conntrack gc: %s, ignoring\n", strerror(-err));
	else if (st.live * 10 > cap * 9)
		pr_warn("conntrack %zu of %zu entries in use: the oldest flows are being evicted "
			"(raise --ct-size)\n", st.live, cap);
	else
		pr_debug("conntrack gc: %zu live, %zu expired freed\n", st.live, st.freed);
}

static int serve(struct ward *w, const struct run_opts *o)
{
	struct timespec tick = { .tv_sec = CT_GC_INTERVAL_S };
	size_t cap = o->ct_size ? o->ct_size : WARD_CT_DEFAULT_SIZE;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	for (;;) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig < 0) {
			if (errno == EAGAIN)
				collect(w, cap);
			else if (errno != EINTR)
				return -errno;
			continue;
		}
		if (sig == SIGHUP) {
			pr_info("SIGHUP: reloading %s\n", o->policy);
			(void)load_policy(w, o);
			continue;
		}
		pr_info("%s: exiting; enforcement stays pinned under %s (ward detach removes it)\n",
			strsignal(sig), o->pin_path);
		return 0;
	}
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = {};
	struct ward w;
	int err;

	if (parse_opts(argc, argv, &o))
		return EXIT_USAGE;
	{
		struct ward_load_opts lo = { .max_rules = o.max_rules, .ct_size = o.ct_size };

		err = ward__load_ex(&w, o.pin_path, &lo);
	}
	if (err) {
		pr_warn("load BPF programs (pin path %s): %s\n", o.pin_path, strerror(-err));
		return EXIT_RUNTIME;
	}
	pr_info("programs loaded, maps %s under %s\n", w.adopted ? "adopted" : "pinned",
		o.pin_path);
	err = load_policy(&w, &o);
	if (err) {
		ward__close(&w);
		return err == -EINVAL ? EXIT_INVALID : EXIT_RUNTIME;
	}
	for (int i = 0; i < o.nifaces; i++) {
		err = ward__attach(&w, o.ifaces[i], o.mode);
		if (err) {
			pr_warn("%s: cannot attach: %s\n", o.ifaces[i], strerror(-err));
			ward__close(&w);
			return EXIT_RUNTIME;
		}
		pr_info("%s: enforcing (XDP ingress, TC egress)\n", o.ifaces[i]);
	}
	for (int i = 0; i < o.nfailsafes; i++)
		pr_info("failsafe: %s (no policy can remove it)\n", o.failsafes[i]);
	err = serve(&w, &o);
	ward__close(&w);
	return err ? EXIT_RUNTIME : EXIT_OK;
}
