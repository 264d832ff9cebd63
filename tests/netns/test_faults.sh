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
#               ward_records_written_total and ..._lost_total, sampled 3-5
#               times a second through the episode, never go down, records written
#               again once there is space (the tmpfs grown), written + lost
#               = emitted, and the LOST records in the file report every
#               record the sink lost
#   wall clock  the agent's CLOCK_REALTIME jumps +1 day, then to 1 hour behind
#               the true time (tests/netns/wallclock_shift.c, an LD_PRELOAD
#               shim: the host clock is never changed) while it enforces a
#               rate limit, tracks a live TCP flow and writes records:
#               verdicts unchanged, the bucket refills at its rate in every
#               clock epoch (neither frozen nor refilled at once), the flow
#               passes data throughout and is kept by the GC, records take
#               the new time with their sequence unbroken and the flow's
#               durations true across the jumps, no crash
#   time ns     the agent in a time namespace (CLOCK_MONOTONIC +1 day for it,
#               not for the kernel's bpf_ktime): live flows are not freed by
#               its conntrack GC and record times stay on the wall clock
#
# Readiness: every agent is started with NOTIFY_SOCKET pointing at a
# receiver of this script that notes the sender's PID (SCM_CREDENTIALS), and
# "started" means that agent sent READY=1: enforcement is attached then
# (SIGHUP is blocked from the agent's first instruction on, so its signal
# mask tells nothing, and the pins of a previous agent answer `ward status`).
# Every wait polls for a state, bounded in time; no check depends on a sleep.
#
# No traffic leaves the lab (documentation addresses, no route out); every
# flood is bounded in frames and seconds. Pins under /sys/fs/bpf/ward-faults-ID,
# control sockets in the run's temporary directory; everything removed on
# EXIT with the namespaces, mounts and processes.
# One line per check, ends with "N passed, N failed"; exit 1 on any failure.
# Checks that fail because of a reported, not yet fixed finding print
# "not ok N - ... # TODO known: ..." and are not counted as failures unless
# FAULTS_STRICT=1. FAULT_KILLS=N changes the number of kills. Also the rows
# of faults other suites cover (rate-limit table full: test_rl (j); hotplug;
# policy file edits: test_reload.sh; sinks: tests/records).
# WARD=PATH or BUILD=DIR (lib.sh) choose the agent binary.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_KIND=faults
LAB_CONNECT_TIMEOUT=1
# shellcheck source=tests/netns/lib.sh
. "$HERE/lib.sh"
# shellcheck source=tests/lib/checks.sh
. "$HERE/../lib/checks.sh" # not, until_ok; check is this suite's own (below)
W=$WARD
PY=/usr/bin/python3 # not a pyenv shim: half a second per start
[ -x "$PY" ] || PY=python3
METRICS_PORT=9471
KILLS=${FAULT_KILLS:-30}
N=0 PASSED=0 FAILED=0 DONE=0 KNOWN=0
SMALL= # the tiny tmpfs of the disk-full fault
UNSHARE_PID=
AGENT_ENV=() # VAR=VALUE added to the agent's environment by start_agent
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
# row FAULT EXPECTED OBSERVED: one line of the final table. The observed
# column starts with the outcome of the checks since the last phase_start:
# "ok", "FAILED (n)" or "known issue (n)"; rows of faults covered elsewhere
# (no checks here) pass "-" as OUTCOME through row_ref.
PH_F=0 PH_K=0 PH_T=$SECONDS
phase_start() { # NAME
	echo "# --- $1 (at ${SECONDS} s)"
	PH_F=$FAILED PH_K=$KNOWN PH_T=$SECONDS
}
row() {
	local o=ok
	[ "$KNOWN" -gt "$PH_K" ] && o="known issue ($((KNOWN - PH_K)))"
	[ "$FAILED" -gt "$PH_F" ] && o="FAILED ($((FAILED - PH_F)))"
	T_ROWS+=("$1|$2|$o: $3")
	echo "# phase took $((SECONDS - PH_T)) s"
}
row_ref() { T_ROWS+=("$1|$2|$3"); }

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
	echo "# suite time ${SECONDS} s"
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
for t in unshare mount umount df "${CC:-cc}"; do
	command -v "$t" >/dev/null || { fail "prerequisites: missing tool $t"; DONE=1; exit 1; }
done
lab_setup
POL=$LAB_DIR/policy.json
FLOWS=$LAB_DIR/flows.json
CTL=$LAB_DIR/ctl.sock
NODE_MAC_DENIED=$(ip -n "$NS_NODE" -br link show "$IF_DENIED" | awk '{print $3}')
NODE_MAC_ALLOWED=$(ip -n "$NS_NODE" -br link show "$IF_ALLOWED" | awk '{print $3}')
DENIED_MAC=$(ip -n "$NS_DENIED" -br link show "$IF_CLIENT" | awk '{print $3}')
ALLOWED_MAC=$(ip -n "$NS_ALLOWED" -br link show "$IF_CLIENT" | awk '{print $3}')

# ---- readiness: the agents' sd_notify messages, by sender PID ---------------------------
NOTIFY=$LAB_DIR/notify.sock
NOTIFY_LOG=$LAB_DIR/notify.log
: >"$NOTIFY_LOG"
$PY - "$NOTIFY" "$NOTIFY_LOG" 900 <<'EOF' &
import socket, struct, sys, time
path, log, max_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
s.settimeout(1)
end = time.monotonic() + max_s
with open(log, "a", buffering=1) as out:
    while time.monotonic() < end:
        try:
            msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        except socket.timeout:
            continue
        pid = 0
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", data[:12])[0]
        for line in msg.decode(errors="replace").splitlines():
            out.write("%d %s\n" % (pid, line))
