#!/usr/bin/env bash
# Bounded fuzzing, as run by make test. For every target: replay each input
# of tests/fuzz/regressions/<target>/ (a crash found once stays a test),
# then fuzz for FUZZ_SECONDS from the seeds of tests/fuzz/corpus/<target>/
# plus the working corpus kept in $BUILD/fuzz/run/<target>/corpus.
# Prints one line per target and ends with "N passed, N failed" (N =
# targets). Exit 1 on any crash, leak, sanitizer report or property
# violation.
#
#   FUZZ_SECONDS=24        fuzzing time per target (seconds); 5 targets keep
#                          make test's share under 3 minutes
#   FUZZ_TARGETS="..."     a subset of: fuzz_policy fuzz_policy_semantic
#                          fuzz_packet fuzz_packet_ct fuzz_config
#   FUZZ_PROMOTE=1         copy new crash inputs into tests/fuzz/regressions/<target>/
#   WARD_FUZZ_KNOWN, WARD_FUZZ_LAX   step over known divergences (see
#                          tests/fuzz/README.md); unset in make test
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-24}
FUZZ_TARGETS=${FUZZ_TARGETS:-"fuzz_policy fuzz_policy_semantic fuzz_packet fuzz_packet_ct fuzz_config"}
work=$BUILD/fuzz/run
passed=0
failed=0

opts_for() {
	case $1 in
	fuzz_policy) echo "-dict=tests/fuzz/policy.dict -max_len=4096" ;;
	fuzz_policy_semantic) echo "-dict=tests/fuzz/policy.dict -max_len=16384" ;;
	fuzz_packet) echo "-max_len=1600" ;;
	fuzz_packet_ct) echo "-max_len=1200" ;;
	fuzz_config) echo "-dict=tests/fuzz/config.dict -max_len=4096" ;;
	esac
}

needs_root() { [ "$1" != fuzz_policy ] && [ "$1" != fuzz_config ]; }

# The line of a libFuzzer log that says what went wrong.
what_failed() {
	local log=$1 s
	s=$(grep -m1 -A1 '^==== WARD FUZZ PROPERTY VIOLATED' "$log" | tail -1)
	[ -z "$s" ] && s=$(grep -m1 -E '^SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer|libFuzzer)' "$log")
	[ -z "$s" ] && s=$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log")
	[ -z "$s" ] && s=$(tail -1 "$log")
	echo "$s"
}

fail() {
	failed=$((failed + 1))
	echo "FAIL $*"
}

run_target() {
	local t=$1 bin=$BUILD/fuzz/$1 dir=$work/$1 start=$SECONDS
	local regs=() bad=() f rc execs rate corpus art
	if [ ! -x "$bin" ]; then
		fail "$t: $bin is not built (make fuzz)"
		return
	fi
	if needs_root "$t" && [ "$(id -u)" -ne 0 ]; then
		fail "$t: needs root (BPF_PROG_TEST_RUN)"
		return
	fi
	if needs_root "$t" && ! mountpoint -q /sys/fs/bpf; then
		mount -t bpf bpf /sys/fs/bpf 2>/dev/null
	fi
	mkdir -p "$dir/corpus" "$dir/artifacts" "$dir/regressions"

	# 1. regressions: each input once, on its own
	for f in tests/fuzz/regressions/"$t"/*; do
		[ -f "$f" ] || continue
		regs+=("$f")
		if ! "$bin" "$f" >"$dir/regressions/$(basename "$f").log" 2>&1; then
			bad+=("$f")
		fi
	done
	for f in "${bad[@]+"${bad[@]}"}"; do
		echo "  $t: regression $f: $(what_failed "$dir/regressions/$(basename "$f").log")"
	done

	# 2. fuzz
	rm -f "$dir"/artifacts/*
	# shellcheck disable=SC2046
	"$bin" $(opts_for "$t") -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=4096 \
		-print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
		"$dir/corpus" tests/fuzz/corpus/"$t" >"$dir/fuzz.log" 2>&1
	rc=$?
	execs=$(awk '/^stat::number_of_executed_units:/ {print $2}' "$dir/fuzz.log")
	rate=$(awk '/^stat::average_exec_per_sec:/ {print $2}' "$dir/fuzz.log")
	[ -z "$execs" ] && execs=$(grep -oE '^#[0-9]+' "$dir/fuzz.log" | tail -1 | tr -d '#')
	corpus=$(find "$dir/corpus" -type f | wc -l)
	art=$(find "$dir/artifacts" -type f | head -1)
	if [ -n "$art" ] && [ "${FUZZ_PROMOTE:-0}" = 1 ]; then
		cp "$art" tests/fuzz/regressions/"$t"/
		echo "  $t: promoted $art to tests/fuzz/regressions/$t/"
	fi

	local summary="$((SECONDS - start)) s, ${execs:-0} execs (${rate:-0}/s), corpus $corpus, ${#regs[@]} regressions replayed"
	if [ "$rc" -ne 0 ]; then
		fail "$t: $summary; crash: $(what_failed "$dir/fuzz.log"); input ${art:-?}, log $dir/fuzz.log"
	elif [ ${#bad[@]} -gt 0 ]; then
		fail "$t: $summary; ${#bad[@]} regression(s) fail, logs in $dir/regressions/"
	else
		passed=$((passed + 1))
		echo "PASS $t: $summary"
	fi
}

for t in $FUZZ_TARGETS; do
	run_target "$t"
done
echo "$passed passed, $failed failed"
exit $((failed > 0))
