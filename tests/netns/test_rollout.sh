#!/usr/bin/env bash
# The rollout round trip of docs/rollout.md with real traffic (issue 10):
#   1. the agent enforces an audit-mode policy that allows nothing
#      ("log": "all"): every flow of the lab's traffic is a would-be deny,
#      let through and recorded (audit records, action Observed);
#   2. ward suggest writes a policy from those records; ward check accepts it;
#   3. the agent is restarted with it in enforce mode: the same traffic passes,
#      every probe answered, no Refuse record; ward replay of both recordings
#      against it exits 0;
#   4. the suggestion minus one rule: ward replay names exactly the records of
#      that rule's flows as newly denied (no other) and exits 4;
#   5. ward replay --each agrees with ward explain on every record of both
#      recordings, for the audit policy and for the reduced candidate;
#   6. the same suggestion from the recording gzip-compressed (rotated file).
# Ends with "N passed, N failed". Cleans up after itself (EXIT trap).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_KIND=rollout
# shellcheck source=tests/netns/lib.sh
. "$HERE/lib.sh"
N=0 P=0 F=0
check() {
	local d=$1
	shift
	N=$((N + 1))
	if "$@"; then P=$((P + 1)); echo "ok $N - $d"; else F=$((F + 1)); echo "not ok $N - $d"; fi
}
until_ok() {
	local t=$(($1 * 5))
	shift
	for ((; t > 0; t--)); do "$@" && return 0; sleep 0.2; done
	return 1
}
finish() {
	[ "$F" = 0 ] || { agent_log_tail 30; lab_note "work dir: $LAB_DIR (LAB_KEEP=1 keeps it)"; }
	echo "$P passed, $F failed"
	[ "$F" = 0 ]
	exit
}
trap lab_cleanup EXIT
lab_require || { echo "not ok 1 - $LAB_WHY"; echo "0 passed, 1 failed"; exit 1; }
lab_setup

POL=$LAB_DIR/policy.json
AUDIT=$LAB_DIR/audit.json
SUG=$LAB_DIR/suggested.json
LESS=$LAB_DIR/less.json
REC1=$LAB_DIR/recorded-audit.json
REC2=$LAB_DIR/recorded-enforce.json
FLOWS=$LAB_DIR/flows.json # lib.sh's agent_start writes records here

cat >"$AUDIT" <<EOF
{ "version": 1, "name": "rollout-lab", "revision": 1, "mode": "audit",
  "description": "step 1: allow nothing, enforce nothing, record everything",
  "defaults": { "ingress": "deny", "egress": "deny", "log": "all" } }
EOF
cp "$AUDIT" "$POL"

# ---- the lab's traffic: the same in the audit and the enforce run -----------
lab_serve node tcp 8000
lab_serve node tcp 8001
lab_serve node udp 5353
lab_serve node tcp 9000
lab_serve allowed tcp 7000
for s in "node tcp 8000" "node tcp 8001" "node udp 5353" "node tcp 9000" "allowed tcp 7000"; do
	# shellcheck disable=SC2086
	lab_wait_listening $s || true
done

PROBES_OK=0 PROBES_ALL=0
probe() { # DESCRIPTION PROBE ARGS...
	local d=$1
	shift
	PROBES_ALL=$((PROBES_ALL + 1))
	if "$@"; then PROBES_OK=$((PROBES_OK + 1)); else lab_note "probe failed: $d"; fi
}
traffic() {
	PROBES_OK=0 PROBES_ALL=0
	local i
	for i in 1 2; do
		probe "tcp/8000 v4 #$i" probe_tcp allowed "$NODE_ALLOWED_V4" 8000
		probe "tcp/8000 v6 #$i" probe_tcp allowed "$NODE_ALLOWED_V6" 8000
	done
	probe "tcp/8001 v4" probe_tcp allowed "$NODE_ALLOWED_V4" 8001
	probe "tcp/8001 v6" probe_tcp allowed "$NODE_ALLOWED_V6" 8001
	probe "udp/5353 v4" probe_udp allowed "$NODE_ALLOWED_V4" 5353
	probe "udp/5353 v6" probe_udp allowed "$NODE_ALLOWED_V6" 5353
	probe "ping v4" probe_ping allowed "$NODE_ALLOWED_V4"
	probe "ping v6" probe_ping allowed "$NODE_ALLOWED_V6"
	probe "tcp/9000 from the other client" probe_tcp denied "$NODE_DENIED_V4" 9000
	probe "node -> client tcp/7000" probe_tcp node "$ALLOWED_V4" 7000
	probe "node -> client tcp/7000 v6" probe_tcp node "$ALLOWED_V6" 7000
}

