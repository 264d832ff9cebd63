/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The agent's config file (JSON, docs/operations.md): the settings of `ward run`
 * plus the sinks. Parsed and validated like a policy: every error at once,
 * located as FILE:LINE:COL: /json/pointer: value: reason. Nothing here opens
 * a file or a socket; a flag of `ward run` overrides the file.
 */
#ifndef WARD_CONFIG_H
#define WARD_CONFIG_H

#include <stddef.h>
#include "policy.h"

#define CONFIG_MAX_BYTES (1u << 20)     /* largest config file read, bytes         */
#define CONFIG_MAX_FAILSAFES 16         /* as ward run --failsafe                  */
#define CONFIG_MAX_SINKS 8              /* as ward run --flows                     */
#define CONFIG_DEFAULT_CONTROL_SOCKET "/run/ward/ward.sock"

struct ward_config {
	char *policy;              /* absolute path; NULL = unset                      */
	char *pin_path;            /* absolute path; NULL = unset (/sys/fs/bpf/ward)   */
	char **interfaces;         /* names or shell globs (fnmatch): "eth*", "ens[0-9]*" */
	size_t ninterfaces;        /* 0 = unset                                        */
	int xdp_mode;              /* -1 unset, else enum xdp_mode of agent/loader.h   */
	size_t max_rules, ct_size, rl_size; /* 0 = unset                               */
	char **failsafes;          /* "tcp/22 from 192.0.2.0/24", checked like --failsafe */
	size_t nfailsafes;
	char **flows;              /* sink specs as --flows; {"none"} = no records     */
	size_t nflows;             /* 0 = unset                                        */
	unsigned flow_interval_ms, traffic_interval_s; /* 0 = unset                    */
	char *metrics;             /* "127.0.0.1:9470", "[::1]:9470"; NULL = off       */
	char *control_socket;      /* NULL = unset: CONFIG_DEFAULT_CONTROL_SOCKET      */
	int log_level;             /* -1 unset, else enum log_level of agent/log.h     */
};

/* Every field unset (what an empty object "{}" gives). */
void config__init(struct ward_config *c);
/*
 * Parse and validate a config document. 0 and *c filled, or -EINVAL with
 * every error in *d (and *c freed, unset). Warnings may be added on success.
 */
int config__parse(const char *text, size_t len, struct ward_config *c, struct diags *d);
/* The same from a file (at most CONFIG_MAX_BYTES): -EINVAL, or -errno when it cannot be read. */
int config__parse_file(const char *path, struct ward_config *c, struct diags *d);
/* Frees every field and leaves *c unset; NULL is fine. */
void config__free(struct ward_config *c);

#endif
