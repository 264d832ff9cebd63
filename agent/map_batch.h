/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Many map entries in few syscalls (BPF_MAP_*_BATCH), per entry where the
 * kernel has no batch operations for the map type. 0 or -errno. */
#ifndef WARD_MAP_BATCH_H
#define WARD_MAP_BATCH_H
#include <stddef.h>

/* keys[i] -> vals[i] for i < n; a per-CPU map takes ncpu values per key. */
int map_update_arrays(int fd, const void *keys, size_t ksz, const void *vals, size_t vsz,
		      size_t n);

#endif
