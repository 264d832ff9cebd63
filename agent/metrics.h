/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Prometheus metrics of a running agent: the pinned maps (read-only, once
 * per scrape) and the record pipeline's counters, in the text exposition
 * format 0.0.4, served by libmicrohttpd on GET /metrics. docs/metrics.md
 * lists every metric.
 */
#ifndef WARD_METRICS_H
#define WARD_METRICS_H

#include <stddef.h>

struct rec_pipeline;

struct metrics_source {
	const char *pin_path;    /* the agent's pinned maps, opened read-only per scrape */
	struct rec_pipeline *pl; /* record sink counters; NULL when records are off */
};

/* Text exposition format 0.0.4; malloc'd, NULL on error. */
char *metrics__render(const struct metrics_source *src);

struct metrics;
/*
 * Serve GET /metrics on addr ("127.0.0.1:9470", "[::1]:9470", "0.0.0.0:9470")
 * from libmicrohttpd's own thread; NULL with err filled on failure. The
 * source is copied; src->pl must outlive metrics__stop.
 */
struct metrics *metrics__start(const char *addr, const struct metrics_source *src, char *err,
			       size_t errlen);
/* Stops the thread and closes the socket; NULL is a no-op. */
void metrics__stop(struct metrics *m);

#endif
