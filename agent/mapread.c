// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Read-only access to the pinned maps (see mapread.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "mapread.h"
#include "pins.h"

int mapread_open(const char *pin, const char *name)
{
	LIBBPF_OPTS(bpf_obj_get_opts, opts, .file_flags = BPF_F_RDONLY);
	char path[4096];
	int fd, err = pin_path(path, sizeof(path), pin, name);

	if (err)
		return err;
	fd = bpf_obj_get_opts(path, &opts);
	return fd < 0 ? -errno : fd;
}

int mapread_counter(int fd, __u32 idx, struct ward_counter *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	struct ward_counter *v;
	int err = 0;

	memset(sum, 0, sizeof(*sum));
	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &idx, v))
		err = -errno;
	for (int i = 0; !err && i < ncpu; i++) {
		sum->packets += v[i].packets;
		sum->bytes += v[i].bytes;
	}
	free(v);
	return err;
}

int mapread_active(const char *pin, __u32 *slot, struct ward_cfg *cfg)
{
	int afd = mapread_open(pin, "ward_active"), cfd = mapread_open(pin, "ward_cfg"), err = 0;
	__u32 zero = 0;

	if (afd < 0 || cfd < 0)
		err = afd < 0 ? afd : cfd;
	else if (bpf_map_lookup_elem(afd, &zero, slot) || bpf_map_lookup_elem(cfd, slot, cfg))
		err = -errno;
	if (afd >= 0)
		close(afd);
	if (cfd >= 0)
		close(cfd);
	return err;
}

int mapread_meta(const char *pin, struct ward_meta *m)
{
	int fd = mapread_open(pin, "ward_meta"), err = 0;
	__u32 zero = 0;

	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, &zero, m))
		err = -errno;
	close(fd);
	m->name[sizeof(m->name) - 1] = '\0';
	return err;
}

bool mapread_xdp_link_live(const char *pin, const char *ifname)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char name[64];
	int fd;
	bool live;

	snprintf(name, sizeof(name), PIN_XDP_LINK "%s", ifname);
	fd = pin_open(pin, name); /* links cannot be opened read-only */
	if (fd < 0)
		return false;
	live = !bpf_obj_get_info_by_fd(fd, &info, &len) && info.xdp.ifindex != 0;
	close(fd);
	return live;
}

int mapread_usage(const char *pin, const char *map, uint64_t *entries, uint64_t *capacity)
{
	int fd = mapread_open(pin, map);
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	__u8 k[64], prev[64];
	uint64_t n = 0;

	*entries = *capacity = 0;
	if (fd < 0)
		return fd;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.key_size > sizeof(k)) {
		close(fd);
		return -EINVAL;
	}
	while (n < info.max_entries && !bpf_map_get_next_key(fd, n ? prev : NULL, k)) {
		memcpy(prev, k, info.key_size);
		n++;
	}
	close(fd);
	*entries = n;
	*capacity = info.max_entries;
	return 0;
}
