/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The links Ward enforces on: names and globs, followed as links come and go. */
#ifndef WARD_LINKS_H
#define WARD_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include "loader.h"

struct links;

/* Attach to every link matching a pattern (fnmatch) and keep following
 * rtnetlink; patterns must outlive the links object. */
struct links *links__start(struct ward *w, const char *const *patterns, size_t npatterns,
			   enum xdp_mode mode);
int links__fd(struct links *l);
void links__poll(struct links *l);
size_t links__count(const struct links *l);
/* Attach failures since the last call. */
int links__errors(struct links *l);
/* A pattern without glob characters that names no attached link. */
bool links__literal_missing(const struct links *l, const char **name);
void links__stop(struct links *l);

#endif
