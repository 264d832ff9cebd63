#!/usr/bin/env bash
# XDP attach modes: auto picks native where the driver has it (veth) and
# falls back to generic with a warning where it does not (lo); --xdp-mode
# forces one; ward status reports the mode. Own namespace, own pins,
# everything removed on exit.
set -uo pipefail
cd "$(dirname "$0")/../.."
W=${WARD:-build/ward}
ID=$$
NS=ward-xdpm-$ID
PIN=/sys/fs/bpf/ward-test-xdpm-$ID
LOG=$(mktemp)
POL=$(mktemp --suffix=.json)
n=0 pass=0 fail=0
AGENT=

cleanup() {
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	[ -d "$PIN" ] && nsenter --net="/run/netns/$NS" -- "$W" detach --pin-path "$PIN" >/dev/null 2>&1
	rm -rf "$PIN"
	ip netns del "$NS" 2>/dev/null
	rm -f "$LOG" "$POL"
}
trap cleanup EXIT
ok() { n=$((n + 1)); if "$@"; then pass=$((pass + 1)); echo "ok $n - $D"; else fail=$((fail + 1)); echo "not ok $n - $D"; fi; }

if [ "$(id -u)" -ne 0 ] || [ ! -x "$W" ]; then
	echo "not ok 1 - needs root and $W"
	echo "0 passed, 1 failed"
	exit 1
fi
echo '{"version":1,"name":"xdpmode","ingress":[{"id":"ssh","from":["192.0.2.0/28"],"proto":"tcp","ports":[22]}]}' >"$POL"
ip netns add "$NS"
ip -n "$NS" link add xa type veth peer name xb
ip -n "$NS" link set xa up
ip -n "$NS" link set xb up
ip -n "$NS" link set lo up

run_agent() { # ARGS...: start, wait until enforcing (10 s)
	: >"$LOG"
	nsenter --net="/run/netns/$NS" -- "$W" run --policy "$POL" --pin-path "$PIN" --flows none "$@" \
		</dev/null >"$LOG" 2>&1 &
	AGENT=$!
	for _ in $(seq 1 50); do
		nsenter --net="/run/netns/$NS" -- "$W" status --pin-path "$PIN" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}
stop_agent() {
	kill "$AGENT" 2>/dev/null
	wait "$AGENT" 2>/dev/null
	AGENT=
	nsenter --net="/run/netns/$NS" -- "$W" detach --pin-path "$PIN" >/dev/null 2>&1
}
mode_is() { # IFACE MODE: ward status --json says so
	nsenter --net="/run/netns/$NS" -- "$W" status --pin-path "$PIN" --json |
		/usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); sys.exit(0 if [i['xdp'] for i in j['interfaces'] if i['name']=='$1']==['$2'] else 1)"
}
kernel_mode_is() { # IFACE native|generic: what the kernel reports
	local want=xdp
	[ "$2" = generic ] && want=xdpgeneric
	ip -n "$NS" -d link show "$1" | grep -qw "$want"
}

D="auto on veth: enforcing"; ok run_agent --interface xa
D="auto on veth: native (status)"; ok mode_is xa native
D="auto on veth: native (kernel)"; ok kernel_mode_is xa native
D="auto on veth: no generic-mode warning"; ok bash -c "! grep -q 'generic mode' $LOG"
stop_agent
D="auto on lo (no native XDP): enforcing"; ok run_agent --interface lo
D="auto on lo: generic (status)"; ok mode_is lo generic
D="auto on lo: generic (kernel)"; ok kernel_mode_is lo generic
D="auto on lo: the agent warns about generic mode"; ok grep -q 'generic mode' "$LOG"
stop_agent
D="--xdp-mode generic on veth: enforcing"; ok run_agent --interface xa --xdp-mode generic
D="--xdp-mode generic on veth: generic (status)"; ok mode_is xa generic
D="--xdp-mode generic on veth: generic (kernel)"; ok kernel_mode_is xa generic
stop_agent
D="--xdp-mode native on lo: refused, exit 3"; ok bash -c "nsenter --net=/run/netns/$NS -- $W run --policy $POL --pin-path $PIN --interface lo --xdp-mode native >/dev/null 2>&1; test \$? -eq 3"
nsenter --net="/run/netns/$NS" -- "$W" detach --pin-path "$PIN" >/dev/null 2>&1
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
