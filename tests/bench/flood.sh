#!/usr/bin/env bash
# Veth flood benchmark (make bench; docs/benchmarks.md explains the method).
#
#   flood.sh OUT_MD OUT_TSV ROUNDS FRAMES
#
# Per configuration, a fresh topology: namespace "gen" holds veth0, namespace
# "rx" holds its peer veth1 with the filter under test. bench_flood runs in
# "gen", pinned to one CPU, and turns BPF_PROG_TEST_RUN repeats into live XDP
# frames that it redirects into veth0 (BPF_F_TEST_XDP_LIVE_FRAMES), so veth1
# receives xdp_frames through its NAPI ring: no skb on the sending side.
# Every frame is a UDP datagram the shared allow-list denies. Received frames
# are counted on veth1 (ethtool -S: rx_queue_N_xdp_packets) and a run with
# fewer than 99 % of the sent frames received is rejected (and reported).
# Rounds are interleaved: every configuration once per round, in a shuffled
# order; ratios to the bare XDP_DROP of the same round, medians over rounds.
#
# Only documentation ranges (192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32)
# inside the namespaces, no default route: nothing can leave them. Every run
# is bounded (frames and seconds); the EXIT trap removes every namespace,
# link, pin and process this script made.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
OUT_MD=${1:?out.md}
OUT_TSV=${2:?out.tsv}
ROUNDS=${3:-5}
FRAMES=${4:-4000000}
GEN_CPU=${BENCH_GEN_CPU:-1}
WARD=$ROOT/build/ward
GEN=$ROOT/build/bench/bench_flood
ID=$$
NS_G=wbench-gen-$ID
NS_R=wbench-rx-$ID
PIN=/sys/fs/bpf/ward-bench-$ID
WORK=$(mktemp -d /tmp/ward-bench-flood.XXXXXX)
AGENT_PID=
RX_MAC=02:00:00:00:00:02
FLOOD_SRC=198.51.100.200 # inside the clients' /24, allowed by no rule
FLOOD_DST=192.0.2.1
FLOOD_DPORT=9
MAX_S=30 # seconds one flood may last at most

note() { echo "flood: $*" >&2; }

in_rx() { nsenter --net="/run/netns/$NS_R" -- "$@"; }
in_gen() { nsenter --net="/run/netns/$NS_G" -- "$@"; }

stop_agent() {
	if [ -n "$AGENT_PID" ]; then
		kill "$AGENT_PID" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$AGENT_PID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$AGENT_PID" 2>/dev/null || true
		wait "$AGENT_PID" 2>/dev/null || true
		if kill -0 "$AGENT_PID" 2>/dev/null; then
			note "agent $AGENT_PID did not exit"
		fi
		AGENT_PID=
	fi
	if [ -d "$PIN" ]; then
		if [ -e "/run/netns/$NS_R" ]; then
			in_rx "$WARD" detach --pin-path "$PIN" >/dev/null 2>&1 || true
		fi
		rm -rf "$PIN"
	fi
}

teardown() {
	stop_agent
	if [ -e "/run/netns/$NS_R" ]; then
		if [ -d /sys/fs/bpf/xdp-filter ] && in_rx ip link show veth1 >/dev/null 2>&1; then
			in_rx xdp-filter unload veth1 >/dev/null 2>&1 || true
		fi
		ip netns del "$NS_R" 2>/dev/null || true
	fi
	[ -e "/run/netns/$NS_G" ] && ip netns del "$NS_G" 2>/dev/null || true
	return 0
}

