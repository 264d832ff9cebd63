#!/usr/bin/env bash
# Ward metrics test: the agent serves Prometheus metrics (ward run --metrics)
# inside the lab's node namespace (see lib.sh); the scraped text passes
# `promtool check metrics`, its counters move with known traffic and with a
# policy reload, and a real Prometheus server, run in the same namespace,
# scrapes the agent (up == 1, ward_ series queried through its HTTP API).
# Then the agent is restarted on [::1] and adopts the pinned state.
#
# Prints "ok N - ..." / "not ok N - ..." per check, diagnostics on stderr as
# "# ...", and ends with "P passed, F failed"; exits 1 on any failure,
# missing prerequisites included. Every wait is bounded; the EXIT trap ends
# the agent, Prometheus and the listeners by PID and removes the lab.
# LAB_KEEP=1 keeps the work dir.
# shellcheck disable=SC2016 # single-quoted strings are eval'd by check, on purpose
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_KIND="metrics"
# shellcheck source=tests/netns/lib.sh
. "$HERE/lib.sh"
POLICY_SRC=$HERE/lab-policy.json

METRICS_PORT=9470 # in the node namespace: nothing else listens there
PROM_PORT=9090
N=0
PASSED=0
FAILED=0
DONE=0
PROM_PID=
PROM_VAL=

pass() { N=$((N + 1)); PASSED=$((PASSED + 1)); echo "ok $N - $*"; }
fail() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
check() {
	local desc=$1
	shift
	if "$@"; then pass "$desc"; else fail "$desc"; fi
}

diagnostics() {
	[ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ] || return 0
	agent_log_tail 25
	if [ -f "$LAB_DIR/prometheus.log" ]; then
		echo "# --- last lines of the Prometheus log" >&2
		tail -n 10 "$LAB_DIR/prometheus.log" | sed 's/^/#   /' >&2
	fi
	if [ -f "$LAB_DIR/promtool.out" ]; then
		echo "# --- promtool check metrics" >&2
		head -n 20 "$LAB_DIR/promtool.out" | sed 's/^/#   /' >&2
	fi
}

on_exit() {
	local rc=$?
	set +e
	trap - INT TERM
	if [ "$DONE" != 1 ]; then
		fail "test script ran to completion (stopped with status $rc at line ${LAST_LINE:-?})"
	fi
	[ "$FAILED" -gt 0 ] && diagnostics
	lab_cleanup # ends PROM_PID too: it is in LAB_PIDS
	echo "$PASSED passed, $FAILED failed"
	if [ "$FAILED" -eq 0 ] && [ "$DONE" = 1 ]; then exit 0; fi
	exit 1
}
trap 'LAST_LINE=$LINENO' ERR
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- prerequisites -----------------------------------------------------------
why=
lab_require || why=$LAB_WHY
for t in promtool prometheus; do
	[ -n "$why" ] || command -v "$t" >/dev/null 2>&1 || why="missing tool: $t (apt-get install prometheus)"
done
if [ -z "$why" ] && [[ $("$WARD" run 2>&1 || true) != *--metrics* ]]; then
	why="$WARD has no --metrics option"
fi
if [ -n "$why" ]; then
	echo "# cannot run the metrics test: $why" >&2
	fail "prerequisites: $why"
	DONE=1
	exit 1
fi

# ---- helpers -------------------------------------------------------------------
# http METHOD URL OUT: request from the node namespace; body to OUT, prints
# "STATUS CONTENT-TYPE". Bounded to 10 s.
http() {
	in_ns node timeout 10 python3 - "$1" "$2" "$3" <<'PY' 2>>"$LAB_DIR/http.log" || echo "000 none"
import sys, urllib.request, urllib.error
method, url, out = sys.argv[1:4]
req = urllib.request.Request(url, method=method, data=b"x" if method == "POST" else None)
try:
    r = urllib.request.urlopen(req, timeout=5)
    code, ctype, body = r.status, r.headers.get("Content-Type", ""), r.read()
except urllib.error.HTTPError as e:
    code, ctype, body = e.code, e.headers.get("Content-Type", ""), e.read()
open(out, "wb").write(body)
print(code, ctype)
PY
}

SCRAPE=
SCRAPE_N=0
SCRAPE_STATUS=
# scrape [HOSTPORT]: GET /metrics into a new file $SCRAPE.
scrape() {
	SCRAPE_N=$((SCRAPE_N + 1))
	SCRAPE=$LAB_DIR/scrape-$SCRAPE_N.txt
	SCRAPE_STATUS=$(http GET "http://${1:-127.0.0.1:$METRICS_PORT}/metrics" "$SCRAPE")
}

