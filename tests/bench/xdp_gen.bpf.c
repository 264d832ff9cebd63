// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flood generator: run with BPF_PROG_TEST_RUN and BPF_F_TEST_XDP_LIVE_FRAMES,
 * every run turns the test frame into a live XDP frame and redirects it into
 * one end of a veth pair, so the other end receives real xdp_frames through
 * its NAPI ring (no skb is built on the sending side).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 target_ifindex = 0;
/* > 1: rotate the IPv4 source over this many addresses (low 16 bits), with
 * the header checksum patched; the template's UDP checksum must be 0. */
const volatile __u32 nsources = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} gen_seq SEC(".maps");

static __always_inline __u16 csum_fold32(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

SEC("xdp")
int xdp_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *ip = data + 14;

	if (nsources > 1 && (void *)(ip + 20) <= data_end && ip[0] == 0x45) {
		__u32 zero = 0;
		__u64 *seq = bpf_map_lookup_elem(&gen_seq, &zero);
		__u16 *w = (__u16 *)(ip + 14); /* low 16 bits of saddr */
		__u16 *csum = (__u16 *)(ip + 10);
		__u16 old, new;

		if (!seq)
			return XDP_ABORTED;
		old = *w;
		new = __builtin_bswap16((__u16)(*seq % nsources));
		(*seq)++;
		/* RFC 1624: HC' = ~(~HC + ~m + m') */
		*csum = ~csum_fold32((__u16)~*csum + (__u16)~old + new);
		*w = new;
	}
	return bpf_redirect(target_ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
