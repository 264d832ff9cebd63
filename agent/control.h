/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's control socket: `ward apply` and `ward confirm` talk to the
 * running agent through it (docs/operations.md, "Changing the policy of a running agent").
 *
 * A Unix stream socket (default /run/ward/ward.sock; its directory is
 * created 0750 when missing, the socket is 0600). One request per
 * connection: the client writes one JSON object and shuts down its write
 * side; the agent answers with one JSON object and closes.
 *
 *   {"cmd":"apply","policy_path":"/abs/path","policy_text":"...","confirm_within":S}
 *     -> {"ok":true,"revision":N,"name":"...","warnings":"..."}
 *     |  {"ok":false,"kind":"invalid","errors":"FILE:LINE:COL: ...\n..."}
 *   {"cmd":"confirm"}
 *     -> {"ok":true} | {"ok":false,"kind":"invalid","errors":"nothing to confirm"}
 *
 * "kind" of a failure: "invalid" (the request or the policy: ward apply
 * exits 1), "runtime" (the agent could not do it: exit 3), "denied" (the
 * peer is not root: exit 3). Only peers with uid 0 (SO_PEERCRED) are
 * served. A request is at most CONTROL_MSG_MAX bytes and must arrive in
 * full within CONTROL_TIMEOUT_MS of the connection.
 *
 * Nothing here blocks: the listening socket, every connection and a
 * timer live in one epoll set whose fd the agent's poll loop watches
 * (control__fd). control__handle does what is ready (accept, read,
 * write, expire) and runs ops->apply / ops->confirm, in the caller's
 * thread, once a request is complete. So a stuck or slow client costs a
 * connection slot, never the loop, and the callbacks touch the agent's
 * state from the one thread that owns it, as a SIGHUP reload does.
 */
#ifndef WARD_CONTROL_H
#define WARD_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

#define CONTROL_MSG_MAX (64u << 20) /* largest request or reply, bytes             */
#define CONTROL_TIMEOUT_MS 10000    /* a connection's request and reply, in all   */
#define CONTROL_MAX_CONNS 8         /* connections served at once; more wait      */
#define CONTROL_RUN_DIR "/run/ward"  /* where sockets go by default                */

struct control;

struct control_ops {
	/*
	 * Validate and publish this policy text (path: for messages only).
	 * 0: *reply_json is a malloc'd JSON object text ({"revision":N,
	 * "name":"..", "warnings":".."}; "ok":true is added). Failure: a
	 * negative errno (-EINVAL: the policy is invalid) and *reply_json the
	 * malloc'd error text (located diags, one per line), or NULL.
	 * confirm_s > 0: the agent rolls back unless confirmed within confirm_s.
	 */
	int (*apply)(void *arg, const char *path, const char *text, size_t len, unsigned confirm_s,
		     char **reply_json);
	/* 0 and *reply_json a JSON object text or NULL; -ENOENT with nothing
	 * pending ("nothing to confirm"), other errors as apply. */
	int (*confirm)(void *arg, char **reply_json);
};

/* Who sent the request being served (valid inside the callbacks). */
struct control_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/*
 * The socket of the agent pinned at pin_path when none is configured:
 * /run/ward/<last component of pin_path>.sock, so /run/ward/ward.sock for
 * the default /sys/fs/bpf/ward, and agents side by side (one pin path
 * each) get one socket each. 0, or -ENAMETOOLONG.
 */
int control__default_path(const char *pin_path, char *buf, size_t len);

/* Listen on path (replacing a stale socket, refusing a live one or a
 * non-socket). NULL with the reason in err. */
struct control *control__open(const char *path, char *err, size_t errlen);
/* Poll it for POLLIN, then call control__handle. */
int control__fd(struct control *c);
/* Accept, read, serve, reply, expire: whatever is ready; never blocks. */
void control__handle(struct control *c, const struct control_ops *ops, void *arg);
/* The peer of the request whose callback is running; NULL outside one. */
const struct control_peer *control__peer(const struct control *c);
/* Closes every connection; unlinks the socket if it is still ours. NULL is fine. */
void control__close(struct control *c);

#endif