# val FILE SERIES: the value of one series, exactly as printed (labels in
# the agent's order; label values may hold spaces), "" when absent.
val() {
	S=$2 awk 'BEGIN { s = ENVIRON["S"] }
		/^#/ { next }
		{ i = match($0, / [^ ]+$/) }
		i && substr($0, 1, i - 1) == s { print substr($0, i + 1); f = 1; exit }
		END { if (!f) print "" }' "$1"
}

# grew FILE_BEFORE FILE_AFTER SERIES [MIN]: the series went up by at least MIN (1).
grew() {
	local a b
	a=$(val "$1" "$3")
	b=$(val "$2" "$3")
	if [[ ! $a =~ ^[0-9]+$ || ! $b =~ ^[0-9]+$ ]] || [ $((b - a)) -lt "${4:-1}" ]; then
		echo "# $3: '$a' -> '$b'" >&2
		return 1
	fi
}

# is FILE SERIES VALUE
is() {
	local v
	v=$(val "$1" "$2")
	[ "$v" = "$3" ] || { echo "# $2 is '$v', expected '$3'" >&2; return 1; }
}

gt0() {
	local v
	v=$(val "$1" "$2")
	if [[ ! $v =~ ^[0-9]+$ ]] || [ "$v" -eq 0 ]; then
		echo "# $2 is '$v', expected > 0" >&2
		return 1
	fi
}

promtool_ok() {
	promtool check metrics <"$1" >"$LAB_DIR/promtool.out" 2>&1
}

# every series line is NAME{labels} VALUE with a ward_ name under a HELP and a TYPE
well_formed() {
	awk '
		/^# HELP / { help[$3] = 1; next }
		/^# TYPE / { type[$3] = $4; next }
		/^#/ { next }
		{
			name = $1; sub(/\{.*/, "", name)
			if (name !~ /^ward_/ || !(name in help) || !(name in type)) { print "# bad: " $0; bad = 1 }
			if (type[name] == "counter" && name !~ /_total$/) { print "# counter without _total: " name; bad = 1 }
			if ($NF !~ /^[0-9.e+-]+$/) { print "# bad value: " $0; bad = 1 }
			n++
		}
		END { exit bad || n < 20 }' "$1" >&2
}

# prom_query EXPR: the value of the first sample of an instant query against
# the Prometheus server, "" when the result is empty or the server is not up.
prom_query() {
	in_ns node timeout 10 python3 - "http://127.0.0.1:$PROM_PORT" "$1" <<'PY' 2>>"$LAB_DIR/http.log" || true
import sys, json, urllib.request, urllib.parse
base, q = sys.argv[1:3]
u = base + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
d = json.load(urllib.request.urlopen(u, timeout=5))
r = d["data"]["result"] if d.get("status") == "success" else []
print(r[0]["value"][1] if r else "")
PY
}

# prom_wait EXPR SECS: the query returns a sample within SECS seconds.
prom_wait() {
	local i v
	for ((i = 0; i < $2 * 2; i++)); do
		v=$(prom_query "$1")
		[ -n "$v" ] && { PROM_VAL=$v; return 0; }
		pid_alive "$PROM_PID" || { echo "# prometheus is gone" >&2; return 1; }
		sleep 0.5
	done
	echo "# no sample for $1 after $2 s" >&2
	return 1
}

# prom_is EXPR VALUE SECS: the query returns VALUE within SECS seconds.
prom_is() {
	prom_wait "$1" "$3" || return 1
	[ "$PROM_VAL" = "$2" ] || { echo "# $1 = '$PROM_VAL', expected '$2'" >&2; return 1; }
}

# rules_ok: the server evaluated every rule of docs/metrics.md without error,
# and no alert is pending or firing.
rules_ok() {
	in_ns node timeout 10 python3 - "http://127.0.0.1:$PROM_PORT" <<'PY' 2>>"$LAB_DIR/http.log"
import sys, json, urllib.request
d = json.load(urllib.request.urlopen(sys.argv[1] + "/api/v1/rules", timeout=5))
rules = [r for g in d["data"]["groups"] for r in g["rules"]]
bad = [r["name"] for r in rules if r.get("health") != "ok" or r.get("alerts")]
print("# rules: %d, not ok or alerting: %s" % (len(rules), bad), file=sys.stderr)
sys.exit(0 if len(rules) == 6 and not bad else 1)
PY
}

# wait_for SECS CMD...: CMD succeeds within SECS seconds (checked every 0.2 s).
wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 5; i++)); do
		"$@" 2>/dev/null && return 0
		sleep 0.2
	done
	"$@"
}

