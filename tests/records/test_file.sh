#!/usr/bin/env bash
# The file sink end to end, through build/tests/rec_tool and a real pipeline:
# OCSF validity (plain and gzip), rotation without loss or duplicates,
# retention, age rotation, reopening on SIGHUP, ECS keys, a full disk (a
# tiny tmpfs), and the throughput of the file sink. Ends with "N passed,
# N failed".
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
TOOL=$BUILD/tests/rec_tool
OCSF_CHECK=${OCSF_CHECK:-tests/lib/ocsf-check}
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { # description, command...
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}

tmp=$(mktemp -d /tmp/ward-records.XXXXXX)
mnt=""
cleanup() {
	[ -n "$mnt" ] && mountpoint -q "$mnt" && umount "$mnt"
	rm -rf "$tmp"
}
trap cleanup EXIT

if [ ! -x "$TOOL" ]; then
	bad "$TOOL is built (make $TOOL)"
	echo "$pass passed, $fail failed"
	exit 1
fi

# "emitted N written W lost L" -> the field after $2
field() { awk -v k="$2" '/^emitted /{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' "$1"; }

# Every line of the files (gzip or not) in one stream, in rotation order:
# oldest rotated file first, the live file last.
all_lines() { # base path
	local base=$1 n
	n=$(ls "$base".* 2>/dev/null | sed -n 's/.*\.\([0-9]\+\)\(\.gz\)\?$/\1/p' | sort -n | tail -1)
	for ((i = ${n:-0}; i >= 1; i--)); do
		if [ -e "$base.$i.gz" ]; then zcat "$base.$i.gz"; elif [ -e "$base.$i" ]; then cat "$base.$i"; fi
	done
	cat "$base"
}

# Sequence numbers FIRST..LAST each exactly once and in order, no other
# records, every line JSON.
seq_range() { # FIRST, LAST, reads lines on stdin
	python3 -c '
import json, sys
a, b = int(sys.argv[1]), int(sys.argv[2]); seqs = []
for line in sys.stdin:
    r = json.loads(line)
    seqs.append(r["metadata"]["sequence"])
ok = seqs == list(range(a, b + 1))
if not ok:
    print("lines %d, distinct %d, min %s, max %s" % (len(seqs), len(set(seqs)), min(seqs, default=None), max(seqs, default=None)))
sys.exit(0 if ok else 1)' "$1" "$2"
}
seq_exact() { seq_range 1 "$1"; } # N
seq_in() { seq_range "$2" "$3" <"$1"; } # file (missing: a failure), FIRST, LAST

# ---- 1. OCSF validity, plain and gzip ------------------------------------------------
echo "--- OCSF output passes ocsf-check"
f=$tmp/ocsf/flows.json
mkdir -p "$tmp/ocsf"
"$TOOL" --sink "file:$f,max_bytes=2000000,gzip=1" --count 5000 --kinds all --seed 7 \
	--expect "$tmp/ocsf/expect.json" >"$tmp/ocsf/out" 2>&1
check "rec_tool wrote 5000 records to the file sink" grep -q '^emitted 5000 written 5000 lost 0$' "$tmp/ocsf/out"
if [ -x "$OCSF_CHECK" ]; then
	check "ocsf-check: live file" "$OCSF_CHECK" "$f"
	check "ocsf-check: rotated .gz files" "$OCSF_CHECK" "$f".*.gz
else
	bad "ocsf-check found at $OCSF_CHECK"
fi
check "the files hold exactly the expected lines" cmp -s <(all_lines "$f") "$tmp/ocsf/expect.json"

