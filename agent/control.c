// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The agent's control socket, server side (control.h): one epoll set holds
 * the listening socket, up to CONTROL_MAX_CONNS connections and a timer;
 * the agent's poll loop watches its fd and calls control__handle, which
 * never blocks. Requests are served in the loop's thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include "control.h"
#include "log.h"

#define CONTROL_DIR_MODE 0750
#define CONTROL_SOCK_MODE 0600
#define CONTROL_BACKLOG 16
#define CONTROL_READ_BUDGET (8u << 20) /* bytes read per connection per call, to stay fair */
#define CONTROL_TICK_MS 250            /* timer period while connections are open        */
#define CONTROL_MAX_CONFIRM_S 86400    /* longest --confirm-within                        */

enum { TAG_LISTEN = CONTROL_MAX_CONNS, TAG_TIMER };

enum conn_state { CONN_FREE = 0, CONN_READING, CONN_WRITING };

struct conn {
	int fd;
	enum conn_state state;
	struct control_peer peer;
	char *in;         /* the request as read so far */
	size_t inlen, incap;
	char *out;        /* the reply, written from outoff */
	size_t outlen, outoff;
	uint64_t deadline_ms;
};

struct control {
	int lfd, epfd, tfd;
	char *path;
	dev_t dev;
	ino_t ino;
	bool accepting, ticking;
	size_t nconns;
	struct conn conns[CONTROL_MAX_CONNS];
	const struct control_peer *cur;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ep_set(struct control *c, int op, int fd, uint32_t events, uint64_t tag)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	return epoll_ctl(c->epfd, op, fd, &ev) ? -errno : 0;
}

/* The timer runs only while a connection is open (its deadline). */
static void tick(struct control *c, bool on)
{
	struct itimerspec its = {};

	if (on == c->ticking)
		return;
	if (on) {
		its.it_value.tv_nsec = CONTROL_TICK_MS * 1000000L;
		its.it_interval = its.it_value;
	}
	if (!timerfd_settime(c->tfd, 0, &its, NULL))
		c->ticking = on;
}

/* Stop taking connections while every slot is busy: they wait in the backlog. */
static void accepting(struct control *c, bool on)
{
	if (on == c->accepting)
		return;
	if (!ep_set(c, EPOLL_CTL_MOD, c->lfd, on ? EPOLLIN : 0, TAG_LISTEN))
		c->accepting = on;
}

static void conn_close(struct control *c, struct conn *k)
{
	char sink[16384];

	if (k->state == CONN_FREE)
		return;
	/* Unread input makes the close a reset, which the peer may see before
	 * the reply: drop what is queued (bounded; the client handles the rest) */
	for (int i = 0; i < 64 && recv(k->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0; i++)
		;
	(void)epoll_ctl(c->epfd, EPOLL_CTL_DEL, k->fd, NULL);
	close(k->fd);
	free(k->in);
	free(k->out);
	memset(k, 0, sizeof(*k));
	k->fd = -1;
	c->nconns--;
	accepting(c, true);
	tick(c, c->nconns > 0);
}

/* Write what the socket takes; close when all is written or on error. */
static void conn_write(struct control *c, struct conn *k)
{
	while (k->outoff < k->outlen) {
		ssize_t n = send(k->fd, k->out + k->outoff, k->outlen - k->outoff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* EPOLLOUT brings us back */
		if (n <= 0) {
			pr_debug("control: pid %d: reply not delivered: %s\n", (int)k->peer.pid,
				 n < 0 ? strerror(errno) : "closed");
			break;
		}
		k->outoff += n;
	}
	conn_close(c, k);
}

/* Queue reply (a JSON object, taken over) and start writing it. */
static void conn_reply(struct control *c, struct conn *k, json_t *reply)
{
	char *s = json_dumps(reply, JSON_COMPACT);

	json_decref(reply);
	free(k->in);
	k->in = NULL;
	k->inlen = k->incap = 0;
	if (!s) {
		conn_close(c, k);
		return;
	}
	k->outlen = strlen(s);
	k->out = realloc(s, k->outlen + 1);
	if (!k->out)
		k->out = s;
	k->out[k->outlen++] = '\n';
	k->outoff = 0;
	k->state = CONN_WRITING;
	/* what the client still sends is not read: its writes fail, it reads this */
	(void)shutdown(k->fd, SHUT_RD);
	if (ep_set(c, EPOLL_CTL_MOD, k->fd, EPOLLOUT, k - c->conns)) {
		conn_close(c, k);
		return;
	}
	conn_write(c, k);
}

static void reply_error(struct control *c, struct conn *k, const char *kind, const char *errors)
{
	json_t *r = json_pack("{s:b,s:s,s:s}", "ok", 0, "kind", kind, "errors", errors);

	if (!r) {
		conn_close(c, k);
		return;
	}
	conn_reply(c, k, r);
}

/* ---- requests --------------------------------------------------------------- */

static const char *kind_of(int err)
{
	return err == -EINVAL || err == -ENOENT ? "invalid" : "runtime";
}

/* The reply of a callback: its object plus "ok", or its error text. */
static json_t *callback_reply(int err, char *text)
{
	json_t *r = NULL;

	if (!err) {
		if (text)
			r = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(r)) {
			json_decref(r);
			r = json_object();
		}
		json_object_set_new(r, "ok", json_true());
	} else {
		char why[128];

		snprintf(why, sizeof(why), "%s", err == -ENOENT ? "nothing to confirm" : strerror(-err));
		r = json_pack("{s:b,s:s,s:s}", "ok", 0, "kind", kind_of(err), "errors",
			      text && *text ? text : why);
	}
	free(text);
	return r;
}

/* NULL when every key of o is in keys; else the first unknown one. */
static const char *unknown_key(json_t *o, const char *const *keys)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		const char *const *a = keys;

		while (*a && strcmp(*a, key))
			a++;
		if (!*a)
			return key;
	}
	return NULL;
}

