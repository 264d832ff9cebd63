#!/usr/bin/env bash
# The syslog sink against a real rsyslog: RFC 5424 over UDP (RFC 5426) and
# TCP with octet counting (RFC 6587), IPv4 and IPv6 loopback. Records come
# from rec_tool through a real pipeline; every message rsyslog stores must
# carry the JSON rec_tool expected for its sequence number, once.
set -u
cd "$(dirname "$0")/../.."
. tests/records/lib.sh
. tests/records/receivers.sh
need rsyslogd python3 ss timeout "$TOOL"

# Checks of a log against rec_tool's --expect file (one OCSF line a record).
cat >"$tmp/check.py" <<'EOF'
import datetime, json, sys

what, log, expect_file, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
expect = {}
for line in open(expect_file):
    j = json.loads(line)
    expect[j["metadata"]["sequence"]] = j
msgs = []
for line in open(log):
    f = line.rstrip("\n").split("|", 8)
    if len(f) != 9:
        sys.exit("not 9 fields: %r" % line[:200])
    msgs.append(f)

def seq_of(f):
    sd = f[7]
    if not (sd.startswith('[meta sequenceId="') and sd.endswith('"]')):
        sys.exit("structured data %r is not [meta sequenceId=...]" % sd)
    return int(sd[len('[meta sequenceId="'):-2])

# kind (metadata.event_code) -> MSGID, severity
KINDS = {"open": ("FLOW_OPEN", 6), "close": ("FLOW_CLOSE", 6), "traffic": ("FLOW_TRAFFIC", 6),
         "refuse": ("FLOW_DENY", 4), "rate_limit": ("FLOW_RATE_LIMIT", 4),
         "audit": ("FLOW_AUDIT", 5), "lost": ("RECORDS_LOST", 4)}
bad = []
if what == "count":
    if len(msgs) != n or len(expect) != n:
        bad.append("rsyslog stored %d messages, rec_tool expected %d, want %d" % (len(msgs), len(expect), n))
elif what == "seq":
    seqs = sorted(seq_of(f) for f in msgs)
    if seqs != list(range(1, n + 1)):
        dup = len(seqs) - len(set(seqs))
        missing = sorted(set(range(1, n + 1)) - set(seqs))[:10]
        bad.append("sequence ids are not 1..%d: %d duplicates, missing %s" % (n, dup, missing))
elif what == "json":
    for f in msgs:
        s = seq_of(f)
        try:
            got = json.loads(f[8])
        except ValueError as e:
            bad.append("seq %d: MSG is not JSON (%s): %r" % (s, e, f[8][:120]))
            continue
        if got != expect.get(s):
            bad.append("seq %d: MSG differs from --expect:\n got  %s\n want %s" % (s, f[8][:300], json.dumps(expect.get(s))[:300]))
elif what == "header":
    for f in msgs:
        s = seq_of(f)
        e = expect.get(s)
        if e is None:
            bad.append("seq %d: not expected" % s); continue
        code = e["metadata"].get("event_code")
        ts = datetime.datetime.fromtimestamp(e["time"] / 1000, datetime.timezone.utc)
        want_ts = ts.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (e["time"] % 1000)
        host = e.get("device", {}).get("hostname", f[3])
        if code in KINDS:
            msgid, sev = KINDS[code]
            want = [str(16 * 8 + sev), "1", want_ts, host, "ward"]
            ok = f[:5] == want and f[6] == msgid
        else:  # policy and agent records: local0, their own MSGID
            want = ["local0", "1", want_ts, host, "ward"]
            ok = int(f[0]) // 8 == 16 and f[1:5] == want[1:] and f[6] in ("POLICY", "AGENT")
            msgid = "POLICY|AGENT"
        if not ok or not f[5].isdigit():
            bad.append("seq %d (%s): header %s, want %s %s" % (s, code, f[:7], want, msgid))
elif what == "ecs":
    for f in msgs:
        s = seq_of(f)
        got = json.loads(f[8])
        e = expect.get(s)
        if e is None or "event" not in got or got.get("source", {}).get("ip") != e.get("src_endpoint", {}).get("ip"):
            bad.append("seq %d: not the ECS rendering of the record: %r" % (s, f[8][:200]))
