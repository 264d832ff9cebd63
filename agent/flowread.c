// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flow records read back. A day of a busy node is ~10^7 lines of ~1.2 KB,
 * so a line is not built into a JSON tree: a small scanner walks it once,
 * keeps the dozen fields that name the flow and its verdict, and skips every
 * other value by its brackets. Files are read through zlib's gzread, which
 * reads plain files as they are and gzip files (rotated PATH.N.gz) inflated.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include "flowread.h"
#include "hash.h"
#include "loader.h"
#include "log.h"
#include "pktgen.h"

/* ---- a JSON scanner for one line ---------------------------------------------- */

struct jp {
	const char *p, *e;
};

static void ws(struct jp *j)
{
	while (j->p < j->e && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
		j->p++;
}

/* At a '"': the raw contents (escapes left in) and past the closing quote. */
static int jstr(struct jp *j, const char **s, size_t *n)
{
	const char *q = j->p + 1;

	for (;;) {
		const char *c = memchr(q, '"', j->e - q);
		const char *b = c;

		if (!c)
			return -1;
		while (b > j->p + 1 && b[-1] == '\\')
			b--;
		if (((c - b) & 1) == 0) { /* an even run of backslashes: the end */
			*s = j->p + 1;
			*n = c - (j->p + 1);
			j->p = c + 1;
			return 0;
		}
		q = c + 1;
	}
}

static int jskip(struct jp *j)
{
	const char *s;
	size_t n;
	int depth = 0;

	ws(j);
	if (j->p >= j->e)
		return -1;
	if (*j->p == '"')
		return jstr(j, &s, &n);
	if (*j->p != '{' && *j->p != '[') {
		while (j->p < j->e && *j->p != ',' && *j->p != '}' && *j->p != ']')
			j->p++;
		return 0;
	}
	while (j->p < j->e) {
		switch (*j->p) {
		case '"':
			if (jstr(j, &s, &n))
				return -1;
			continue;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (--depth == 0) {
				j->p++;
				return 0;
			}
			break;
		}
		j->p++;
	}
	return -1;
}

/* An integer (a number's integer part; a string of digits too, as ECS's
 * network.iana_number). 1 when the value is no number (skipped), -1 on a
 * syntax error. */
static int jint(struct jp *j, int64_t *v)
{
	const char *s;
	size_t n, i = 0;
	int64_t x = 0;
	bool neg;

	ws(j);
	if (j->p >= j->e)
		return -1;
	if (*j->p == '{' || *j->p == '[')
		return jskip(j) ? -1 : 1;
	if (*j->p == '"') {
		if (jstr(j, &s, &n))
			return -1;
	} else {
		s = j->p;
		while (j->p < j->e && *j->p != ',' && *j->p != '}' && *j->p != ']' && *j->p != ' ')
			j->p++;
		n = j->p - s;
	}
	neg = n && s[0] == '-';
	i = neg;
	if (i >= n || s[i] < '0' || s[i] > '9')
		return 1;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		x = x * 10 + (s[i] - '0');
	*v = neg ? -x : x;
	return 0;
}

/* A string value into buf (escapes kept but for \" and \\). */
static int jtext(struct jp *j, char *buf, size_t len)
{
	const char *s;
	size_t n, o = 0;

	ws(j);
	if (j->p >= j->e || *j->p != '"')
		return jskip(j) ? -1 : 1;
	if (jstr(j, &s, &n))
		return -1;
	for (size_t i = 0; i < n && o + 1 < len; i++) {
		if (s[i] == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\'))
			i++;
		buf[o++] = s[i];
	}
	buf[o] = 0;
	return 0;
}

/* The fields kept, by where they are. */
enum fid {
	F_NONE = 0,
	/* containers */
	F_METADATA, F_SRC, F_DST, F_CONN, F_TRAFFIC, F_RULE, F_UNMAPPED,
	F_E_EVENT, F_E_SOURCE, F_E_DEST, F_E_NETWORK, F_E_RULE, F_E_WARD,
	F_CONTAINERS,
	/* OCSF leaves */
	F_CLASS, F_ACTIVITY, F_ACTION, F_TIME, F_START, F_END, F_COUNT, F_EVENT_CODE,
	F_SRC_IP, F_SRC_PORT, F_DST_IP, F_DST_PORT, F_PROTO, F_DIR, F_TCP_FLAGS, F_PACKETS,
	F_BYTES, F_RULE_UID, F_ICMP_TYPE,
	/* ECS leaves */
	F_E_TIMESTAMP, F_E_ACTION, F_E_START, F_E_END, F_E_TYPE, F_E_REASON, F_E_DIRECTION,
};

#define FIELD(parent, name, id) { parent, name, sizeof(name) - 1, id }
static const struct field {
	enum fid parent;
	const char *name;
	size_t len;
	enum fid id;
} fields[] = {
	FIELD(F_NONE, "class_uid", F_CLASS),
	FIELD(F_NONE, "activity_id", F_ACTIVITY),
	FIELD(F_NONE, "action_id", F_ACTION),
	FIELD(F_NONE, "time", F_TIME),
	FIELD(F_NONE, "start_time", F_START),
	FIELD(F_NONE, "end_time", F_END),
	FIELD(F_NONE, "count", F_COUNT),
	FIELD(F_NONE, "metadata", F_METADATA),
	FIELD(F_NONE, "src_endpoint", F_SRC),
	FIELD(F_NONE, "dst_endpoint", F_DST),
	FIELD(F_NONE, "connection_info", F_CONN),
	FIELD(F_NONE, "traffic", F_TRAFFIC),
	FIELD(F_NONE, "firewall_rule", F_RULE),
	FIELD(F_NONE, "unmapped", F_UNMAPPED),
	FIELD(F_METADATA, "event_code", F_EVENT_CODE),
	FIELD(F_SRC, "ip", F_SRC_IP),
	FIELD(F_SRC, "port", F_SRC_PORT),
	FIELD(F_DST, "ip", F_DST_IP),
	FIELD(F_DST, "port", F_DST_PORT),
	FIELD(F_CONN, "protocol_num", F_PROTO),
	FIELD(F_CONN, "direction_id", F_DIR),
	FIELD(F_CONN, "tcp_flags", F_TCP_FLAGS),
	FIELD(F_TRAFFIC, "packets", F_PACKETS),
	FIELD(F_TRAFFIC, "bytes", F_BYTES),
	FIELD(F_RULE, "uid", F_RULE_UID),
	FIELD(F_UNMAPPED, "icmp_type", F_ICMP_TYPE),
	/* ECS */
	FIELD(F_NONE, "@timestamp", F_E_TIMESTAMP),
	FIELD(F_NONE, "event", F_E_EVENT),
	FIELD(F_NONE, "source", F_E_SOURCE),
	FIELD(F_NONE, "destination", F_E_DEST),
	FIELD(F_NONE, "network", F_E_NETWORK),
	FIELD(F_NONE, "rule", F_E_RULE),
	FIELD(F_NONE, "ward", F_E_WARD),
	FIELD(F_E_EVENT, "action", F_E_ACTION),
	FIELD(F_E_EVENT, "start", F_E_START),
	FIELD(F_E_EVENT, "end", F_E_END),
	FIELD(F_E_EVENT, "type", F_E_TYPE),
	FIELD(F_E_EVENT, "reason", F_E_REASON),
	FIELD(F_E_SOURCE, "ip", F_SRC_IP),
	FIELD(F_E_SOURCE, "port", F_SRC_PORT),
	FIELD(F_E_DEST, "ip", F_DST_IP),
	FIELD(F_E_DEST, "port", F_DST_PORT),
	FIELD(F_E_NETWORK, "iana_number", F_PROTO),
	FIELD(F_E_NETWORK, "direction", F_E_DIRECTION),
	FIELD(F_E_NETWORK, "bytes", F_BYTES),
	FIELD(F_E_NETWORK, "packets", F_PACKETS),
	FIELD(F_E_RULE, "id", F_RULE_UID),
	FIELD(F_E_WARD, "count", F_COUNT),
	FIELD(F_E_WARD, "records_lost", F_COUNT),
	FIELD(F_E_WARD, "tcp_flags", F_TCP_FLAGS),
	FIELD(F_E_WARD, "icmp_type", F_ICMP_TYPE),
};

static enum fid field_of(enum fid parent, const char *k, size_t n)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i].len == n && fields[i].parent == parent && !memcmp(fields[i].name, k, n))
			return fields[i].id;
	return F_NONE;
}

