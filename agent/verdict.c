// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Names of verdict codes, as ward stats/status --json print them. */
#include "verdict.h"

const char *verdict__name(unsigned v)
{
	static const char *const names[WARD_V_MAX] = {
		[WARD_V_PASS_RULE] = "pass_rule",	  [WARD_V_PASS_DEFAULT] = "pass_default",
		[WARD_V_PASS_ARP] = "pass_arp",		  [WARD_V_PASS_ND] = "pass_nd",
		[WARD_V_PASS_AUDIT] = "pass_audit",	  [WARD_V_PASS_CT] = "pass_ct",
		[WARD_V_DROP_RULE] = "drop_rule",	  [WARD_V_DROP_DEFAULT] = "drop_default",
		[WARD_V_DROP_MALFORMED] = "drop_malformed", [WARD_V_DROP_NON_IP] = "drop_non_ip",
		[WARD_V_DROP_FRAGMENT] = "drop_fragment", [WARD_V_DROP_NOPOLICY] = "drop_nopolicy",
		[WARD_V_DROP_TCP_FLAGS] = "drop_tcp_flags", [WARD_V_DROP_RATE] = "drop_rate",
	};

	return v < WARD_V_MAX && names[v] ? names[v] : "?";
}
