#!/usr/bin/env bash
# make bench: every benchmark, peers measured in the same run, results in
# build/bench/results.md (docs/benchmarks.md explains method and numbers).
# BENCH_QUICK=1 for a few-minute run.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (BPF_PROG_TEST_RUN)"; exit 1; }
make -s build/bench/bench_policy build/bench/empty.bpf.o
rounds=${BENCH_ROUNDS:-15}
max=${BENCH_MAX_RULES:-100000}
if [ "${BENCH_QUICK:-0}" = 1 ]; then rounds=5; max=10000; fi
out=build/bench/results.md
{
	echo "# Ward benchmark results"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%MZ), kernel $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	echo
	./build/bench/bench_policy "$rounds" "$max"
} | tee "$out"
echo "results: $out"
