# shellcheck shell=bash
# shellcheck disable=SC2034 # variables set here are read by the scripts that source it
# Ward network-namespace lab, sourced by tests/netns/test_lab.sh and
# tests/netns/demo.sh.
#
#   allowed client ns              node ns (ward runs here)              denied client ns
#   eth0 198.51.100.2/24  <-veth->  to-allowed 198.51.100.1/24
#        2001:db8:1::2/64                      2001:db8:1::1/64
#                                   to-denied  203.0.113.1/24  <-veth->  eth0 203.0.113.2/24
#                                              2001:db8:2::1/64               2001:db8:2::2/64
#
# Ward attaches XDP (ingress) and TC (egress) to the node's two veth ends.
# No default route anywhere: nothing in the lab can reach outside.
# Namespaces carry a per-run suffix (LAB_ID, default the caller's PID) and
# every interface lives inside a lab namespace, so runs never collide and the
# host's own links are never touched. Pins go to a per-run directory under
# /sys/fs/bpf; ward runs under `nsenter --net` (not `ip netns exec`, which
# remounts /sys and would hide the bpffs pins).
#
# Every process the lab starts is recorded by PID and ended by that PID in
# lab_cleanup, which the caller runs from an EXIT trap. Every probe is bounded
# in count and time.

LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WARD=${WARD:-$LAB_ROOT/${BUILD:-build}/ward} # BUILD: the build directory (make BUILD=...)
LAB_ID=${LAB_ID:-$$}
LAB_KIND=${LAB_KIND:-test}
LAB_PIN=${LAB_PIN:-/sys/fs/bpf/ward-$LAB_KIND-$LAB_ID}

NS_NODE=ward-node-$LAB_ID
NS_ALLOWED=ward-allowed-$LAB_ID
NS_DENIED=ward-denied-$LAB_ID
IF_ALLOWED=to-allowed # node side of the veth to the allowed client
IF_DENIED=to-denied   # node side of the veth to the denied client
IF_CLIENT=eth0        # client side of either veth

NODE_ALLOWED_V4=198.51.100.1
ALLOWED_V4=198.51.100.2
NODE_ALLOWED_V6=2001:db8:1::1
ALLOWED_V6=2001:db8:1::2
NODE_DENIED_V4=203.0.113.1
DENIED_V4=203.0.113.2
NODE_DENIED_V6=2001:db8:2::1
DENIED_V6=2001:db8:2::2

LAB_SERVER_TIMEOUT=${LAB_SERVER_TIMEOUT:-400} # seconds a listener lives at most (the test runs ~2-3 min)
LAB_CONNECT_TIMEOUT=${LAB_CONNECT_TIMEOUT:-2}  # TCP connect, seconds
LAB_DIR=
LAB_PIDS=()
LAB_AGENT_PID=
LAB_AGENT_LOG=
LAB_SEQ=0
PROBE_TOKEN=

lab_note() { echo "# $*" >&2; }

# ---- prerequisites ----------------------------------------------------------
# lab_require: 0 when the lab can run; otherwise prints the reason (LAB_WHY)
# and returns 1. Never skips silently: callers fail on 1.
LAB_WHY=
lab_require() {
	local t
	if [ "$(id -u)" -ne 0 ]; then
		LAB_WHY="must run as root (network namespaces, XDP, bpffs)"
		return 1
	fi
	case "$LAB_PIN" in
	/sys/fs/bpf/ward-?*-?*) ;;
	*)
		LAB_WHY="refusing pin path $LAB_PIN (expected /sys/fs/bpf/ward-KIND-ID)"
		return 1
		;;
	esac
	if ! mountpoint -q /sys/fs/bpf; then
		lab_note "mounting bpffs on /sys/fs/bpf"
		mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
	fi
	if [ "$(stat -f -c %T /sys/fs/bpf 2>/dev/null)" != bpf_fs ]; then
		LAB_WHY="no bpffs mounted on /sys/fs/bpf"
		return 1
	fi
	for t in ip nsenter socat ping timeout python3 ss sha256sum; do
		if ! command -v "$t" >/dev/null 2>&1; then
			LAB_WHY="missing tool: $t (make deps)"
			return 1
		fi
	done
	if [ ! -x "$WARD" ]; then
		LAB_WHY="no agent binary at $WARD (run make first)"
		return 1
	fi
	return 0
}

