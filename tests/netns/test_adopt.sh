#!/usr/bin/env bash
# Fail-static and adoption under traffic: the agent is killed with SIGKILL
# and started again while pings (allowed and denied, IPv4 and IPv6) and a
# live TCP connection run. Verdicts must not change for a single packet,
# and the connection must go on: its replies leave the node by conntrack
# alone (the lab policy has no egress rule for them), so it survives only
# if the restarted agent kept the conntrack table. Ends "N passed, N failed".
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_KIND=adopt
# shellcheck source=tests/netns/lib.sh
. "$HERE/lib.sh"
POLICY=$HERE/lab-policy.json
# shellcheck source=tests/lib/checks.sh
. "$HERE/../lib/checks.sh"
trap lab_cleanup EXIT
lab_require || { echo "not ok 1 - $LAB_WHY"; echo "0 passed, 1 failed"; exit 1; }
lab_setup
lab_serve node tcp 8100
lab_wait_listening node tcp 8100 || true
agent_start "$POLICY"
agent_wait_enforcing 10 || { agent_log_tail; echo "not ok 1 - agent"; echo "0 passed, 1 failed"; exit 1; }

# traffic for 8 s: 400 pings each way at 20 ms, and a connection that sends
# a line every 20 ms and counts the echoes (a stall of over 1 s fails it)
pinger() { # ROLE ADDR OUT
	in_ns "$1" timeout 15 ping -n -q -c 400 -i 0.02 -W 1 "$2" >"$3" 2>&1
}
pinger allowed "$NODE_ALLOWED_V4" "$LAB_DIR/a4" &
p1=$!
pinger allowed "$NODE_ALLOWED_V6" "$LAB_DIR/a6" &
p2=$!
pinger denied "$NODE_DENIED_V4" "$LAB_DIR/d4" &
p3=$!
in_ns allowed timeout 20 python3 - "$NODE_ALLOWED_V4" >"$LAB_DIR/tcp" 2>&1 <<'EOF' &
import socket, sys, time
s = socket.create_connection((sys.argv[1], 8100), timeout=3)
s.settimeout(1.0)
sent = got = 0
buf = b""
worst = 0.0
last = time.monotonic()
end = last + 8
while time.monotonic() < end:
    s.sendall(b"line %d\n" % sent)
    sent += 1
    try:
        buf += s.recv(65536)
    except socket.timeout:
        pass
    n = buf.count(b"\n")
    if n > got:
        now = time.monotonic()
        worst = max(worst, now - last)
        last = now
        got = n
    time.sleep(0.02)
s.settimeout(2.0)
while got < sent:
    try:
        d = s.recv(65536)
    except socket.timeout:
        break
    if not d:
        break
    buf += d
    got = buf.count(b"\n")
print(sent, got, "%.3f" % worst)
EOF
p4=$!
sleep 2
before=$(ward_node status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["conntrack"]["entries"])')
kill -KILL "$LAB_AGENT_PID"
stop_pid "$LAB_AGENT_PID" KILL 2
sleep 1
agent_start "$POLICY"
agent_wait_enforcing 10
after=$(ward_node status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["conntrack"]["entries"])')
wait $p1 $p2 $p3 $p4
loss() { sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$1"; }
read -r sent got worst <"$LAB_DIR/tcp"
echo "# pings lost: allowed v4 $(loss "$LAB_DIR/a4")%, v6 $(loss "$LAB_DIR/a6")%; denied v4 $(loss "$LAB_DIR/d4")%; tcp sent $sent echoed $got, longest wait ${worst}s; conntrack $before -> $after"
check "the agent restarted adopts the pins" grep -q "maps adopted" "$LAB_AGENT_LOG"
check "allowed pings (IPv4): none lost across the kill and the restart" test "$(loss "$LAB_DIR/a4")" = 0
check "allowed pings (IPv6): none lost" test "$(loss "$LAB_DIR/a6")" = 0
check "denied pings: all dropped, before, between and after (never open)" test "$(loss "$LAB_DIR/d4")" = 100
check "the live TCP connection went on: every line echoed ($got of $sent)" test "${got:-0}" -ge "${sent:-1}" -a "${sent:-0}" -gt 100
check "  without a stall over 1 s (longest ${worst}s): conntrack kept its entry" \
	python3 -c "import sys; sys.exit(not float('${worst:-9}') < 1.0)"
check "conntrack entries kept across the restart ($before -> $after)" test "${after:-0}" -ge 1
echo "$P passed, $F failed"
[ "$F" = 0 ]