cleanup() {
	teardown
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the shared allow-list --------------------------------------------------
# 32 IPv4 client /30s and 32 IPv6 client /64s, each allowed TCP to one
# service port, every 4th also to the range 9000-9100. The flood
# (UDP 198.51.100.200 -> 192.0.2.1:9) matches none of it.
NRULES=32
gen_lists() {
	local i ports rules="" sep="" e4="" e6="" ipt=""
	for ((i = 0; i < NRULES; i++)); do
		ports="$((8000 + i))"
		[ $((i % 4)) -eq 0 ] && ports="$ports, \"9000-9100\""
		rules+="$sep{\"id\":\"c4-$i\",\"from\":[\"198.51.100.$((4 * i))/30\"],\"proto\":\"tcp\",\"ports\":[$ports]}"
		sep=","
		rules+="$sep{\"id\":\"c6-$i\",\"from\":[\"2001:db8:1:$i::/64\"],\"proto\":\"tcp\",\"ports\":[$ports]}"
		e4+="${e4:+, }198.51.100.$((4 * i))/30 . tcp . $((8000 + i))"
		e6+="${e6:+, }2001:db8:1:$i::/64 . tcp . $((8000 + i))"
		if [ $((i % 4)) -eq 0 ]; then
			e4+=", 198.51.100.$((4 * i))/30 . tcp . 9000-9100"
			e6+=", 2001:db8:1:$i::/64 . tcp . 9000-9100"
			ipt+="-A WBENCH -s 198.51.100.$((4 * i))/30 -p tcp -m multiport --dports $((8000 + i)),9000:9100 -j ACCEPT"$'\n'
		else
			ipt+="-A WBENCH -s 198.51.100.$((4 * i))/30 -p tcp --dport $((8000 + i)) -j ACCEPT"$'\n'
		fi
	done
	cat >"$WORK/policy.json" <<-EOF
	{"version":1,"name":"bench-flood","revision":1,
	 "defaults":{"ingress":"deny","egress":"allow"},
	 "ingress":[$rules]}
	EOF
	SETS="set allow4 { type ipv4_addr . inet_proto . inet_service; flags interval; elements = { $e4 } }
	set allow6 { type ipv6_addr . inet_proto . inet_service; flags interval; elements = { $e6 } }"
	cat >"$WORK/netdev.nft" <<-EOF
	table netdev wbench {
	$SETS
	chain in {
		type filter hook ingress device "veth1" priority 0; policy drop;
		meta protocol arp accept
		meta protocol ip ip saddr . meta l4proto . th dport @allow4 accept
		meta protocol ip6 icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept
		meta protocol ip6 ip6 saddr . meta l4proto . th dport @allow6 accept
	}
	}
	EOF
	cat >"$WORK/inet.nft" <<-EOF
	table inet wbench {
	$SETS
	chain input {
		type filter hook input priority 0; policy drop;
		ct state established,related accept
		iif "lo" accept
		meta l4proto icmpv6 icmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept
		ip saddr . meta l4proto . th dport @allow4 accept
		ip6 saddr . meta l4proto . th dport @allow6 accept
	}
	}
	EOF
	# Ward with the same limit: every source may send 1000 packets/s
	cat >"$WORK/policy-rl.json" <<-EOF
	{"version":1,"name":"bench-flood-rl","revision":1,
	 "defaults":{"ingress":"deny","egress":"allow"},
	 "rate_limits":{"flood":{"pps":10,"burst":5}},
	 "ingress":[{"id":"flood","from":["any"],"proto":"udp","ports":[$FLOOD_DPORT],"rate_limit":"flood"}]}
	EOF
	# the rate-limit peer: per-source meter, over 1000 pps dropped
	cat >"$WORK/meter.nft" <<-EOF
	table netdev wbench {
	chain in {
		type filter hook ingress device "veth1" priority 0; policy accept;
		meta protocol ip meter persrc size 65536 { ip saddr limit rate over 10/second } drop
	}
	}
	EOF
	printf '*raw\n:PREROUTING ACCEPT [0:0]\n:WBENCH - [0:0]\n%s-A PREROUTING -i veth1 -j WBENCH\n-A PREROUTING -i veth1 -j DROP\nCOMMIT\n' \
		"$ipt" >"$WORK/raw.rules"
	# xdp-filter: exact addresses only (the /30s' 4 addresses each, the /64s'
	# ::1) and destination ports (any source): the nearest it comes
	: >"$WORK/xdpf.cmds"
	for ((i = 0; i < NRULES; i++)); do
		for h in 0 1 2 3; do echo "ip 198.51.100.$((4 * i + h)) -m src" >>"$WORK/xdpf.cmds"; done
		echo "ip 2001:db8:1:$i::1 -m src" >>"$WORK/xdpf.cmds"
		echo "port $((8000 + i)) -p tcp -m dst" >>"$WORK/xdpf.cmds"
	done
}

# ---- topology ---------------------------------------------------------------
topology() {
	ip netns add "$NS_G"
	ip netns add "$NS_R"
	ip -n "$NS_G" link add veth0 type veth peer name veth1 netns "$NS_R"
	ip -n "$NS_R" link set veth1 address "$RX_MAC"
	ip -n "$NS_G" addr add 192.0.2.2/24 dev veth0
	ip -n "$NS_R" addr add "$FLOOD_DST/24" dev veth1
	ip -n "$NS_R" addr add 198.51.100.1/24 dev veth1
	ip -n "$NS_R" addr add 2001:db8:b::1/64 dev veth1 nodad
	in_rx sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.veth1.rp_filter=0
	ip -n "$NS_R" link set lo up
	ip -n "$NS_G" link set veth0 up
	ip -n "$NS_R" link set veth1 up
}

# Without an XDP program veth1 needs GRO on to have NAPI, which the
# redirected frames need (no NAPI: veth_xdp_xmit refuses them).
gro_on() { in_rx ethtool -K veth1 gro on >/dev/null; }

setup() {
	local cfg=$1
	case $cfg in
	xdp_drop)
		ip -n "$NS_R" link set dev veth1 xdpdrv obj "$ROOT/build/bench/xdp_drop.bpf.o" sec xdp
		;;
	ward | ward_rl_1 | ward_rl_10k)
		local pol=$WORK/policy.json
		[ "$cfg" = ward ] || pol=$WORK/policy-rl.json
		# nsenter execs ward: $! is the agent itself (a backgrounded shell
		# function would give a subshell's PID and leave ward orphaned)
		nsenter --net="/run/netns/$NS_R" -- "$WARD" run --policy "$pol" \
			--interface veth1 --pin-path "$PIN" --xdp-mode native --flows "$WARD_FLOWS" \
			</dev/null >>"$WORK/agent.log" 2>&1 &
		AGENT_PID=$!
		local ok=0
		for _ in $(seq 100); do
			if in_rx "$WARD" status --pin-path "$PIN" >/dev/null 2>&1; then ok=1; break; fi
			kill -0 "$AGENT_PID" 2>/dev/null || break
			sleep 0.1
		done
		if [ $ok != 1 ]; then
			note "ward did not start enforcing; agent log:"
			tail -n 20 "$WORK/agent.log" >&2
			return 1
		fi
		;;
	xdp_filter)
		in_rx xdp-filter load veth1 -p deny -m native
		while read -r line; do
			# shellcheck disable=SC2086 # one xdp-filter command per line
			in_rx xdp-filter $line
		done <"$WORK/xdpf.cmds"
		;;
	nft_netdev)
		gro_on
		in_rx nft -f "$WORK/netdev.nft"
		;;
	nft_inet)
		gro_on
		in_rx nft -f "$WORK/inet.nft"
		;;
	iptables_raw)
		gro_on
		in_rx iptables-nft-restore <"$WORK/raw.rules"
		;;
	iptables_legacy_raw)
		gro_on
		in_rx iptables-legacy-restore <"$WORK/raw.rules"
		;;
	stack)
		gro_on
		;;
	nft_meter_1 | nft_meter_10k)
		gro_on
		in_rx nft -f "$WORK/meter.nft"
		;;
	*)
		note "unknown configuration $cfg"
		return 1
		;;
	esac
}