static void serve_apply(struct control *c, struct conn *k, json_t *req,
			const struct control_ops *ops, void *arg)
{
	static const char *const keys[] = { "cmd", "policy_path", "policy_text", "confirm_within",
					    NULL };
	json_t *text = json_object_get(req, "policy_text");
	json_t *path = json_object_get(req, "policy_path");
	json_t *conf = json_object_get(req, "confirm_within");
	const char *bad = unknown_key(req, keys);
	char why[160], *out = NULL;
	json_int_t s = 0;
	int err;

	if (bad) {
		snprintf(why, sizeof(why), "apply: unknown key \"%.64s\" (a newer ward apply?)", bad);
		reply_error(c, k, "invalid", why);
		return;
	}
	if (!json_is_string(text) || (path && !json_is_string(path)) ||
	    (conf && !json_is_integer(conf))) {
		reply_error(c, k, "invalid",
			    "apply: policy_text (string) is required; policy_path is a string, "
			    "confirm_within an integer");
		return;
	}
	if (conf)
		s = json_integer_value(conf);
	if (s < 0 || s > CONTROL_MAX_CONFIRM_S) {
		snprintf(why, sizeof(why), "apply: confirm_within is 0-%d seconds",
			 CONTROL_MAX_CONFIRM_S);
		reply_error(c, k, "invalid", why);
		return;
	}
	if (!ops || !ops->apply) {
		reply_error(c, k, "runtime", "this agent does not apply policies");
		return;
	}
	pr_info("control: apply %s from pid %d uid %u%s\n",
		path ? json_string_value(path) : "(no path)", (int)k->peer.pid,
		(unsigned)k->peer.uid, s ? ", rollback unless confirmed" : "");
	c->cur = &k->peer;
	err = ops->apply(arg, path ? json_string_value(path) : "(control socket)",
			 json_string_value(text), json_string_length(text), (unsigned)s, &out);
	c->cur = NULL;
	conn_reply(c, k, callback_reply(err, out));
}

static void serve_confirm(struct control *c, struct conn *k, json_t *req,
			  const struct control_ops *ops, void *arg)
{
	static const char *const keys[] = { "cmd", NULL };
	const char *bad = unknown_key(req, keys);
	char why[128], *out = NULL;
	int err;

	if (bad) {
		snprintf(why, sizeof(why), "confirm: unknown key \"%.64s\"", bad);
		reply_error(c, k, "invalid", why);
		return;
	}
	if (!ops || !ops->confirm) {
		reply_error(c, k, "runtime", "this agent does not confirm policies");
		return;
	}
	c->cur = &k->peer;
	err = ops->confirm(arg, &out);
	c->cur = NULL;
	conn_reply(c, k, callback_reply(err, out));
}

static void serve(struct control *c, struct conn *k, const struct control_ops *ops, void *arg)
{
	json_error_t jerr;
	json_t *req = json_loadb(k->in, k->inlen, JSON_REJECT_DUPLICATES, &jerr);
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	char why[256];

	if (!json_is_object(req)) {
		snprintf(why, sizeof(why), "request: %s", req ? "not a JSON object" : jerr.text);
		reply_error(c, k, "invalid", why);
	} else if (cmd && !strcmp(cmd, "apply")) {
		serve_apply(c, k, req, ops, arg);
	} else if (cmd && !strcmp(cmd, "confirm")) {
		serve_confirm(c, k, req, ops, arg);
	} else {
		reply_error(c, k, "invalid", "request: \"cmd\" is \"apply\" or \"confirm\"");
	}
	json_decref(req);
}

