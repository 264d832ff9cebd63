// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The record pipeline: a bounded ring of records between the agent's event
 * loop (the one producer) and a writer thread that renders each record
 * once per format and hands it to every sink.
 *
 * The producer never waits for the writer: a full ring refuses the record
 * and counts it. Both sides hold the lock only to move the ring's indices
 * and counters, never while copying a record or doing I/O: the producer
 * numbers and reserves a slot, fills it unlocked and then publishes it; the
 * writer takes a batch of slots, works on them unlocked, and gives them
 * back every REL_CHUNK records.
 *
 * Sequence numbers are handed out under the lock, to records and to the
 * REC_LOST records the pipeline makes itself, and a LOST record is only
 * ever placed where every smaller number is already ahead of it: queued
 * by the producer right before the record it is emitting, or delivered by
 * the writer when the ring is empty. So sinks see strictly increasing
 * numbers, and a refused record leaves a gap in them.
 *
 * Losses (full ring, upstream via rec_lost, sinks that failed a write)
 * accumulate until a LOST record reports them: at once after a quiet
 * spell, then at most once per LOST_EVERY_MS so that losses under overload
 * cannot become a storm of their own; a last one at close reports the rest.
 *
 * A reload (rec_pipeline_reload, SIGHUP) is done by the writer thread, so
 * no sink is ever touched by two threads: it notes where the ring's head
 * is, delivers the records below it, then calls each sink's reload. The
 * records emitted meanwhile wait in the ring.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "record.h"

#define LOST_EVERY_MS 1000     /* at most one REC_LOST record a second       */
#define TICK_MS 1000           /* sinks' tick: flush, rotate, reconnect      */
#define REL_CHUNK 256          /* slots given back to the producer at a time */
#define RENDER_MIN (16 * 1024) /* render buffer; doubles up to RENDER_MAX    */
#define RENDER_MAX (1024 * 1024)
#define UPSTREAM_WHERE 4       /* distinct upstream places told apart        */
#define BATCH_MS 10            /* a busy writer sleeps this long between batches */
#define WAKE_BATCH 256         /* ...unless this many records wait: one wake-up
				* per record would cost more than the record */

struct upstream_loss {
	char where[96]; /* "datapath: aggregation table full, N denied/limited packets unrecorded" */
	uint64_t n;
};

/* What the pipeline keeps per sink. */
struct sink_slot {
	struct sink *s;
	struct sink snap;   /* counts for readers (under mu)                 */
	uint64_t pend;      /* losses not yet reported (under mu)            */
	uint64_t seen_lost; /* s->lost as last accounted (writer)            */
	uint64_t new_lost;  /* losses not yet moved to pend (writer)         */
	uint64_t meta_ok, meta_fail; /* LOST records written / refused (writer) */
};

struct rec_pipeline {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* the writer waits on it for records, losses or close */
	pthread_t thread;

	/* ring: slots [tail, head) belong to the writer, the rest to rec_emit */
	struct flow_record *ring;
	bool *ring_meta; /* the slot holds one of the pipeline's LOST records */
	size_t depth;
	uint64_t head, tail;
	bool filling; /* rec_emit is filling slots it numbered, above head */
	bool writer_waiting, closing;
	bool writer_idle;  /* waiting for the next record, not for a batch */
	size_t wake_at;    /* records that wake a writer waiting for a batch */
	bool reload_asked; /* reload the sinks once tail reaches reload_at */
	uint64_t reload_at;

	/* under mu */
	uint64_t next_seq;
	struct rec_stats st;
	uint64_t pend_queue;                         /* losses not yet reported */
	struct upstream_loss pend_up[UPSTREAM_WHERE];
	uint64_t pend_since_ms;                      /* first unreported loss   */
	uint64_t last_lost_mono;                     /* last LOST record made   */

	struct sink_slot *slot;
	size_t nsinks;

	/* writer thread only */
	char *render[2];
	size_t render_cap[2];
	uint64_t next_tick;
	bool drained;
};

static uint64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- losses ------------------------------------------------------------------------ */

