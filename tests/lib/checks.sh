# shellcheck shell=bash
# Sourced by the standalone netns tests: numbered checks counted into the
# closing "N passed, N failed" line, and a bounded retry.
N=0 P=0 F=0

check() { # DESCRIPTION CMD...: one numbered line from CMD's exit status
	local d=$1
	shift
	N=$((N + 1))
	if "$@"; then P=$((P + 1)); echo "ok $N - $d"; else F=$((F + 1)); echo "not ok $N - $d"; fi
}
not() { ! "$@"; }
until_ok() { # SECONDS CMD...: retry every 0.2 s
	local t=$(($1 * 5))
	shift
	for ((; t > 0; t--)); do "$@" && return 0; sleep 0.2; done
	return 1
}
