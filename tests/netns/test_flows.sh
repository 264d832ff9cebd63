#!/usr/bin/env bash
# Flow records against known traffic (issue: "the records match it exactly —
# counts, rules, directions"). The lab of lib.sh, the real agent writing
# OCSF JSON lines to a file, RFC 5424 syslog over TCP to a real rsyslog and
# IPFIX over UDP to a real nfcapd (both in the node's namespace): the file
# is checked against the traffic, and the syslog messages and the IPFIX
# flows decoded by nfdump against the file, record for record. Traffic,
# all bounded:
#   - one allowed TCP connection (rule api, logged): one Open, one Close
#   - N4 / N6 UDP datagrams the default denies (IPv4 / IPv6): Refuse records
#     whose counts add up to exactly N4 / N6, equal to the drop counters
#   - a UDP burst over a rate limit: rate_limit records adding up to the
#     rule's rate-limited counter, one client key
#   - datagrams to an audit deny rule, each its own flow: audit records
#     adding up to their number, action Observed
#   - a reload and a rejected policy: audit records with old/new revisions
# and the whole file: valid OCSF (ocsf-check), sequence 1..n without gaps,
# no "records lost". Ends with "N passed, N failed".
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_KIND=flows
# shellcheck source=tests/netns/lib.sh
. "$HERE/lib.sh"
ROOT=$LAB_ROOT
# shellcheck source=tests/lib/checks.sh
. "$HERE/../lib/checks.sh"
pids=()
finish() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	lab_cleanup
}
trap finish EXIT
lab_require || { echo "not ok 1 - $LAB_WHY"; echo "0 passed, 1 failed"; exit 1; }
lab_setup
# the receivers, in the node's namespace, on its loopback
tmp=$LAB_DIR
RECV_EXEC="nsenter --net=/run/netns/$NS_NODE --"
# shellcheck source=tests/records/receivers.sh
. "$ROOT/tests/records/receivers.sh"
SYSLOG_PORT=5514 IPFIX_PORT=4739
start_rsyslog soc "tcp:127.0.0.1:$SYSLOG_PORT:syslog" || { echo "not ok 1 - rsyslog"; echo "0 passed, 1 failed"; exit 1; }
start_nfcapd "$LAB_DIR/nf" "$IPFIX_PORT" -b 127.0.0.1 || { echo "not ok 1 - nfcapd"; echo "0 passed, 1 failed"; exit 1; }

N4=37 N6=23 NRATE=60 NAUDIT=11
POL=$LAB_DIR/policy.json
write_policy() { # REVISION [EXTRA JSON]
	cat >"$POL" <<-EOF
	{ "version": 1, "name": "flows-lab", "revision": $1,
	  "defaults": { "ingress": "deny", "egress": "deny", "log": "denied" },
	  "groups": { "allowed": ["$ALLOWED_V4/32", "$ALLOWED_V6/128"] },
	  "rate_limits": { "dnslim": { "pps": 5, "burst": 5 } },
	  "ingress": [
	    { "id": "api", "from": ["allowed"], "proto": "tcp", "ports": [8000], "log": true },
	    { "id": "dns", "from": ["allowed"], "proto": "udp", "ports": [5353], "rate_limit": "dnslim", "log": true },
	    { "id": "watch", "action": "deny", "from": ["allowed"], "proto": "udp", "ports": [6000], "audit": true }$2
	  ] }
	EOF
}
write_policy 1 ""
FLOWS=$LAB_DIR/flows.json
# lib.sh's agent_start adds --flows file:$LAB_DIR/flows.json
agent_start "$POL" --flow-interval 500 --flows "syslog+tcp://127.0.0.1:$SYSLOG_PORT" \
	--flows "ipfix+udp://127.0.0.1:$IPFIX_PORT,template=2"
agent_wait_enforcing 10 || { agent_log_tail; echo "not ok 1 - agent did not start"; echo "0 passed, 1 failed"; exit 1; }

# send COUNT UDP datagrams from ROLE to ADDR:PORT; fresh=1: a new socket
# (a new source port, so a new flow) for each
udp_send() { # ROLE ADDR PORT COUNT FRESH
	in_ns "$1" timeout 20 python3 - "$2" "$3" "$4" "$5" <<-'EOF'
	import socket, sys, time
	addr, port, count, fresh = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
	fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
	s = None
	for i in range(count):
	    if s is None or fresh:
	        s = socket.socket(fam, socket.SOCK_DGRAM)
	    s.sendto(b"ward-flows-test", (addr, port))
	    time.sleep(0.002)
	EOF
}
stat_json() { ward_node stats --json; }

