// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Publish a compiled policy: fill the idle slot (lookup tables, cfg,
 * counters, rule names), then one write of ward_active makes it live. Packets read the
 * slot once, so each sees the old policy or the new one, whole.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "loader.h"
#include "lookup.h"
#include "map_batch.h"

/* A new inner array of n entries of vsz bytes holding data, or -errno. It
 * is filled through mmap, a window at a time: one copy, no syscall per
 * entry, and no more of the map mapped into the agent than a window. */
static int table_create(const char *name, const void *data, size_t vsz, size_t n)
{
	enum { WINDOW = 1 << 20 };
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, name, sizeof(__u32), (__u32)vsz,
				(__u32)(n ? n : 1), &o);
	size_t len = vsz * n;

	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len; off += WINDOW) {
		size_t m = len - off < WINDOW ? len - off : WINDOW;
		void *mem = mmap(NULL, m, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);

		if (mem == MAP_FAILED) {
			int err = -errno;

			close(fd);
			return err;
		}
		memcpy(mem, (const char *)data + off, m);
		munmap(mem, m);
	}
	return fd;
}

/* Put a table into the idle slot of its outer map (the slot's old table
 * is freed once no program holds it). */
static int table_publish(struct ward *w, const char *outer, __u32 idle, const char *name,
			 const void *data, size_t vsz, size_t n)
{
	int ofd = ward__map_fd(w, outer), fd, err = 0;

	if (ofd < 0)
		return -ENOENT;
	fd = table_create(name, data, vsz, n);
	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(ofd, &idle, &fd, BPF_ANY))
		err = -errno;
	close(fd);
	return err;
}

/* The idle slot's lookup tables (agent/lookup.c builds them). */
static int fill_tables(struct ward *w, __u32 idle, const struct compiled *c)
{
	int lfd = ward__map_fd(w, "ward_lookup"), err;
	struct lookup_tables t;

	if (lfd < 0)
		return -ENOENT;
	err = lookup__build(c, &t);
	if (err)
		return err;
	err = table_publish(w, "ward_atab_slots", idle, "ward_atab", t.atab, sizeof(*t.atab),
			    t.hdr.addr_slots);
	if (!err)
		err = table_publish(w, "ward_ptab_slots", idle, "ward_ptab", t.ptab,
				    sizeof(*t.ptab), t.hdr.ports_slots);
	if (!err)
		err = table_publish(w, "ward_ival_slots", idle, "ward_ival", t.ivals,
				    sizeof(*t.ivals), t.nivals);
	if (!err && bpf_map_update_elem(lfd, &idle, &t.hdr, BPF_ANY))
		err = -errno;
	lookup__free(&t);
	return err;
}

/* The idle slot's rate limits; slots past the policy's are cleared. */
static int fill_rate_limits(struct ward *w, __u32 idle, const struct compiled *c)
{
	int fd = ward__map_fd(w, "ward_rl_cfg");

	if (fd < 0)
		return -ENOENT;
	for (__u32 i = 0; i < WARD_MAX_RATE_LIMITS; i++) {
		struct ward_rl_cfg none = {};
		__u32 k = WARD_RL_CFG_IDX(idle, i);
		const struct ward_rl_cfg *v = i >= 1 && i <= c->nrl ? &c->rl[i - 1] : &none;

		if (bpf_map_update_elem(fd, &k, v, BPF_ANY))
			return -errno;
	}
	return 0;
}

/* Zero counters of the idle slot's rules (and defaults) in a per-CPU map. */
static int zero_counters(int fd, __u32 idle, size_t nrules)
{
	enum { CHUNK = 1024 }; /* keys per batch: the zeros are CHUNK x CPUs */
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	size_t vsz = sizeof(struct ward_counter) * (ncpu > 0 ? ncpu : 1);
	__u32 n = WARD_STAT_RULE(nrules), keys[CHUNK];
	void *zero;

	if (fd < 0 || ncpu <= 0)
		return -ENOENT;
	zero = calloc(CHUNK, vsz);
	if (!zero)
		return -ENOMEM;
	for (__u32 at = 0; at < n && !err; at += CHUNK) {
		__u32 m = n - at < CHUNK ? n - at : CHUNK;

		for (__u32 i = 0; i < m; i++)
			keys[i] = WARD_STAT_IDX(at + i, idle);
		err = map_update_arrays(fd, keys, sizeof(*keys), zero, vsz, m);
	}
	free(zero);
	return err;
}

/* Name the idle slot's rules; delete the names past them (ids are dense). */
static int fill_rule_ids(int fd, __u32 idle, const struct policy *p)
{
	enum { CHUNK = 4096 }; /* rules per batch */
	struct ward_rule_info *info = calloc(CHUNK, sizeof(*info));
	__u32 keys[CHUNK];
	int err = info ? 0 : -ENOMEM;

	for (__u32 at = 0; at < p->nrules && !err; at += CHUNK) {
		__u32 m = p->nrules - at < CHUNK ? p->nrules - at : CHUNK;

		for (__u32 i = 0; i < m; i++) {
			const struct rule *r = &p->rules[at + i];

			keys[i] = WARD_STAT_IDX(at + i, idle);
			memset(&info[i], 0, sizeof(info[i]));
			snprintf(info[i].id, sizeof(info[i].id), "%s", r->id);
			info[i].dir = r->dir;
			info[i].action = r->action;
			info[i].flags = r->audit ? WARD_RF_AUDIT : 0;
		}
		err = map_update_arrays(fd, keys, sizeof(*keys), info, sizeof(*info), m);
	}
	free(info);
	for (__u32 i = p->nrules; i < WARD_RULES_LIMIT && !err; i++) {
		__u32 k = WARD_STAT_IDX(i, idle);

		if (!bpf_map_delete_elem(fd, &k))
			continue;
		if (errno == ENOENT)
			break; /* the rest is empty */
		err = -errno;
	}
	return err;
}