# Sum of one per-queue veth counter on veth1.
rx_counter() {
	ip netns exec "$NS_R" ethtool -S veth1 |
		awk -v k="$1" '$1 ~ "^rx_queue_[0-9]+_"k":$" { s += $2 } END { print s + 0 }'
}

# flood CFG FRAMES SOURCES -> "sent ns received xdp_drops"
flood() {
	local frames=$2 sources=$3 r0 d0 r1 d1 out
	r0=$(rx_counter xdp_packets)
	d0=$(rx_counter xdp_drops)
	out=$(in_gen "$GEN" --obj "$ROOT/build/bench/xdp_gen.bpf.o" --ifname veth0 --cpu "$GEN_CPU" \
		--count "$frames" --src "$FLOOD_SRC" --dst "$FLOOD_DST" --dmac "$RX_MAC" \
		--dport "$FLOOD_DPORT" --sources "$sources" --max-s "$MAX_S")
	sleep 0.2 # let NAPI drain the last batch
	r1=$(rx_counter xdp_packets)
	d1=$(rx_counter xdp_drops)
	local sent ns wall
	sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' <<<"$out")
	ns=$(sed -n 's/.* ns=\([0-9]*\).*/\1/p' <<<"$out")
	wall=$(sed -n 's/.*wall_ns=\([0-9]*\).*/\1/p' <<<"$out")
	echo "$sent $ns $((r1 - r0)) $((d1 - d0)) $wall"
}

