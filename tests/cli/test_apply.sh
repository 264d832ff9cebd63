#!/usr/bin/env bash
# shellcheck disable=SC2016 # single-quoted strings are python, on purpose
# ward apply / ward confirm (agent/cmd_apply.c, agent/control.c):
#   1. the client against a fake agent (python): the request it sends, how it
#      prints replies, exit codes; no root needed for this part;
#   2. the real agent (`ward run --control-socket`) in a lab of network
#      namespaces (tests/netns/lib.sh): apply valid, apply invalid, rollback
#      after --confirm-within, confirm, non-root peers refused, a stuck client,
#      an oversized request, rollback when the agent stops during a trial.
# One line per check ("ok N - ..." / "not ok N - ..."), ends with
# "P passed, F failed"; exit 1 on any failure, including when a part cannot
# run (no root, no bpffs, an agent without --control-socket). Cleans up on
# EXIT. LAB_KEEP=1 keeps the work dir (agent log, probes).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LAB_KIND="apply"
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"
W=$WARD
PY=/usr/bin/python3

N=0
PASSED=0
FAILED=0
DONE=0
FAKE_PID=
TMP=$(mktemp -d /tmp/ward-apply-client.XXXXXX)

pass() { N=$((N + 1)); PASSED=$((PASSED + 1)); echo "ok $N - $*"; }
fail() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
# check DESCRIPTION CMD...: one numbered line from CMD's exit status; CMD's
# output goes to $TMP/out, shown on failure.
check() {
	local desc=$1
	shift
	if "$@" >"$TMP/out" 2>&1; then
		pass "$desc"
	else
		fail "$desc"
		sed 's/^/#   /' "$TMP/out" | head -25 >&2
	fi
}
# rc_is WANT CMD...: CMD exits WANT; its stdout/stderr in $TMP/rc.out, .err.
rc_is() {
	local want=$1 got
	shift
	"$@" >"$TMP/rc.out" 2>"$TMP/rc.err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "exit $got, want $want: $*"
		cat "$TMP/rc.out" "$TMP/rc.err"
		return 1
	fi
}
has() { grep -qF -- "$2" "$1" || { echo "'$2' not in $1:"; cat "$1"; return 1; }; }

on_exit() {
	local rc=$?
	set +e
	trap - INT TERM
	[ "$DONE" = 1 ] || fail "test script ran to completion (stopped with status $rc)"
	if [ "$FAILED" -gt 0 ] && [ -n "$LAB_DIR" ]; then agent_log_tail 30; fi
	[ -n "$FAKE_PID" ] && stop_pid "$FAKE_PID" TERM 2
	lab_cleanup
	rm -rf -- "$TMP"
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ] && [ "$DONE" = 1 ] && exit 0
	exit 1
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- policies -----------------------------------------------------------------
# v7: the lab policy (revision 7). v8: v7 plus tcp/8200 from the allowed
# client. v9: v7 again as revision 9 (8200 closed). bad: located errors.
LAB_POLICY=$ROOT/tests/netns/lab-policy.json
$PY - "$LAB_POLICY" "$TMP" <<'PY'
import json, sys
src, out = sys.argv[1], sys.argv[2]
p = json.load(open(src))
def write(name, rev, extra):
    q = json.loads(json.dumps(p))
    q["revision"] = rev
    q["ingress"] += extra
    json.dump(q, open(f"{out}/{name}.json", "w"), indent=2)
write("v8", 8, [{"id": "new-api", "from": ["allowed"], "proto": "tcp", "ports": [8200]}])
write("v9", 9, [])
# v8 and 25 copies of its new rule: 26 or more warnings (shadowed rules)
write("warn", 8, [{"id": "new-api", "from": ["allowed"], "proto": "tcp", "ports": [8200]}] +
      [{"id": f"copy-{i:02d}", "from": ["allowed"], "proto": "tcp", "ports": [8200]} for i in range(25)])
