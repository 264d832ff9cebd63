// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* ward detach: the one thing that removes enforcement. */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "loader.h"
#include "log.h"
#include "pins.h"

static void detach_tc(const struct ward_iface *v)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = WARD_TC_HANDLE, .priority = WARD_TC_PRIO);
	int ifindex = if_nametoindex(v->name);

	if (!ifindex || (__u32)ifindex != v->ifindex)
		return; /* gone, or another interface now has the name */
	hook.ifindex = ifindex;
	log_libbpf_quiet(1);
	if (bpf_tc_detach(&hook, &opts))
		pr_debug("%s: no tc filter to remove\n", v->name);
	log_libbpf_quiet(0);
}

static void detach_ifaces(const char *dir)
{
	int fd = pin_open(dir, "ward_ifaces");
	struct ward_iface v;

	if (fd < 0)
		return;
	for (__u32 i = 0; i < WARD_MAX_IFACES; i++) {
		if (bpf_map_lookup_elem(fd, &i, &v) || !v.ifindex)
			continue;
		detach_tc(&v);
		pr_info("%s: detached\n", v.name);
	}
	close(fd);
}

void ward__detach_iface(struct ward *w, const char *ifname, int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = WARD_TC_HANDLE, .priority = WARD_TC_PRIO);
	int fd = ward__map_fd(w, "ward_ifaces");
	char path[PATH_MAX], name[64];
	struct ward_iface v;

	snprintf(name, sizeof(name), PIN_XDP_LINK "%s", ifname);
	if (!pin_path(path, sizeof(path), w->pin_path, name)) {
		int lfd = bpf_obj_get(path);

		if (lfd >= 0) {
			(void)bpf_link_detach(lfd);
			close(lfd);
		}
		(void)unlink(path);
	}
	log_libbpf_quiet(1);
	(void)bpf_tc_detach(&hook, &opts); /* fails quietly when the link is gone */
	log_libbpf_quiet(0);
	for (__u32 i = 0; fd >= 0 && i < WARD_MAX_IFACES; i++) {
		if (bpf_map_lookup_elem(fd, &i, &v) || v.ifindex != (__u32)ifindex)
			continue;
		memset(&v, 0, sizeof(v));
		(void)bpf_map_update_elem(fd, &i, &v, BPF_ANY);
	}
}

int ward__detach_pinned(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	int err = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return -errno;
	detach_ifaces(dir);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (pin_path(path, sizeof(path), dir, e->d_name))
			continue;
		if (!strncmp(e->d_name, PIN_XDP_LINK, strlen(PIN_XDP_LINK))) {
			int fd = bpf_obj_get(path);

			/* detach even if a running agent still holds the link */
			if (fd >= 0) {
				(void)bpf_link_detach(fd);
				close(fd);
			}
		}
		if (unlink(path) && !err)
			err = -errno;
	}
	closedir(d);
	if (rmdir(dir) && !err)
		err = -errno;
	return err;
}
