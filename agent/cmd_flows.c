// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ward flows: the agent's flow records (OCSF JSON lines, as the file sink
 * writes them), one readable line each, filtered. --follow keeps reading
 * as the agent appends, across rotations (a new file at the path).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <jansson.h>
#include "cmd.h"

#define FLOWS_DEFAULT_FILE "/var/log/ward/flows.json"

struct flows_filter {
	const char *verdict; /* allow | deny | rate | audit */
	const char *rule;
	const char *addr;
	bool json;
};

static const char *str_at(json_t *root, const char *a, const char *b)
{
	json_t *o = json_object_get(root, a);

	o = b ? json_object_get(o, b) : o;
	return json_is_string(o) ? json_string_value(o) : NULL;
}

static json_int_t int_at(json_t *root, const char *a, const char *b)
{
	json_t *o = json_object_get(root, a);

	o = b ? json_object_get(o, b) : o;
	return json_is_integer(o) ? json_integer_value(o) : -1;
}

/* allow, deny, rate or audit, from action, disposition and event code */
static const char *verdict_of(json_t *r)
{
	const char *code = str_at(r, "metadata", "event_code");

	if (code && !strcmp(code, "rate_limit"))
		return "rate";
	switch (int_at(r, "action_id", NULL)) {
	case 1:
		return "allow";
	case 2:
		return "deny";
	case 3:
		return "audit";
	}
	return "-";
}

static bool matches(json_t *r, const struct flows_filter *f)
{
	const char *rule = str_at(r, "firewall_rule", "uid");
	const char *src = str_at(r, "src_endpoint", "ip"), *dst = str_at(r, "dst_endpoint", "ip");

	if (int_at(r, "class_uid", NULL) != 4001)
		return !f->verdict && !f->rule && !f->addr; /* audit records: unfiltered only */
	if (f->verdict && strcmp(f->verdict, verdict_of(r)))
		return false;
	if (f->rule && (!rule || strcmp(f->rule, rule)))
		return false;
	if (f->addr && !((src && !strcmp(src, f->addr)) || (dst && !strcmp(dst, f->addr))))
		return false;
	return true;
}

static void endpoint(char *buf, size_t len, json_t *r, const char *which)
{
	const char *ip = str_at(r, which, "ip");
	json_int_t port = int_at(r, which, "port");

	if (!ip)
		snprintf(buf, len, "-");
	else if (port > 0)
		snprintf(buf, len, strchr(ip, ':') ? "[%s]:%lld" : "%s:%lld", ip, (long long)port);
	else
		snprintf(buf, len, "%s", ip);
}

static void print_line(json_t *r)
{
	json_int_t t = int_at(r, "time", NULL);
	time_t sec = t > 0 ? t / 1000 : 0;
	char when[32], src[64], dst[64];
	struct tm tm;

	gmtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	if (int_at(r, "class_uid", NULL) != 4001) {
		const char *msg = str_at(r, "message", NULL);

		printf("%s.%03lldZ %-8s %s%s%s\n", when, (long long)(t % 1000),
		       str_at(r, "metadata", "event_code") ?: "audit",
		       str_at(r, "status", NULL) ?: "", msg ? ": " : "", msg ?: "");
		return;
	}
	endpoint(src, sizeof(src), r, "src_endpoint");
	endpoint(dst, sizeof(dst), r, "dst_endpoint");
	printf("%s.%03lldZ %-7s %-5s %-3s %-6s %s -> %s rule=%s", when, (long long)(t % 1000),
	       str_at(r, "activity_name", NULL) ?: "?", verdict_of(r),
	       int_at(r, "connection_info", "direction_id") == 2 ? "out" : "in",
	       str_at(r, "connection_info", "protocol_name") ?: "?", src, dst,
	       str_at(r, "firewall_rule", "uid") ?: "-");
	if (int_at(r, "count", NULL) > 0)
		printf(" count=%lld", (long long)int_at(r, "count", NULL));
	if (int_at(r, "traffic", "packets") > 0)
		printf(" packets=%lld bytes=%lld", (long long)int_at(r, "traffic", "packets"),
		       (long long)int_at(r, "traffic", "bytes"));
	if (str_at(r, "status_detail", NULL))
		printf(" (%s)", str_at(r, "status_detail", NULL));
	printf("\n");
}

static void handle(const char *line, const struct flows_filter *f)
{
	json_t *r = json_loads(line, 0, NULL);

	if (!r)
		return; /* a partial last line, or not ours */
	if (matches(r, f)) {
		if (f->json)
			printf("%s", line);
		else
			print_line(r);
	}
	json_decref(r);
}

static int follow_loop(const char *path, FILE *in, const struct flows_filter *f, bool follow)
{
	char *line = NULL;
	size_t cap = 0;
	struct stat st, now;

	if (fstat(fileno(in), &st))
		return -errno;
	for (;;) {
		while (getline(&line, &cap, in) > 0)
			handle(line, f);
		if (!follow)
			break;
		fflush(stdout);
		clearerr(in);
		usleep(200000);
		/* rotated: the path names a new file; finish the old one first */
		if (!stat(path, &now) && (now.st_ino != st.st_ino || now.st_dev != st.st_dev)) {
			FILE *next = fopen(path, "r");

			while (getline(&line, &cap, in) > 0)
				handle(line, f);
			if (next) {
				fclose(in);
				in = next;
				st = now;
			}
		}
	}
	free(line);
	fclose(in);
	return 0;
}

int cmd_flows(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "file", required_argument, NULL, 'f' },  { "follow", no_argument, NULL, 'F' },
		{ "verdict", required_argument, NULL, 'v' }, { "rule", required_argument, NULL, 'r' },
		{ "addr", required_argument, NULL, 'a' },  { "json", no_argument, NULL, 'j' },
		{ "pin-path", required_argument, NULL, 'P' }, {},
	};
	const char *path = FLOWS_DEFAULT_FILE;
	struct flows_filter f = {};
	bool follow = false;
	FILE *in;
	int c;

	while ((c = getopt_long(argc, argv, "f:F", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			path = optarg;
			break;
		case 'F':
			follow = true;
			break;
		case 'v':
			if (strcmp(optarg, "allow") && strcmp(optarg, "deny") && strcmp(optarg, "rate") &&
			    strcmp(optarg, "audit")) {
				fprintf(stderr, "ward flows: --verdict is allow, deny, rate or audit\n");
				return EXIT_USAGE;
			}
			f.verdict = optarg;
			break;
		case 'r':
			f.rule = optarg;
			break;
		case 'a':
			f.addr = optarg;
			break;
		case 'j':
			f.json = true;
			break;
		case 'P':
			break; /* accepted like every command; records are in files */
		default:
			goto usage;
		}
	}
	if (optind != argc)
		goto usage;
	in = fopen(path, "r");
	if (!in) {
		fprintf(stderr, "ward flows: %s: %s (the agent's --flows file sink writes it)\n", path,
			strerror(errno));
		return EXIT_RUNTIME;
	}
	return follow_loop(path, in, &f, follow) ? EXIT_RUNTIME : EXIT_OK;
usage:
	fprintf(stderr, "usage: ward flows [--file PATH] [--follow] [--verdict allow|deny|rate|audit]\n"
			"                  [--rule ID] [--addr IP] [--json]\n"
			"Reads the OCSF JSON lines the agent's file sink writes (default %s).\n",
		FLOWS_DEFAULT_FILE);
	return EXIT_USAGE;
}
