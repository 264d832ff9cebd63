#!/usr/bin/env bash
# The IPFIX sink against real decoders: nfcapd/nfdump (UDP, IPv4 and IPv6
# transport) and tshark (the UDP capture, and the TCP stream saved as an
# IPFIX file). Records come from rec_tool through a real pipeline; every
# decoded data record must equal rec_tool's --expect record, in order.
set -u
cd "$(dirname "$0")/../.."
. tests/records/lib.sh
. tests/records/receivers.sh
need nfcapd nfdump tshark socat python3 ss timeout "$TOOL"

start_capture() { # pcap, bpf filter: tshark on lo until stop_capture
	timeout 120 tshark -i lo -f "$2" -w "$1" >"$1.log" 2>&1 &
	echo $! >"$1.pid"
	pids+=($!)
	local i
	for i in $(seq 50); do grep -q "Capturing on" "$1.log" 2>/dev/null && return 0; sleep 0.1; done
	echo "tshark did not start:"; cat "$1.log"; return 1
}
stop_capture() { # pcap
	sleep 0.5
	kill -INT "$(cat "$1.pid")" 2>/dev/null
	local i
	for i in $(seq 50); do kill -0 "$(cat "$1.pid")" 2>/dev/null || break; sleep 0.1; done
}
# tshark's decoding as JSON; repeated fields (forward and reverse counters) as arrays
decode() { # input (pcap or IPFIX file), output json, extra tshark args
	timeout 60 tshark -r "$1" "${@:3}" -T json --no-duplicate-keys >"$2" 2>"$2.err" || true
}

ck() { python3 tests/records/ipfix_check.py "$@"; }

# ---- UDP to nfcapd, captured on lo: IPv4 and IPv6 records, templates every second
pu=$(free_port)
N=900
if start_nfcapd "$tmp/nf4" "$pu" -b 127.0.0.1 && start_capture "$tmp/udp.pcap" "udp port $pu"; then
	timeout 60 "$TOOL" --sink "ipfix+udp://127.0.0.1:$pu,template=1,domain=42" --count $N \
		--rate 300 --seed 11 --kinds all --expect "$tmp/udp.expect" >"$tmp/udp.tool" 2>&1
	stop_capture "$tmp/udp.pcap"
	stop_nfcapd "$tmp/nf4"
	decode "$tmp/udp.pcap" "$tmp/udp.tshark.json" -d "udp.port==$pu,cflow"
fi
check "udp: rec_tool wrote all $N records (lost/policy/agent ones skipped), none lost" \
	tool_ok "$tmp/udp.tool" $N
check "udp, nfdump: every flow record, in order: addresses, ports, ICMP, protocol, counters both ways, direction, times, interfaces" \
	ck nfdump "$tmp/udp.expect" "$tmp/nf4.json"
check "udp, tshark: the same records, with firewallEvent, rule id, TCP flags, forwarding status" \
	ck tshark "$tmp/udp.expect" "$tmp/udp.tshark.json"
check "udp: templates 256+257 first and resent (template=1 over a 3 s run), sequence numbers count data records, domain 42" \
	ck stream "$tmp/udp.expect" "$tmp/udp.tshark.json" 42 3 100

# ---- UDP over ::1 to nfcapd -6
pu6=$(free_port)
N=300
if start_nfcapd "$tmp/nf6" "$pu6" -6 -b ::1; then
	timeout 60 "$TOOL" --sink "ipfix+udp://[::1]:$pu6" --count $N --rate 2000 --seed 12 \
		--expect "$tmp/udp6.expect" >"$tmp/udp6.tool" 2>&1
	stop_nfcapd "$tmp/nf6"
fi
check "udp over ::1: rec_tool wrote all $N records" tool_ok "$tmp/udp6.tool" $N
check "udp over ::1, nfdump: every flow record, in order" ck nfdump "$tmp/udp6.expect" "$tmp/nf6.json"

# ---- TCP: the stream as an IPFIX file (RFC 5655: messages back to back), read by tshark
start_socat() { # name, port: one connection, saved as name.ipfix
	timeout 60 socat -u "TCP-LISTEN:$2,bind=127.0.0.1,reuseaddr" \
		"OPEN:$tmp/$1.ipfix,creat,trunc" 2>"$tmp/$1.socat" &
	echo $! >"$tmp/$1.socat.pid"
	pids+=($!)
	wait_listen -Hltn "$2"
}
end_socat() { # name: once the sink has closed the connection, decode the stream
	local sp i
	sp=$(cat "$tmp/$1.socat.pid")
	for i in $(seq 50); do kill -0 "$sp" 2>/dev/null || break; sleep 0.1; done
	decode "$tmp/$1.ipfix" "$tmp/$1.tshark.json"
}
pt=$(free_port)
N=3000
start_socat tcp "$pt"
timeout 60 "$TOOL" --sink "ipfix+tcp://127.0.0.1:$pt,domain=7" --count $N --seed 13 --kinds all \
	--expect "$tmp/tcp.expect" >"$tmp/tcp.tool" 2>&1
end_socat tcp
check "tcp: rec_tool wrote all $N records, none lost" tool_ok "$tmp/tcp.tool" $N
check "tcp, tshark: every flow record, in order, every field" \
	ck tshark "$tmp/tcp.expect" "$tmp/tcp.tshark.json"
check "tcp: templates once, at the start of the connection; sequence numbers; domain 7" \
	ck stream "$tmp/tcp.expect" "$tmp/tcp.tshark.json" 7 1 1

# ---- TCP, the collector comes up late: records wait, the templates go first
pl=$(free_port)
N=400
late_socat() { start_socat late "$pl"; }
run_late late 1.2 late_socat --sink "ipfix+tcp://127.0.0.1:$pl" --count $N --rate 100 --seed 14
end_socat late
check "tcp, collector up 1.2 s late: nothing lost" tool_ok "$tmp/late.tool" $N
check "tcp, collector up late: templates first, then every record waiting and after" \
	ck stream "$tmp/late.expect" "$tmp/late.tshark.json" 0 1 1
check "tcp, collector up late: every flow record, in order" \
	ck tshark "$tmp/late.expect" "$tmp/late.tshark.json"

# ---- TCP, the collector restarts mid-run: templates again on the new
# connection, records numbered on across it
pr=$(free_port)
N=500
start_socat r1 "$pr"
timeout 60 "$TOOL" --sink "ipfix+tcp://127.0.0.1:$pr" --count $N --rate 100 --seed 15 \
	--expect "$tmp/restart.expect" >"$tmp/restart.tool" 2>&1 &
tp=$!
pids+=("$tp")
sleep 1.5
kill "$(cat "$tmp/r1.socat.pid")"
sleep 0.5
start_socat r2 "$pr"
wait "$tp"
end_socat r2
check "tcp, collector restarted: the new connection starts with the templates, every record where its sequence number puts it, up to the last" \
	ck resumed "$tmp/restart.expect" "$tmp/r2.tshark.json"

finish