EOF
LAB_PIDS+=($!)
if ! until_ok 10 test -S "$NOTIFY"; then
	fail "prerequisites: the notify socket $NOTIFY"
	DONE=1
	exit 1
fi
notified() { grep -cx "$1 $2" "$NOTIFY_LOG"; } # PID MESSAGE -> how many times

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
# start_agent [EXTRA ARGS...]: policy $POL, pins $LAB_PIN, ct 1024, control
# socket $CTL, sd_notify to $NOTIFY, AGENT_ENV in its environment. nsenter
# and env exec, so LAB_AGENT_PID is the agent's own PID.
start_agent() {
	LAB_AGENT_LOG=$LAB_DIR/agent.log
	echo "--- start $*" >>"$LAB_AGENT_LOG"
	nsenter --net="/run/netns/$NS_NODE" -- env NOTIFY_SOCKET="$NOTIFY" "${AGENT_ENV[@]}" \
		"$W" run --policy "$POL" --interface "$IF_ALLOWED" --interface "$IF_DENIED" \
		--pin-path "$LAB_PIN" --ct-size 1024 --control-socket "$CTL" "$@" \
		</dev/null >>"$LAB_AGENT_LOG" 2>&1 &
	LAB_AGENT_PID=$!
}
stop_agent() {
	[ -n "$LAB_AGENT_PID" ] && stop_pid "$LAB_AGENT_PID" TERM 10
	LAB_AGENT_PID=
}
# agent_ready [SECS]: the agent sent READY=1 (policy published, programs
# attached to every interface); 1 when it died first or on timeout.
agent_ready() {
	local i
	for ((i = 0; i < ${1:-20} * 5; i++)); do
		[ "$(notified "$LAB_AGENT_PID" READY=1)" -gt 0 ] && return 0
		pid_alive "$LAB_AGENT_PID" || return 1
		sleep 0.2
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
metrics_url() { echo "http://127.0.0.1:$METRICS_PORT/metrics"; }
metric() { # NAME[{labels}] -> value (sum over matching series), from the node namespace
	in_ns node "$PY" -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
		"$(metrics_url)" 2>/dev/null |
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
# gc_runs: conntrack collections the agent logged (it runs with --verbose):
# "conntrack gc: N live, M expired freed", or the warning of a full table
gc_runs() { grep -cE "ward (debug|warn): conntrack (gc: |[0-9]+ of [0-9]+ entries in use)" "$LAB_AGENT_LOG"; }
gc_after() { [ "$(gc_runs)" -gt "$1" ]; } # COUNT: a collection since gc_runs said COUNT

# ======================================================================================
# 1. bpffs missing or read-only
# ======================================================================================
phase_start "bpffs"
mkdir -p "$LAB_DIR/notbpf"
timeout 30 nsenter --net="/run/netns/$NS_NODE" -- "$W" run --policy "$POL" --interface "$IF_ALLOWED" \
	--pin-path "$LAB_DIR/notbpf/ward" --control-socket "$LAB_DIR/ctl-tmpfs.sock" --flows none \
	>"$LAB_DIR/tmpfs.log" 2>&1
rc=$?
check "pin path on a tmpfs: ward run exits 3" test "$rc" = 3
check "pin path on a tmpfs: the error names the cause (not on a BPF file system)" \
	grep -qi "not on BPF FS" "$LAB_DIR/tmpfs.log"
check "pin path on a tmpfs: nothing attached, nothing pinned" \
	eval 'not attached_anything && [ -z "$(ls -A "$LAB_DIR/notbpf/ward" 2>/dev/null)" ]'
o1="exit $rc; $(grep -oi "not on BPF FS" "$LAB_DIR/tmpfs.log" | head -1); attached: $(attached_anything && echo yes || echo no)"

row "pin path not on bpffs (tmpfs dir)" "exit 3, cause named, nothing attached or pinned" "$o1"
phase_start "read-only bpffs"
mkdir -p "$LAB_DIR/robpf"
# a second bpffs instance, read-only, in a private mount namespace: gone with it
timeout 30 unshare --mount --propagation private -- bash -c '
	mount -t bpf bpf "$1" && mount -o remount,ro "$1" || exit 99
	exec nsenter --net="/run/netns/$2" -- "$3" run --policy "$4" --interface "$5" \
		--pin-path "$1/ward" --control-socket "$6" --flows none' \
	_ "$LAB_DIR/robpf" "$NS_NODE" "$W" "$POL" "$IF_ALLOWED" "$LAB_DIR/ctl-robpf.sock" \
	>"$LAB_DIR/robpf.log" 2>&1
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
start_agent --flows "file:$FLOWS" --metrics "127.0.0.1:$METRICS_PORT" --verbose
if ! agent_ready 30 || ! agent_wait_enforcing 20; then
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
phase_start "ring buffer full"
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
# the policy dropped at ingress (the probes' included). One pass over the
# file gives: all refuse counts, the flood's, its keys whose first packet
# waited in ward_agg (a record of count 2 instead of two of count 1: the
# ring was full), the LOST records' counts and messages.
ring_account() {
	$PY - "$FLOWS" "$NODE_DENIED_V4" 20000 $((20000 + NPORTS)) >"$LAB_DIR/ring.acc" <<'EOF'
import json, sys
path, dst, lo, hi = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ref = flood = kept = lost = 0
msgs = []
for line in open(path, errors="replace"):
    if '"activity_id":5,' not in line and '"activity_id":99,' not in line:
        continue
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if r.get("activity_id") == 99:
        lost += r.get("count", 0)
        msgs.append(r.get("message", ""))
        continue
    ref += r.get("count", 0)
    d = r.get("dst_endpoint", {})
    if lo <= d.get("port", 0) < hi:
        kept += r.get("count") == 2
        if d.get("ip") == dst:
            flood += r.get("count", 0)
print(ref, flood, kept, lost, "; ".join(msgs))
EOF
}
ring_settled() { # every ingress drop accounted for in the file, and the LOST record out
	ring_account || return 1
	read -r REF FLOODREF KEPT LOSTREC LOSTMSG <"$LAB_DIR/ring.acc"
	DTOT=$(drops_in)
	status_json >"$LAB_DIR/st2.json"
	UTOT=$(jget "$LAB_DIR/st2.json" 'J["events_lost"]["unaggregated_packets"]')
	ETOT=$(jget "$LAB_DIR/st2.json" 'J["events_lost"]["events"]')
	[ $((REF + UTOT)) = "$DTOT" ] && [ "${LOSTREC:-0}" -ge "$UNAGG" ]
}
until_ok 60 ring_settled
QLOST=$(metric ward_records_queue_lost_total)
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
phase_start "conntrack table full"
status_json >"$LAB_DIR/ct0.json"
CTCAP=$(jget "$LAB_DIR/ct0.json" 'J["conntrack"]["capacity"]')
lab_serve node udp 5353
lab_wait_listening node udp 5353
G=$(gc_runs)
GEN=$(flood allowed "$IF_CLIENT" "$NODE_MAC_ALLOWED" "$ALLOWED_MAC" 198.51.100 2 1 \
	"$NODE_ALLOWED_V4" 5354 1 30000 3000 1)
echo "# conntrack flood: $GEN"
# the agent looks at the table's use at each collection (every 5 s)
check "a conntrack collection ran after the flood" until_ok 12 gc_after "$G"
check_known "the agent warns that the conntrack table is full" \
	"LRU keeps per-CPU free nodes: live entries stay under 90% of --ct-size while evicting" \
	grep -q "conntrack [0-9]* of $CTCAP entries in use" "$LAB_AGENT_LOG"
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
	"covered by tests/bpf/test_rl.c case (j) (suite rl), not repeated here"

# ======================================================================================
# 4. SIGKILL at a random point of a policy reload, $KILLS times
# ======================================================================================
stop_agent
phase_start "SIGKILL during reloads"
old=0 new=0 mixed=0 nopol=0 bad_restart=0
start_agent --flows none
agent_ready 30 || fail "the agent restarts for the kill loop"
# How long one reload of this policy takes here (SIGHUP to the READY=1 the
# agent sends when it is done): the kills are spread over it, plus 50 ms,
# so that they land in the parse, the compile, the writing of the idle
# slot, the switch and after it. (The file's change also asks for a reload
# of its own, 300 ms after the SIGHUP's: the same policy again.)
cp "$LAB_DIR/B.json" "$POL.tmp" && mv -f "$POL.tmp" "$POL"
r0=$(notified "$LAB_AGENT_PID" READY=1)
t0=$(date +%s%N)
kill -HUP "$LAB_AGENT_PID"
for _ in $(seq 2000); do [ "$(notified "$LAB_AGENT_PID" READY=1)" -gt "$r0" ] && break; sleep 0.005; done
APPLY_MS=$((($(date +%s%N) - t0) / 1000000))
if ! rev_is 2 || [ "$APPLY_MS" -gt 10000 ]; then
	fail "calibration: a reload of the $NRULES-rule policy shows in ward status ($APPLY_MS ms)"
	APPLY_MS=1000
fi
LIVE=B
echo "# one reload of the $NRULES-rule policy takes ${APPLY_MS} ms here: kills after 0-$((APPLY_MS + 50)) ms"
for ((i = 1; i <= KILLS; i++)); do
	[ "$LIVE" = A ] && NEXT=B || NEXT=A
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
	elif [ "$HELD" = "$LIVE" ]; then
		old=$((old + 1))
	else
		new=$((new + 1))
	fi
	echo "# kill $i after $delay ms: $HELD (revision $R) held, probes $LAST_PROBES"
	# restart: it publishes the file, that is $NEXT; ready once it says so
	start_agent --flows none
	if ! agent_ready 30 || ! until_ok 10 rev_is "$([ "$NEXT" = A ] && echo 1 || echo 2)"; then
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
check "the agent after the last restart: probes as its policy says" verdicts_are "$LIVE"
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
phase_start "disk full"
SMALL=$LAB_DIR/small
mkdir -p "$SMALL"
mount -t tmpfs -o size=256k,mode=0750 ward-faults "$SMALL"
FLOWS_FILE=$SMALL/flows.json
SINKL="sink=\"file:$FLOWS_FILE\""
start_agent --flows "file:$FLOWS_FILE" --metrics "127.0.0.1:$METRICS_PORT"
agent_ready 30 || fail "the agent restarts with its flows file on the small tmpfs"
# The sink's counters through the whole episode, a scrape every 0.1 s plus
# its own time (90 s at most): "written lost emitted" per line, one scrape each.
SERIES=$LAB_DIR/disk-series
nsenter --net="/run/netns/$NS_NODE" -- timeout 100 $PY - "$(metrics_url)" "$SINKL" "$SERIES" 90 <<'EOF' &
import sys, time, urllib.request
url, label, out, max_s = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
names = ["ward_records_written_total{%s}" % label, "ward_records_lost_total{%s}" % label,
         "ward_records_emitted_total"]
t0 = time.monotonic()
with open(out, "a", buffering=1) as f:
    while time.monotonic() - t0 < max_s:
        try:
            text = urllib.request.urlopen(url, timeout=2).read().decode()
        except OSError as e:
            f.write("# %s\n" % e)
        else:
            v = dict(l.rsplit(" ", 1) for l in text.splitlines() if l.split(" ", 1)[0] in names)
            f.write(" ".join(str(int(float(v.get(n, -1)))) for n in names) + "\n")
        time.sleep(0.1)
EOF
SAMPLER=$!
LAB_PIDS+=("$SAMPLER")
D0=$(drops_in)
GEN=$(flood denied "$IF_CLIENT" "$NODE_MAC_DENIED" "$DENIED_MAC" 203.0.113 0 50 \
	"$NODE_DENIED_V4" 21000 80 40000 1 1) # 4,000 keys: ~4 MB of refuse records
echo "# disk-full flood: $GEN"
SENT=$(echo "$GEN" | sed -n 's/.*sent=\([0-9]*\).*/\1/p')
# the records fill the tmpfs; what the sink cannot write is given up at a
# tick (about a second) and counted lost
avail_kib() { df -k --output=avail "$SMALL" | tail -1 | tr -d ' '; }
full_and_losing() { [ "$(avail_kib)" -le 8 ] && [ "$(metric "ward_records_lost_total{$SINKL}")" -gt 0 ]; }
until_ok 30 full_and_losing
LOST1=$(metric "ward_records_lost_total{$SINKL}")
AVAIL=$(avail_kib)
echo "# tmpfs avail ${AVAIL} KiB, file $(stat -c %s "$FLOWS_FILE") bytes, sink lost $LOST1"
check "the tmpfs is full (${AVAIL} KiB left)" test "${AVAIL:-999}" -le 8
check "disk full: the flood was dropped ($SENT frames)" test $(($(drops_in) - D0)) -ge "${SENT:-1}"
check "disk full: records that could not be written are counted lost (metrics: $LOST1)" test "${LOST1:-0}" -gt 0
check "disk full: enforcement as policy $LIVE says (probes 9100, 9200)" verdicts_are "$LIVE"
check "disk full: the file holds whole lines only" \
	$PY -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$FLOWS_FILE"
# a reload while the disk is full: policy B as revision 3
sed 's/"revision": 2/"revision": 3/' "$LAB_DIR/B.json" >"$POL.tmp" && mv -f "$POL.tmp" "$POL"
kill -HUP "$LAB_AGENT_PID"
check "disk full: SIGHUP reload to revision 3 takes effect" until_ok 10 rev_is 3
check "disk full: the new policy is enforced (9100 refused, 9200 opens)" verdicts_are B
check "disk full: the agent is still running" pid_alive "$LAB_AGENT_PID"
# space back (the tmpfs grown to 8 MiB; a truncation would be refilled at
# once by the 256 KiB the sink still buffers): the next records are written
mount -o remount,size=8m "$SMALL"
flood denied "$IF_CLIENT" "$NODE_MAC_DENIED" "$DENIED_MAC" 203.0.113 0 5 \
	"$NODE_DENIED_V4" 22000 4 40000 1 1 >/dev/null # 20 new keys
new_records() { # refuse records of the 20 new keys in the file
	NEWREC=$(flows_sum 'R.get("activity_id") == 5 and 22000 <= R.get("dst_endpoint", {}).get("port", 0) < 22004 and R.update(count=1) is None')
	[ "$NEWREC" -ge 20 ]
}
check "space back: records are written again (a record for each of 20 new keys)" until_ok 20 new_records
echo "# space back: $NEWREC records of the 20 new keys"
# Counts settle once the sink has written what it holds (a tick): written +
# lost = emitted, from one scrape
accounted() {
	in_ns node "$PY" -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
		"$(metrics_url)" >"$LAB_DIR/metrics.txt" 2>/dev/null || return 1
	mval() { awk -v m="$1" 'index($0, m) == 1 { s += $NF } END { printf "%d\n", s }' "$LAB_DIR/metrics.txt"; }
	WR=$(mval "ward_records_written_total{$SINKL}")
	LOST2=$(mval "ward_records_lost_total{$SINKL}")
	EMIT=$(mval ward_records_emitted_total)
	QL=$(mval ward_records_queue_lost_total)
	[ $((WR + LOST2)) = "$EMIT" ]
}
until_ok 15 accounted
check "every record is accounted for: written $WR + lost $LOST2 = emitted $EMIT" test $((WR + LOST2)) = "$EMIT"
# every record the sink lost is reported by a LOST record in the file
# (kept while the disk was full, written once there was room)
sink_losses_reported() {
	FILELOST=$($PY - "$FLOWS_FILE" "file:$FLOWS_FILE" <<'EOF'
import json, re, sys
n = 0
for line in open(sys.argv[1], errors="replace"):
    if '"activity_id":99,' in line:
        m = re.search(r"(\d+) at sink " + re.escape(sys.argv[2]) + r"\b", json.loads(line).get("message", ""))
        n += int(m.group(1)) if m else 0
print(n)
EOF
)
	accounted
	[ "$FILELOST" = $((LOST2 - QL)) ]
}
until_ok 15 sink_losses_reported
HAS99=$(grep -c '"activity_id":99' "$FLOWS_FILE")
check "the LOST records in the file report every record the sink lost ($HAS99 LOST records: $FILELOST; sink $LOST2 - queue $QL)" \
	test "$FILELOST" = $((LOST2 - QL)) -a "$FILELOST" -gt 0
stop_pid "$SAMPLER" TERM 2
# the counters, sampled from before the flood to the end: never down
WCHECK=$($PY - "$SERIES" <<'EOF'
import sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1]) if l[0].isdigit()]
rows = [r for r in rows if min(r) >= 0]
down = [i for i in range(1, len(rows)) for c in (0, 1) if rows[i][c] < rows[i - 1][c]]
w = [r[0] for r in rows]
print("samples=%d first=%s last=%s lost_first=%s lost_last=%s down_at=%s"
      % (len(rows), w[:1], w[-1:], rows[0][1] if rows else "-", rows[-1][1] if rows else "-",
         ",".join(map(str, down[:5])) or "none"))
