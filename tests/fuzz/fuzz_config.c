// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_config: arbitrary bytes -> config__parse (the agent's config file,
 * agent/config.h, docs/operations.md "The config file") -> config__free.
 *
 * Properties (a violation aborts, libFuzzer keeps the input):
 *  - no crash, no leak, no undefined behaviour (ASan, LSan, UBSan);
 *  - rejected: -EINVAL with at least one error, and the config left unset
 *    (every field as config__init leaves it); accepted: 0 and no error;
 *  - every diag has an RFC 6901 pointer and a reason, a position inside the
 *    text, and is located when its pointer names a value of the document
 *    (fuzz_check_diags, as for policies);
 *  - parsing is deterministic (same result, same diags, twice);
 *  - an accepted config holds what the docs promise: a JSON object; paths
 *    absolute and short enough (the control socket fits sun_path); lists
 *    within their limits and every entry kept; interface patterns free of
 *    '/', ':', whitespace; enums and numbers within the ranges of the
 *    ward run flags; failsafes that policy__add_failsafe accepts; "none"
 *    alone in flows; a metrics address with a port 1-65535;
 *  - an accepted config, written back as JSON, parses to the same config
 *    (the parse loses nothing and invents nothing).
 *
 * Known divergences (WARD_FUZZ_KNOWN, see fuzz_common.h):
 *   escaped-key   skip the "located" check for inputs with a backslash
 *                 (agent/json_pos.c compares keys raw, undecoded)
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include "config.h"
#include "fuzz_common.h"

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool list_eq(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!str_eq(a[i], b[i]))
			return false;
	return true;
}

static bool config_eq(const struct ward_config *a, const struct ward_config *b)
{
	return str_eq(a->policy, b->policy) && str_eq(a->pin_path, b->pin_path) &&
	       list_eq(a->interfaces, a->ninterfaces, b->interfaces, b->ninterfaces) &&
	       a->xdp_mode == b->xdp_mode && a->max_rules == b->max_rules &&
	       a->ct_size == b->ct_size && a->rl_size == b->rl_size &&
	       list_eq(a->failsafes, a->nfailsafes, b->failsafes, b->nfailsafes) &&
	       list_eq(a->flows, a->nflows, b->flows, b->nflows) &&
	       a->flow_interval_ms == b->flow_interval_ms &&
	       a->traffic_interval_s == b->traffic_interval_s && str_eq(a->metrics, b->metrics) &&
	       str_eq(a->control_socket, b->control_socket) && a->log_level == b->log_level;
}

static bool is_unset(const struct ward_config *c)
{
	struct ward_config z;

	config__init(&z);
	return !memcmp(c, &z, sizeof(z));
}

static void check_path(const char *what, const char *s, size_t max)
{
	if (!s)
		return;
	FUZZ_ASSERT(s[0] == '/', "accepted %s \"%s\" is not absolute", what, s);
	FUZZ_ASSERT(strlen(s) < max, "accepted %s of %zu bytes (max %zu)", what, strlen(s), max - 1);
}

static void check_list(const char *what, char **v, size_t n, size_t max)
{
	FUZZ_ASSERT(!v == !n, "%s: %zu entries, vector %p", what, n, (void *)v);
	FUZZ_ASSERT(n <= max, "%s: %zu entries accepted (max %zu)", what, n, max);
	for (size_t i = 0; i < n; i++)
		FUZZ_ASSERT(v[i] && v[i][0], "%s/%zu: NULL or empty string accepted", what, i);
}

static void check_range(const char *what, size_t v, size_t lo, size_t hi)
{
	FUZZ_ASSERT(v == 0 || (v >= lo && v <= hi), "accepted %s %zu outside %zu-%zu", what, v, lo,
		    hi);
}

static void check_config(const struct ward_config *c, const uint8_t *data, size_t size)
{
	json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	struct sockaddr_un sun;

	FUZZ_ASSERT(json_is_object(root), "accepted a document that is not a JSON object");
	json_decref(root);

	check_path("policy", c->policy, PATH_MAX);
	check_path("pin_path", c->pin_path, PATH_MAX);
	check_path("control_socket", c->control_socket, sizeof(sun.sun_path));

	check_list("/interfaces", c->interfaces, c->ninterfaces, WARD_MAX_IFACES);
	for (size_t i = 0; i < c->ninterfaces; i++) {
		const char *s = c->interfaces[i];

		/* outside a bracket expression ("[[:digit:]]" holds ':') */
		for (const char *p = s; *p && !strchr(s, '['); p++)
			FUZZ_ASSERT(*p != '/' && *p != ':' && !isspace((unsigned char)*p) &&
					    !iscntrl((unsigned char)*p),
				    "accepted interface pattern \"%s\"", s);
		FUZZ_ASSERT(strcmp(s, ".") && strcmp(s, ".."), "accepted interface \"%s\"", s);
		if (!strpbrk(s, "*?[\\"))
			FUZZ_ASSERT(strlen(s) < 16, "accepted interface name \"%s\" (%zu bytes)", s,
				    strlen(s));
	}

	FUZZ_ASSERT(c->xdp_mode >= -1 && c->xdp_mode <= 2, "xdp_mode %d", c->xdp_mode);
	FUZZ_ASSERT(c->log_level >= -1 && c->log_level <= 2, "log_level %d", c->log_level);
	check_range("max_rules", c->max_rules, 1, WARD_RULES_LIMIT);
	check_range("conntrack_size", c->ct_size, 1024, 1ull << 26);
	check_range("rate_limit_size", c->rl_size, 1024, 1ull << 24);
	check_range("flow_interval_ms", c->flow_interval_ms, 10, 60000);
	check_range("traffic_interval_s", c->traffic_interval_s, 1, 86400);

	check_list("/failsafes", c->failsafes, c->nfailsafes, CONFIG_MAX_FAILSAFES);
	for (size_t i = 0; i < c->nfailsafes; i++) {
		struct policy probe = {};
		const char *why = NULL;

		FUZZ_ASSERT(policy__add_failsafe(&probe, c->failsafes[i], &why) == 0,
			    "accepted failsafe \"%s\" that ward run refuses (%s)", c->failsafes[i],
			    why ? why : "?");
		policy__free(&probe);
	}

	check_list("/flows", c->flows, c->nflows, CONFIG_MAX_SINKS);
	for (size_t i = 0; i < c->nflows; i++)
		FUZZ_ASSERT(strcmp(c->flows[i], "none") || c->nflows == 1,
			    "\"none\" accepted next to %zu other sinks", c->nflows - 1);

	if (c->metrics) {
		const char *colon = strrchr(c->metrics, ':');
		char *end;
		unsigned long port;

		FUZZ_ASSERT(colon && colon != c->metrics, "accepted metrics \"%s\"", c->metrics);
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		FUZZ_ASSERT(!errno && !*end && port >= 1 && port <= 65535,
			    "accepted metrics port in \"%s\"", c->metrics);
	}
}

