#!/usr/bin/env bash
# Static analysis, one check per tool; any finding fails it. Run by
# `make check`, which passes the build's own include and define flags:
#   AGENT_CPPFLAGS  -std/-I/-D of the agent's objects (CFLAGS less warnings,
#                   optimisation and hardening)
#   BPF_CFLAGS      the BPF object's flags
#   then the agent's C files as arguments.
# Checks: clang's static analyzer over the agent and over bpf/ward.bpf.c,
# then cppcheck over the agent. Logs go to $BUILD/static/. Ends with
# "N passed, N failed" for tests/run.sh. See docs/operations.md.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
CLANG=${CLANG:-clang}
CPPCHECK=${CPPCHECK:-cppcheck}
JOBS=${JOBS:-$(nproc)}
BPF_SRC=${BPF_SRC:-bpf/ward.bpf.c}
: "${AGENT_CPPFLAGS:?set by make check}" "${BPF_CFLAGS:?set by make check}"
[ $# -gt 0 ] || { echo "usage: AGENT_CPPFLAGS=.. BPF_CFLAGS=.. $0 FILE.c.."; exit 2; }
out=$BUILD/static
rm -rf "$out"
mkdir -p "$out/clang"
passed=0
failed=0

# core, unix, security, deadcode and nullability, less the C11 Annex K
# checker (it flags every memcpy, memset and snprintf).
# shellcheck disable=SC2054 # the commas are the checker lists
ANALYZER=(--analyze -Xanalyzer -analyzer-output=text
	  -Xanalyzer -analyzer-checker=core,unix,security,deadcode,nullability
	  -Xanalyzer -analyzer-disable-checker=security.insecureAPI.DeprecatedOrUnsafeBufferHandling
	  -Xanalyzer -analyzer-config -Xanalyzer unix.DynamicMemoryModeling:Optimistic=true)

check_done() { # name, findings, tool exit code, seconds, log
	if [ "$2" -eq 0 ] && [ "$3" -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok   $1 ($4 s)"
	else
		failed=$((failed + 1))
		grep -E '(warning|error): ' "$5"
		echo "FAIL $1: $2 finding(s), exit $3 ($4 s, log $5)"
	fi
}

# clang --analyze on one file; its output, then its exit code, in $out/clang/
analyze_one() {
	local log
	log=$out/clang/$(echo "$1" | tr / _).log
	shift
	"$CLANG" "${ANALYZER[@]}" "$@" -o /dev/null >"$log" 2>&1
	echo $? >"$log.rc"
}

# One check: the analyzer over every file, $JOBS at a time.
check_analyzer() {
	local name=$1 flags=$2 start=$SECONDS log=$out/$1.log rc=0 f
	shift 2
	for f; do
		while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
		# shellcheck disable=SC2086 # flags are words
		analyze_one "$name-$f" $flags "$f" &
	done
	wait
	: >"$log"
	for f; do
		cat "$out/clang/$(echo "$name-$f" | tr / _).log" >>"$log"
		[ "$(cat "$out/clang/$(echo "$name-$f" | tr / _).log.rc")" -eq 0 ] || rc=1
	done
	check_done "$name" "$(grep -cE '(warning|error): ' "$log")" $rc $((SECONDS - start)) "$log"
}

# cppcheck is given the project's own -I and -D only: with the system
# include paths it would parse all of glibc for every file. The macros it
# then cannot see, it takes from tests/static/cppcheck.h.
check_cppcheck() {
	local start=$SECONDS log=$out/cppcheck.log rc args=() w
	for w in $AGENT_CPPFLAGS; do
		case $w in -D*|-I[!/]*) args+=("$w") ;; esac
	done
	"$CPPCHECK" -q -j "$JOBS" --std=c11 --library=posix,gnu,openssl,zlib \
		--enable=warning,performance,portability --error-exitcode=1 --inline-suppr \
		--suppressions-list=tests/static/cppcheck.supp --include=tests/static/cppcheck.h \
		"${args[@]}" "$@" >"$log" 2>&1
	rc=$?
	check_done cppcheck "$(grep -cE '^[^ ]+:[0-9]+:[0-9]+: ' "$log")" $rc $((SECONDS - start)) "$log"
}

command -v "$CLANG" >/dev/null || { echo "FAIL: no $CLANG (make deps)"; exit 1; }
command -v "$CPPCHECK" >/dev/null || { echo "FAIL: no $CPPCHECK (make deps)"; exit 1; }
check_analyzer clang-analyzer-agent "$AGENT_CPPFLAGS -include tests/static/analyzer.h" "$@"
check_analyzer clang-analyzer-bpf "$BPF_CFLAGS" "$BPF_SRC"
check_cppcheck "$@"
echo "static: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
