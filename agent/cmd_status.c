// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* ward status, ward stats, ward detach: readers of the pinned state. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cmd.h"
#include "loader.h"
#include "log.h"
#include "mapread.h"
#include "verdict.h"

static const char *const dir_names[WARD_DIR_MAX] = { "ingress", "egress" };
static const char *const act_names[2] = { "deny", "allow" };

struct common_opts {
	const char *pin_path;
	bool json;
};

static int parse_common(int argc, char **argv, struct common_opts *o, const char *cmd)
{
	static const struct option lo[] = {
		{ "pin-path", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{},
	};
	int c;

	o->pin_path = WARD_DEFAULT_PIN_PATH;
	while ((c = getopt_long(argc, argv, "P:j", lo, NULL)) != -1) {
		if (c == 'P')
			o->pin_path = optarg;
		else if (c == 'j')
			o->json = true;
		else
			goto usage;
	}
	if (optind == argc)
		return 0;
usage:
	fprintf(stderr, "usage: ward %s [--pin-path DIR] [--json]\n", cmd);
	return -1;
}

static json_t *counter_json(int fd, __u32 idx)
{
	struct ward_counter c;

	(void)mapread_counter(fd, idx, &c);
	return json_pack("{s:I,s:I}", "packets", (json_int_t)c.packets, "bytes",
			 (json_int_t)c.bytes);
}

static json_t *verdicts_json(const char *pin)
{
	int fd = mapread_open(pin, "ward_verdicts");
	json_t *o = json_object();

	for (int d = 0; fd >= 0 && d < WARD_DIR_MAX; d++) {
		json_t *dj = json_object();

		for (int v = 0; v < WARD_V_MAX; v++)
			json_object_set_new(dj, verdict__name(v),
					    counter_json(fd, WARD_VERDICT_IDX(d, v)));
		json_object_set_new(o, dir_names[d], dj);
	}
	if (fd >= 0)
		close(fd);
	return o;
}

static json_t *policy_json(const char *pin, bool *loaded)
{
	struct ward_cfg cfg = {};
	struct ward_meta m = {};
	char sha[65];
	__u32 slot = 0;

	*loaded = false;
	if (mapread_meta(pin, &m) || mapread_active(pin, &slot, &cfg))
		return json_null();
	*loaded = cfg.loaded;
	for (int i = 0; i < 32; i++)
		snprintf(sha + 2 * i, 3, "%02x", m.sha256[i]);
	return json_pack("{s:s,s:I,s:s,s:i,s:i,s:s,s:i,s:s,s:s}", "name", m.name, "revision",
			 (json_int_t)m.revision, "sha256", sha, "rules",
			 (int)(m.nrules - m.nfailsafes), "failsafes", (int)m.nfailsafes, "mode",
			 cfg.mode == WARD_MODE_AUDIT ? "audit" : "enforce", "generation",
			 (int)cfg.generation, "default_ingress",
			 act_names[cfg.default_action[WARD_DIR_INGRESS] & 1], "default_egress",
			 act_names[cfg.default_action[WARD_DIR_EGRESS] & 1]);
}

static json_t *ifaces_json(const char *pin, int *nlive)
{
	int fd = mapread_open(pin, "ward_ifaces");
	json_t *a = json_array();
	struct ward_iface v;

	*nlive = 0;
	for (__u32 i = 0; fd >= 0 && i < WARD_MAX_IFACES; i++) {
		bool live;

		if (bpf_map_lookup_elem(fd, &i, &v) || !v.ifindex)
			continue;
		live = mapread_xdp_link_live(pin, v.name);
		*nlive += live;
		json_array_append_new(
			a, json_pack("{s:s,s:i,s:s,s:b,s:b}", "name", v.name, "ifindex",
				     (int)v.ifindex, "xdp",
				     v.flags & WARD_IF_XDP_GENERIC ? "generic" : "native", "tc",
				     !!(v.flags & WARD_IF_TC), "attached", live));
	}
	if (fd >= 0)
		close(fd);
	return a;
}

static void print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s)
		puts(s);
	free(s);
}

static void print_verdicts_text(json_t *v)
{
	const char *dir, *name;
	json_t *dj, *c;

	json_object_foreach(v, dir, dj) {
		printf("  %s:", dir);
		json_object_foreach(dj, name, c) {
			json_int_t n = json_integer_value(json_object_get(c, "packets"));

			if (n)
				printf(" %s=%lld", name, (long long)n);
		}
		printf("\n");
	}
}