static json_t *strings_json(char **v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* The accepted config written back as a document of the same settings. */
static char *config_json(const struct ward_config *c)
{
	static const char *const modes[] = { "auto", "native", "generic" };
	static const char *const levels[] = { "warn", "info", "debug" };
	json_t *o = json_object();
	char *s;

	if (c->policy)
		json_object_set_new(o, "policy", json_string(c->policy));
	if (c->pin_path)
		json_object_set_new(o, "pin_path", json_string(c->pin_path));
	if (c->ninterfaces)
		json_object_set_new(o, "interfaces", strings_json(c->interfaces, c->ninterfaces));
	if (c->xdp_mode >= 0)
		json_object_set_new(o, "xdp_mode", json_string(modes[c->xdp_mode]));
	if (c->max_rules)
		json_object_set_new(o, "max_rules", json_integer((json_int_t)c->max_rules));
	if (c->ct_size)
		json_object_set_new(o, "conntrack_size", json_integer((json_int_t)c->ct_size));
	if (c->rl_size)
		json_object_set_new(o, "rate_limit_size", json_integer((json_int_t)c->rl_size));
	if (c->nfailsafes)
		json_object_set_new(o, "failsafes", strings_json(c->failsafes, c->nfailsafes));
	if (c->nflows)
		json_object_set_new(o, "flows", strings_json(c->flows, c->nflows));
	if (c->flow_interval_ms)
		json_object_set_new(o, "flow_interval_ms", json_integer(c->flow_interval_ms));
	if (c->traffic_interval_s)
		json_object_set_new(o, "traffic_interval_s", json_integer(c->traffic_interval_s));
	if (c->metrics)
		json_object_set_new(o, "metrics", json_string(c->metrics));
	if (c->control_socket)
		json_object_set_new(o, "control_socket", json_string(c->control_socket));
	if (c->log_level >= 0)
		json_object_set_new(o, "log_level", json_string(levels[c->log_level]));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	FUZZ_ASSERT(s, "json_dumps of an accepted config");
	return s;
}

static bool diags_eq(const struct diags *a, const struct diags *b)
{
	if (a->n != b->n || a->nerrors != b->nerrors)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->v[i].line != b->v[i].line || a->v[i].col != b->v[i].col ||
		    !str_eq(a->v[i].pointer, b->v[i].pointer) ||
		    !str_eq(a->v[i].reason, b->v[i].reason))
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diags d = {}, d2 = {}, d3 = {};
	struct ward_config c, c2, c3;
	bool locate = !(fuzz_known("escaped-key") && memchr(data, '\\', size));
	int err, err2, err3;
	char *again;

	err = config__parse((const char *)data, size, &c, &d);
	fuzz_check_diags(&d, (const char *)data, size, locate);
	err2 = config__parse((const char *)data, size, &c2, &d2);
	FUZZ_ASSERT(err == err2 && diags_eq(&d, &d2), "config__parse is not deterministic");
	if (err) {
		FUZZ_ASSERT(err == -EINVAL && d.nerrors > 0, "config__parse: %d with %zu errors", err,
			    d.nerrors);
		FUZZ_ASSERT(is_unset(&c), "a rejected config is not left unset");
		goto out;
	}
	FUZZ_ASSERT(d.nerrors == 0, "accepted with %zu errors", d.nerrors);
	FUZZ_ASSERT(config_eq(&c, &c2), "config__parse is not deterministic (fields differ)");
	check_config(&c, data, size);

	/* written back and parsed again: the same settings, no error */
	again = config_json(&c);
	err3 = config__parse(again, strlen(again), &c3, &d3);
	FUZZ_ASSERT(err3 == 0, "the accepted config written back is rejected (%zu errors): %s",
		    d3.nerrors, again);
	FUZZ_ASSERT(config_eq(&c, &c3), "the accepted config written back parses differently: %s",
		    again);
	config__free(&c3);
	diags__free(&d3);
	free(again);
out:
	config__free(&c);
	config__free(&c2);
	/* config__free leaves the config unset, and a second free is harmless */
	FUZZ_ASSERT(is_unset(&c), "config__free does not leave the config unset");
	config__free(&c);
	diags__free(&d);
	diags__free(&d2);
	return 0;
}
