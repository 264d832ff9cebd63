/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef WARD_VERDICT_H
#define WARD_VERDICT_H

#include "ward/abi.h"

/* "pass_rule", "drop_default", ... for enum ward_verdict; "?" if unknown. */
const char *verdict__name(unsigned v);

#endif