/* Entries in use of a hash map (conntrack, rate-limit buckets). */
static json_t *usage_json(const char *pin, const char *map)
{
	uint64_t n, cap;

	if (mapread_usage(pin, map, &n, &cap))
		return json_null();
	return json_pack("{s:I,s:I}", "entries", (json_int_t)n, "capacity", (json_int_t)cap);
}

static void print_usage(const char *what, const char *unit, json_t *u)
{
	if (json_is_object(u))
		printf("%s: %lld %s of %lld\n", what,
		       (long long)json_integer_value(json_object_get(u, "entries")), unit,
		       (long long)json_integer_value(json_object_get(u, "capacity")));
}

/* Flow events the datapath could not hand over (ward_ev_lost). */
static json_t *events_lost_json(const char *pin)
{
	int fd = mapread_open(pin, "ward_ev_lost");
	json_int_t events = 0, unagg = 0;

	if (fd < 0)
		return json_null();
	for (__u32 k = 0; k < WARD_EV_MAX; k++) {
		struct ward_counter c;

		if (mapread_counter(fd, k, &c))
			continue;
		if (k == WARD_EV_LOST_AGG_FULL)
			unagg += c.bytes;
		else
			events += c.packets;
	}
	close(fd);
	return json_pack("{s:I,s:I}", "events", events, "unaggregated_packets", unagg);
}

int cmd_status(int argc, char **argv)
{
	struct common_opts o = {};
	json_t *out, *ifs, *pol;
	bool loaded;
	int nlive;

	if (parse_common(argc, argv, &o, "status"))
		return EXIT_USAGE;
	pol = policy_json(o.pin_path, &loaded);
	ifs = ifaces_json(o.pin_path, &nlive);
	out = json_pack("{s:b,s:s,s:o,s:o,s:o,s:o}", "enforcing", loaded && nlive > 0, "pin_path",
			o.pin_path, "policy", pol, "interfaces", ifs, "verdicts",
			verdicts_json(o.pin_path), "conntrack", usage_json(o.pin_path, "ward_ct"));
	json_object_set_new(out, "rate_limit_buckets", usage_json(o.pin_path, "ward_rl"));
	json_object_set_new(out, "events_lost", events_lost_json(o.pin_path));
	if (o.json) {
		print_json(out);
	} else if (!loaded) {
		printf("not enforcing: no policy pinned under %s\n", o.pin_path);
	} else {
		size_t i;
		json_t *f;

		printf("%s: policy \"%s\" revision %lld (%s), %d rules, sha256 %s\n",
		       loaded && nlive ? "enforcing" : "NOT ENFORCING",
		       json_string_value(json_object_get(pol, "name")),
		       (long long)json_integer_value(json_object_get(pol, "revision")),
		       json_string_value(json_object_get(pol, "mode")),
		       (int)json_integer_value(json_object_get(pol, "rules")),
		       json_string_value(json_object_get(pol, "sha256")));
		json_array_foreach(ifs, i, f)
			printf("  interface %s: XDP %s%s, TC egress\n",
			       json_string_value(json_object_get(f, "name")),
			       json_string_value(json_object_get(f, "xdp")),
			       json_is_true(json_object_get(f, "attached")) ? "" : " (DETACHED)");
		print_usage("conntrack", "flows", json_object_get(out, "conntrack"));
		print_usage("rate limits", "client buckets", json_object_get(out, "rate_limit_buckets"));
		{
			json_t *l = json_object_get(out, "events_lost");

			printf("flow events lost: %lld (ring buffer full), %lld packets unaggregated\n",
			       (long long)json_integer_value(json_object_get(l, "events")),
			       (long long)json_integer_value(json_object_get(l, "unaggregated_packets")));
		}
		printf("packets by verdict:\n");
		print_verdicts_text(json_object_get(out, "verdicts"));
	}
	json_decref(out);
	return loaded && nlive > 0 ? EXIT_OK : EXIT_RUNTIME;
}

