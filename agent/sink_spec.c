// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A sink from its one-string spec (--flows and the config file), exactly
 * the grammar of record.h:
 *   stdout[,format=ecs]
 *   file:PATH[,max_bytes=N][,max_age=SECONDS][,keep=N][,gzip=0|1][,format=ecs]
 *   syslog+udp://HOST:PORT[,format=ecs]   syslog+tcp://HOST:PORT[,format=ecs]
 *   ipfix+udp://HOST:PORT[,template=SECONDS][,domain=N]   ipfix+tcp://...
 *   syslog+tls://HOST[:PORT],ca=PEM,cert=PEM,key=PEM[,name=NAME][,tls=1.2][,format=ecs]
 *     (RFC 5425, port 6514 by default, name defaults to HOST; docs/tls.md)
 * IPv6 hosts in brackets. Anything else (an unknown option, one given
 * twice, a number with a unit or out of range) is an error with a reason:
 * a typo in a flag must not become a silently different sink.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "sink_tls.h"

#define SPEC_MAX_AGE_S (10ull * 365 * 86400) /* ten years: anything longer is a typo */

enum spec_kind { SPEC_STDOUT, SPEC_FILE, SPEC_SYSLOG, SPEC_IPFIX, SPEC_SYSLOG_TLS };

/* Options each kind takes, as bits of `seen`. */
enum {
	OPT_FORMAT = 1 << 0,
	OPT_MAX_BYTES = 1 << 1,
	OPT_MAX_AGE = 1 << 2,
	OPT_KEEP = 1 << 3,
	OPT_GZIP = 1 << 4,
	OPT_TEMPLATE = 1 << 5,
	OPT_DOMAIN = 1 << 6,
	OPT_CA = 1 << 7,
	OPT_CERT = 1 << 8,
	OPT_KEY = 1 << 9,
	OPT_NAME = 1 << 10,
	OPT_TLS = 1 << 11,
};

static const struct {
	const char *name;
	unsigned bit;
} options[] = {
	{ "format", OPT_FORMAT },     { "max_bytes", OPT_MAX_BYTES }, { "max_age", OPT_MAX_AGE },
	{ "keep", OPT_KEEP },	      { "gzip", OPT_GZIP },	      { "template", OPT_TEMPLATE },
	{ "domain", OPT_DOMAIN },     { "ca", OPT_CA },		      { "cert", OPT_CERT },
	{ "key", OPT_KEY },	      { "name", OPT_NAME },	      { "tls", OPT_TLS },
};

static const unsigned allowed[] = {
	[SPEC_STDOUT] = OPT_FORMAT,
	[SPEC_FILE] = OPT_FORMAT | OPT_MAX_BYTES | OPT_MAX_AGE | OPT_KEEP | OPT_GZIP,
	[SPEC_SYSLOG] = OPT_FORMAT,
	[SPEC_IPFIX] = OPT_TEMPLATE | OPT_DOMAIN,
	[SPEC_SYSLOG_TLS] = OPT_FORMAT | OPT_CA | OPT_CERT | OPT_KEY | OPT_NAME | OPT_TLS,
};

struct spec {
	enum spec_kind kind;
	enum sink_transport transport;
	char *target; /* PATH, or HOST:PORT */
	char host[256], port[6];
	enum rec_format format;
	struct file_sink_opts file;
	unsigned template_s;
	uint32_t domain;
	struct tls_opts tls;
};

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Plain decimal digits, nothing else, within [min, max]. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* HOST:PORT or [V6HOST]:PORT; the port may be left out when there is a
 * default (defport). */
