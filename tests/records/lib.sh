# Sourced by tests/records/test_*.sh, never run on its own: a temporary
# directory removed on exit together with the background processes the
# test started (their pids in `pids`), checks counted into the closing
# "N passed, N failed" line, free loopback ports, bounded waits.
# KEEP=1 keeps the directory for a look after a failure.
BUILD=${BUILD:-build}
TOOL=$BUILD/tests/rec_tool
n=0 pass=0 fail=0
tmp=$(mktemp -d)
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.2
	if [ -n "${KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

check() { # description, then a command that must succeed
	local d=$1; shift
	n=$((n + 1))
	if "$@" >"$tmp/out" 2>&1; then
		pass=$((pass + 1)); echo "ok $n - $d"
	else
		fail=$((fail + 1)); echo "not ok $n - $d"; sed 's/^/#   /' "$tmp/out" | head -20
	fi
}
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }

need() { # commands the test cannot do without: missing ones fail it, loudly
	local t
	for t in "$@"; do
		if ! command -v "$t" >/dev/null; then
			echo "SKIP: $t is missing (make deps; make $BUILD/tests/rec_tool): counted as a failure"
			fail=$((fail + 1)); finish
		fi
	done
}

free_port() { # a port free on 127.0.0.1 now (TCP; used for UDP too)
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_lines() { # file, count: until the file has them (10 s at most)
	local i
	for i in $(seq 100); do
		[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 0
}

wait_listen() { # -Hltn (TCP) or -Hlun (UDP), port: 5 s at most
	local i
	for i in $(seq 50); do
		ss "$1" "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

tool_ok() { # rec_tool output, N: every record written, none lost
	grep -Eq "^emitted $2 written $2 lost 0\$" "$1" || { cat "$1"; return 1; }
}

# rec_tool against a collector that comes up `delay` seconds after it
# started: the sink has to buffer, reconnect in the background, deliver.
run_late() { # name, delay, function that starts the collector, rec_tool args...
	local name=$1 delay=$2 start=$3 tp; shift 3
	timeout 60 "$TOOL" "$@" --expect "$tmp/$name.expect" >"$tmp/$name.tool" 2>&1 &
	tp=$!
	pids+=("$tp")
	sleep "$delay"
	"$start" || echo "the late collector did not start"
	wait "$tp"
}
