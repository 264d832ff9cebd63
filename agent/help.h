/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef WARD_HELP_H
#define WARD_HELP_H

/* The manual page of a command, or NULL when the command prints its own. */
const char *help__text(const char *cmd);

#endif