static uint64_t pending_locked(struct rec_pipeline *p)
{
	uint64_t n = p->pend_queue;

	for (int i = 0; i < UPSTREAM_WHERE; i++)
		n += p->pend_up[i].n;
	for (size_t i = 0; i < p->nsinks; i++)
		n += p->slot[i].pend;
	return n;
}

static void note_loss_locked(struct rec_pipeline *p)
{
	if (!p->pend_since_ms)
		p->pend_since_ms = clock_ms(CLOCK_REALTIME);
}

static bool lost_due_locked(struct rec_pipeline *p, bool force)
{
	uint64_t now;

	if (!pending_locked(p))
		return false;
	if (force || !p->last_lost_mono)
		return true;
	now = clock_ms(CLOCK_MONOTONIC);
	return now >= p->last_lost_mono + LOST_EVERY_MS;
}

/* Build the LOST record reporting every pending loss, and number it. */
static void take_lost_locked(struct rec_pipeline *p, struct flow_record *r)
{
	char *msg = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&msg, &len);
	uint64_t total = pending_locked(p);
	const char *sep = "";

	memset(r, 0, sizeof(*r));
	r->kind = REC_LOST;
	r->time_ms = clock_ms(CLOCK_REALTIME);
	r->start_ms = p->pend_since_ms ? p->pend_since_ms : r->time_ms;
	r->end_ms = r->time_ms;
	r->count = total;
	r->success = false;
	if (f) {
		fprintf(f, "%llu records lost: ", (unsigned long long)total);
		if (p->pend_queue) {
			fprintf(f, "%llu at the record queue (full)", (unsigned long long)p->pend_queue);
			sep = ", ";
		}
		for (int i = 0; i < UPSTREAM_WHERE; i++) {
			if (!p->pend_up[i].n)
				continue;
			fprintf(f, "%s%llu at %s", sep, (unsigned long long)p->pend_up[i].n,
				p->pend_up[i].where);
			sep = ", ";
		}
		for (size_t i = 0; i < p->nsinks; i++) {
			if (!p->slot[i].pend)
				continue;
			fprintf(f, "%s%llu at sink %s", sep, (unsigned long long)p->slot[i].pend,
				p->slot[i].snap.name);
			sep = ", ";
		}
		if (fclose(f)) {
			free(msg);
			msg = NULL;
		}
	}
	r->message = msg;
	p->pend_queue = 0;
	memset(p->pend_up, 0, sizeof(p->pend_up));
	for (size_t i = 0; i < p->nsinks; i++)
		p->slot[i].pend = 0;
	p->pend_since_ms = 0;
	p->last_lost_mono = clock_ms(CLOCK_MONOTONIC);
	r->seq = ++p->next_seq;
}

