// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The policy file's changes through inotify. The directory is watched, not
 * the file: editors and config management replace files by rename, which
 * a watch on the old inode would never see. A file that is a symlink into
 * a subdirectory (a Kubernetes ConfigMap volume: policy.json ->
 * ..data/policy.json, ..data -> ..2026_11_28...) changes when the first
 * component of its target is swapped: that name is watched too.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include "watch.h"

struct filewatch {
	int fd;
	char name[NAME_MAX + 1]; /* the file's name in its directory */
	char link[NAME_MAX + 1]; /* first component of its symlink's target, or "" */
};

/* policy.json -> ..data/policy.json: "..data" */
static void link_head(const char *path, char *out, size_t len)
{
	char target[PATH_MAX];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	char *slash;

	out[0] = '\0';
	if (n <= 0)
		return;
	target[n] = '\0';
	slash = strchr(target, '/');
	if (target[0] == '/' || !slash)
		return; /* absolute, or in the same directory: the name itself changes */
	*slash = '\0';
	snprintf(out, len, "%s", target);
}

struct filewatch *filewatch__new(const char *path)
{
	char dir[PATH_MAX], base[PATH_MAX];
	struct filewatch *w;

	if (strlen(path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(base, sizeof(base), "%s", path);
	snprintf(w->name, sizeof(w->name), "%s", basename(base));
	link_head(path, w->link, sizeof(w->link));
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0 || inotify_add_watch(w->fd, dirname(dir), IN_CLOSE_WRITE | IN_MOVED_TO |
							     IN_CREATE | IN_DELETE) < 0) {
		int err = errno;

		filewatch__free(w);
		errno = err;
		return NULL;
	}
	return w;
}

int filewatch__fd(const struct filewatch *w)
{
	return w->fd;
}

bool filewatch__changed(struct filewatch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool hit = false;
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *e = (const struct inotify_event *)p;

			if (e->len && (!strcmp(e->name, w->name) ||
				       (w->link[0] && !strcmp(e->name, w->link))))
				hit = true;
			if (e->mask & IN_Q_OVERFLOW)
				hit = true; /* events lost: look again to be sure */
			p += sizeof(*e) + e->len;
		}
	}
	return hit;
}

void filewatch__free(struct filewatch *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}
