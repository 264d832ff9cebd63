// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * JSON-lines sinks: a file (rotated by rename, rotated files gzipped) and
 * stdout. Lines are appended to a userspace buffer and written when it is
 * full and on every tick, so the writer thread makes one write(2) per
 * ~256 KiB rather than one per record.
 *
 * Rotation: path.N(.gz) shift up, path -> path.1 (after its last buffered
 * line is written), a new path is opened at once; then a helper thread
 * compresses path.1 into path.1.gz.tmp and renames it over path.1.gz,
 * so a shipper never sees a half-written .gz and the writer never waits
 * for zlib (only for the previous compression, at the next rotation).
 * Never copytruncate: a line is in exactly one file.
 *
 * Counts: a record is counted written once write(2) took the last byte of
 * its line, never before, so `written` (ward_records_written_total) only
 * grows. The pipeline counts a record written when write() returns 0: for
 * a line that is only buffered, fs_write takes that count back at once
 * and fs_flush gives it when the line is in the file.
 *
 * Failure (ENOSPC, EIO): what could not be written stays buffered and is
 * retried on the next record; a record that finds the buffer full is
 * refused (counted lost by the pipeline). What a tick still cannot write
 * is given up: its records are counted lost, and only lost (so the
 * pipeline reports them within a second or two, and its counts are final
 * at close), and a partly written line is cut off the file, so written +
 * lost is exact and every line in the file is whole. The pipeline's own
 * LOST lines are kept, before records if the buffer is full, and written
 * once there is room: they are what tells a reader of the file that
 * records are missing. The next records try again.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "log.h"
#include "record.h"

#define FS_BUF (256 * 1024) /* bytes buffered before a write(2)             */
#define FS_GZ_MODE "wb3" /* zlib level 3: 250 MB/s, 11x on JSON lines here (6: 130 MB/s, 15x) */

struct file_sink {
	struct sink s; /* first: the pipeline only knows this */
	int fd;        /* -1 while the file cannot be opened    */
	bool own_fd;   /* false for stdout                      */
	char *path;    /* NULL for stdout                       */
	uint64_t max_bytes, max_age_ms;
	unsigned keep;
	bool gzip;

	char *buf;         /* whole lines, the first one maybe partly in the file  */
	size_t len, cap;
	size_t head_done;  /* bytes of the first buffered line already in the file */
	uint64_t nlines;   /* lines in buf                                          */
	size_t *meta_end;  /* where each of the pipeline's LOST lines in buf ends   */
	size_t nmeta, meta_cap;
	uint64_t size;     /* bytes in the live file                                */
	uint64_t born_ms;  /* when the live file was started, for max_age           */
	bool failing;      /* a write failed and has not succeeded since (log once) */

	pthread_t gz_thread;
	bool gz_running;
	char *gz_src; /* path.1 being compressed */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static char *path_n(const char *path, unsigned n, bool gz)
{
	char *p;

	if (asprintf(&p, "%s.%u%s", path, n, gz ? ".gz" : "") < 0)
		return NULL;
	return p;
}

static bool exists(const char *p)
{
	struct stat st;

	return p && !lstat(p, &st);
}

/* ---- writing --------------------------------------------------------------------- */

static void fs_error(struct file_sink *f, const char *what, int err)
{
	if (!f->failing)
		pr_warn("flow records: %s: %s %s: %s (records are buffered, then counted lost)\n",
			f->s.name, what, f->path ? f->path : "stdout", strerror(err));
	f->failing = true;
}

static uint64_t count_lines(const char *p, size_t len)
{
	const char *end = p + len;
	uint64_t n = 0;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p)))) {
		n++;
		p++;
	}
	return n;
}

/* The first `done` bytes of the buffer, whole lines, are in the file: its
 * records count written now (the pipeline counted its LOST lines when it
 * handed them over) and the lines leave the buffer. */
static void fs_written(struct file_sink *f, size_t done)
{
	uint64_t lines = done == f->len ? f->nlines : count_lines(f->buf, done);
	size_t m = 0;

	while (m < f->nmeta && f->meta_end[m] <= done)
		m++;
	f->s.written += lines - m;
	f->nlines -= lines;
	f->nmeta -= m;
	for (size_t i = 0; i < f->nmeta; i++)
		f->meta_end[i] = f->meta_end[m + i] - done;
	memmove(f->buf, f->buf + done, f->len - done);
	f->len -= done;
}

/* Write out the buffer; 0 when it is empty afterwards. What a failure
 * leaves is kept, with head_done saying how much of its first line the
 * file already has. */