/* What a line said, before it is turned into a flow_rec. */
struct raw {
	int64_t class_uid, activity, action, dir;
	char code[24], e_action[24], e_type[64], e_reason[16], e_dir[12];
	bool ecs, revoked_type;
};

static int addr_of(const char *text, struct flow_rec *r, uint8_t *addr)
{
	uint8_t fam;

	if (pktgen_addr(text, &fam, addr))
		return -1;
	if (r->family && r->family != fam)
		return -1;
	r->family = fam;
	return 0;
}

/* "2025-01-01T00:00:00.000Z" (ECS) as epoch ms; 0 when it is not that. */
static uint64_t iso_ms(const char *s)
{
	int y, mo, d, h, mi, sec, ms = 0, n = 0;
	long days;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
		return 0;
	if (s[n] == '.')
		ms = atoi(s + n + 1);
	/* days from civil (Howard Hinnant) */
	y -= mo <= 2;
	{
		long era = (y >= 0 ? y : y - 399) / 400;
		unsigned yoe = (unsigned)(y - era * 400);
		unsigned doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
		unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

		days = era * 146097 + (long)doe - 719468;
	}
	return (((uint64_t)days * 24 + h) * 60 + mi) * 60000ull + sec * 1000ull + ms;
}

static int leaf(struct jp *j, enum fid id, struct flow_rec *r, struct raw *w)
{
	char text[64];
	int64_t v = -1;
	int err;

	switch (id) {
	case F_SRC_IP:
	case F_DST_IP:
		err = jtext(j, text, sizeof(text));
		if (!err && addr_of(text, r, id == F_SRC_IP ? r->src : r->dst))
			r->family = 0xff; /* mixed or bad: no flow */
		return err < 0 ? -1 : 0;
	case F_EVENT_CODE:
		return jtext(j, w->code, sizeof(w->code)) < 0 ? -1 : 0;
	case F_RULE_UID:
		return jtext(j, r->rule, sizeof(r->rule)) < 0 ? -1 : 0;
	case F_E_ACTION:
		w->ecs = true;
		return jtext(j, w->e_action, sizeof(w->e_action)) < 0 ? -1 : 0;
	case F_E_REASON:
		return jtext(j, w->e_reason, sizeof(w->e_reason)) < 0 ? -1 : 0;
	case F_E_DIRECTION:
		return jtext(j, w->e_dir, sizeof(w->e_dir)) < 0 ? -1 : 0;
	case F_E_TYPE: {
		/* ["connection","end","denied"]: a revoked close */
		const char *s = j->p;

		if (jskip(j))
			return -1;
		w->revoked_type = memmem(s, j->p - s, "\"denied\"", 8) != NULL;
		return 0;
	}
	case F_E_TIMESTAMP:
	case F_E_START:
	case F_E_END:
		w->ecs = true;
		if ((err = jtext(j, text, sizeof(text))))
			return err < 0 ? -1 : 0;
		v = iso_ms(text);
		if (id == F_E_TIMESTAMP)
			r->time_ms = v;
		else if (id == F_E_START)
			r->start_ms = v;
		else
			r->end_ms = v;
		return 0;
	default:
		break;
	}
	if ((err = jint(j, &v)))
		return err < 0 ? -1 : 0;
	switch (id) {
	case F_CLASS: w->class_uid = v; break;
	case F_ACTIVITY: w->activity = v; break;
	case F_ACTION: w->action = v; break;
	case F_TIME: r->time_ms = v; break;
	case F_START: r->start_ms = v; break;
	case F_END: r->end_ms = v; break;
	case F_COUNT: r->count = v; break;
	case F_SRC_PORT: r->sport = v; break;
	case F_DST_PORT: r->dport = v; break;
	case F_PROTO: r->proto = v; break;
	case F_DIR: w->dir = v; break;
	case F_TCP_FLAGS: r->tcp_flags = v; break;
	case F_PACKETS: r->packets = v; break;
	case F_BYTES: r->bytes = v; break;
	case F_ICMP_TYPE: r->icmp_type = v; break;
	default: break;
	}
	return 0;
}