# ---- namespaces -------------------------------------------------------------
lab_ns() { # ROLE (node|allowed|denied) -> namespace name
	case "$1" in
	node) echo "$NS_NODE" ;;
	allowed) echo "$NS_ALLOWED" ;;
	denied) echo "$NS_DENIED" ;;
	*) echo "lab_ns: unknown role $1" >&2; return 1 ;;
	esac
}

# in_ns ROLE CMD...: run CMD in that role's network namespace only (mount
# namespace unchanged, so /sys/fs/bpf stays visible).
in_ns() {
	local ns
	ns=$(lab_ns "$1") || return 1
	shift
	nsenter --net="/run/netns/$ns" -- "$@"
}

lab_setup() {
	local ns
	LAB_DIR=$(mktemp -d "/tmp/ward-$LAB_KIND-$LAB_ID.XXXXXX")
	for ns in "$NS_NODE" "$NS_ALLOWED" "$NS_DENIED"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		# Replies of connections are allowed by port-range rules until Ward
		# has conntrack: pin the ephemeral range those rules name.
		in_ns_name "$ns" sysctl -q -w net.ipv4.ip_local_port_range="32768 60999"
	done
	ip -n "$NS_NODE" link add "$IF_ALLOWED" type veth peer name "$IF_CLIENT" netns "$NS_ALLOWED"
	ip -n "$NS_NODE" link add "$IF_DENIED" type veth peer name "$IF_CLIENT" netns "$NS_DENIED"

	ip -n "$NS_NODE" addr add "$NODE_ALLOWED_V4/24" dev "$IF_ALLOWED"
	ip -n "$NS_NODE" addr add "$NODE_ALLOWED_V6/64" dev "$IF_ALLOWED" nodad
	ip -n "$NS_NODE" addr add "$NODE_DENIED_V4/24" dev "$IF_DENIED"
	ip -n "$NS_NODE" addr add "$NODE_DENIED_V6/64" dev "$IF_DENIED" nodad
	ip -n "$NS_ALLOWED" addr add "$ALLOWED_V4/24" dev "$IF_CLIENT"
	ip -n "$NS_ALLOWED" addr add "$ALLOWED_V6/64" dev "$IF_CLIENT" nodad
	ip -n "$NS_DENIED" addr add "$DENIED_V4/24" dev "$IF_CLIENT"
	ip -n "$NS_DENIED" addr add "$DENIED_V6/64" dev "$IF_CLIENT" nodad

	ip -n "$NS_NODE" link set "$IF_ALLOWED" up
	ip -n "$NS_NODE" link set "$IF_DENIED" up
	ip -n "$NS_ALLOWED" link set "$IF_CLIENT" up
	ip -n "$NS_DENIED" link set "$IF_CLIENT" up
}

in_ns_name() { # NSNAME CMD...
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" -- "$@"
}

# ---- processes --------------------------------------------------------------
pid_alive() { # PID: running (not a zombie)
	local st
	[ -n "${1:-}" ] || return 1
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# stop_pid PID SIG SECS: signal PID, wait up to SECS for it to end, then
# SIGKILL it. Reaps it when it is our child.
stop_pid() {
	local pid=$1 sig=$2 secs=$3 i
	[ -n "$pid" ] || return 0
	if pid_alive "$pid"; then
		kill "-$sig" "$pid" 2>/dev/null || true
		for ((i = 0; i < secs * 10; i++)); do
			pid_alive "$pid" || break
			sleep 0.1
		done
		if pid_alive "$pid"; then
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.1
		fi
	fi
	{ wait "$pid"; } 2>/dev/null || true
}

# ---- listeners --------------------------------------------------------------
# lab_serve ROLE tcp|udp PORT: echo listeners on PORT for IPv4 and IPv6 in
# ROLE's namespace. Every payload received is also appended to
# $LAB_DIR/recv-ROLE.log, so a check can tell "request never arrived" from
# "reply never came back". Each listener ends by itself after
# LAB_SERVER_TIMEOUT seconds; forked children after LAB_SERVE_IDLE (5) s idle.
lab_serve() {
	local role=$1 proto=$2 port=$3 ns addr
	ns=$(lab_ns "$role") || return 1
	for addr in "${proto^^}4" "${proto^^}6"; do
		local opts
		case "$proto" in
		tcp) opts="$addr-LISTEN:$port,reuseaddr,fork" ;;
		udp) opts="$addr-RECVFROM:$port,fork" ;;
		*) echo "lab_serve: proto $proto" >&2; return 1 ;;
		esac
		[ "$addr" = "${proto^^}6" ] && opts="$opts,ipv6only=1"
		nsenter --net="/run/netns/$ns" -- timeout "$LAB_SERVER_TIMEOUT" \
			socat -T "${LAB_SERVE_IDLE:-5}" "$opts" EXEC:"tee -a $LAB_DIR/recv-$role.log" \
			</dev/null >/dev/null 2>>"$LAB_DIR/servers.log" &
		LAB_PIDS+=($!)
	done
}

