// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "log.h"

static enum log_level cur_level = LOG_LVL_INFO;
static int libbpf_quiet;

void log_set_level(enum log_level lvl)
{
	cur_level = lvl;
}

void log_libbpf_quiet(int quiet)
{
	libbpf_quiet = quiet;
}

static void vlog(enum log_level lvl, const char *prefix, const char *fmt, va_list ap)
{
	static const char *names[] = { "warn", "info", "debug" };
	struct timespec ts;
	struct tm tm;
	char when[32];

	if (lvl > cur_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ ward %s: %s", when, ts.tv_nsec / 1000000, names[lvl], prefix);
	vfprintf(stderr, fmt, ap);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(lvl, "", fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level lvl = level == LIBBPF_WARN ? LOG_LVL_INFO : LOG_LVL_DEBUG;

	if (libbpf_quiet)
		return 0;
	vlog(lvl, "libbpf: ", fmt, ap);
	return 0;
}

void log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