void rec_lost(struct rec_pipeline *p, uint64_t n, const char *where)
{
	struct upstream_loss *u;
	char name[sizeof(u->where)];
	int i;

	if (!p || !n)
		return;
	snprintf(name, sizeof(name), "%s", where && where[0] ? where : "upstream");
	pthread_mutex_lock(&p->mu);
	for (i = 0; i < UPSTREAM_WHERE; i++)
		if (!p->pend_up[i].where[0] || !strcmp(p->pend_up[i].where, name))
			break;
	if (i == UPSTREAM_WHERE) /* more places than slots: the last one pools them */
		snprintf(name, sizeof(name), "other places"), i--;
	u = &p->pend_up[i];
	memcpy(u->where, name, sizeof(name));
	u->n += n;
	p->st.upstream_lost += n;
	note_loss_locked(p);
	if (p->writer_waiting)
		pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* ---- producer ---------------------------------------------------------------------- */

/* Only the producer writes at and above head, and the writer reads only
 * below it: a reserved slot is filled without the lock. */
static void put_slot(struct rec_pipeline *p, uint64_t at, const struct flow_record *r, bool meta)
{
	p->ring[at % p->depth] = *r;
	p->ring_meta[at % p->depth] = meta;
}

int rec_emit(struct rec_pipeline *p, struct flow_record *r)
{
	struct flow_record lost;
	bool with_lost = false;
	size_t room;
	uint64_t at;

	pthread_mutex_lock(&p->mu);
	room = p->depth - (size_t)(p->head - p->tail);
	p->st.emitted++;
	if (room >= 2 && lost_due_locked(p, false)) {
		take_lost_locked(p, &lost);
		with_lost = true;
	}
	/* Numbered even when refused: the gap tells a SIEM something is missing. */
	r->seq = ++p->next_seq;
	if (!room) {
		p->st.queue_lost++;
		p->pend_queue++;
		note_loss_locked(p);
		pthread_mutex_unlock(&p->mu);
		free(r->message);
		r->message = NULL;
		return -1;
	}
	p->filling = true; /* numbers handed out that the writer cannot see yet */
	at = p->head;
	pthread_mutex_unlock(&p->mu);

	if (with_lost)
		put_slot(p, at++, &lost, true);
	put_slot(p, at++, r, false);
	r->message = NULL; /* the queued copy owns it now */

	pthread_mutex_lock(&p->mu);
	p->head = at;
	p->filling = false;
	if (p->writer_waiting && (p->writer_idle || p->head - p->tail >= p->wake_at))
		pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

void rec_pipeline_stats(struct rec_pipeline *p, struct rec_stats *st)
{
	pthread_mutex_lock(&p->mu);
	*st = p->st;
	pthread_mutex_unlock(&p->mu);
}

void rec_pipeline_reload(struct rec_pipeline *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->reload_asked = true;
	p->reload_at = p->head;
	if (p->writer_waiting)
		pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

bool rec_pipeline_sink_stats(struct rec_pipeline *p, size_t i, struct sink *out)
{
	if (i >= p->nsinks)
		return false;
	pthread_mutex_lock(&p->mu);
	*out = p->slot[i].snap;
	out->lost += p->st.queue_lost; /* never reached any sink */
	pthread_mutex_unlock(&p->mu);
	out->ops = NULL;
	return true;
}

/* ---- writer ------------------------------------------------------------------------ */

static int render(struct rec_pipeline *p, enum rec_format fmt, const struct flow_record *r)
{
	for (;;) {
		int n = rec_render(fmt, r, p->render[fmt], p->render_cap[fmt]);
		char *nb;

		if (n >= 0 || p->render_cap[fmt] >= RENDER_MAX)
			return n;
		nb = realloc(p->render[fmt], p->render_cap[fmt] * 2);
		if (!nb)
			return -1;
		p->render[fmt] = nb;
		p->render_cap[fmt] *= 2;
	}
}

/* Sinks may move records from written to lost on their own (a buffer
 * that could not be flushed): both kinds of loss show up here. */
static void account_sink(struct rec_pipeline *p, size_t i)
{
	struct sink *s = p->slot[i].s;

	if (s->lost != p->slot[i].seen_lost) {
		p->slot[i].new_lost += s->lost - p->slot[i].seen_lost;
		p->slot[i].seen_lost = s->lost;
	}
}

/* The pipeline's own LOST records are counted apart (meta_*): a sink that
 * refuses one is not reported again in the next, which would make a failing
 * sink a source of LOST records of its own. */
static void deliver(struct rec_pipeline *p, const struct flow_record *r, bool meta)
{
	int len[2] = { -2, -2 }; /* -2: not rendered yet */

	for (size_t i = 0; i < p->nsinks; i++) {
		struct sink *s = p->slot[i].s;
		enum rec_format fmt = s->format == REC_FMT_ECS ? REC_FMT_ECS : REC_FMT_OCSF;
		bool ok;

		if (len[fmt] == -2)
			len[fmt] = render(p, fmt, r);
		ok = len[fmt] >= 0 && !s->ops->write(s, r, p->render[fmt], (size_t)len[fmt]);
		if (ok)
			s->written++;
		else
			s->lost++;
		if (meta && ok) {
			p->slot[i].meta_ok++;
		} else if (meta) {
			p->slot[i].meta_fail++;
			p->slot[i].seen_lost++;
		}
		account_sink(p, i);
	}
}

static void tick_all(struct rec_pipeline *p)
{
	uint64_t now = clock_ms(CLOCK_REALTIME);

	for (size_t i = 0; i < p->nsinks; i++) {
		if (p->slot[i].s->ops->tick)
			p->slot[i].s->ops->tick(p->slot[i].s, now);
		account_sink(p, i);
	}
	p->next_tick = clock_ms(CLOCK_MONOTONIC) + TICK_MS;
}

/* Sink losses and counts become visible to the rest of the pipeline. */
static void publish_locked(struct rec_pipeline *p)
{
	for (size_t i = 0; i < p->nsinks; i++) {
		if (p->slot[i].new_lost) {
			p->slot[i].pend += p->slot[i].new_lost;
			p->slot[i].new_lost = 0;
			note_loss_locked(p);
		}
		/* Records of the agent only: written + lost = emitted, with the
		 * queue's losses added by the reader. */
		p->slot[i].snap.written = p->slot[i].s->written - p->slot[i].meta_ok;
		p->slot[i].snap.lost = p->slot[i].s->lost - p->slot[i].meta_fail;
		if (p->slot[i].snap.written > p->slot[i].s->written) /* a LOST line dropped late */
			p->slot[i].snap.written = 0;
		p->slot[i].snap.reload_failed = p->slot[i].s->reload_failed;
	}
}

/* Every record asked to go before the reload has been delivered. */
static void reload_all(struct rec_pipeline *p)
{
	for (size_t i = 0; i < p->nsinks; i++) {
		struct sink *s = p->slot[i].s;

		if (s->ops->reload && s->ops->reload(s))
			s->reload_failed++;
		account_sink(p, i);
	}
}

/* The ring is empty and no record is being queued, so every number handed
 * out so far is delivered: a LOST record numbered now is in order. Called
 * and returns with mu held. */
static void lost_from_writer_locked(struct rec_pipeline *p, bool force)
{
	struct flow_record lost;

	publish_locked(p);
	while (p->head == p->tail && !p->filling && lost_due_locked(p, force)) {
		take_lost_locked(p, &lost);
		pthread_mutex_unlock(&p->mu);
		deliver(p, &lost, true);
		free(lost.message);
		pthread_mutex_lock(&p->mu);
		publish_locked(p);
		if (!force)
			break; /* failures to write it wait for the next round */
		force = false;
	}
}

/* An idle writer sleeps until the next tick and the first record wakes it;
 * a busy one naps BATCH_MS, or until WAKE_BATCH records wait, so records
 * are taken in batches at any rate. */
static void wait_locked(struct rec_pipeline *p, bool idle)
{
	uint64_t due = p->next_tick, now = clock_ms(CLOCK_MONOTONIC);
	struct timespec ts;

	if (now >= due)
		return;
	if (!idle && now + BATCH_MS < due)
		due = now + BATCH_MS;
	/* Wake for the next tick, or for the rate limit of LOST records to pass. */
	if (pending_locked(p) && p->last_lost_mono + LOST_EVERY_MS < due)
		due = p->last_lost_mono + LOST_EVERY_MS;
	if (due <= now)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)((due - now) / 1000);
	ts.tv_nsec += (long)((due - now) % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	p->writer_waiting = true;
	p->writer_idle = idle;
	pthread_cond_timedwait(&p->cv, &p->mu, &ts);
	p->writer_waiting = false;
}

static void *writer_main(void *arg)
{
	struct rec_pipeline *p = arg;
	bool idle = false;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		uint64_t n;

		lost_from_writer_locked(p, false);
		if (p->reload_asked && p->tail >= p->reload_at) {
			p->reload_asked = false;
			pthread_mutex_unlock(&p->mu);
			reload_all(p);
			pthread_mutex_lock(&p->mu);
			publish_locked(p);
			continue;
		}
		if (p->head == p->tail) {
			if (p->closing)
				break;
			wait_locked(p, idle);
			idle = p->head == p->tail; /* a nap brought nothing */
			if (clock_ms(CLOCK_MONOTONIC) >= p->next_tick) {
				pthread_mutex_unlock(&p->mu);
				tick_all(p);
				pthread_mutex_lock(&p->mu);
			}
			continue;
		}
		n = p->head - p->tail;
		if (n > REL_CHUNK)
			n = REL_CHUNK;
		if (p->reload_asked && n > p->reload_at - p->tail)
			n = p->reload_at - p->tail; /* the reload goes between two records */
		idle = false;
		pthread_mutex_unlock(&p->mu);
		for (uint64_t i = 0; i < n; i++) {
			size_t slot = (p->tail + i) % p->depth;
			struct flow_record *r = &p->ring[slot];

			deliver(p, r, p->ring_meta[slot]);
			free(r->message);
			r->message = NULL;
		}
		if (clock_ms(CLOCK_MONOTONIC) >= p->next_tick)
			tick_all(p);
		pthread_mutex_lock(&p->mu);
		p->tail += n;
		publish_locked(p);
	}
	/* Closing: report what is left, flush, then count what the sinks could
	 * still not write before they go. */
	for (int round = 0; round < 2; round++) {
		lost_from_writer_locked(p, true);
		pthread_mutex_unlock(&p->mu);
		tick_all(p);
		if (round == 1)
			for (size_t i = 0; i < p->nsinks; i++)
				if (p->slot[i].s->ops->flush)
					p->slot[i].s->ops->flush(p->slot[i].s);
		pthread_mutex_lock(&p->mu);
		publish_locked(p);
	}
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < p->nsinks; i++)
		p->slot[i].s->ops->close(p->slot[i].s);
	return NULL;
}

/* ---- lifecycle --------------------------------------------------------------------- */

static void pipeline_free(struct rec_pipeline *p)
{
	free(p->ring);
	free(p->ring_meta);
	free(p->slot);
	free(p->render[0]);
	free(p->render[1]);
	free(p);
}

struct rec_pipeline *rec_pipeline_new(struct sink **sinks, size_t nsinks, size_t depth)
{
	struct rec_pipeline *p = calloc(1, sizeof(*p));
	pthread_condattr_t ca;
	sigset_t all, old;
	int err;

	if (!p)
		return NULL;
	/* Two slots at least: a LOST record goes in ahead of a record. */
	p->depth = depth < 2 ? 2 : depth;
	p->wake_at = p->depth / 4 < 1 ? 1 : p->depth / 4 > WAKE_BATCH ? WAKE_BATCH : p->depth / 4;
	p->nsinks = nsinks;
	p->ring = calloc(p->depth, sizeof(*p->ring));
	p->ring_meta = calloc(p->depth, sizeof(*p->ring_meta));
	p->slot = calloc(nsinks + 1, sizeof(*p->slot));
	p->render[0] = malloc(RENDER_MIN);
	p->render[1] = malloc(RENDER_MIN);
	p->render_cap[0] = p->render_cap[1] = RENDER_MIN;
	if (!p->ring || !p->ring_meta || !p->slot || !p->render[0] || !p->render[1]) {
		pipeline_free(p);
		return NULL;
	}
	for (size_t i = 0; i < nsinks; i++) {
		p->slot[i].s = sinks[i];
		p->slot[i].snap = *sinks[i];
		p->slot[i].seen_lost = sinks[i]->lost;
	}
	p->next_tick = clock_ms(CLOCK_MONOTONIC) + TICK_MS;
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);

	/* The writer takes no signals: they belong to the event loop, and a
	 * SIGPIPE from a closed stdout or collector must not kill the agent. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&p->thread, NULL, writer_main, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->cv);
		pipeline_free(p);
		errno = err;
		return NULL;
	}
	return p;
}

void rec_pipeline_drain(struct rec_pipeline *p)
{
	if (!p || p->drained)
		return;
	pthread_mutex_lock(&p->mu);
	p->closing = true;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	p->drained = true;
}

void rec_pipeline_close(struct rec_pipeline *p)
{
	if (!p)
		return;
	rec_pipeline_drain(p);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	pipeline_free(p);
}
