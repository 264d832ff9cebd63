#!/usr/bin/env bash
# One runner for every suite. Prints each suite's result and ends with the
# line "N passed, N failed" (N = suites). A suite that cannot run fails.
set -u
cd "$(dirname "$0")/.."
which=${1:-all}
BUILD=${BUILD:-build}
passed=0
failed=0
tests_passed=0
tests_failed=0
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
	count_tests "$log" "$rc"
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "=== suite $name: PASS ($((SECONDS - start)) s)"
	else
		failed=$((failed + 1))
		failed_names+=("$name")
		echo "=== suite $name: FAIL (exit $rc, $((SECONDS - start)) s, log $log)"
	fi
}

# Add a suite's own test counts ("N passed, N failed", or cmocka's summary).
count_tests() {
	local log=$1 rc=$2 line p f
	line=$(grep -E '(^|: )[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -n "$line" ]; then
		p=$(echo "$line" | sed -E 's/.*(^|: )([0-9]+) passed, ([0-9]+) failed.*/\2/')
		f=$(echo "$line" | sed -E 's/.*(^|: )([0-9]+) passed, ([0-9]+) failed.*/\3/')
	else
		p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
		f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')
	fi
	[ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ] && f=1 # a crash counts as a failure
	tests_passed=$((tests_passed + ${p:-0}))
	tests_failed=$((tests_failed + ${f:-0}))
}

cannot_run() {
	failed=$((failed + 1)); failed_names+=("$1"); tests_failed=$((tests_failed + 1))
}

suite_unit()  { run_suite unit "$BUILD/tests/test_policy"; run_suite config "$BUILD/tests/test_config"; run_suite lookup "$BUILD/tests/test_lookup"; }
suite_apply() { need_root apply && run_suite apply tests/cli/test_apply.sh || cannot_run apply; }
suite_bpf()   { need_root bpf && run_suite bpf "$BUILD/tests/test_bpf" || cannot_run bpf; }
suite_ct()    { need_root ct && run_suite ct "$BUILD/tests/test_ct" || cannot_run ct; }
suite_rl()    { need_root rl && run_suite rl "$BUILD/tests/test_rl" || cannot_run rl; }
suite_hotplug() { need_root hotplug && run_suite hotplug tests/netns/test_hotplug.sh || cannot_run hotplug; }
suite_systemd() { need_root systemd && run_suite systemd tests/netns/test_systemd.sh || cannot_run systemd; }
suite_flows() { need_root flows && run_suite flows tests/netns/test_flows.sh || cannot_run flows; }
suite_reload() { need_root reload && run_suite reload tests/netns/test_reload.sh || cannot_run reload; }
suite_floodrec() { need_root floodrec && run_suite floodrec tests/netns/test_flood_records.sh || cannot_run floodrec; }
suite_metrics() { need_root metrics && run_suite metrics tests/netns/test_metrics.sh || cannot_run metrics; }
suite_rollout() { need_root rollout && run_suite rollout tests/netns/test_rollout.sh || cannot_run rollout; }
suite_deploy() { need_root deploy && run_suite deploy tests/cli/test_deploy.sh || cannot_run deploy; }
suite_faults() { need_root faults && run_suite faults tests/netns/test_faults.sh || cannot_run faults; }
suite_hardening() { need_root hardening && run_suite hardening tests/cli/test_hardening.sh || cannot_run hardening; }
# the agent and tests built with ASan/UBSan in build-asan, a bounded set of suites
suite_sanitize() { need_root sanitize && run_suite sanitize env SANITIZE_SUITES="${SANITIZE_SUITES:-unit cli bpf ct}" tests/sanitize.sh || cannot_run sanitize; }
# the agent of a plain build under valgrind's memcheck in a reduced lab: no error, no leak
suite_valgrind() { need_root valgrind && run_suite valgrind tests/valgrind.sh || cannot_run valgrind; }
suite_adopt() { need_root adopt && run_suite adopt tests/netns/test_adopt.sh || cannot_run adopt; }
suite_ratelimit() { need_root ratelimit && run_suite ratelimit tests/netns/test_ratelimit.sh || cannot_run ratelimit; }
suite_swap()  { need_root swap && run_suite swap "$BUILD/tests/test_swap" || cannot_run swap; }
suite_fuzz()  { need_root fuzz && run_suite fuzz tests/fuzz/run.sh || cannot_run fuzz; }
suite_model() { need_root model && run_suite model "$BUILD/tests/test_model" --seed "${WARD_MODEL_SEED:-20261128}" --quiet || cannot_run model; }
suite_netns() { need_root netns && run_suite netns tests/netns/test_lab.sh || cannot_run netns; }
suite_xdpmode() { need_root xdpmode && run_suite xdpmode tests/netns/test_xdpmode.sh || cannot_run xdpmode; }
suite_cli()   { run_suite cli tests/cli/test_cli.sh; }
# clang --analyze and cppcheck over the agent and BPF sources (tests/static/run.sh)
suite_static() { run_suite static make --no-print-directory BUILD="$BUILD" check; }
suite_records() { run_suite records tests/records/run.sh; }

case $which in
all) suite_unit; suite_cli; suite_static; suite_records; suite_apply; suite_deploy; suite_hardening; suite_bpf; suite_ct; suite_rl; suite_swap; suite_model; suite_fuzz; suite_xdpmode; suite_netns; suite_adopt; suite_flows; suite_floodrec; suite_hotplug; suite_reload; suite_metrics; suite_rollout; suite_systemd; suite_faults; suite_ratelimit; suite_sanitize; suite_valgrind ;;
unit) suite_unit ;;
cli) suite_cli ;;
static) suite_static ;;
records) suite_records ;;
bpf) suite_bpf ;;
ct) suite_ct ;;
rl) suite_rl ;;
ratelimit) suite_ratelimit ;;
hotplug) suite_hotplug ;;
flows) suite_flows ;;
apply) suite_apply ;;
reload) suite_reload ;;
floodrec) suite_floodrec ;;
metrics) suite_metrics ;;
rollout) suite_rollout ;;
deploy) suite_deploy ;;
faults) suite_faults ;;
adopt) suite_adopt ;;
hardening) suite_hardening ;;
sanitize) suite_sanitize ;;
valgrind) suite_valgrind ;;
systemd) suite_systemd ;;
swap) suite_swap ;;
model) suite_model ;;
netns) suite_netns ;;
xdpmode) suite_xdpmode ;;
fuzz) suite_fuzz ;;
*) echo "usage: tests/run.sh [all|unit|cli|static|bpf|ct|swap|model|fuzz|xdpmode|netns]"; exit 2 ;;
esac

echo
[ $failed -gt 0 ] && echo "failed suites: ${failed_names[*]}"
echo "suites: $passed of $((passed + failed)) passed"
echo "$tests_passed passed, $tests_failed failed"
exit $((failed > 0 || tests_failed > 0))
