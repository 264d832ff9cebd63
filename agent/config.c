// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's config file (docs/operations.md): JSON -> struct ward_config,
 * every error located as in policies, through the policy parser's helpers
 * (policy_parse_util.h: perr, check_keys, get_int, get_enum; a pctx
 * without a policy). Validation only: nothing is opened here.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "config.h"
#include "json_pos.h"
#include "loader.h"
#include "policy_parse_util.h"

static const char *const config_keys[] = {
	"policy",	   "pin_path",		"interfaces",	    "xdp_mode",	  "max_rules",
	"conntrack_size",  "rate_limit_size",	"failsafes",	    "flows",	  "flow_interval_ms",
	"traffic_interval_s", "metrics",	"control_socket",   "log_level",  "description",
	NULL,
};

/* Same order as enum xdp_mode and enum log_level: the index is the value. */
static const char *const xdp_modes[] = { "auto", "native", "generic", NULL };
static const char *const log_levels[] = { "warn", "info", "debug", NULL };

void config__init(struct ward_config *c)
{
	memset(c, 0, sizeof(*c));
	c->xdp_mode = -1;
	c->log_level = -1;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void config__free(struct ward_config *c)
{
	if (!c)
		return;
	free(c->policy);
	free(c->pin_path);
	free_list(c->interfaces, c->ninterfaces);
	free_list(c->failsafes, c->nfailsafes);
	free_list(c->flows, c->nflows);
	free(c->metrics);
	free(c->control_socket);
	config__init(c);
}

static char *xstrdup(struct pctx *x, const char *s)
{
	char *r = strdup(s);

	if (!r)
		x->oom = true;
	return r;
}

/* An absolute path of at most max - 1 bytes; strdup'd, or NULL after an error. */
static char *get_path(struct pctx *x, json_t *v, const char *ptr, size_t max)
{
	const char *s;

	if (!json_is_string(v)) {
		perr(x, ptr, v, "must be a string (an absolute path)");
		return NULL;
	}
	s = json_string_value(v);
	if (s[0] != '/') {
		perr(x, ptr, v, "must be an absolute path");
		return NULL;
	}
	if (strlen(s) >= max || strlen(s) != json_string_length(v)) {
		perr(x, ptr, v, "a path of at most %zu bytes, without NUL", max - 1);
		return NULL;
	}
	return xstrdup(x, s);
}

/* ---- interface names and globs -------------------------------------------- */

static const char *const char_classes[] = { "alnum", "alpha", "blank", "cntrl", "digit", "graph",
					    "lower", "print", "punct", "space", "upper", "xdigit",
					    NULL };

/* s points after '['. The index of the closing ']', or 0 with *why set. */
static size_t bracket_end(const char *s, const char **why)
{
	size_t j = 0;

	if (s[j] == '!' || s[j] == '^')
		j++;
	if (s[j] == ']') /* a ']' right after '[' or '[!' is a member */
		j++;
	for (; s[j] && s[j] != ']'; j++) {
		if (s[j] == '[' && s[j + 1] == ':') {
			const char *end = strstr(s + j + 2, ":]");
			size_t n = end ? (size_t)(end - (s + j + 2)) : 0;
			int k;

			for (k = 0; end && char_classes[k]; k++)
				if (strlen(char_classes[k]) == n && !strncmp(char_classes[k], s + j + 2, n))
					break;
			if (!end || !char_classes[k]) {
				*why = "unknown character class (alnum, alpha, digit, lower, upper, xdigit, ...)";
				return 0;
			}
			j = (size_t)(end - s) + 1;
			continue;
		}
		if (s[j] == '\\' && s[j + 1])
			j++;
		else if (s[j + 1] == '-' && s[j + 2] && s[j + 2] != ']' &&
			 (unsigned char)s[j] > (unsigned char)s[j + 2]) {
			*why = "a range in [...] runs backwards (it matches nothing)";
			return 0;
		}
	}
	if (!s[j]) {
		*why = "unterminated '[' in the glob";
		return 0;
	}
	return j;
}

/* NULL when the name or glob can match an interface name; else why not. */
static const char *iface_pattern_why(const char *s)
{
	size_t minlen = 0;
	bool glob = false;
	const char *why = NULL;

	if (!*s)
		return "an empty interface name";
	for (size_t i = 0; s[i]; i++) {
		unsigned char ch = s[i];

		if (ch == '/' || ch == ':' || isspace(ch) || iscntrl(ch))
			return "interface names hold no '/', ':', whitespace or control characters";
		if (ch == '*') {
			glob = true;
		} else if (ch == '?') {
			glob = true;
			minlen++;
		} else if (ch == '\\') {
			if (!s[i + 1])
				return "ends with a lone backslash";
			i++;
			ch = s[i]; /* an escaped character is still a character of the name */
			if (ch == '/' || ch == ':' || isspace(ch) || iscntrl(ch))
				return "interface names hold no '/', ':', whitespace or control characters";
			minlen++;
		} else if (ch == '[') {
			size_t j = bracket_end(s + i + 1, &why);

			if (!j)
				return why;
			i += j + 1;
			glob = true;
			minlen++;
		} else {
			minlen++;
		}
	}
	if (minlen >= IF_NAMESIZE)
		return glob ? "can never match: interface names are at most 15 bytes"
			    : "longer than 15 bytes, the longest interface name";
	if (!glob && (!strcmp(s, ".") || !strcmp(s, "..")))
		return "not a valid interface name";
	return NULL;
}

/* An array of strings: each checked by check() (NULL = fine, else why),
 * duplicates warned about. */
static void get_strings(struct pctx *x, json_t *arr, const char *ptr, size_t max,
			const char *(*check)(const char *s, char *buf, size_t len), char ***ret,
			size_t *n)
{
	char sub[PTR_MAX], buf[256];
	json_t *v;
	size_t i;

	if (!json_is_array(arr)) {
		perr(x, ptr, arr, "must be an array of strings");
		return;
	}
	if (json_array_size(arr) == 0) {
		perr(x, ptr, arr, "empty list");
		return;
	}
	if (json_array_size(arr) > max) {
		perr(x, ptr, NULL, "at most %zu entries", max);
		return;
	}
	*ret = calloc(json_array_size(arr), sizeof(**ret));
	if (!*ret) {
		x->oom = true;
		return;
	}
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v), *why;

		snprintf(sub, sizeof(sub), "%s/%zu", ptr, i);
		if (!json_is_string(v) || strlen(s) != json_string_length(v)) {
			perr(x, sub, v, "must be a string");
			continue;
		}
		why = check(s, buf, sizeof(buf));
		if (why) {
			perr(x, sub, v, "%s", why);
			continue;
		}
		for (size_t k = 0; k < i; k++) {
			if (json_equal(v, json_array_get(arr, k))) {
				pwarn(x, sub, v, "listed twice (also at %s/%zu)", ptr, k);
				break;
			}
		}
		(*ret)[(*n)++] = xstrdup(x, s);
		if (!(*ret)[*n - 1])
			(*n)--;
	}
}