static int parse_hostport(struct spec *sp, const char *s, const char *defport, char *err,
			  size_t errlen)
{
	const char *colon, *host = s;
	size_t hlen;
	uint64_t port;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (close && !close[1] && defport) {
			host = s + 1;
			hlen = (size_t)(close - host);
			colon = NULL;
		} else if (!close || close[1] != ':') {
			return fail(err, errlen, "'%s': expected [IPV6]:PORT", s);
		} else {
			host = s + 1;
			hlen = (size_t)(close - host);
			colon = close + 1;
		}
	} else {
		colon = strrchr(s, ':');
		if (!colon && defport)
			hlen = strlen(s);
		else if (!colon)
			return fail(err, errlen, "'%s': expected HOST:PORT", s);
		else
			hlen = (size_t)(colon - s);
		if (memchr(s, ':', hlen))
			return fail(err, errlen, "'%s': IPv6 hosts go in brackets, e.g. [::1]:514", s);
	}
	if (!hlen || hlen >= sizeof(sp->host))
		return fail(err, errlen, "'%s': the host is empty or too long", s);
	if (!colon)
		port = strtoull(defport, NULL, 10);
	else if (parse_u64(colon + 1, 1, 65535, &port))
		return fail(err, errlen, "'%s': the port must be a number from 1 to 65535", s);
	memcpy(sp->host, host, hlen);
	sp->host[hlen] = '\0';
	snprintf(sp->port, sizeof(sp->port), "%u", (unsigned)port);
	return 0;
}

static int parse_option(struct spec *sp, char *opt, unsigned *seen, char *err, size_t errlen)
{
	char *eq = strchr(opt, '=');
	const char *val;
	unsigned bit = 0;
	uint64_t v;

	if (!eq)
		return fail(err, errlen, "option '%s': expected NAME=VALUE", opt);
	*eq = '\0';
	val = eq + 1;
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		if (!strcmp(opt, options[i].name))
			bit = options[i].bit;
	if (!bit || !(allowed[sp->kind] & bit))
		return fail(err, errlen, "unknown option '%s' for this sink", opt);
	if (*seen & bit)
		return fail(err, errlen, "option '%s' given twice", opt);
	*seen |= bit;

	switch (bit) {
	case OPT_FORMAT:
		if (!strcmp(val, "ecs"))
			sp->format = REC_FMT_ECS;
		else if (!strcmp(val, "ocsf"))
			sp->format = REC_FMT_OCSF;
		else
			return fail(err, errlen, "format=%s: expected ocsf or ecs", val);
		return 0;
	case OPT_MAX_BYTES:
		if (parse_u64(val, 0, UINT64_MAX, &v))
			return fail(err, errlen, "max_bytes=%s: expected a number of bytes", val);
		sp->file.max_bytes = v;
		return 0;
	case OPT_MAX_AGE:
		if (parse_u64(val, 0, SPEC_MAX_AGE_S, &v))
			return fail(err, errlen, "max_age=%s: expected seconds (at most %llu)", val,
				    SPEC_MAX_AGE_S);
		sp->file.max_age_s = v;
		return 0;
	case OPT_KEEP:
		if (parse_u64(val, 0, UINT_MAX, &v))
			return fail(err, errlen, "keep=%s: expected a number of files", val);
		sp->file.keep = (unsigned)v;
		return 0;
	case OPT_GZIP:
		if (strcmp(val, "0") && strcmp(val, "1"))
			return fail(err, errlen, "gzip=%s: expected 0 or 1", val);
		sp->file.gzip = val[0] == '1';
		return 0;
	case OPT_TEMPLATE:
		if (parse_u64(val, 1, 86400, &v))
			return fail(err, errlen, "template=%s: expected seconds from 1 to 86400", val);
		sp->template_s = (unsigned)v;
		return 0;
	case OPT_DOMAIN:
		if (parse_u64(val, 0, UINT32_MAX, &v))
			return fail(err, errlen, "domain=%s: expected a number up to %u", val,
				    UINT32_MAX);
		sp->domain = (uint32_t)v;
		return 0;
	case OPT_CA:
	case OPT_CERT:
	case OPT_KEY:
	case OPT_NAME:
		if (!*val)
			return fail(err, errlen, "option '%s' is empty", opt);
		*(bit == OPT_CA ? &sp->tls.ca : bit == OPT_CERT ? &sp->tls.cert :
		  bit == OPT_KEY ? &sp->tls.key : &sp->tls.name) = val;
		return 0;
	case OPT_TLS:
		if (strcmp(val, "1.2") && strcmp(val, "1.3"))
			return fail(err, errlen, "tls=%s: expected 1.2 (allow TLS 1.2) or 1.3", val);
		sp->tls.allow_tls12 = !strcmp(val, "1.2");
		return 0;
	}
	return fail(err, errlen, "unknown option '%s'", opt);
}