# metrics_up [HOSTPORT]: a scrape answers 200
metrics_up() {
	scrape "${1:-}"
	[ "${SCRAPE_STATUS%% *}" = 200 ]
}

# ---- lab -----------------------------------------------------------------------
lab_setup
POLICY=$LAB_DIR/policy.json
cp "$POLICY_SRC" "$POLICY"
lab_serve node tcp 8000
lab_serve node tcp 8001
lab_wait_listening node tcp 8000
lab_wait_listening node tcp 8001

agent_start "$POLICY" --metrics "127.0.0.1:$METRICS_PORT"
check "agent enforcing with --metrics" agent_wait_enforcing 15
check "metrics endpoint answers within 5 s" wait_for 5 metrics_up
S0=$SCRAPE
check "GET /metrics: 200, text/plain; version=0.0.4" \
	[ "$SCRAPE_STATUS" = "200 text/plain; version=0.0.4; charset=utf-8" ]
check "promtool check metrics passes" promtool_ok "$S0"
check "every sample is a ward_ metric with HELP and TYPE, counters end in _total" well_formed "$S0"
# the ABI the binary says it is: "ward VERSION (abi N)"
ABI=$("$WARD" version | sed -n 's/.*(abi \([0-9][0-9]*\))$/\1/p')
check "ward_agent_info has version and ABI ($ABI)" \
	grep -qE "^ward_agent_info\\{version=\"[^\"]+\",abi=\"$ABI\"\\} 1\$" "$S0"
check "ward_enforcing 1" is "$S0" ward_enforcing 1
check "ward_policy_info names the policy, its sha256 and mode" is "$S0" \
	"ward_policy_info{name=\"ward-lab\",sha256=\"$(sha256sum "$POLICY" | cut -d' ' -f1)\",mode=\"enforce\"}" 1
check "ward_policy_revision 7" is "$S0" ward_policy_revision 7
check "ward_policy_rules 9" is "$S0" ward_policy_rules 9
check "ward_policy_load_timestamp_seconds within the last 5 minutes" awk -v now="$(date +%s)" \
	'$1 == "ward_policy_load_timestamp_seconds" { ok = $2 > now - 300 && $2 <= now + 1 } END { exit !ok }' "$S0"
for ifc in "$IF_ALLOWED" "$IF_DENIED"; do
	check "ward_interface_attached $ifc 1" \
		grep -qE "^ward_interface_attached\\{interface=\"$ifc\",xdp_mode=\"(native|generic)\"\\} 1\$" "$S0"
done
check "ward_conntrack_capacity 262144" is "$S0" ward_conntrack_capacity 262144
check "ward_rate_limit_capacity 65536" is "$S0" ward_rate_limit_capacity 65536
check "ward_events_lost_total by kind" is "$S0" 'ward_events_lost_total{kind="deny"}' 0
check "every verdict of both directions is listed" \
	[ "$(grep -c '^ward_verdict_packets_total{' "$S0")" -eq 28 ]
SINK="file:$LAB_DIR/flows.json"
records_written() { scrape && gt0 "$SCRAPE" "ward_records_written_total{sink=\"$SINK\"}"; }
check "records written to the file sink (agent start, policy load)" wait_for 5 records_written
check "ward_records_queue_lost_total 0" is "$SCRAPE" ward_records_queue_lost_total 0
S0=$SCRAPE

# ---- counters move with traffic -------------------------------------------------
API='ward_rule_packets_total{rule="api",direction="ingress",action="allow"}'
check "allowed probe tcp/8000 answered" probe_tcp allowed "$NODE_ALLOWED_V4" 8000
scrape
S1=$SCRAPE
check "allowed probe: $API grew" grew "$S0" "$S1" "$API"
check "allowed probe: ward_rule_bytes_total of rule api grew by >= 60" grew "$S0" "$S1" \
	'ward_rule_bytes_total{rule="api",direction="ingress",action="allow"}' 60
check "allowed probe: verdict pass_rule (ingress) grew" grew "$S0" "$S1" \
	'ward_verdict_packets_total{direction="ingress",verdict="pass_rule"}'
check "allowed probe: verdict pass_ct (ingress) grew" grew "$S0" "$S1" \
	'ward_verdict_packets_total{direction="ingress",verdict="pass_ct"}'
check "allowed probe: a conntrack entry" gt0 "$S1" ward_conntrack_entries

