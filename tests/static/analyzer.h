/* Force-included by clang's static analyzer (tests/static/run.sh), never by
 * the build. libbpf is not analysed with the agent, so the analyzer cannot
 * see that bpf_object__destroy_skeleton() frees the skeleton that bpftool's
 * generated ward_bpf__create_skeleton() allocates, and reports a leak on its
 * error path. Saying so here (with unix.DynamicMemoryModeling:Optimistic,
 * which makes the analyzer honour ownership attributes) keeps that generated
 * code analysed instead of ignored. */
#ifndef WARD_ANALYZER_H
#define WARD_ANALYZER_H
#include <bpf/libbpf.h>

void bpf_object__destroy_skeleton(struct bpf_object_skeleton *s)
	__attribute__((ownership_takes(malloc, 1)));
#endif
