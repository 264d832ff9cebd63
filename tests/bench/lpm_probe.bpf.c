// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Cost-split diagnostic for the per-packet benchmark: Ward's own parser and
 * its two trie lookups, one step at a time, on the very maps of a loaded
 * Ward instance (the harness points probe_addrs/probe_rules at the live
 * slot's ward_addrs_N/ward_rules_N with bpf_map__reuse_fd). Three programs:
 *   probe_parse  parse only
 *   probe_addr   parse + address LPM (remote address -> class chain)
 *   probe_full   parse + address LPM + rule LPM over the class chain
 * Ward's full program minus probe_full is conntrack, counters and the rest.
 * Two more isolate what every untracked packet pays before the policy:
 *   probe_ktime   parse + one bpf_ktime_get_ns()
 *   probe_ctmiss  parse + a conntrack lookup that misses (probe_ct is the
 *                 instance's ward_ct, its key built as Ward builds it)
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "lib/parse.h"
#include "lib/chain.h"

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, WARD_MAX_PREFIXES);
	__type(key, struct ward_addr_key);
	__type(value, struct ward_addr_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} probe_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, WARD_MAX_POLICY_ENT);
	__type(key, struct ward_rule_key);
	__type(value, struct ward_rule_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} probe_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct ward_ct_key);
	__type(value, struct ward_ct_val);
} probe_ct SEC(".maps");

static __always_inline int parse(struct xdp_md *ctx, struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	return parse_packet(data, data_end, data_end - data, 0, p);
}

static __always_inline struct ward_addr_val *classify(const struct pkt *p)
{
	struct ward_addr_key k = {};

	k.family = p->family;
	k.prefixlen = WARD_ADDR_KEY_BITS(p->family == WARD_FAM_V6);
	__builtin_memcpy(k.addr, p->src, 16);
	return bpf_map_lookup_elem(&probe_addrs, &k);
}

SEC("xdp")
int probe_parse(struct xdp_md *ctx)
{
	struct pkt p = {};

	return parse(ctx, &p) == PARSE_OK ? XDP_PASS : XDP_ABORTED;
}

SEC("xdp")
int probe_addr(struct xdp_md *ctx)
{
	struct pkt p = {};

	if (parse(ctx, &p) != PARSE_OK)
		return XDP_ABORTED;
	return classify(&p) ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int probe_full(struct xdp_md *ctx)
{
	struct ward_rule_key k = {};
	struct ward_rule_val *v;
	struct ward_addr_val *av;
	struct pkt p = {};
	__u32 cls;

	if (parse(ctx, &p) != PARSE_OK)
		return XDP_ABORTED;
	av = classify(&p);
	if (!av)
		return XDP_DROP;
	k.prefixlen = WARD_RULE_KEY_BITS_FULL;
	k.dir = WARD_DIR_INGRESS;
	k.proto = p.proto;
	k.port = bpf_htons(p.dport);
	v = policy_rules_chain(&probe_rules, av, &k, &cls);
	return v && v->action == WARD_ACT_ALLOW ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int probe_ktime(struct xdp_md *ctx)
{
	struct pkt p = {};

	if (parse(ctx, &p) != PARSE_OK)
		return XDP_ABORTED;
	return bpf_ktime_get_ns() ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int probe_ctmiss(struct xdp_md *ctx)
{
	struct ward_ct_key k = {};
	struct pkt p = {};

	if (parse(ctx, &p) != PARSE_OK)
		return XDP_ABORTED;
	k.family = p.family;
	k.proto = p.proto;
	__builtin_memcpy(k.raddr, p.src, 16);
	__builtin_memcpy(k.laddr, p.dst, 16);
	k.rport = bpf_htons(p.sport);
	k.lport = bpf_htons(p.dport);
	return bpf_map_lookup_elem(&probe_ct, &k) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