/* Read what is there (within the budget); serve at end of file. */
static void conn_read(struct control *c, struct conn *k, const struct control_ops *ops, void *arg)
{
	size_t budget = CONTROL_READ_BUDGET;

	while (budget) {
		ssize_t n;

		if (k->inlen == k->incap) {
			size_t cap = k->incap ? k->incap * 2 : 64 * 1024;
			char *p;

			if (cap > CONTROL_MSG_MAX + 1)
				cap = CONTROL_MSG_MAX + 1;
			if (cap == k->incap) { /* full: one byte more than allowed */
				char why[96];

				snprintf(why, sizeof(why), "request larger than %u MiB",
					 CONTROL_MSG_MAX >> 20);
				reply_error(c, k, "invalid", why);
				return;
			}
			p = realloc(k->in, cap);
			if (!p) {
				reply_error(c, k, "runtime", "out of memory");
				return;
			}
			k->in = p;
			k->incap = cap;
		}
		n = recv(k->fd, k->in + k->inlen, k->incap - k->inlen, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			conn_close(c, k);
			return;
		}
		if (n == 0) {
			serve(c, k, ops, arg);
			return;
		}
		k->inlen += n;
		budget = (size_t)n < budget ? budget - n : 0;
	}
}

static void accept_some(struct control *c)
{
	while (c->nconns < CONTROL_MAX_CONNS) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct conn *k = NULL;
		/* cppcheck-suppress nullPointer ; gnu.cfg has accept4's addrlen
		 * not-null, but accept4(2) takes NULL for it when addr is NULL */
		int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				pr_warn("control: accept: %s, ignoring\n", strerror(errno));
			return;
		}
		for (size_t i = 0; i < CONTROL_MAX_CONNS && !k; i++)
			if (c->conns[i].state == CONN_FREE)
				k = &c->conns[i];
		if (!k || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
		    ep_set(c, EPOLL_CTL_ADD, fd, EPOLLIN, k - c->conns)) {
			close(fd);
			continue;
		}
		k->fd = fd;
		k->state = CONN_READING;
		k->peer = (struct control_peer){ .pid = cred.pid, .uid = cred.uid, .gid = cred.gid };
		k->deadline_ms = now_ms() + CONTROL_TIMEOUT_MS;
		c->nconns++;
		tick(c, true);
		if (cred.uid != 0) {
			char why[128];

			pr_warn("control: refused pid %d uid %u: only root may control the agent\n",
				(int)cred.pid, (unsigned)cred.uid);
			snprintf(why, sizeof(why),
				 "permission denied: the agent serves root only (you are uid %u)",
				 (unsigned)cred.uid);
			reply_error(c, k, "denied", why);
		}
	}
	accepting(c, false);
}

static void expire(struct control *c)
{
	uint64_t now = now_ms();

	for (size_t i = 0; i < CONTROL_MAX_CONNS; i++) {
		struct conn *k = &c->conns[i];

		if (k->state == CONN_FREE || now < k->deadline_ms)
			continue;
		pr_warn("control: pid %d: no complete %s within %d ms, closing\n", (int)k->peer.pid,
			k->state == CONN_READING ? "request" : "read of the reply",
			CONTROL_TIMEOUT_MS);
		if (k->state == CONN_READING) {
			char why[96];

			snprintf(why, sizeof(why), "request not complete within %d s",
				 CONTROL_TIMEOUT_MS / 1000);
			k->deadline_ms = UINT64_MAX; /* the reply: one try, then closed */
			reply_error(c, k, "invalid", why);
			if (k->state != CONN_FREE)
				conn_close(c, k);
		} else {
			conn_close(c, k);
		}
	}
}

void control__handle(struct control *c, const struct control_ops *ops, void *arg)
{
	struct epoll_event ev[CONTROL_MAX_CONNS + 2];
	int n;

	if (!c)
		return;
	n = epoll_wait(c->epfd, ev, sizeof(ev) / sizeof(ev[0]), 0);
	for (int i = 0; i < n; i++) {
		uint64_t tag = ev[i].data.u64;
		struct conn *k;

		if (tag == TAG_LISTEN) {
			accept_some(c);
			continue;
		}
		if (tag == TAG_TIMER) {
			uint64_t ticks;

			(void)!read(c->tfd, &ticks, sizeof(ticks));
			continue;
		}
		k = &c->conns[tag];
		if (k->state == CONN_READING)
			conn_read(c, k, ops, arg);
		else if (k->state == CONN_WRITING)
			conn_write(c, k);
	}
	expire(c);
}

