/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Readers of the pinned maps, for the commands that inspect a running
 * agent (ward status, ward stats) and the metrics endpoint. Every map is
 * opened read-only; nothing here writes.
 */
#ifndef WARD_MAPREAD_H
#define WARD_MAPREAD_H

#include <stdbool.h>
#include <stdint.h>
#include "ward/abi.h"

/* Read-only fd of the pinned map <pin>/<name>, or -errno. */
int mapread_open(const char *pin, const char *name);
/* Sum over CPUs of entry idx of a per-CPU array of struct ward_counter. */
int mapread_counter(int fd, __u32 idx, struct ward_counter *sum);
/* The live policy slot and its ward_cfg. */
int mapread_active(const char *pin, __u32 *slot, struct ward_cfg *cfg);
/* ward_meta[0]: what is loaded. */
int mapread_meta(const char *pin, struct ward_meta *m);
/* Is the pinned XDP link of this interface still attached? */
bool mapread_xdp_link_live(const char *pin, const char *ifname);
/* Entries in use and max_entries of a hash map (conntrack, rate-limit buckets). */
int mapread_usage(const char *pin, const char *map, uint64_t *entries, uint64_t *capacity);

#endif