static int object(struct jp *j, enum fid parent, struct flow_rec *r, struct raw *w)
{
	ws(j);
	if (j->p >= j->e || *j->p != '{')
		return -1;
	j->p++;
	for (;;) {
		const char *k;
		size_t n;
		enum fid id;

		ws(j);
		if (j->p < j->e && *j->p == '}') {
			j->p++;
			return 0;
		}
		if (j->p >= j->e || *j->p != '"' || jstr(j, &k, &n))
			return -1;
		ws(j);
		if (j->p >= j->e || *j->p != ':')
			return -1;
		j->p++;
		ws(j);
		id = n ? field_of(parent, k, n) : F_NONE;
		if (id == F_NONE) {
			if (jskip(j))
				return -1;
		} else if (id < F_CONTAINERS) {
			if (j->p < j->e && *j->p == '{') {
				if (object(j, id, r, w))
					return -1;
			} else if (jskip(j)) {
				return -1;
			}
		} else if (leaf(j, id, r, w)) {
			return -1;
		}
		ws(j);
		if (j->p < j->e && *j->p == ',')
			j->p++;
	}
}

static enum fr_kind ocsf_kind(const struct raw *w)
{
	static const struct {
		const char *code;
		enum fr_kind kind;
	} codes[] = {
		{ "open", FR_OPEN },	   { "close", FR_CLOSE },   { "traffic", FR_TRAFFIC },
		{ "refuse", FR_REFUSE },   { "audit", FR_AUDIT },   { "rate_limit", FR_RATE_LIMIT },
		{ "lost", FR_LOST },
	};

