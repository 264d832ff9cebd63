#!/usr/bin/env bash
# shellcheck disable=SC2016 # single-quoted conditions are eval'd by verdict, on purpose
# Ward rate limits on real traffic: the lab of tests/netns/lib.sh (node,
# "allowed" and "denied" client namespaces over veth pairs; here both
# clients are simply clients), the real agent (`ward run`) on the node's
# veth ends, UDP senders with precise pacing in the client namespaces and
# one receiver in the node namespace that counts datagrams per source.
#
# Limits (policy written to the work dir): udp/9000 under "host"
# (pps 200, burst 50, keys /32 and /128), udp/9001 under "net" (pps 200,
# burst 50, keys /24 and /64). For IPv4 and IPv6:
#   - a client at 2x and at 10x its limit for 5 s receives pps*T + burst
#     within +-10% (the bucket is full at the start);
#   - a client under its limit loses nothing;
#   - two hosts (/32, /128 keys) get a bucket each;
#   - with /24 (/64) keys two hosts of one /24 (/64) share a bucket and a
#     host of another /24 (/64) does not.
# Each count at the receiver is checked against the agent's counters
# (`ward stats --json`: the rule's packets, its rate_limited packets and
# the drop_rate verdict) and against what the senders sent.
#
# Prints "ok N - ..." / "not ok N - ...", ends with "P passed, F failed",
# exits 1 on any failure; cleans up every namespace, pin and process on
# EXIT (lib.sh lab_cleanup). Only documentation addresses, no route out.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_KIND="rltest" # read by lib.sh: pins under /sys/fs/bpf/ward-rltest-PID
# shellcheck source=tests/netns/lib.sh
. "$HERE/lib.sh"

PPS=200
BURST=50
SECS=5          # the 2x and 10x runs
SHORT=3         # the other runs
TOL=10          # percent
EXTRA_V4=198.51.100.3      # a second host in the allowed client's /24
EXTRA_V6=2001:db8:1::3     # and in its /64

N=0
PASSED=0
FAILED=0
DONE=0
RECV_PID=

pass() { N=$((N + 1)); PASSED=$((PASSED + 1)); echo "ok $N - $*"; }
fail() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }

on_exit() {
	local rc=$?
	set +e
	trap - INT TERM
	if [ "$DONE" != 1 ]; then
		fail "test script ran to completion (stopped with status $rc at line ${LAST_LINE:-?})"
	fi
	if [ "$FAILED" -gt 0 ]; then
		agent_log_tail 20
		[ -n "$LAB_DIR" ] && [ -f "$LAB_DIR/recv.log" ] && sed 's/^/#   recv: /' "$LAB_DIR/recv.log" >&2
	fi
	lab_cleanup
	echo "$PASSED passed, $FAILED failed"
	if [ "$FAILED" -eq 0 ] && [ "$DONE" = 1 ]; then exit 0; fi
	exit 1
}
trap 'LAST_LINE=$LINENO' ERR
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! lab_require; then
	echo "# cannot run the rate-limit test: $LAB_WHY" >&2
	fail "prerequisites: $LAB_WHY"
	DONE=1
	exit 1
fi

lab_note "lab $LAB_ID: namespaces $NS_NODE $NS_ALLOWED $NS_DENIED, pins $LAB_PIN"
lab_setup
ip -n "$NS_ALLOWED" addr add "$EXTRA_V4/24" dev "$IF_CLIENT"
ip -n "$NS_ALLOWED" addr add "$EXTRA_V6/64" dev "$IF_CLIENT" nodad

# ---- the UDP tools: a paced sender and a counting receiver ---------------------
TOOL=$LAB_DIR/rl.py
cat >"$TOOL" <<'PY'
import json, os, select, socket, sys, time

def send(src, dst, port, rate, secs):
    """Send at `rate` datagrams/s for `secs` s from src; print the count sent."""
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((src, 0))
    payload = b"x" * 32
    n, total = 0, int(rate * secs)
    t0 = time.monotonic()
    while n < total:
        due = min(total, int((time.monotonic() - t0) * rate) + 1)
        while n < due:
            try:
                s.sendto(payload, (dst, port))
            except OSError:
                time.sleep(0.001)  # ENOBUFS and the like: try again
                continue
            n += 1
        time.sleep(0.0003)
        if time.monotonic() - t0 > secs + 5:
            break  # bounded, whatever happens
    print(n)