static int parse_kind(struct spec *sp, char *head, char *err, size_t errlen)
{
	static const struct {
		const char *prefix;
		enum spec_kind kind;
		enum sink_transport transport;
	} kinds[] = {
		{ "file:", SPEC_FILE, SINK_UDP },
		{ "syslog+udp://", SPEC_SYSLOG, SINK_UDP },
		{ "syslog+tcp://", SPEC_SYSLOG, SINK_TCP },
		{ "ipfix+udp://", SPEC_IPFIX, SINK_UDP },
		{ "ipfix+tcp://", SPEC_IPFIX, SINK_TCP },
		{ "syslog+tls://", SPEC_SYSLOG_TLS, SINK_TCP },
	};

	if (!strcmp(head, "stdout")) {
		sp->kind = SPEC_STDOUT;
		return 0;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t n = strlen(kinds[i].prefix);

		if (strncmp(head, kinds[i].prefix, n))
			continue;
		sp->kind = kinds[i].kind;
		sp->transport = kinds[i].transport;
		sp->target = head + n;
		if (sp->kind == SPEC_FILE) {
			if (!sp->target[0])
				return fail(err, errlen, "file: needs a path");
			sp->file.path = sp->target;
			return 0;
		}
		return parse_hostport(sp, sp->target,
				      sp->kind == SPEC_SYSLOG_TLS ? TLS_SYSLOG_PORT : NULL, err, errlen);
	}
	return fail(err, errlen,
		    "'%s': expected stdout, file:PATH, syslog+udp://, syslog+tcp://, syslog+tls://, ipfix+udp:// or ipfix+tcp://",
		    head);
}

static struct sink *open_spec(const struct spec *sp, const char *spec, char *err, size_t errlen)
{
	struct sink *s = NULL;

	errno = 0;
	switch (sp->kind) {
	case SPEC_STDOUT:
		s = sink_stdout_open(sp->format);
		break;
	case SPEC_FILE:
		s = sink_file_open(&sp->file, sp->format);
		break;
	case SPEC_SYSLOG:
		s = sink_syslog_open(sp->host, sp->port, sp->transport, sp->format);
		break;
	case SPEC_IPFIX:
		s = sink_ipfix_open(sp->host, sp->port, sp->transport, sp->template_s, sp->domain);
		break;
	case SPEC_SYSLOG_TLS:
		s = sink_syslog_tls_open(sp->host, sp->port, &sp->tls, sp->format);
		break;
	}
	if (!s)
		fail(err, errlen, "%s: cannot open%s%s", spec, errno ? ": " : " (see the log)",
		     errno ? strerror(errno) : "");
	return s;
}

struct sink *sink_open_spec(const char *spec, char *err, size_t errlen)
{
	struct spec sp = { .format = REC_FMT_OCSF };
	char *copy, *opt;
	unsigned seen = 0;
	struct sink *s = NULL;

	if (err && errlen)
		err[0] = '\0';
	if (!spec || !spec[0]) {
		fail(err, errlen, "empty sink spec");
		return NULL;
	}
	copy = strdup(spec);
	if (!copy) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	/* The first comma ends PATH or HOST:PORT: paths with commas are not supported. */
	opt = strchr(copy, ',');
	if (opt)
		*opt++ = '\0';
	if (parse_kind(&sp, copy, err, errlen))
		goto out;
	while (opt) {
		char *o = strsep(&opt, ",");

		if (!*o) {
			fail(err, errlen, "'%s': an empty option (two commas, or one at the end)", spec);
			goto out;
		}
		if (parse_option(&sp, o, &seen, err, errlen))
			goto out;
	}
	if (sp.kind == SPEC_SYSLOG_TLS && (!sp.tls.ca || !sp.tls.cert || !sp.tls.key)) {
		fail(err, errlen, "'%s': syslog+tls:// needs ca=, cert= and key= (mutual TLS)", spec);
		goto out;
	}
	s = open_spec(&sp, spec, err, errlen);
out:
	free(copy);
	return s;
}