	if (w->class_uid != 4001)
		return FR_OTHER;
	if (w->activity == 99)
		return FR_LOST;
	if (w->activity == 3)
		return FR_RESET;
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (!strcmp(w->code, codes[i].code))
			return codes[i].kind;
	switch (w->activity) { /* no event code: by activity and action */
	case 1: return FR_OPEN;
	case 2: return FR_CLOSE;
	case 5: return FR_REFUSE;
	case 6: return w->action == FR_ACT_OBSERVED ? FR_AUDIT : FR_TRAFFIC;
	}
	return FR_OTHER;
}

static enum fr_kind ecs_kind(const struct raw *w)
{
	static const struct {
		const char *action;
		enum fr_kind kind;
	} actions[] = {
		{ "flow-open", FR_OPEN },	{ "flow-close", FR_CLOSE },
		{ "flow-traffic", FR_TRAFFIC }, { "flow-refuse", FR_REFUSE },
		{ "audit-would-deny", FR_AUDIT }, { "rate-limit", FR_RATE_LIMIT },
		{ "records-lost", FR_LOST },
	};

	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (!strcmp(w->e_action, actions[i].action)) {
			if (actions[i].kind == FR_CLOSE &&
			    (w->revoked_type || !strcmp(w->e_reason, "revoked")))
				return FR_RESET;
			return actions[i].kind;
		}
	return FR_OTHER;
}

int flow_rec__parse(const char *line, size_t len, struct flow_rec *r)
{
	struct jp j = { line, line + len };
	struct raw w = { .class_uid = -1, .activity = -1, .action = -1, .dir = -1 };

	memset(r, 0, sizeof(*r));
	r->tcp_flags = r->sport = r->dport = r->icmp_type = -1;
	if (object(&j, F_NONE, r, &w))
		return -1;
	if (w.ecs) {
		r->kind = ecs_kind(&w);
		r->dir = !strcmp(w.e_dir, "egress") ? WARD_DIR_EGRESS : WARD_DIR_INGRESS;
		switch (r->kind) {
		case FR_REFUSE:
		case FR_RESET:
		case FR_RATE_LIMIT:
			r->action = FR_ACT_DENIED;
			break;
		case FR_AUDIT:
			r->action = FR_ACT_OBSERVED;
			break;
		default:
			r->action = FR_ACT_ALLOWED;
		}
	} else {
		r->kind = ocsf_kind(&w);
		r->dir = w.dir == 2 ? WARD_DIR_EGRESS : WARD_DIR_INGRESS;
		r->action = w.action >= 1 && w.action <= 3 ? w.action : 0;
		if (!r->action)
			r->action = r->kind == FR_REFUSE || r->kind == FR_RESET ? FR_ACT_DENIED
				  : r->kind == FR_AUDIT ? FR_ACT_OBSERVED : FR_ACT_ALLOWED;
	}
	if (!r->start_ms)
		r->start_ms = r->time_ms;
	if (!r->end_ms)
		r->end_ms = r->time_ms;
	if (r->family == 0xff)
		r->family = 0;
	return 0;
}

/* ---- files ---------------------------------------------------------------- */

#define FR_BUF (1u << 20)
#define FR_MAX_LINE (16u << 20)
#define FR_CHUNK (1u << 20) /* what the inflating thread hands over at once */
#define FR_NCHUNK 4

/*
 * A thread inflates (gzread) into a ring of chunks while the caller scans
 * lines: on two cores, reading a day of gzip records costs about the larger
 * of the two instead of their sum.
 */
struct chunk {
	char *data;
	int len;        /* bytes; 0 = end of file, -1 = read error */
	bool full;
};

struct flow_reader {
	gzFile gz;
	char *buf;
	size_t cap, start, end; /* unread bytes: buf[start, end) */
	bool eof, err;
	pthread_t thread;
	bool started, stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct chunk ring[FR_NCHUNK];
	unsigned head, tail; /* the thread fills ring[head % N], the reader takes ring[tail % N] */
};

