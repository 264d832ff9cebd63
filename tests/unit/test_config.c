// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of the agent's config file (agent/config.h, docs/operations.md).
 * Plain C, cmocka, no root. Errors are compared as printed, exactly:
 * FILE:LINE:COL: /json/pointer: value: reason. Run from the repository
 * root (tests/run.sh does) for the fixture files.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "loader.h"
#include "log.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define FIXTURES "tests/fixtures"

/* ---- helpers -------------------------------------------------------------- */

/* Diags as `ward run --config cfg.json` prints them. Caller frees. */
static char *render(const struct diags *d, const char *file)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	assert_non_null(f);
	diags__print(d, file, f);
	fclose(f);
	return s;
}

static int parse(const char *doc, struct ward_config *c, struct diags *d)
{
	memset(d, 0, sizeof(*d));
	return config__parse(doc, strlen(doc), c, d);
}

static void parse_ok(const char *doc, struct ward_config *c)
{
	struct diags d;
	int rc = parse(doc, c, &d);

	if (rc || d.nerrors) {
		char *s = render(&d, "cfg.json");

		fprintf(stderr, "%s", s);
		free(s);
		diags__free(&d);
		fail_msg("config__parse returned %d, expected 0", rc);
	}
	diags__free(&d);
}

/* The document is invalid, and its diags print exactly as `want`. */
static void expect_diags(const char *doc, const char *want)
{
	struct ward_config c;
	struct diags d;
	int rc = parse(doc, &c, &d);
	char *got = render(&d, "cfg.json");

	if (rc != -EINVAL || strcmp(got, want)) {
		fprintf(stderr, "--- document:\n%s\n--- want:\n%s--- got (rc %d):\n%s", doc, want,
			rc, got);
		free(got);
		diags__free(&d);
		fail_msg("diags differ");
	}
	/* an invalid config leaves nothing behind */
	assert_null(c.policy);
	assert_null(c.interfaces);
	assert_int_equal(c.ninterfaces, 0);
	assert_null(c.flows);
	assert_int_equal(c.xdp_mode, -1);
	free(got);
	diags__free(&d);
}

static void assert_unset(const struct ward_config *c)
{
	assert_null(c->policy);
	assert_null(c->pin_path);
	assert_null(c->interfaces);
	assert_int_equal(c->ninterfaces, 0);
	assert_int_equal(c->xdp_mode, -1);
	assert_int_equal(c->max_rules, 0);
	assert_int_equal(c->ct_size, 0);
	assert_int_equal(c->rl_size, 0);
	assert_null(c->failsafes);
	assert_int_equal(c->nfailsafes, 0);
	assert_null(c->flows);
	assert_int_equal(c->nflows, 0);
	assert_int_equal(c->flow_interval_ms, 0);
	assert_int_equal(c->traffic_interval_s, 0);
	assert_null(c->metrics);
	assert_null(c->control_socket);
	assert_int_equal(c->log_level, -1);
}

/* ---- valid documents ------------------------------------------------------- */

static void check_full(const struct ward_config *c)
{
	assert_string_equal(c->policy, "/etc/ward/policy.json");
	assert_string_equal(c->pin_path, "/sys/fs/bpf/ward");
	assert_int_equal(c->ninterfaces, 3);
	assert_string_equal(c->interfaces[0], "eth0");
	assert_string_equal(c->interfaces[1], "ens[0-9]*");
	assert_string_equal(c->interfaces[2], "bond?");
	assert_int_equal(c->xdp_mode, XDP_MODE_NATIVE);
	assert_int_equal(c->max_rules, 100000);
	assert_int_equal(c->ct_size, 1048576);
	assert_int_equal(c->rl_size, 65536);
	assert_int_equal(c->nfailsafes, 2);
	assert_string_equal(c->failsafes[0], "tcp/22 from 192.0.2.0/28");
	assert_string_equal(c->failsafes[1], "tcp/22 from 2001:db8:99::/48");
	assert_int_equal(c->nflows, 3);
	assert_string_equal(c->flows[0],
			    "file:/var/log/ward/flows.json,max_bytes=104857600,keep=10,gzip=1");
	assert_string_equal(c->flows[1], "syslog+tcp://[2001:db8::514]:6514,format=ecs");
	assert_string_equal(c->flows[2], "ipfix+udp://192.0.2.9:4739,template=60,domain=7");
	assert_int_equal(c->flow_interval_ms, 500);
	assert_int_equal(c->traffic_interval_s, 30);
	assert_string_equal(c->metrics, "127.0.0.1:9470");
	assert_string_equal(c->control_socket, "/run/ward/ward.sock");
	assert_int_equal(c->log_level, LOG_LVL_DEBUG);
}