static int fs_flush(struct file_sink *f)
{
	size_t off = f->head_done, done;
	const char *nl;

	if (!f->len)
		return 0;
	if (f->fd < 0)
		return -1;
	while (off < f->len) {
		ssize_t n = write(f->fd, f->buf + off, f->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fs_error(f, "write", n < 0 ? errno : EIO);
			break;
		}
		off += (size_t)n;
		f->size += (size_t)n;
	}
	/* the lines up to the last '\n' written are whole in the file */
	nl = off ? memrchr(f->buf, '\n', off) : NULL;
	done = nl ? (size_t)(nl + 1 - f->buf) : 0;
	if (done)
		fs_written(f, done);
	f->head_done = off - done;
	if (f->len)
		return -1;
	if (f->failing)
		pr_info("flow records: %s: writing again\n", f->s.name);
	f->failing = false;
	return 0;
}

/* Give up the records still buffered: count them lost (only lost: they
 * were never counted written) and cut a partly written line off the file.
 * The pipeline's LOST lines stay for the next try, and so does a line
 * partly in a file that cannot be cut (stdout): its rest must follow. */
static void fs_drop_buffer(struct file_sink *f)
{
	size_t at = 0, keep = 0, m = 0, nm = 0;
	uint64_t kept = 0;

	if (f->head_done && f->fd >= 0 && f->path && !ftruncate(f->fd, (off_t)(f->size - f->head_done))) {
		f->size -= f->head_done;
		f->head_done = 0;
	}
	while (at < f->len) {
		const char *nl = memchr(f->buf + at, '\n', f->len - at);
		size_t end = nl ? (size_t)(nl + 1 - f->buf) : f->len;
		bool meta = m < f->nmeta && f->meta_end[m] == end;

		m += meta;
		if (meta || (!at && f->head_done)) {
			memmove(f->buf + keep, f->buf + at, end - at);
			keep += end - at;
			if (meta)
				f->meta_end[nm++] = keep;
			kept++;
		} else {
			f->s.lost++;
		}
		at = end;
	}
	f->len = keep;
	f->nlines = kept;
	f->nmeta = nm;
}

/* ---- the live file ------------------------------------------------------------------ */

/* Created files are 0640 whatever the umask: records name hosts and rules. */
static int open_0640(const char *path, int flags)
{
	int fd = open(path, flags | O_CREAT | O_EXCL | O_CLOEXEC, 0640);

	if (fd >= 0) {
		if (fchmod(fd, 0640))
			pr_debug("flow records: chmod %s: %s\n", path, strerror(errno));
		return fd;
	}
	if (errno != EEXIST || (flags & O_TRUNC))
		return -1;
	return open(path, flags | O_CLOEXEC);
}

static int fs_open_live(struct file_sink *f)
{
	struct statx stx;
	struct stat st;
	int err;

	f->fd = open_0640(f->path, O_WRONLY | O_APPEND);
	if (f->fd < 0) {
		err = errno;
		fs_error(f, "open", err);
		return -err;
	}
	f->size = fstat(f->fd, &st) ? 0 : (uint64_t)st.st_size;
	f->born_ms = now_ms();
	/* An existing file is as old as its birth, so restarts do not defer
	 * age rotation forever. */
	if (f->size && !statx(f->fd, "", AT_EMPTY_PATH, STATX_BTIME, &stx) &&
	    (stx.stx_mask & STATX_BTIME))
		f->born_ms = (uint64_t)stx.stx_btime.tv_sec * 1000 + stx.stx_btime.tv_nsec / 1000000;
	return 0;
}

/* ---- compression of rotated files ------------------------------------------------- */

/* src -> src.gz through src.gz.tmp, synced, renamed, then src removed. */
static int gz_file(const char *src)
{
	char *dst = NULL, *tmp = NULL, *buf = NULL;
	int in = -1, out = -1, ret = -1;
	gzFile gz = NULL;
	ssize_t n;

	if (asprintf(&dst, "%s.gz", src) < 0 || asprintf(&tmp, "%s.gz.tmp", src) < 0)
		goto out;
	buf = malloc(FS_BUF);
	in = open(src, O_RDONLY | O_CLOEXEC);
	unlink(tmp);
	out = open_0640(tmp, O_WRONLY);
	if (!buf || in < 0 || out < 0)
		goto out;
	gz = gzdopen(dup(out), FS_GZ_MODE);
	if (!gz || gzbuffer(gz, FS_BUF))
		goto out;
	while ((n = read(in, buf, FS_BUF)) > 0)
		if (gzwrite(gz, buf, (unsigned)n) != (int)n)
			goto out;
	if (n < 0)
		goto out;
	ret = gzclose(gz) == Z_OK ? 0 : -1;
	gz = NULL;
	if (!ret && !fdatasync(out) && !rename(tmp, dst) && !unlink(src))
		ret = 0;
	else
		ret = -1;
out:
	if (ret)
		pr_warn("flow records: gzip %s: %s (left uncompressed)\n", src, strerror(errno));
	if (gz)
		gzclose(gz);
	if (ret && tmp)
		unlink(tmp);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	free(buf);
	free(dst);
	free(tmp);
	return ret;
}