static void *inflater(void *arg)
{
	struct flow_reader *r = arg;

	for (;;) {
		struct chunk *c;
		int n, e;

		pthread_mutex_lock(&r->lock);
		while (!r->stop && r->ring[r->head % FR_NCHUNK].full)
			pthread_cond_wait(&r->cond, &r->lock);
		if (r->stop) {
			pthread_mutex_unlock(&r->lock);
			return NULL;
		}
		c = &r->ring[r->head % FR_NCHUNK];
		pthread_mutex_unlock(&r->lock);
		n = gzread(r->gz, c->data, FR_CHUNK);
		if (n == 0) {
			/* a gzip cut short reads as its end: say so */
			(void)gzerror(r->gz, &e);
			if (e != Z_OK || !gzeof(r->gz)) /* Z_BUF_ERROR: cut short */
				n = -1;
		}
		pthread_mutex_lock(&r->lock);
		c->len = n < 0 ? -1 : n;
		c->full = true;
		r->head++;
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
		if (n <= 0)
			return NULL;
	}
}

struct flow_reader *flow_reader__open(const char *path)
{
	struct flow_reader *r = calloc(1, sizeof(*r));
	int fd = -1, e;

	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->cap = FR_BUF;
	r->buf = malloc(r->cap + 1);
	for (int i = 0; i < FR_NCHUNK; i++)
		if (!(r->ring[i].data = malloc(FR_CHUNK)))
			goto fail;
	if (!strcmp(path, "-"))
		fd = dup(0);
	errno = 0;
	r->gz = fd >= 0 ? gzdopen(fd, "rb") : strcmp(path, "-") ? gzopen(path, "rb") : NULL;
	if (!r->buf || !r->gz) {
		if (fd >= 0 && !r->gz)
			close(fd);
		goto fail;
	}
	gzbuffer(r->gz, 256 * 1024);
	if ((e = pthread_create(&r->thread, NULL, inflater, r))) {
		errno = e;
		goto fail;
	}
	r->started = true;
	return r;
fail:
	e = errno ? errno : ENOMEM;
	flow_reader__close(r);
	errno = e;
	return NULL;
}

static int fill(struct flow_reader *r)
{
	struct chunk *c;

	if (r->start) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	while (r->end + FR_CHUNK > r->cap) {
		char *b;

		if (r->cap >= FR_MAX_LINE)
			return -1;
		b = realloc(r->buf, 2 * r->cap + 1);
		if (!b)
			return -1;
		r->buf = b;
		r->cap *= 2;
	}
	pthread_mutex_lock(&r->lock);
	c = &r->ring[r->tail % FR_NCHUNK];
	while (!c->full)
		pthread_cond_wait(&r->cond, &r->lock);
	pthread_mutex_unlock(&r->lock);
	if (c->len <= 0) {
		r->eof = true;
		r->err = c->len < 0;
	} else {
		memcpy(r->buf + r->end, c->data, c->len);
		r->end += c->len;
	}
	pthread_mutex_lock(&r->lock);
	if (!r->eof) {
		c->full = false;
		r->tail++;
		pthread_cond_broadcast(&r->cond);
	}
	pthread_mutex_unlock(&r->lock);
	return 0;
}

ssize_t flow_reader__line(struct flow_reader *r, const char **line)
{
	for (;;) {
		char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		size_t len;

		if (nl || (r->eof && r->end > r->start)) {
			char *s = r->buf + r->start;

			len = nl ? (size_t)(nl - s) : r->end - r->start;
			s[len] = 0; /* buf has one spare byte past cap */
			r->start += len + (nl ? 1 : 0);
			*line = s;
			if (len == 0)
				continue;
			return len;
		}
		if (r->eof)
			return r->err ? -1 : 0;
		if (fill(r)) {
			if (r->err)
				return -1;
			/* a line longer than FR_MAX_LINE: dropped */
			r->start = r->end = 0;
		}
	}
}

void flow_reader__close(struct flow_reader *r)
{
	if (!r)
		return;
	if (r->started) {
		pthread_mutex_lock(&r->lock);
		r->stop = true;
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->thread, NULL);
	}
	if (r->gz)
		gzclose(r->gz);
	for (int i = 0; i < FR_NCHUNK; i++)
		free(r->ring[i].data);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r->buf);
	free(r);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