# ---- traffic ---------------------------------------------------------------
lab_serve node tcp 8000
lab_wait_listening node tcp 8000 || true
check "allowed TCP connection works" probe_tcp allowed "$NODE_ALLOWED_V4" 8000
udp_send denied "$NODE_DENIED_V4" 9999 "$N4" 0
udp_send denied "$NODE_DENIED_V6" 9999 "$N6" 0
NOPORTS0=$(lab_snmp node Udp.NoPorts)
udp_send allowed "$NODE_ALLOWED_V4" 5353 "$NRATE" 0
sleep 0.3
RATE_DELIVERED=$(($(lab_snmp node Udp.NoPorts) - NOPORTS0)) # no listener on 5353
udp_send allowed "$NODE_ALLOWED_V4" 6000 "$NAUDIT" 1
# the counters of this policy (a load starts them again at zero)
STATS=$(stat_json)
# a reload, then a policy the agent must reject (SIGHUP; the file watch
# reloads as well: each outcome is a record)
write_policy 2 ""
kill -HUP "$LAB_AGENT_PID"
sleep 1
write_policy 3 ', { "id": "bad", "from": ["nowhere"], "proto": "tcp" }'
kill -HUP "$LAB_AGENT_PID"
# aggregates go out once idle for 2 intervals (1 s); the TCP flow closes
# after FIN + 10 s and conntrack collection runs every 5 s
lab_note "waiting for the TCP flow's Close record (up to 25 s)"
until_ok 25 grep -q '"activity_id":2' "$FLOWS"
sleep 2
kill "$LAB_AGENT_PID"
until_ok 10 grep -q '"event_code":"agent-stop"' "$FLOWS"
sleep 1
stop_rsyslog soc
stop_nfcapd "$LAB_DIR/nf"

# ---- what the records say ----------------------------------------------------
py() { # python code reading records from $FLOWS (list `R`) and ward stats (dict `S`)
	python3 - "$FLOWS" "$STATS" <<-EOF
	import json, sys
	R = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
	S = json.loads(sys.argv[2])
	net = [r for r in R if r["class_uid"] == 4001]
	def code(r): return r["metadata"]["event_code"]
	def sel(kind, **kw):
	    out = []
	    for r in net:
	        if code(r) != kind: continue
	        if all(eval(v, {}, {"r": r}) == w for v, w in kw.get("eq", {}).items()):
	            out.append(r)
	    return out
	def verdict(name, d="ingress"):
	    return S["verdicts"][d].get(name, {"packets": 0})["packets"] if isinstance(S["verdicts"][d], dict) else 0
	$1
	EOF
}
check "the file is valid OCSF (ocsf-check)" "$ROOT/tests/lib/ocsf-check" "$FLOWS"
check "sequence numbers run 1..n without a gap" py '
seq = [r["metadata"]["sequence"] for r in R]
sys.exit(seq != list(range(1, len(R) + 1)))'
check "no records lost" py 'sys.exit(any(code(r) == "records-lost" or r.get("activity_id") == 99 for r in R))'
check "one Open record for the TCP connection: rule api, inbound, the client, port 8000" py "
o = [r for r in sel('open') if r['firewall_rule']['uid'] == 'api']
ok = len(o) == 1 and o[0]['src_endpoint']['ip'] == '$ALLOWED_V4' and o[0]['dst_endpoint']['port'] == 8000 \
     and o[0]['connection_info']['direction_id'] == 1 and o[0]['action_id'] == 1
sys.exit(not ok)"
check "one Close record for it, with packets both ways" py "
c = [r for r in net if r['activity_id'] == 2 and r['firewall_rule']['uid'] == 'api']
ok = len(c) == 1 and c[0]['traffic']['packets_in'] > 0 and c[0]['traffic']['packets_out'] > 0 \
     and c[0]['src_endpoint']['ip'] == '$ALLOWED_V4'
sys.exit(not ok)"
for fam in 4 6; do
	if [ $fam = 4 ]; then src=$DENIED_V4 dst=$NODE_DENIED_V4 want=$N4; else src=$DENIED_V6 dst=$NODE_DENIED_V6 want=$N6; fi
	check "IPv$fam denied UDP: Refuse counts add up to exactly $want" py "
