#!/usr/bin/env bash
# shellcheck disable=SC2016 # single-quoted strings are eval'd by check, on purpose
# The agent under valgrind's memcheck (issue #9): a reduced netns lab
# (tests/netns/lib.sh; test_lab.sh itself ends the agent with SIGKILL, which
# leaves no leak report) with `ward run` started under valgrind through the
# lab's WARD_WRAP hook, every part of the agent that runs for long put to
# work: real traffic (TCP, UDP, ICMP, IPv4 and IPv6, allowed and denied)
# through XDP and TC, flow records to a file, to a syslog receiver over UDP,
# to one over TLS with mutual authentication (OpenSSL) and to an IPFIX
# collector over UDP, a metrics scrape, `ward apply --confirm-within` +
# `ward confirm` through the control socket, a SIGHUP reload, an invalid
# policy rejected on SIGHUP, a link that appears and goes (hotplug,
# netlink), then SIGTERM. Valgrind's log must say 0 errors, 0 bytes
# definitely and 0 bytes indirectly lost ("possibly lost" is shown, not
# counted).
#
#   BUILD=build    the build directory of a plain build (not SANITIZE=1);
#                  nothing is built here
#   WARD=PATH      the agent, default $BUILD/ward
#
# Suppressions: tests/fuzz/valgrind-bpf.supp (valgrind's model of bpf()
# parameters) and tests/valgrind.supp (one comment per entry). The full
# valgrind log is kept as $BUILD/valgrind-agent.log. One line per check,
# ends with "N passed, N failed"; exit 1 on any failure. Needs root. Own
# namespaces and pins (/sys/fs/bpf/ward-vg-PID), removed on EXIT.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
WARD=${WARD:-$BUILD/ward}
LAB_KIND=vg
# shellcheck source=tests/netns/lib.sh
. tests/netns/lib.sh
# shellcheck source=tests/lib/checks.sh
. tests/lib/checks.sh
VG_KEEP=$BUILD/valgrind-agent.log
SYSLOG_PORT=5514
TLS_PORT=6514
IPFIX_PORT=4739
METRICS=127.0.0.1:9470
START=$SECONDS