CONFIGS=(xdp_drop ward xdp_filter nft_netdev nft_inet iptables_raw stack)
command -v iptables-legacy-restore >/dev/null && CONFIGS+=(iptables_legacy_raw)
[ "${BENCH_METER:-1}" = 1 ] && CONFIGS+=(nft_meter_1 nft_meter_10k ward_rl_1 ward_rl_10k)
# Ward's flow records in the flood: "none" (the datapath then makes no events,
# like-for-like with the peers, which log nothing) unless BENCH_WARD_FLOWS says
WARD_FLOWS=${BENCH_WARD_FLOWS:-none}
# FLOOD_CONFIGS="xdp_drop ward_rl_1 ..." runs a subset (development)
[ -n "${FLOOD_CONFIGS:-}" ] && read -ra CONFIGS <<<"$FLOOD_CONFIGS"
declare -A LABEL=(
	[xdp_drop]="bare XDP_DROP (anchor)"
	[ward]="Ward (ward run, XDP native, conntrack on)"
	[xdp_filter]="xdp-filter -p deny (allow-list), native"
	[nft_netdev]="nftables netdev ingress, same allow-list (sets)"
	[nft_inet]="nftables inet input, ct state + same allow-list"
	[iptables_raw]="iptables raw PREROUTING (iptables-nft)"
	[iptables_legacy_raw]="iptables raw PREROUTING (iptables-legacy)"
	[stack]="no filter: the stack (UDP to a closed port)"
	[nft_meter_1]="nftables netdev meter, 1 source (rate-limit peer)"
	[nft_meter_10k]="nftables netdev meter, 10,000 sources (rate-limit peer)"
	[ward_rl_1]="Ward rate limit (10 pps per source), 1 source"
	[ward_rl_10k]="Ward rate limit (10 pps per source), 10,000 sources"
)

[ "$(id -u)" -eq 0 ] || { note "needs root"; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
gen_lists
: >"$WORK/runs.tsv"
note "$ROUNDS rounds x ${#CONFIGS[@]} configurations, $FRAMES frames each, generator on CPU $GEN_CPU"
for ((r = 1; r <= ROUNDS; r++)); do
	mapfile -t order < <(printf '%s\n' "${CONFIGS[@]}" | shuf)
	for c in "${order[@]}"; do
		sources=0
		case $c in *_10k) sources=10000 ;; esac
		topology
		if ! setup "$c"; then
			note "round $r: $c: setup failed (counted as a rejected run)"
			printf '%s\t%s\t0\t0\t0\t0\t0\t0\t0\n' "$r" "$c" >>"$WORK/runs.tsv"
			teardown
			continue
		fi
		flood "$c" 200000 "$sources" >/dev/null # warm the page pool and caches
		read -r sent ns rcvd xdrops wall < <(flood "$c" "$FRAMES" "$sources")
		teardown
		pct=$(awk -v a="$rcvd" -v b="$sent" 'BEGIN { printf "%.2f", b ? 100 * a / b : 0 }')
		mpps=$(awk -v a="$sent" -v t="$ns" 'BEGIN { printf "%.3f", t ? a * 1000 / t : 0 }')
		valid=1
		awk -v p="$pct" 'BEGIN { exit !(p < 99) }' && valid=0
		wmpps=$(awk -v a="$sent" -v t="$wall" 'BEGIN { printf "%.3f", t ? a * 1000 / t : 0 }')
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$c" "$sent" "$ns" "$rcvd" "$xdrops" "$mpps" "$valid" "$wmpps" >>"$WORK/runs.tsv"
		note "round $r: $c: $mpps Mpps ($wmpps by wall clock), received $pct % of $sent, XDP drops $xdrops$([ $valid = 1 ] || echo ', REJECTED (<99 %)')"
	done
done

# ---- report -----------------------------------------------------------------
# per round ratio to that round's XDP_DROP (valid runs only), medians
awk -F'\t' -v cfgs="${CONFIGS[*]}" '
	function median(arr, n,   i, j, t) {
		for (i = 2; i <= n; i++) for (j = i; j > 1 && arr[j-1] > arr[j]; j--) { t = arr[j]; arr[j] = arr[j-1]; arr[j-1] = t }
		return n % 2 ? arr[(n+1)/2] : (arr[n/2] + arr[n/2+1]) / 2
	}
	{ round[$1] = 1; if ($8 == 1) { rate[$2, $1] = $7; ok[$2, $1] = 1 } else rej[$2]++ ; all[$2]++ }
	END {
		n = split(cfgs, C, " ")
		for (i = 1; i <= n; i++) {
			c = C[i]; k = 0; m = 0
			delete R; delete Q
			for (r in round) {
				if (!((c, r) in ok)) continue
				R[++k] = rate[c, r]
				if ((("xdp_drop", r) in ok)) Q[++m] = rate[c, r] / rate["xdp_drop", r]
			}
			printf "%s\t%s\t%s\t%d\t%d\n", c, k ? median(R, k) : "", m ? median(Q, m) : "", rej[c] + 0, all[c] + 0
		}
	}' "$WORK/runs.tsv" >"$WORK/summary.tsv"

