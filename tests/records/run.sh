#!/usr/bin/env bash
# Suite "records": the record renderers and sinks. Runs the cmocka unit
# tests, then every tests/records/test_*.sh (real receivers: rsyslog,
# nfcapd, tshark), and ends with "N passed, N failed" over all checks.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
p=0 f=0
add() { # log file of one part; rc
	local line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -1)
	if [ -n "$line" ]; then
		p=$((p + $(echo "$line" | cut -d' ' -f1)))
		f=$((f + $(echo "$line" | cut -d' ' -f3)))
	else
		p=$((p + $(grep -E '^\[  PASSED  \] [0-9]+ test' "$1" | awk '{s+=$4} END {print s+0}')))
		f=$((f + $(grep -E '^\[  FAILED  \] [0-9]+ test' "$1" | awk '{s+=$4} END {print s+0}')))
	fi
	[ "$2" -ne 0 ] && [ "$f" -eq 0 ] && f=1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BUILD/tests/test_records" 2>&1 | tee "$tmp/unit.log"
add "$tmp/unit.log" "${PIPESTATUS[0]}"
for t in tests/records/test_*.sh; do
	[ -e "$t" ] || continue
	echo "--- $t"
	bash "$t" 2>&1 | tee "$tmp/part.log"
	add "$tmp/part.log" "${PIPESTATUS[0]}"
done
echo "$p passed, $f failed"
[ "$f" -eq 0 ]