sys.exit(0 if rows and not down and rows[0][1] == 0 and rows[-1][1] > 0 else 1)
EOF
)
WOK=$?
echo "# written/lost counters while the disk filled, was full and got space back: $WCHECK"
check "ward_records_written_total and ward_records_lost_total never went down across the episode ($WCHECK)" \
	test "$WOK" = 0
stop_agent
row_ref "flow-log disk full (sink unit)" "whole lines, written + lost exact, LOST record" \
	"covered by tests/records/test_file.sh (full tmpfs, suite records)"
row "flow-log disk full (live agent, 256 KiB tmpfs)" \
	"drops and a SIGHUP reload unaffected; losses counted; counters never go down; writing resumes; every loss reported in the file" \
	"$LOST1 records counted lost while full; drops and the reload to revision 3 unaffected; space back: $NEWREC of 20 new records written; written $WR + lost $LOST2 = emitted $EMIT; $HAS99 LOST records report $FILELOST sink losses; counters sampled: $WCHECK"
row_ref "syslog / IPFIX receiver gone and back" "records counted lost while gone, delivery resumes" \
	"covered by tests/records/test_syslog.sh and tests/records/test_ipfix.sh (suite records)"
umount "$SMALL" && SMALL=

# ======================================================================================
# 6. clocks
# ======================================================================================
# The datapath (bpf_ktime_get_coarse_ns / bpf_ktime_get_ns), conntrack
# timeouts, rate-limit buckets, aggregation intervals and the agent's timers
# all run on CLOCK_MONOTONIC, which a wall-clock jump does not move; records
# convert monotonic to wall-clock time when they are emitted (agent/flows.c
# mono_to_ms), so after a jump records carry the new wall-clock time and
# durations stay right.
#
# 6a. wall-clock jumps: the agent's CLOCK_REALTIME only (LD_PRELOAD shim),
# +1 day, then 1 hour behind the true time.
phase_start "wall-clock jumps"
SHIFT=$LAB_DIR/wallshift
SHIM=$LAB_DIR/wallclock_shift.so
echo 0 >"$SHIFT"
FLOWS_FILE=$LAB_DIR/flows-clock.json
if "${CC:-cc}" -O2 -Wall -Wextra -Werror -shared -fPIC -o "$SHIM" "$HERE/wallclock_shift.c" -ldl \
	2>"$LAB_DIR/shim.log"; then
	CLOCK_OK=1