# ---- 2. rotation: no loss, no duplicate --------------------------------------------
echo "--- rotation by size with gzip: 200000 records"
N=200000
d=$tmp/rot
mkdir -p "$d"
"$TOOL" --sink "file:$d/flows.json,max_bytes=40000000,gzip=1" --count $N >"$d/out" 2>&1
check "rec_tool: written $N lost 0" grep -q "^emitted $N written $N lost 0$" "$d/out"
nrot=$(ls "$d"/flows.json.*.gz 2>/dev/null | wc -l)
check "at least 5 rotations (got $nrot)" test "$nrot" -ge 5
check "no uncompressed or temporary rotated files" test -z "$(ls "$d" | grep -E '\.[0-9]+$|\.tmp$')"
check "every line present once, sequence 1..$N in order" seq_exact $N < <(all_lines "$d/flows.json")
check "live and rotated files are 0640" \
	test "$(stat -c %a "$d/flows.json" "$d"/flows.json.*.gz | sort -u)" = 640
check "rotated files are gzip" gzip -t "$d"/flows.json.*.gz

# ---- 3. retention ----------------------------------------------------------------------
echo "--- retention keep=2"
d=$tmp/keep
mkdir -p "$d"
"$TOOL" --sink "file:$d/flows.json,max_bytes=1000000,keep=2,gzip=1" --count 20000 >"$d/out" 2>&1
check "rec_tool: no loss" grep -q '^emitted 20000 written 20000 lost 0$' "$d/out"
check "exactly 2 rotated files: $(ls "$d" | grep -c 'flows.json\.')" \
	test "$(ls "$d" | grep 'flows.json\.' | tr '\n' ' ')" = "flows.json.1.gz flows.json.2.gz "
# the newest lines survive: the live file ends with the last record
check "the live file ends with sequence 20000" \
	python3 -c 'import json,sys; l=open(sys.argv[1]).read().splitlines(); sys.exit(json.loads(l[-1])["metadata"]["sequence"] != 20000)' "$d/flows.json"
"$TOOL" --sink "file:$d/flows.json,max_bytes=1000000,keep=2,gzip=0" --count 5000 >"$d/out2" 2>&1
check "keep=2 still holds across a restart with gzip=0" \
	test "$(ls "$d" | grep -c 'flows.json\.')" -eq 2

# ---- 4. age rotation -----------------------------------------------------------------
echo "--- rotation by age (max_age=1, 4.5 s of records)"
d=$tmp/age
mkdir -p "$d"
"$TOOL" --sink "file:$d/flows.json,max_age=1" --count 450 --rate 100 >"$d/out" 2>&1
nrot=$(ls "$d"/flows.json.* 2>/dev/null | wc -l)
check "at least 2 age rotations (got $nrot)" test "$nrot" -ge 2
check "age rotation: every line once" seq_exact 450 < <(all_lines "$d/flows.json")

# ---- 5. reopen on SIGHUP (logrotate: move the file away, then SIGHUP) --------------------
echo "--- reopen on SIGHUP"
d=$tmp/hup
mkdir -p "$d"
timeout 60 "$TOOL" --sink "file:$d/flows.json" --count 400 --rate 100 >"$d/out" 2>"$d/err" &
tp=$!
sleep 1.5
mv "$d/flows.json" "$d/flows.json.moved"
kill -HUP "$(pgrep -P $tp)"
wait $tp
k=$(sed -n 's/^rec_tool: SIGHUP after \([0-9]*\) records.*/\1/p' "$d/err")
check "reopen: no record lost" grep -q '^emitted 400 written 400 lost 0$' "$d/out"
check "reopen: records 1..${k:-?} (before the SIGHUP) all in the moved file, in order" \
	seq_in "$d/flows.json.moved" 1 "${k:-0}"
check "reopen: records $((${k:-0} + 1))..400 in a new file, in order" \
	seq_in "$d/flows.json" $((${k:-0} + 1)) 400
check "reopen: the new file is 0640" test "$(stat -c %a "$d/flows.json")" = 640

# ---- 6. ECS ---------------------------------------------------------------------------
echo "--- ECS output"
d=$tmp/ecs
mkdir -p "$d"
"$TOOL" --sink "file:$d/flows.json,format=ecs" --count 3000 --kinds all >"$d/out" 2>&1
check "rec_tool: ECS written" grep -q '^emitted 3000 written 3000 lost 0$' "$d/out"
check "ECS lines are JSON with the expected keys" python3 -c '
import json, sys
need_all = ["@timestamp", "event.kind", "event.category", "event.type", "event.action",
            "event.outcome", "event.sequence", "observer.hostname", "observer.type",
            "observer.product", "ecs.version"]
