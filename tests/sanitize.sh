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
#                                  longer run with the ASan agent; "all":
#                                  every suite tests/run.sh defines, in the
#                                  order of its `all` list, those outside it
#                                  (faults, ...) after, except the ones in
#                                  SANITIZE_SKIP (make test-sanitize-all)
#   SANITIZE_SKIP="sanitize fuzz valgrind"
#                                  never run by "all": this script itself,
#                                  the fuzzers (built with ASan already) and
#                                  valgrind (cannot run an ASan binary)
#   SANITIZE_NO_BUILD=1            use the binaries already there
#   LAB_SERVER_TIMEOUT=1200        the netns lab's listeners live longer than
#                                  with the plain build (tests/netns/lib.sh)
#
# Per suite two checks: "suite passes" and "no sanitizer report". Ends with
# "N passed, N failed" (N = checks); exit 1 on any failure. Needs root for
# every suite but unit, cli and records, like tests/run.sh. "all" takes
# 20 to 30 minutes on 2 CPUs.
#
# The whole script is one block, read before it runs: a run of half an hour
# survives an edit of this file.
{
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
B=${SANITIZE_BUILD:-build-asan}
SUITES=${SANITIZE_SUITES:-"unit cli records apply bpf ct rl"}
SKIP=${SANITIZE_SKIP:-"sanitize fuzz valgrind"}
# all_suites: the suites tests/run.sh defines (suite_NAME), those of its
# `all` line first and in that order; minus SKIP.
all_suites() {
	local s k out=
	for s in $(sed -n 's/^all) \(.*\);;$/\1/p' tests/run.sh | tr ';' '\n' | sed -n 's/^ *suite_\([a-z0-9_]*\) *$/\1/p') \
		$(sed -n 's/^suite_\([a-z0-9_]*\)() *{.*/\1/p' tests/run.sh); do
		for k in $SKIP $out; do [ "$s" = "$k" ] && continue 2; done
		out="$out $s"
	done
	echo "$out"
}
[ "$SUITES" = all ] && SUITES=$(all_suites)
case $B in build | build/ | "") echo "refusing SANITIZE_BUILD=$B: the plain build stays as it is"; exit 2 ;; esac
SAN=$ROOT/$B/san
P=0 F=0 T0=$SECONDS

check() { # DESC CMD...
	local d=$1
	shift
	if "$@"; then P=$((P + 1)); echo "ok   $d"; else F=$((F + 1)); echo "FAIL $d"; fi
}
finish() {
	echo "# $((SECONDS - T0)) s"
	echo "$P passed, $F failed"
	[ "$F" = 0 ]
	exit
}

# The binaries each suite needs.
BINS=("$B/ward" "$B/tests/test_policy" "$B/tests/test_config" "$B/tests/test_lookup" "$B/tests/test_bpf" "$B/tests/test_ct"
	"$B/tests/test_rl" "$B/tests/test_records" "$B/tests/rec_tool")
for s in $SUITES; do
	case $s in
	swap) BINS+=("$B/tests/test_swap") ;;
	model) BINS+=("$B/tests/test_model") ;;
	floodrec) BINS+=("$B/bench/bench_flood" "$B/bench/xdp_gen.bpf.o") ;; # the flood generator
	esac
done
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
# verify_asan_link_order=0: the faults suite preloads a shim of its own
# (tests/netns/wallclock_shift.c, clock functions only, no allocator) into
# the agent, ahead of the ASan runtime
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:verify_asan_link_order=0:log_path=$SAN/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$SAN/ubsan"
export BUILD=$B WARD=$ROOT/$B/ward
# the netns lab's listeners end by themselves after this many seconds: its
# default (400) is for the plain build, the lab takes longer with ASan
export LAB_SERVER_TIMEOUT=${LAB_SERVER_TIMEOUT:-1200}
for s in $SUITES; do
	rm -rf "$SAN"
	mkdir -p "$SAN"
	chmod 1777 "$SAN" # reports of processes a suite runs as another user (setpriv --reuid)
	rm -rf "$B/san-reports/$s"
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
}
