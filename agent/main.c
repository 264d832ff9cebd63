// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* ward: one binary, subcommands. Wiring only. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "cmd.h"
#include "heap.h"
#include "help.h"
#include "log.h"
#include "ward/abi.h"

static int cmd_version(int argc, char **argv)
{
	printf("ward %s (abi %d)\n", WARD_VERSION, WARD_ABI_VERSION);
	return EXIT_OK;
}

/* big: parses or reads much (a policy, record files), so it runs with the
 * heap on huge pages (heap.h); the others start once, as they are. */
static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	bool big;
	const char *help;
} cmds[] = {
	{ "run", cmd_run, true, "run the agent: --policy FILE --interface NAME... [--pin-path DIR]" },
	{ "status", cmd_status, false, "exit 0 when enforcing; interfaces, policy, counters" },
	{ "stats", cmd_stats, false, "per-rule and per-verdict counters" },
	{ "check", cmd_check, true, "validate and compile a policy: check POLICY [--json]" },
	{ "explain", cmd_explain, true, "verdict for one flow, from the real programs" },
	{ "flows", cmd_flows, true, "flow records, readable: [--file PATH] [--follow] [--verdict V] [--json]" },
	{ "apply", cmd_apply, false, "change the running agent's policy: apply POLICY [--confirm-within S]" },
	{ "confirm", cmd_confirm, false, "keep the policy of apply --confirm-within (else it rolls back)" },
	{ "suggest", cmd_suggest, true, "a policy from observed flow records: suggest --flows FILE... [--policy CURRENT]" },
	{ "replay", cmd_replay, true, "flows a candidate policy would change: replay POLICY --flows FILE..." },
	{ "detach", cmd_detach, false, "remove programs, links and pins" },
	{ "version", cmd_version, false, "print the version" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: ward COMMAND [OPTIONS]\n\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(out, "  %-8s %s\n", cmds[i].name, cmds[i].help);
	fprintf(out, "\nEvery command takes --pin-path DIR (default /sys/fs/bpf/ward); "
		     "commands that print data take --json.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	log_setup_libbpf();
	if (argc > 2 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")) && help__text(argv[1])) {
		fputs(help__text(argv[1]), stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name)) {
			if (cmds[i].big)
				heap__huge(argv);
			return cmds[i].fn(argc - 1, argv + 1);
		}
	fprintf(stderr, "ward: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