# run_agent POLICY: start, wait until enforcing
run_agent() {
	agent_start "$1" --flow-interval 500
	agent_wait_enforcing 10
}
# stop_agent: the last records flushed (agent-stop is the last record)
stop_agent() {
	kill "$LAB_AGENT_PID" 2>/dev/null
	until_ok 10 grep -q '"event_code":"agent-stop"' "$FLOWS"
	stop_pid "$LAB_AGENT_PID" TERM 5
	LAB_AGENT_PID=
}
refuse_records() { grep -c '"event_code":"refuse"' "$1" || true; }

# ---- 1. audit run ---------------------------------------------------------------
check "agent enforces the audit policy" run_agent "$POL"
[ "$F" = 0 ] || finish
traffic
check "audit mode: every probe answered ($PROBES_OK of $PROBES_ALL)" test "$PROBES_OK" = "$PROBES_ALL"
sleep 1.5 # the aggregates' first events are out at once; the file sink writes each tick
stop_agent
mv "$FLOWS" "$REC1"
check "the audit run recorded would-be denies (action Observed)" grep -q '"action_id":3' "$REC1"

# ---- 2. suggest, check ------------------------------------------------------------
check "ward suggest writes a policy from the audit run" \
	bash -c "'$WARD' suggest --flows '$REC1' --name rollout-lab --log all -o '$SUG' 2>'$LAB_DIR/suggest.err'"
sed 's/^/# /' "$LAB_DIR/suggest.err" >&2
check "ward suggest verified every observed flow with the real programs" \
	grep -q "verified: each of the" "$LAB_DIR/suggest.err"
check "ward check accepts the suggestion" "$WARD" check "$SUG"
sed 's/^/# suggested: /' "$SUG" >&2
py() { python3 - "$@"; }
check "the suggestion: enforce mode, one ingress rule for tcp 8000-8001 from the client (v4 and v6)" py "$SUG" <<EOF
import json, sys
p = json.load(open(sys.argv[1]))
g = p.get("groups", {})
def peers(r):
    out = []
    for t in r.get("from", r.get("to", [])):
        out += g.get(t, [t]) if isinstance(g.get(t, [t]), list) else g[t]["cidrs"]
    return sorted(out)
ok = p["mode"] == "enforce"
tcp = [r for r in p["ingress"] if r["proto"] == "tcp" and "8000-8001" in r.get("ports", [])]
ok = ok and len(tcp) == 1 and peers(tcp[0]) == sorted(["$ALLOWED_V4/32", "$ALLOWED_V6/128"])
ok = ok and all("flow" in r["description"] for r in p["ingress"] + p["egress"])
ok = ok and any(r["proto"] == "tcp" and r.get("ports") == [7000] for r in p["egress"])
sys.exit(not ok)
EOF
check "ward replay: the suggestion changes nothing the audit run saw (exit 0)" \
	"$WARD" replay "$SUG" --flows "$REC1"

# ---- 3. enforce the suggestion, same traffic -------------------------------------
cp "$SUG" "$POL"
check "agent restarted with the suggestion" run_agent "$POL"
# status exits 0 at once (the audit policy stays pinned): wait for the new one
in_force() { ward_node status 2>/dev/null | grep -q '^enforcing: policy "rollout-lab" revision 1 (enforce)'; }
check "ward status: the suggestion in force, mode enforce" until_ok 10 in_force
traffic
check "enforce mode: the same traffic, every probe answered ($PROBES_OK of $PROBES_ALL)" \
	test "$PROBES_OK" = "$PROBES_ALL"
sleep 1.5
stop_agent
mv "$FLOWS" "$REC2"
check "enforce run: no Refuse record (nothing denied)" test "$(refuse_records "$REC2")" = 0
check "enforce run: flows opened by the suggested rules" grep -q '"event_code":"open"' "$REC2"
check "ward replay of the enforce run against the suggestion: exit 0" \
	"$WARD" replay "$SUG" --flows "$REC2"

