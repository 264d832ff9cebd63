/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Links through libnl (rtnetlink). */
#ifndef WARD_NETLINK_H
#define WARD_NETLINK_H

#include <stdbool.h>

struct link_info {
	int ifindex;
	bool up;
	char kind[16]; /* "veth", "bridge", ... or "" for a physical NIC */
};

/* Look a link up by name in this network namespace. 0, -ENODEV or -errno. */
int netlink__link(const char *name, struct link_info *ret);

#endif
