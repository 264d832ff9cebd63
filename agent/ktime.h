/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The datapath's clock, read from userspace. bpf_ktime_get_ns() and
 * bpf_ktime_get_coarse_ns() are the kernel's CLOCK_MONOTONIC, which time
 * namespaces do not shift; clock_gettime(CLOCK_MONOTONIC) inside a time
 * namespace (unshare --time, a container restored by CRIU) adds the
 * namespace's offset. Every time the agent compares with, or converts, a
 * time the datapath wrote (conntrack and rate-limit ages, aggregation
 * idleness, record timestamps) is read with ward_ktime_ns().
 * Tested by tests/netns/test_faults.sh ("time namespace").
 */
#ifndef WARD_KTIME_H
#define WARD_KTIME_H

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <linux/types.h>

/* The CLOCK_MONOTONIC offset of this process's time namespace, in ns: 0
 * outside one (or on kernels without time namespaces). Read once. */
static inline __s64 ward_timens_offset_ns(void)
{
	static __s64 off;
	static int known;

	if (!__atomic_load_n(&known, __ATOMIC_ACQUIRE)) {
		FILE *f = fopen("/proc/self/timens_offsets", "re");
		long long s, ns, v = 0;
		char name[32];

		if (f) {
			while (fscanf(f, "%31s %lld %lld", name, &s, &ns) == 3)
				if (!strcmp(name, "monotonic") || !strcmp(name, "1"))
					v = s * 1000000000ll + ns;
			fclose(f);
		}
		__atomic_store_n(&off, (__s64)v, __ATOMIC_RELAXED);
		__atomic_store_n(&known, 1, __ATOMIC_RELEASE);
	}
	return __atomic_load_n(&off, __ATOMIC_RELAXED);
}

/* Now, on the clock of bpf_ktime_get_ns(). */
static inline __u64 ward_ktime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)((__s64)(ts.tv_sec * 1000000000ll + ts.tv_nsec) - ward_timens_offset_ns());
}

#endif