# ---- 4. one rule less: exactly its flows newly denied, exit 4 --------------------
RULE=$(py "$SUG" "$LESS" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
r = [r for r in p["ingress"] if r["proto"] == "tcp" and "8000-8001" in r.get("ports", [])][0]
p["ingress"].remove(r)
p["revision"] += 1
json.dump(p, open(sys.argv[2], "w"), indent=1)
print(r["id"])
EOF
)
lab_note "removed rule: $RULE"
"$WARD" replay "$LESS" --flows "$REC1" "$REC2" >"$LAB_DIR/replay-less.txt" 2>&1
RC=$?
sed 's/^/# /' "$LAB_DIR/replay-less.txt" >&2
check "ward replay without rule $RULE exits 4 (newly denied)" test "$RC" = 4
check "the report names rule $RULE -> default-ingress" grep -q "$RULE -> default-ingress" "$LAB_DIR/replay-less.txt"
"$WARD" replay "$LESS" --flows "$REC1" "$REC2" --each >"$LAB_DIR/each-less.json"
"$WARD" replay "$LESS" --flows "$REC1" "$REC2" --json >"$LAB_DIR/replay-less.json"
check "newly denied = exactly the records of tcp/8000-8001 from the client, and their count" \
	py "$REC1" "$REC2" "$LAB_DIR/each-less.json" "$LAB_DIR/replay-less.json" <<EOF
import json, sys
want = set()
for f in sys.argv[1:3]:
    for n, l in enumerate(open(f), 1):
        r = json.loads(l)
        if r.get("class_uid") != 4001 or r.get("activity_id") == 99 or r["metadata"]["event_code"] == "rate_limit":
            continue
        if r["connection_info"]["direction_id"] == 1 and r["connection_info"]["protocol_num"] == 6 \
           and r["dst_endpoint"].get("port") in (8000, 8001) \
           and r["src_endpoint"]["ip"] in ("$ALLOWED_V4", "$ALLOWED_V6"):
            want.add((f, n))
got = {(e["file"], e["line"]) for e in map(json.loads, open(sys.argv[3])) if e["change"] == "newly-denied"}
rep = json.load(open(sys.argv[4]))
rules = rep["newly_denied"]["by_rule"]
print("# expected", len(want), "records, got", len(got), "; report:", rep["flows"], file=sys.stderr)
ok = want == got and len(want) > 0 and rep["exit"] == 4
ok = ok and {x["rule"] for x in rules} == {"default-ingress"} and rep["flows"]["newly_allowed"] == 0
ok = ok and sum(x["records"] for x in rules) == len(want)
# 6 connections a run (4 to 8000, 2 to 8001), two runs: each counted once
ok = ok and rep["newly_denied"]["flows"] == 12
ok = ok and {p["peer"] for p in rep["newly_denied"]["by_peer"]} == {"$ALLOWED_V4", "$ALLOWED_V6"}
sys.exit(not ok)
EOF

# ---- 5. replay agrees with ward explain on every record ---------------------------
agree() { # POLICY
	"$WARD" replay "$1" --flows "$REC1" "$REC2" --each >"$LAB_DIR/each.json" || [ $? = 4 ]
	py "$1" "$LAB_DIR/each.json" "$WARD" <<'EOF'
import json, subprocess, sys
pol, each, ward = sys.argv[1:4]
cache, n, bad = {}, 0, 0
for e in map(json.loads, open(each)):
    args = ["--in" if e["direction"] == "ingress" else "--out", "--src", e["src"], "--dst", e["dst"],
            "--proto", str(e["proto"])]
    if "sport" in e: args += ["--sport", str(e["sport"])]
    if "dport" in e: args += ["--dport", str(e["dport"])]
    if "icmp_type" in e: args += ["--icmp-type", str(e["icmp_type"])]
    k = tuple(args)
    if k not in cache:
        out = subprocess.run([ward, "explain", pol] + args + ["--json"], capture_output=True, text=True)
        cache[k] = json.loads(out.stdout)
    x = cache[k]
    rule = x["rule"] or ("default-ingress" if e["direction"] == "ingress" else "default-egress")
    n += 1
    if (x["verdict"], rule, x["audit"]) != (e["verdict"], e["rule"], e["audit"]):
        bad += 1
        print("# disagree:", e, x, file=sys.stderr)
print(f"# {n} records, {len(cache)} explain runs, {bad} disagreements", file=sys.stderr)
sys.exit(bad != 0 or n == 0)
EOF
}
check "replay agrees with ward explain on every record (audit policy)" agree "$AUDIT"
check "replay agrees with ward explain on every record (suggestion less $RULE)" agree "$LESS"

# ---- 6. rotated, gzip ---------------------------------------------------------------
gzip -c "$REC1" >"$REC1.1.gz"
"$WARD" suggest --flows "$REC1.1.gz" --name rollout-lab --log all --no-verify -o "$LAB_DIR/from-gz.json" 2>/dev/null
check "the same suggestion from the gzip-compressed recording" cmp -s "$SUG" "$LAB_DIR/from-gz.json"
finish
