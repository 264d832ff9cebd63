#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2317 # single-quoted strings are eval'd by check; trap functions
# Hygiene of the build and of what the agent creates (docs/threat-model.md,
# "Least privilege" and "The local filesystem"):
#   1. the binary: PIE, full RELRO (GNU_RELRO + BIND_NOW), stack protector,
#      _FORTIFY_SOURCE (*_chk imports), non-executable stack, no writable and
#      executable segment, no RPATH/RUNPATH/TEXTREL, no gets/strcpy/sprintf;
#   2. a real agent, started with umask 000 so that nothing can come from the
#      umask: the pin directory 0700 and no pin readable by group or others;
#      the control socket 0600 in a directory it creates 0750; the flows
#      file 0640 in a directory it creates 0750;
#   3. metrics: off unless asked for (no listening socket at all), the
#      address given is the one bound, and `ward run --help` and
#      docs/operations.md say off / localhost.
# Own network namespace, pin path and temp dir, removed on EXIT. Part 2 and 3
# need root (fails, never skips, without it). Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
W=${WARD:-build/ward}
ID=$$
NS=ward-hard-$ID
PIN=/sys/fs/bpf/ward-test-hard-$ID
TMP=$(mktemp -d /tmp/ward-hardening.XXXXXX)
AGENT=
N=0 P=0 F=0