elif what == "resumed":  # over two connections: in order, none twice, the last one there
    seqs = [seq_of(f) for f in msgs]
    if any(b <= a for a, b in zip(seqs, seqs[1:])):
        bad.append("sequence ids not strictly increasing: %s" % seqs[:20])
    if not seqs or seqs[0] != 1 or seqs[-1] != n:
        bad.append("first/last sequence id %s, want 1 and %d" % (seqs[:1] + seqs[-1:], n))
for b in bad[:5]:
    print(b)
if len(bad) > 5:
    print("... %d more" % (len(bad) - 5))
sys.exit(1 if bad else 0)
EOF
ck() { python3 "$tmp/check.py" "$@"; }
ck_all() { ck count "$@" && ck seq "$@"; } # exactly N messages, sequenceId 1..N
# rec_tool's "emitted N written W lost L": W + L = N (and L > 0 with a third word)
sums_to() {
	awk -v n="$2" -v some_lost="${3:-}" '/^emitted/ { f = 1; ok = $4 + $6 == n && (!some_lost || $6 > 0) }
		END { exit !(f && ok) }' "$1"
}

pu=$(free_port) pt=$(free_port) pu6=$(free_port) pt6=$(free_port)
if ! start_rsyslog main "udp:127.0.0.1:$pu:udp4" "tcp:127.0.0.1:$pt:tcp4" \
	"udp:__1:$pu6:udp6" "tcp:__1:$pt6:tcp6"; then
	fail=$((fail + 1)); finish
fi

run_case() { # name, spec, count, extra rec_tool args...
	local name=$1 spec=$2 cnt=$3; shift 3
	timeout 60 "$TOOL" --sink "$spec" --count "$cnt" --seed 7 --expect "$tmp/$name.expect" "$@" \
		>"$tmp/$name.tool" 2>&1
	echo "rc $?" >>"$tmp/$name.tool"
	wait_lines "$tmp/$name.log" "$cnt"
	[ -f "$tmp/$name.log" ] || : >"$tmp/$name.log"
}

N=2000
run_case tcp4 "syslog+tcp://127.0.0.1:$pt" $N --kinds all
check "tcp: rec_tool wrote all $N records, none lost" tool_ok "$tmp/tcp4.tool" $N
check "tcp: rsyslog stored exactly $N messages" ck count "$tmp/tcp4.log" "$tmp/tcp4.expect" $N
check "tcp: sequenceId is 1..$N, each once" ck seq "$tmp/tcp4.log" "$tmp/tcp4.expect" $N
check "tcp: every MSG is the JSON of its record (--expect)" ck json "$tmp/tcp4.log" "$tmp/tcp4.expect" $N
check "tcp: PRI (local0, severity by kind), version 1, time, host, ward, pid, MSGID (all kinds)" \
	ck header "$tmp/tcp4.log" "$tmp/tcp4.expect" $N

N=1000
run_case udp4 "syslog+udp://127.0.0.1:$pu" $N --rate 2000
check "udp: rec_tool wrote all $N records, none lost" tool_ok "$tmp/udp4.tool" $N
check "udp (2000/s, loopback): rsyslog stored exactly $N messages" ck count "$tmp/udp4.log" "$tmp/udp4.expect" $N
check "udp: sequenceId is 1..$N, each once" ck seq "$tmp/udp4.log" "$tmp/udp4.expect" $N
check "udp: every MSG is the JSON of its record" ck json "$tmp/udp4.log" "$tmp/udp4.expect" $N
check "udp: RFC 5424 header fields" ck header "$tmp/udp4.log" "$tmp/udp4.expect" $N

N=300
run_case udp6 "syslog+udp://[::1]:$pu6" $N --rate 2000
check "udp over ::1: exactly $N messages, sequenceId 1..$N" \
	ck_all "$tmp/udp6.log" "$tmp/udp6.expect" $N
check "udp over ::1: every MSG is the JSON of its record" ck json "$tmp/udp6.log" "$tmp/udp6.expect" $N
run_case tcp6 "syslog+tcp://[::1]:$pt6,format=ecs" $N
check "tcp over ::1, format=ecs: exactly $N messages, sequenceId 1..$N" \
	ck_all "$tmp/tcp6.log" "$tmp/tcp6.expect" $N
check "tcp, format=ecs: every MSG is the ECS rendering of its record" ck ecs "$tmp/tcp6.log" "$tmp/tcp6.expect" $N