/* Zero the idle slot's counters and name its rules. */
static int fill_stats(struct ward *w, __u32 idle, const struct policy *p)
{
	int ifd = ward__map_fd(w, "ward_rule_ids");
	int err = zero_counters(ward__map_fd(w, "ward_rule_stats"), idle, p->nrules);

	if (!err)
		err = zero_counters(ward__map_fd(w, "ward_rl_drops"), idle, p->nrules);
	if (!err && ifd < 0)
		err = -ENOENT;
	return err ? err : fill_rule_ids(ifd, idle, p);
}

static int write_meta(struct ward *w, const struct policy *p, __u32 generation)
{
	int fd = ward__map_fd(w, "ward_meta");
	struct ward_meta m = {};
	struct timespec ts;
	__u32 zero = 0;

	snprintf(m.name, sizeof(m.name), "%s", p->name ? p->name : "");
	memcpy(m.sha256, p->sha256, sizeof(m.sha256));
	m.revision = p->revision;
	clock_gettime(CLOCK_REALTIME, &ts);
	m.loaded_ns = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	m.nrules = p->nrules;
	for (size_t i = 0; i < p->nrules; i++)
		m.nfailsafes += p->rules[i].failsafe;
	m.abi_version = WARD_ABI_VERSION;
	m.generation = generation;
	return bpf_map_update_elem(fd, &zero, &m, BPF_ANY) ? -errno : 0;
}

struct stats_job {
	struct ward *w;
	__u32 idle;
	const struct compiled *c;
	const struct policy *p;
	int err;
};

static void *stats_thread(void *arg)
{
	struct stats_job *j = arg;

	j->err = fill_rate_limits(j->w, j->idle, j->c);
	if (!j->err)
		j->err = fill_stats(j->w, j->idle, j->p);
	return NULL;
}

/* Counters and rule names on a thread of their own while this one builds
 * and writes the lookup tables: different maps, so at 100,000 rules the two
 * halves of the work run on two CPUs. The tables are built here, not on the
 * thread: glibc would give the thread an arena of its own, and the tables
 * could not reuse the heap the compiler has just freed (about 16 MiB more
 * at the peak). */
static int fill_idle(struct ward *w, __u32 idle, const struct compiled *c, const struct policy *p)
{
	struct stats_job j = { .w = w, .idle = idle, .c = c, .p = p };
	bool threaded = c->nrules >= 4096;
	pthread_t t;
	int err;

	if (threaded && pthread_create(&t, NULL, stats_thread, &j))
		threaded = false;
	if (!threaded)
		stats_thread(&j);
	err = fill_tables(w, idle, c);
	if (threaded)
		pthread_join(t, NULL);
	return err ? err : j.err;
}

/*
 * Return only when no program can still be using the old slot, so that the
 * next publish may rewrite it. Updating a map-in-map waits for every running
 * program (synchronize_rcu in the kernel): rewrite the old slot's address
 * table with the table it already holds. A slot that never held one has no
 * reader to wait for.
 */
static int wait_readers(struct ward *w, __u32 old)
{
	int outer = ward__map_fd(w, "ward_atab_slots"), inner, err = 0;
	__u32 id = 0;

	if (outer < 0)
		return -ENOENT;
	if (bpf_map_lookup_elem(outer, &old, &id))
		return errno == ENOENT ? 0 : -errno;
	inner = bpf_map_get_fd_by_id(id);
	if (inner < 0)
		return -errno;
	if (bpf_map_update_elem(outer, &old, &inner, BPF_ANY))
		err = -errno;
	close(inner);
	return err;
}

int ward__publish(struct ward *w, const struct compiled *c, const struct policy *p)
{
	int afd = ward__map_fd(w, "ward_active"), cfd = ward__map_fd(w, "ward_cfg"), err;
	struct ward_cfg live = {}, next = c->cfg;
	__u32 zero = 0, active = 0, idle;

	if (afd < 0 || cfd < 0)
		return -ENOENT;
	if (p->nrules > w->max_rules)
		return -E2BIG;
	if (bpf_map_lookup_elem(afd, &zero, &active))
		return -errno;
	active &= WARD_SLOTS - 1;
	idle = active ^ 1;
	if (bpf_map_lookup_elem(cfd, &active, &live))
		return -errno;
	err = fill_idle(w, idle, c, p);
	if (err)
		return err;
	next.generation = live.generation + 1;
	next.loaded = 1;
	if (bpf_map_update_elem(cfd, &idle, &next, BPF_ANY))
		return -errno;
	/* the one write that publishes the whole policy */
	if (bpf_map_update_elem(afd, &zero, &idle, BPF_ANY))
		return -errno;
	err = write_meta(w, p, next.generation);
	if (!err)
		err = wait_readers(w, active);
	return err;
}

__u32 ward__generation(struct ward *w)
{
	int afd = ward__map_fd(w, "ward_active"), cfd = ward__map_fd(w, "ward_cfg");
	struct ward_cfg cfg = {};
	__u32 zero = 0, active = 0;

	if (afd < 0 || cfd < 0 || bpf_map_lookup_elem(afd, &zero, &active))
		return 0;
	active &= WARD_SLOTS - 1;
	return bpf_map_lookup_elem(cfd, &active, &cfg) ? 0 : cfg.generation;
}
