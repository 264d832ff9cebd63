#!/usr/bin/env bash
# Interfaces by glob, followed as links come and go (ward run --interface
# 'hp*'): a link that appears, is renamed, moves into the namespace or goes
# away is attached or detached, and traffic shows it. Own namespaces, own
# pins; everything removed on EXIT. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
W=${WARD:-build/ward}
ID=$$
NODE=ward-hp-node-$ID
CLI=ward-hp-cli-$ID
PIN=/sys/fs/bpf/ward-test-hp-$ID
TMP=$(mktemp -d /tmp/ward-hotplug.XXXXXX)
AGENT=
# shellcheck source=tests/lib/checks.sh
. tests/lib/checks.sh

cleanup() {
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	[ -d "$PIN" ] && nsenter --net="/run/netns/$NODE" -- "$W" detach --pin-path "$PIN" >/dev/null 2>&1
	rm -rf "$PIN"
	ip netns del "$NODE" 2>/dev/null
	ip netns del "$CLI" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
in_node() { nsenter --net="/run/netns/$NODE" -- "$@"; }
in_cli() { nsenter --net="/run/netns/$CLI" -- "$@"; }
xdp_on() { in_node ip -d link show "$1" 2>/dev/null | grep -q "prog/xdp"; }
pinned() { [ -e "$PIN/link_xdp_$1" ]; }
listed() { in_node "$W" status --pin-path "$PIN" --json 2>/dev/null | python3 -c "
import json, sys
sys.exit(0 if any(i['name'] == '$1' for i in json.load(sys.stdin)['interfaces']) else 1)"; }
ping_from() { in_cli timeout 5 ping -n -q -c 1 -W 1 -I "$1" 198.51.100.1 >/dev/null 2>&1; }
logged() { grep -q "$1" "$TMP/agent.log"; }

# a veth NAME in the node, its peer in the client namespace, addressed
veth() {
	ip -n "$NODE" link add "$1" type veth peer name c-"$1" netns "$CLI"
	ip -n "$NODE" addr add 198.51.100.1/24 dev "$1"
	ip -n "$CLI" addr add 198.51.100.2/24 dev c-"$1"
	ip -n "$CLI" addr add 198.51.100.3/24 dev c-"$1"
	ip -n "$NODE" link set "$1" up
	ip -n "$CLI" link set c-"$1" up
}
unveth() {
	ip -n "$CLI" link del c-"$1" 2>/dev/null
}

[ "$(id -u)" = 0 ] || { echo "not ok 1 - needs root"; echo "0 passed, 1 failed"; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ip netns add "$NODE" && ip netns add "$CLI" || { echo "0 passed, 1 failed"; exit 1; }
ip -n "$NODE" link set lo up
ip -n "$CLI" link set lo up
cat >"$TMP/policy.json" <<'EOF'
{ "version": 1, "name": "hotplug", "revision": 1,
  "defaults": { "ingress": "deny", "egress": "allow" },
  "ingress": [ { "id": "ping", "from": ["198.51.100.2/32"], "proto": "icmp", "icmp_types": ["echo-request"] } ] }
EOF
# only the capabilities the unit grants (deploy/ward.service)
# (nsenter and setpriv exec: $! is the agent itself)
nsenter --net="/run/netns/$NODE" -- setpriv --bounding-set=-all,+bpf,+net_admin,+perfmon \
	"$W" run --policy "$TMP/policy.json" --interface 'hp*' --pin-path "$PIN" --flows none \
	</dev/null >"$TMP/agent.log" 2>&1 &
AGENT=$!
check "agent starts with a glob that matches nothing yet" until_ok 10 logged "enforcing on each as it appears"
# CAP_NET_ADMIN (12), CAP_PERFMON (38), CAP_BPF (39) and nothing else
check "the agent runs with CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON only" \
	grep -q "^CapEff:[[:space:]]*000000c000001000$" "/proc/$AGENT/status"

veth hp0
check "a new link matching the glob is attached (XDP)" until_ok 5 xdp_on hp0
check "its XDP link is pinned" pinned hp0
check "ward status lists it" until_ok 3 listed hp0
check "the agent logs it" logged "hp0: enforcing"
check "policy on the new link: allowed source pings" until_ok 3 ping_from 198.51.100.2
check "policy on the new link: other source is dropped" not ping_from 198.51.100.3

veth other0
sleep 1
check "a link outside the glob is left alone" not xdp_on other0
unveth other0 # one path from the client to the node again

ip -n "$NODE" link set hp0 down
ip -n "$NODE" link set hp0 name xx0
ip -n "$NODE" link set xx0 up
check "renamed out of the glob: detached" until_ok 5 not xdp_on xx0
check "renamed out: pin removed" not pinned hp0
check "renamed out: no longer listed" until_ok 3 not listed hp0
check "renamed out: traffic no longer filtered" until_ok 3 ping_from 198.51.100.3
check "the agent logs the rename" logged "hp0: renamed"

ip -n "$NODE" link set xx0 down
ip -n "$NODE" link set xx0 name hp1
ip -n "$NODE" link set hp1 up
check "renamed into the glob: attached again" until_ok 5 xdp_on hp1
check "renamed in: enforced" until_ok 3 not ping_from 198.51.100.3

ip -n "$NODE" link del hp1
check "link removed: pin removed" until_ok 5 not pinned hp1
check "link removed: no longer listed" until_ok 3 not listed hp1
check "the agent logs the removal" until_ok 3 logged "hp1: link removed"

# a link made elsewhere and moved into the namespace
ip -n "$CLI" link add hp5 type veth peer name c-hp5
ip -n "$CLI" link set hp5 netns "$NODE"
check "a link moved into the namespace is attached" until_ok 5 xdp_on hp5
check "the agent is still running" kill -0 "$AGENT"

[ "$F" = 0 ] || tail -n 30 "$TMP/agent.log" | sed 's/^/# /' >&2
echo "$P passed, $F failed"
[ "$F" = 0 ]
