// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * LD_PRELOAD shim for tests/netns/test_faults.sh ("wall-clock jump"): the
 * wall clock of one process jumps, the host's never does. CLOCK_REALTIME
 * (and its coarse variant, gettimeofday, time) reads the true time plus
 * the whole seconds written in $WARD_WALLSHIFT_FILE, re-read at most every
 * 100 ms of CLOCK_MONOTONIC, so a test makes the clock jump by rewriting
 * the file. Every other clock, and every timed wait, is left alone.
 *
 * Not libfaketime: Debian 12's 0.9.10 also wraps pthread_cond_timedwait
 * and, with an offset set, makes a wait on a CLOCK_MONOTONIC condition
 * variable time out at once (or wait the offset more), even with
 * FAKETIME_DONT_FAKE_MONOTONIC=1: the agent's record writer would spin.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static clock_gettime_fn real_clock_gettime;
static long long shift_ns;      /* atomic: the offset now            */
static long long next_read_ns;  /* atomic: CLOCK_MONOTONIC, next read */

__attribute__((constructor)) static void shim_init(void)
{
	real_clock_gettime = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
}

static long long ns_of(const struct timespec *ts)
{
	return ts->tv_sec * 1000000000ll + ts->tv_nsec;
}

/* The file's seconds, at most every 100 ms; the last value on any error. */
static long long current_shift(void)
{
	const char *path = getenv("WARD_WALLSHIFT_FILE");
	struct timespec mono;
	char buf[32];
	ssize_t n;
	int fd;

	if (!path || real_clock_gettime(CLOCK_MONOTONIC, &mono))
		return __atomic_load_n(&shift_ns, __ATOMIC_RELAXED);
	if (ns_of(&mono) < __atomic_load_n(&next_read_ns, __ATOMIC_RELAXED))
		return __atomic_load_n(&shift_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&next_read_ns, ns_of(&mono) + 100000000ll, __ATOMIC_RELAXED);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			__atomic_store_n(&shift_ns, strtoll(buf, NULL, 10) * 1000000000ll,
					 __ATOMIC_RELAXED);
		}
	}
	return __atomic_load_n(&shift_ns, __ATOMIC_RELAXED);
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	long long t;
	int ret;

	if (!real_clock_gettime)
		shim_init();
	ret = real_clock_gettime(id, ts);
	if (ret || (id != CLOCK_REALTIME && id != CLOCK_REALTIME_COARSE))
		return ret;
	t = ns_of(ts) + current_shift();
	ts->tv_sec = t / 1000000000ll;
	ts->tv_nsec = t % 1000000000ll;
	return 0;
}

int gettimeofday(struct timeval *tv, void *tz)
{
	struct timespec ts;

	(void)tz; /* obsolete, always NULL in practice */
	if (clock_gettime(CLOCK_REALTIME, &ts))
		return -1;
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t time(time_t *t)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts))
		return (time_t)-1;
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}