sleep 1 # the allowed connection's last packets (credited to rule api) are through
scrape
S1=$SCRAPE
check "denied client's probe gets no answer" eval '! probe_tcp denied "$NODE_DENIED_V4" 8000'
scrape
S2=$SCRAPE
check "denied probe: verdict drop_default (ingress) grew" grew "$S1" "$S2" \
	'ward_verdict_packets_total{direction="ingress",verdict="drop_default"}'
check "denied probe: ward_default_packets_total ingress deny grew" grew "$S1" "$S2" \
	'ward_default_packets_total{direction="ingress",action="deny"}'
check "denied probe: rule api did not move" is "$S2" "$API" "$(val "$S1" "$API")"
check "deny rule: tcp/8001 gets no answer" eval '! probe_tcp allowed "$NODE_ALLOWED_V4" 8001'
scrape
S3=$SCRAPE
check "deny rule: ward_rule_packets_total of api-8001-deny grew" grew "$S2" "$S3" \
	'ward_rule_packets_total{rule="api-8001-deny",direction="ingress",action="deny"}'
check "deny rule: verdict drop_rule (ingress) grew" grew "$S2" "$S3" \
	'ward_verdict_packets_total{direction="ingress",verdict="drop_rule"}'
check "after traffic: promtool check metrics passes" promtool_ok "$S3"