static void test_full_file(void **state)
{
	struct ward_config c;
	struct diags d = {};
	int rc = config__parse_file(FIXTURES "/config-full.json", &c, &d);

	if (rc) {
		char *s = render(&d, "config-full.json");

		fprintf(stderr, "%s", s);
		free(s);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(d.n, 0);
	check_full(&c);
	config__free(&c);
	assert_unset(&c); /* free leaves it unset, and twice is fine */
	config__free(&c);
	config__free(NULL);
	diags__free(&d);
}

static void test_defaults(void **state)
{
	struct ward_config c;

	parse_ok("{}", &c);
	assert_unset(&c);
	config__free(&c);
	config__init(&c);
	assert_unset(&c);
	/* null turns metrics off, like leaving it out */
	parse_ok("{ \"metrics\": null }", &c);
	assert_null(c.metrics);
	config__free(&c);
}

static void test_enums(void **state)
{
	static const struct {
		const char *doc;
		int xdp, log;
	} cases[] = {
		{ "{\"xdp_mode\":\"auto\",\"log_level\":\"warn\"}", XDP_MODE_AUTO, LOG_LVL_WARN },
		{ "{\"xdp_mode\":\"native\",\"log_level\":\"info\"}", XDP_MODE_NATIVE, LOG_LVL_INFO },
		{ "{\"xdp_mode\":\"generic\",\"log_level\":\"debug\"}", XDP_MODE_GENERIC,
		  LOG_LVL_DEBUG },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ward_config c;

		parse_ok(cases[i].doc, &c);
		assert_int_equal(c.xdp_mode, cases[i].xdp);
		assert_int_equal(c.log_level, cases[i].log);
		config__free(&c);
	}
}

static void test_limits_inclusive(void **state)
{
	struct ward_config c;

	parse_ok("{\"max_rules\":1,\"conntrack_size\":1024,\"rate_limit_size\":1024,"
		 "\"flow_interval_ms\":10,\"traffic_interval_s\":1}",
		 &c);
	assert_int_equal(c.max_rules, 1);
	assert_int_equal(c.ct_size, 1024);
	assert_int_equal(c.rl_size, 1024);
	assert_int_equal(c.flow_interval_ms, 10);
	assert_int_equal(c.traffic_interval_s, 1);
	config__free(&c);
	parse_ok("{\"max_rules\":1048576,\"conntrack_size\":67108864,\"rate_limit_size\":16777216,"
		 "\"flow_interval_ms\":60000,\"traffic_interval_s\":86400}",
		 &c);
	assert_int_equal(c.max_rules, 1048576);
	assert_int_equal(c.ct_size, 67108864);
	assert_int_equal(c.rl_size, 16777216);
	assert_int_equal(c.flow_interval_ms, 60000);
	assert_int_equal(c.traffic_interval_s, 86400);
	config__free(&c);
}

static void test_globs_valid(void **state)
{
	static const char *const ok[] = {
		"eth0",	    "eth*",	   "ens[0-9]*",	      "veth?",	    "[!l]o*",
		"[^l]o",    "eth[[:digit:]]", "a\\*b",	      "[]]x",	    "*",
		"enp1s0f0np0", "ib[0-9]",  "0123456789abcde", "bond*.100",
	};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct ward_config c;
		char doc[256];

		snprintf(doc, sizeof(doc), "{\"interfaces\": [\"%s\"]}", ok[i]);
		for (char *p = strstr(doc, "\\"); p; p = strstr(p + 2, "\\")) {
			/* JSON-escape the backslash */
			memmove(p + 1, p, strlen(p) + 1);
		}
		parse_ok(doc, &c);
		assert_int_equal(c.ninterfaces, 1);
		assert_string_equal(c.interfaces[0], ok[i]);
		config__free(&c);
	}
}

static void test_flows_valid(void **state)
{
	static const char *const ok[] = {
		"stdout",
		"stdout,format=ecs",
		"file:/var/log/ward/flows.json",
		"file:/x,max_age=3600,format=ocsf",
		"syslog+udp://127.0.0.1:514",
		"syslog+tcp://siem.example.com:6514,format=ecs",
		"ipfix+tcp://[::1]:4739,domain=1",
		"none",
	};

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct ward_config c;
		char doc[256];

		snprintf(doc, sizeof(doc), "{\"flows\": [\"%s\"]}", ok[i]);
		parse_ok(doc, &c);
		assert_int_equal(c.nflows, 1);
		assert_string_equal(c.flows[0], ok[i]);
		config__free(&c);
	}
}

