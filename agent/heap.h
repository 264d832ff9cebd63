/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The process's heap on transparent huge pages, where the host allows them. */
#ifndef WARD_HEAP_H
#define WARD_HEAP_H

/* Before a command that reads much (a policy, record files): may exec the
 * program again (same argv, same PID) with glibc's huge-page tunable set;
 * returns when it did not. */
void heap__huge(char **argv);

#endif
