#!/usr/bin/env bash
# A denied flood from 10,000 sources (frames generated as XDP frames into a
# veth, as in the bench) against the real agent: the flow records must be
# bounded in number and their counts must add up exactly to the packets
# the datapath dropped, with nothing lost. Then the same with a rate limit:
# rate-limit records add up to the rate-limited counter. IPv4 (the
# generator varies IPv4 sources). Own namespaces and pins, removed on EXIT.
# Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
W=${WARD:-$BUILD/ward}
GEN=$BUILD/bench/bench_flood
GEN_OBJ=$BUILD/bench/xdp_gen.bpf.o
ID=$$
NS_G=ward-fr-gen-$ID
NS_R=ward-fr-rx-$ID
PIN=/sys/fs/bpf/ward-test-fr-$ID
TMP=$(mktemp -d /tmp/ward-floodrec.XXXXXX)
RX_MAC=02:00:00:00:00:02
FRAMES=${FLOOD_FRAMES:-1000000}
SOURCES=10000
AGENT=
# shellcheck source=tests/lib/checks.sh
. tests/lib/checks.sh

cleanup() {
	stop_agent
	ip netns del "$NS_G" 2>/dev/null
	ip netns del "$NS_R" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
in_rx() { nsenter --net="/run/netns/$NS_R" -- "$@"; }
kill_agent() {
	if [ -n "$AGENT" ]; then
		kill "$AGENT" 2>/dev/null
		wait "$AGENT" 2>/dev/null
		AGENT=
	fi
}
stop_agent() {
	kill_agent
	[ -d "$PIN" ] && in_rx "$W" detach --pin-path "$PIN" >/dev/null 2>&1
	rm -rf "$PIN"
}

[ "$(id -u)" = 0 ] || { echo "not ok 1 - needs root"; echo "0 passed, 1 failed"; exit 1; }
for f in "$W" "$GEN" "$GEN_OBJ"; do
	[ -x "$f" ] || [ -f "$f" ] || { echo "not ok 1 - $f missing (make test builds it)"; echo "0 passed, 1 failed"; exit 1; }
done
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ip netns add "$NS_G"
ip netns add "$NS_R"
# IPv4 only: no router solicitation or MLD report may add a drop the
# flood did not cause
for ns in "$NS_G" "$NS_R"; do
	nsenter --net="/run/netns/$ns" -- sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
done
ip -n "$NS_G" link add veth0 type veth peer name veth1 netns "$NS_R"
ip -n "$NS_R" link set veth1 address "$RX_MAC"
ip -n "$NS_G" addr add 192.0.2.2/24 dev veth0
ip -n "$NS_R" addr add 192.0.2.1/24 dev veth1
ip -n "$NS_G" link set veth0 up
ip -n "$NS_R" link set veth1 up

# run_flood POLICY_JSON TAG [IDLE_S]: agent up, flood, IDLE_S seconds (3:
# every key idle for 2 intervals, so the agent's tick sends the remainders;
# 0: the agent must send them when it stops), agent stops;
# leaves $TMP/TAG.json (records) and $TMP/TAG.stats (ward stats --json)
run_flood() {
	local tag=$2 idle=${3:-3}
	printf '%s\n' "$1" >"$TMP/$tag-policy.json"
	# nsenter execs ward: $! is the agent itself (a backgrounded shell
	# function would give a subshell's PID and leave the agent running)
	nsenter --net="/run/netns/$NS_R" -- "$W" run --policy "$TMP/$tag-policy.json" --interface veth1 \
		--pin-path "$PIN" --xdp-mode native --control-socket none --flows "file:$TMP/$tag.json" \
		</dev/null >"$TMP/$tag.log" 2>&1 &
	AGENT=$!
	until_ok 10 in_rx "$W" status --pin-path "$PIN" >/dev/null 2>&1 || return 1
	nsenter --net="/run/netns/$NS_G" -- timeout 60 "$GEN" --obj "$GEN_OBJ" --ifname veth0 \
		--cpu 1 --count "$FRAMES" --src 198.51.100.1 --dst 192.0.2.1 --dmac "$RX_MAC" \
		--dport 9 --sources "$SOURCES" --max-s 30 >"$TMP/$tag.gen" 2>&1
	sleep "$idle"
	# the agent sends what is left when it stops; the pinned counters are
	# read after that, so records and counters cover the same packets
	kill_agent
	in_rx "$W" stats --pin-path "$PIN" --json >"$TMP/$tag.stats"
	in_rx "$W" status --pin-path "$PIN" --json >"$TMP/$tag.status"
	stop_agent
}
sum_py() { # TAG PYTHON-EXPR over records R, stats S, status T
	python3 - "$TMP/$1.json" "$TMP/$1.stats" "$TMP/$1.status" <<-EOF
	import json, sys
	R = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
	S = json.load(open(sys.argv[2]))
	T = json.load(open(sys.argv[3]))
	print($2)
	EOF
}

# ---- denied flood --------------------------------------------------------------
run_flood '{ "version": 1, "name": "flood", "revision": 1,
  "defaults": { "ingress": "deny", "egress": "allow", "log": "denied" },
  "ingress": [ { "id": "ssh", "from": ["203.0.113.0/24"], "proto": "tcp", "ports": [22] } ] }' deny