static void test_metrics_valid(void **state)
{
	static const char *const ok[] = { "127.0.0.1:9470", "0.0.0.0:1", "[::1]:9470",
					   "[2001:db8::1]:65535" };

	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		struct ward_config c;
		char doc[128];

		snprintf(doc, sizeof(doc), "{\"metrics\": \"%s\"}", ok[i]);
		parse_ok(doc, &c);
		assert_string_equal(c.metrics, ok[i]);
		config__free(&c);
	}
}

/* A warning does not make the config invalid. */
static void test_duplicate_is_a_warning(void **state)
{
	const char *doc = "{\"interfaces\": [\"eth0\", \"eth1\", \"eth0\"]}";
	struct ward_config c;
	struct diags d;
	char *s;

	assert_int_equal(parse(doc, &c, &d), 0);
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(d.nwarnings, 1);
	s = render(&d, "cfg.json");
	assert_string_equal(s, "cfg.json:1:33: warning: /interfaces/2: \"eth0\": listed twice "
			       "(also at /interfaces/0)\n");
	free(s);
	assert_int_equal(c.ninterfaces, 3);
	config__free(&c);
	diags__free(&d);
}

/* ---- errors, each kind exactly as printed ----------------------------------- */

struct err_case {
	const char *name, *doc, *want;
};