else
	CLOCK_OK=0
	fail "wall clock: the LD_PRELOAD shim builds ($(head -3 "$LAB_DIR/shim.log" | tr '\n' ' '))"
fi
RLPPS=20 RLBURST=40 # the rate limit of udp/5360
$PY - "$RLPPS" "$RLBURST" >"$LAB_DIR/C.json" <<'EOF'
import json, sys
allowed = ["198.51.100.0/24", "2001:db8:1::/64"]
print(json.dumps({"version": 1, "name": "faults-clock", "revision": 40,
    "defaults": {"ingress": "deny", "egress": "allow", "log": "denied"},
    "rate_limits": {"slow": {"pps": int(sys.argv[1]), "burst": int(sys.argv[2])}},
    "ingress": [
        {"id": "p9100", "from": allowed, "proto": "tcp", "ports": [9100], "log": True},
        {"id": "rl", "from": allowed, "proto": "udp", "ports": [5360], "rate_limit": "slow"},
        {"id": "ssh", "from": ["192.0.2.0/28"], "proto": "tcp", "ports": [22]}]}))
EOF
# refuse_time PORT: the time of the refuse record for tcp/PORT, once written
refuse_time() {
	$PY - "$FLOWS_FILE" "$1" <<'EOF'
import json, sys
for l in open(sys.argv[1], errors="replace"):
    try: r = json.loads(l)
    except ValueError: continue
    if r.get("activity_id") == 5 and r.get("dst_endpoint", {}).get("port") == int(sys.argv[2]):
        print(r["time"]); sys.exit(0)
sys.exit(1)
EOF
}
# clock_is SHIFT_S: a refuse record made now (a new denied key: its first
# packet is reported at once) carries the true time + SHIFT_S, within 15 s
CLK_PORT=30000
clock_is() {
	local t r
	CLK_PORT=$((CLK_PORT + 1))
	t=$(date +%s%3N)
	connects denied "$NODE_DENIED_V4" "$CLK_PORT"
	until_ok 5 refuse_time "$CLK_PORT" >/dev/null || return 1
	r=$(refuse_time "$CLK_PORT")
	CLK_SEEN=$(((r - t) / 1000))
	[ $((r - t - $1 * 1000)) -ge -15000 ] && [ $((r - t - $1 * 1000)) -le 15000 ]
}
rl_passed() { # packets the rate-limited rule passed, and it limited
	ward_node stats --json >"$LAB_DIR/rl.json" 2>/dev/null
	jget "$LAB_DIR/rl.json" '" ".join(str(x) for r in J["rules"] if r["id"] == "rl" for x in (r["packets"], r["rate_limited"]["packets"]))'
}
now_ms() { date +%s%3N; }
if [ "$CLOCK_OK" = 1 ]; then
	cp "$LAB_DIR/C.json" "$POL.tmp" && mv -f "$POL.tmp" "$POL"
	T_START=$(now_ms)
	AGENT_ENV=(LD_PRELOAD="$SHIM" WARD_WALLSHIFT_FILE="$SHIFT")
	start_agent --flows "file:$FLOWS_FILE" --verbose --traffic-interval 2
	AGENT_ENV=()
	agent_ready 30 || fail "wall clock: the agent starts with its clock shim"
	check "wall clock: the policy with the rate limit is in force (revision 40)" until_ok 10 rev_is 40
	# a live TCP flow through the jumps: a line echoed every 0.3 s
	cat >"$LAB_DIR/tcp_client.py" <<'EOF'