stop_agent() {
	if [ -n "$AGENT" ]; then
		kill "$AGENT" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$AGENT" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$AGENT" 2>/dev/null
		wait "$AGENT" 2>/dev/null
		AGENT=
	fi
}
cleanup() {
	stop_agent
	[ -d "$PIN" ] && [ -e "/run/netns/$NS" ] &&
		nsenter --net="/run/netns/$NS" -- "$W" detach --pin-path "$PIN" >/dev/null 2>&1
	rm -rf "$PIN"
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
check() { # DESC CMD...: output of CMD shown on failure
	local d=$1
	shift
	N=$((N + 1))
	if "$@" >"$TMP/out" 2>&1; then
		P=$((P + 1))
		echo "ok $N - $d"
	else
		F=$((F + 1))
		echo "not ok $N - $d"
		sed 's/^/#   /' "$TMP/out" | head -20
	fi
}
not() { ! "$@"; }
in_ns() { nsenter --net="/run/netns/$NS" -- "$@"; }
until_ok() { # SECONDS CMD...
	local t=$(($1 * 5))
	shift
	for ((; t > 0; t--)); do "$@" && return 0; sleep 0.2; done
	return 1
}
mode_is() { # WANT PATH
	local got
	got=$(stat -c %a "$2") || return 1
	[ "$got" = "$1" ] || { echo "$2: mode $got, want $1"; return 1; }
}
owner_root() { [ "$(stat -c %u "$1")" = 0 ] || { echo "$1: owner $(stat -c %U "$1")"; return 1; }; }
finish() {
	echo "$P passed, $F failed"
	[ "$F" = 0 ]
	exit
}

if [ ! -x "$W" ]; then
	check "$W is built (make)" false
	finish
fi
for t in readelf nm; do
	command -v $t >/dev/null || { check "tool $t is installed (binutils)" false; finish; }
done

# ---- 1. the binary ------------------------------------------------------------------
readelf -hW "$W" >"$TMP/h"
readelf -dW "$W" >"$TMP/d"
readelf -lW "$W" >"$TMP/l"
nm -D "$W" >"$TMP/syms"
check "PIE: ELF type DYN and FLAGS_1 PIE" \
	eval 'grep -q "Type: *DYN" "$TMP/h" && grep -q "FLAGS_1.*PIE" "$TMP/d"'
check "full RELRO: a GNU_RELRO segment" grep -q GNU_RELRO "$TMP/l"
check "full RELRO: BIND_NOW (FLAGS BIND_NOW or FLAGS_1 NOW)" \
	grep -qE "\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW" "$TMP/d"
check "stack protector: __stack_chk_fail is referenced" grep -q " U __stack_chk_fail" "$TMP/syms"
check "FORTIFY_SOURCE: fortified libc calls (__*_chk) are referenced" \
	eval '[ "$(grep -cE " U __[a-z]+_chk@" "$TMP/syms")" -ge 3 ]'
check "NX stack: GNU_STACK is RW, not executable" \
	eval 'grep GNU_STACK "$TMP/l" | grep -qE "RW +0x" && ! grep GNU_STACK "$TMP/l" | grep -qE "RWE|E +0x"'
check "no segment both writable and executable" \
	not eval 'grep -E "^ +LOAD" "$TMP/l" | grep -qE " RWE "'
check "no RPATH, RUNPATH or TEXTREL" not grep -qE "RPATH|RUNPATH|TEXTREL" "$TMP/d"
check "no gets, strcpy, strcat, sprintf, vsprintf, system or popen imported" \
	not grep -wE "U (gets|strcpy|stpcpy|strcat|sprintf|vsprintf|system|popen)(@.*)?" "$TMP/syms"
# -fcf-protection compiles endbr64 into every function, but the binary is
# marked IBT/SHSTK only if every object linked is: Debian 12's crt objects
# are not, so the kernel does not turn CET on. Informational.
if readelf -nW "$W" 2>/dev/null | grep -q "IBT"; then
	echo "# CET: the binary is marked IBT/SHSTK"
else
	echo "# CET: not marked IBT/SHSTK (the libc crt objects lack the property); -fcf-protection only instruments the code"
fi

# ---- 2. what a running agent creates ------------------------------------------------
if [ "$(id -u)" != 0 ]; then
	check "root for the agent checks (pins, socket, flows file, metrics)" false
	finish
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add v0 type veth peer name v1
ip -n "$NS" addr add 192.0.2.1/24 dev v0
ip -n "$NS" link set v0 up
ip -n "$NS" link set v1 up
cat >"$TMP/policy.json" <<'EOF'
{ "version": 1, "name": "hardening", "revision": 1,
  "defaults": { "ingress": "deny", "egress": "allow", "log": "all" },
  "ingress": [ { "id": "ssh", "from": ["192.0.2.0/24"], "proto": "tcp", "ports": [22] } ] }
EOF
chmod 0600 "$TMP/policy.json"
# umask 000: every mode below must come from the agent, not from the umask
(
	umask 000
	exec nsenter --net="/run/netns/$NS" -- "$W" run --policy "$TMP/policy.json" --interface v0 \
		--pin-path "$PIN" --control-socket "$TMP/run/ctl/ward.sock" \
		--flows "file:$TMP/log/flows.json" </dev/null >"$TMP/agent.log" 2>&1
) &
AGENT=$!
if ! until_ok 15 in_ns "$W" status --pin-path "$PIN" >/dev/null 2>&1; then
	check "the agent is enforcing (see its log)" eval 'cat "$TMP/agent.log"; false'
	finish
fi
until_ok 5 test -s "$TMP/log/flows.json" # the agent-start record
check "pin directory is 0700, owned by root" eval 'mode_is 700 "$PIN" && owner_root "$PIN"'
check "no pin is readable or writable by group or others" \
	eval 'ls -la "$PIN"; [ -z "$(find "$PIN" -mindepth 1 -perm /077)" ] && [ -n "$(ls "$PIN")" ]'
check "control socket directory created 0750" mode_is 750 "$TMP/run/ctl"
check "control socket is a socket, 0600, owned by root" \
	eval 'test -S "$TMP/run/ctl/ward.sock" && mode_is 600 "$TMP/run/ctl/ward.sock" && owner_root "$TMP/run/ctl/ward.sock"'
check "flows directory created 0750" mode_is 750 "$TMP/log"
check "flows file is 0640, owned by root" \
	eval 'mode_is 640 "$TMP/log/flows.json" && owner_root "$TMP/log/flows.json"'
# the agent ran itself again (same PID) with glibc's huge-page heap tunable
# (glibc cuts the variable at each ':' as it parses it: NULs turned back)
tune() { tr '\0' ':' <"/proc/$AGENT/environ" | grep -o 'GLIBC_TUNABLES=glibc[^:]*\(:glibc[^:]*\)*'; }
check "the agent's heap asks for huge pages: GLIBC_TUNABLES=glibc.malloc.hugetlb=1, same PID, ward itself" \
	eval 'tune; [ "$(tune)" = GLIBC_TUNABLES=glibc.malloc.hugetlb=1 ] && [ "$(readlink "/proc/$AGENT/exe")" = "$(readlink -f "$W")" ]'

# ---- 3. metrics --------------------------------------------------------------------
check "metrics off by default: the agent listens on no TCP or UDP port" \
	eval 'in_ns ss -Hltunp >"$TMP/ss0"; cat "$TMP/ss0"; [ ! -s "$TMP/ss0" ]'
"$W" run --help >"$TMP/help" 2>&1
check "ward run --help: --metrics is off unless given, and says to keep it on localhost" \
	eval 'grep -A1 -- "--metrics" "$TMP/help" | grep -q "off unless given" && grep -A1 -- "--metrics" "$TMP/help" | grep -qE "localhost|127\.0\.0\.1"'
check "docs/operations.md: --metrics defaults to off, metrics config key defaults to null (off)" \
	eval 'grep -E "^\| .--metrics" docs/operations.md | grep -q "| off |" && grep -E "^\| .metrics. " docs/operations.md | grep -q "null. (off)"'
stop_agent
check "the agent removed its control socket when it stopped" not test -e "$TMP/run/ctl/ward.sock"

# with --metrics on loopback: bound to that address only, never a wildcard
(
	export GLIBC_TUNABLES=glibc.malloc.tcache_count=7 # the user's own: kept
	exec nsenter --net="/run/netns/$NS" -- "$W" run --policy "$TMP/policy.json" --interface v0 \
		--pin-path "$PIN" --control-socket none --flows none --metrics 127.0.0.1:9470 \
		</dev/null >"$TMP/agent2.log" 2>&1
) &
AGENT=$!
until_ok 15 eval 'in_ns ss -Hltn "sport = :9470" | grep -q .'
in_ns ss -Hltn >"$TMP/ss"
check "--metrics 127.0.0.1:9470 listens on 127.0.0.1:9470 only (no wildcard address)" \
	eval 'cat "$TMP/ss"; grep -q "127.0.0.1:9470" "$TMP/ss" && ! grep -qE "(0\.0\.0\.0|\*|\[::\]):9470" "$TMP/ss"'
check "a user's GLIBC_TUNABLES is kept, the huge-page tunable added after it" \
	eval 'tune; [ "$(tune)" = GLIBC_TUNABLES=glibc.malloc.tcache_count=7:glibc.malloc.hugetlb=1 ]'
stop_agent
finish
