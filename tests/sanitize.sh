#!/usr/bin/env bash
# The agent and the test binaries built with AddressSanitizer + UBSan (make
# SANITIZE=1) in their own build directory, and a bounded set of suites run
# against them: the suites' own checks must pass, and no sanitizer report may
# come from any process, the `ward` processes the suites start and hide
# included (every report goes to a log file, collected here).
#
#   SANITIZE_BUILD=build-asan      the build directory (never build/)
#   SANITIZE_SUITES="unit cli records apply bpf ct rl"
#                                  suites of tests/run.sh to run; add netns
#                                  (the lab, tests/netns/test_lab.sh) for a
#                                  longer run with the ASan agent
#   SANITIZE_NO_BUILD=1            use the binaries already there
#
# Per suite two checks: "suite passes" and "no sanitizer report". Ends with
# "N passed, N failed" (N = checks); exit 1 on any failure. Needs root for
# every suite but unit, cli and records, like tests/run.sh.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
B=${SANITIZE_BUILD:-build-asan}
SUITES=${SANITIZE_SUITES:-"unit cli records apply bpf ct rl"}
case $B in build | build/ | "") echo "refusing SANITIZE_BUILD=$B: the plain build stays as it is"; exit 2 ;; esac
SAN=$ROOT/$B/san
P=0 F=0

check() { # DESC CMD...
	local d=$1
	shift
	if "$@"; then P=$((P + 1)); echo "ok   $d"; else F=$((F + 1)); echo "FAIL $d"; fi
}
finish() {
	echo "$P passed, $F failed"
	[ "$F" = 0 ]
	exit
}

# The binaries each suite needs.
BINS=("$B/ward" "$B/tests/test_policy" "$B/tests/test_config" "$B/tests/test_bpf" "$B/tests/test_ct"
	"$B/tests/test_rl" "$B/tests/test_records" "$B/tests/rec_tool")
if [ "${SANITIZE_NO_BUILD:-0}" != 1 ]; then
	start=$SECONDS
	mkdir -p "$B"
	if make BUILD="$B" SANITIZE=1 -j"$(nproc)" "${BINS[@]}" >"$B/make.log" 2>&1; then
		check "make BUILD=$B SANITIZE=1 builds ward and the test binaries ($((SECONDS - start)) s)" true
	else
		tail -n 30 "$B/make.log"
		check "make BUILD=$B SANITIZE=1 builds ward and the test binaries (log $B/make.log)" false
		finish
	fi
fi
check "ward is built with ASan and UBSan" \
	eval 'nm "$B/ward" 2>/dev/null | grep -q __asan_init && nm "$B/ward" | grep -q __ubsan_handle'

ulimit -c 0 # abort_on_error: no core files
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$SAN/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$SAN/ubsan"
export BUILD=$B WARD=$ROOT/$B/ward
for s in $SUITES; do
	rm -rf "$SAN"
	mkdir -p "$SAN"
	start=$SECONDS
	tests/run.sh "$s" >"$B/sanitize-$s.log" 2>&1
	rc=$?
	counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$B/sanitize-$s.log" | tail -1)
	check "suite $s passes with the sanitized binaries (${counts:-no count}, $((SECONDS - start)) s, log $B/sanitize-$s.log)" \
		test "$rc" = 0
	[ "$rc" = 0 ] || grep -E '^(not ok|FAIL)' "$B/sanitize-$s.log" | head -10 | sed 's/^/#   /'
	reports=$(find "$SAN" -type f -size +0 | sort)
	if [ -n "$reports" ]; then
		mkdir -p "$B/san-reports/$s"
		cp $reports "$B/san-reports/$s/"
		for r in $reports; do
			echo "# --- $(basename "$r")"
			grep -m1 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$r" | sed 's/^/#   /'
			grep -m1 -E '^SUMMARY:' "$r" | sed 's/^/#   /'
		done
	fi
	check "suite $s: no ASan/LSan/UBSan report from any process (reports kept in $B/san-reports/$s)" \
		test -z "$reports"
done
finish
