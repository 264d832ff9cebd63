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

SEC("xdp")
int xdp_gen(struct xdp_md *ctx)
{
	return bpf_redirect(target_ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
