#!/usr/bin/env bash
# Flow-record throughput (make bench): records/s the agent's pipeline writes
# per sink on one core, and what happens above it (counted loss, never a
# stall). build/tests/rec_tool drives the real pipeline (agent/rec_*.c,
# agent/sink_*.c): one producer, the writer thread, the sink.
#
#   records.sh OUT_MD OUT_TSV COUNT
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT_MD=${1:?out.md}
OUT_TSV=${2:?out.tsv}
COUNT=${3:-1000000}
TOOL=build/tests/rec_tool
D=$(mktemp -d /tmp/ward-bench-records.XXXXXX)
trap 'rm -rf "$D"' EXIT
CPU=${BENCH_REC_CPU:-1}

# run LABEL SINK [rec_tool args]: "rate written lost"
run() {
	local label=$1 sink=$2 out
	shift 2
	rm -rf "$D/f"
	mkdir -p "$D/f"
	# rec_tool exits non-zero when records were lost: that is a result here
	out=$(taskset -c "$CPU" "$TOOL" --sink "$sink" --count "$COUNT" --seed 7 "$@" 2>&1) || true
	local rate written lost
	rate=$(sed -n 's/^rate \([0-9.]*\) records\/s.*/\1/p' <<<"$out" | tail -n 1)
	written=$(sed -n 's/^emitted [0-9]* written \([0-9]*\) lost \([0-9]*\)$/\1/p' <<<"$out")
	lost=$(sed -n 's/^emitted [0-9]* written [0-9]* lost \([0-9]*\)$/\1/p' <<<"$out")
	# the sink's throughput: records written per second of the run (rec_tool's
	# rate is emitted/s; with losses the two differ)
	rate=$(awk -v r="$rate" -v w="$written" -v n="$COUNT" 'BEGIN { printf "%.0f", (r > 0 ? w * r / n : 0) }')
	echo "$rate ${written:-?} ${lost:-?}"
	printf 'records\t%s\trate=%s\twritten=%s\tlost=%s\n' "$label" "$rate" "$written" "$lost" >>"$OUT_TSV"
}

{
	echo "## Flow records (agent pipeline, one core)"
	echo
	echo "$COUNT synthetic records of every kind (IPv4 and IPv6) through the real pipeline and sink,"
	echo "producer and writer thread pinned to CPU $CPU (\`build/tests/rec_tool\`); written/s = records"
	echo "written / wall time, first emit to last byte written. Unpaced runs emit as fast as the"
	echo "producer can, faster than any sink, so the queue overflows and the excess is counted lost:"
	echo "written/s is then the sink's capacity. Paced runs emit at a fixed rate: below the"
	echo "sink's capacity nothing may be lost; above it the queue overflows and every record that"
	echo "could not be written is counted (written + lost = emitted) and reported in-band."
	echo
	echo "| sink | format | offered | written/s | written | lost |"
	echo "|---|---|---|---|---|---|"
	read -r r w l < <(run file-ocsf "file:$D/f/flows.json")
	echo "| file | OCSF | as fast as possible | ${r%.*} | $w | $l |"
	read -r r w l < <(run file-ecs "file:$D/f/flows.json,format=ecs")
	echo "| file | ECS | as fast as possible | ${r%.*} | $w | $l |"
	read -r r w l < <(run file-rotate "file:$D/f/flows.json,max_bytes=67108864,keep=4,gzip=1")
	echo "| file, rotation 64 MiB + gzip | OCSF | as fast as possible | ${r%.*} | $w | $l |"
	read -r r w l < <(run paced-100k "file:$D/f/flows.json" --rate 100000)
	echo "| file | OCSF | 100,000/s (target) | ${r%.*} | $w | $l |"
	read -r r w l < <(run paced-400k "file:$D/f/flows.json" --rate 400000 --depth 4096)
	echo "| file, queue 4,096 | OCSF | 400,000/s (overload) | ${r%.*} | $w | $l |"
	echo
} >>"$OUT_MD"
