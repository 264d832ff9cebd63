/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef WARD_LOG_H
#define WARD_LOG_H

enum log_level { LOG_LVL_WARN = 0, LOG_LVL_INFO = 1, LOG_LVL_DEBUG = 2 };

void log_set_level(enum log_level lvl);
/* Route libbpf's messages through us, one level lower. */
void log_setup_libbpf(void);
/* Silence libbpf while probing for something that may fail. */
void log_libbpf_quiet(int quiet);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define pr_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define pr_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