need_net = ["source.ip", "destination.ip", "network.iana_number", "network.type",
            "network.direction", "network.bytes", "network.packets", "source.bytes",
            "destination.packets", "rule.id", "rule.name", "rule.version", "rule.ruleset",
            "event.start", "event.end", "event.duration", "labels.policy_sha256"]
def get(d, path):
    for k in path.split("."):
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d
bad = 0
for n, line in enumerate(open(sys.argv[1]), 1):
    r = json.loads(line)
    keys = need_all + (need_net if "network" in r["event"]["category"] and "records_lost" not in r.get("ward", {}) else [])
    if r["event"].get("action") == "rate-limit":
        # a client'"'"'s sum over every destination: the client only
        keys = [k for k in keys if not k.startswith("destination.")]
    miss = [k for k in keys if get(r, k) is None]
    if miss or r["event"]["kind"] != "event" or r["observer"]["type"] != "firewall":
        bad += 1
        if bad < 5:
            print("line %d: missing %s" % (n, miss))
    if "network" in r["event"]["category"] and "network" in r and r["network"]["direction"] not in ("ingress", "egress"):
        bad += 1
sys.exit(1 if bad else 0)' "$d/flows.json"

# ---- 7. full disk ------------------------------------------------------------------------
echo "--- full disk (tmpfs of 1 MiB)"
mnt=$tmp/full
mkdir -p "$mnt"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=1m,mode=0755 tmpfs "$mnt"; then
	N=20000
	timeout 120 "$TOOL" --sink "file:$mnt/flows.json" --count $N --rate 20000 >"$tmp/full.out" 2>"$tmp/full.err"
	rc=$?
	check "rec_tool neither hung nor crashed on ENOSPC (rc $rc, 1 = records lost)" test "$rc" -eq 1
	w=$(field "$tmp/full.out" written)
	l=$(field "$tmp/full.out" lost)
	check "written $w + lost $l = $N" test "$((${w:-0} + ${l:-0}))" -eq $N
	check "records were counted lost ($l)" test "${l:-0}" -gt 0
	check "the loss was logged" grep -q 'No space left on device' "$tmp/full.err"
	# Every line in the file is whole JSON; flow lines are those counted
	# written (a LOST record dropped with the buffer is counted with them).
	check "the full file holds only whole lines, as many flows as counted written" python3 -c '
import json, sys
w = int(sys.argv[2]); flows = lost = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["activity_id"] == 99: lost += 1
    else: flows += 1
sys.exit(0 if w <= flows <= w + lost + 5 else 1)' "$mnt/flows.json" "${w:-0}"
	umount "$mnt"
	mnt=""
else
	bad "cannot mount a tmpfs (root needed) for the full-disk test"
fi

# ---- 8. throughput -----------------------------------------------------------------------
echo "--- throughput of the file sink"
d=$tmp/bench
mkdir -p "$d"
"$TOOL" --sink "file:$d/flows.json" --count 300000 >"$d/out" 2>&1
r1=$(awk '/^rate /{print $2}' "$d/out")
rm -f "$d"/flows.json*
"$TOOL" --sink "file:$d/flows.json,max_bytes=100000000,gzip=1,keep=3" --count 300000 >"$d/out2" 2>&1
r2=$(awk '/^rate /{print $2}' "$d/out2")
rm -f "$d"/flows.json*
"$TOOL" --sink "file:$d/flows.json,format=ecs" --count 300000 >"$d/out3" 2>&1
r3=$(awk '/^rate /{print $2}' "$d/out3")
echo "file sink throughput: OCSF $r1 records/s, OCSF with rotation+gzip $r2 records/s, ECS $r3 records/s (300000 records, rec_tool --count 300000)"
check "throughput runs lost nothing" test "$(grep -c '^emitted 300000 written 300000 lost 0$' "$d/out" "$d/out2" "$d/out3" | grep -c ':1$')" -eq 3

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
