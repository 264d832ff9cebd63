// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include "netlink.h"

int netlink__link(const char *name, struct link_info *ret)
{
	struct nl_sock *sk = nl_socket_alloc();
	struct rtnl_link *link = NULL;
	const char *kind;
	int err;

	memset(ret, 0, sizeof(*ret));
	if (!sk)
		return -ENOMEM;
	err = nl_connect(sk, NETLINK_ROUTE);
	if (err) {
		err = -ECONNREFUSED;
		goto out;
	}
	err = rtnl_link_get_kernel(sk, 0, name, &link);
	if (err) {
		err = err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV ? -ENODEV : -EIO;
		goto out;
	}
	ret->ifindex = rtnl_link_get_ifindex(link);
	ret->up = rtnl_link_get_flags(link) & IFF_UP;
	kind = rtnl_link_get_type(link);
	snprintf(ret->kind, sizeof(ret->kind), "%s", kind ? kind : "");
	rtnl_link_put(link);
out:
	nl_socket_free(sk);
	return err;
}
