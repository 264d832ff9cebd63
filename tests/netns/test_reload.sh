#!/usr/bin/env bash
# The policy file under change (inotify): written in place, replaced by a
# rename, written in two halves, truncated, made invalid, deleted and
# recreated. The agent reloads every complete valid file by itself,
# rejects the rest with the live policy kept, and never stops. Own
# namespace and pins, removed on EXIT. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
W=${WARD:-build/ward}
ID=$$
OLD=/sys/fs/bpf/ward-test-reload-old-$ID
NS=ward-rl-$ID
PIN=/sys/fs/bpf/ward-test-reload-$ID
TMP=$(mktemp -d /tmp/ward-reload.XXXXXX)
AGENT=
# shellcheck source=tests/lib/checks.sh
. tests/lib/checks.sh

cleanup() {
	[ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	[ -d "$PIN" ] && nsenter --net="/run/netns/$NS" -- "$W" detach --pin-path "$PIN" >/dev/null 2>&1
	rm -rf "$PIN" "$TMP" "$OLD"
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
revision() {
	nsenter --net="/run/netns/$NS" -- "$W" status --pin-path "$PIN" --json 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["policy"]["revision"])' 2>/dev/null
}
rev_is() { [ "$(revision)" = "$1" ]; }
stays() { # REV: still REV after a settle time
	sleep 1.5
	rev_is "$1"
}
policy() { # REVISION -> a valid policy text
	printf '{ "version": 1, "name": "reload", "revision": %s,\n' "$1"
	printf '  "defaults": { "ingress": "deny", "egress": "allow" },\n'
	printf '  "ingress": [ { "id": "ssh", "from": ["192.0.2.0/24"], "proto": "tcp", "ports": [22] } ] }\n'
}
rejections() { grep -c "rejected, keeping the policy in force" "$TMP/agent.log"; }

[ "$(id -u)" = 0 ] || { echo "not ok 1 - needs root"; echo "0 passed, 1 failed"; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ip netns add "$NS"
ip -n "$NS" link add rl0 type veth peer name rl1
ip -n "$NS" link set rl0 up
POL=$TMP/etc/policy.json
mkdir -p "$TMP/etc"
policy 1 >"$POL"
nsenter --net="/run/netns/$NS" -- "$W" run --policy "$POL" --interface rl0 --pin-path "$PIN" \
	--flows "file:$TMP/flows.json" </dev/null >"$TMP/agent.log" 2>&1 &
AGENT=$!
check "agent enforces revision 1" until_ok 10 rev_is 1

policy 2 >"$POL"
check "written in place: revision 2 in force" until_ok 5 rev_is 2

policy 3 >"$TMP/etc/.policy.json.tmp"
mv "$TMP/etc/.policy.json.tmp" "$POL"
check "replaced by a rename: revision 3 in force" until_ok 5 rev_is 3

# a writer that pauses half way: the settle time waits for the rest
policy 4 >"$TMP/p4"
head -c 60 "$TMP/p4" >"$POL"
sleep 0.1
tail -c +61 "$TMP/p4" >>"$POL"
check "written in two halves: revision 4 in force" until_ok 5 rev_is 4
check "  with no rejection on the way" test "$(rejections)" = 0

: >"$POL"
check "truncated to nothing: rejected, revision 4 stays" stays 4
rejected() { [ "$(rejections)" -ge 1 ]; } # counted again at every try of until_ok
check "  the rejection is logged" until_ok 3 rejected
printf '{ "version": 1, "name": "reload", "revision": 5, "ingress": [ { "id": "x", "from": ["nowhere"] } ] }' >"$POL"
check "invalid policy: rejected, revision 4 stays" stays 4
rm -f "$POL"
check "file deleted: revision 4 stays" stays 4
policy 6 >"$POL"
check "file created again: revision 6 in force" until_ok 5 rev_is 6
check "the agent is still running" kill -0 "$AGENT"

# a Kubernetes ConfigMap volume: policy.json -> ..data/policy.json, and an
# update swaps the ..data symlink, never touching policy.json itself
CM=$TMP/cm
mkdir -p "$CM/..v1" "$CM/..v2"
policy 7 >"$CM/..v1/policy.json"
ln -s ..v1 "$CM/..data"
ln -s ..data/policy.json "$CM/policy.json"
kill "$AGENT" && wait "$AGENT" 2>/dev/null
nsenter --net="/run/netns/$NS" -- "$W" run --policy "$CM/policy.json" --interface rl0 --pin-path "$PIN" \
	--flows "file:$TMP/flows.json" </dev/null >>"$TMP/agent.log" 2>&1 &
AGENT=$!
check "ConfigMap layout: revision 7 in force" until_ok 10 rev_is 7
# cm_update REV DIR: revision REV written into ..DIR, then ..data swapped to it
cm_update() {
	policy "$1" >"$CM/..$2/policy.json"
	ln -sfn "..$2" "$CM/..data_tmp"
	mv -T "$CM/..data_tmp" "$CM/..data"
}
# reloads_in FILE N: FILE holds exactly N policy-reload audit records
reloads_in() { [ "$(grep -c '"event_code":"policy-reload"' "$1")" = "$2" ]; }
cm_update 8 v2
check "ConfigMap update (the ..data symlink swapped): revision 8 in force" until_ok 5 rev_is 8
# records reach the file on the writer's next tick: poll
check "reloads and rejections are audit records" until_ok 5 bash -c "
	grep -c '\"event_code\":\"policy-reload\"' '$TMP/flows.json' | grep -qx 5 &&
	grep -q '\"event_code\":\"policy-reject\"' '$TMP/flows.json'"

# logrotate: the flows file moved away, then SIGHUP. Records queued before
# the signal (its own policy-reload record included) go to the moved file;
# the agent then opens the path again and the next record lands there.
mv "$TMP/flows.json" "$TMP/flows.json.1"
kill -HUP "$AGENT"
check "SIGHUP: the moved file gets the SIGHUP reload record" until_ok 5 reloads_in "$TMP/flows.json.1" 6
check "  and a new flows file is opened at the path" until_ok 5 test -e "$TMP/flows.json"
cm_update 9 v1
check "  revision 9 in force" until_ok 5 rev_is 9
new_file_only() { reloads_in "$TMP/flows.json" 1 && reloads_in "$TMP/flows.json.1" 6; }
check "  its reload record is in the new file, not the moved one" until_ok 5 new_file_only
check "  the new file is not world-readable" bash -c "[ \$(( 0\$(stat -c %a '$TMP/flows.json') & 7 )) = 0 ]"

# an upgrade or a resize that cannot adopt the pinned maps is refused
# with a clear message, and changes nothing
nsenter --net="/run/netns/$NS" -- "$W" run --policy "$POL" --interface rl0 --pin-path "$PIN" \
	--flows none --control-socket none --ct-size 4096 </dev/null >"$TMP/second.log" 2>&1
check "a second agent asking for other map sizes exits 3" test $? = 3
check "  and says which map and why" grep -q "ward_ct: pinned with 262144 entries, this agent asks for 4096" "$TMP/second.log"
check "  the running policy is untouched" rev_is 9
# refused: WHAT LOG MESSAGE: an agent started on the pins of $OLD exits 3,
# says MESSAGE and attaches nothing
refused() {
	nsenter --net="/run/netns/$NS" -- "$W" run --policy "$POL" --interface rl1 --pin-path "$OLD" \
		--flows none </dev/null >"$TMP/$2" 2>&1
	check "$1: exit 3" test $? = 3
	check "  and says so: $3" grep -q "$3" "$TMP/$2"
	check "  and nothing attached" bash -c "! ip -n '$NS' -d link show rl1 | grep -q prog/xdp"
	rm -rf "$OLD"
}
mkdir -p "$OLD"
bpftool map create "$OLD/ward_meta" type array key 4 value 64 entries 1 name ward_meta
refused "maps pinned by a build with another layout" old.log \
	"ward_meta: pinned by a build with another layout"
# a policy in force published by a build of ABI 2 (LPM tries): its programs
# would not see this build's tables, so adopting it is refused
mkdir -p "$OLD"
bpftool map create "$OLD/ward_meta" type array key 4 value 128 entries 1 name ward_meta
meta=()
for i in $(seq 0 127); do meta+=(0); done
meta[116]=2 # ward_meta.abi_version (offset 116, little endian)
bpftool map update pinned "$OLD/ward_meta" key 0 0 0 0 value "${meta[@]}"
refused "a policy published by a build of another ABI" abi.log \
	"published by a build of ABI 2; this build is ABI 3"
[ "$F" = 0 ] || sed 's/^/# /' "$TMP/agent.log" "$TMP/second.log" "$TMP/old.log" "$TMP/abi.log" >&2
echo "$P passed, $F failed"
[ "$F" = 0 ]