static const char *check_iface(const char *s, char *buf, size_t len)
{
	return iface_pattern_why(s);
}

static const char *check_failsafe(const char *s, char *buf, size_t len)
{
	struct policy probe = {};
	const char *why = NULL;

	if (policy__add_failsafe(&probe, s, &why) == 0)
		why = NULL;
	else
		snprintf(buf, len, "%s", why ? why : "invalid failsafe");
	policy__free(&probe);
	return why ? buf : NULL;
}

/* ---- sink specs --------------------------------------------------------------- */

/*
 * A light check of the --flows grammar (agent/record.h, sink_spec.c):
 * the kind, a non-empty PATH or a HOST:PORT, and options shaped NAME=VALUE
 * with a name the kind takes, none twice. Option values are checked when
 * the agent opens the sink (sink_open_spec): record.h has no
 * validate-only entry point.
 */
static const struct {
	const char *prefix;
	bool hostport;
	const char *options; /* " name name " */
} sink_kinds[] = {
	{ "file:", false, " format max_bytes max_age keep gzip " },
	{ "syslog+udp://", true, " format " },
	{ "syslog+tcp://", true, " format " },
	{ "ipfix+udp://", true, " template domain " },
	{ "ipfix+tcp://", true, " template domain " },
	{ "syslog+tls://", true, " format ca cert key name tls " },
};

static const char *check_hostport(const char *s)
{
	const char *colon;
	size_t hlen;
	char *end;
	unsigned long port;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return "expected [IPV6]:PORT";
		hlen = (size_t)(close - s - 1);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return "expected HOST:PORT";
		hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen))
			return "IPv6 hosts go in brackets, e.g. [::1]:514";
	}
	if (!hlen || hlen >= 256)
		return "the host is empty or too long";
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || errno || *end || port < 1 || port > 65535)
		return "the port must be a number from 1 to 65535";
	return NULL;
}