import json, os, socket, sys, time
addr, port, stop, max_s = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
s = socket.create_connection((addr, port), timeout=2)
print(json.dumps({"sport": s.getsockname()[1], "open_ms": int(time.time() * 1000)}), flush=True)
sent = echoed = fails = 0
t0 = time.monotonic()
while time.monotonic() - t0 < max_s and not os.path.exists(stop):
    msg = b"tick %d\n" % sent
    try:
        s.sendall(msg)
        sent += 1
        got = b""
        while len(got) < len(msg):
            chunk = s.recv(len(msg) - len(got))
            if not chunk:
                raise OSError("closed by the peer")
            got += chunk
        echoed += got == msg
    except OSError as e:
        fails += 1
        print(json.dumps({"error": str(e)}), flush=True)
        if not isinstance(e, socket.timeout):
            break
    time.sleep(0.3)
print(json.dumps({"sent": sent, "echoed": echoed, "fails": fails}), flush=True)
EOF
	# UDP at RATE packets/s to the rate-limited port until the stop file
	cat >"$LAB_DIR/udp_sender.py" <<'EOF'
import os, socket, sys, time
addr, port, rate, stop, max_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], float(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sent, t0 = 0, time.monotonic()
print("start_ms=%d" % (time.time() * 1000), flush=True)
while not os.path.exists(stop) and time.monotonic() - t0 < max_s:
    s.sendto(b"ward-fault-rl", (addr, port))
    sent += 1
    time.sleep(max(0.0, t0 + sent / rate - time.monotonic()))
print("sent=%d seconds=%.3f" % (sent, time.monotonic() - t0))
EOF
	STOP=$LAB_DIR/clock.stop
	rm -f "$STOP"
	# a listener that only reads: no reply nor ICMP error counts for the rule
	nsenter --net="/run/netns/$NS_NODE" -- timeout 120 socat -u UDP4-RECV:5360 OPEN:/dev/null \
		</dev/null >/dev/null 2>>"$LAB_DIR/servers.log" &
	LAB_PIDS+=("$!")
	listening_5360() { [ "$(in_ns node ss -Hlun "sport = :5360" | wc -l)" -ge 1 ]; }
	until_ok 5 listening_5360
	nsenter --net="/run/netns/$NS_ALLOWED" -- timeout 120 \
		$PY "$LAB_DIR/tcp_client.py" "$NODE_ALLOWED_V4" 9100 "$STOP" 90 >"$LAB_DIR/tcp_client.out" 2>&1 &
	TCPC=$!
	LAB_PIDS+=("$TCPC")
	until_ok 5 grep -q '"sport"' "$LAB_DIR/tcp_client.out"
	G=$(gc_runs)
	# epoch 0 (the true time); the rate limit from a full bucket at 5x its
	# rate. Its counts are read at each jump: RLT holds when (the sender's
	# first packet, the middle of each read, the sender's stop), J when the
	# clock jumped.
	EP_PASS=() EP_LIM=() RLT=() J=("$T_START")
	read -r P0 L0 <<<"$(rl_passed)"
	nsenter --net="/run/netns/$NS_ALLOWED" -- timeout 120 \
		$PY "$LAB_DIR/udp_sender.py" "$NODE_ALLOWED_V4" 5360 $((RLPPS * 5)) "$STOP" 90 >"$LAB_DIR/udp_sender.out" 2>&1 &
	UDPS=$!
	LAB_PIDS+=("$UDPS")
	until_ok 10 grep -q '^start_ms=' "$LAB_DIR/udp_sender.out"
	RLT+=("$(sed -n 's/^start_ms=//p' "$LAB_DIR/udp_sender.out")")
	check "wall clock +0: records carry the true time" until_ok 10 clock_is 0
	check "wall clock +0: verdicts as the policy says (9100 opens, 9200 and the denied client refused)" \
		eval 'verdicts_are A && not connects denied "$NODE_DENIED_V4" 9100'
	# the GC has walked the flow once: each later walk writes a Traffic record
	check "wall clock +0: a conntrack collection ran with the flow open" until_ok 12 gc_after "$G"
	for SH in 86400 -3600; do
		t1=$(now_ms)
		read -r P L <<<"$(rl_passed)"
		RLT+=($(((t1 + $(now_ms)) / 2)))
		EP_PASS+=($((P - P0))) EP_LIM+=($((L - L0)))
		P0=$P L0=$L
		echo "$SH" >"$SHIFT" # the jump
		J+=("$(now_ms)")
		G=$(gc_runs)
		check "wall clock $SH s: records carry the new time (the jump is seen)" until_ok 15 clock_is "$SH"
		echo "# wall clock $SH s: a refuse record made now says ${CLK_SEEN} s from the true time"
		check "wall clock $SH s: verdicts unchanged (9100 opens, 9200 and the denied client refused)" \
			eval 'verdicts_are A && not connects denied "$NODE_DENIED_V4" 9100'
		check "wall clock $SH s: a conntrack collection ran, the flow kept" until_ok 12 gc_after "$G"
	done
	RLT+=("$(now_ms)")
	touch "$STOP"
	wait "$UDPS" "$TCPC" 2>/dev/null
	J+=("$(now_ms)")
	read -r P L <<<"$(rl_passed)"
	EP_PASS+=($((P - P0))) EP_LIM+=($((L - L0)))
	RLOUT=$(tr "\n" " " <"$LAB_DIR/udp_sender.out")
	TCPOUT=$(tail -1 "$LAB_DIR/tcp_client.out")
	echo "# rate limit ($RLPPS pps, burst $RLBURST) at $((RLPPS * 5)) pps: $RLOUT; passed per clock epoch: ${EP_PASS[*]}, limited ${EP_LIM[*]}"
	echo "# live TCP flow: $(head -1 "$LAB_DIR/tcp_client.out") $TCPOUT"
	# every packet sent is passed or limited by the rule
	RLSENT=$(echo "$RLOUT" | sed -n 's/.*sent=\([0-9]*\).*/\1/p')
	check "wall clock: every rate-limited packet counted, passed or limited (${EP_PASS[*]} + ${EP_LIM[*]} = ${RLSENT:-?} sent)" \
		test $((EP_PASS[0] + EP_PASS[1] + EP_PASS[2] + EP_LIM[0] + EP_LIM[1] + EP_LIM[2])) = "${RLSENT:--1}"
	# per epoch: the bucket refills at its rate: pps x length (+ the burst in
	# the first), within 10% + 0.5 s of refill (a read of the counts takes
	# ~0.1 s, more on a busy machine); a frozen bucket passes ~0, one
	# refilled at once by a jump the burst (2 s of refill) more
	RLDESC=
	EP_NAME=("+0" "+1 day" "-1 hour")
	for e in 0 1 2; do
		len=$((RLT[e + 1] - RLT[e]))
		want=$((RLPPS * len / 1000 + (e == 0 ? RLBURST : 0)))
		tol=$((want / 10 + RLPPS / 2 + 2))
		RLDESC="$RLDESC ${EP_NAME[e]}: ${EP_PASS[e]} passed in $len ms (want $want +-$tol);"
		check "wall clock, rate limit in epoch ${EP_NAME[e]}: ${EP_PASS[e]} passed in $len ms, want $want +-$tol (neither frozen nor refilled at once)" \
			test "${EP_PASS[e]}" -ge $((want - tol)) -a "${EP_PASS[e]}" -le $((want + tol))
	done
	check "wall clock: the live TCP flow passed data through both jumps (every line echoed)" \
		$PY -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["fails"] == 0 and r["sent"] == r["echoed"] and r["sent"] > 10 else 1)' "$TCPOUT"
	# the records: sequence unbroken, each time in one clock epoch, the flow's
	# durations true (between the epoch's start and end less the flow's opening)
	SPORT=$($PY -c 'import json,sys; print(json.loads(sys.argv[1])["sport"])' "$(head -1 "$LAB_DIR/tcp_client.out")")
	OPEN_MS=$($PY -c 'import json,sys; print(json.loads(sys.argv[1])["open_ms"])' "$(head -1 "$LAB_DIR/tcp_client.out")")
	# (clock epochs here: from the agent's start, from each jump, to now);
	# polled: a record made at the last collection reaches the file at the
	# sink's next tick
	clock_records() {
		CLK_FACTS=$($PY - "$FLOWS_FILE" "$SPORT" "$OPEN_MS" "0:${J[0]}:${J[1]}" \
			"86400:${J[1]}:${J[2]}" "-3600:${J[2]}:$(now_ms)" <<'EOF'
import json, sys
path, sport, open_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
epochs = [tuple(map(int, e.split(":"))) for e in sys.argv[4:7]]
end_ms = epochs[2][2]
recs = []
for l in open(path, errors="replace"):
    recs.append(json.loads(l))
seq = [r["metadata"]["sequence"] for r in recs]
gaps = sum(1 for a, b in zip(seq, seq[1:]) if b != a + 1)
def epoch(t):  # the epoch whose shifted window holds t (10 s slack: they are hours apart), else None
    m = [i for i, (sh, a, b) in enumerate(epochs) if a + sh * 1000 - 10000 <= t <= b + sh * 1000 + 10000]
    return m[0] if len(m) == 1 else None
stray = [r["metadata"]["sequence"] for r in recs if epoch(r["time"]) is None]
longest = max((r["duration"] for r in recs if "duration" in r), default=0)
flow = [r for r in recs if r.get("src_endpoint", {}).get("port") == sport and r.get("dst_endpoint", {}).get("port") == 9100]
opened = [epoch(r["time"]) for r in flow if r["activity_id"] == 1]
traffic = [(epoch(r["time"]), r["duration"], r["time"]) for r in flow if r["activity_id"] == 6]
# a Traffic record's duration is the flow's age at a collection made in its epoch
bad = [(e, d) for e, d, t in traffic if e is None or not (epochs[e][1] - open_ms - 2000 <= d <= epochs[e][2] - open_ms + 2000)]
mono = all(a[1] <= b[1] for a, b in zip(traffic, traffic[1:]))
print("records=%d seq_gaps=%d stray_times=%d longest_duration_ms=%d phase_ms=%d flow_open_epochs=%s traffic(epoch,duration_ms)=%s bad=%s durations_grow=%d"
      % (len(recs), gaps, len(stray), longest, end_ms - epochs[0][1], opened,
         [(e, d) for e, d, t in traffic], bad, mono))
ok = (gaps == 0 and not stray and longest <= end_ms - epochs[0][1] + 2000 and opened == [0]
      and not bad and mono and {1, 2} <= {e for e, d, t in traffic})
sys.exit(0 if ok else 1)
EOF
)
	}
	until_ok 5 clock_records
	CLK_RC=$?
	echo "# wall clock records: $CLK_FACTS"
	check "wall clock: records take the new time, sequence unbroken, the flow's durations true across the jumps ($CLK_FACTS)" \
		test "$CLK_RC" = 0
	check "wall clock: the agent never stopped" pid_alive "$LAB_AGENT_PID"
	kill -TERM "$LAB_AGENT_PID"
	until_ok 10 not pid_alive "$LAB_AGENT_PID" || kill -KILL "$LAB_AGENT_PID"
	wait "$LAB_AGENT_PID"
	rc=$?
	LAB_AGENT_PID=
	check "wall clock: the agent stops cleanly on SIGTERM (exit $rc)" test "$rc" = 0
	echo 0 >"$SHIFT"
