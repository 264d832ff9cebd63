/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared by the libFuzzer targets of tests/fuzz: the contract checks on
 * diagnostics and compiled policies, a seedable RNG, the userspace frame
 * model of docs/policy.md ("Semantics", item 6) and failure reporting.
 * A violated property calls fuzz_fail(), which prints what differs and
 * aborts: libFuzzer saves the input as a crash artifact.
 */
#ifndef WARD_FUZZ_COMMON_H
#define WARD_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ward/abi.h"
#include "policy.h"
#include "pktgen.h"
#include "policy_ref.h"

/* ---- failure ------------------------------------------------------------ */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#define FUZZ_ASSERT(cond, ...)                  \
	do {                                    \
		if (!(cond))                    \
			fuzz_fail(__VA_ARGS__); \
	} while (0)

/* ---- RNG (splitmix64), deterministic per input --------------------------- */
struct frng {
	uint64_t s;
};
uint64_t frng_next(struct frng *r);
uint32_t frng_below(struct frng *r, uint32_t n); /* 0..n-1, 0 if n == 0 */
bool frng_chance(struct frng *r, unsigned pct);
uint64_t fuzz_hash(const uint8_t *data, size_t len); /* FNV-1a */

/* ---- contracts ------------------------------------------------------------ */
/*
 * Every diag: non-NULL pointer that is an RFC 6901 pointer ("" or "/..."
 * with only ~0 / ~1 escapes), a non-empty reason, line/col both 0 or both
 * >= 1 and inside the text; nerrors + nwarnings == n and they match the
 * warning flags. With doc != NULL (the document parsed as JSON): a pointer
 * that names a value of the document is located (line >= 1), at a
 * position where a JSON value starts. Also prints them (to a memory
 * stream), which must not crash.
 */
void fuzz_check_diags(const struct diags *d, const char *text, size_t len, bool locate);

/*
 * A compiled policy is internally consistent: every rule entry credits a
 * rule of p, prefix lengths are in range, key bits past the prefix are
 * zero, class ids are < nclasses, rate-limit slots exist, cfg mirrors p.
 */
void fuzz_check_compiled(const struct policy *p, const struct compiled *c);

/* ---- frame model (docs/policy.md, Semantics 6) ----------------------------- */
enum fm_class {
	FM_OK = 0,    /* IPv4/IPv6, l4 fields read: decided by the policy */
	FM_ARP,       /* passes                                          */
	FM_NON_IP,    /* dropped: other ethertype                        */
	FM_MALFORMED, /* dropped: truncated / inconsistent headers       */
	FM_FRAGMENT,  /* dropped: non-first fragment                     */
};

/*
 * Interpretations where docs/policy.md leaves room and the datapath chose
 * the narrower reading. Strict (0) is the document read literally; each
 * FM_LAX_* bit switches the model to what the datapath does today, so a
 * long fuzz run can get past a known, reported divergence
 * (WARD_FUZZ_LAX=tcp-options,ext-fit,icmp-hdr, or =all).
 */
#define FM_LAX_TCP_OPTIONS 0x1 /* TCP header = 20 bytes, options need not fit    */
#define FM_LAX_EXT_FIT     0x2 /* an IPv6 extension header need not fit whole     */
#define FM_LAX_ICMP_HDR    0x4 /* ICMP/ICMPv6 header = its first 2 bytes          */
unsigned fuzz_lax_from_env(void);

struct fm_result {
	enum fm_class cls;
	struct pkt_spec spec; /* family, src, dst, proto, sport, dport (ICMP type) */
	const char *why;      /* for reports: which rule of item 6               */
	int vlans, exthdrs;
};

void frame_model(const uint8_t *f, size_t len, unsigned lax, struct fm_result *r);
/* The ward_verdict the datapath must report for a frame the model classified
 * as cls (not FM_OK). */
uint8_t fm_verdict(enum fm_class cls);
const char *fm_class_name(enum fm_class cls);

/* Hex dump of a frame to stderr (reports). */
void fuzz_hexdump(const uint8_t *f, size_t len);

#endif
