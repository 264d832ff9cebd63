/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Paths and file descriptors of pinned objects under a pin directory. */
#ifndef WARD_PINS_H
#define WARD_PINS_H

#include <stddef.h>

/* "<dir>/<name>" into buf; -ENAMETOOLONG if it does not fit. */
int pin_path(char *buf, size_t n, const char *dir, const char *name);
/* fd of the pinned object <dir>/<name>, or -errno. */
int pin_open(const char *dir, const char *name);
/* mkdir -p with mode 0700 (pins are not world-readable). */
int pin_mkdir(const char *dir);
/* Prefix of pinned XDP links, followed by the interface name. */
#define PIN_XDP_LINK "link_xdp_"
#define PIN_PROG_XDP "prog_xdp_ingress"
#define PIN_PROG_TC  "prog_tc_egress"
/* tc filter identity of the egress program on every interface */
#define WARD_TC_HANDLE 0x5741 /* "WA" */
#define WARD_TC_PRIO   1

#endif
