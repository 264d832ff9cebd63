// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Cost-split diagnostic for the per-packet benchmark: Ward's own parser and
 * its two policy lookups, one step at a time, on the very tables of a
 * loaded Ward instance (the harness points the outer maps and ward_lookup
 * at the instance's with bpf_map__reuse_fd, and sets probe_slot to its live
 * slot). Three programs:
 *   probe_parse  parse only
 *   probe_addr   parse + address lookup (remote address -> class chain)
 *   probe_full   parse + address lookup + port lookups over the class chain
 * Ward's full program minus probe_full is conntrack, counters and the rest.
 * Two more isolate what every untracked packet pays before the policy:
 *   probe_ktime   parse + one bpf_ktime_get_ns()
 *   probe_ctmiss  parse + a conntrack lookup that misses (probe_ct is the
 *                 instance's ward_ct, its key built as Ward builds it)
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "lib/parse.h"
#include "lib/lookup.h"

const volatile __u32 probe_slot = 0;

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

SEC("xdp")
int probe_parse(struct xdp_md *ctx)
{
	struct pkt p = {};

	return parse(ctx, &p) == PARSE_OK ? XDP_PASS : XDP_ABORTED;
}

SEC("xdp")
int probe_addr(struct xdp_md *ctx)
{
	__u32 slot = probe_slot;
	const struct ward_lookup *lk = bpf_map_lookup_elem(&ward_lookup, &slot);
	const struct ward_addr_val *av;
	struct policy_query *q;
	struct pkt p = {};

	if (parse(ctx, &p) != PARSE_OK || !lk)
		return XDP_ABORTED;
	q = policy_query_pkt(&p, WARD_DIR_INGRESS, probe_slot);
	if (!q)
		return XDP_ABORTED;
	av = policy_classify_addr(lk, q);
	return av && av->class_id[0] ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int probe_full(struct xdp_md *ctx)
{
	struct policy_query *q;
	struct pkt p = {};

	if (parse(ctx, &p) != PARSE_OK)
		return XDP_ABORTED;
	q = policy_query_pkt(&p, WARD_DIR_INGRESS, probe_slot);
	if (!q)
		return XDP_ABORTED;
	return ward_policy_lookup(q) && q->val.action == WARD_ACT_ALLOW ? XDP_PASS : XDP_DROP;
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
