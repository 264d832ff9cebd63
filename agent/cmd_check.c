// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* ward check POLICY: validate and compile, every error at once. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "lookup.h"
#include "policy.h"
#include "config.h"

static json_t *diags_json(const struct diags *d, const char *file)
{
	json_t *a = json_array();

	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];

		json_array_append_new(
			a, json_pack("{s:s,s:s,s:i,s:i,s:s,s:s?,s:s}", "severity",
				     g->warning ? "warning" : "error", "file", file, "line", g->line,
				     "column", g->col, "pointer", g->pointer, "value", g->value,
				     "reason", g->reason ? g->reason : ""));
	}
	return a;
}

/* ward check --config FILE: the agent's config file, checked like ward run does. */
static int check_config(const char *file)
{
	struct ward_config cfg;
	struct diags d = {};
	int err;

	config__init(&cfg);
	err = config__parse_file(file, &cfg, &d);
	diags__print(&d, file, stderr);
	diags__free(&d);
	config__free(&cfg);
	if (err) {
		fprintf(stderr, "ward check: %s: invalid config\n", file);
		return EXIT_INVALID;
	}
	printf("%s: valid config\n", file);
	return EXIT_OK;
}

int cmd_check(int argc, char **argv)
{
	static const struct option lo[] = { { "json", no_argument, NULL, 'j' },
					    { "max-rules", required_argument, NULL, 'R' },
					    { "config", required_argument, NULL, 'C' },
					    {} };
	struct compile_limits lim = {};
	struct compiled c = {};
	struct lookup_tables t = {};
	struct diags d = {};
	struct policy p = {};
	bool json = false;
	int opt, err;
	const char *file;

	while ((opt = getopt_long(argc, argv, "j", lo, NULL)) != -1) {
		if (opt == 'j')
			json = true;
		else if (opt == 'R')
			lim.max_rules = strtoul(optarg, NULL, 10);
		else if (opt == 'C')
			return optind == argc ? check_config(optarg) : EXIT_USAGE;
		else
			goto usage;
	}
	if (optind != argc - 1)
		goto usage;
	file = argv[optind];
	err = policy__parse_file(file, &p, &d);
	if (!err)
		err = policy__compile_limits(&p, &lim, &c, &d);
	if (!err) {
		err = lookup__build(&c, &t);
		if (err)
			fprintf(stderr, "%s: the lookup tables cannot be built: %s\n", file,
				strerror(-err));
	}
	if (json) {
		json_t *o = json_pack("{s:b,s:o}", "valid", !err, "diagnostics",
				      diags_json(&d, file));
		char *s;

		if (!err)
			json_object_set_new(
				o, "summary",
				json_pack("{s:s,s:I,s:i,s:i,s:i,s:i,s:i,s:{s:i,s:i,s:i,s:i}}",
					  "name", p.name, "revision", (json_int_t)p.revision,
					  "rules", (int)p.nrules, "groups", (int)p.ngroups,
					  "address_classes", (int)c.nclasses - 1, "address_entries",
					  (int)c.naddrs, "rule_entries", (int)c.nrules, "lookup",
					  "address_entries", (int)t.naddr, "markers", (int)t.nmarkers,
					  "port_lists", (int)t.nports, "port_intervals",
					  (int)t.nivals));
		s = json_dumps(o, JSON_INDENT(2));
		if (s)
			puts(s);
		free(s);
		json_decref(o);
	} else {
		diags__print(&d, file, stderr);
		if (!err)
			printf("%s: valid: policy \"%s\" revision %llu: %zu rules, %zu groups, "
			       "%zu address classes; map entries: %zu address, %zu rule; lookup "
			       "tables: %zu address entries (%zu markers), %zu port lists, %zu "
			       "port intervals\n",
			       file, p.name, (unsigned long long)p.revision, p.nrules, p.ngroups,
			       c.nclasses - 1, c.naddrs, c.nrules, t.naddr, t.nmarkers, t.nports,
			       t.nivals);
		else
			fprintf(stderr, "%s: invalid: %zu error(s)\n", file, d.nerrors);
	}
	lookup__free(&t);
	compiled__free(&c);
	policy__free(&p);
	diags__free(&d);
	return err ? EXIT_INVALID : EXIT_OK;
usage:
	fprintf(stderr, "usage: ward check POLICY [--json] [--max-rules N]\n");
	return EXIT_USAGE;
}
