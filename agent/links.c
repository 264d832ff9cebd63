// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Which links Ward enforces on: every link of this network namespace whose
 * name matches one of the configured names or globs, now and as links
 * appear, are renamed or move in (rtnetlink RTM_NEWLINK), and until they go
 * (RTM_DELLINK, renamed out of the patterns). Through libnl: a link cache
 * for the first scan, a socket subscribed to RTNLGRP_LINK for the changes.
 */
#include <errno.h>
#include <fnmatch.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/route/link.h>
#include "links.h"
#include "log.h"

struct attached {
	int ifindex;
	char name[IF_NAMESIZE];
};

struct links {
	struct ward *w;
	const char *const *patterns;
	size_t npatterns;
	enum xdp_mode mode;
	struct nl_sock *sk;
	struct attached on[WARD_MAX_IFACES];
	int errors; /* attach failures since the last links__errors() */
};

static bool wanted(const struct links *l, const char *name)
{
	for (size_t i = 0; i < l->npatterns; i++)
		if (!fnmatch(l->patterns[i], name, 0))
			return true;
	return false;
}

static struct attached *find(struct links *l, int ifindex)
{
	for (int i = 0; i < WARD_MAX_IFACES; i++)
		if (l->on[i].ifindex == ifindex)
			return &l->on[i];
	return NULL;
}

static int attach(struct links *l, int ifindex, const char *name)
{
	struct attached *a = find(l, 0);
	int err;

	if (!a) {
		pr_warn("%s: not attached: already enforcing on %d interfaces\n", name,
			WARD_MAX_IFACES);
		l->errors++;
		return -ENOSPC;
	}
	err = ward__attach(l->w, name, l->mode);
	if (err) {
		pr_warn("%s: cannot attach: %s\n", name, strerror(-err));
		l->errors++;
		return err;
	}
	a->ifindex = ifindex;
	snprintf(a->name, sizeof(a->name), "%s", name);
	pr_info("%s: enforcing (XDP ingress, TC egress)\n", name);
	return 0;
}

static void forget(struct links *l, struct attached *a, const char *why)
{
	ward__detach_iface(l->w, a->name, a->ifindex);
	pr_info("%s: %s; no longer enforcing on it\n", a->name, why);
	memset(a, 0, sizeof(*a));
}

/* One link as the kernel describes it now. */
static void link_seen(struct links *l, int ifindex, const char *name, bool gone)
{
	struct attached *a = find(l, ifindex);

	if (gone) {
		if (a)
			forget(l, a, "link removed (or moved to another namespace)");
		return;
	}
	if (a && strcmp(a->name, name)) {
		/* renamed: the pinned link carries the old name */
		char old[IF_NAMESIZE];

		snprintf(old, sizeof(old), "%s", a->name);
		forget(l, a, "renamed");
		if (wanted(l, name)) {
			pr_info("%s: renamed from %s, matches again\n", name, old);
			(void)attach(l, ifindex, name);
		}
		return;
	}
	if (!a && wanted(l, name))
		(void)attach(l, ifindex, name);
}

static void obj_cb(struct nl_object *obj, void *arg)
{
	struct rtnl_link *link = (struct rtnl_link *)obj;
	const char *name = rtnl_link_get_name(link);

	if (name)
		link_seen(arg, rtnl_link_get_ifindex(link), name,
			  nl_object_get_msgtype(obj) == RTM_DELLINK);
}

static int msg_cb(struct nl_msg *msg, void *arg)
{
	(void)nl_msg_parse(msg, obj_cb, arg);
	return NL_OK;
}

static int scan(struct links *l)
{
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	int err;

	err = rtnl_link_alloc_cache(l->sk, AF_UNSPEC, &cache);
	if (err)
		return -EIO;
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *link = (struct rtnl_link *)o;
		const char *name = rtnl_link_get_name(link);

		if (name)
			link_seen(l, rtnl_link_get_ifindex(link), name, false);
	}
	nl_cache_free(cache);
	return 0;
}

struct links *links__start(struct ward *w, const char *const *patterns, size_t npatterns,
			   enum xdp_mode mode)
{
	struct links *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->w = w;
	l->patterns = patterns;
	l->npatterns = npatterns;
	l->mode = mode;
	l->sk = nl_socket_alloc();
	if (!l->sk || nl_connect(l->sk, NETLINK_ROUTE))
		goto fail;
	/* subscribe before the scan: no link can slip in between */
	nl_socket_disable_seq_check(l->sk);
	if (nl_socket_add_membership(l->sk, RTNLGRP_LINK))
		goto fail;
	if (scan(l))
		goto fail;
	nl_socket_modify_cb(l->sk, NL_CB_VALID, NL_CB_CUSTOM, msg_cb, l);
	if (nl_socket_set_nonblocking(l->sk))
		goto fail;
	return l;
fail:
	links__stop(l);
	return NULL;
}

int links__fd(struct links *l)
{
	return nl_socket_get_fd(l->sk);
}

void links__poll(struct links *l)
{
	int err = nl_recvmsgs_default(l->sk);

	if (err && err != -NLE_AGAIN) {
		/* lost notifications (buffer overrun): look at every link again */
		pr_warn("link notifications: %s; rescanning links\n", nl_geterror(err));
		(void)scan(l);
	}
}

size_t links__count(const struct links *l)
{
	size_t n = 0;

	for (int i = 0; i < WARD_MAX_IFACES; i++)
		n += l->on[i].ifindex != 0;
	return n;
}

int links__errors(struct links *l)
{
	int n = l->errors;

	l->errors = 0;
	return n;
}

bool links__literal_missing(const struct links *l, const char **name)
{
	for (size_t i = 0; i < l->npatterns; i++) {
		const char *p = l->patterns[i];
		bool found = false;

		if (strpbrk(p, "*?["))
			continue; /* a glob may match nothing yet */
		for (int j = 0; j < WARD_MAX_IFACES && !found; j++)
			found = l->on[j].ifindex && !strcmp(l->on[j].name, p);
		if (!found) {
			*name = p;
			return true;
		}
	}
	return false;
}

void links__stop(struct links *l)
{
	if (!l)
		return;
	nl_socket_free(l->sk); /* the links stay attached: enforcement goes on */
	free(l);
}
