#!/usr/bin/env bash
# shellcheck disable=SC2016 # single-quoted strings are eval'd by check, on purpose
# Ward netns integration test: real traffic through a lab of network
# namespaces (see lib.sh), policy tests/netns/lab-policy.json.
#
# Prints one line per check, "ok N - ..." or "not ok N - ...", diagnostics
# as "# ..." on stderr, and ends with "P passed, F failed". Exits 1 on any
# failure, including missing prerequisites (root, bpffs, build/ward): it never
# passes silently. Cleans up after itself (EXIT trap), even when a check or
# the script fails. Set LAB_KEEP=1 to keep the work dir (agent log, probes).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_KIND="test"
# shellcheck source=tests/netns/lib.sh
. "$HERE/lib.sh"
POLICY=${WARD_LAB_POLICY:-$HERE/lab-policy.json} # override only to test this test

N=0
PASSED=0
FAILED=0
DONE=0

pass() { N=$((N + 1)); PASSED=$((PASSED + 1)); echo "ok $N - $*"; }
fail() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
# check DESCRIPTION CMD...: one numbered line from CMD's exit status.
check() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}
not() { ! "$@"; }
gt0() { [[ ${1:-} =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ]; }
eq0() { [ "${1:-x}" = 0 ]; }

# blocked_at ROLE COUNTER PROBE ARGS...: the probe got no answer, its token
# never reached ROLE's listener, and ROLE's kernel counter COUNTER (see
# lab_snmp) did not move: the request was dropped before ROLE's stack (at the
# node's XDP for ROLE=node, at the node's TC egress for a client), not only
# its reply on the way back.
blocked_at() {
	local role=$1 counter=$2 before after
	shift 2
	before=$(lab_snmp "$role" "$counter")
	if "$@"; then
		echo "# answered" >&2
		return 1
	fi
	after=$(lab_snmp "$role" "$counter")
	if lab_received "$role" "$PROBE_TOKEN"; then
		echo "# the request reached the listener in $role" >&2
		return 1
	fi
	if [ -z "$before" ] || [ "$before" != "$after" ]; then
		echo "# $role: kernel counter $counter went from '$before' to '$after'" >&2
		return 1
	fi
}

# forge ROLE SRC DST tcp|udp SPORT DPORT [FLAGS]: one crafted packet with
# scapy from ROLE's namespace (a reply look-alike: no connection behind it).
# Always "fails" as a probe: nothing answers a forged packet here.
forge() {
	local role=$1 src=$2 dst=$3 proto=$4 sport=$5 dport=$6 flags=${7:-}
	PROBE_TOKEN="forged-$RANDOM"
	nsenter --net="/run/netns/$(lab_ns "$role")" -- timeout 10 /usr/bin/python3 - \
		"$src" "$dst" "$proto" "$sport" "$dport" "$flags" "$PROBE_TOKEN" <<'PY' 2>>"$LAB_DIR/probes.log"
import sys, logging
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import IP, IPv6, TCP, UDP, Raw, send
src, dst, proto, sport, dport, flags, token = sys.argv[1:8]
ip = IPv6(src=src, dst=dst) if ":" in dst else IP(src=src, dst=dst)
l4 = TCP(sport=int(sport), dport=int(dport), flags=flags, seq=1000, ack=2000) if proto == "tcp" \
    else UDP(sport=int(sport), dport=int(dport))
send(ip / l4 / Raw(token.encode() + b"\n"), count=3, inter=0.05, verbose=False)
PY
	sleep 0.3
	return 1
}

# diagnostics: agent log, counters, last probes; before the work dir goes.
diagnostics() {
	[ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ] || return 0
	agent_log_tail 25
	if [ -s "$LAB_DIR/stats.flat" ]; then
		echo "# --- ward stats --json, flattened (non-zero)" >&2
		awk '$2 != 0' "$LAB_DIR/stats.flat" | sed 's/^/#   /' >&2
	fi
	if [ -f "$LAB_DIR/probes.log" ]; then
		echo "# --- last lines of $LAB_DIR/probes.log" >&2
		tail -n 15 "$LAB_DIR/probes.log" | sed 's/^/#   /' >&2
	fi
}

on_exit() {
	local rc=$?
	set +e
	trap - INT TERM
	if [ "$DONE" != 1 ]; then
		fail "test script ran to completion (stopped with status $rc at line ${LAST_LINE:-?})"
	fi
	[ "$FAILED" -gt 0 ] && diagnostics
	lab_cleanup
	echo "$PASSED passed, $FAILED failed"
	if [ "$FAILED" -eq 0 ] && [ "$DONE" = 1 ]; then exit 0; fi
	exit 1
}
trap 'LAST_LINE=$LINENO' ERR
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- prerequisites -----------------------------------------------------------
if ! lab_require; then
	echo "# cannot run the netns tests: $LAB_WHY" >&2
	fail "prerequisites: $LAB_WHY"
	DONE=1
	exit 1
fi

# ---- helpers on ward's JSON ------------------------------------------------------
# The saved `ward stats --json`, flattened once (one python3 start) into
# "path value" lines: verdicts.ingress.drop_default.packets 12,
# rule.ingress.api.packets 3 (summed if a rule is listed more than once).
STATS=
STATS_FLAT=
flatten_stats() {
	python3 - "$STATS" >"$STATS_FLAT" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
out = {}
def walk(prefix, v):
    if isinstance(v, dict):
        for k, x in v.items():
            walk(prefix + [str(k)], x)
    elif isinstance(v, (int, float)) and not isinstance(v, bool):
        out[".".join(prefix)] = int(v)
for k in ("verdicts", "defaults"):
    walk([k], d[k])
for r in d["rules"]:
    for c in ("packets", "bytes"):
        key = "rule.%s.%s.%s" % (r["direction"], r["id"], c)
        out[key] = out.get(key, 0) + int(r[c])
for k, v in sorted(out.items()):
    print(k, v)
EOF
}
# stat_val KEY...: a number from the flattened stats, "" if absent.
stat_val() {
	local IFS=.
	awk -v k="$*" '$1 == k { print $2 }' "$STATS_FLAT" 2>/dev/null || true
}
# rule_packets ID DIRECTION: packets counted for that rule ("" if not listed).
rule_packets() { stat_val rule "$2" "$1" packets; }

# status_json_ok: `ward status --json` describes this lab and this policy.
status_json_ok() {
	local out
	out=$(ward_node status --json 2>>"$LAB_DIR/agent.log") || {
		echo "# ward status --json failed" >&2
		return 1
	}
	python3 - "$POLICY" "$IF_ALLOWED" "$IF_DENIED" "$(sha256sum <"$POLICY" | cut -d' ' -f1)" \
		"$out" <<'EOF'
import json, sys
pol = json.load(open(sys.argv[1]))
ifaces = {sys.argv[2], sys.argv[3]}
sha = sys.argv[4]
errs = []
try:
    s = json.loads(sys.argv[5])
except ValueError as e:
    print("# status --json is not JSON: %s" % e, file=sys.stderr)
    sys.exit(1)
if s.get("enforcing") is not True:
    errs.append("enforcing is %r" % s.get("enforcing"))
p = s.get("policy") or {}
nrules = len(pol.get("ingress", [])) + len(pol.get("egress", []))
for k, want in (("name", pol["name"]), ("revision", pol["revision"]), ("mode", "enforce"),
                ("rules", nrules), ("sha256", sha)):
    if p.get(k) != want:
        errs.append("policy.%s is %r, want %r" % (k, p.get(k), want))
seen = {}
for i in s.get("interfaces") or []:
    seen[i.get("name")] = i
if set(seen) != ifaces:
    errs.append("interfaces %r, want %r" % (sorted(seen), sorted(ifaces)))
for name, i in seen.items():
    if i.get("xdp") != "native":
        errs.append("%s: xdp %r, want native" % (name, i.get("xdp")))
    if i.get("tc") is not True:
        errs.append("%s: tc %r, want true" % (name, i.get("tc")))
    if not isinstance(i.get("ifindex"), int) or i["ifindex"] <= 0:
        errs.append("%s: ifindex %r" % (name, i.get("ifindex")))
for e in errs:
    print("# status --json: " + e, file=sys.stderr)
sys.exit(1 if errs else 0)
EOF
}

# xdp_native_on IF: the kernel itself shows a native (driver) XDP program.
xdp_native_on() {
	in_ns node ip link show dev "$1" 2>/dev/null | grep -q 'prog/xdp' &&
		in_ns node ip link show dev "$1" 2>/dev/null | head -n1 | grep -qw xdp
}
no_xdp_on() {
	local out
	out=$(in_ns node ip link show dev "$1" 2>&1) || return 1
	! grep -q 'xdp' <<<"$out"
}
pins_gone() {
	[ ! -e "$LAB_PIN" ] || [ -z "$(ls -A "$LAB_PIN" 2>/dev/null)" ]
}
neigh_ok() { # FAMILY(4|6)
	local a d nd
	if [ "$1" = 4 ]; then a=$ALLOWED_V4 d=$DENIED_V4 nd=$NODE_DENIED_V4; else
		a=$ALLOWED_V6 d=$DENIED_V6 nd=$NODE_DENIED_V6; fi
	lab_neigh_resolved node "$a" && lab_neigh_resolved node "$d" &&
		lab_neigh_resolved denied "$nd"
}

# ---- lab ----------------------------------------------------------------------
lab_note "lab $LAB_ID: namespaces $NS_NODE $NS_ALLOWED $NS_DENIED, pins $LAB_PIN"
lab_setup
lab_serve node tcp 8000
lab_serve node tcp 8001
lab_serve node tcp 9000
lab_serve node tcp 22
lab_serve node udp 5353
# the tracked connections of the ICMP error checks stay idle there for as
# long as those checks take: they must not be closed by the listener first
LAB_SERVE_IDLE=120 lab_serve allowed tcp 7000
lab_serve allowed tcp 7001
lab_serve node tcp 40123
lab_serve node udp 40124
lab_serve denied tcp 7000
for spec in "node tcp 8000" "node tcp 8001" "node tcp 9000" "node tcp 22" "node udp 5353" \
	"allowed tcp 7000" "allowed tcp 7001" "denied tcp 7000" "node tcp 40123" "node udp 40124"; do
	# shellcheck disable=SC2086
	lab_wait_listening $spec
done

check "ward check accepts tests/netns/lab-policy.json" \
	eval 'ward_node check "$POLICY" >>"$LAB_DIR/check.log" 2>&1'

LIVE_POLICY=$LAB_DIR/policy.json
cp "$POLICY" "$LIVE_POLICY"
agent_start "$LIVE_POLICY" --failsafe "tcp/22 from 203.0.113.0/24" --failsafe "tcp/22 from 2001:db8:2::/64"
if agent_wait_enforcing 15; then
	pass "ward status exits 0 once ward run enforces (within 15 s)"
else
	fail "ward status exits 0 once ward run enforces (within 15 s)"
	pid_alive "$LAB_AGENT_PID" || lab_note "the agent exited"
	DONE=1 # nothing below means anything without an agent
	exit 1
fi
check "agent still running after start-up" pid_alive "$LAB_AGENT_PID"
check "ward status --json: enforcing, policy name/revision/sha256/rules/mode, both interfaces native XDP + TC" \
	status_json_ok
check "kernel shows native XDP on $IF_ALLOWED and $IF_DENIED" \
	eval "xdp_native_on $IF_ALLOWED && xdp_native_on $IF_DENIED"

# ---- traffic, IPv4 and IPv6 ------------------------------------------------------
for fam in 4 6; do
	if [ "$fam" = 4 ]; then
		v=IPv4 na=$NODE_ALLOWED_V4 nd=$NODE_DENIED_V4 a=$ALLOWED_V4 d=$DENIED_V4
	else
		v=IPv6 na=$NODE_ALLOWED_V6 nd=$NODE_DENIED_V6 a=$ALLOWED_V6 d=$DENIED_V6
	fi
	if [ "$fam" = 4 ]; then echos=Icmp.InEchos udp=Udp.InDatagrams; else
		echos=Icmp6InEchos udp=Udp6InDatagrams; fi
	check "allowed client -> node tcp/8000 delivered ($v)" probe_tcp allowed "$na" 8000
	check "allowed client -> node udp/5353 delivered ($v)" probe_udp allowed "$na" 5353
	check "allowed client -> node ping delivered ($v)" probe_ping allowed "$na"
	check "allowed client -> node tcp/9000 blocked at node ingress, no rule ($v)" \
		blocked_at node Tcp.InSegs probe_tcp allowed "$na" 9000
	check "allowed client -> node tcp/8001 blocked at node ingress, deny rule beats allow rule ($v)" \
		blocked_at node Tcp.InSegs probe_tcp allowed "$na" 8001
	check "denied client -> node tcp/8000 blocked at node ingress ($v)" \
		blocked_at node Tcp.InSegs probe_tcp denied "$nd" 8000
	check "denied client -> node udp/5353 blocked at node ingress ($v)" \
		blocked_at node "$udp" probe_udp denied "$nd" 5353
	check "denied client -> node ping blocked at node ingress ($v)" \
		blocked_at node "$echos" probe_ping denied "$nd"
	check "node -> allowed client tcp/7001 blocked at node egress, egress default deny ($v)" \
		blocked_at allowed Tcp.InSegs probe_tcp node "$a" 7001
	check "node -> allowed client tcp/7000 delivered, egress rule, replies by conntrack ($v)" \
		probe_tcp node "$a" 7000
	check "unsolicited look-alike reply (TCP ACK from allowed client port 7000) dropped at node ingress ($v)" \
		blocked_at node Tcp.InSegs forge allowed "$a" "$na" tcp 7000 40123 A
	check "unsolicited look-alike reply (UDP from allowed client port 5353) dropped at node ingress ($v)" \
		blocked_at node "$udp" forge allowed "$a" "$na" udp 5353 40124
	check "node -> denied client tcp/7000 blocked at node egress, egress default deny ($v)" \
		blocked_at denied Tcp.InSegs probe_tcp node "$d" 7000
	check "node -> denied client ping blocked at node egress, egress default deny ($v)" \
		blocked_at denied "$echos" probe_ping node "$d"
	check "failsafe: denied client -> node tcp/22 delivered although the policy denies it ($v)" \
		probe_tcp denied "$nd" 22
	check "failsafe covers only its subnet: allowed client -> node tcp/22 blocked by the deny rule ($v)" \
		blocked_at node Tcp.InSegs probe_tcp allowed "$na" 22
	if [ "$fam" = 4 ]; then what=ARP; else what="neighbour discovery"; fi
	check "$what passes: node resolved both clients, denied client resolved node ($v)" neigh_ok "$fam"
done

# ---- counters -----------------------------------------------------------------
STATS=$LAB_DIR/stats.json
STATS_FLAT=$LAB_DIR/stats.flat
if ward_node stats --json >"$STATS" 2>>"$LAB_DIR/agent.log" && flatten_stats; then
	pass "ward stats --json prints JSON"
else
	fail "ward stats --json prints JSON"
fi
for r in api dns ping ping6; do
	check "rule $r (ingress allow) counted packets" gt0 "$(rule_packets "$r" ingress)"
done
check "rule backend (egress allow) counted packets" gt0 "$(rule_packets backend egress)"
check "replies passed by conntrack in both directions (pass_ct > 0)" eval \
	'gt0 "$(stat_val verdicts ingress pass_ct packets)" && gt0 "$(stat_val verdicts egress pass_ct packets)"'
check "rule api-8001-deny (ingress deny) counted packets" gt0 "$(rule_packets api-8001-deny ingress)"
check "verdicts ingress drop_default > 0" gt0 "$(stat_val verdicts ingress drop_default packets)"
check "verdicts egress drop_default > 0" gt0 "$(stat_val verdicts egress drop_default packets)"
check "verdicts ingress drop_rule > 0" gt0 "$(stat_val verdicts ingress drop_rule packets)"
check "verdicts ingress/egress pass_rule > 0" eval \
	'gt0 "$(stat_val verdicts ingress pass_rule packets)" && gt0 "$(stat_val verdicts egress pass_rule packets)"'
check "verdicts pass_arp > 0 both directions" eval \
	'gt0 "$(stat_val verdicts ingress pass_arp packets)" && gt0 "$(stat_val verdicts egress pass_arp packets)"'
check "verdicts pass_nd > 0 both directions" eval \
	'gt0 "$(stat_val verdicts ingress pass_nd packets)" && gt0 "$(stat_val verdicts egress pass_nd packets)"'
check "defaults ingress/egress deny counted packets" eval \
	'gt0 "$(stat_val defaults ingress deny packets)" && gt0 "$(stat_val defaults egress deny packets)"'
check "no lab packet counted as malformed" eval \
	'eq0 "$(stat_val verdicts ingress drop_malformed packets)" && eq0 "$(stat_val verdicts egress drop_malformed packets)"'
check "ward stats (table) exits 0" eval 'ward_node stats >/dev/null 2>&1'

# ---- hostile and odd frames on the wire ------------------------------------------------
# Each kind: 3 frames from the allowed client to its allowed port 8101, no
# listener there yet, so the node answers nothing back in (and
# only the oddity can drop them): exactly 3 more packets under the
# expected verdict counter ("allowed": by the rule, then by conntrack).
NODE_MAC=$(ip -n "$NS_NODE" -o link show "$IF_ALLOWED" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
verdict_count() { # DIR VERDICT ("allowed": by a rule or by conntrack)
	ward_node stats --json 2>/dev/null | /usr/bin/python3 -c \
		"import json,sys; v=json.load(sys.stdin)['verdicts']['$1']; print(v['pass_rule']['packets'] + v['pass_ct']['packets'] if '$2' == 'allowed' else v['$2']['packets'])"
}
hostile() { # KIND VERDICT: 3 frames of KIND counted as VERDICT at node ingress
	local before after
	before=$(verdict_count ingress "$2")
	nsenter --net="/run/netns/$NS_ALLOWED" -- timeout 20 /usr/bin/python3 "$HERE/hostile.py" "$1" \
		"$IF_CLIENT" "$ALLOWED_V4" "$NODE_ALLOWED_V4" "$ALLOWED_V6" "$NODE_ALLOWED_V6" "$NODE_MAC" 8101 \
		2>>"$LAB_DIR/probes.log" || return 1
	sleep 0.2
	after=$(verdict_count ingress "$2")
	[ $((after - before)) -eq 3 ] || { echo "# $1: $2 went from $before to $after" >&2; return 1; }
}
check "wire: TCP SYN+FIN to an allowed port dropped as drop_tcp_flags (IPv4)" hostile syn-fin-v4 drop_tcp_flags
check "wire: TCP with no flags dropped as drop_tcp_flags (IPv6)" hostile null-v6 drop_tcp_flags
check "wire: TCP Xmas (FIN+PSH+URG) dropped as drop_tcp_flags (IPv4)" hostile xmas-v4 drop_tcp_flags
check "wire: IPv4 total length beyond the frame dropped as malformed" hostile totlen-v4 drop_malformed
check "wire: IPv6 payload length beyond the frame dropped as malformed" hostile plen-v6 drop_malformed
check "wire: IPv4 IHL 4 dropped as malformed" hostile ihl-v4 drop_malformed
check "wire: IPv4 non-first fragment dropped, ports never read" hostile frag-v4 drop_fragment
check "wire: IPv6 non-first fragment dropped, ports never read" hostile frag-v6 drop_fragment
check "wire: IPv6 chain of 7 extension headers (over the limit) dropped as malformed" hostile ext7-v6 drop_malformed
check "wire: IPv6 hop-by-hop + destination options parsed to the allowed port" hostile ext2-v6 allowed
check "wire: IPv4 with options parsed to the allowed port" hostile options-v4 allowed
check "wire: 802.1Q-tagged frame parsed to the allowed port" hostile vlan-v4 allowed
check "wire: QinQ (802.1ad + 802.1Q) frame parsed to the allowed port" hostile qinq-v6 allowed
check "wire: non-IP ethertype (LLDP) dropped as drop_non_ip" hostile lldp drop_non_ip
check "wire: truncated UDP header dropped as malformed" hostile trunc-udp-v4 drop_malformed
# ICMP errors related to a tracked flow: a node -> allowed client tcp/7000
# connection from a known port stays open; errors quoting it pass by
# conntrack, errors quoting another port are decided as new (and denied).
hostile_port() { # KIND PORT VERDICT
	local before after
	before=$(verdict_count ingress "$3")
	nsenter --net="/run/netns/$NS_ALLOWED" -- timeout 20 /usr/bin/python3 "$HERE/hostile.py" "$1" \
		"$IF_CLIENT" "$ALLOWED_V4" "$NODE_ALLOWED_V4" "$ALLOWED_V6" "$NODE_ALLOWED_V6" "$NODE_MAC" "$2" \
		2>>"$LAB_DIR/probes.log" || return 1
	sleep 0.2
	after=$(verdict_count ingress "$3")
	[ $((after - before)) -eq 3 ] || { echo "# $1 port $2: $3 went from $before to $after" >&2; return 1; }
}
# Open until the four checks are done, however slow they are (ASan build, a
# busy machine): a FIN of theirs, from either end (the listener on 7000
# waits 120 s idle), would be counted with the errors.
TRACKED_PIDS=()
for fam in 4 6; do
	if [ "$fam" = 4 ]; then dst=$ALLOWED_V4; else dst="[$ALLOWED_V6]"; fi
	nsenter --net="/run/netns/$NS_NODE" -- timeout 90 bash -c \
		"sleep 80 | socat -u - TCP${fam}:$dst:7000,sourceport=4555$fam,reuseaddr" 2>>"$LAB_DIR/probes.log" &
	LAB_PIDS+=($!)
	TRACKED_PIDS+=($!)
done
# both connections established (and their handshakes counted) before the
# errors are sent, so the pass_ct count below is theirs alone
for ((i = 0; i < 50; i++)); do
	[ "$(nsenter --net="/run/netns/$NS_NODE" -- ss -Htn state established '( sport = :45554 or sport = :45556 )' | wc -l)" -ge 2 ] && break
	sleep 0.1
done
sleep 0.5
check "wire: ICMP error quoting a tracked flow passes as related (IPv4)" hostile_port icmp-err-v4 45554 pass_ct
check "wire: ICMPv6 error quoting a tracked flow passes as related (IPv6)" hostile_port icmp-err-v6 45556 pass_ct
check "wire: ICMP error quoting no tracked flow is dropped (IPv4)" hostile_port icmp-err-v4 45999 drop_default
check "wire: ICMPv6 error quoting no tracked flow is dropped (IPv6)" hostile_port icmp-err-v6 45999 drop_default
for pid in "${TRACKED_PIDS[@]}"; do stop_pid "$pid" TERM 2; done
check "agent still running after the hostile frames" pid_alive "$LAB_AGENT_PID"

# ---- revocation: a policy change cuts live flows at once ---------------------------
# Four long-lived connections (v4 and v6, to a port whose rule goes away and
# to one whose rule stays) send a line every 0.2 s. The agent reloads a
# policy without the rule "live" on SIGHUP: the revoked connections stop
# delivering at once, the kept ones go on.
live_conn() { # FAM PORT: client in the allowed ns, lines to the node
	local fam=$1 port=$2 addr log=$LAB_DIR/live-$1-$2.log
	if [ "$fam" = 4 ]; then addr=$NODE_ALLOWED_V4; else addr="[$NODE_ALLOWED_V6]"; fi
	: >"$log"
	nsenter --net="/run/netns/$NS_NODE" -- timeout 25 socat -u \
		"TCP${fam}-LISTEN:$port,reuseaddr$([ "$fam" = 6 ] && echo ,ipv6only=1)" \
		"OPEN:$log,append" 2>>"$LAB_DIR/servers.log" &
	LAB_PIDS+=($!)
	LIVE_PIDS+=($!)
	sleep 0.3
	nsenter --net="/run/netns/$NS_ALLOWED" -- timeout 20 bash -c \
		"for i in \$(seq 1 90); do echo line\$i; sleep 0.2; done" 2>/dev/null |
		nsenter --net="/run/netns/$NS_ALLOWED" -- timeout 20 socat -u - "TCP${fam}:$addr:$port" \
			2>>"$LAB_DIR/servers.log" &
	LAB_PIDS+=($!)
	LIVE_PIDS+=($!)
}
LIVE_PIDS=()
lines() { wc -l <"$LAB_DIR/live-$1-$2.log" 2>/dev/null || echo 0; }
grows() { # FAM PORT SECS: the line count grew within SECS
	local before
	before=$(lines "$1" "$2")
	sleep "$3"
	[ "$(lines "$1" "$2")" -gt "$before" ]
}
stalls() { ! grows "$@"; }
revision_is() {
	ward_node status --json 2>/dev/null | /usr/bin/python3 -c \
		"import json,sys; sys.exit(0 if json.load(sys.stdin)['policy']['revision'] == $1 else 1)"
}
for f in 4 6; do live_conn "$f" 8100; live_conn "$f" 8101; done
check "live connections deliver before the change (v4/v6, revoked and kept ports)" eval \
	'grows 4 8100 1 && grows 6 8100 0.5 && grows 4 8101 0.5 && grows 6 8101 0.5'
/usr/bin/python3 - "$POLICY" "$LIVE_POLICY" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["revision"] += 1
p["ingress"] = [r for r in p["ingress"] if r["id"] != "live"]
json.dump(p, open(sys.argv[2], "w"), indent=1)
PY
kill -HUP "$LAB_AGENT_PID"
for _ in $(seq 1 50); do revision_is 8 && break; sleep 0.1; done
check "SIGHUP reloads the policy file (revision 8 in force)" revision_is 8
check "revoked: connections on the removed rule stop delivering at once (IPv4)" stalls 4 8100 1.5
check "revoked: connections on the removed rule stop delivering at once (IPv6)" stalls 6 8100 0.5
check "kept: connections on a rule that stays go on (IPv4)" grows 4 8101 1
check "kept: connections on a rule that stays go on (IPv6)" grows 6 8101 1
for pid in "${LIVE_PIDS[@]}"; do stop_pid "$pid" TERM 2; done
sleep 0.5
check "failsafe survives the reload: denied client -> node tcp/22 delivered (IPv4)" \
	probe_tcp denied "$NODE_DENIED_V4" 22
check "a new connection to the revoked port is refused at node ingress (IPv4)" \
	blocked_at node Tcp.InSegs probe_tcp allowed "$NODE_ALLOWED_V4" 8100

# ---- swaps under traffic: no gap, no union ---------------------------------------
# 100 reloads alternating two policies that both allow ping from the allowed
# client and neither allows the denied client, while both clients ping the
# node every 2 ms: not one allowed echo may be lost (a gap would drop it),
# not one denied echo may pass (a union or a half policy would let it).
SWAP_N=100
swap_policy() { # REVISION: LIVE_POLICY rewritten, groups split differently on odd revisions
	/usr/bin/python3 - "$LIVE_POLICY" "$1" <<'PY'
import json, sys
path, rev = sys.argv[1], int(sys.argv[2])
p = json.load(open(path))
p["revision"] = rev
p["groups"]["allowed"] = (["198.51.100.0/25", "198.51.100.128/25", "2001:db8:1::/65", "2001:db8:1:0:8000::/65"]
                          if rev % 2 else ["198.51.100.0/24", "2001:db8:1::/64"])
json.dump(p, open(path + ".tmp", "w"), indent=1)
PY
	mv "$LIVE_POLICY.tmp" "$LIVE_POLICY"
}
ping_loss() { # ROLE ADDR COUNT -> loss percentage on stdout
	timeout 40 nsenter --net="/run/netns/$(lab_ns "$1")" -- ping -n -q -i 0.002 -W 1 -c "$3" "$2" 2>/dev/null |
		sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p'
}
ping_loss allowed "$NODE_ALLOWED_V4" 2500 >"$LAB_DIR/swap-allowed.loss" &
SWAP_PING_A=$!
ping_loss denied "$NODE_DENIED_V4" 2500 >"$LAB_DIR/swap-denied.loss" &
SWAP_PING_D=$!
ping_loss allowed "$NODE_ALLOWED_V6" 2500 >"$LAB_DIR/swap-allowed6.loss" &
SWAP_PING_A6=$!
ping_loss denied "$NODE_DENIED_V6" 2500 >"$LAB_DIR/swap-denied6.loss" &
SWAP_PING_D6=$!
swaps_done=0
for i in $(seq 1 $SWAP_N); do
	rev=$((100 + i))
	swap_policy "$rev"
	kill -HUP "$LAB_AGENT_PID"
	for _ in $(seq 1 100); do revision_is "$rev" && break; sleep 0.01; done
	revision_is "$rev" && swaps_done=$((swaps_done + 1))
done
wait "$SWAP_PING_A" "$SWAP_PING_D" "$SWAP_PING_A6" "$SWAP_PING_D6" || true
check "$SWAP_N policy swaps under traffic, each confirmed in force ($swaps_done)" [ "$swaps_done" -eq "$SWAP_N" ]
check "no gap: 0% of 2500 allowed echo requests lost during the swaps ($(cat "$LAB_DIR/swap-allowed.loss")%)" \
	[ "$(cat "$LAB_DIR/swap-allowed.loss")" = 0 ]
check "no union: 100% of 2500 denied echo requests dropped during the swaps ($(cat "$LAB_DIR/swap-denied.loss")%)" \
	[ "$(cat "$LAB_DIR/swap-denied.loss")" = 100 ]
check "no gap (IPv6): 0% of 2500 allowed echo requests lost ($(cat "$LAB_DIR/swap-allowed6.loss")%)" \
	[ "$(cat "$LAB_DIR/swap-allowed6.loss")" = 0 ]
check "no union (IPv6): 100% of 2500 denied echo requests dropped ($(cat "$LAB_DIR/swap-denied6.loss")%)" \
	[ "$(cat "$LAB_DIR/swap-denied6.loss")" = 100 ]

# ---- the agent dies: enforcement stays -------------------------------------------
kill -KILL "$LAB_AGENT_PID" 2>/dev/null || true
stop_pid "$LAB_AGENT_PID" KILL 2
check "agent killed with SIGKILL" not pid_alive "$LAB_AGENT_PID"
LAB_AGENT_PID=
check "ward status still exits 0 with the agent gone (pinned enforcement)" \
	eval 'ward_node status >/dev/null 2>&1'
check "after SIGKILL: denied client -> node tcp/8000 still blocked at node ingress (IPv4)" \
	blocked_at node Tcp.InSegs probe_tcp denied "$NODE_DENIED_V4" 8000
check "after SIGKILL: denied client -> node ping still blocked at node ingress (IPv6)" \
	blocked_at node Icmp6InEchos probe_ping denied "$NODE_DENIED_V6"
check "after SIGKILL: node -> denied client tcp/7000 still blocked at node egress (IPv4)" \
	blocked_at denied Tcp.InSegs probe_tcp node "$DENIED_V4" 7000
check "after SIGKILL: allowed client -> node tcp/8000 still delivered (IPv4)" \
	probe_tcp allowed "$NODE_ALLOWED_V4" 8000
check "after SIGKILL: allowed client -> node udp/5353 still delivered (IPv6)" \
	probe_udp allowed "$NODE_ALLOWED_V6" 5353

# ---- detach -----------------------------------------------------------------------
check "ward detach exits 0" eval 'ward_node detach >>"$LAB_DIR/agent.log" 2>&1'
check "ward status exits non-zero after detach" not eval 'ward_node status >/dev/null 2>&1'
check "pins removed ($LAB_PIN gone or empty)" pins_gone
check "no XDP program left on $IF_ALLOWED and $IF_DENIED" \
	eval "no_xdp_on $IF_ALLOWED && no_xdp_on $IF_DENIED"
check "after detach: denied client -> node tcp/8000 delivered (IPv4)" \
	probe_tcp denied "$NODE_DENIED_V4" 8000
check "after detach: denied client -> node tcp/8000 delivered (IPv6)" \
	probe_tcp denied "$NODE_DENIED_V6" 8000
check "after detach: node -> denied client ping delivered (IPv4)" probe_ping node "$DENIED_V4"

# ---- cleanup --------------------------------------------------------------------
[ "$FAILED" -gt 0 ] && diagnostics
lab_cleanup
check "cleanup: lab namespaces and pin directory removed" lab_is_clean
DONE=1
