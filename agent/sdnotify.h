/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef WARD_SDNOTIFY_H
#define WARD_SDNOTIFY_H

/* Tell systemd (when it started us with Type=notify): "READY=1",
 * "RELOADING=1", "STOPPING=1", "STATUS=...". 0 when not under systemd. */
int sd_notify_msg(const char *msg);

#endif
