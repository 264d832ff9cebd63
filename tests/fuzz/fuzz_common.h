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

/*
 * Known, reported divergences that a long exploratory run may step over:
 * WARD_FUZZ_KNOWN=tok1,tok2 (or "all"). make test runs with none set.
 */
bool fuzz_known(const char *tok);
/* An input that only reaches a known bug that cannot be stepped over inside
 * the target (a crash in the agent code): "empty-rules". */
bool fuzz_skip_known_input(const uint8_t *data, size_t size);

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

/* ---- packets derived from a policy ----------------------------------------- */
struct fpkt {
	int dir;             /* enum ward_dir */
	struct pkt_spec s;
};
/*
 * Up to max packets aimed at the policy's edges: addresses at the first and
 * last address of its CIDRs and excepts and just outside them, protocols of
 * its rules, ports / ICMP types at the ends of its ranges and next to them.
 * Deterministic for a given rng state. Returns the number written.
 */
size_t fuzz_derive_packets(const struct policy *p, struct frng *rng, struct fpkt *out,
			   size_t max);

/*
 * The datapath's decision (bpf/ward.bpf.c ward_decide + bpf/lib/policy.h)
 * computed in userspace over the compiled entries: longest-prefix match on
 * the address entries, then on the rule entries along the class chain.
 * Fills verdict / rule_idx / audit / pass of r like ref_eval().
 */
void fuzz_sim_decide(const struct compiled *c, int dir, const struct pkt_spec *s,
		     struct ref_result *r);

/* pass, verdict, deciding rule and audit flag of two results are equal */
bool fuzz_same_result(const struct ref_result *a, const struct ref_result *b);
void fuzz_print_result(const char *who, const struct policy *p, const struct ref_result *r);
void fuzz_print_pkt(const struct fpkt *k);
/* Check every derived packet: simulation of the compiled entries == model. */
void fuzz_check_sim(const struct policy *p, const struct compiled *c, struct frng *rng,
		    const char *src);

/* ---- frame model (docs/policy.md, Semantics 6) ----------------------------- */
enum fm_class {
	FM_OK = 0,    /* IPv4/IPv6, l4 fields read: decided by the policy */
	FM_ARP,       /* passes                                          */
	FM_NON_IP,    /* dropped: other ethertype                        */
	FM_MALFORMED, /* dropped: truncated / inconsistent headers       */
	FM_FRAGMENT,  /* dropped: non-first fragment                     */
	FM_TCP_FLAGS, /* dropped: a TCP flag combination no stack sends  */
};

/*
 * Interpretations where docs/policy.md leaves room and the datapath chose
 * the narrower reading. Strict (0) is the document read literally; each
 * FM_LAX_* bit switches the model to what the datapath does today, so a
 * long fuzz run can get past a known, reported divergence
 * (WARD_FUZZ_LAX=tcp-options,ext-fit, or =all).
 */
#define FM_LAX_TCP_OPTIONS 0x1 /* TCP header = 20 bytes, options need not fit    */
#define FM_LAX_EXT_FIT     0x2 /* an IPv6 extension header need not fit whole     */
unsigned fuzz_lax_from_env(void);

struct fm_result {
	enum fm_class cls;
	struct pkt_spec spec; /* family, src, dst, proto, sport, dport (ICMP type) */
	const char *why;      /* for reports: which rule of item 6               */
	int vlans, exthdrs;
	uint8_t alt_verdict;  /* another acceptable drop reason, WARD_V_MAX = none */
	size_t l4off;         /* FM_OK: offset of the l4 header in the frame        */
};

/* dir: enum ward_dir (egress accepts IP lengths of 0, BIG TCP) */
void frame_model(const uint8_t *f, size_t len, int dir, unsigned lax, struct fm_result *r);
/* The TCP flag combinations docs/policy.md drops (drop_tcp_flags). */
bool fm_tcp_flags_illegal(uint8_t flags);
/* The ward_verdict the datapath must report for a frame the model classified
 * as cls (not FM_OK). */
uint8_t fm_verdict(enum fm_class cls);
const char *fm_class_name(enum fm_class cls);

/* Hex dump of a frame to stderr (reports). */
void fuzz_hexdump(const uint8_t *f, size_t len);

#endif