check "GET /other: 404" [ "$(http GET "http://127.0.0.1:$METRICS_PORT/other" "$LAB_DIR/404.txt" | cut -d' ' -f1)" = 404 ]
check "POST /metrics: 405" [ "$(http POST "http://127.0.0.1:$METRICS_PORT/metrics" "$LAB_DIR/405.txt" | cut -d' ' -f1)" = 405 ]

# ---- a real Prometheus server scrapes the agent ----------------------------------
# The alert rules of docs/metrics.md, loaded by the server.
python3 - "$LAB_ROOT/docs/metrics.md" >"$LAB_DIR/rules.yml" <<'PY'
import re, sys
blocks = re.findall(r"^```yaml\n(.*?)^```", open(sys.argv[1]).read(), re.S | re.M)
print(next(b for b in blocks if b.startswith("groups:")), end="")
PY
check "docs/metrics.md alert rules: promtool check rules" \
	eval 'promtool check rules "$LAB_DIR/rules.yml" >"$LAB_DIR/promtool.out" 2>&1'
cat >"$LAB_DIR/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: ["$LAB_DIR/rules.yml"]
scrape_configs:
  - job_name: ward
    static_configs:
      - targets: ["127.0.0.1:$METRICS_PORT"]
EOF
check "promtool check config" eval 'promtool check config "$LAB_DIR/prometheus.yml" >/dev/null 2>&1'
nsenter --net="/run/netns/$NS_NODE" -- timeout "$LAB_SERVER_TIMEOUT" prometheus \
	--config.file="$LAB_DIR/prometheus.yml" --storage.tsdb.path="$LAB_DIR/tsdb" \
	--web.listen-address="127.0.0.1:$PROM_PORT" \
	</dev/null >"$LAB_DIR/prometheus.log" 2>&1 &
PROM_PID=$!
LAB_PIDS+=("$PROM_PID")
check "prometheus: up{job=\"ward\"} == 1 within 30 s" prom_wait 'up{job="ward"} == 1' 30
check "prometheus: ward_policy_revision is 7" prom_is 'ward_policy_revision{job="ward"}' 7 10
check "prometheus: ward_rule_packets_total of rule api > 0" \
	prom_wait 'ward_rule_packets_total{job="ward",rule="api"} > 0' 10
check "prometheus: ward_interface_attached sums to 2" \
	prom_is 'sum(ward_interface_attached{job="ward"})' 2 10
check "prometheus: scrape_samples_scraped > 50" prom_wait 'scrape_samples_scraped{job="ward"} > 50' 10
check "prometheus: the alert rules of docs/metrics.md evaluate, none firing" wait_for 10 rules_ok

# ---- policy reload: revision, generation, load time; rule counters reset --------
# a name with a quote, a backslash and a newline: label escaping end to end
python3 - "$POLICY_SRC" "$POLICY.tmp" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["revision"], p["name"] = 8, 'lab "v8" \\ x\ny'
json.dump(p, open(sys.argv[2], "w"), indent=2)
PY
mv "$POLICY.tmp" "$POLICY"
kill -HUP "$LAB_AGENT_PID"
check "SIGHUP reload: ward_policy_revision 8 within 10 s" \
	wait_for 10 eval 'scrape; is "$SCRAPE" ward_policy_revision 8'
S4=$SCRAPE
# up by one per load: the SIGHUP's, and the agent's own if it watches the file
check "reload: ward_policy_generation went up" grew "$S3" "$S4" ward_policy_generation
check "reload: ward_policy_info has the new sha256, the name escaped" is "$S4" \
	"ward_policy_info{name=\"lab \\\"v8\\\" \\\\ x\\ny\",sha256=\"$(sha256sum "$POLICY" | cut -d' ' -f1)\",mode=\"enforce\"}" 1
check "reload: promtool check metrics passes" promtool_ok "$S4"
check "reload: rule counters start again from 0" is "$S4" "$API" 0
check "reload: verdict counters kept" grew "$S3" "$S4" \
	'ward_verdict_packets_total{direction="ingress",verdict="pass_rule"}' 0
check "prometheus sees revision 8 within 10 s" prom_wait 'ward_policy_revision{job="ward"} == 8' 10
check "prometheus parsed the escaped name" \
	prom_wait 'ward_policy_info{job="ward",name="lab \"v8\" \\ x\ny"} == 1' 10

# ---- stop, and restart on [::1] adopting the pinned state ------------------------
AGENT=$LAB_AGENT_PID
kill -TERM "$AGENT"
rc=0
for ((i = 0; i < 100; i++)); do pid_alive "$AGENT" || break; sleep 0.1; done
if pid_alive "$AGENT"; then rc=timeout; else wait "$AGENT" || rc=$?; fi
check "agent with --metrics exits 0 on SIGTERM within 10 s (got $rc)" [ "$rc" = 0 ]
LAB_AGENT_PID=
check "metrics port closed after the agent stopped" \
	eval '! in_ns node ss -Hltn "sport = :$METRICS_PORT" | grep -q .'

# an address in use (Prometheus's): the agent says so and exits 3, enforcement stays
agent_start "$POLICY" --metrics "127.0.0.1:$PROM_PORT"
rc=0
for ((i = 0; i < 100; i++)); do pid_alive "$LAB_AGENT_PID" || break; sleep 0.1; done
if pid_alive "$LAB_AGENT_PID"; then rc=timeout; else wait "$LAB_AGENT_PID" || rc=$?; fi
check "--metrics on an address in use: exit 3 within 10 s (got $rc)" [ "$rc" = 3 ]
check "--metrics on an address in use: the log says why" \
	grep -q "cannot serve metrics on 127.0.0.1:$PROM_PORT: .*Address already in use" "$LAB_AGENT_LOG"
LAB_AGENT_PID=
check "still enforcing (pinned) after that agent exited" eval 'ward_node status >/dev/null'
stop_pid "$PROM_PID" TERM 10

# plus an interface whose name is not UTF-8 (the kernel allows it): its label
# gets U+FFFD, and the quote is escaped; and a sink given twice (one series each)
BADIF=$'w\xff"1'
ip -n "$NS_NODE" link add "$BADIF" type veth peer name m-peer
ip -n "$NS_NODE" link set "$BADIF" up
ip -n "$NS_NODE" link set m-peer up
agent_start "$POLICY" --metrics "[::1]:$METRICS_PORT" --interface "$BADIF" \
	--flows stdout --flows stdout
check "restarted agent enforcing" agent_wait_enforcing 15
check "metrics on [::1] answer within 5 s" wait_for 5 metrics_up "[::1]:$METRICS_PORT"
check "[::1] scrape: promtool check metrics passes" promtool_ok "$SCRAPE"
check "[::1] scrape: verdict counters survived the restart" grew "$S4" "$SCRAPE" \
	'ward_verdict_packets_total{direction="ingress",verdict="drop_default"}' 0
check "[::1] scrape: revision 8 adopted" is "$SCRAPE" ward_policy_revision 8
check "[::1] scrape: a name that is not UTF-8 is labelled with U+FFFD" \
	grep -qE $'^ward_interface_attached\\{interface="w\xef\xbf\xbd\\\\"1",xdp_mode="(native|generic)"\\} 1$' "$SCRAPE"
check "[::1] scrape: the sink given twice is told apart" eval \
	'grep -q "^ward_records_written_total{sink=\"stdout\"} " "$SCRAPE" &&
	 grep -q "^ward_records_written_total{sink=\"stdout#2\"} " "$SCRAPE"'
check "nothing listens on 127.0.0.1:$METRICS_PORT" \
	eval '! in_ns node ss -Hltn "src 127.0.0.1 and sport = :$METRICS_PORT" | grep -q .'

DONE=1