static const struct err_case err_cases[] = {
	{ "json syntax", "{\n  \"policy\": \"/p\",\n}\n",
	  "cfg.json:3:1: /: invalid JSON: string or '}' expected near '}'\n" },
	{ "duplicate key", "{\"log_level\": \"info\",\n \"log_level\": \"debug\"}",
	  "cfg.json:2:12: /: invalid JSON: duplicate object key near '\"log_level\"'\n" },
	{ "not an object", "[1, 2]", "cfg.json:1:1: /: [1,2]: a config is a JSON object\n" },
	{ "unknown key", "{\n  \"polcy\": \"/etc/ward/policy.json\"\n}",
	  "cfg.json:2:12: /polcy: \"/etc/ward/policy.json\": unknown key \"polcy\"\n" },
	{ "relative path", "{\"policy\": \"policy.json\"}",
	  "cfg.json:1:12: /policy: \"policy.json\": must be an absolute path\n" },
	{ "path of the wrong type", "{\"pin_path\": false}",
	  "cfg.json:1:14: /pin_path: false: must be a string (an absolute path)\n" },
	{ "control socket path too long for sun_path",
	  "{\"control_socket\": \"/run/ward/"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
	  "cfg.json:1:20: /control_socket: \"/run/ward/"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...: a path of at most 107 "
	  "bytes, without NUL\n" },
	{ "interfaces not an array", "{\"interfaces\": \"eth0\"}",
	  "cfg.json:1:16: /interfaces: \"eth0\": must be an array of strings\n" },
	{ "interfaces empty", "{\"interfaces\": []}",
	  "cfg.json:1:16: /interfaces: []: empty list\n" },
	{ "interface not a string", "{\"interfaces\": [\"eth0\", 1]}",
	  "cfg.json:1:25: /interfaces/1: 1: must be a string\n" },
	{ "interface name too long", "{\"interfaces\": [\"enp1s0f0np0abcde\"]}",
	  "cfg.json:1:17: /interfaces/0: \"enp1s0f0np0abcde\": longer than 15 bytes, the longest "
	  "interface name\n" },
	{ "glob that cannot match", "{\"interfaces\": [\"enp1s0f0np0abcd?*\"]}",
	  "cfg.json:1:17: /interfaces/0: \"enp1s0f0np0abcd?*\": can never match: interface names "
	  "are at most 15 bytes\n" },
	{ "glob with an unterminated bracket", "{\"interfaces\": [\"ens[0-9\"]}",
	  "cfg.json:1:17: /interfaces/0: \"ens[0-9\": unterminated '[' in the glob\n" },
	{ "glob with a backwards range", "{\"interfaces\": [\"eth[9-0]\"]}",
	  "cfg.json:1:17: /interfaces/0: \"eth[9-0]\": a range in [...] runs backwards (it matches "
	  "nothing)\n" },
	{ "glob with an unknown class", "{\"interfaces\": [\"eth[[:num:]]\"]}",
	  "cfg.json:1:17: /interfaces/0: \"eth[[:num:]]\": unknown character class (alnum, alpha, "
	  "digit, lower, upper, xdigit, ...)\n" },
	{ "glob with a trailing backslash", "{\"interfaces\": [\"eth\\\\\"]}",
	  "cfg.json:1:17: /interfaces/0: \"eth\\\\\": ends with a lone backslash\n" },
	{ "interface name with a slash", "{\"interfaces\": [\"a/b\"]}",
	  "cfg.json:1:17: /interfaces/0: \"a/b\": interface names hold no '/', ':', whitespace or "
	  "control characters\n" },
	{ "too many interfaces",
	  "{\"interfaces\": [\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\","
	  "\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\","
	  "\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\","
	  "\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\","
	  "\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\",\"a*\","
	  "\"a*\",\"a*\",\"a*\"]}",
	  "cfg.json:1:16: /interfaces: at most 64 entries\n" },
	{ "xdp mode", "{\"xdp_mode\": \"fast\"}",
	  "cfg.json:1:14: /xdp_mode: \"fast\": must be one of: auto, native, generic\n" },
	{ "log level", "{\"log_level\": 2}",
	  "cfg.json:1:15: /log_level: 2: must be one of: warn, info, debug\n" },
	{ "number of the wrong type", "{\"conntrack_size\": \"1M\"}",
	  "cfg.json:1:20: /conntrack_size: \"1M\": must be an integer\n" },
	{ "fraction", "{\"traffic_interval_s\": 1.5}",
	  "cfg.json:1:24: /traffic_interval_s: 1.5: must be an integer\n" },
	{ "max_rules out of range", "{\"max_rules\": 0}",
	  "cfg.json:1:15: /max_rules: 0: out of range (1-1048576)\n" },
	{ "conntrack_size out of range", "{\"conntrack_size\": 100}",
	  "cfg.json:1:20: /conntrack_size: 100: out of range (1024-67108864)\n" },
	{ "rate_limit_size out of range", "{\"rate_limit_size\": 16777217}",
	  "cfg.json:1:21: /rate_limit_size: 16777217: out of range (1024-16777216)\n" },
	{ "flow_interval_ms out of range", "{\"flow_interval_ms\": 5}",
	  "cfg.json:1:22: /flow_interval_ms: 5: out of range (10-60000)\n" },
	{ "traffic_interval_s out of range", "{\"traffic_interval_s\": -1}",
	  "cfg.json:1:24: /traffic_interval_s: -1: out of range (1-86400)\n" },
	{ "failsafe grammar", "{\"failsafes\": [\"ssh from anywhere\"]}",
	  "cfg.json:1:16: /failsafes/0: \"ssh from anywhere\": expected \"PROTO/PORT from CIDR\", "
	  "e.g. \"tcp/22 from 192.0.2.0/28\"\n" },
	{ "failsafe protocol", "{\"failsafes\": [\"icmp/0 from 192.0.2.0/28\"]}",
	  "cfg.json:1:16: /failsafes/0: \"icmp/0 from 192.0.2.0/28\": PROTO is tcp or udp\n" },
	{ "failsafe CIDR with host bits", "{\"failsafes\": [\"tcp/22 from 192.0.2.1/24\"]}",
	  "cfg.json:1:16: /failsafes/0: \"tcp/22 from 192.0.2.1/24\": host bits set (address is "
	  "not the first of its prefix)\n" },
	{ "sink kind", "{\"flows\": [\"kafka://broker:9092\"]}",
	  "cfg.json:1:12: /flows/0: \"kafka://broker:9092\": expected stdout, file:PATH, "
	  "syslog+udp://HOST:PORT, syslog+tcp://HOST:PORT, ipfix+udp://HOST:PORT, "
	  "ipfix+tcp://HOST:PORT or none\n" },
	{ "sink without a path", "{\"flows\": [\"file:\"]}",
	  "cfg.json:1:12: /flows/0: \"file:\": file: needs a path\n" },
	{ "sink without a port", "{\"flows\": [\"syslog+udp://siem\"]}",
	  "cfg.json:1:12: /flows/0: \"syslog+udp://siem\": expected HOST:PORT\n" },
	{ "sink with a bad port", "{\"flows\": [\"ipfix+udp://192.0.2.9:99999\"]}",
	  "cfg.json:1:12: /flows/0: \"ipfix+udp://192.0.2.9:99999\": the port must be a number "
	  "from 1 to 65535\n" },
	{ "sink with an unbracketed IPv6 host", "{\"flows\": [\"syslog+tcp://::1:514\"]}",
	  "cfg.json:1:12: /flows/0: \"syslog+tcp://::1:514\": IPv6 hosts go in brackets, e.g. "
	  "[::1]:514\n" },
	{ "sink option of another kind", "{\"flows\": [\"stdout,gzip=1\"]}",
	  "cfg.json:1:12: /flows/0: \"stdout,gzip=1\": unknown option 'gzip' for this sink\n" },
	{ "sink option misspelt", "{\"flows\": [\"file:/x,max_byte=1\"]}",
	  "cfg.json:1:12: /flows/0: \"file:/x,max_byte=1\": unknown option 'max_byte' for this "
	  "sink\n" },
	{ "sink option twice", "{\"flows\": [\"stdout,format=ecs,format=ocsf\"]}",
	  "cfg.json:1:12: /flows/0: \"stdout,format=ecs,format=ocsf\": option 'format' given "
	  "twice\n" },
	{ "sink option without a value", "{\"flows\": [\"file:/x,gzip\"]}",
	  "cfg.json:1:12: /flows/0: \"file:/x,gzip\": option 'gzip': expected NAME=VALUE\n" },
	{ "sink with an empty option", "{\"flows\": [\"file:/x,,keep=1\"]}",
	  "cfg.json:1:12: /flows/0: \"file:/x,,keep=1\": an empty option (two commas, or one at "
	  "the end)\n" },
	{ "none with other sinks", "{\"flows\": [\"stdout\", \"none\"]}",
	  "cfg.json:1:22: /flows/1: \"none\": \"none\" turns flow records off: it stands alone\n" },
	{ "metrics hostname", "{\"metrics\": \"localhost:9470\"}",
	  "cfg.json:1:13: /metrics: \"localhost:9470\": expected ADDR:PORT with a literal "
	  "address, e.g. 127.0.0.1:9470 or [::1]:9470\n" },
	{ "metrics unbracketed IPv6", "{\"metrics\": \"::1:9470\"}",
	  "cfg.json:1:13: /metrics: \"::1:9470\": IPv6 addresses go in brackets, e.g. [::1]:9470\n" },
	{ "metrics port", "{\"metrics\": \"127.0.0.1:0\"}",
	  "cfg.json:1:13: /metrics: \"127.0.0.1:0\": the port must be a number from 1 to 65535\n" },
	{ "metrics of the wrong type", "{\"metrics\": 9470}",
	  "cfg.json:1:13: /metrics: 9470: must be \"ADDR:PORT\" or null (off)\n" },
	{ "description of the wrong type", "{\"description\": 1}",
	  "cfg.json:1:17: /description: 1: must be a string\n" },
	{ "every error at once, in document order",
	  "{\n"
	  "  \"log_level\": \"loud\",\n"
	  "  \"interfaces\": [\"eth0\", \"ens[\"],\n"
	  "  \"max_rules\": 2000000,\n"
	  "  \"bogus\": true\n"
	  "}\n",
	  "cfg.json:2:16: /log_level: \"loud\": must be one of: warn, info, debug\n"
	  "cfg.json:3:26: /interfaces/1: \"ens[\": unterminated '[' in the glob\n"
	  "cfg.json:4:16: /max_rules: 2000000: out of range (1-1048576)\n"
	  "cfg.json:5:12: /bogus: true: unknown key \"bogus\"\n" },
};

