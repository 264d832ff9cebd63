#!/usr/bin/env bash
# The demo's traffic (tests/netns/demo.sh) between the Vagrant lab's VMs, sent with the netns
# lab's own probes (tests/netns/lib.sh: a fresh token per probe, which must come back; every
# probe bounded in time). Run on each VM as root, by
#   vagrant provision --provision-with traffic     (node, clients, then the SOC box)
# or `sudo /ward/vagrant/provision/traffic.sh [node|allowed|denied|soc]` inside one.
#   node, allowed, denied: the flows that start there, each "delivered" or "blocked" as
#     policies/demo.json says; exit 1 if one is not;
#   soc: what the SOC box received (syslog lines, IPFIX flows).
#
# lib.sh's probes run in a role's network namespace (nsenter --net=/run/netns/NAME). In a VM
# the role is the whole machine, so for the duration of the run the namespace this script
# runs in (the VM's) gets that name with `ip netns attach`, removed on exit (`ip netns
# delete` only drops the name; the namespace stays). tests/cli/test_deploy.sh runs this
# script inside the netns lab's namespaces the same way (WARD_LAB_ID, WARD_PIN_PATH).
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=vagrant/provision/common.sh
. "$HERE/common.sh"
set +e

role=${1:-$(role_of_host)} || exit 2
UNEXPECTED=0

# flow DESCRIPTION EXPECTED(delivered|blocked) PROBE ARGS...: as tests/netns/demo.sh prints it
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

# The demo's flows that start at ROLE (tests/netns/demo.sh, "traffic").
demo_flows() {
	local fam v na nd a d
	for fam in 4 6; do
		if [ "$fam" = 4 ]; then
			v=IPv4 na=$NODE_ALLOWED_V4 nd=$NODE_DENIED_V4 a=$ALLOWED_V4 d=$DENIED_V4
		else
			v=IPv6 na=$NODE_ALLOWED_V6 nd=$NODE_DENIED_V6 a=$ALLOWED_V6 d=$DENIED_V6
		fi
		case "$1" in
		allowed)
			flow "allowed client -> node tcp/8000 ($v)" delivered probe_tcp allowed "$na" 8000
			flow "allowed client -> node udp/5353 ($v)" delivered probe_udp allowed "$na" 5353
			flow "allowed client -> node ping ($v)" delivered probe_ping allowed "$na"
			;;
		denied)
			flow "denied client  -> node tcp/8000 ($v)" blocked probe_tcp denied "$nd" 8000
			flow "denied client  -> node udp/5353 ($v)" blocked probe_udp denied "$nd" 5353
			flow "denied client  -> node ping ($v)" blocked probe_ping denied "$nd"
			;;
		node)
			flow "node -> allowed client tcp/7000 ($v)" delivered probe_tcp node "$a" 7000
			flow "node -> denied client  tcp/7000 ($v)" blocked probe_tcp node "$d" 7000
			;;
		esac
	done
}

soc_report() {
	local dir=/var/lib/ward-soc n
	n=$(wc -l <"$dir/syslog_tcp.log" 2>/dev/null || echo 0)
	say "syslog over TCP (rsyslog, $dir/syslog_tcp.log): $n records; the last 3:"
	tail -n 3 "$dir/syslog_tcp.log" 2>/dev/null | cut -c 1-200
	say "IPFIX (nfcapd, $dir/ipfix/; a file is readable once nfcapd rotates it, every 60 s):"
	if ls "$dir"/ipfix/nfcapd.[0-9]* >/dev/null 2>&1; then
		nfdump -R "$dir/ipfix" -o line -c 20 2>&1 | tail -n 25
	else
		echo "  no complete nfcapd file yet: run this again in a minute"
	fi
}

case "$role" in
soc)
	soc_report
	exit 0
	;;
node | allowed | denied) ;;
*) echo "usage: traffic.sh [node|allowed|denied|soc]" >&2; exit 2 ;;
esac

LAB_DIR=/var/log/ward-lab
mkdir -p "$LAB_DIR"
NS=$(lab_ns "$role")
[ -e "/run/netns/$NS" ] && ip netns delete "$NS"
ip netns attach "$NS" $$ || exit 1
trap 'ip netns delete "$NS" 2>/dev/null' EXIT

say "$(hostname -s): the demo's flows from $role (probes logged in $LAB_DIR/probes.log)"
demo_flows "$role"
if [ "$role" = node ]; then
	W=${WARD_BIN:-ward}
	PIN=${WARD_PIN_PATH:-/sys/fs/bpf/ward}
	say "ward status"
	"$W" status --pin-path "$PIN"
	say "ward stats"
	"$W" stats --pin-path "$PIN"
	say "flow records (ward flows), the last 10"
	"$W" flows --file "${WARD_FLOWS_FILE:-/var/log/ward/flows.json}" | tail -n 10 | cut -c 1-150
fi
if [ "$UNEXPECTED" -ne 0 ]; then
	echo "== $UNEXPECTED flow(s) did not go the way policies/demo.json says" >&2
	exit 1
fi
say "every flow from $role went the way policies/demo.json says"