int flow_scan__files(const char *prog, char *const *files, size_t n, struct flow_scan *st,
		     flow_scan_cb cb, void *ctx)
{
	for (size_t i = 0; i < n; i++) {
		struct flow_reader *rd;
		const char *line;
		uint64_t lineno = 0;
		ssize_t len;

		if (ends_with(files[i], ".tmp")) {
			fprintf(stderr, "%s: %s: skipped (a compression in progress; its lines are "
					"in the file it compresses)\n", prog, files[i]);
			st->skipped_files++;
			continue;
		}
		rd = flow_reader__open(files[i]);
		if (!rd) {
			int e = errno;

			fprintf(stderr, "%s: %s: %s\n", prog, files[i], strerror(e));
			return -e;
		}
		st->files++;
		while ((len = flow_reader__line(rd, &line)) > 0) {
			struct flow_rec r;
			int err;

			lineno++;
			st->lines++;
			if (flow_rec__parse(line, len, &r)) {
				st->bad_lines++;
				continue;
			}
			st->by_kind[r.kind]++;
			if (r.kind == FR_OTHER)
				continue;
			if (r.kind == FR_LOST) {
				st->lost_records += r.count;
			} else if (r.start_ms) {
				if (!st->first_ms || r.start_ms < st->first_ms)
					st->first_ms = r.start_ms;
				if (r.end_ms > st->last_ms)
					st->last_ms = r.end_ms;
			}
			if (cb && (err = cb(ctx, &r, files[i], lineno))) {
				flow_reader__close(rd);
				return err;
			}
		}
		if (len < 0) {
			fprintf(stderr, "%s: %s: read error after line %llu (a truncated gzip file?); "
					"the lines before it are used\n", prog, files[i],
				(unsigned long long)lineno);
			st->read_errors++;
		}
		flow_reader__close(rd);
	}
	return 0;
}

/* ---- keys ------------------------------------------------------------------ */

int flow_key__of(const struct flow_rec *r, struct flow_key *k, uint8_t *local)
{
	bool in = r->dir == WARD_DIR_INGRESS;
	static const uint8_t zero[16];

	memset(k, 0, sizeof(*k));
	if (r->family != WARD_FAM_V4 && r->family != WARD_FAM_V6)
		return -1;
	if (!memcmp(in ? r->src : r->dst, zero, 16) && !memcmp(in ? r->dst : r->src, zero, 16))
		return -1;
	k->dir = r->dir;
	k->family = r->family;
	k->proto = r->proto;
	k->plen = r->family == WARD_FAM_V4 ? 32 : 128;
	memcpy(k->remote, in ? r->src : r->dst, 16);
	if (local)
		memcpy(local, in ? r->dst : r->src, 16);
	/* T of docs/policy.md: ICMP carried in the other family is type 0 */
	switch (r->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		k->port = r->dport > 0 ? r->dport : 0;
		break;
	case IPPROTO_ICMP:
		k->port = r->family == WARD_FAM_V4 && r->icmp_type > 0 ? r->icmp_type : 0;
		break;
	case IPPROTO_ICMPV6:
		k->port = r->family == WARD_FAM_V6 && r->icmp_type > 0 ? r->icmp_type : 0;
		break;
	}
	return 0;
}

void flow_tally__add(struct flow_tally *t, const struct flow_rec *r)
{
	t->records++;
	switch (r->kind) {
	case FR_OPEN:
		t->opens++;
		if (r->bytes > t->live_bytes)
			t->live_bytes = r->bytes;
		break;
	case FR_CLOSE:
	case FR_RESET:
		t->closes++;
		t->close_bytes += r->bytes;
		break;
	case FR_TRAFFIC:
		t->traffics++;
		if (r->bytes > t->live_bytes)
			t->live_bytes = r->bytes;
		break;
	case FR_AUDIT:
		t->audited += r->count ? r->count : 1;
		t->agg_bytes += r->bytes;
		break;
	case FR_REFUSE:
		t->refused++;
		t->agg_bytes += r->bytes;
		break;
	default:
		break;
	}
	if (r->start_ms && (!t->first || r->start_ms < t->first))
		t->first = r->start_ms;
	if (r->end_ms > t->last)
		t->last = r->end_ms;
}

void flow_tally__merge(struct flow_tally *d, const struct flow_tally *s)
{
	d->opens += s->opens, d->closes += s->closes, d->traffics += s->traffics;
	d->audited += s->audited, d->refused += s->refused, d->records += s->records;
	d->close_bytes += s->close_bytes, d->agg_bytes += s->agg_bytes;
	d->live_bytes += s->live_bytes;
	if (s->first && (!d->first || s->first < d->first))
		d->first = s->first;
	if (s->last > d->last)
		d->last = s->last;
}