static const char *check_options(const char *opts, const char *allowed, char *buf, size_t len)
{
	char seen[128] = " ";

	for (const char *o = opts; o; o = strchr(o, ',') ? strchr(o, ',') + 1 : NULL) {
		size_t n = strcspn(o, ","), nlen;
		const char *eq = memchr(o, '=', n);
		char name[64];

		if (!n)
			return "an empty option (two commas, or one at the end)";
		if (!eq || eq == o || (size_t)(eq - o) + 1 == n) {
			snprintf(buf, len, "option '%.*s': expected NAME=VALUE", (int)n, o);
			return buf;
		}
		nlen = (size_t)(eq - o);
		snprintf(name, sizeof(name), " %.*s ", (int)nlen, o);
		if (nlen + 2 >= sizeof(name) || !strstr(allowed, name)) {
			snprintf(buf, len, "unknown option '%.*s' for this sink", (int)nlen, o);
			return buf;
		}
		if (strstr(seen, name)) {
			snprintf(buf, len, "option '%.*s' given twice", (int)nlen, o);
			return buf;
		}
		strncat(seen, name + 1, sizeof(seen) - strlen(seen) - 1);
	}
	return NULL;
}

static const char *check_sink(const char *spec, char *buf, size_t len)
{
	const char *comma = strchr(spec, ','), *allowed = " format ", *why;
	size_t hlen = comma ? (size_t)(comma - spec) : strlen(spec), k, nkinds;

	nkinds = sizeof(sink_kinds) / sizeof(sink_kinds[0]);
	if (!strcmp(spec, "none"))
		return NULL; /* must stand alone: checked by the caller */
	if (hlen == 6 && !strncmp(spec, "stdout", 6))
		return comma ? check_options(comma + 1, allowed, buf, len) : NULL;
	for (k = 0; k < nkinds; k++)
		if (!strncmp(spec, sink_kinds[k].prefix, strlen(sink_kinds[k].prefix)))
			break;
	if (k == nkinds)
		return "expected stdout, file:PATH, syslog+udp://HOST:PORT, syslog+tcp://HOST:PORT, "
		       "ipfix+udp://HOST:PORT, ipfix+tcp://HOST:PORT or none";
	if (hlen == strlen(sink_kinds[k].prefix))
		return sink_kinds[k].hostport ? "expected HOST:PORT after ://" : "file: needs a path";
	if (sink_kinds[k].hostport) {
		char hp[300];
		size_t plen = strlen(sink_kinds[k].prefix);

		if (hlen - plen >= sizeof(hp))
			return "the host is empty or too long";
		snprintf(hp, sizeof(hp), "%.*s", (int)(hlen - plen), spec + plen);
		/* TLS syslog has a default port (6514, RFC 5425) */
		if (!strcmp(sink_kinds[k].prefix, "syslog+tls://")) {
			const char *after = hp[0] == '[' ? strchr(hp, ']') : hp;
			size_t n = strlen(hp);

			if (after && !strchr(after, ':') && n + 6 < sizeof(hp))
				snprintf(hp + n, sizeof(hp) - n, ":6514");
		}
		why = check_hostport(hp);
		if (why)
			return why;
	}
	return comma ? check_options(comma + 1, sink_kinds[k].options, buf, len) : NULL;
}

/* ---- numbers, enums, addresses ---------------------------------------------- */

static void get_size(struct pctx *x, json_t *root, const char *key, long long lo, long long hi,
		     size_t *out)
{
	char ptr[PTR_MAX];
	json_t *v = json_object_get(root, key);
	long long n;

	ptr_join(ptr, sizeof(ptr), "", key);
	if (v && !get_int(x, v, ptr, lo, hi, &n))
		*out = (size_t)n;
}

static void get_uint(struct pctx *x, json_t *root, const char *key, long long lo, long long hi,
		     unsigned *out)
{
	size_t n = 0;

	get_size(x, root, key, lo, hi, &n);
	if (n)
		*out = (unsigned)n;
}

/* "IPV4:PORT" or "[IPV6]:PORT", literal addresses. */
static void get_metrics(struct pctx *x, json_t *v, struct ward_config *c)
{
	const char *s, *why = "expected ADDR:PORT with a literal address, e.g. 127.0.0.1:9470 or [::1]:9470";
	char host[INET6_ADDRSTRLEN + 2], bin[16], *end;
	const char *colon;
	unsigned long port;

	if (json_is_null(v))
		return; /* off */
	if (!json_is_string(v)) {
		perr(x, "/metrics", v, "must be \"ADDR:PORT\" or null (off)");
		return;
	}
	s = json_string_value(v);
	colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		goto bad;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	if (host[0] == '[') {
		size_t n = strlen(host);

		if (n < 3 || host[n - 1] != ']')
			goto bad;
		host[n - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, bin) != 1)
			goto bad;
	} else if (inet_pton(AF_INET, host, bin) != 1) {
		if (strchr(host, ':'))
			why = "IPv6 addresses go in brackets, e.g. [::1]:9470";
		goto bad;
	}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || errno || *end || port < 1 || port > 65535) {
		why = "the port must be a number from 1 to 65535";
		goto bad;
	}
	c->metrics = xstrdup(x, s);
	return;
bad:
	perr(x, "/metrics", v, "%s", why);
}

