// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* `ward COMMAND --help`: the manual of each command that has no own. */
#include <string.h>
#include "help.h"

static const struct {
	const char *cmd;
	const char *text;
} pages[] = {
	{ "run",
	  "NAME\n"
	  "    ward run - the agent: load a policy, enforce it on interfaces, keep it enforced\n\n"
	  "SYNOPSIS\n"
	  "    ward run [--config FILE] [--policy FILE] [--interface NAME|GLOB]... [--pin-path DIR]\n"
	  "             [--xdp-mode native|generic|auto] [--max-rules N] [--ct-size N] [--rl-size N]\n"
	  "             [--failsafe \"PROTO/PORT from CIDR\"]... [--flows SINK|none]...\n"
	  "             [--flow-interval MS] [--traffic-interval S] [--control-socket PATH|none]\n"
	  "             [--metrics ADDR:PORT]\n"
	  "             [--verbose]\n\n"
	  "DESCRIPTION\n"
	  "    Loads the XDP (ingress) and TC (egress) programs, or adopts those pinned under the\n"
	  "    pin path, publishes the policy, attaches to every interface whose name matches,\n"
	  "    now and as links appear, and stays in the foreground. SIGHUP, or a change of the\n"
	  "    policy file, reloads it; an invalid file is rejected and the live policy stays.\n"
	  "    SIGHUP also reloads the certificates of syslog+tls sinks (docs/tls.md: records\n"
	  "    queued are sent first, bad files are refused and the connection stays) and\n"
	  "    reopens file sinks (logrotate).\n"
	  "    `ward apply` changes the policy through the control socket. Stopping the agent\n"
	  "    (any signal, a crash) leaves enforcement pinned: only `ward detach` removes it.\n"
	  "    Under systemd (Type=notify) READY=1 is sent once enforcement is live.\n\n"
	  "OPTIONS\n"
	  "    --config FILE          settings as JSON (docs/operations.md); flags override it\n"
	  "    --policy FILE          the policy (docs/policy.md)\n"
	  "    --interface NAME|GLOB  where to enforce; repeatable; globs follow hotplug\n"
	  "    --pin-path DIR         default /sys/fs/bpf/ward; one per agent\n"
	  "    --xdp-mode MODE        native, generic or auto (default)\n"
	  "    --max-rules N          rules a policy may have (default 65536)\n"
	  "    --ct-size N            conntrack entries (default 262144)\n"
	  "    --rl-size N            rate-limit client buckets (default 65536)\n"
	  "    --failsafe SPEC        access no policy can remove, e.g. \"tcp/22 from 192.0.2.0/28\"\n"
	  "    --flows SINK           flow records: stdout, file:PATH[,...], syslog+udp|tcp://H:P,\n"
	  "                           ipfix+udp|tcp://H:P, or none (docs/flow-records.md)\n"
	  "    --flow-interval MS     aggregated records at most once per key per MS (1000)\n"
	  "    --traffic-interval S   Traffic record of long flows every S seconds (60)\n"
	  "    --control-socket PATH  for ward apply / confirm; none turns it off\n"
	  "    --metrics ADDR:PORT    Prometheus metrics at /metrics (off unless given;\n"
	  "                           keep it on localhost: 127.0.0.1:9470)\n"
	  "    -v, --verbose          debug logging\n\n"
	  "EXIT STATUS\n"
	  "    0 stopped by a signal; 1 invalid policy or config; 2 usage; 3 runtime failure\n"
	  "    (no bpffs, capability, attach, pinned maps that cannot be adopted).\n\n"
	  "EXAMPLE\n"
	  "    ward run --policy /etc/ward/policy.json --interface 'ens*' --failsafe \"tcp/22 from 192.0.2.0/28\"\n" },
	{ "status",
	  "NAME\n"
	  "    ward status - is Ward enforcing, and with what\n\n"
	  "SYNOPSIS\n"
	  "    ward status [--pin-path DIR] [--json]\n\n"
	  "DESCRIPTION\n"
	  "    Reads the pinned state: interfaces and XDP mode, the policy (name, revision, mode,\n"
	  "    sha256 of the file), conntrack and rate-limit table use, flow events lost, and\n"
	  "    packets per verdict. Needs no running agent.\n\n"
	  "EXIT STATUS\n"
	  "    0 only when programs are attached and a policy is enforced; 3 otherwise.\n" },
	{ "stats",
	  "NAME\n"
	  "    ward stats - counters per rule, per default and per verdict\n\n"
	  "SYNOPSIS\n"
	  "    ward stats [--pin-path DIR] [--json]\n\n"
	  "DESCRIPTION\n"
	  "    Packets and bytes each rule decided, packets over each rule's rate limit, the\n"
	  "    defaults, and the reason every packet left (pass_rule, drop_default, drop_rate,\n"
	  "    ...). Rule counters start at zero with each published policy.\n\n"
	  "EXIT STATUS\n"
	  "    0; 3 when nothing is pinned.\n" },
	{ "check",
	  "NAME\n"
	  "    ward check - validate and compile a policy\n\n"
	  "SYNOPSIS\n"
	  "    ward check POLICY [--json] [--max-rules N]\n\n"
	  "DESCRIPTION\n"
	  "    Reports every error and warning of the policy at once, each located as\n"
	  "    FILE:LINE:COL: /json/pointer: value: reason, and what a valid policy compiles to.\n"
	  "    --max-rules: the value the agent runs with. Needs no privileges.\n\n"
	  "EXIT STATUS\n"
	  "    0 valid (warnings allowed); 1 invalid; 2 usage.\n" },
	{ "explain",
	  "NAME\n"
	  "    ward explain - the verdict for one flow, and why\n\n"
	  "SYNOPSIS\n"
	  "    ward explain POLICY --in|--out --src IP --dst IP --proto P [--sport N]\n"
	  "                 [--dport N | --icmp-type T] [--failsafe SPEC]... [--json]\n\n"
	  "DESCRIPTION\n"
	  "    Runs the first packet of the flow through the real programs (BPF_PROG_TEST_RUN on\n"
	  "    a private copy, nothing attached) and prints the verdict, the deciding rule (or\n"
	  "    the default), audit, and the rate limit that applies with its parameters. --json\n"
	  "    prints {verdict, rule, rate_limit, audit, direction, address_class}.\n\n"
	  "EXIT STATUS\n"
	  "    0; 1 invalid policy; 2 usage; 3 the programs could not be loaded.\n" },
	{ "flows",
	  "NAME\n"
	  "    ward flows - the agent's flow and audit records, readable\n\n"
	  "SYNOPSIS\n"
	  "    ward flows [--file PATH] [--follow] [--verdict allow|deny|rate|audit] [--rule ID]\n"
	  "               [--addr IP] [--json]\n\n"
	  "DESCRIPTION\n"
	  "    Reads the OCSF JSON lines of the agent's file sink (default\n"
	  "    /var/log/ward/flows.json), one line per record; --follow keeps reading as the\n"
	  "    agent writes, across rotations; --json prints the matching records unchanged.\n\n"
	  "EXIT STATUS\n"
	  "    0; 2 usage; 3 the file cannot be read.\n" },
	{ "detach",
	  "NAME\n"
	  "    ward detach - stop enforcing: remove programs, links and pins\n\n"
	  "SYNOPSIS\n"
	  "    ward detach [--pin-path DIR]\n\n"
	  "DESCRIPTION\n"
	  "    The only command that removes enforcement. Stop the agent (and its unit) first,\n"
	  "    or it attaches again.\n\n"
	  "EXIT STATUS\n"
	  "    0; 3 when nothing could be removed.\n" },
	{ "version",
	  "NAME\n"
	  "    ward version - the version of this binary and of its map layout (ABI)\n" },
};

const char *help__text(const char *cmd)
{
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		if (!strcmp(pages[i].cmd, cmd))
			return pages[i].text;
	return NULL;
}
