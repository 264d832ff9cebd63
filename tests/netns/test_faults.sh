#!/usr/bin/env bash
# shellcheck disable=SC2016 # single-quoted strings are eval'd by check, on purpose
# Fault injection against the real agent in the netns lab (tests/netns/lib.sh):
# each fault is injected, its expected outcome stated and checked, and a
# table "fault | expected | observed" is printed at the end, with the faults
# other suites cover named there.
#
#   bpffs       --pin-path on a tmpfs, and on a read-only bpffs (a second bpffs
#               instance in a private mount namespace): exit 3, the cause
#               named, nothing attached, nothing pinned
#   ring full   agent stopped (SIGSTOP) during a denied flood of 81,920 keys
#               (more than the ring's ~43,690 events and ward_agg's 65,536
#               keys), then SIGCONT: every frame dropped, and refuse counts +
#               unaggregated packets = drops, with a LOST record for the loss
#   ct full     --ct-size 1024 and 3,000 live allowed UDP flows: the agent
#               warns (known issue: not always), the table stays at its
#               size, new flows work, denies hold
#   SIGKILL     30 SIGHUP reloads of a 3,003-rule policy (17,751 rule
#               entries), each killed after a random delay spread over the
#               measured reload time + 50 ms (a reload takes ~0.3-0.6 s here,
#               so 0-50 ms alone would only ever hit the parse): with no agent,
#               the kernel holds the old or the new revision, whole (two
#               probes whose verdicts swap), and the restarted agent adopts it
#   disk full   flows file on a 256 KiB tmpfs filled by denied traffic:
#               enforcement and a SIGHUP reload unaffected, losses counted,
#               records written again once there is space (the tmpfs grown),
#               written + lost = emitted
#   time ns     the agent in a time namespace (CLOCK_MONOTONIC +1 day for it,
#               not for the kernel's bpf_ktime): live flows are not freed by
#               its conntrack GC and record times stay on the wall clock
#
# No traffic leaves the lab (documentation addresses, no route out); every
# flood is bounded in frames and seconds. Pins under /sys/fs/bpf/ward-faults-ID,
# removed on EXIT with the namespaces, mounts and processes.
# One line per check, ends with "N passed, N failed"; exit 1 on any failure.
# Checks that fail because of a reported, not yet fixed finding print
# "not ok N - ... # TODO known: ..." and are not counted as failures unless
# FAULTS_STRICT=1. FAULT_KILLS=N changes the number of kills. Also the rows
# of faults other suites cover (rate-limit table full: test_rl (j); hotplug;
# policy file edits: test_reload.sh; sinks: tests/records) and the wall
# clock (by design, never changed here).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_KIND=faults
LAB_CONNECT_TIMEOUT=1
# shellcheck source=tests/netns/lib.sh
. "$HERE/lib.sh"
W=$WARD
PY=/usr/bin/python3 # not a pyenv shim: half a second per start
[ -x "$PY" ] || PY=python3
METRICS_PORT=9471
KILLS=${FAULT_KILLS:-30}
N=0 PASSED=0 FAILED=0 DONE=0 KNOWN=0
SMALL= # the tiny tmpfs of the disk-full fault
UNSHARE_PID=
T_ROWS=()

pass() { N=$((N + 1)); PASSED=$((PASSED + 1)); echo "ok $N - $*"; }
fail() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
check() { # DESC CMD...: CMD's output shown on failure
	local d=$1
	shift
	if "$@" >"$LAB_DIR/check.out" 2>&1; then
		pass "$d"
		return 0
	fi
	fail "$d"
	sed 's/^/#   /' "$LAB_DIR/check.out" | head -20 >&2
	return 1
}
# check_known DESC REASON CMD...: a check that fails because of a reported,
# not yet fixed finding: "not ok ... # TODO known: REASON", counted apart
# (as a failure with FAULTS_STRICT=1). Passing, it says the marker can go.
check_known() {
	local d=$1 why=$2
	shift 2
	if "$@" >"$LAB_DIR/check.out" 2>&1; then
		pass "$d (the known issue did not show this run)"
		return 0
	fi
	if [ "${FAULTS_STRICT:-0}" = 1 ]; then
		fail "$d # known: $why"
	else
		N=$((N + 1))
		KNOWN=$((KNOWN + 1))
		echo "not ok $N - $d # TODO known: $why"
	fi
	sed 's/^/#   /' "$LAB_DIR/check.out" | head -20 >&2
	return 1
}
not() { ! "$@"; }
until_ok() { # SECONDS CMD...
	local t=$(($1 * 5))
	shift
	for ((; t > 0; t--)); do "$@" && return 0; sleep 0.2; done
	return 1
}
# row FAULT EXPECTED OBSERVED: one line of the final table. The observed
# column starts with the outcome of the checks since the last phase_start:
# "ok", "FAILED (n)" or "known issue (n)"; rows of faults covered elsewhere
# (no checks here) pass "-" as OUTCOME through row_ref.
PH_F=0 PH_K=0
phase_start() { PH_F=$FAILED PH_K=$KNOWN; }
row() {
	local o=ok
	[ "$KNOWN" -gt "$PH_K" ] && o="known issue ($((KNOWN - PH_K)))"
	[ "$FAILED" -gt "$PH_F" ] && o="FAILED ($((FAILED - PH_F)))"
	T_ROWS+=("$1|$2|$o: $3")
}
row_ref() { T_ROWS+=("$1|$2|$3"); }
okfail() { [ "$1" = 0 ] && echo "ok" || echo "FAILED"; }

