/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Changes of one file (the policy), by inotify on its directory. */
#ifndef WARD_WATCH_H
#define WARD_WATCH_H

#include <stdbool.h>

struct filewatch;

/* Watch path: written in place (closed after writing) or replaced by a
 * rename or a new file. NULL on error (errno set). */
struct filewatch *filewatch__new(const char *path);
int filewatch__fd(const struct filewatch *w);
/* Read pending events: true when one was about the file. Never blocks. */
bool filewatch__changed(struct filewatch *w);
void filewatch__free(struct filewatch *w);

#endif