fi
row "wall-clock jump (the agent's CLOCK_REALTIME +1 day, then 1 h behind the true time)" \
	"verdicts unchanged; rate-limit bucket refills at its rate in every epoch (neither frozen nor refilled at once); live TCP flow passes and is kept by the GC; records take the new time, sequence unbroken, flow durations true; no crash" \
	"${RLDESC:-not run} live flow: ${TCPOUT:-not run}; records: ${CLK_FACTS:-not run}"

# 6b. A time namespace moves CLOCK_MONOTONIC for the agent only, not for
# the kernel's bpf_ktime: the agent must still compare like with like.
phase_start "time namespace"
cp "$LAB_DIR/B.json" "$POL.tmp" && mv -f "$POL.tmp" "$POL"
FLOWS_FILE=$LAB_DIR/flows-timens.json
: >"$FLOWS_FILE"
ward_node detach >/dev/null 2>&1 # a fresh conntrack table: only this phase's flows
nsenter --net="/run/netns/$NS_NODE" -- env NOTIFY_SOCKET="$NOTIFY" \
	unshare --time --fork --monotonic 86400 -- \
	"$W" run --policy "$POL" --interface "$IF_ALLOWED" --interface "$IF_DENIED" \
	--pin-path "$LAB_PIN" --ct-size 1024 --control-socket "$CTL" --flows "file:$FLOWS_FILE" \
	--verbose </dev/null >>"$LAB_AGENT_LOG" 2>&1 &