static json_t *rules_json(const char *pin, __u32 slot, __u32 nrules)
{
	int ifd = mapread_open(pin, "ward_rule_ids"), sfd = mapread_open(pin, "ward_rule_stats");
	int lfd = mapread_open(pin, "ward_rl_drops");
	json_t *a = json_array();

	for (__u32 i = 0; ifd >= 0 && sfd >= 0 && i < nrules; i++) {
		__u32 k = WARD_STAT_IDX(i, slot);
		struct ward_rule_info info;
		json_t *c;

		if (bpf_map_lookup_elem(ifd, &k, &info))
			continue;
		info.id[sizeof(info.id) - 1] = '\0';
		c = counter_json(sfd, WARD_STAT_IDX(WARD_STAT_RULE(i), slot));
		json_object_set_new(c, "id", json_string(info.id));
		json_object_set_new(c, "direction", json_string(dir_names[info.dir & 1]));
		json_object_set_new(c, "action", json_string(act_names[info.action & 1]));
		/* packets over the rule's rate limit (dropped, or only counted in audit) */
		json_object_set_new(c, "rate_limited",
				    lfd >= 0 ? counter_json(lfd, WARD_STAT_IDX(WARD_STAT_RULE(i), slot))
					     : json_null());
		json_array_append_new(a, c);
	}
	if (lfd >= 0)
		close(lfd);
	if (ifd >= 0)
		close(ifd);
	if (sfd >= 0)
		close(sfd);
	return a;
}

static json_t *defaults_json(const char *pin, __u32 slot)
{
	int sfd = mapread_open(pin, "ward_rule_stats");
	json_t *o = json_object();

	for (int d = 0; sfd >= 0 && d < WARD_DIR_MAX; d++)
		json_object_set_new(
			o, dir_names[d],
			json_pack("{s:o,s:o}", "allow",
				  counter_json(sfd, WARD_STAT_IDX(WARD_STAT_DEFAULT(
								    d, WARD_ACT_ALLOW), slot)),
				  "deny",
				  counter_json(sfd, WARD_STAT_IDX(WARD_STAT_DEFAULT(
								    d, WARD_ACT_DENY), slot))));
	if (sfd >= 0)
		close(sfd);
	return o;
}

int cmd_stats(int argc, char **argv)
{
	struct common_opts o = {};
	struct ward_meta m = {};
	struct ward_cfg cfg = {};
	__u32 slot = 0;
	json_t *out, *rules;

	if (parse_common(argc, argv, &o, "stats"))
		return EXIT_USAGE;
	if (mapread_meta(o.pin_path, &m) || mapread_active(o.pin_path, &slot, &cfg)) {
		fprintf(stderr, "ward stats: nothing pinned under %s\n", o.pin_path);
		return EXIT_RUNTIME;
	}
	rules = rules_json(o.pin_path, slot, m.nrules);
	out = json_pack("{s:s,s:I,s:o,s:o,s:o}", "policy", m.name, "revision",
			(json_int_t)m.revision, "rules", rules, "defaults",
			defaults_json(o.pin_path, slot), "verdicts", verdicts_json(o.pin_path));
	if (o.json) {
		print_json(out);
	} else {
		size_t i;
		json_t *r;

		printf("policy \"%s\" revision %llu\n", m.name, (unsigned long long)m.revision);
		printf("%-24s %-8s %-6s %12s %14s %12s\n", "rule", "dir", "action", "packets", "bytes",
		       "ratelimited");
		json_array_foreach(rules, i, r)
			printf("%-24s %-8s %-6s %12lld %14lld %12lld\n",
			       json_string_value(json_object_get(r, "id")),
			       json_string_value(json_object_get(r, "direction")),
			       json_string_value(json_object_get(r, "action")),
			       (long long)json_integer_value(json_object_get(r, "packets")),
			       (long long)json_integer_value(json_object_get(r, "bytes")),
			       (long long)json_integer_value(
				       json_object_get(json_object_get(r, "rate_limited"), "packets")));
		for (int d = 0; d < WARD_DIR_MAX; d++) {
			json_t *dj = json_object_get(json_object_get(out, "defaults"), dir_names[d]);

			for (int a = 0; a < 2; a++) {
				json_t *c = json_object_get(dj, act_names[a]);

				printf("%-24s %-8s %-6s %12lld %14lld\n", "(default)", dir_names[d],
				       act_names[a],
				       (long long)json_integer_value(json_object_get(c, "packets")),
				       (long long)json_integer_value(json_object_get(c, "bytes")));
			}
		}
		printf("packets by verdict:\n");
		print_verdicts_text(json_object_get(out, "verdicts"));
	}
	json_decref(out);
	return EXIT_OK;
}

int cmd_detach(int argc, char **argv)
{
	struct common_opts o = {};
	int err;

	if (parse_common(argc, argv, &o, "detach"))
		return EXIT_USAGE;
	err = ward__detach_pinned(o.pin_path);
	if (err) {
		fprintf(stderr, "ward detach %s: %s\n", o.pin_path, strerror(-err));
		return EXIT_RUNTIME;
	}
	printf("detached: programs, links and pins under %s removed\n", o.pin_path);
	return EXIT_OK;
}