# lab_wait_listening ROLE tcp|udp PORT: both sockets (v4, v6) bound, <= 5 s.
lab_wait_listening() {
	local role=$1 proto=$2 port=$3 flag n i
	[ "$proto" = tcp ] && flag=-Hltn || flag=-Hlun
	for ((i = 0; i < 50; i++)); do
		n=$(in_ns "$role" ss "$flag" "sport = :$port" 2>/dev/null | wc -l)
		[ "$n" -ge 2 ] && return 0
		sleep 0.1
	done
	echo "lab: $proto/$port listeners in $role not up" >&2
	return 1
}

# ---- probes (each bounded; 0 = delivered and answered) ----------------------
_sock() { # TCP|UDP ADDR PORT -> socat address
	if [[ $2 == *:* ]]; then echo "${1}6:[$2]:$3"; else echo "${1}4:$2:$3"; fi
}

lab_token() {
	LAB_SEQ=$((LAB_SEQ + 1))
	PROBE_TOKEN="ward-$LAB_ID-$LAB_SEQ-$RANDOM"
}

# _probe PROTO ROLE ADDR PORT SOCAT-OPTS... : send a fresh token from ROLE,
# expect it echoed back.
_probe() {
	local proto=$1 role=$2 addr=$3 port=$4 out=
	shift 4
	lab_token
	echo "--- ${proto,,} $role -> $addr:$port token $PROBE_TOKEN" >>"$LAB_DIR/probes.log"
	out=$(printf '%s\n' "$PROBE_TOKEN" |
		timeout 10 nsenter --net="/run/netns/$(lab_ns "$role")" -- \
			socat "$@" 2>>"$LAB_DIR/probes.log") || true
	[ "$out" = "$PROBE_TOKEN" ]
}

# probe_tcp FROM_ROLE ADDR PORT: connect, send a fresh token, expect it echoed.
probe_tcp() {
	_probe TCP "$1" "$2" "$3" -t 2 -T 4 - \
		"$(_sock TCP "$2" "$3"),connect-timeout=$LAB_CONNECT_TIMEOUT"
}

# probe_udp FROM_ROLE ADDR PORT: one datagram with a fresh token, expect the echo.
probe_udp() {
	_probe UDP "$1" "$2" "$3" -t 1 -T 3 - "$(_sock UDP "$2" "$3")"
}

# probe_ping FROM_ROLE ADDR: 2 echo requests, 1 s wait; 0 when a reply came.
probe_ping() {
	local role=$1 addr=$2
	PROBE_TOKEN=
	echo "--- ping $role -> $addr" >>"$LAB_DIR/probes.log"
	timeout 10 nsenter --net="/run/netns/$(lab_ns "$role")" -- \
		ping -n -q -c 2 -i 0.2 -W 1 "$addr" >>"$LAB_DIR/probes.log" 2>&1
}

# lab_received ROLE TOKEN: ROLE's listeners got TOKEN.
lab_received() {
	[ -n "$2" ] && grep -qxF -- "$2" "$LAB_DIR/recv-$1.log" 2>/dev/null
}

# lab_snmp ROLE NAME: one kernel SNMP counter of ROLE's namespace, "" if
# unknown. NAME is "Table.Field" from /proc/net/snmp (Tcp.InSegs counts IPv4
# and IPv6 segments, Udp.InDatagrams, Icmp.InEchos) or a /proc/net/snmp6
# name (Udp6InDatagrams, Icmp6InEchos). Used to show that a blocked request
# never reached the receiver's stack.
lab_snmp() {
	local role=$1 name=$2
	if [[ $name == *.* ]]; then
		in_ns "$role" cat /proc/net/snmp 2>/dev/null | awk -v t="${name%%.*}:" -v f="${name#*.}" '
			$1 == t && !h { for (i = 2; i <= NF; i++) if ($i == f) c = i; h = 1; next }
			$1 == t && h && c { print $c; exit }'
	else
		in_ns "$role" cat /proc/net/snmp6 2>/dev/null | awk -v f="$name" '$1 == f { print $2; exit }'
	fi
}