PY
cat >"$TMP/bad.json" <<'P'
{
  "version": 1,
  "name": "bad",
  "ingress": [
    { "id": "x", "from": ["nosuchgroup"], "proto": "tcp", "ports": [70000] }
  ]
}
P
chmod 0755 "$TMP"
chmod 0644 "$TMP"/*.json

# ---- 1. the client against a fake agent --------------------------------------
# fake_agent SOCKET REPLY-JSON: serve one connection: save the request to
# $TMP/request.json, answer REPLY-JSON.
fake_agent() {
	rm -f "$1" "$TMP/request.json"
	$PY - "$1" "$2" "$TMP/request.json" <<'PY' &
import os, socket, sys
path, reply, saved = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(1); s.settimeout(20)
c, _ = s.accept(); c.settimeout(20)
data = b""
while True:
    b = c.recv(1 << 20)
    if not b: break
    data += b
open(saved, "wb").write(data)
c.sendall(reply.encode() + b"\n"); c.close(); s.close(); os.unlink(path)
PY
	FAKE_PID=$!
	for _ in $(seq 50); do [ -S "$1" ] && return 0; sleep 0.1; done
	echo "fake agent did not start" >&2
	return 1
}
fake_done() { wait "$FAKE_PID" 2>/dev/null; FAKE_PID=; }

FS=$TMP/fake.sock
check "apply --help: man page on stdout, exit 0" \
	bash -c "$W apply --help | grep -q '^EXIT STATUS' && $W confirm --help | grep -q '^SYNOPSIS'"
check "apply without POLICY is a usage error (2)" rc_is 2 "$W" apply --socket "$FS"
check "apply --confirm-within 0 is a usage error (2)" rc_is 2 "$W" apply "$TMP/v8.json" --confirm-within 0 --socket "$FS"
check "apply --confirm-within 5x is a usage error (2)" rc_is 2 "$W" apply "$TMP/v8.json" --confirm-within 5x --socket "$FS"
check "confirm with an argument is a usage error (2)" rc_is 2 "$W" confirm extra --socket "$FS"
check "apply --socket with --pin-path is a usage error (2)" rc_is 2 "$W" apply "$TMP/v8.json" --socket "$FS" --pin-path /sys/fs/bpf/x
missing_file() {
	"$W" apply /nonexistent.json --socket "$FS" 2>"$TMP/e"
	[ $? -eq 1 ] && has "$TMP/e" '/nonexistent.json: cannot read'
}
no_agent() {
	"$W" apply "$TMP/v8.json" --socket "$TMP/none.sock" 2>"$TMP/e"
	[ $? -eq 3 ] && has "$TMP/e" "cannot reach the agent at $TMP/none.sock"
}
check "apply of a missing file: exit 1" missing_file
check "apply with no agent listening: exit 3, says so" no_agent
check "confirm with no agent listening: exit 3" rc_is 3 "$W" confirm --socket "$TMP/none.sock"

if fake_agent "$FS" '{"ok":true,"name":"ward-lab","revision":8,"warnings":"","rollback_to":{"name":"ward-lab","revision":7}}'; then
	( cd "$TMP" && "$W" apply v8.json --confirm-within 30 --socket "$FS" ) >"$TMP/o" 2>"$TMP/e"
	rc=$?
	fake_done
	check "apply: exit 0 on ok, prints the revision and the rollback deadline" \
		bash -c "test $rc -eq 0 && grep -q 'policy \"ward-lab\" revision 8 in force' $TMP/o && grep -q 'unless .ward confirm. reaches it within 30 s' $TMP/o"
	check "apply: the request carries cmd, the absolute path, the file's exact bytes, confirm_within" \
		$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); t=open(sys.argv[2]).read(); assert r=={"cmd":"apply","policy_path":sys.argv[2],"policy_text":t,"confirm_within":30}, r' \
		"$TMP/request.json" "$TMP/v8.json"
else
	fail "fake agent (apply ok)"
fi
if fake_agent "$FS" '{"ok":false,"kind":"invalid","errors":"/p.json:5:30: /ingress/0/from/0: \"nosuchgroup\": unknown group\n"}'; then
	"$W" apply "$TMP/bad.json" --socket "$FS" >"$TMP/o" 2>"$TMP/e"
	rc=$?
	fake_done
	check "apply: an invalid policy exits 1, errors on stderr as the agent sent them, nothing on stdout" \
		bash -c "test $rc -eq 1 && head -1 $TMP/e | grep -qx '/p.json:5:30: /ingress/0/from/0: \"nosuchgroup\": unknown group' && ! test -s $TMP/o"
else
	fail "fake agent (apply invalid)"
fi
if fake_agent "$FS" '{"ok":false,"kind":"denied","errors":"permission denied: the agent serves root only (you are uid 1000)"}'; then
	"$W" confirm --socket "$FS" >"$TMP/o" 2>"$TMP/e"
	rc=$?
	fake_done
	check "confirm: a refusal exits 3 with the agent's reason; the request is {\"cmd\":\"confirm\"}" \
		bash -c "test $rc -eq 3 && grep -q 'serves root only' $TMP/e && $PY -c 'import json; assert json.load(open(\"$TMP/request.json\"))=={\"cmd\":\"confirm\"}'"
else
	fail "fake agent (confirm denied)"
fi
if fake_agent "$FS" '{"ok":false,"kind":"invalid","errors":"nothing to confirm"}'; then
	"$W" confirm --socket "$FS" --json >"$TMP/o" 2>"$TMP/e"
	rc=$?
	fake_done
	check "confirm --json: the reply as JSON on stdout, exit 1 when nothing to confirm" \
		bash -c "test $rc -eq 1 && $PY -c 'import json; j=json.load(open(\"$TMP/o\")); assert j[\"ok\"] is False and j[\"errors\"]==\"nothing to confirm\"'"
else
	fail "fake agent (confirm --json)"
fi

# ---- 2. the real agent --------------------------------------------------------
# the option exists when ward run does not call it unrecognized (nothing
# runs: without --policy and --interface it is a usage error)
if "$W" run --control-socket "$TMP/probe.sock" 2>&1 | grep -q "unrecognized option '--control-socket'"; then
	fail "the agent has --control-socket (ward run --help): the agent-side checks cannot run"
	DONE=1
	exit 1
fi
if ! lab_require; then
	fail "prerequisites: $LAB_WHY"
	DONE=1
	exit 1
fi
lab_setup
SOCK=$TMP/ctl/ward.sock # under $TMP (0755): uid 65534 can reach it when allowed to
CFG=$TMP/agent.json
printf '{ "control_socket": "%s", "log_level": "info" }\n' "$SOCK" >"$CFG"
lab_serve node tcp 8200
lab_wait_listening node tcp 8200 || true
agent_start "$LAB_POLICY" --config "$CFG"
if ! agent_wait_enforcing 15; then
	fail "agent enforcing (ward status exits 0)"
	DONE=1
	exit 1
fi

revision() { # the revision ward status --json reports
	ward_node status --json 2>/dev/null | $PY -c 'import json,sys; print(json.load(sys.stdin)["policy"]["revision"])'
}
revision_is() { local r; r=$(revision); [ "$r" = "$1" ] || { echo "revision $r, want $1"; return 1; }; }
apply() { "$W" apply "$@" --socket "$SOCK"; }
# wait_revision REV SECS: 0 once status shows REV.
wait_revision() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[ "$(revision)" = "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
port_8200() { probe_tcp allowed "$NODE_ALLOWED_V4" 8200; }

check "the socket is 0600 and its directory 0750, both root's" \
	bash -c "test \"\$(stat -c %a:%U $SOCK)\" = 600:root && test \"\$(stat -c %a:%U $(dirname "$SOCK"))\" = 750:root"
not_ok() { ! "$@"; }
apply_v8() { apply "$TMP/v8.json" >"$TMP/o" && has "$TMP/o" 'policy "ward-lab" revision 8 in force'; }
check "start: revision 7" revision_is 7
check "start: tcp/8200 from the allowed client is blocked" not_ok port_8200

check "apply v8: exit 0, revision 8 in force" apply_v8
check "apply v8: ward status --json shows revision 8" revision_is 8
check "apply v8: tcp/8200 now answers (the new rule is enforced)" port_8200
check "apply v8 through --config FILE (its control_socket): exit 0" rc_is 0 "$W" apply "$TMP/v8.json" --config "$CFG"

# the errors ward check prints, exactly, from the agent
ABS_BAD=$(readlink -f "$TMP/bad.json")
"$W" check "$ABS_BAD" 2>&1 | grep -v ': invalid: ' >"$TMP/check.err"
apply "$TMP/bad.json" >"$TMP/o" 2>"$TMP/e"
rc=$?
check "apply invalid: exit 1" test "$rc" -eq 1
check "apply invalid: the located errors are ward check's, FILE:LINE:COL: /pointer: value: reason" \
	diff -u "$TMP/check.err" <(grep -v '^ward apply: ' "$TMP/e")
check "apply invalid: at least one error, located" grep -q "^$ABS_BAD:5:[0-9]*: /ingress/0/" "$TMP/e"
check "apply invalid: says the agent keeps its policy" grep -q 'keeps the policy it had' "$TMP/e"
check "apply invalid: still revision 8" revision_is 8
check "apply invalid: tcp/8200 still answers (the old policy is still enforced)" port_8200

nothing_pending() { rc_is 1 "$W" confirm --socket "$SOCK" && has "$TMP/rc.err" 'nothing to confirm'; }
check "confirm with nothing pending: exit 1, 'nothing to confirm'" nothing_pending

# rollback without confirm
t0=$EPOCHREALTIME
apply "$TMP/v9.json" --confirm-within 2 >"$TMP/o" 2>&1
rc=$?
check "apply v9 --confirm-within 2: exit 0, says it rolls back unless confirmed" \
	bash -c "test $rc -eq 0 && grep -q 'rolls back to the previous policy unless' $TMP/o"
check "apply v9 --confirm-within 2: revision 9 in force at once" revision_is 9
wait_revision 8 8 >/dev/null
took=$($PY -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$EPOCHREALTIME")
check "no confirm: rolled back to revision 8 about 2 s after the apply (${took} s)" \
	$PY -c "import sys; assert 1.8 <= float(sys.argv[1]) <= 4.5" "$took"
check "rolled back: tcp/8200 answers again" port_8200
check "rolled back: the agent log says so" grep -q 'no ward confirm in time: rolling back' "$LAB_AGENT_LOG"
check "confirm after the rollback: nothing to confirm (exit 1)" rc_is 1 "$W" confirm --socket "$SOCK"

# confirmed in time: kept
apply "$TMP/v9.json" --confirm-within 3 >/dev/null 2>&1
confirmed() { "$W" confirm --socket "$SOCK" >"$TMP/o" && has "$TMP/o" 'revision 9 confirmed'; }
check "apply v9 --confirm-within 3, then confirm: exit 0" confirmed
sleep 4
check "confirmed: still revision 9 after the deadline" revision_is 9
check "confirmed v9: tcp/8200 closed (v9 is enforced)" not_ok port_8200

# non-root peers
check "uid 65534: cannot even connect (directory 0750): exit 3" \
	rc_is 3 setpriv --reuid=65534 --regid=65534 --clear-groups "$W" apply "$TMP/v8.json" --socket "$SOCK"
chmod 0755 "$(dirname "$SOCK")"
chmod 0666 "$SOCK"
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
refused() { rc_is 3 nobody "$W" apply "$TMP/v8.json" --socket "$SOCK" && has "$TMP/rc.err" 'serves root only'; }
check "uid 65534 on an open socket: refused by the agent (SO_PEERCRED), exit 3" refused
check "uid 65534 confirm: refused too, exit 3" \
	rc_is 3 nobody "$W" confirm --socket "$SOCK"
chmod 0750 "$(dirname "$SOCK")"
chmod 0600 "$SOCK"
check "refused: still revision 9" revision_is 9
check "refused: the agent logged the refusal" grep -q 'refused pid .* uid 65534' "$LAB_AGENT_LOG"

# a client that connects and sends nothing does not hold the agent up
timeout 15 $PY -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1]); time.sleep(14)' "$SOCK" 2>/dev/null &
LAB_PIDS+=($!)
sleep 0.3
start=$SECONDS
check "a stuck client: apply still served, at once" \
	bash -c "timeout 5 $W apply $TMP/v8.json --socket $SOCK >/dev/null"
check "a stuck client: served within 2 s" test $((SECONDS - start)) -le 2
check "revision 8 after the apply beside the stuck client" revision_is 8

# more warnings than the agent logs: the client prints them all, the
# agent's log the first 20 and one line that counts the rest
LOG_AT=$(wc -l <"$LAB_AGENT_LOG")
apply "$TMP/warn.json" >"$TMP/o" 2>"$TMP/e"
check "apply of a policy with many warnings: exit 0" test $? -eq 0
NW=$(grep -c ': warning: ' "$TMP/e")
check "many warnings: the client prints every one ($NW)" test "$NW" -ge 26
tail -n +"$((LOG_AT + 1))" "$LAB_AGENT_LOG" >"$TMP/wlog"
check "many warnings: the agent logs 20 of them ($(grep -c ': warning: ' "$TMP/wlog"))" \
	test "$(grep -c ': warning: ' "$TMP/wlog")" -eq 20
check "many warnings: and counts the $((NW - 20)) others in one line that names ward check" \
	grep -q "and $((NW - 20)) more warnings (ward check .* lists them all)" "$TMP/wlog"
apply "$TMP/v8.json" >/dev/null 2>&1
check "v8 again after the policy with many warnings" revision_is 8

# a request over the limit is answered, not read to the end
$PY - "$SOCK" >"$TMP/o" 2>&1 <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1]); s.settimeout(20)
chunk = b" " * (1 << 20)
try:
    for _ in range(65):
        s.sendall(chunk)
except OSError:
    pass
try:
    s.shutdown(socket.SHUT_WR)
except OSError:
    pass
data = b""
while True:
    try:
        b = s.recv(65536)
    except ConnectionResetError:
        break  # after the answer: the agent did not read it all
    if not b: break
    data += b
print(data.decode())
PY
check "a request over 64 MiB: refused with a reason" has "$TMP/o" 'request larger than 64 MiB'
check "garbage request: a JSON error reply" \
	bash -c "printf 'hello' | socat -t 5 - UNIX-CONNECT:$SOCK | $PY -c 'import json,sys; j=json.load(sys.stdin); assert j[\"ok\"] is False and j[\"kind\"]==\"invalid\", j'"
check "agent still serving after all that (revision 8)" revision_is 8

# stopping the agent during a trial puts the kept policy back
apply "$TMP/v9.json" --confirm-within 60 >/dev/null 2>&1
check "on trial: revision 9" revision_is 9
stop_pid "$LAB_AGENT_PID" TERM 10
LAB_AGENT_PID=
check "agent stopped during a trial: revision 8 is what stays pinned" revision_is 8
check "agent stopped: the socket is gone" test ! -e "$SOCK"
check "agent stopped: apply exits 3 (unreachable)" rc_is 3 "$W" apply "$TMP/v8.json" --socket "$SOCK"

DONE=1