static void *gz_main(void *arg)
{
	gz_file(arg);
	return NULL;
}

static void gz_wait(struct file_sink *f)
{
	if (!f->gz_running)
		return;
	pthread_join(f->gz_thread, NULL);
	f->gz_running = false;
	free(f->gz_src);
	f->gz_src = NULL;
}

/* Off the writer thread; if a thread cannot be had, compress inline. */
static void gz_start(struct file_sink *f, char *src)
{
	f->gz_src = src;
	if (!pthread_create(&f->gz_thread, NULL, gz_main, src)) {
		f->gz_running = true;
		return;
	}
	gz_file(src);
	free(src);
	f->gz_src = NULL;
}

/* ---- rotation ----------------------------------------------------------------------- */

static void rename_n(const char *path, unsigned from, unsigned to)
{
	for (int gz = 0; gz < 2; gz++) {
		char *a = path_n(path, from, gz), *b = path_n(path, to, gz);

		if (a && b && exists(a) && rename(a, b))
			pr_warn("flow records: rename %s: %s\n", a, strerror(errno));
		free(a);
		free(b);
	}
}

static void unlink_n(const char *path, unsigned n)
{
	for (int gz = 0; gz < 2; gz++) {
		char *a = path_n(path, n, gz);

		if (a && exists(a) && unlink(a))
			pr_warn("flow records: unlink %s: %s\n", a, strerror(errno));
		free(a);
	}
}

static bool index_exists(const char *path, unsigned n)
{
	char *a = path_n(path, n, false), *b = path_n(path, n, true);
	bool ret = exists(a) || exists(b);

	free(a);
	free(b);
	return ret;
}

static void fs_rotate(struct file_sink *f)
{
	unsigned top = 0;
	char *one;

	if (fs_flush(f) || f->fd < 0)
		return; /* a line would be split across files: retry later */
	gz_wait(f);
	while (index_exists(f->path, top + 1))
		top++;
	if (f->keep) {
		for (unsigned i = f->keep; i <= top; i++)
			unlink_n(f->path, i);
		if (top >= f->keep)
			top = f->keep - 1;
	}
	for (unsigned i = top; i >= 1; i--)
		rename_n(f->path, i, i + 1);
	one = path_n(f->path, 1, false);
	if (!one || rename(f->path, one)) {
		int err = one ? errno : ENOMEM;

		free(one);
		if (err != ENOENT) {
			fs_error(f, "rotate", err);
			return;
		}
		/* removed under us: start a new file rather than fill a deleted one */
		close(f->fd);
		fs_open_live(f);
		return;
	}
	close(f->fd);
	fs_open_live(f);
	if (f->gzip)
		gz_start(f, one);
	else
		free(one);
}

/* A crash between the steps of a rotation leaves path.1 next to, or
 * instead of, path.1.gz: finish the job. */
static void fs_recover(struct file_sink *f)
{
	char *one = path_n(f->path, 1, false), *gz = path_n(f->path, 1, true), *tmp = NULL;

	if (one && asprintf(&tmp, "%s.gz.tmp", one) >= 0)
		unlink(tmp);
	if (f->gzip && exists(one)) {
		if (exists(gz)) {
			unlink(one); /* the .gz was renamed in place: it is whole */
		} else {
			gz_start(f, one);
			one = NULL;
		}
	}
	free(one);
	free(gz);
	free(tmp);
}

/* ---- sink operations -------------------------------------------------------------- */

static bool fs_grow(struct file_sink *f, size_t need)
{
	char *nb = realloc(f->buf, need);

	if (!nb)
		return false;
	f->buf = nb;
	f->cap = need;
	return true;
}

/* Note where a LOST line ends in the buffer; false without memory. */
static bool fs_note_meta(struct file_sink *f, size_t end)
{
	if (f->nmeta == f->meta_cap) {
		size_t cap = f->meta_cap ? 2 * f->meta_cap : 16;
		size_t *n = realloc(f->meta_end, cap * sizeof(*n));

		if (!n)
			return false;
		f->meta_end = n;
		f->meta_cap = cap;
	}
	f->meta_end[f->nmeta++] = end;
	return true;
}