static void run_err_case(void **state)
{
	const struct err_case *e = *state;

	expect_diags(e->doc, e->want);
}

/* The fixture of docs/operations.md's example of errors. */
static void test_bad_file(void **state)
{
	const char *f = FIXTURES "/config-bad.json";
	const char *want =
		"tests/fixtures/config-bad.json:2:13: /policy: \"policy.json\": must be an absolute path\n"
		"tests/fixtures/config-bad.json:3:26: /interfaces/1: \"ens[0-9\": unterminated '[' in the glob\n"
		"tests/fixtures/config-bad.json:3:37: warning: /interfaces/2: \"eth0\": listed twice (also at /interfaces/0)\n"
		"tests/fixtures/config-bad.json:4:15: /xdp_mode: \"fast\": must be one of: auto, native, generic\n"
		"tests/fixtures/config-bad.json:5:21: /conntrack_size: 100: out of range (1024-67108864)\n"
		"tests/fixtures/config-bad.json:6:17: /failsafes/0: \"ssh from anywhere\": expected \"PROTO/PORT from CIDR\", e.g. \"tcp/22 from 192.0.2.0/28\"\n"
		"tests/fixtures/config-bad.json:7:13: /flows/0: \"kafka://broker:9092\": expected stdout, file:PATH, syslog+udp://HOST:PORT, syslog+tcp://HOST:PORT, ipfix+udp://HOST:PORT, ipfix+tcp://HOST:PORT or none\n"
		"tests/fixtures/config-bad.json:8:14: /metrics: \"localhost:9470\": expected ADDR:PORT with a literal address, e.g. 127.0.0.1:9470 or [::1]:9470\n"
		"tests/fixtures/config-bad.json:9:16: /log_level: 2: must be one of: warn, info, debug\n"
		"tests/fixtures/config-bad.json:10:12: /polcy: \"/etc/ward/policy.json\": unknown key \"polcy\"\n";
	struct ward_config c;
	struct diags d = {};
	char *got;

	assert_int_equal(config__parse_file(f, &c, &d), -EINVAL);
	got = render(&d, f);
	if (strcmp(got, want))
		fail_msg("--- want:\n%s--- got:\n%s", want, got);
	assert_int_equal(d.nerrors, 9);
	assert_int_equal(d.nwarnings, 1);
	assert_unset(&c);
	free(got);
	diags__free(&d);
}