on_exit() {
	[ -n "$LAB_DIR" ] && [ -f "$LAB_DIR/valgrind.log" ] && cp "$LAB_DIR/valgrind.log" "$VG_KEEP" 2>/dev/null
	if [ "$F" -gt 0 ] && [ -n "$LAB_DIR" ]; then
		agent_log_tail 20
	fi
	lab_cleanup
	echo "# $((SECONDS - START)) s; valgrind log kept as $VG_KEEP"
	echo "$P passed, $F failed"
	[ "$F" = 0 ]
	exit
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
bail() { # REASON: a failed check, and stop
	check "$1" false
	exit 1
}

# ---- prerequisites ---------------------------------------------------------------
lab_require || bail "prerequisites: $LAB_WHY"
command -v valgrind >/dev/null || bail "prerequisites: valgrind installed (make deps)"
if nm "$WARD" 2>/dev/null | grep -q __asan_init; then
	bail "prerequisites: $WARD is a plain build (this one has ASan, which valgrind cannot run)"
fi

lab_setup
lab_serve node tcp 8000
lab_serve node udp 5353
lab_serve allowed tcp 7000
for spec in "node tcp 8000" "node udp 5353" "allowed tcp 7000"; do
	# shellcheck disable=SC2086
	lab_wait_listening $spec || bail "lab listeners up ($spec)"
done
# the syslog receivers, UDP and TLS requiring a client certificate of the
# lab's CA (a PKI of its own, made here), and the IPFIX collector (UDP)
# nsenter execs timeout, so $! is the process a TERM stops (with its socat);
# no receiver keeps the suite's stdout open after the suite
nsenter --net="/run/netns/$NS_NODE" -- timeout "$LAB_SERVER_TIMEOUT" socat -u \
	"UDP4-RECV:$SYSLOG_PORT,bind=127.0.0.1" "OPEN:$LAB_DIR/syslog.log,creat,append" \
	</dev/null >/dev/null 2>>"$LAB_DIR/servers.log" &
LAB_PIDS+=($!)
nsenter --net="/run/netns/$NS_NODE" -- timeout "$LAB_SERVER_TIMEOUT" socat -u \
	"UDP4-RECV:$IPFIX_PORT,bind=127.0.0.1" "OPEN:$LAB_DIR/ipfix.bin,creat,append" \
	</dev/null >/dev/null 2>>"$LAB_DIR/servers.log" &
LAB_PIDS+=($!)
PKI=$LAB_DIR/pki
mkdir -p "$PKI"
pki() {
	local n
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/ca.key" \
		-out "$PKI/ca.pem" -subj "/CN=Ward valgrind CA" -days 2 \
		-addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign || return 1
	printf 'subjectAltName=DNS:syslog.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$PKI/server.ext"
	printf 'extendedKeyUsage=clientAuth\n' >"$PKI/client.ext"
	for n in server client; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/$n.key" \
			-out "$PKI/$n.csr" -subj "/CN=ward-$n" &&
			openssl x509 -req -in "$PKI/$n.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
				-days 2 -extfile "$PKI/$n.ext" -out "$PKI/$n.pem" || return 1
	done
}
pki >"$PKI/openssl.log" 2>&1 || bail "a test PKI made with openssl (log $PKI/openssl.log)"
nsenter --net="/run/netns/$NS_NODE" -- timeout "$LAB_SERVER_TIMEOUT" socat -u \
	"OPENSSL-LISTEN:$TLS_PORT,bind=127.0.0.1,reuseaddr,fork,cert=$PKI/server.pem,key=$PKI/server.key,cafile=$PKI/ca.pem,verify=1" \
	"OPEN:$LAB_DIR/syslog-tls.log,creat,append" </dev/null >/dev/null 2>>"$LAB_DIR/servers.log" &
LAB_PIDS+=($!)
for ((i = 0; i < 50; i++)); do
	[ "$(in_ns node ss -Hltn "sport = :$TLS_PORT" 2>/dev/null | wc -l)" -ge 1 ] && break
	sleep 0.1
done

POLICY=$LAB_DIR/policy.json
cp tests/netns/lab-policy.json "$POLICY"
revise() { # REVISION OUT: the lab policy with that revision
	python3 - tests/netns/lab-policy.json "$1" "$2" <<-'EOF'
		import json, sys
		p = json.load(open(sys.argv[1]))
		p["revision"] = int(sys.argv[2])
		json.dump(p, open(sys.argv[3] + ".tmp", "w"), indent=1)
	EOF
	mv "$2.tmp" "$2"
}
within() { # SECONDS CMD...: CMD succeeds within SECONDS of wall time (slow probes count)
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}
revision_is() {
	ward_node status --json 2>/dev/null | python3 -c \
		"import json,sys; sys.exit(0 if json.load(sys.stdin)['policy']['revision'] == $1 else 1)"
}
SOCK=$LAB_DIR/ctl/ward.sock
# shellcheck disable=SC2054 # the commas are inside single options
VG=(valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect,possible
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99 --track-fds=no --num-callers=30
	--suppressions="$ROOT/tests/fuzz/valgrind-bpf.supp" --suppressions="$ROOT/tests/valgrind.supp"
	--log-file="$LAB_DIR/valgrind.log")
WARD_WRAP="${VG[*]}"
agent_start "$POLICY" --failsafe "tcp/22 from 203.0.113.0/24" --control-socket "$SOCK" \
	--metrics "$METRICS" --flows "syslog+udp://127.0.0.1:$SYSLOG_PORT" --flow-interval 200 \
	--flows "syslog+tls://127.0.0.1:$TLS_PORT,ca=$PKI/ca.pem,cert=$PKI/client.pem,key=$PKI/client.key,name=syslog.test" \
	--flows "ipfix+udp://127.0.0.1:$IPFIX_PORT" --interface "vg*"
lab_note "agent (valgrind) pid $LAB_AGENT_PID, log $LAB_DIR/valgrind.log"
# valgrind runs ward some 20-50 times slower: a start-up of seconds takes a minute
agent_wait_enforcing 180 || bail "the agent under valgrind enforces (ward status 0) within 180 s"
check "the agent under valgrind enforces (ward status 0) ($((SECONDS - START)) s)" true

traffic() { # WHEN: allowed flows delivered, denied ones not, IPv4 and IPv6
	check "$1: allowed client -> node tcp/8000 delivered (IPv4)" probe_tcp allowed "$NODE_ALLOWED_V4" 8000
	check "$1: allowed client -> node tcp/8000 delivered (IPv6)" probe_tcp allowed "$NODE_ALLOWED_V6" 8000
	check "$1: allowed client -> node udp/5353 delivered (IPv4)" probe_udp allowed "$NODE_ALLOWED_V4" 5353
	check "$1: allowed client -> node ping delivered (IPv6)" probe_ping allowed "$NODE_ALLOWED_V6"
	check "$1: node -> allowed client tcp/7000 delivered (egress rule, replies by conntrack)" \
		probe_tcp node "$ALLOWED_V4" 7000
	check "$1: denied client -> node tcp/8000 not answered (IPv4)" not probe_tcp denied "$NODE_DENIED_V4" 8000
	check "$1: denied client -> node udp/5353 not answered (IPv6)" not probe_udp denied "$NODE_DENIED_V6" 5353
	check "$1: denied client -> node tcp/22 delivered by the failsafe" probe_tcp denied "$NODE_DENIED_V4" 22
}
lab_serve node tcp 22
lab_wait_listening node tcp 22
traffic "start"

scrape() {
	in_ns node timeout 60 python3 -c \
		"import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://$METRICS/metrics', timeout=50).read().decode())"
}
check "metrics scraped from the agent (ward_ series)" eval 'scrape >"$LAB_DIR/metrics.txt" 2>&1 && grep -q "^ward_" "$LAB_DIR/metrics.txt"'

revise 8 "$LAB_DIR/p8.json"
check "ward apply --confirm-within 120 through the control socket (revision 8)" \
	eval 'timeout 120 "$WARD" apply "$LAB_DIR/p8.json" --confirm-within 120 --socket "$SOCK" >>"$LAB_DIR/apply.log" 2>&1'
check "ward confirm keeps it" eval 'timeout 120 "$WARD" confirm --socket "$SOCK" >>"$LAB_DIR/apply.log" 2>&1'
check "revision 8 in force" within 30 revision_is 8

revise 9 "$POLICY"
kill -HUP "$LAB_AGENT_PID"
check "SIGHUP reloads the policy file (revision 9 in force)" within 60 revision_is 9
echo '{"version": 1, "name": "broken", "revision": 10, "ingress": [' >"$POLICY.tmp"
mv "$POLICY.tmp" "$POLICY"
kill -HUP "$LAB_AGENT_PID"
sleep 5
check "an invalid policy file on SIGHUP is rejected, revision 9 stays" revision_is 9
check "agent still running after the rejected reload" pid_alive "$LAB_AGENT_PID"
revise 11 "$POLICY"
kill -HUP "$LAB_AGENT_PID"
check "SIGHUP after the fix reloads it (revision 11 in force)" within 60 revision_is 11
traffic "after the reloads"
check "ward stats --json reads the agent's counters" eval 'ward_node stats --json >"$LAB_DIR/stats.json" 2>&1'
check "flow records written to the file sink" within 30 test -s "$LAB_DIR/flows.json"
check "flow records received by the syslog (UDP) receiver" within 30 test -s "$LAB_DIR/syslog.log"
check "flow records received by the syslog (TLS, mutual authentication) receiver" \
	within 30 grep -q 'ward' "$LAB_DIR/syslog-tls.log"
check "IPFIX messages received by the collector (UDP)" within 30 test -s "$LAB_DIR/ipfix.bin"

# ---- hotplug: a link matching --interface "vg*" appears, then goes ---------------
ip -n "$NS_NODE" link add vg0 type veth peer name vg1
ip -n "$NS_NODE" link set vg0 up
ip -n "$NS_NODE" link set vg1 up
status_has() { # IFNAME: `ward status --json` lists it
	ward_node status --json 2>/dev/null | python3 -c \
		"import json,sys; sys.exit(0 if '$1' in [i['name'] for i in json.load(sys.stdin)['interfaces']] else 1)"
}
check "hotplug: vg0 and vg1 attached once they appear" within 60 eval 'status_has vg0 && status_has vg1'
ip -n "$NS_NODE" link del vg0
check "hotplug: vg0 and vg1 forgotten once deleted" within 60 eval 'not status_has vg0 && not status_has vg1'
traffic "after the hotplug"

# ---- SIGTERM: the agent stops, valgrind writes its summary ------------------------
kill -TERM "$LAB_AGENT_PID"
for ((i = 0; i < 1800; i++)); do pid_alive "$LAB_AGENT_PID" || break; sleep 0.1; done
if pid_alive "$LAB_AGENT_PID"; then
	bail "the agent under valgrind stops on SIGTERM within 180 s"
fi
wait "$LAB_AGENT_PID"
rc=$?
LAB_AGENT_PID=
check "the agent exits 0 on SIGTERM under valgrind (exit $rc; 99 = valgrind errors)" test "$rc" = 0
VL=$LAB_DIR/valgrind.log
grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|no leaks are possible' "$VL" |
	sed 's/^==[0-9]*== */# valgrind: /'
lost_0() { # KIND: "KIND lost: 0 bytes", or no leak at all
	grep -qE "$1 lost: 0 bytes in 0 blocks" "$VL" || grep -q "All heap blocks were freed -- no leaks are possible" "$VL"
}
check "valgrind: ERROR SUMMARY: 0 errors" grep -qE 'ERROR SUMMARY: 0 errors from 0 contexts' "$VL"
check "valgrind: definitely lost: 0 bytes" lost_0 definitely
check "valgrind: indirectly lost: 0 bytes" lost_0 indirectly
if ! grep -qE 'ERROR SUMMARY: 0 errors' "$VL"; then
	echo "# --- first errors of $VL (all of it in $VG_KEEP)"
	awk '/^==[0-9]+== (Invalid|Conditional|Syscall param|Use of|Mismatched|Source and|Argument|[0-9,]+ bytes in [0-9,]+ blocks are (definitely|indirectly))/ {n++; p = 1}
		/^==[0-9]+== $/ {p = 0}
		p && n <= 5' "$VL" | sed 's/^==[0-9]*== */#   /' | head -80
fi