# lab_neigh_resolved ROLE ADDR: ROLE has a link-layer address for ADDR
# (resolved by ARP or ND through Ward's always-pass path).
lab_neigh_resolved() {
	in_ns "$1" ip neigh show to "$2" 2>/dev/null | grep -q lladdr
}

# ---- ward -------------------------------------------------------------------
# ward_node SUBCOMMAND ARGS...: ward in the node namespace with the lab's pin
# path (except `check`, which needs none). Bounded to 20 s.
ward_node() {
	local sub=$1
	shift
	if [ "$sub" = check ]; then
		timeout 20 "$WARD" check "$@"
	else
		timeout 20 nsenter --net="/run/netns/$NS_NODE" -- "$WARD" "$sub" --pin-path "$LAB_PIN" "$@"
	fi
}

# agent_start POLICY: `ward run` in the node namespace, in the background,
# stderr and stdout to $LAB_DIR/agent.log. nsenter execs ward, so
# LAB_AGENT_PID is ward's own PID. WARD_WRAP (words, e.g. "valgrind
# --log-file=F") is put before ward on the command line; a wrapper that
# execs or, like valgrind, runs ward in its own process keeps that true.
agent_start() { # POLICY [EXTRA WARD RUN ARGS...]
	local policy=$1 wrap
	shift
	read -ra wrap <<<"${WARD_WRAP:-}"
	LAB_AGENT_LOG=$LAB_DIR/agent.log
	nsenter --net="/run/netns/$NS_NODE" -- "${wrap[@]}" "$WARD" run --policy "$policy" \
		--interface "$IF_ALLOWED" --interface "$IF_DENIED" --pin-path "$LAB_PIN" \
		--flows "file:$LAB_DIR/flows.json" "$@" \
		</dev/null >>"$LAB_AGENT_LOG" 2>&1 &
	LAB_AGENT_PID=$!
}

# agent_wait_enforcing SECS: 0 once `ward status` exits 0; 1 on timeout or
# when the agent died first.
agent_wait_enforcing() {
	local i
	for ((i = 0; i < ${1:-10} * 5; i++)); do
		ward_node status >/dev/null 2>&1 && return 0
		pid_alive "$LAB_AGENT_PID" || return 1
		sleep 0.2
	done
	return 1
}

agent_log_tail() {
	[ -n "$LAB_AGENT_LOG" ] && [ -f "$LAB_AGENT_LOG" ] || return 0
	echo "# --- last lines of the agent log ($LAB_AGENT_LOG)" >&2
	tail -n "${1:-20}" "$LAB_AGENT_LOG" | sed 's/^/#   /' >&2
}

# ---- teardown ---------------------------------------------------------------
# lab_cleanup: idempotent, never fails, safe at any point of lab_setup.
lab_cleanup() {
	local - pid ns
	set +e
	for pid in "${LAB_PIDS[@]}"; do
		stop_pid "$pid" TERM 2
	done
	LAB_PIDS=()
	if [ -n "$LAB_AGENT_PID" ]; then
		stop_pid "$LAB_AGENT_PID" TERM 5
		LAB_AGENT_PID=
	fi
	if [ -e "$LAB_PIN" ]; then
		if [ -e "/run/netns/$NS_NODE" ]; then
			timeout 20 nsenter --net="/run/netns/$NS_NODE" -- \
				"$WARD" detach --pin-path "$LAB_PIN" >/dev/null 2>&1
		else
			timeout 20 "$WARD" detach --pin-path "$LAB_PIN" >/dev/null 2>&1
		fi
	fi
	for ns in "$NS_NODE" "$NS_ALLOWED" "$NS_DENIED"; do
		[ -e "/run/netns/$ns" ] && ip netns del "$ns" 2>/dev/null
	done
	# Whatever detach left behind: unpinning the last reference detaches.
	# the control socket an agent killed with SIGKILL leaves behind
	rm -f -- "/run/ward/${LAB_PIN##*/}.sock" 2>/dev/null
	case "$LAB_PIN" in
	/sys/fs/bpf/ward-?*-?*) rm -rf -- "$LAB_PIN" 2>/dev/null ;;
	esac
	if [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ] && [ "${LAB_KEEP:-0}" != 1 ]; then
		rm -rf -- "$LAB_DIR"
	fi
	return 0
}

# lab_is_clean: no namespace, no pin, no process of this run left.
lab_is_clean() {
	local ns
	for ns in "$NS_NODE" "$NS_ALLOWED" "$NS_DENIED"; do
		[ -e "/run/netns/$ns" ] && return 1
	done
	[ -e "$LAB_PIN" ] && return 1
	return 0
}