# A collector that comes up late: records wait in the sink's buffer, the
# sink reconnects in the background (backoff) and delivers all of them.
pl=$(free_port)
N=400
late_rsyslog() { start_rsyslog late "tcp:127.0.0.1:$pl:late"; }
run_late late 1.2 late_rsyslog --sink "syslog+tcp://127.0.0.1:$pl" --count $N --rate 100 --seed 9
wait_lines "$tmp/late.log" $N
[ -f "$tmp/late.log" ] || : >"$tmp/late.log"
check "tcp, collector up 1.2 s late: rec_tool lost nothing" tool_ok "$tmp/late.tool" $N
check "tcp, collector up late: all $N messages arrive, sequenceId 1..$N" \
	ck_all "$tmp/late.log" "$tmp/late.expect" $N
check "tcp, collector up late: every MSG is the JSON of its record" ck json "$tmp/late.log" "$tmp/late.expect" $N

# The collector restarts mid-run: the sink sees the connection go,
# reconnects, and what arrives is whole: a frame the old connection cut
# is not resent (TCP syslog cannot tell what the peer read; RFC 6587 3.4).
pr=$(free_port)
N=500
if start_rsyslog r1 "tcp:127.0.0.1:$pr:r1"; then
	timeout 60 "$TOOL" --sink "syslog+tcp://127.0.0.1:$pr" --count $N --rate 100 --seed 5 \
		--expect "$tmp/restart.expect" >"$tmp/restart.tool" 2>&1 &
	tp=$!
	pids+=("$tp")
	sleep 1.5
	stop_rsyslog r1
	sleep 0.5
	start_rsyslog r2 "tcp:127.0.0.1:$pr:r2"
	wait "$tp"
	sleep 0.5
fi
touch "$tmp/r1.log" "$tmp/r2.log"
cat "$tmp/r1.log" "$tmp/r2.log" >"$tmp/restart.log"
check "tcp, collector restarted mid-run: messages on both connections" \
	test -s "$tmp/r1.log" -a -s "$tmp/r2.log"
check "tcp, collector restarted: in order, none twice, up to the last record" \
	ck resumed "$tmp/restart.log" "$tmp/restart.expect" $N
check "tcp, collector restarted: every message whole, the JSON of its record" \
	ck json "$tmp/restart.log" "$tmp/restart.expect" $N

# A collector that accepts and then never reads: once its socket and the
# sink's buffer are full, records are counted lost, and nothing blocks.
ps=$(free_port)
N=20000
timeout 60 python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); c, _ = s.accept(); time.sleep(50)' "$ps" &
pids+=($!)
wait_listen -Hltn "$ps"
start=$(date +%s%N)
timeout 60 "$TOOL" --sink "syslog+tcp://127.0.0.1:$ps" --count $N --seed 4 >"$tmp/stuck.tool" 2>&1
ms=$((($(date +%s%N) - start) / 1000000))
check "tcp, collector stops reading: rec_tool ends in ${ms} ms (< 20 s: a 2 s linger, the rest never waits)" \
	test "$ms" -lt 20000
check "tcp, collector stops reading: records beyond the buffers counted lost, written + lost = $N" \
	sums_to "$tmp/stuck.tool" $N some_lost

# No collector at all: the writer never blocks; every record is counted
# lost once the sink gives up at close.
pn=$(free_port)
N=200
start=$(date +%s%N)
timeout 30 "$TOOL" --sink "syslog+tcp://127.0.0.1:$pn" --count $N --seed 3 >"$tmp/none.tool" 2>&1
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "tcp, no collector: rec_tool ends in ${ms} ms (< 10 s), rc $rc" test "$ms" -lt 10000 -a "$rc" -ne 124
# rec_tool prints the counts the pipeline took before it closed the sinks:
# what a sink gives up at close is in its warning.
check "tcp, no collector: the sink gives up all $N records at close, and says so" \
	grep -q "syslog+tcp://127.0.0.1:$pn: $N records not delivered at close" "$tmp/none.tool"
timeout 30 "$TOOL" --sink "syslog+udp://127.0.0.1:$pn" --count $N --seed 3 >"$tmp/noneu.tool" 2>&1
check "udp, no collector: rec_tool ends, every record written or lost" sums_to "$tmp/noneu.tool" $N

finish