def recv(out, ports, secs):
    """Count datagrams per "port src" on IPv4 and IPv6; write the counts to
    `out` (atomically) every 100 ms; end after `secs` s."""
    socks = []
    for port in ports:
        for fam, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
            s = socket.socket(fam, socket.SOCK_DGRAM)
            if fam == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            s.bind((addr, port))
            s.setblocking(False)
            socks.append((s, port))
    counts = {}
    end = time.monotonic() + secs
    last = 0
    while time.monotonic() < end:
        r, _, _ = select.select([s for s, _ in socks], [], [], 0.05)
        for s in r:
            port = [p for x, p in socks if x is s][0]
            while True:
                try:
                    _, a = s.recvfrom(2048)
                except BlockingIOError:
                    break
                k = "%d %s" % (port, a[0])
                counts[k] = counts.get(k, 0) + 1
        if time.monotonic() - last >= 0.1:
            with open(out + ".tmp", "w") as f:
                json.dump(counts, f)
            os.rename(out + ".tmp", out)
            last = time.monotonic()

if sys.argv[1] == "send":
    send(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]))
else:
    recv(sys.argv[2], [int(p) for p in sys.argv[3].split(",")], float(sys.argv[4]))
PY

COUNTS=$LAB_DIR/counts.json
nsenter --net="/run/netns/$NS_NODE" -- timeout 170 /usr/bin/python3 "$TOOL" recv "$COUNTS" 9000,9001 160 \
	</dev/null >/dev/null 2>"$LAB_DIR/recv.log" &
RECV_PID=$!
LAB_PIDS+=("$RECV_PID")

# ---- policy and agent ----------------------------------------------------------
POLICY=$LAB_DIR/policy.json
cat >"$POLICY" <<EOF
{
  "version": 1, "name": "ward-rltest", "revision": 1, "mode": "enforce",
  "defaults": { "ingress": "deny", "egress": "deny", "log": "none" },
  "rate_limits": {
    "host": { "pps": $PPS, "burst": $BURST, "ipv4_prefix": 32, "ipv6_prefix": 128 },
    "net":  { "pps": $PPS, "burst": $BURST, "ipv4_prefix": 24, "ipv6_prefix": 64 }
  },
  "ingress": [
    { "id": "udp-host", "from": ["any"], "proto": "udp", "ports": [9000], "rate_limit": "host" },
    { "id": "udp-net",  "from": ["any"], "proto": "udp", "ports": [9001], "rate_limit": "net" }
  ]
}
EOF
if ward_node check "$POLICY" >>"$LAB_DIR/check.log" 2>&1; then
	pass "ward check accepts the rate-limit policy"
else
	fail "ward check accepts the rate-limit policy"
fi
# flow records (rate-limit events among them) stay in the work dir
agent_start "$POLICY" --flows "file:$LAB_DIR/flows.json"
if agent_wait_enforcing 15; then
	pass "ward run enforces on $IF_ALLOWED and $IF_DENIED (within 15 s)"
else
	fail "ward run enforces on $IF_ALLOWED and $IF_DENIED (within 15 s)"
	DONE=1
	exit 1
fi
for _ in $(seq 1 50); do [ -s "$COUNTS" ] && break; sleep 0.1; done
if [ -s "$COUNTS" ]; then pass "receiver listening on udp/9000 and udp/9001 (IPv4, IPv6)"; else
	fail "receiver listening on udp/9000 and udp/9001 (IPv4, IPv6)"; fi

# neighbours resolved before any measurement (ARP and ND always pass)
for src in "$ALLOWED_V4" "$EXTRA_V4" "$ALLOWED_V6" "$EXTRA_V6"; do
	if [[ $src == *:* ]]; then dst=$NODE_ALLOWED_V6; else dst=$NODE_ALLOWED_V4; fi
	in_ns allowed timeout 5 ping -n -q -c 1 -W 1 -I "$src" "$dst" >/dev/null 2>&1 || true
done
for dst in "$NODE_DENIED_V4" "$NODE_DENIED_V6"; do
	in_ns denied timeout 5 ping -n -q -c 1 -W 1 "$dst" >/dev/null 2>&1 || true