uint64_t flow_tally__flows(const struct flow_tally *t)
{
	uint64_t starts = t->opens + t->audited, f = starts > t->closes ? starts : t->closes;

	if (!f && t->traffics)
		f = 1;
	return f + t->refused;
}

uint64_t flow_tally__bytes(const struct flow_tally *t)
{
	return t->close_bytes + t->agg_bytes + (t->closes ? 0 : t->live_bytes);
}

int port_span__parse(const char *s, struct port_span *ret)
{
	int lo, hi, n = 0;

	if (!strcmp(s, "none")) {
		ret->lo = 1;
		ret->hi = 0;
		return 0;
	}
	if (sscanf(s, "%d-%d%n", &lo, &hi, &n) != 2 || s[n] || lo < 0 || hi > 65535 || lo > hi)
		return -1;
	ret->lo = lo;
	ret->hi = hi;
	return 0;
}

bool flow_rec__midstream(const struct flow_rec *r, const struct port_span *eph)
{
	return r->proto == IPPROTO_TCP && r->tcp_flags >= 0 && !(r->tcp_flags & 0x02) &&
	       r->dport >= eph->lo && r->dport <= eph->hi;
}

int flow_rec__use(const struct flow_rec *r, const struct port_span *eph, struct flow_skips *sk,
		  struct flow_key *k, uint8_t *local)
{
	switch (r->kind) {
	case FR_RATE_LIMIT:
		sk->rate_limit++;
		return 1;
	case FR_LOST:
	case FR_OTHER:
		return 1;
	default:
		break;
	}
	if (flow_rec__midstream(r, eph)) {
		sk->midstream++;
		return 1;
	}
	if (flow_key__of(r, k, local)) {
		sk->no_key++;
		return 1;
	}
	return 0;
}

void fr_addr_text(uint8_t family, const uint8_t *addr, char *buf, size_t len)
{
	if (!inet_ntop(family == WARD_FAM_V6 ? AF_INET6 : AF_INET, addr, buf, len))
		snprintf(buf, len, "?");
}

void flow_key__remote(const struct flow_key *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	fr_addr_text(k->family, k->remote, a, sizeof(a));
	if (k->plen == (k->family == WARD_FAM_V4 ? 32 : 128))
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%u", a, k->plen);
}

void flow_key__service(const struct flow_key *k, char *buf, size_t len)
{
	const char *name = proto__name(k->proto);

	if (k->proto == IPPROTO_TCP || k->proto == IPPROTO_UDP || k->proto == IPPROTO_ICMP ||
	    k->proto == IPPROTO_ICMPV6)
		snprintf(buf, len, "%s/%u", name, k->port);
	else
		snprintf(buf, len, "proto %u", k->proto);
}