UNSHARE_PID=$!
until_ok 5 eval 'LAB_AGENT_PID=$(awk "{print \$1}" "/proc/$UNSHARE_PID/task/$UNSHARE_PID/children" 2>/dev/null); [ -n "$LAB_AGENT_PID" ]'
agent_ready 30 || fail "the agent starts in a time namespace"
TN=$(awk '/monotonic/ {print $2}' "/proc/$LAB_AGENT_PID/timens_offsets" 2>/dev/null)
check "the agent runs with CLOCK_MONOTONIC shifted by +86400 s" test "${TN:-0}" = 86400
# 20 live allowed UDP flows (60 s timeout), then one conntrack collection
flood allowed "$IF_CLIENT" "$NODE_MAC_ALLOWED" "$ALLOWED_MAC" 198.51.100 2 1 \
	"$NODE_ALLOWED_V4" 5354 1 33000 20 1 >/dev/null
G=$(gc_runs)
status_json >"$LAB_DIR/tn0.json"
C0=$(jget "$LAB_DIR/tn0.json" 'J["conntrack"]["entries"]')
T0=$(now_ms)
connects denied "$NODE_DENIED_V4" 9300 # one refuse record, now
check "time namespace: the 20 flows are tracked ($C0 entries)" test "${C0:-0}" -ge 20
check "time namespace: a conntrack collection ran" until_ok 12 gc_after "$G"
GCLINE=$(grep "ward debug: conntrack gc: " "$LAB_AGENT_LOG" | tail -1 | sed 's/.*conntrack gc: //')
status_json >"$LAB_DIR/tn1.json"
C1=$(jget "$LAB_DIR/tn1.json" 'J["conntrack"]["entries"]')
until_ok 10 refuse_time 9300 >/dev/null
RT=$(refuse_time 9300)
echo "# time namespace: conntrack $C0 -> $C1 entries across a collection ($GCLINE); refuse record time ${RT:-none}, wall clock $T0"
check "time namespace: the agent's conntrack GC keeps live flows ($C0 -> $C1 entries; $GCLINE)" \
	eval '[ "${C1:-0}" -ge 20 ] && [ "${C1:-0}" -ge $((${C0:-0} - 2)) ] && echo "$GCLINE" | grep -q " 0 expired freed"'
check "time namespace: record times are the wall clock (within 10 s)" \
	test -n "$RT" -a $(( ${RT:-0} - T0 < 0 ? T0 - ${RT:-0} : ${RT:-0} - T0 )) -lt 10000
stop_pid "$LAB_AGENT_PID" TERM 5
stop_pid "$UNSHARE_PID" TERM 3
LAB_AGENT_PID=
UNSHARE_PID=
row "agent in a time namespace (CLOCK_MONOTONIC +1 day for it only)" \
	"live flows kept by its GC; records on the wall clock" \
	"conntrack $C0 -> $C1 across a GC ($GCLINE); refuse record time $( [ -n "$RT" ] && echo "$((RT - T0)) ms from now" || echo missing)"

DONE=1