done

# ---- measuring -----------------------------------------------------------------
# counts_of FILE PORT SRC: datagrams counted for (port, source)
count_of() {
	/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2] + " " + sys.argv[3], 0))' \
		"$1" "$2" "$3"
}
# stats_of FILE RULE: "passed rate_limited drop_rate" from a saved ward stats --json
stats_of() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
r = [x for x in d["rules"] if x["id"] == sys.argv[2]]
rl = r[0].get("rate_limited") if r else None
print(r[0]["packets"] if r else -1, rl["packets"] if isinstance(rl, dict) else -1,
      d["verdicts"]["ingress"].get("drop_rate", {}).get("packets", -1))
PY
}
snapshot() { # NAME: receiver counts and agent counters now
	sleep 0.3 # the last datagrams of a run reach the receiver, which writes every 100 ms
	cp "$COUNTS" "$LAB_DIR/$1.counts"
	ward_node stats --json >"$LAB_DIR/$1.stats" 2>>"$LAB_DIR/agent.log"
}

# measure NAME SPEC...: run senders concurrently, SPEC = ROLE:SRC:DST:PORT:RATE:SECS
# (IPv6 addresses with '_' for ':');
# sets SENT[i], GOT[i] (datagrams counted at the receiver for SRC on PORT).
SENT=()
GOT=()
measure() {
	local name=$1 i=0 spec role src dst port rate secs pids=()
	shift
	snapshot "$name.before"
	for spec in "$@"; do
		# IPv6 addresses are given with '_' for ':'
		IFS=: read -r role src dst port rate secs <<<"$spec"
		src=${src//_/:}
		dst=${dst//_/:}
		nsenter --net="/run/netns/$(lab_ns "$role")" -- timeout $((${secs%.*} + 10)) \
			/usr/bin/python3 "$TOOL" send "$src" "$dst" "$port" "$rate" "$secs" \
			>"$LAB_DIR/$name.sent.$i" 2>>"$LAB_DIR/send.log" &
		pids+=($!)
		LAB_PIDS+=($!)
		i=$((i + 1))
	done
	for p in "${pids[@]}"; do wait "$p" || true; done
	snapshot "$name.after"
	i=0
	for spec in "$@"; do
		IFS=: read -r role src dst port rate secs <<<"$spec"
		src=${src//_/:}
		SENT[i]=$(cat "$LAB_DIR/$name.sent.$i" 2>/dev/null || echo 0)
		SENT[i]=${SENT[i]:-0}
		GOT[i]=$(($(count_of "$LAB_DIR/$name.after.counts" "$port" "$src") -
			$(count_of "$LAB_DIR/$name.before.counts" "$port" "$src")))
		i=$((i + 1))
	done
	# shellcheck disable=SC2207
	ST_BEFORE=($(stats_of "$LAB_DIR/$name.before.stats" "$RULE"))
	# shellcheck disable=SC2207
	ST_AFTER=($(stats_of "$LAB_DIR/$name.after.stats" "$RULE"))
	D_PASS=$((ST_AFTER[0] - ST_BEFORE[0]))
	D_LIMITED=$((ST_AFTER[1] - ST_BEFORE[1]))
	D_DROP=$((ST_AFTER[2] - ST_BEFORE[2]))
	sleep 1 # every bucket is full again (burst / pps = 0.25 s) before the next run
}
within() { # GOT WANT: |GOT - WANT| <= TOL% of WANT
	local got=$1 want=$2
	[ $((got * 100)) -ge $((want * (100 - TOL))) ] && [ $((got * 100)) -le $((want * (100 + TOL))) ]
}
# agent_agrees TOTAL_SENT TOTAL_GOT: the rule passed what arrived, and the
# rest was dropped by the rate limit (rule's rate_limited and drop_rate verdict)
agent_agrees() {
	local sent=$1 got=$2
	[ "$D_PASS" -eq "$got" ] && [ "$D_LIMITED" -eq $((sent - got)) ] && [ "$D_DROP" -eq $((sent - got)) ]
}
agent_says() { echo "agent: +$D_PASS passed, +$D_LIMITED rate_limited, +$D_DROP drop_rate"; }
verdict() { # DESCRIPTION CONDITION...
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

ACC=()
for fam in 4 6; do
	if [ "$fam" = 4 ]; then
		v=IPv4 a=$ALLOWED_V4 x=$EXTRA_V4 d=$DENIED_V4 na=$NODE_ALLOWED_V4 nd=$NODE_DENIED_V4
	else
		v=IPv6 a=${ALLOWED_V6//:/_} x=${EXTRA_V6//:/_} d=${DENIED_V6//:/_}
		na=${NODE_ALLOWED_V6//:/_} nd=${NODE_DENIED_V6//:/_}
	fi
	RULE=udp-host
	for mult in 2 10; do
		measure "x$mult-v$fam" "allowed:$a:$na:9000:$((PPS * mult)):$SECS"
		want=$((PPS * SECS + BURST))
		ACC+=("$v ${mult}x: sent ${SENT[0]}, received ${GOT[0]}, expected $want ($(awk -v g="${GOT[0]}" -v w="$want" 'BEGIN { printf "%+.1f%%", (g - w) * 100 / w }'))")
		verdict "$v client at ${mult}x its limit ($((PPS * mult)) pps, ${SECS} s): received ${GOT[0]} of ${SENT[0]}, want $want +-$TOL% (pps x T + burst)" \
			within "${GOT[0]}" "$want"
		verdict "$v ${mult}x: the agent's counters match ($(agent_says); sent ${SENT[0]}, received ${GOT[0]})" \
			agent_agrees "${SENT[0]}" "${GOT[0]}"
	done
	measure "under-v$fam" "allowed:$a:$na:9000:$((PPS / 2)):$SHORT"
	verdict "$v client under its limit ($((PPS / 2)) pps, ${SHORT} s) loses nothing: received ${GOT[0]} of ${SENT[0]}" \
		eval '[ "${GOT[0]}" -eq "${SENT[0]}" ] && [ "${SENT[0]}" -ge $((PPS * SHORT * 9 / 20)) ]'
	verdict "$v under the limit: no rate-limit drop ($(agent_says))" \
		eval '[ "$D_DROP" -eq 0 ] && [ "$D_LIMITED" -eq 0 ] && [ "$D_PASS" -eq "${GOT[0]}" ]'

	# two hosts of one /24 (/64), /32 (/128) keys: a bucket each
	want=$((PPS * SHORT + BURST))
	measure "hosts-v$fam" "allowed:$a:$na:9000:$((PPS * 2)):$SHORT" "allowed:$x:$na:9000:$((PPS * 2)):$SHORT"
	verdict "$v two hosts at 2x, /32 (/128) keys: each receives pps x T + burst: ${GOT[0]} and ${GOT[1]}, want $want +-$TOL% each" \
		eval 'within "${GOT[0]}" "$want" && within "${GOT[1]}" "$want"'
	verdict "$v two hosts: the agent's counters match ($(agent_says))" \
		agent_agrees $((SENT[0] + SENT[1])) $((GOT[0] + GOT[1]))

	# /24 (/64) keys: the two hosts share one bucket, the other client's /24 has its own
	RULE=udp-net
	measure "net-v$fam" "allowed:$a:$na:9001:$((PPS * 2)):$SHORT" "allowed:$x:$na:9001:$((PPS * 2)):$SHORT" \
		"denied:$d:$nd:9001:$((PPS * 2)):$SHORT"
	verdict "$v /24 (/64) key: two hosts of one /24 (/64) at 2x each share one bucket: ${GOT[0]} + ${GOT[1]} = $((GOT[0] + GOT[1])), want $want +-$TOL% together" \
		within $((GOT[0] + GOT[1])) "$want"
	verdict "$v /24 (/64) key: a host of another /24 (/64) has its own bucket: ${GOT[2]}, want $want +-$TOL%" \
		within "${GOT[2]}" "$want"
	verdict "$v /24 keys: the agent's counters match ($(agent_says))" \
		agent_agrees $((SENT[0] + SENT[1] + SENT[2])) $((GOT[0] + GOT[1] + GOT[2]))
done

for line in "${ACC[@]}"; do echo "# accuracy: $line"; done
if pid_alive "$LAB_AGENT_PID"; then pass "agent still running"; else fail "agent still running"; fi
DONE=1
