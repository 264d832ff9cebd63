#!/usr/bin/env bash
# `make demo`: a small lab of network namespaces (see lib.sh), the agent
# enforcing policies/demo.json on the node, real traffic in both directions
# over IPv4 and IPv6, then what Ward says about it (status, per-rule
# counters). Cleans everything up, also on failure or Ctrl-C. Runs in about
# 20 s; exits 1 when a flow did not go the way the policy says.
# Then a burst over the "dns" rule's rate limit, and the flow records the
# agent wrote (OCSF JSON lines) as `ward flows` shows them.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_KIND="demo"
# shellcheck source=tests/netns/lib.sh
. "$HERE/lib.sh"
POLICY=$LAB_ROOT/policies/demo.json
UNEXPECTED=0

finish() {
	local rc=$?
	set +e
	trap - INT TERM
	if [ "$rc" -ne 0 ] || [ "$UNEXPECTED" -ne 0 ]; then agent_log_tail 20; fi
	local was_up=$LAB_DIR
	lab_cleanup
	if [ -z "$was_up" ]; then
		:
	elif lab_is_clean; then
		echo "== cleaned up: agent stopped, ward detached, namespaces and pins removed"
	else
		echo "== cleanup incomplete: check 'ip netns list' and $LAB_PIN" >&2
	fi
	exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! lab_require; then
	echo "demo: cannot run: $LAB_WHY" >&2
	exit 1
fi

# flow DESCRIPTION EXPECTED(delivered|blocked) PROBE ARGS...
flow() {
	local desc=$1 want=$2 got mark=
	shift 2
	if "$@"; then got=delivered; else got=blocked; fi
	if [ "$got" != "$want" ]; then
		mark="   <-- UNEXPECTED, the policy says $want"
		UNEXPECTED=$((UNEXPECTED + 1))
	fi
	printf '  %-50s %s%s\n' "$desc:" "$got" "$mark"
}

echo "== Ward demo: policy $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%s revision %s" % (d["name"], d["revision"]))' "$POLICY") ($POLICY)"
lab_setup
echo "   node           $NS_NODE: $IF_ALLOWED $NODE_ALLOWED_V4 $NODE_ALLOWED_V6, $IF_DENIED $NODE_DENIED_V4 $NODE_DENIED_V6"
echo "   allowed client $NS_ALLOWED: $ALLOWED_V4 $ALLOWED_V6 (group \"clients\")"
echo "   denied client  $NS_DENIED: $DENIED_V4 $DENIED_V6 (no rule)"
echo "   node services: tcp/8000 (api), udp/5353 (dns); client service: tcp/7000 (backend)"

lab_serve node tcp 8000
lab_serve node udp 5353
lab_serve allowed tcp 7000
lab_serve denied tcp 7000
lab_wait_listening node tcp 8000
lab_wait_listening node udp 5353
lab_wait_listening allowed tcp 7000
lab_wait_listening denied tcp 7000

echo
echo "== ward check ${POLICY#"$LAB_ROOT"/}"
ward_node check "$POLICY"

echo
echo "== ward run --policy ${POLICY#"$LAB_ROOT"/} --interface $IF_ALLOWED --interface $IF_DENIED --pin-path $LAB_PIN"
agent_start "$POLICY"
if ! agent_wait_enforcing 15; then
	echo "demo: ward did not start enforcing within 15 s" >&2
	exit 1
fi
echo "   enforcing (ward status exits 0)"

echo
echo "== traffic (each flow: a few packets, bounded by timeouts)"
for fam in 4 6; do
	if [ "$fam" = 4 ]; then
		v=IPv4 na=$NODE_ALLOWED_V4 nd=$NODE_DENIED_V4 a=$ALLOWED_V4 d=$DENIED_V4
	else
		v=IPv6 na=$NODE_ALLOWED_V6 nd=$NODE_DENIED_V6 a=$ALLOWED_V6 d=$DENIED_V6
	fi
	flow "allowed client -> node tcp/8000 ($v)" delivered probe_tcp allowed "$na" 8000
	flow "allowed client -> node udp/5353 ($v)" delivered probe_udp allowed "$na" 5353
	flow "allowed client -> node ping ($v)" delivered probe_ping allowed "$na"
	flow "denied client  -> node tcp/8000 ($v)" blocked probe_tcp denied "$nd" 8000
	flow "denied client  -> node udp/5353 ($v)" blocked probe_udp denied "$nd" 5353
	flow "denied client  -> node ping ($v)" blocked probe_ping denied "$nd"
	flow "node -> allowed client tcp/7000 ($v)" delivered probe_tcp node "$a" 7000
	flow "node -> denied client  tcp/7000 ($v)" blocked probe_tcp node "$d" 7000
done

echo
echo "== rate limit: 500 datagrams in about 1 s from the allowed client to udp/5353"
echo "   (rule dns, limit \"discovery\": 50 packets/s per client, burst 20)"
in_ns allowed timeout 20 python3 - "$NODE_ALLOWED_V4" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0 = time.monotonic()
for i in range(500):
    s.sendto(b"demo", (sys.argv[1], 5353))
    time.sleep(max(0, t0 + (i + 1) / 500 - time.monotonic()))
EOF
sleep 1
ward_node stats --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
r = [x for x in s["rules"] if x["id"] == "dns"][0]
print("   rule dns: %d packets passed, %d rate-limited (dropped in XDP)" % (r["packets"], r["rate_limited"]["packets"]))'

echo
echo "== ward status"
ward_node status || echo "demo: ward status exited $?" >&2

echo
echo "== ward stats"
ward_node stats || echo "demo: ward stats exited $?" >&2

echo
echo "== flow records (ward flows --file $LAB_DIR/flows.json), the last 12"
sleep 2 # aggregated records go out once their key has been idle a moment
"$WARD" flows --file "$LAB_DIR/flows.json" | tail -n 12 | cut -c 1-150
echo "   one record as the SIEM gets it (OCSF 1.x JSON line):"
"$WARD" flows --file "$LAB_DIR/flows.json" --verdict rate --json | tail -n 1 | cut -c 1-400
echo "   ..."

echo
if [ "$UNEXPECTED" -eq 0 ]; then
	echo "== every flow went the way policies/demo.json says"
else
	echo "== $UNEXPECTED flow(s) did not go the way policies/demo.json says" >&2
	exit 1
fi
