// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Many map entries in few syscalls: BPF_MAP_*_BATCH in chunks, with a
 * fallback to one syscall per entry on kernels whose map type has no batch
 * operations. Publishing 100,000 rules is ~450,000 trie entries: one
 * syscall each is most of the apply time on a virtualised host.
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

int map_update_strided(int fd, const void *base, size_t stride, size_t ksz, size_t voff,
		       size_t vsz, size_t n)
{
	size_t chunk = n < BATCH_CHUNK ? n : BATCH_CHUNK;
	char *keys = malloc(chunk * ksz + 1), *vals = malloc(chunk * vsz + 1);
	const char *b = base;
	int err = keys && vals ? 0 : -ENOMEM;

	for (size_t at = 0; at < n && !err; at += chunk) {
		size_t m = n - at < chunk ? n - at : chunk;

		for (size_t i = 0; i < m; i++) {
			memcpy(keys + i * ksz, b + (at + i) * stride, ksz);
			memcpy(vals + i * vsz, b + (at + i) * stride + voff, vsz);
		}
		err = map_update_arrays(fd, keys, ksz, vals, vsz, m);
	}
	free(keys);
	free(vals);
	return err;
}

/* Read a chunk of keys with BPF_MAP_LOOKUP_BATCH, delete them with
 * BPF_MAP_DELETE_BATCH; per key where the map type has no batch. */
int map_clear(int fd, size_t ksz, size_t vsz)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	char *keys = malloc(BATCH_CHUNK * ksz), *vals = malloc(BATCH_CHUNK * vsz);
	/* out_batch: a bucket for hashes, the last key for the generic walk */
	void *batch = calloc(1, ksz > 8 ? ksz : 8);
	int err = keys && vals && batch ? 0 : -ENOMEM;

	while (!err) {
		__u32 cnt = BATCH_CHUNK;
		/* a fresh walk each round: the keys read are gone by the next */
		int rc = bpf_map_lookup_batch(fd, NULL, batch, keys, vals, &cnt, &o);

		if (rc && errno != ENOENT) {
			err = no_batch(-errno) ? 1 : -errno;
			break;
		}
		if (cnt && bpf_map_delete_batch(fd, keys, &cnt, &o)) {
			err = -errno;
			break;
		}
		if (rc) /* ENOENT: that was the last chunk */
			break;
	}
	if (err == 1) { /* no batch operations: walk and delete one key at a time */
		err = 0;
		while (!bpf_map_get_next_key(fd, NULL, keys))
			if (bpf_map_delete_elem(fd, keys)) {
				err = -errno;
				break;
			}
	}
	free(keys);
	free(vals);
	free(batch);
	return err;
}
