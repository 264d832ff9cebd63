#!/usr/bin/env bash
# The systemd side of Ward (PID 1 is not systemd on the test machines):
# the unit passes systemd-analyze verify, and the agent speaks the
# Type=notify protocol: READY=1 only once it enforces, RELOADING=1/READY=1
# around a SIGHUP reload, STOPPING=1 on the way out, enforcement left
# pinned. Own namespace and pins, removed on EXIT. Ends "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
W=${WARD:-$ROOT/build/ward}
ID=$$
NS=ward-sd-$ID
PIN=/sys/fs/bpf/ward-test-sd-$ID
TMP=$(mktemp -d /tmp/ward-systemd.XXXXXX)
AGENT= RECV=
# shellcheck source=tests/lib/checks.sh
. tests/lib/checks.sh

cleanup() {
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	[ -n "$RECV" ] && kill "$RECV" 2>/dev/null && wait "$RECV" 2>/dev/null
	[ -d "$PIN" ] && nsenter --net="/run/netns/$NS" -- "$W" detach --pin-path "$PIN" >/dev/null 2>&1
	rm -rf "$PIN"
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
got() { grep -q "$1" "$TMP/notify.log"; }
enforcing() { nsenter --net="/run/netns/$NS" -- "$W" status --pin-path "$PIN" >/dev/null 2>&1; }

[ "$(id -u)" = 0 ] || { echo "not ok 1 - needs root"; echo "0 passed, 1 failed"; exit 1; }

# the unit as installed: ExecStart paths must exist for verify
sed "s|/usr/local/sbin/ward|$W|g" deploy/ward.service >"$TMP/ward.service"
check "deploy/ward.service passes systemd-analyze verify" \
	systemd-analyze verify "$TMP/ward.service"
check "the unit is Type=notify" grep -qx "Type=notify" deploy/ward.service
check "the unit bounds capabilities to CAP_BPF CAP_NET_ADMIN CAP_PERFMON" \
	grep -qx "CapabilityBoundingSet=CAP_BPF CAP_NET_ADMIN CAP_PERFMON" deploy/ward.service
check "the unit puts the agent's heap on huge pages itself (no second exec)" \
	grep -qx "Environment=GLIBC_TUNABLES=glibc.malloc.hugetlb=1" deploy/ward.service

mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ip netns add "$NS"
ip -n "$NS" link add sd0 type veth peer name sd1
ip -n "$NS" link set sd0 up
ip -n "$NS" link set sd1 up
cp tests/netns/lab-policy.json "$TMP/policy.json"

# a notify socket that logs every datagram, with the agent's state at arrival
python3 - "$TMP/notify.sock" "$TMP/notify.log" "$W" "$NS" "$PIN" <<'EOF' &
import socket, subprocess, sys
path, log, ward, ns, pin = sys.argv[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(60)
with open(log, "a", buffering=1) as out:
    while True:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            break
        st = subprocess.run(["nsenter", "--net=/run/netns/" + ns, ward, "status",
                             "--pin-path", pin], capture_output=True).returncode
        for line in msg.splitlines():
            out.write(f"{line} status={st}\n")
EOF
RECV=$!
until_ok 5 test -S "$TMP/notify.sock"
NOTIFY_SOCKET=$TMP/notify.sock nsenter --net="/run/netns/$NS" -- "$W" run --policy "$TMP/policy.json" \
	--interface sd0 --pin-path "$PIN" --flows none </dev/null >"$TMP/agent.log" 2>&1 &
AGENT=$!
check "READY=1 is sent" until_ok 10 got "^READY=1"
check "READY=1 arrives when enforcement is live (ward status 0)" got "^READY=1 status=0"
check "STATUS= tells what it does" got "^STATUS=enforcing"
kill -HUP "$AGENT"
check "a reload is announced: RELOADING=1" until_ok 5 got "^RELOADING=1"
# a function, so that until_ok counts again at every try
readies() { [ "$(grep -c '^READY=1' "$TMP/notify.log")" -ge "$1" ]; }
check "then READY=1 again" until_ok 5 readies 2
kill -TERM "$AGENT"
wait "$AGENT" 2>/dev/null
AGENT=
check "STOPPING=1 on the way out" until_ok 5 got "^STOPPING=1"
check "enforcement stays pinned after the stop" enforcing
[ "$F" = 0 ] || { sed 's/^/# /' "$TMP/notify.log" "$TMP/agent.log" >&2; }
echo "$P passed, $F failed"
[ "$F" = 0 ]