on_exit() {
	local rc=$? r
	set +e
	if [ "$DONE" != 1 ]; then
		fail "the script ran to completion (stopped with status $rc)"
		agent_log_tail 30
	fi
	[ "$FAILED" -gt 0 ] && [ "$DONE" = 1 ] && agent_log_tail 30
	if [ -n "$UNSHARE_PID" ]; then
		stop_pid "$UNSHARE_PID" TERM 3
	fi
	lab_cleanup_faults
	if [ ${#T_ROWS[@]} -gt 0 ]; then
		echo
		echo "fault | expected | observed"
		echo "--- | --- | ---"
		for r in "${T_ROWS[@]}"; do
			echo "${r//|/ | }"
		done
		echo
	fi
	[ "$KNOWN" -gt 0 ] && echo "# $KNOWN known failures (reported findings, TODO above; FAULTS_STRICT=1 counts them)"
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ] && [ "$DONE" = 1 ] && exit 0
	exit 1
}
lab_cleanup_faults() {
	[ -n "$LAB_AGENT_PID" ] && stop_pid "$LAB_AGENT_PID" TERM 5
	LAB_AGENT_PID=
	if [ -n "$SMALL" ] && mountpoint -q "$SMALL"; then
		umount "$SMALL" 2>/dev/null || umount -l "$SMALL"
	fi
	lab_cleanup
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! lab_require; then
	fail "prerequisites: $LAB_WHY"
	DONE=1
	exit 1
fi
for t in unshare mount umount df; do
	command -v "$t" >/dev/null || { fail "prerequisites: missing tool $t"; DONE=1; exit 1; }
done
lab_setup
POL=$LAB_DIR/policy.json
FLOWS=$LAB_DIR/flows.json
NODE_MAC_DENIED=$(ip -n "$NS_NODE" -br link show "$IF_DENIED" | awk '{print $3}')
NODE_MAC_ALLOWED=$(ip -n "$NS_NODE" -br link show "$IF_ALLOWED" | awk '{print $3}')
DENIED_MAC=$(ip -n "$NS_DENIED" -br link show "$IF_CLIENT" | awk '{print $3}')
ALLOWED_MAC=$(ip -n "$NS_ALLOWED" -br link show "$IF_CLIENT" | awk '{print $3}')

# ---- policies: A and B swap the verdicts of tcp/9100 and tcp/9200 -------------------
# 3,000 filler rules with port ranges make each publish write ~21,000 entries.
gen_policy() { # A|B REVISION FILLER_RULES
	$PY - "$@" <<'EOF'
import json, sys
variant, rev, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
A = variant == "A"
allowed = ["198.51.100.0/24", "2001:db8:1::/64"]
ingress = [
    {"id": "p9100", "action": "allow" if A else "deny", "from": allowed, "proto": "tcp", "ports": [9100]},
    {"id": "p9200", "action": "deny" if A else "allow", "from": allowed, "proto": "tcp", "ports": [9200]},
    {"id": "dns", "from": allowed, "proto": "udp", "ports": ["5353-5354"]},
]
for i in range(n):
    lo = 10000 + (i * 7) % 40000
    ingress.append({"id": "f%d" % i, "from": ["192.0.2.%d/32" % (i % 256), "2001:db8:f:%x::/64" % i],
                    "proto": "tcp" if i % 2 else "udp", "ports": ["%d-%d" % (lo, lo + 1 + i % 13)]})
print(json.dumps({"version": 1, "name": "faults-" + variant, "revision": rev,
                  "defaults": {"ingress": "deny", "egress": "allow", "log": "denied"},
                  "ingress": ingress}))
EOF
}
gen_policy A 1 3000 >"$LAB_DIR/A.json"
gen_policy B 2 3000 >"$LAB_DIR/B.json"
NRULES=3003
cp "$LAB_DIR/A.json" "$POL"

# flood IN_ROLE IFNAME DST_MAC SRC_MAC NET24 SRC_LO NSRC DST DPORT_LO NPORTS SPORT_LO NSPORT ROUNDS
# raw IPv4/UDP frames from a client namespace (AF_PACKET), bounded to 60 s
flood() {
	local role=$1
	shift
	timeout 90 nsenter --net="/run/netns/$(lab_ns "$role")" -- $PY - "$@" 60 <<'EOF'
import socket, struct, sys, time
(ifname, dmac, smac, net, slo, nsrc, dst, dlo, nports, splo, nsport, rounds, max_s) = sys.argv[1:14]
slo, nsrc, dlo, nports, splo, nsport, rounds = map(int, (slo, nsrc, dlo, nports, splo, nsport, rounds))
mac = lambda m: bytes(int(x, 16) for x in m.split(":"))
eth = mac(dmac) + mac(smac) + b"\x08\x00"
payload = b"ward-fault-flood"
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
def csum(h):
    t = sum(struct.unpack("!10H", h))
    t = (t & 0xFFFF) + (t >> 16)
    t = (t & 0xFFFF) + (t >> 16)
    return (~t) & 0xFFFF
frames = []
for a in range(slo, slo + nsrc):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + len(payload), 0, 0x4000, 64, 17, 0,
                     socket.inet_aton("%s.%d" % (net, a)), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    for sp in range(splo, splo + nsport):
        for dp in range(dlo, dlo + nports):
            frames.append(eth + ip + struct.pack("!HHHH", sp, dp, 8 + len(payload), 0) + payload)
sent, t0 = 0, time.monotonic()
for r in range(rounds):
    for f in frames:
        while True:
            try:
                s.send(f)
                break
            except OSError:  # ENOBUFS: the veth queue is full, retry
                time.sleep(0.0005)
        sent += 1
    if time.monotonic() - t0 > float(max_s):
        break
print("sent=%d keys=%d seconds=%.2f" % (sent, len(frames), time.monotonic() - t0))
EOF
}

# ---- agent ---------------------------------------------------------------------------
start_agent() { # [EXTRA ARGS...]: policy $POL, pins $LAB_PIN, ct 1024, flows $FLOWS
	LAB_AGENT_LOG=$LAB_DIR/agent.log
	echo "--- start $*" >>"$LAB_AGENT_LOG"
	nsenter --net="/run/netns/$NS_NODE" -- "$W" run --policy "$POL" \
		--interface "$IF_ALLOWED" --interface "$IF_DENIED" --pin-path "$LAB_PIN" \
		--ct-size 1024 --control-socket none "$@" </dev/null >>"$LAB_AGENT_LOG" 2>&1 &
	LAB_AGENT_PID=$!
}
stop_agent() {
	[ -n "$LAB_AGENT_PID" ] && stop_pid "$LAB_AGENT_PID" TERM 10
	LAB_AGENT_PID=
}
# agent_ready [SECS]: the agent is in its main loop: SIGHUP is blocked (read
# through its signalfd) only from there on. `ward status` cannot tell: the
# pins of the previous agent enforce before the new one is up, and a SIGHUP
# that comes earlier ends the agent (the default action).
sighup_blocked() {
	local m
	m=$(awk '/^SigBlk:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
	[ -n "$m" ] && (((16#$m) & 1))
}
agent_ready() {
	local i
	for ((i = 0; i < ${1:-20} * 10; i++)); do
		pid_alive "$LAB_AGENT_PID" || return 1
		sighup_blocked "$LAB_AGENT_PID" && return 0
		sleep 0.1
	done
	return 1
}
status_json() { ward_node status --json 2>/dev/null; }
# jget FILE PYTHON-EXPR-ON-J
jget() { $PY -c 'import json,sys; J=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null; }
revision() { status_json >"$LAB_DIR/st.json"; jget "$LAB_DIR/st.json" 'J["policy"]["revision"]'; }
rev_is() { [ "$(revision)" = "$1" ]; }
drops_in() { # ingress packets the policy dropped (default and deny rules)
	ward_node stats --json >"$LAB_DIR/stats.json" 2>/dev/null
	jget "$LAB_DIR/stats.json" 'sum(J["verdicts"]["ingress"][k]["packets"] for k in ("drop_default", "drop_rule"))'
}
metric() { # NAME[{labels}] -> value (sum over matching series), from the node namespace
	in_ns node "$PY" -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
		"http://127.0.0.1:$METRICS_PORT/metrics" 2>/dev/null |
		awk -v m="$1" 'index($0, m) == 1 { s += $NF } END { printf "%d\n", s }'
}
# connects ROLE ADDR PORT: a TCP connection is established within 0.3 s (the
# lab's round trip is well under a millisecond)
connects() {
	timeout 2 nsenter --net="/run/netns/$(lab_ns "$1")" -- \
		timeout 0.3 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null
}
# verdicts_are A|B: 9100 and 9200 from the allowed client as that policy says
verdicts_are() {
	local p9100=0 p9200=0
	connects allowed "$NODE_ALLOWED_V4" 9100 && p9100=1
	connects allowed "$NODE_ALLOWED_V4" 9200 && p9200=1
	LAST_PROBES="9100:$p9100 9200:$p9200"
	case $1 in
	A) [ $p9100 = 1 ] && [ $p9200 = 0 ] ;;
	B) [ $p9100 = 0 ] && [ $p9200 = 1 ] ;;
	esac
}
attached_anything() { # anything of ward on the node's interfaces
	in_ns node ip -d link show | grep -qE "prog/xdp|xdp(generic|drv)? " && return 0
	in_ns node tc filter show dev "$IF_ALLOWED" egress 2>/dev/null | grep -q . && return 0
	in_ns node tc filter show dev "$IF_DENIED" egress 2>/dev/null | grep -q . && return 0
	return 1
}
# flows_sum PYTHON-FILTER-ON-R: sum of "count" over the flow file's records R that match
flows_sum() {
	$PY - "$FLOWS_FILE" "$1" <<'EOF'
import json, sys
n = 0
for line in open(sys.argv[1], errors="replace"):
    try:
        R = json.loads(line)
    except ValueError:
        continue
    if eval(sys.argv[2]):
        n += R.get("count", 0)
print(n)
EOF
}

# ======================================================================================
# 1. bpffs missing or read-only
# ======================================================================================
phase_start
mkdir -p "$LAB_DIR/notbpf"
timeout 30 nsenter --net="/run/netns/$NS_NODE" -- "$W" run --policy "$POL" --interface "$IF_ALLOWED" \
	--pin-path "$LAB_DIR/notbpf/ward" --control-socket none --flows none >"$LAB_DIR/tmpfs.log" 2>&1
rc=$?
check "pin path on a tmpfs: ward run exits 3" test "$rc" = 3
check "pin path on a tmpfs: the error names the cause (not on a BPF file system)" \
	grep -qi "not on BPF FS" "$LAB_DIR/tmpfs.log"
check "pin path on a tmpfs: nothing attached, nothing pinned" \
	eval 'not attached_anything && [ -z "$(ls -A "$LAB_DIR/notbpf/ward" 2>/dev/null)" ]'
o1="exit $rc; $(grep -oi "not on BPF FS" "$LAB_DIR/tmpfs.log" | head -1); attached: $(attached_anything && echo yes || echo no)"

row "pin path not on bpffs (tmpfs dir)" "exit 3, cause named, nothing attached or pinned" "$o1"
phase_start
mkdir -p "$LAB_DIR/robpf"
# a second bpffs instance, read-only, in a private mount namespace: gone with it
timeout 30 unshare --mount --propagation private -- bash -c '
	mount -t bpf bpf "$1" && mount -o remount,ro "$1" || exit 99
	exec nsenter --net="/run/netns/$2" -- "$3" run --policy "$4" --interface "$5" \
		--pin-path "$1/ward" --control-socket none --flows none' \
	_ "$LAB_DIR/robpf" "$NS_NODE" "$W" "$POL" "$IF_ALLOWED" >"$LAB_DIR/robpf.log" 2>&1
rc=$?
check "read-only bpffs: ward run exits 3" test "$rc" = 3
check "read-only bpffs: the error names the cause (read-only file system)" \
	grep -qi "read-only file system" "$LAB_DIR/robpf.log"
check "read-only bpffs: nothing attached" not attached_anything
check "read-only bpffs: the mount did not outlive its namespace" not mountpoint -q "$LAB_DIR/robpf"
o2="exit $rc; $(grep -oi "read-only file system" "$LAB_DIR/robpf.log" | head -1); attached: $(attached_anything && echo yes || echo no)"
row "bpffs mounted read-only" "exit 3, cause named, nothing attached" "$o2"

# ======================================================================================
# the agent for the rest: policy A, --ct-size 1024, metrics on the node's loopback
# ======================================================================================
FLOWS_FILE=$FLOWS
start_agent --flows "file:$FLOWS" --metrics "127.0.0.1:$METRICS_PORT"
if ! agent_ready 20 || ! agent_wait_enforcing 20; then
	fail "the agent enforces policy A"
	DONE=1
	exit 1
fi
lab_serve node tcp 9100
lab_serve node tcp 9200
lab_wait_listening node tcp 9100
lab_wait_listening node tcp 9200
check "policy A in force: 9100 connects, 9200 is refused" until_ok 5 verdicts_are A

# ======================================================================================
# 2. ring buffer full: the agent stopped while a denied flood of many keys runs
# ======================================================================================
phase_start
NSRC=256 NPORTS=320 ROUNDS=2 # 81,920 keys, 163,840 frames
D0=$(drops_in)
status_json >"$LAB_DIR/st0.json"
U0=$(jget "$LAB_DIR/st0.json" 'J["events_lost"]["unaggregated_packets"]')
E0=$(jget "$LAB_DIR/st0.json" 'J["events_lost"]["events"]')
kill -STOP "$LAB_AGENT_PID"
GEN=$(flood denied "$IF_CLIENT" "$NODE_MAC_DENIED" "$DENIED_MAC" 203.0.113 0 $NSRC \
	"$NODE_DENIED_V4" 20000 $NPORTS 40000 1 $ROUNDS)
echo "# ring flood: $GEN"
SENT=$(echo "$GEN" | sed -n 's/.*sent=\([0-9]*\).*/\1/p')
check "agent stopped: an allowed connection still opens (enforcement needs no agent)" connects allowed "$NODE_ALLOWED_V4" 9100
check "agent stopped: a denied connection is still refused" not connects allowed "$NODE_ALLOWED_V4" 9200
D1=$(drops_in)
status_json >"$LAB_DIR/st1.json"
U1=$(jget "$LAB_DIR/st1.json" 'J["events_lost"]["unaggregated_packets"]')
E1=$(jget "$LAB_DIR/st1.json" 'J["events_lost"]["events"]')
DROPS=$((D1 - D0))
UNAGG=$((U1 - U0))
echo "# sent $SENT, dropped $DROPS, unaggregated (ward_agg full) $UNAGG, ring events lost $((E1 - E0))"
check "every flood frame was dropped and counted (drop_default +$DROPS for $SENT sent)" \
	test "$DROPS" -ge "${SENT:-1}" -a "${SENT:-0}" -gt 0
check "ward status --json counts the packets no aggregate could hold (events_lost.unaggregated_packets > 0)" \
	test "$UNAGG" -gt 0
kill -CONT "$LAB_AGENT_PID"
# Keys idle for 2 intervals are collected on the next tick, then the LOST
# record. The whole account, since this agent created the maps: every refuse
# record's count, plus the packets no aggregate held, against every packet
# the policy dropped at ingress (the probes' included).
all_refused() { flows_sum 'R.get("activity_id") == 5'; }
sleep 3
prev=-1
for _ in $(seq 20); do # until the refuse counts stop growing (10 s at most)
	REF=$(all_refused)
	[ "$REF" = "$prev" ] && break
	prev=$REF
	sleep 0.5
done
DTOT=$(drops_in)
status_json >"$LAB_DIR/st2.json"
UTOT=$(jget "$LAB_DIR/st2.json" 'J["events_lost"]["unaggregated_packets"]')
ETOT=$(jget "$LAB_DIR/st2.json" 'J["events_lost"]["events"]')
FLOODREF=$(flows_sum 'R.get("activity_id") == 5 and R.get("dst_endpoint", {}).get("ip") == "'"$NODE_DENIED_V4"'" and 20000 <= R.get("dst_endpoint", {}).get("port", 0) < '$((20000 + NPORTS))'')
# A key whose first event found the ring full keeps that packet in its sum:
# one record of count 2 instead of two of count 1. Any such record shows the
# ring filled while the agent was stopped.
KEPT=$(flows_sum 'R.get("activity_id") == 5 and 20000 <= R.get("dst_endpoint", {}).get("port", 0) < '$((20000 + NPORTS))' and R.get("count") == 2 and R.update(count=1) is None')
QLOST=$(metric ward_records_queue_lost_total)
# shellcheck disable=SC2034 # read by an eval below
LOSTREC=$(flows_sum 'R.get("activity_id") == 99')
LOSTMSG=$($PY -c '
import json, sys
for l in open(sys.argv[1]):
    try: r = json.loads(l)
    except ValueError: continue
    if r.get("activity_id") == 99: print(r.get("message", ""))' "$FLOWS" | paste -sd '|' | sed 's/|/; /g')
echo "# all refuse counts $REF (the flood's keys $FLOODREF, $KEPT of them with the first packet kept in ward_agg) + unaggregated $UTOT = $((REF + UTOT)) for $DTOT ingress drops; ring events lost $ETOT; LOST records: $LOSTMSG; record queue lost $QLOST"
check "the ring buffer filled while the agent was stopped ($KEPT keys' first packet waited in ward_agg)" \
	test "${KEPT:-0}" -gt 0
check "nothing silent: all refuse counts + unaggregated packets = all ingress drops ($REF + $UTOT = $DTOT)" \
	test $((REF + UTOT)) = "$DTOT" -a "$ETOT" = 0
check "a records-lost record (activity_id 99) reports the unaggregated packets, where they were lost" \
	eval '[ "$LOSTREC" -ge "$UNAGG" ] && echo "$LOSTMSG" | grep -q "aggregation table full, [0-9]* denied/limited packets unrecorded"'
check "no record lost at the record queue while the agent caught up" test "$QLOST" = 0
row "ring buffer full (agent SIGSTOPped, $((NSRC * NPORTS)) denied keys x $ROUNDS)" \
	"drops counted; refuse counts + unaggregated = drops; LOST record for the rest" \
	"$SENT sent, all dropped ($DROPS); ring full ($KEPT first packets waited in ward_agg; ring events lost: $ETOT); every ingress drop accounted: refuse counts $REF + unaggregated $UTOT = $DTOT; LOST record: ${LOSTMSG:-none}; record queue lost $QLOST"

# ======================================================================================
# 3. conntrack table full: --ct-size 1024, 3,000 live allowed UDP flows
# ======================================================================================
phase_start
status_json >"$LAB_DIR/ct0.json"
CTCAP=$(jget "$LAB_DIR/ct0.json" 'J["conntrack"]["capacity"]')
lab_serve node udp 5353
lab_wait_listening node udp 5353
GEN=$(flood allowed "$IF_CLIENT" "$NODE_MAC_ALLOWED" "$ALLOWED_MAC" 198.51.100 2 1 \
	"$NODE_ALLOWED_V4" 5354 1 30000 3000 1)
echo "# conntrack flood: $GEN"
check_known "the agent warns that the conntrack table is full" \
	"LRU keeps per-CPU free nodes: live entries stay under 90% of --ct-size while evicting" \
	until_ok 7 grep -q "conntrack [0-9]* of $CTCAP entries in use" "$LAB_AGENT_LOG"
status_json >"$LAB_DIR/ct1.json"
CTN=$(jget "$LAB_DIR/ct1.json" 'J["conntrack"]["entries"]')
check "conntrack is full and stays within its size ($CTN of $CTCAP entries)" \
	test "${CTN:-0}" -le "$CTCAP" -a "${CTN:-0}" -ge $((CTCAP * 3 / 4))
check "table full: a new allowed TCP connection opens (policy A, 9100)" connects allowed "$NODE_ALLOWED_V4" 9100
check "table full: a new allowed UDP exchange works (udp/5353)" probe_udp allowed "$NODE_ALLOWED_V4" 5353
check "table full: denied traffic is still refused (9200, and from the denied client)" \
	eval 'not connects allowed "$NODE_ALLOWED_V4" 9200 && not connects denied "$NODE_DENIED_V4" 9100'
check "the agent is still running" pid_alive "$LAB_AGENT_PID"
row "conntrack table full (--ct-size 1024, 3000 flows)" \
	"warning logged, table at its size, new allowed flows work, denies hold" \
	"warning: $(grep -o "conntrack [0-9]* of [0-9]* entries in use" "$LAB_AGENT_LOG" | tail -1 | grep . || echo none); ward status: $CTN of $CTCAP entries; new TCP and UDP flows ok, denies hold"
row_ref "rate-limit table full (spoofed sources)" "clients past --rl-size share the sketch, limits hold" \
	"covered by build/tests/test_rl case (j) (suite rl), not repeated here"

# ======================================================================================
# 4. SIGKILL at a random point of a policy reload, $KILLS times
# ======================================================================================
stop_agent
phase_start
old=0 new=0 mixed=0 nopol=0 bad_restart=0
start_agent --flows none
agent_ready 20 || fail "the agent restarts for the kill loop"
# How long one reload of this policy takes here (SIGHUP to the new revision
# in ward status): the kills are spread over it, plus 50 ms, so that they
# land in the parse, the compile, the writing of the idle slot, the switch
# and after it.
cp "$LAB_DIR/B.json" "$POL.tmp" && mv -f "$POL.tmp" "$POL"
t0=$(date +%s%N)
kill -HUP "$LAB_AGENT_PID"
for _ in $(seq 500); do rev_is 2 && break; sleep 0.01; done
APPLY_MS=$((($(date +%s%N) - t0) / 1000000))
if ! rev_is 2 || [ "$APPLY_MS" -gt 10000 ]; then
	fail "calibration: a reload of the $NRULES-rule policy shows in ward status ($APPLY_MS ms)"
	APPLY_MS=1000
fi
LIVE=B
echo "# one reload of the $NRULES-rule policy takes ${APPLY_MS} ms here: kills after 0-$((APPLY_MS + 50)) ms"
for ((i = 1; i <= KILLS; i++)); do
	[ $LIVE = A ] && NEXT=B || NEXT=A
	cp "$LAB_DIR/$NEXT.json" "$POL.tmp" && mv -f "$POL.tmp" "$POL"
	delay=$((RANDOM % (APPLY_MS + 51)))
	kill -HUP "$LAB_AGENT_PID"
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	kill -KILL "$LAB_AGENT_PID" 2>/dev/null
	wait "$LAB_AGENT_PID" 2>/dev/null
	LAB_AGENT_PID=
	# no agent now: what the kernel holds
	if ! status_json >"$LAB_DIR/k.json"; then
		nopol=$((nopol + 1))
		echo "# kill $i: ward status says not enforcing" >&2
	fi
	R=$(jget "$LAB_DIR/k.json" 'J["policy"]["revision"]')
	NR=$(jget "$LAB_DIR/k.json" 'J["policy"]["rules"]')
	case $R in 1) HELD=A ;; 2) HELD=B ;; *) HELD=none ;; esac
	if [ $HELD = none ] || [ "$NR" != "$NRULES" ]; then
		nopol=$((nopol + 1))
		echo "# kill $i: revision '$R', $NR rules" >&2
	elif ! verdicts_are $HELD; then
		mixed=$((mixed + 1))
		echo "# kill $i: revision $R ($HELD) but probes $LAST_PROBES" >&2
	elif [ $HELD = $LIVE ]; then
		old=$((old + 1))
	else
		new=$((new + 1))
	fi
	echo "# kill $i after $delay ms: $HELD (revision $R) held, probes $LAST_PROBES"
	# restart: it publishes the file, that is $NEXT
	start_agent --flows none
	# (SIGHUP is blocked from the agent's first instruction on: wait for
	# the revision it publishes, not for the signal mask)
	if ! agent_ready 20 || ! until_ok 20 rev_is "$([ $NEXT = A ] && echo 1 || echo 2)"; then
		bad_restart=$((bad_restart + 1))
		echo "# kill $i: the restarted agent does not enforce $NEXT" >&2
	fi
	LIVE=$NEXT
done
echo "# $KILLS kills during reloads: $old left the old policy, $new the new one, $mixed mixed, $nopol no whole policy, $bad_restart bad restarts"
check "after each of $KILLS kills the kernel held one whole policy (old $old, new $new)" \
	test $((old + new)) = "$KILLS" -a "$mixed" = 0 -a "$nopol" = 0
check "probes matched the revision held after every kill (never a mix)" test "$mixed" = 0
check "every restarted agent adopted the pins and enforced the file's policy" test "$bad_restart" = 0
check "the agent after the last restart: probes as its policy says" verdicts_are $LIVE
row "SIGKILL at a random point of a SIGHUP reload ($KILLS times, $NRULES rules)" \
	"old or new revision in force, whole (probes agree), never a mix, never none" \
	"reload ${APPLY_MS} ms, kills at 0-$((APPLY_MS + 50)) ms: old $old, new $new, mixed $mixed, no policy $nopol; restarts ok $((KILLS - bad_restart))/$KILLS"
row_ref "interface removed and re-added under the agent" "detached when it goes, attached again when it comes back" \
	"covered by tests/netns/test_hotplug.sh (suite hotplug)"
row_ref "policy file deleted, truncated, half-written" "rejected, live policy kept, reloaded once whole" \
	"covered by tests/netns/test_reload.sh (suite reload)"

# ======================================================================================
# 5. flow-log disk full: the flows file on a 256 KiB tmpfs
# ======================================================================================
stop_agent
phase_start
SMALL=$LAB_DIR/small
mkdir -p "$SMALL"
mount -t tmpfs -o size=256k,mode=0750 ward-faults "$SMALL"
FLOWS_FILE=$SMALL/flows.json
start_agent --flows "file:$FLOWS_FILE" --metrics "127.0.0.1:$METRICS_PORT"
agent_ready 20 || fail "the agent restarts with its flows file on the small tmpfs"
SINK="ward_records_lost_total{sink=\"file:$FLOWS_FILE\"}"
D0=$(drops_in)
GEN=$(flood denied "$IF_CLIENT" "$NODE_MAC_DENIED" "$DENIED_MAC" 203.0.113 0 50 \
	"$NODE_DENIED_V4" 21000 80 40000 1 1) # 4,000 keys: ~4 MB of refuse records
echo "# disk-full flood: $GEN"
SENT=$(echo "$GEN" | sed -n 's/.*sent=\([0-9]*\).*/\1/p')
# 5 s of samples: lost must become > 0 (buffered first, given up at a tick),
# and ward_records_written_total, a Prometheus counter, must never go down
WSERIES=
WDOWN=0
prevw=0
for _ in $(seq 20); do
	w=$(metric "ward_records_written_total{sink=\"file:$FLOWS_FILE\"}")
	WSERIES="$WSERIES $w"
	[ "${w:-0}" -lt "$prevw" ] && WDOWN=1
	prevw=${w:-0}
	sleep 0.25
done
LOST1=$(metric "$SINK")
AVAIL=$(df -k --output=avail "$SMALL" | tail -1 | tr -d ' ')
echo "# tmpfs avail ${AVAIL} KiB, file $(stat -c %s "$FLOWS_FILE") bytes, sink lost $LOST1"
check "the tmpfs is full" test "${AVAIL:-999}" -le 8
check "disk full: the flood was dropped ($SENT frames)" test $(($(drops_in) - D0)) -ge "${SENT:-1}"
check "disk full: records that could not be written are counted lost (metrics: $LOST1)" test "${LOST1:-0}" -gt 0
check "disk full: enforcement as policy $LIVE says (probes 9100, 9200)" verdicts_are "$LIVE"
check "disk full: the file holds whole lines only" \
	$PY -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$FLOWS_FILE"
# a reload while the disk is full: policy B as revision 3
sed 's/"revision": 2/"revision": 3/' "$LAB_DIR/B.json" >"$POL.tmp" && mv -f "$POL.tmp" "$POL"
kill -HUP "$LAB_AGENT_PID"
check "disk full: SIGHUP reload to revision 3 takes effect" until_ok 5 rev_is 3
check "disk full: the new policy is enforced (9100 refused, 9200 opens)" verdicts_are B
check "disk full: the agent is still running" pid_alive "$LAB_AGENT_PID"
# space back (the tmpfs grown to 8 MiB; a truncation would be refilled at
# once by the 256 KiB the sink still buffers): the next records are written
mount -o remount,size=8m "$SMALL"
sleep 2
flood denied "$IF_CLIENT" "$NODE_MAC_DENIED" "$DENIED_MAC" 203.0.113 0 5 \
	"$NODE_DENIED_V4" 22000 4 40000 1 1 >/dev/null # 20 new keys
sleep 3
NEWREC=$(flows_sum 'R.get("activity_id") == 5 and 22000 <= R.get("dst_endpoint", {}).get("port", 0) < 22004 and R.update(count=1) is None')
check "space back: records are written again (the 20 new keys: $NEWREC records)" \
	test "$NEWREC" -ge 20
EMIT=$(metric ward_records_emitted_total)
LOST2=$(metric "$SINK")
WR=$(metric "ward_records_written_total{sink=\"file:$FLOWS_FILE\"}")
check "every record is accounted for: written $WR + lost $LOST2 = emitted $EMIT" test $((WR + LOST2)) = "$EMIT"
HAS99=$(grep -c '"activity_id":99' "$FLOWS_FILE")
echo "# after space came back: $HAS99 LOST records in the file"
echo "# ward_records_written_total while the disk was full:$WSERIES"
check_known "disk full: ward_records_written_total never goes down (a Prometheus counter)" \
	"agent/sink_file.c moves given-up lines from written to lost" test "$WDOWN" = 0
stop_agent
row_ref "flow-log disk full (sink unit)" "whole lines, written + lost exact, LOST record" \
	"covered by tests/records/test_file.sh (full tmpfs, suite records)"
row "flow-log disk full (live agent, 256 KiB tmpfs)" \
	"drops and a SIGHUP reload unaffected; losses counted; writing resumes" \
	"$LOST1 records counted lost while full; drops and the reload to revision 3 unaffected; space back: $NEWREC of 20 new records written, $HAS99 LOST records in the file; written $WR + lost $LOST2 = emitted $EMIT; ward_records_written_total went down while full:$([ "$WDOWN" = 1 ] && echo " yes" || echo " no")"
row_ref "syslog / IPFIX receiver gone and back" "records counted lost while gone, delivery resumes" \
	"covered by tests/records/test_syslog.sh and tests/records/test_ipfix.sh (suite records)"
umount "$SMALL" && SMALL=

# ======================================================================================
# 6. clocks
# ======================================================================================
# The host clock is never changed here. The datapath (bpf_ktime_get_coarse_ns /
# bpf_ktime_get_ns), conntrack timeouts, rate-limit buckets, aggregation
# intervals and the agent's timers all run on CLOCK_MONOTONIC, which a
# wall-clock jump does not move; records convert monotonic to wall-clock time
# when they are emitted (agent/flows.c mono_to_ms), so after a jump records
# carry the new wall-clock time and durations stay right.
row_ref "wall-clock jump (settimeofday, NTP step)" \
	"enforcement, conntrack, rate limits unaffected (CLOCK_MONOTONIC); records take the new time" \
	"by design, not tested (the host clock is never changed)"
# A time namespace moves CLOCK_MONOTONIC for the agent only, not for the
# kernel's bpf_ktime: the agent must still compare like with like.
phase_start
FLOWS_FILE=$LAB_DIR/flows-timens.json
: >"$FLOWS_FILE"
ward_node detach >/dev/null 2>&1 # a fresh conntrack table: only this phase's flows
nsenter --net="/run/netns/$NS_NODE" -- unshare --time --fork --monotonic 86400 -- \
	"$W" run --policy "$POL" --interface "$IF_ALLOWED" --interface "$IF_DENIED" \
	--pin-path "$LAB_PIN" --ct-size 1024 --control-socket none --flows "file:$FLOWS_FILE" \
	</dev/null >>"$LAB_AGENT_LOG" 2>&1 &
UNSHARE_PID=$!
for _ in $(seq 50); do
	LAB_AGENT_PID=$(cat "/proc/$UNSHARE_PID/task/$UNSHARE_PID/children" 2>/dev/null | awk '{print $1}')
	[ -n "$LAB_AGENT_PID" ] && break
	sleep 0.1
done
agent_ready 20 || fail "the agent starts in a time namespace"
TN=$(awk '/monotonic/ {print $2}' "/proc/$LAB_AGENT_PID/timens_offsets" 2>/dev/null)
check "the agent runs with CLOCK_MONOTONIC shifted by +86400 s" test "${TN:-0}" = 86400
# 20 live allowed UDP flows (60 s timeout), then one conntrack collection (5 s)
flood allowed "$IF_CLIENT" "$NODE_MAC_ALLOWED" "$ALLOWED_MAC" 198.51.100 2 1 \
	"$NODE_ALLOWED_V4" 5354 1 33000 20 1 >/dev/null
status_json >"$LAB_DIR/tn0.json"
C0=$(jget "$LAB_DIR/tn0.json" 'J["conntrack"]["entries"]')
T0=$(date +%s%3N)
connects denied "$NODE_DENIED_V4" 9300 # one refuse record, now
sleep 7
status_json >"$LAB_DIR/tn1.json"
C1=$(jget "$LAB_DIR/tn1.json" 'J["conntrack"]["entries"]')
RT=$($PY - "$FLOWS_FILE" <<'EOF'
import json, sys
for l in open(sys.argv[1]):
    try: r = json.loads(l)
    except ValueError: continue
    if r.get("activity_id") == 5 and r.get("dst_endpoint", {}).get("port") == 9300:
        print(r["time"]); break
EOF
)
echo "# time namespace: conntrack $C0 -> $C1 entries across a collection; refuse record time ${RT:-none}, wall clock $T0"
check "time namespace: the agent's conntrack GC keeps live flows ($C0 -> $C1 entries)" \
	test "${C1:-0}" -ge 20 -a "${C1:-0}" -ge $((${C0:-0} - 2))
check "time namespace: record times are the wall clock (within 10 s)" \
	test -n "$RT" -a $(( ${RT:-0} - T0 < 0 ? T0 - ${RT:-0} : ${RT:-0} - T0 )) -lt 10000
stop_pid "$LAB_AGENT_PID" TERM 5
stop_pid "$UNSHARE_PID" TERM 3
LAB_AGENT_PID=
UNSHARE_PID=
row "agent in a time namespace (CLOCK_MONOTONIC +1 day for it only)" \
	"live flows kept by its GC; records on the wall clock" \
	"conntrack $C0 -> $C1 across a GC; refuse record time $( [ -n "$RT" ] && echo "$((RT - T0)) ms from now" || echo missing)"

DONE=1