void fr_time_text(uint64_t ms, char *buf, size_t len)
{
	time_t s = ms / 1000;
	struct tm tm;

	if (!ms || !gmtime_r(&s, &tm)) {
		snprintf(buf, len, "-");
		return;
	}
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- the table ------------------------------------------------------------- */

#define FTAB_ALIGN 8

int ftab__init(struct ftab *t, size_t ksz, size_t vsz, size_t max)
{
	memset(t, 0, sizeof(*t));
	t->ksz = ksz;
	t->vsz = vsz;
	/* used byte, key, value at an aligned offset */
	t->esz = (FTAB_ALIGN + ksz + FTAB_ALIGN - 1) / FTAB_ALIGN * FTAB_ALIGN;
	t->esz = (t->esz + vsz + FTAB_ALIGN - 1) / FTAB_ALIGN * FTAB_ALIGN;
	t->max = max ? max : SIZE_MAX / 4;
	t->cap = 1024;
	t->slots = calloc(t->cap, t->esz);
	return t->slots ? 0 : -ENOMEM;
}

static size_t voff(const struct ftab *t)
{
	return (FTAB_ALIGN + t->ksz + FTAB_ALIGN - 1) / FTAB_ALIGN * FTAB_ALIGN;
}

static uint8_t *slot(const struct ftab *t, size_t i)
{
	return t->slots + i * t->esz;
}

static size_t probe(const struct ftab *t, const void *key)
{
	size_t i = hash_fold(fnv1a(FNV1A_INIT, key, t->ksz)) & (t->cap - 1);

	while (slot(t, i)[0] && memcmp(slot(t, i) + FTAB_ALIGN, key, t->ksz))
		i = (i + 1) & (t->cap - 1);
	return i;
}

static int grow(struct ftab *t)
{
	struct ftab n = *t;

	n.cap = t->cap * 2;
	n.slots = calloc(n.cap, t->esz);
	if (!n.slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++)
		if (slot(t, i)[0])
			memcpy(slot(&n, probe(&n, slot(t, i) + FTAB_ALIGN)), slot(t, i), t->esz);
	free(t->slots);
	*t = n;
	return 0;
}

void *ftab__find(const struct ftab *t, const void *key)
{
	size_t i = probe(t, key);

	return slot(t, i)[0] ? slot(t, i) + voff(t) : NULL;
}

void *ftab__get(struct ftab *t, const void *key, bool *created)
{
	size_t i = probe(t, key);
	uint8_t *s = slot(t, i);

	*created = false;
	if (s[0])
		return s + voff(t);
	if (t->n >= t->max)
		return NULL;
	if ((t->n + 1) * 4 > t->cap * 3) { /* load <= 3/4 */
		if (grow(t))
			return NULL;
		s = slot(t, probe(t, key));
	}
	s[0] = 1;
	memcpy(s + FTAB_ALIGN, key, t->ksz);
	t->n++;
	*created = true;
	return s + voff(t);
}

void *ftab__at(const struct ftab *t, size_t i, const void **key)
{
	uint8_t *s = slot(t, i);

	if (!s[0])
		return NULL;
	if (key)
		*key = s + FTAB_ALIGN;
	return s + voff(t);
}

void ftab__clear(struct ftab *t)
{
	memset(t->slots, 0, t->cap * t->esz);
	t->n = 0;
}

void ftab__free(struct ftab *t)
{
	free(t->slots);
	t->slots = NULL;
	t->n = t->cap = 0;
}

/* ---- verdicts from the real programs -------------------------------------- */

struct flow_eval {
	struct ward w;
	struct compiled c;
};

int flow_eval__open(struct flow_eval **ret, const struct policy *p, struct diags *d)
{
	struct flow_eval *e = calloc(1, sizeof(*e));
	struct compile_limits lim = { .max_rules = p->nrules ? p->nrules : 1 };
	int err;

	if (!e)
		return -ENOMEM;
	err = policy__compile_limits(p, &lim, &e->c, d);
	if (err) {
		free(e);
		return -EINVAL;
	}
	log_libbpf_quiet(1);
	err = ward__load_opts(&e->w, NULL, true, lim.max_rules);
	log_libbpf_quiet(0);
	if (!err) {
		err = ward__publish(&e->w, &e->c, p);
		if (err)
			ward__close(&e->w);
	}
	if (err) {
		compiled__free(&e->c);
		free(e);
		return err;
	}
	*ret = e;
	return 0;
}

int flow_eval__run(struct flow_eval *e, const struct flow_key *k, const uint8_t *local, int sport,
		   struct flow_verdict *v)
{
	/* documentation addresses (RFC 5737, RFC 3849) when the local end is unknown */
	static const uint8_t doc4[16] = { 192, 0, 2, 1 };
	static const uint8_t doc6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	const uint8_t *l = local ? local : k->family == WARD_FAM_V4 ? doc4 : doc6;
	struct pkt_spec s = { .family = k->family, .proto = k->proto };
	struct ward_trace t;
	uint8_t frame[256];
	size_t len;
	int pass, err;

	memcpy(k->dir == WARD_DIR_INGRESS ? s.src : s.dst, k->remote, 16);
	memcpy(k->dir == WARD_DIR_INGRESS ? s.dst : s.src, l, 16);
	s.dport = k->port;
	s.sport = sport >= 0 ? sport : 40000;
	if (k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6)
		s.sport = 0; /* the code */
	len = pktgen_build(&s, frame, sizeof(frame));
	if (!len)
		return -EINVAL;
	err = ward__test_run(&e->w, k->dir, frame, len, &pass, &t);
	if (err)
		return err;
	v->pass = pass;
	v->audit = t.audit;
	v->rule_idx = t.rule_idx;
	v->verdict = t.verdict;
	return 0;
}

void flow_eval__close(struct flow_eval *e)
{
	if (!e)
		return;
	ward__close(&e->w);
	compiled__free(&e->c);
	free(e);
}

const char *flow_eval__rule_name(const struct policy *p, const struct flow_verdict *v, int dir)
{
	if (v->rule_idx < p->nrules)
		return p->rules[v->rule_idx].id;
	if (v->verdict == WARD_V_PASS_ND)
		return "always-pass-nd";
	return dir == WARD_DIR_INGRESS ? "default-ingress" : "default-egress";
}