DROPS=$(sum_py deny 'S["verdicts"]["ingress"]["drop_default"]["packets"]')
COUNTS=$(sum_py deny 'sum(r.get("count", 0) for r in R if r.get("metadata", {}).get("event_code") == "refuse")')
NREC=$(sum_py deny 'sum(1 for r in R if r.get("metadata", {}).get("event_code") == "refuse")')
LOST=$(sum_py deny 'sum(r.get("count", 0) for r in R if r.get("activity_id") == 99)')
UNAGG=$(sum_py deny 'T["events_lost"]["unaggregated_packets"] + T["events_lost"]["events"]')
echo "# denied flood: $(tail -n 1 "$TMP/deny.gen")"
echo "# drops $DROPS, refuse records $NREC with counts summing to $COUNTS, records lost $LOST, datapath losses $UNAGG"
check "the flood was dropped ($FRAMES frames)" test "$DROPS" -ge "$FRAMES"
check "refuse counts add up exactly to the packets dropped" test "$COUNTS" = "$DROPS"
check "no record and no event lost" test "$LOST" = 0 -a "$UNAGG" = 0
# bounded: each of the 10,000 keys at most once per (1 s) interval of the
# flood, plus its first packet and its remainder
bound() { # TAG: keys x (intervals the flood lasted + 2)
	local ns
	ns=$(sed -n 's/.*wall_ns=\([0-9]*\).*/\1/p' "$TMP/$1.gen")
	echo $((SOURCES * (${ns:-0} / 1000000000 + 1 + 2)))
}
check "records bounded by keys x (intervals + 2) ($(bound deny)), not by packets" \
	test "$NREC" -le "$(bound deny)" -a "$NREC" -ge "$SOURCES"
check "one record per key at least: every source is named" test "$(sum_py deny 'len({r["src_endpoint"]["ip"] for r in R if r.get("metadata", {}).get("event_code") == "refuse" and r["src_endpoint"]["ip"].startswith("198.51")})')" -ge "$SOURCES"
check "the records are valid OCSF" "$ROOT/tests/lib/ocsf-check" "$TMP/deny.json"

# ---- rate-limited flood -----------------------------------------------------------
run_flood '{ "version": 1, "name": "flood-rl", "revision": 1,
  "defaults": { "ingress": "deny", "egress": "allow" },
  "rate_limits": { "per-source": { "pps": 10, "burst": 5 } },
  "ingress": [ { "id": "udp9", "from": ["any"], "proto": "udp", "ports": [9], "rate_limit": "per-source" } ] }' rate 0
LIMITED=$(sum_py rate '[x for x in S["rules"] if x["id"] == "udp9"][0]["rate_limited"]["packets"]')
VLIM=$(sum_py rate 'S["verdicts"]["ingress"]["drop_rate"]["packets"]')
RCOUNTS=$(sum_py rate 'sum(r.get("count", 0) for r in R if r.get("metadata", {}).get("event_code") == "rate_limit")')
RNREC=$(sum_py rate 'sum(1 for r in R if r.get("metadata", {}).get("event_code") == "rate_limit")')
RLOST=$(sum_py rate 'sum(r.get("count", 0) for r in R if r.get("activity_id") == 99) + T["events_lost"]["unaggregated_packets"] + T["events_lost"]["events"]')
echo "# rate-limited flood: $(tail -n 1 "$TMP/rate.gen")"
echo "# rate-limited $LIMITED (drop_rate $VLIM), rate_limit records $RNREC with counts summing to $RCOUNTS, lost $RLOST"
# each source may pass its burst (5) and 10 packets per second of the flood
RNS=$(sed -n 's/.*wall_ns=\([0-9]*\).*/\1/p' "$TMP/rate.gen")
MAXPASS=$((SOURCES * (5 + 10 * (${RNS:-0} / 1000000000 + 1))))
check "the flood beyond each source's limit was rate-limited (>= $FRAMES - $MAXPASS)" \
	test "$LIMITED" -ge $((FRAMES - MAXPASS)) -a "$LIMITED" -gt 0
check "rule counter and verdict counter agree" test "$LIMITED" = "$VLIM"
check "rate_limit counts add up exactly to the packets rate-limited (agent stopped right after the flood: it sends the remainders as it stops)" test "$RCOUNTS" = "$LIMITED"
check "no record and no event lost" test "$RLOST" = 0
check "rate_limit records bounded by clients x (intervals + 2) ($(bound rate))" test "$RNREC" -le "$(bound rate)"

[ "$F" = 0 ] || tail -n 20 "$TMP"/*.log | sed 's/^/# /' >&2
echo "$P passed, $F failed"
[ "$F" = 0 ]