/* ---- the socket -------------------------------------------------------------- */

/* mkdir -p the directory of path; new directories are CONTROL_DIR_MODE. */
static int make_dir(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		bool last = !*p;

		if (*p && *p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, CONTROL_DIR_MODE) == 0) {
			if (chmod(dir, CONTROL_DIR_MODE)) /* not the umask's mode */
				goto fail;
		} else if (errno != EEXIST) {
			goto fail;
		}
		if (last)
			return 0;
		*p = '/';
	}
fail:
	snprintf(err, errlen, "%s: %s", dir, strerror(errno));
	return -1;
}

/* A socket already at path: refuse a live one, remove a stale one. */
static int clear_stale(const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat st;
	int fd, r;

	if (lstat(sa->sun_path, &st)) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", sa->sun_path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", sa->sun_path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (r == 0) {
		snprintf(err, errlen, "%s: another agent is listening there", sa->sun_path);
		return -1;
	}
	if (errno != ECONNREFUSED) {
		snprintf(err, errlen, "%s: %s", sa->sun_path, strerror(errno));
		return -1;
	}
	if (unlink(sa->sun_path) && errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot remove the stale socket: %s", sa->sun_path,
			 strerror(errno));
		return -1;
	}
	return 0;
}

static int listen_on(struct control *c, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->path);
	if (make_dir(c->path, err, errlen) || clear_stale(&sa, err, errlen))
		return -1;
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->lfd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* Linux gives the bound node the socket inode's mode: 0600 from the start */
	if (fchmod(c->lfd, CONTROL_SOCK_MODE) ||
	    bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa))) {
		snprintf(err, errlen, "%s: %s", c->path, strerror(errno));
		return -1;
	}
	if (chmod(c->path, CONTROL_SOCK_MODE) || stat(c->path, &st) ||
	    listen(c->lfd, CONTROL_BACKLOG)) {
		snprintf(err, errlen, "%s: %s", c->path, strerror(errno));
		(void)unlink(c->path);
		return -1;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	return 0;
}

int control__default_path(const char *pin_path, char *buf, size_t len)
{
	const char *base = pin_path ? strrchr(pin_path, '/') : NULL;
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path);
	int n;

	base = base ? base + 1 : pin_path;
	if (!base || !*base || !strcmp(base, ".") || !strcmp(base, ".."))
		base = "ward";
	n = snprintf(buf, len, "%s/%s.sock", CONTROL_RUN_DIR, base);
	return n < 0 || (size_t)n >= len || (size_t)n >= max ? -ENAMETOOLONG : 0;
}

struct control *control__open(const char *path, char *err, size_t errlen)
{
	struct control *c;

	if (!path || path[0] != '/' ||
	    strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errlen, "control socket: an absolute path of at most %zu bytes",
			 sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->lfd = c->epfd = c->tfd = -1;
	for (size_t i = 0; i < CONTROL_MAX_CONNS; i++)
		c->conns[i].fd = -1;
	c->path = strdup(path);
	if (!c->path) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->epfd < 0 || c->tfd < 0) {
		snprintf(err, errlen, "epoll/timerfd: %s", strerror(errno));
		goto fail;
	}
	if (listen_on(c, err, errlen))
		goto fail;
	if (ep_set(c, EPOLL_CTL_ADD, c->lfd, EPOLLIN, TAG_LISTEN) ||
	    ep_set(c, EPOLL_CTL_ADD, c->tfd, EPOLLIN, TAG_TIMER)) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		(void)unlink(c->path);
		goto fail;
	}
	c->accepting = true;
	return c;
fail:
	c->dev = 0;
	c->ino = 0;
	if (c->lfd >= 0)
		close(c->lfd);
	c->lfd = -1;
	control__close(c);
	return NULL;
}

int control__fd(struct control *c)
{
	return c ? c->epfd : -1;
}

const struct control_peer *control__peer(const struct control *c)
{
	return c ? c->cur : NULL;
}

void control__close(struct control *c)
{
	struct stat st;

	if (!c)
		return;
	for (size_t i = 0; i < CONTROL_MAX_CONNS; i++)
		conn_close(c, &c->conns[i]);
	if (c->lfd >= 0) {
		close(c->lfd);
		/* a newer agent may have taken the path over: leave its socket */
		if (c->path && !stat(c->path, &st) && st.st_dev == c->dev && st.st_ino == c->ino)
			(void)unlink(c->path);
	}
	if (c->tfd >= 0)
		close(c->tfd);
	if (c->epfd >= 0)
		close(c->epfd);
	free(c->path);
	free(c);
}
