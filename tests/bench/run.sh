#!/usr/bin/env bash
# make bench: every benchmark, the peers measured in the same run.
#   build/bench/results.md    tables (the machine, the method in short)
#   build/bench/results.tsv   the same figures, machine-readable
#   build/bench/*.png         plots (gnuplot)
# docs/benchmarks.md explains the method and the numbers.
#
#   BENCH_QUICK=1        a few minutes: fewer rounds, up to 10,000 rules
#   BENCH_ROUNDS=N       per-packet rounds (default 15)
#   BENCH_FLOOD_ROUNDS=N veth flood rounds (default 5)
#   BENCH_MAX_RULES=N    largest policy (default 100000)
#   BENCH_ONLY="control packet flood records"   a subset of the sections
#                        ("suggest" adds ward suggest/replay on 10M records)
#   BENCH_APPEND=1       append to build/bench/results.* instead of starting over
#   BENCH_UPDATE_DOCS=1  also copy the plots to docs/img/ and the tables
#                        into docs/benchmarks.md (between its markers)
set -euo pipefail
cd "$(dirname "$0")/../.."

[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (BPF_PROG_TEST_RUN, namespaces, XDP)"; exit 1; }

# What the benchmarks need beyond `make deps`: the peers (xdp-tools,
# nftables, iptables), ethtool for the veth counters, gnuplot for the plots.
./tests/lib/deps.sh xdp-tools nftables iptables ethtool iproute2 procps gnuplot-nox util-linux
make -s bench-build

rounds=${BENCH_ROUNDS:-15}
frounds=${BENCH_FLOOD_ROUNDS:-5}
frames=${BENCH_FLOOD_FRAMES:-4000000}
max=${BENCH_MAX_RULES:-100000}
ctn=${BENCH_CT_ENTRIES:-1048576}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	rounds=${BENCH_ROUNDS:-5}
	frounds=${BENCH_FLOOD_ROUNDS:-3}
	frames=${BENCH_FLOOD_FRAMES:-1000000}
	max=${BENCH_MAX_RULES:-10000}
fi
only=${BENCH_ONLY:-"control packet flood records"}
OUT=build/bench
md=$OUT/results.md
tsv=$OUT/results.tsv
mkdir -p "$OUT"
# BENCH_APPEND=1: add the sections run now to the results already there
# (a run that stopped half way is completed without redoing the rest)
[ "${BENCH_APPEND:-0}" = 1 ] || : >"$tsv"
want() { [[ " $only " == *" $1 "* ]]; }

AGENT_NS=
AGENT_PID=
AGENT_PIN=
cleanup() {
	if [ -n "$AGENT_PID" ]; then
		kill "$AGENT_PID" 2>/dev/null || true
		wait "$AGENT_PID" 2>/dev/null || true
	fi
	if [ -n "$AGENT_PIN" ] && [ -d "$AGENT_PIN" ]; then
		[ -n "$AGENT_NS" ] && [ -e "/run/netns/$AGENT_NS" ] &&
			nsenter --net="/run/netns/$AGENT_NS" -- build/ward detach --pin-path "$AGENT_PIN" >/dev/null 2>&1
		rm -rf "$AGENT_PIN"
	fi
	[ -n "$AGENT_NS" ] && ip netns del "$AGENT_NS" 2>/dev/null
	rm -f "$OUT"/policy-*.json
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The real agent with an N-rule policy on a veth of its own namespace (no
# traffic, no addresses): seconds until `ward status` says enforcing, and the
# agent's peak and current RSS once it is.
agent_rss() {
	local n=$1 t0 t1 ok=0 hwm rss
	AGENT_NS=wbench-agent-$$
	AGENT_PIN=/sys/fs/bpf/ward-bench-agent-$$
	./build/bench/bench_policy policy "$n" >"$OUT/policy-$n.json"
	ip netns add "$AGENT_NS"
	ip -n "$AGENT_NS" link add wb0 type veth peer name wb1
	ip -n "$AGENT_NS" link set wb0 up
	ip -n "$AGENT_NS" link set wb1 up
	t0=$(date +%s.%N)
	nsenter --net="/run/netns/$AGENT_NS" -- build/ward run --policy "$OUT/policy-$n.json" \
		--interface wb0 --pin-path "$AGENT_PIN" --max-rules "$n" </dev/null >"$OUT/agent-$n.log" 2>&1 &
	AGENT_PID=$!
	for _ in $(seq 600); do
		if nsenter --net="/run/netns/$AGENT_NS" -- build/ward status --pin-path "$AGENT_PIN" >/dev/null 2>&1; then
			ok=1
			break
		fi
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	t1=$(date +%s.%N)
	sleep 1 # settle: whatever the agent does after publishing
	hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$AGENT_PID/status" 2>/dev/null || echo 0)
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$AGENT_PID/status" 2>/dev/null || echo 0)
	cleanup
	AGENT_PID=""
	AGENT_PIN=""
	AGENT_NS=""
	if [ $ok != 1 ]; then
		echo "| $n | failed to enforce (see $OUT/agent-$n.log) | | |"
		printf 'agent\t%s\tfailed=1\n' "$n" >>"$tsv"
		return 0
	fi
	awk -v n="$n" -v a="$t0" -v b="$t1" -v h="$hwm" -v r="$rss" \
		'BEGIN { printf "| %d | %.2f | %.1f | %.1f |\n", n, b - a, h / 1024, r / 1024 }'
	awk -v n="$n" -v a="$t0" -v b="$t1" -v h="$hwm" -v r="$rss" \
		'BEGIN { printf "agent\t%d\tstart_s=%.3f\thwm_mib=%.1f\trss_mib=%.1f\n", n, b - a, h / 1024, r / 1024 }' >>"$tsv"
}

sizes=()
for n in 1000 10000 100000; do [ "$n" -le "$max" ] && sizes+=("$n"); done

[ "${BENCH_APPEND:-0}" = 1 ] || {
	echo "# Ward benchmark results"
	echo
	echo "$(date -u +%Y-%m-%dT%H:%MZ) · kernel $(uname -r) · $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)) · $(free -g | awk '/^Mem/ { print $2 }') GiB"
	echo "· $(dpkg-query -W -f='xdp-tools ${Version}' xdp-tools) · $(nft --version) · $(iptables --version)"
	echo "· Ward tree $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- bpf include agent 2>/dev/null || echo ' (with uncommitted changes in bpf/, include/ or agent/)')"
	echo
	echo "Command: \`$( [ "${BENCH_QUICK:-0}" = 1 ] && echo 'BENCH_QUICK=1 ')make bench\` (per-packet rounds $rounds, flood rounds $frounds x $frames frames, up to $max rules)."
	echo
} >"$md"

if want control; then
	./build/bench/bench_policy control "$max" "$tsv" | tee -a "$md"
	{
		echo
		echo "Peak RSS: of a process that parses, compiles, loads and publishes the policy (the"
		echo "agent's code path, in-process). The real agent, \`ward run\` on one interface:"
		echo
		echo "| rules | s to enforcing (start, compile, load, publish) | agent peak RSS MiB | agent RSS MiB after |"
		echo "|---|---|---|---|"
		for n in "${sizes[@]}"; do agent_rss "$n"; done
		echo
	} | tee -a "$md"
	if grep -q 'ward_ct' include/ward/abi.h; then
		./build/bench/bench_policy conntrack "$ctn" "$tsv" | tee -a "$md"
	else
		echo "No ward_ct map in this datapath: conntrack memory not measured." | tee -a "$md"
	fi
fi
if want packet; then
	./build/bench/bench_policy packet "$rounds" "$max" "$tsv" | tee -a "$md"
fi
# ward suggest / replay on 10M records: opt-in (BENCH_ONLY=suggest), the
# generator alone takes minutes; BENCH_SUGGEST_RECORDS sizes it
if want suggest; then
	{
		echo "## ward suggest and ward replay on a day of records"
		echo
		echo '```'
		./tests/bench/suggest_bench.sh "${BENCH_SUGGEST_RECORDS:-10000000}" 2>&1
		echo '```'
		echo
	} >>"$md"
fi
if want records; then
	make -s build/tests/rec_tool
	./tests/bench/records.sh "$md" "$tsv" "$([ "${BENCH_QUICK:-0}" = 1 ] && echo 300000 || echo 1000000)"
fi
if want flood; then
	./tests/bench/flood.sh "$md" "$tsv" "$frounds" "$frames"
	sed -n '/^## Veth flood/,$p' "$md"
fi

# ---- design.md section 3, target by target ------------------------------------
# Every value from results.tsv of this run, at the largest policy measured.
targets() {
	awk -F'\t' -v max="$max" '
		function kv(line, key,   i, a, f) {
			n = split(line, f, "\t")
			for (i = 1; i <= n; i++) if (index(f[i], key "=") == 1) return substr(f[i], length(key) + 2)
			return ""
		}
		$1 == "packet" { P[$2, $3, $4] = $0 }
		$1 == "flood" { F[$2] = $0 }
		$1 == "flood_ward_vs" { W[$2] = kv($0, "ratio") }
		$1 == "control" { C[$2] = $0 }
		$1 == "agent" { A[$2] = $0 }
		$1 == "conntrack" { CT = $0 }
		$1 == "flood_rl_vs_meter" { RL[$2] = kv($0, "ratio") }
		$1 == "records" { R[$2] = $0 }
		function verdict(v, lim, le) { if (v == "") return "not measured"; return (le ? v + 0 <= lim : v + 0 >= lim) ? "**met**" : "**not met**" }
		function pk(f, k, key) { return kv(P[max, f, k], key) }
		function row(t, v, lim, le, how) { printf "| %s | %s | %s | %s |\n", t, v == "" ? "–" : sprintf("%.2f", v), verdict(v, lim, le), how }
		function worst(k, key,   a, b) { a = pk("v4", k, key); b = pk("v6", k, key); if (a == "") return b; if (b == "") return a; return (a + 0 > b + 0) ? a : b }
		function least(k, key,   a, b) { a = pk("v4", k, key); b = pk("v6", k, key); if (a == "") return b; if (b == "") return a; return (a + 0 < b + 0) ? a : b }
		END {
			printf "## Targets of design.md section 3 (this run, at %d rules; worse of IPv4/IPv6)\n\n", max
			print "| target | measured | verdict | how |"
			print "|---|---|---|---|"
			row("established flow <= xdp-filter (x xdp-filter)", worst("established", "vs_xdpf"), 1.0, 1, "hot, conntrack hit vs xdp-filter allow-list allowed")
			row("new allowed flow, rate limit <= 1.5x xdp-filter: policy decision", worst("decide_rl", "vs_xdpf"), 1.5, 1, "hot, conntrack off (decision only)")
			row("new allowed flow, rate limit <= 1.5x xdp-filter: whole new-flow path", worst("new_rl", "vs_xdpf"), 1.5, 1, "cold, conntrack miss + insert, vs xdp-filter cold")
			row("denied packet <= xdp-filter (default deny)", worst("deny_def", "vs_xdpf"), 1.0, 1, "hot, vs xdp-filter allow-list denied")
			row("denied packet <= xdp-filter (deny rule)", worst("deny_rule", "vs_xdpf"), 1.0, 1, "hot")
			row("flat: decision at max rules <= 1.1x 10 rules", worst("decide_allow", "vs_10"), 1.1, 1, "hot, allowed, conntrack off")
			row("flat: established at max rules <= 1.1x 10 rules", worst("established", "vs_10"), 1.1, 1, "hot")
			row("flat: new allowed flow at max rules <= 1.1x 10 rules", worst("new_allow", "vs_10"), 1.1, 1, "cold")
			row("denied flood >= 0.70x bare XDP_DROP", kv(F["ward"], "vs_xdp_drop"), 0.70, 0, "veth flood, ratio of rates")
			row("denied flood >= 2.3x nftables netdev ingress", W["nft_netdev"], 2.3, 0, "veth flood, median of per-round Ward/nft")
			row("rate-limited flood from 10,000 sources >= 2x nftables netdev meter", RL["10k"], 2.0, 0, "veth flood, median of per-round Ward/meter, same limit (10 pps per source)")
			row("rate-limited flood from 1 source >= 2x nftables netdev meter (not a design target)", RL["1"], 2.0, 0, "as above, one source")
			row("100k rules compiled and applied < 1 s", kv(C[100000], "total_s"), 1.0, 1, "parse + compile + publish, in-process")
			row("agent RSS < 64 MiB at 100k rules", kv(A[100000], "hwm_mib"), 64, 1, "ward run, VmHWM")
			printf "| BPF map memory per 100k rules reported | %s KiB | **met** | policy lookup tables of the live slot, memlock |\n", kv(C[100000], "map_kib")
			printf "| conntrack memory per 1M entries reported | %s MiB | %s | ward_ct, memlock |\n", kv(CT, "memlock_mib"), CT == "" ? "not measured" : "**met**"
			rec = kv(R["file-ocsf"], "rate")
			row("flow records >= 100,000/s written (OCSF JSON lines, file, one core), x 100,000/s", rec == "" ? "" : rec / 100000, 1.0, 0, "unpaced run, records written per second")
			printf "| no record lost below that rate; every loss above it counted | %s lost at 100,000/s; overload: %s written + %s lost | %s | paced runs |\n", kv(R["paced-100k"], "lost"), kv(R["paced-400k"], "written"), kv(R["paced-400k"], "lost"), (kv(R["paced-100k"], "lost") == "0" && kv(R["paced-400k"], "written") + kv(R["paced-400k"], "lost") > 0) ? "**met**" : "**not met**"
			print "| zero misclassified packets during swaps under load | – | not measured here | covered by the BPF and netns tests (atomic swap test) |"
			print ""
		}' "$tsv"
}
[ "$max" -ge 100000 ] || echo "(quick run: targets are judged at $max rules; the design's targets are at 100,000)" >>"$md"
targets | tee -a "$md"

# ---- plots ------------------------------------------------------------------------
plots() {
	local d=$OUT/plotdata
	mkdir -p "$d"
	# per-packet, hot, IPv4 and IPv6: rules -> ns
	for key in decide_allow established deny_def deny_rule decide_deny_def xdpf_allow xdpf_allow_deny \
		new_allow new_rl new_deny audit xdpf_allow_cold probe_parse probe_addr probe_full miss; do
		for f in v4 v6; do
			awk -F'\t' -v k="$key" -v f="$f" '$1 == "packet" && $4 == k && $3 == f {
				for (i = 5; i <= NF; i++) if ($i ~ /^ns=/) { sub(/^ns=/, "", $i); print $2, $i } }' \
				"$tsv" >"$d/$key.$f"
		done
	done
	awk -F'\t' '$1 == "split" && $3 == "v4" { for (i = 4; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		print $2, v["parse"], v["addr"], v["ports"], v["rest"] }' "$tsv" >"$d/split.v4"
	awk -F'\t' 'BEGIN { n["xdp_drop"] = "XDP_DROP"; n["ward"] = "Ward"; n["xdp_filter"] = "xdp-filter";
			n["nft_netdev"] = "nft netdev"; n["nft_inet"] = "nft inet+ct"; n["iptables_raw"] = "iptables raw";
			n["iptables_legacy_raw"] = "iptables-legacy raw"; n["stack"] = "stack";
			n["nft_meter_1"] = "nft meter 1 src"; n["nft_meter_10k"] = "nft meter 10k src" }
		$1 == "flood" { r = $4; sub(/^vs_xdp_drop=/, "", r); if (r != "") printf "\"%s\" %s\n", ($2 in n ? n[$2] : $2), r }' \
		"$tsv" >"$d/flood"
	awk -F'\t' '$1 == "control" { for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		print $2, v["total_s"], v["rss_mib"] }' "$tsv" >"$d/control"
	local common='set terminal pngcairo size 960,600 font "DejaVu Sans,11" noenhanced; set grid; set key top left box opaque; set logscale x; set xrange [7:150000]; set xtics ("10" 10, "1k" 1000, "10k" 10000, "100k" 100000); set xlabel "rules in the policy"'
	local script=$d/plots.gp
	cat >"$script" <<-EOF
	$common
	EOF
	[ -s "$d/decide_allow.v4" ] && cat >>"$script" <<-EOF
	set output "$OUT/packet_hot.png"
	set title "Per-packet cost, BPF_PROG_TEST_RUN, hot (64 packets x 2000 repeats), IPv4"
	set ylabel "ns per packet (median of rounds)"
	set yrange [0:*]
	plot "$d/decide_allow.v4" w lp lw 2 t "Ward: new flow, policy decision (allowed)", \
	     "$d/established.v4" w lp lw 2 t "Ward: established flow", \
	     "$d/deny_rule.v4" w lp lw 2 t "Ward: denied by a deny rule", \
	     "$d/deny_def.v4" w lp lw 2 t "Ward: denied by default", \
	     "$d/xdpf_allow.v4" w lp lw 2 dt 2 t "xdp-filter allow-list: allowed", \
	     "$d/xdpf_allow_deny.v4" w lp lw 2 dt 2 t "xdp-filter allow-list: denied"
	set output "$OUT/packet_hot_v6.png"
	set title "Per-packet cost, BPF_PROG_TEST_RUN, hot, IPv6"
	plot "$d/decide_allow.v6" w lp lw 2 t "Ward: new flow, policy decision (allowed)", \
	     "$d/established.v6" w lp lw 2 t "Ward: established flow", \
	     "$d/deny_rule.v6" w lp lw 2 t "Ward: denied by a deny rule", \
	     "$d/deny_def.v6" w lp lw 2 t "Ward: denied by default", \
	     "$d/miss.v6" w lp lw 2 t "Ward: clustered miss (address lookup only)", \
	     "$d/xdpf_allow.v6" w lp lw 2 dt 2 t "xdp-filter allow-list: allowed", \
	     "$d/xdpf_allow_deny.v6" w lp lw 2 dt 2 t "xdp-filter allow-list: denied"
	EOF
	[ -s "$d/new_allow.v4" ] && cat >>"$script" <<-EOF
	set output "$OUT/packet_cold.png"
	set title "Per-packet cost of new flows, cold (4096 flows, one run each), IPv4"
	plot "$d/new_allow.v4" w lp lw 2 t "Ward: new allowed flow", \
	     "$d/new_rl.v4" w lp lw 2 t "Ward: new allowed flow, rate-limited rule", \
	     "$d/new_deny.v4" w lp lw 2 t "Ward: new flow, deny rule", \
	     "$d/audit.v4" w lp lw 2 t "Ward audit: would-be deny passes", \
	     "$d/xdpf_allow_cold.v4" w lp lw 2 dt 2 t "xdp-filter allow-list: allowed"
	EOF
	[ -s "$d/split.v4" ] && cat >>"$script" <<-EOF
	set key top left
	set xrange [*:*]
	set output "$OUT/packet_split.png"
	set title "Where the time of a policy decision goes (hot, IPv4, net of the empty program)"
	unset logscale x
	set xtics auto
	set style data histograms
	set style histogram rowstacked
	set style fill solid 0.8 border -1
	set boxwidth 0.6
	set xlabel "rules in the policy"
	set ylabel "ns per packet"
	plot "$d/split.v4" using 2:xtic(1) t "parse", "" using 3 t "address lookup", "" using 4 t "port lookups (class chain)", "" using 5 t "slot, counters, rest"
	EOF
	[ -s "$d/flood" ] && cat >>"$script" <<-EOF
	set xrange [*:*]
	unset logscale x
	set xtics auto
	set style data histograms
	set style fill solid 0.8 border -1
	set output "$OUT/flood.png"
	set title "Veth flood of denied frames: drop rate relative to a bare XDP_DROP (same run)"
	set style histogram clustered
	set boxwidth 0.7
	set xtics rotate by -30
	set key off
	set xlabel ""
	set ylabel "rate / XDP_DROP rate (median of rounds)"
	set yrange [0:1.1]
	set arrow from graph 0, first 0.70 to graph 1, first 0.70 nohead dt 2 lw 2 lc rgb "#cc3311"
	set label "design target for Ward: 0.70" at graph 0.62, first 0.73 tc rgb "#cc3311"
	plot "$d/flood" using 2:xtic(1) t "" lc rgb "#4477aa"
	EOF
	gnuplot "$script" >"$d/gnuplot.log" 2>&1 || { echo "bench: gnuplot failed, see $d/gnuplot.log"; return 0; }
}
if command -v gnuplot >/dev/null; then
	plots
	echo "plots: $(ls "$OUT"/*.png 2>/dev/null | tr '\n' ' ')"
fi
if [ "${BENCH_UPDATE_DOCS:-0}" = 1 ]; then
	mkdir -p docs/img
	cp "$OUT"/*.png docs/img/
	if grep -q '<!-- results:begin -->' docs/benchmarks.md 2>/dev/null; then
		# the tables one heading level down, under the page's "Results"
		awk -v f="$md" '/<!-- results:begin -->/ { print; while ((getline l < f) > 0) { if (l ~ /^# Ward benchmark results/) continue; if (l ~ /^#/) l = "#" l; print l }; skip = 1; next }
			/<!-- results:end -->/ { skip = 0 } !skip' docs/benchmarks.md >"$OUT/benchmarks.md.new"
		mv "$OUT/benchmarks.md.new" docs/benchmarks.md
	fi
fi
echo "results: $md, $tsv"