static void parse_root(struct pctx *x, json_t *root, struct ward_config *c)
{
	struct sockaddr_un sun;
	json_t *v;
	int e;

	check_keys(x, root, "", config_keys);
	if ((v = json_object_get(root, "policy")))
		c->policy = get_path(x, v, "/policy", PATH_MAX);
	if ((v = json_object_get(root, "pin_path")))
		c->pin_path = get_path(x, v, "/pin_path", PATH_MAX);
	if ((v = json_object_get(root, "control_socket")))
		c->control_socket = get_path(x, v, "/control_socket", sizeof(sun.sun_path));
	if ((v = json_object_get(root, "interfaces")))
		get_strings(x, v, "/interfaces", WARD_MAX_IFACES, check_iface, &c->interfaces,
			    &c->ninterfaces);
	if ((v = json_object_get(root, "xdp_mode")) && (e = get_enum(x, v, "/xdp_mode", xdp_modes)) >= 0)
		c->xdp_mode = e;
	if ((v = json_object_get(root, "log_level")) &&
	    (e = get_enum(x, v, "/log_level", log_levels)) >= 0)
		c->log_level = e;
	/* the ranges of the ward run flags */
	get_size(x, root, "max_rules", 1, WARD_RULES_LIMIT, &c->max_rules);
	get_size(x, root, "conntrack_size", 1024, 1ll << 26, &c->ct_size);
	get_size(x, root, "rate_limit_size", 1024, 1ll << 24, &c->rl_size);
	get_uint(x, root, "flow_interval_ms", 10, 60000, &c->flow_interval_ms);
	get_uint(x, root, "traffic_interval_s", 1, 86400, &c->traffic_interval_s);
	if ((v = json_object_get(root, "failsafes")))
		get_strings(x, v, "/failsafes", CONFIG_MAX_FAILSAFES, check_failsafe,
			    &c->failsafes, &c->nfailsafes);
	if ((v = json_object_get(root, "flows"))) {
		get_strings(x, v, "/flows", CONFIG_MAX_SINKS, check_sink, &c->flows, &c->nflows);
		for (size_t i = 0; json_is_array(v) && json_array_size(v) > 1 && i < json_array_size(v); i++) {
			char sub[PTR_MAX];

			snprintf(sub, sizeof(sub), "/flows/%zu", i);
			if (json_is_string(json_array_get(v, i)) &&
			    !strcmp(json_string_value(json_array_get(v, i)), "none"))
				perr(x, sub, json_array_get(v, i),
				     "\"none\" turns flow records off: it stands alone");
		}
	}
	if ((v = json_object_get(root, "metrics")))
		get_metrics(x, v, c);
	if ((v = json_object_get(root, "description")) && !json_is_string(v))
		perr(x, "/description", v, "must be a string");
}

int config__parse(const char *text, size_t len, struct ward_config *c, struct diags *d)
{
	struct pctx x = { .p = NULL, .d = d };
	json_error_t jerr;
	json_t *root;

	config__init(c);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		diags__add(d, false, "", NULL, "invalid JSON: %s", jerr.text);
		if (d->n) {
			d->v[d->n - 1].line = jerr.line > 0 ? jerr.line : 1;
			d->v[d->n - 1].col = jerr.column > 0 ? jerr.column : 1;
		}
		return -EINVAL;
	}
	if (!json_is_object(root))
		perr(&x, "", root, "a config is a JSON object");
	else
		parse_root(&x, root, c);
	json_decref(root);
	if (x.oom)
		diags__add(d, false, "", NULL, "out of memory");
	json_pos__resolve(text, len, d);
	diags__sort(d);
	if (d->nerrors) {
		config__free(c);
		return -EINVAL;
	}
	return 0;
}

int config__parse_file(const char *path, struct ward_config *c, struct diags *d)
{
	struct stat st;
	char *buf = NULL;
	ssize_t got = 0, r = 0;
	int fd, err;

	config__init(c);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		err = -errno;
		diags__add(d, false, "", NULL, "cannot read: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)CONFIG_MAX_BYTES) {
		err = -EINVAL;
		diags__add(d, false, "", NULL, "not a regular file of at most %u bytes",
			   CONFIG_MAX_BYTES);
		goto out;
	}
	buf = malloc(st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		diags__add(d, false, "", NULL, "out of memory");
		goto out;
	}
	while (got < st.st_size && (r = read(fd, buf + got, st.st_size - got)) > 0)
		got += r;
	if (r < 0 || got != st.st_size) {
		err = r < 0 ? -errno : -EIO;
		diags__add(d, false, "", NULL, "short read (file changed while reading?)");
		goto out;
	}
	buf[got] = '\0';
	err = config__parse(buf, got, c, d);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return err;
}