static int fs_write(struct sink *s, const struct flow_record *r, const char *json, size_t len)
{
	struct file_sink *f = (struct file_sink *)s;
	size_t need = len + 1, pending = f->size + f->len - f->head_done;
	bool meta = r->kind == REC_LOST;

	if (f->path && f->max_bytes && pending && pending + need > f->max_bytes)
		fs_rotate(f);
	if (f->cap - f->len < need) {
		fs_flush(f);
		/* A LOST line takes the place of the records the file cannot
		 * take: they are given up now (the next LOST line counts them),
		 * so the file keeps saying what it misses. */
		if (meta && f->cap - f->len < need)
			fs_drop_buffer(f);
		if (f->cap - f->len < need && (f->len || !fs_grow(f, need)))
			return -1;
	}
	if (meta && !fs_note_meta(f, f->len + need))
		return -1;
	memcpy(f->buf + f->len, json, len);
	f->buf[f->len + len] = '\n';
	f->len += need;
	f->nlines++;
	/* The caller counts the record written when we return: a record is
	 * written only once fs_flush has it in the file (unsigned arithmetic,
	 * so this undoes the caller's increment even from 0). A LOST line
	 * counts at once: fs_drop_buffer keeps it (only a close on a full
	 * disk gives it up). */
	if (!meta)
		f->s.written--;
	return 0;
}

static void fs_tick(struct sink *s, uint64_t now)
{
	struct file_sink *f = (struct file_sink *)s;

	if (f->path && f->fd < 0)
		fs_open_live(f);
	/* Lines wait at most a tick for a failing file: then they are counted
	 * lost, so the loss is reported now, and final when the pipeline closes. */
	if (fs_flush(f))
		fs_drop_buffer(f);
	if (f->path && f->max_age_ms && f->size && now >= f->born_ms + f->max_age_ms)
		fs_rotate(f);
}

static void fs_close(struct sink *s)
{
	struct file_sink *f = (struct file_sink *)s;

	if (fs_flush(f))
		fs_drop_buffer(f);
	gz_wait(f);
	if (f->own_fd && f->fd >= 0)
		close(f->fd);
	free(f->meta_end);
	free(f->buf);
	free(f->path);
	free(f);
}

/* Reload (SIGHUP): the file again by its name, for logrotate's
 * create/postrotate. Refused while a line would be split across files. */
static int fs_reopen(struct sink *s)
{
	struct file_sink *f = (struct file_sink *)s;

	if (fs_flush(f))
		return -1;
	if (f->fd >= 0)
		close(f->fd);
	return fs_open_live(f) ? -1 : 0;
}

static const struct sink_ops file_ops = {
	.kind = "file", .write = fs_write, .tick = fs_tick, .reload = fs_reopen, .close = fs_close,
};
static const struct sink_ops stdout_ops = {
	.kind = "stdout", .write = fs_write, .tick = fs_tick, .close = fs_close,
};

static struct file_sink *fs_new(const struct sink_ops *ops, enum rec_format fmt)
{
	struct file_sink *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->buf = malloc(FS_BUF);
	if (!f->buf) {
		free(f);
		return NULL;
	}
	f->cap = FS_BUF;
	f->fd = -1;
	f->s.ops = ops;
	f->s.format = fmt;
	return f;
}

/* The directory of path, created 0750 (one level: /var/log/ward, say). */
static int make_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -1;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return -1;
	*slash = '\0';
	return mkdir(dir, 0750) && errno != EEXIST ? -1 : 0;
}

struct sink *sink_file_open(const struct file_sink_opts *o, enum rec_format fmt)
{
	struct file_sink *f;
	int err;

	if (!o || !o->path || !o->path[0]) {
		errno = EINVAL;
		return NULL;
	}
	f = fs_new(&file_ops, fmt);
	if (!f)
		return NULL;
	f->path = strdup(o->path);
	f->own_fd = true;
	f->max_bytes = o->max_bytes;
	f->max_age_ms = o->max_age_s * 1000;
	f->keep = o->keep;
	f->gzip = o->gzip;
	snprintf(f->s.name, sizeof(f->s.name), "file:%s", o->path);
	if (!f->path) {
		fs_close(&f->s);
		return NULL;
	}
	f->failing = true; /* the caller reports a failure to open */
	err = fs_open_live(f);
	if (err == -ENOENT && !make_parent(f->path))
		err = fs_open_live(f); /* a first start: the log directory is new */
	f->failing = false;
	if (err) {
		fs_close(&f->s);
		errno = -err;
		return NULL;
	}
	fs_recover(f);
	return &f->s;
}

struct sink *sink_stdout_open(enum rec_format fmt)
{
	struct file_sink *f = fs_new(&stdout_ops, fmt);

	if (!f)
		return NULL;
	f->fd = STDOUT_FILENO;
	snprintf(f->s.name, sizeof(f->s.name), "stdout");
	return &f->s;
}
