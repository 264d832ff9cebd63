#!/usr/bin/env bash
# One runner for every suite. Prints each suite's result and ends with the
# line "N passed, N failed" (N = suites). A suite that cannot run fails.
set -u
cd "$(dirname "$0")/.."
which=${1:-all}
BUILD=${BUILD:-build}
passed=0
failed=0
failed_names=()

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "FAIL $1: needs root (BPF, network namespaces); run make test as root"
		return 1
	fi
	if ! mountpoint -q /sys/fs/bpf; then
		mount -t bpf bpf /sys/fs/bpf || { echo "FAIL $1: cannot mount bpffs"; return 1; }
	fi
}

run_suite() {
	local name=$1; shift
	local log="$BUILD/tests/$name.log" start=$SECONDS rc
	mkdir -p "$BUILD/tests"
	echo "=== suite $name: $*"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "=== suite $name: PASS ($((SECONDS - start)) s)"
	else
		failed=$((failed + 1))
		failed_names+=("$name")
		echo "=== suite $name: FAIL (exit $rc, $((SECONDS - start)) s, log $log)"
	fi
}

suite_unit()  { run_suite unit "$BUILD/tests/test_policy"; }
suite_bpf()   { need_root bpf && run_suite bpf "$BUILD/tests/test_bpf" || { failed=$((failed + 1)); failed_names+=(bpf); }; }
suite_model() { need_root model && run_suite model "$BUILD/tests/test_model" || { failed=$((failed + 1)); failed_names+=(model); }; }
suite_netns() { need_root netns && run_suite netns tests/netns/test_lab.sh || { failed=$((failed + 1)); failed_names+=(netns); }; }
suite_cli()   { run_suite cli tests/cli/test_cli.sh; }

case $which in
all) suite_unit; suite_cli; suite_bpf; suite_model; suite_netns ;;
unit) suite_unit ;;
cli) suite_cli ;;
bpf) suite_bpf ;;
model) suite_model ;;
netns) suite_netns ;;
*) echo "usage: tests/run.sh [all|unit|cli|bpf|model|netns]"; exit 2 ;;
esac

echo
[ $failed -gt 0 ] && echo "failed suites: ${failed_names[*]}"
echo "suites: $passed passed, $failed failed"
exit $((failed > 0))
