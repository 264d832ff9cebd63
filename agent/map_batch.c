// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Many map entries in few syscalls: BPF_MAP_*_BATCH in chunks, with a
 * fallback to one syscall per entry on kernels whose map type has no batch
 * operations (counters and rule names of 100,000 rules: one syscall each
 * would be most of the apply time on a virtualised host).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "map_batch.h"

#define BATCH_CHUNK 8192 /* entries per syscall: bounded kernel work and buffers */
#define KERNEL_ENOTSUPP 524 /* the kernel's internal ENOTSUPP, seen by userspace */

static bool no_batch(int err)
{
	return err == -EINVAL || err == -KERNEL_ENOTSUPP || err == -EOPNOTSUPP || err == -ENOSYS;
}

int map_update_arrays(int fd, const void *keys, size_t ksz, const void *vals, size_t vsz,
		      size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o, .elem_flags = BPF_ANY);
	const char *k = keys, *v = vals;
	size_t done = 0;

	while (done < n) {
		__u32 cnt = n - done > BATCH_CHUNK ? BATCH_CHUNK : (__u32)(n - done);
		int err = bpf_map_update_batch(fd, k + done * ksz, v + done * vsz, &cnt, &o);

		if (!err) {
			done += cnt;
			continue;
		}
		err = -errno;
		if (!no_batch(err) || done)
			return err;
		/* no batch for this map type here: one entry at a time */
		for (; done < n; done++)
			if (bpf_map_update_elem(fd, k + done * ksz, v + done * vsz, BPF_ANY))
				return -errno;
	}
	return 0;
}