static void test_syntax_file(void **state)
{
	const char *f = FIXTURES "/config-syntax.json";
	struct ward_config c;
	struct diags d = {};
	char *got;

	assert_int_equal(config__parse_file(f, &c, &d), -EINVAL);
	got = render(&d, f);
	assert_string_equal(got, "tests/fixtures/config-syntax.json:3:25: /: invalid JSON: "
				 "unexpected token near ']'\n");
	free(got);
	diags__free(&d);
}

static void test_file_errors(void **state)
{
	struct ward_config c;
	struct diags d = {};
	char *got, path[] = "/tmp/ward-test-config-XXXXXX";
	int fd;

	assert_int_equal(config__parse_file("/nonexistent/ward.json", &c, &d), -ENOENT);
	got = render(&d, "/nonexistent/ward.json");
	assert_string_equal(got, "/nonexistent/ward.json: cannot read: No such file or directory\n");
	free(got);
	diags__free(&d);

	assert_int_equal(config__parse_file("/", &c, &d), -EINVAL);
	got = render(&d, "/");
	assert_string_equal(got, "/: not a regular file of at most 1048576 bytes\n");
	free(got);
	diags__free(&d);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, CONFIG_MAX_BYTES + 1), 0);
	close(fd);
	assert_int_equal(config__parse_file(path, &c, &d), -EINVAL);
	assert_int_equal(d.nerrors, 1);
	unlink(path);
	diags__free(&d);
	assert_unset(&c);
}

/* config__parse reads exactly len bytes, not up to a NUL. */
static void test_respects_len(void **state)
{
	const char *doc = "{\"log_level\": \"info\"}garbage";
	struct ward_config c;
	struct diags d = {};

	assert_int_equal(config__parse(doc, strlen("{\"log_level\": \"info\"}"), &c, &d), 0);
	assert_int_equal(c.log_level, LOG_LVL_INFO);
	config__free(&c);
	diags__free(&d);
}

/* ---- main ------------------------------------------------------------------ */

#define T(f) { #f, f, NULL, NULL, NULL }

static const struct CMUnitTest fixed_tests[] = {
	T(test_full_file),	   T(test_defaults),	 T(test_enums),
	T(test_limits_inclusive),  T(test_globs_valid),	 T(test_flows_valid),
	T(test_metrics_valid),	   T(test_duplicate_is_a_warning), T(test_bad_file),
	T(test_syntax_file),	   T(test_file_errors),	 T(test_respects_len),
};

int main(void)
{
	size_t nfixed = ARRAY_SIZE(fixed_tests), n = nfixed + ARRAY_SIZE(err_cases);
	struct CMUnitTest *all = calloc(n, sizeof(*all));
	int failed;

	if (!all)
		return 1;
	memcpy(all, fixed_tests, sizeof(fixed_tests));
	for (size_t i = 0; i < ARRAY_SIZE(err_cases); i++) {
		all[nfixed + i].name = err_cases[i].name;
		all[nfixed + i].test_func = run_err_case;
		all[nfixed + i].initial_state = (void *)&err_cases[i];
	}
	failed = _cmocka_run_group_tests("test_config", all, n, NULL, NULL);
	free(all);
	return failed ? 1 : 0;
}