{
	echo "## Veth flood (frames generated as XDP frames)"
	echo
	echo "$ROUNDS rounds; per round every configuration once, in a shuffled order, on a topology"
	echo "built for it; $FRAMES frames per run after 200,000 warm-up frames; generator pinned to CPU"
	echo "$GEN_CPU (NAPI of the receiving veth runs on the same CPU, so the rate includes the"
	echo "generator). Flood: UDP $FLOOD_SRC -> $FLOOD_DST:$FLOOD_DPORT, denied by the shared allow-list"
	echo "($((2 * NRULES)) rules: $NRULES IPv4 /30s and $NRULES IPv6 /64s, TCP service ports and a range)."
	echo "Rate = frames sent / the generator's busy time as BPF_PROG_TEST_RUN times it (scheduled-out"
	echo "time left out: other work on this VM cannot inflate it); ratio = median of per-round ratios to"
	echo "that round's bare XDP_DROP. Runs with < 99 % of the frames received on veth1 are rejected."
	echo
	echo "| configuration | Mpps (median) | vs XDP_DROP | rejected runs |"
	echo "|---|---|---|---|"
	while IFS=$'\t' read -r c mpps ratio rej all; do
		printf '| %s | %s | %s | %s of %s |\n' "${LABEL[$c]}" "$( [ -n "$mpps" ] && printf '%.2f' "$mpps" || echo –)" \
			"$( [ -n "$ratio" ] && printf '%.2f' "$ratio" || echo –)" "$rej" "$all"
		printf 'flood\t%s\tmpps=%s\tvs_xdp_drop=%s\trejected=%s\truns=%s\n' "$c" "$mpps" "$ratio" "$rej" "$all" >>"$OUT_TSV"
	done <"$WORK/summary.tsv"
	echo
	echo "Ward against each peer, median of per-round rate ratios (> 1: Ward drops faster):"
	echo
	echo "| peer | Ward / peer |"
	echo "|---|---|"
	awk -F'\t' -v cfgs="${CONFIGS[*]}" '
		function median(arr, n,   i, j, t) {
			for (i = 2; i <= n; i++) for (j = i; j > 1 && arr[j-1] > arr[j]; j--) { t = arr[j]; arr[j] = arr[j-1]; arr[j-1] = t }
			return n % 2 ? arr[(n+1)/2] : (arr[n/2] + arr[n/2+1]) / 2
		}
		{ round[$1] = 1; if ($8 == 1) { rate[$2, $1] = $7; ok[$2, $1] = 1 } }
		END {
			n = split(cfgs, C, " ")
			for (i = 1; i <= n; i++) {
				c = C[i]; if (c ~ /^ward/ || c ~ /^nft_meter/) continue
				m = 0; delete Q
				for (r in round) if (((c, r) in ok) && (("ward", r) in ok)) Q[++m] = rate["ward", r] / rate[c, r]
				if (m) printf "%s\t%.2f\n", c, median(Q, m)
			}
		}' "$WORK/runs.tsv" | while IFS=$'\t' read -r c q; do
		printf '| %s | %s |\n' "${LABEL[$c]}" "$q"
		printf 'flood_ward_vs\t%s\tratio=%s\n' "$c" "$q" >>"$OUT_TSV"
	done
	echo
	echo "Rate-limited flood (design.md: Ward >= 2x an nftables netdev meter with the same limit),"
	echo "median of per-round ratios; every source sends far over its 10 packets/s:"
	echo
	echo "| sources | Ward / nftables meter |"
	echo "|---|---|"
	for n in 1 10k; do
		q=$(awk -F'\t' -v a="ward_rl_$n" -v b="nft_meter_$n" '
			function median(arr, n,   i, j, t) {
				for (i = 2; i <= n; i++) for (j = i; j > 1 && arr[j-1] > arr[j]; j--) { t = arr[j]; arr[j] = arr[j-1]; arr[j-1] = t }
				return n % 2 ? arr[(n+1)/2] : (arr[n/2] + arr[n/2+1]) / 2
			}
			$8 == 1 { rate[$2, $1] = $7; ok[$2, $1] = 1; round[$1] = 1 }
			END { m = 0; for (r in round) if (((a, r) in ok) && ((b, r) in ok)) Q[++m] = rate[a, r] / rate[b, r]
			      if (m) printf "%.2f", median(Q, m) }' "$WORK/runs.tsv")
		printf '| %s | %s |\n' "$n" "${q:-–}"
		printf 'flood_rl_vs_meter\t%s\tratio=%s\n' "$n" "$q" >>"$OUT_TSV"
	done
	echo
} >>"$OUT_MD"
cp "$WORK/runs.tsv" "$(dirname "$OUT_TSV")/flood_runs.tsv"