rs = [r for r in sel('refuse') if r['src_endpoint']['ip'] == '$src' and r['dst_endpoint'].get('port') == 9999]
n = sum(r['count'] for r in rs)
print('refuse records', len(rs), 'count', n, file=sys.stderr)
sys.exit(not (n == $want and all(r['firewall_rule']['uid'] == 'default-ingress' and r['action_id'] == 2 for r in rs)))"
done
check "denied records add up to the drop_default counter (every denied packet is in a record)" py "
n = sum(r['count'] for r in sel('refuse') if r['connection_info']['direction_id'] == 1)
d = S['verdicts']['ingress']['drop_default']['packets'] if isinstance(S['verdicts']['ingress'].get('drop_default'), dict) else S['verdicts']['ingress'].get('drop_default')
print('refuse in', n, 'drop_default', d, file=sys.stderr)
sys.exit(n != d)"
check "rate_limit records add up to the rule's rate-limited counter, one client" py "
rs = sel('rate_limit')
n = sum(r['count'] for r in rs)
rl = [x for x in S['rules'] if x['id'] == 'dns'][0]['rate_limited']['packets']
print('rate records', len(rs), 'count', n, 'counter', rl, file=sys.stderr)
sys.exit(not (n == rl and n > 0 and {r['src_endpoint']['ip'] for r in rs} == {'$ALLOWED_V4'} \
              and all(r['firewall_rule']['uid'] == 'dns' for r in rs)))"
check "rate-limited + delivered to the node's stack = sent ($NRATE)" py "
rl = [x for x in S['rules'] if x['id'] == 'dns'][0]
print('rate-limited', rl['rate_limited']['packets'], 'delivered', $RATE_DELIVERED, file=sys.stderr)
sys.exit(rl['rate_limited']['packets'] + $RATE_DELIVERED != $NRATE)"
check "audit records: $NAUDIT would-be denies, action Observed, rule watch" py "
rs = [r for r in net if r['action_id'] == 3]
n = sum(r.get('count', 1) for r in rs)
print('audit records', len(rs), 'count', n, file=sys.stderr)
sys.exit(not (n == $NAUDIT and all(r['firewall_rule']['uid'] == 'watch' for r in rs)))"
check "policy records: load (rev 1), reload (1 -> 2), reject of rev 3 with its error" py "
p = [r for r in R if r['metadata'].get('log_name') == 'audit' and 'policy' in r['metadata'].get('event_code', '')]
codes = [r['metadata']['event_code'] for r in p]
print(codes, file=sys.stderr)
rej = [r for r in p if 'reject' in r['metadata']['event_code']]
ok = codes[:1] == ['policy-load'] and 'policy-reload' in codes and len(rej) >= 1 and all('nowhere' in r.get('message', '') for r in rej)
sys.exit(not ok)"
check "agent start and stop records" py "
c = [r['metadata']['event_code'] for r in R]
sys.exit(not ('agent-start' in c and c[-1] == 'agent-stop'))"
check "ward flows prints the records" bash -c "'$WARD' flows --file '$FLOWS' --verdict deny | grep -q 'udp.*9999'"

# ---- the same records through syslog and IPFIX ----------------------------------
check "syslog (RFC 5424 over TCP, rsyslog): every record of the file, identical, in order" python3 - "$FLOWS" "$LAB_DIR/syslog.log" <<'EOF'
import json, sys
want = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
got = []
for line in open(sys.argv[2]):
    f = line.rstrip("\n").split("|", 8)   # pri|ver|time|host|app|procid|msgid|sd|msg
    got.append((f[6], f[7], json.loads(f[8])))
ok = [g[2] for g in got] == want
ok = ok and all('sequenceId="%d"' % g[2]["metadata"]["sequence"] in g[1] for g in got)
print("file", len(want), "syslog", len(got), file=sys.stderr)
sys.exit(not ok)
EOF
check "IPFIX (nfcapd, nfdump): every flow record of the file: addresses, ports, counters, direction, times, interfaces" \
	in_ns node python3 "$ROOT/tests/records/ipfix_check.py" nfdump "$FLOWS" "$LAB_DIR/nf.json"
check "IPFIX: the denied IPv4 packets add up to $N4 there too" python3 - "$LAB_DIR/nf.json" <<EOF
import json, sys
n = sum(r["in_packets"] for r in json.load(open(sys.argv[1])) if r.get("src4_addr") == "$DENIED_V4" and r.get("dst_port") == 9999)
print("ipfix denied v4 packets", n, file=sys.stderr)
sys.exit(n != $N4)
EOF

[ "$F" = 0 ] || { agent_log_tail 30; cp "$FLOWS" /tmp/ward-flows-failed.json; lab_note "records kept in /tmp/ward-flows-failed.json"; }
echo "$P passed, $F failed"
[ "$F" = 0 ]
