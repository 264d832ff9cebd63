#!/usr/bin/env bash
# ward suggest and ward replay on a day of flow records from a busy node
# (issue 10: "10 million records processed in minutes with bounded memory").
#
#   tests/bench/suggest_bench.sh [RECORDS]     (default 10000000)
#
# Generates the records once with tests/bench/gen_flows.py (10 rotated gzip
# files, ~1.1 KB a record uncompressed; kept in $BENCH_DIR, default
# /tmp/ward-suggest-bench, and reused while RECORDS and the generator are
# unchanged), then runs, each under /usr/bin/time -v:
#   ward suggest --flows FILES... -o suggested.json
#   ward replay suggested.json --flows FILES...
# and prints records/s and max RSS for each, and the size of the input.
# Needs root (replay and suggest's verification run the real programs).
set -euo pipefail
cd "$(dirname "$0")/../.."
RECORDS=${1:-${RECORDS:-10000000}}
WARD=${WARD:-build/ward}
DIR=${BENCH_DIR:-/tmp/ward-suggest-bench}
GEN=tests/bench/gen_flows.py
[ -x "$WARD" ] || { echo "suggest_bench: no $WARD (make first)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "suggest_bench: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

stamp="$RECORDS $(sha256sum "$GEN" | cut -c1-16)"
if [ "$(cat "$DIR/.stamp" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$DIR"
	mkdir -p "$DIR"
	echo "generating $RECORDS records in $DIR ..." >&2
	start=$(date +%s)
	python3 "$GEN" --out "$DIR" --records "$RECORDS" --files 10 2>/dev/null
	echo "$stamp" >"$DIR/.stamp"
	echo "generated in $(($(date +%s) - start)) s" >&2
fi
files=("$DIR"/flows.json.*.gz)
gz_bytes=$(du -cb "${files[@]}" | tail -1 | cut -f1)

# run NAME CMD...: time and max RSS of CMD (its exit status 0 or 4 is fine)
run() {
	local name=$1 log rc
	shift
	log=$DIR/$name.time
	set +e
	/usr/bin/time -v "$@" >"$DIR/$name.out" 2>"$log"
	rc=$?
	set -e
	if [ "$rc" != 0 ] && [ "$rc" != 4 ]; then
		echo "suggest_bench: $name failed (exit $rc):" >&2
		tail -5 "$log" >&2
		exit 1
	fi
	local wall rss
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {
		n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$log")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
	awk -v n="$name" -v r="$RECORDS" -v w="$wall" -v m="$rss" 'BEGIN {
		printf "%-8s %12d records %8.1f s %12.0f records/s  max RSS %7.1f MiB\n", n, r, w, r / w, m / 1024 }'
}

echo "input: $RECORDS records in ${#files[@]} gzip files, $((gz_bytes / 1048576)) MiB compressed"
run suggest "$WARD" suggest --flows "${files[@]}" -o "$DIR/suggested.json"
grep -E "rules|flow records used" "$DIR/suggest.time" | sed 's/^/  /'
run replay "$WARD" replay "$DIR/suggested.json" --flows "${files[@]}"
grep -E "flows:" "$DIR/replay.out" | sed 's/^/  /'
