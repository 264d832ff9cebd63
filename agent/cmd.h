/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Subcommands. Each returns the process exit status. */
#ifndef WARD_CMD_H
#define WARD_CMD_H

#ifndef WARD_VERSION
#define WARD_VERSION "0.2.0"
#endif

enum exit_code {
	EXIT_OK = 0,
	EXIT_INVALID = 1, /* invalid input: policy, config */
	EXIT_USAGE = 2,
	EXIT_RUNTIME = 3,
};

int cmd_run(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_flows(int argc, char **argv);
int cmd_suggest(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_confirm(int argc, char **argv);

#endif
