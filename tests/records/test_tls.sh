#!/usr/bin/env bash
# Syslog over TLS (RFC 5425) with mutual authentication, against a real
# rsyslog with its OpenSSL driver (rsyslog-openssl) requiring client
# certificates. The test makes its own PKI with openssl: a CA, a server
# certificate for "syslog.test" and 127.0.0.1, a client certificate, and
# the bad ones (an untrusted client, an expired server). Every record must
# arrive intact (JSON equal to --expect, sequenceId 1..N); every bad case
# must be refused with a clear message and its records counted lost.
# Certificates replaced on disk are taken up on SIGHUP without a record
# lost; broken ones are refused while the connection carries on.
set -u
cd "$(dirname "$0")/../.."
. tests/records/lib.sh
need rsyslogd openssl python3 ss timeout pgrep "$TOOL"
if [ ! -e /usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so ] &&
	! ls /usr/lib/*/rsyslog/lmnsd_ossl.so /usr/lib/rsyslog/lmnsd_ossl.so >/dev/null 2>&1; then
	echo "SKIP: rsyslog's OpenSSL driver is missing (apt-get install rsyslog-openssl): counted as a failure"
	fail=$((fail + 1)); finish
fi

# ---- a PKI -------------------------------------------------------------------
pki=$tmp/pki
mkdir -p "$pki"
umask 077
mkca() { # name, CN
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/$1.key" \
		-out "$pki/$1.pem" -subj "/CN=$2" -days 2 \
		-addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign
}
mkcert() { # name, CA name, CN, days, extensions
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/$1.key" \
		-out "$pki/$1.csr" -subj "/CN=$3" &&
	printf '%b' "$5" >"$pki/$1.ext" &&
	openssl x509 -req -in "$pki/$1.csr" -CA "$pki/$2.pem" -CAkey "$pki/$2.key" -CAcreateserial \
		-days "$4" -extfile "$pki/$1.ext" -out "$pki/$1.pem"
}
SRV_EXT='subjectAltName=DNS:syslog.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'
CLI_EXT='extendedKeyUsage=clientAuth\n'
{
	mkca ca "Ward Test CA" && mkca rogue "Rogue CA" &&
	mkcert server ca syslog.test 1 "$SRV_EXT" &&
	mkcert expired ca syslog.test -1 "$SRV_EXT" &&
	mkcert client ca ward-agent 1 "$CLI_EXT" &&
	mkcert intruder rogue ward-agent 1 "$CLI_EXT"
} >"$tmp/pki.log" 2>&1 || { echo "openssl failed:"; cat "$tmp/pki.log"; fail=$((fail + 1)); finish; }
umask 022
chmod 600 "$pki"/*.key
chmod 755 "$pki"
chmod 644 "$pki"/*.pem

# ---- rsyslog with TLS ------------------------------------------------------------
# name, port, server cert name, authmode, extra imtcp module parameters:
# one message per line, the RFC 5424 fields split by '|' (MSG last).
start_tls_rsyslog() {
	local name=$1 port=$2 cert=$3 auth=$4 extra=${5:-} i
	mkdir -p "$tmp/$name.work"
	cat >"$tmp/$name.conf" <<-EOF
	global(workDirectory="$tmp/$name.work" maxMessageSize="64k"
	       DefaultNetstreamDriver="ossl"
	       DefaultNetstreamDriverCAFile="$pki/ca.pem"
	       DefaultNetstreamDriverCertFile="$pki/$cert.pem"
	       DefaultNetstreamDriverKeyFile="$pki/$cert.key")
	module(load="imtcp" maxSessions="16" StreamDriver.Name="ossl" StreamDriver.Mode="1"
	       StreamDriver.Authmode="$auth" $extra)
	template(name="f5424" type="string"
	         string="%pri%|%protocol-version%|%timestamp:::date-rfc3339%|%hostname%|%app-name%|%procid%|%msgid%|%structured-data%|%msg%\n")
	ruleset(name="rs") { action(type="omfile" file="$tmp/$name.log" template="f5424") }
	input(type="imtcp" address="127.0.0.1" port="$port" ruleset="rs")
	EOF
	timeout 300 rsyslogd -n -f "$tmp/$name.conf" -i "$tmp/$name.pid" >"$tmp/$name.stderr" 2>&1 &
	pids+=($!)
	for i in $(seq 50); do
		ss -Hltn "sport = :$port" | grep -q . && return 0
		sleep 0.1
	done
	echo "rsyslog $name did not start:"; cat "$tmp/$name.stderr"
	return 1
}
stop_tls_rsyslog() {
	local pid i
	pid=$(cat "$tmp/$1.pid" 2>/dev/null) || return 0
	kill "$pid"
	for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}

cat >"$tmp/check.py" <<'EOF'
import json, sys
what, log, expect_file, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
expect = {}
for line in open(expect_file):
    j = json.loads(line)
    expect[j["metadata"]["sequence"]] = j
bad, seqs = [], []
for line in open(log):
    f = line.rstrip("\n").split("|", 8)
    if len(f) != 9:
        bad.append("not 9 fields: %r" % line[:200]); continue
    sd = f[7]
    if not (sd.startswith('[meta sequenceId="') and sd.endswith('"]')):
        bad.append("structured data %r" % sd); continue
    s = int(sd[len('[meta sequenceId="'):-2])
    seqs.append(s)
    if what == "all":
        try:
            got = json.loads(f[8])
        except ValueError as e:
            bad.append("seq %d: MSG is not JSON (%s)" % (s, e)); continue
        if got != expect.get(s):
            bad.append("seq %d: MSG differs from --expect" % s)
        if f[6] not in ("FLOW_OPEN", "FLOW_CLOSE", "FLOW_TRAFFIC", "FLOW_DENY", "FLOW_RATE_LIMIT",
                        "FLOW_AUDIT", "RECORDS_LOST", "POLICY", "AGENT") or f[4] != "ward" or f[1] != "1":
            bad.append("seq %d: header %s" % (s, f[:7]))
if what == "all":
    if sorted(seqs) != list(range(1, n + 1)) or len(expect) != n:
        bad.append("%d messages, sequenceId not 1..%d (first missing: %s)" % (
            len(seqs), n, sorted(set(range(1, n + 1)) - set(seqs))[:5]))
elif what == "resumed":
    if any(b <= a for a, b in zip(seqs, seqs[1:])):
        bad.append("sequence ids not strictly increasing")
    if not seqs or seqs[-1] != n:
        bad.append("last sequence id %s, want %d" % (seqs[-1:], n))
for b in bad[:5]:
    print(b)
sys.exit(1 if bad else 0)
EOF
ck() { python3 "$tmp/check.py" "$@"; }

run() { # name, spec, count, extra rec_tool args...: the tool's output in $tmp/name.tool
	local name=$1 spec=$2 cnt=$3; shift 3
	timeout 60 "$TOOL" --sink "$spec" --count "$cnt" --seed 11 --expect "$tmp/$name.expect" "$@" \
		>"$tmp/$name.tool" 2>&1
	echo "rc $?" >>"$tmp/$name.tool"
}
all_lost() { # tool output, N: nothing written, every record counted lost
	grep -Eq "^emitted $2 written 0 lost $2\$" "$1" || { cat "$1"; return 1; }
}
says() { # tool output, extended regexp the sink's message must match
	grep -Eq "$2" "$1" || { echo "no line matches /$2/:"; cat "$1"; return 1; }
}
none_stored() { # log: rsyslog stored nothing
	[ ! -s "$1" ] || { echo "rsyslog stored $(wc -l <"$1") messages:"; head -3 "$1"; return 1; }
}

C="ca=$pki/ca.pem,cert=$pki/client.pem,key=$pki/client.key"

# ---- the good path: TLS 1.3, both sides verified -----------------------------------
p1=$(free_port)
start_tls_rsyslog good "$p1" server x509/certvalid || { fail=$((fail + 1)); finish; }
# 2000/s: the TLS handshake takes round trips and the receiver's CPU; a
# burst faster than that overflows the sink's buffer before it is up (as
# it would with any collector that is slow to answer), counted lost.
N=2000
run good "syslog+tls://127.0.0.1:$p1,$C,name=syslog.test" $N --kinds all --rate 2000
wait_lines "$tmp/good.log" $N
touch "$tmp/good.log"
check "tls 1.3, mutual auth: rec_tool wrote all $N records, none lost" tool_ok "$tmp/good.tool" $N
check "tls: rsyslog stored $N messages, sequenceId 1..$N, every MSG the JSON of its record" \
	ck all "$tmp/good.log" "$tmp/good.expect" $N
check "tls: the sink says TLSv1.3 and whom it verified" \
	says "$tmp/good.tool" "TLSv1\.3 .*server certificate .*CN ?= ?syslog\.test verified as \"syslog\.test\".*client certificate /CN=ward-agent "
check "tls: rsyslog saw the client certificate (no errors in its log)" \
	bash -c "! grep -Ei 'error|not permitted|unknown ca' '$tmp/good.stderr'"

# name defaults to HOST: 127.0.0.1 is in the certificate's IP SANs; ECS
N=300
run ip "syslog+tls://127.0.0.1:$p1,$C,format=ecs" $N
check "tls, name defaults to the host (IP SAN 127.0.0.1), format=ecs: all $N records" \
	tool_ok "$tmp/ip.tool" $N

# rsyslog checks the client's name too (x509/name, PermittedPeer)
p2=$(free_port)
start_tls_rsyslog named "$p2" server x509/name 'PermittedPeer=["ward-agent"]' || fail=$((fail + 1))
N=200
run named "syslog+tls://127.0.0.1:$p2,$C,name=syslog.test" $N
wait_lines "$tmp/named.log" $N
touch "$tmp/named.log"
check "tls, receiver in x509/name mode permitting ward-agent: all $N records, intact" \
	ck all "$tmp/named.log" "$tmp/named.expect" $N

# ---- refusals: each stops the sink, counted lost, clearly logged -------------------------
# The receiver does not trust the client's CA.
N=100
: >"$tmp/good.log"
run intruder "syslog+tls://127.0.0.1:$p1,ca=$pki/ca.pem,cert=$pki/intruder.pem,key=$pki/intruder.key,name=syslog.test" $N
check "untrusted client certificate: nothing written, all $N records counted lost" \
	all_lost "$tmp/intruder.tool" $N
check "untrusted client certificate: the sink says the receiver refused it" \
	says "$tmp/intruder.tool" "syslog\+tls://127\.0\.0\.1:$p1: .*(refused|alert).*(unknown ca|certificate|bad certificate)"
sleep 0.5
check "untrusted client certificate: rsyslog stored nothing" none_stored "$tmp/good.log"

# The server's certificate does not carry the name we expect.
run wrongname "syslog+tls://127.0.0.1:$p1,$C,name=other.test" $N
check "wrong server name: all $N records counted lost" all_lost "$tmp/wrongname.tool" $N
check "wrong server name: the sink says so (hostname mismatch, expected name)" \
	says "$tmp/wrongname.tool" "server certificate is refused: .*[Hh]ostname mismatch.*expected name \"other\.test\""

# The server's certificate chains to a CA we do not trust.
run wrongca "syslog+tls://127.0.0.1:$p1,ca=$pki/rogue.pem,cert=$pki/client.pem,key=$pki/client.key,name=syslog.test" $N
check "server certificate from another CA: all $N records counted lost, said so" \
	bash -c "grep -Eq '^emitted $N written 0 lost $N\$' '$tmp/wrongca.tool' &&
		grep -Eq 'server certificate is refused: .*(local issuer|self.signed|unable)' '$tmp/wrongca.tool' || { cat '$tmp/wrongca.tool'; exit 1; }"

# The server's certificate has expired.
p3=$(free_port)
start_tls_rsyslog expired "$p3" expired x509/certvalid || fail=$((fail + 1))
run expired "syslog+tls://127.0.0.1:$p3,$C,name=syslog.test" $N
check "expired server certificate: all $N records counted lost" all_lost "$tmp/expired.tool" $N
check "expired server certificate: the sink says it has expired" \
	says "$tmp/expired.tool" "server certificate is refused: certificate has expired"
sleep 0.3
touch "$tmp/expired.log"
check "expired server certificate: rsyslog stored nothing" none_stored "$tmp/expired.log"

# A receiver that does not ask for a client certificate (plain server TLS):
# mutual authentication is required, so the sink refuses it.
p4=$(free_port)
timeout 60 openssl s_server -accept "127.0.0.1:$p4" -cert "$pki/server.pem" -key "$pki/server.key" \
	-quiet >"$tmp/noverify.out" 2>&1 </dev/null &
pids+=($!)
wait_listen -Hltn "$p4"
run noverify "syslog+tls://127.0.0.1:$p4,$C,name=syslog.test" $N
check "receiver that does not ask for the client certificate: all $N records counted lost" \
	all_lost "$tmp/noverify.tool" $N
check "receiver that does not ask for the client certificate: the sink says so" \
	says "$tmp/noverify.tool" "did not ask for a client certificate"
check "receiver that does not ask for the client certificate: it got no record" \
	bash -c "! grep -q 'sequenceId' '$tmp/noverify.out'"

# A receiver that speaks TLS 1.2 only: refused unless tls=1.2.
p5=$(free_port)
start_tls_rsyslog tls12 "$p5" server x509/certvalid \
	'gnutlsPriorityString="MinProtocol=TLSv1.2\nMaxProtocol=TLSv1.2"' || fail=$((fail + 1))
run tls12no "syslog+tls://127.0.0.1:$p5,$C,name=syslog.test" $N
check "TLS 1.2-only receiver: refused by default, all $N records counted lost" \
	all_lost "$tmp/tls12no.tool" $N
check "TLS 1.2-only receiver: the sink says there is no common version" \
	says "$tmp/tls12no.tool" "no common TLS version: this sink requires TLS 1\.3"
run tls12 "syslog+tls://127.0.0.1:$p5,$C,name=syslog.test,tls=1.2" 200
wait_lines "$tmp/tls12.log" 200
touch "$tmp/tls12.log"
check "TLS 1.2-only receiver with tls=1.2: all 200 records, intact" \
	ck all "$tmp/tls12.log" "$tmp/tls12.expect" 200
check "TLS 1.2-only receiver with tls=1.2: the sink says TLSv1.2" says "$tmp/tls12.tool" "TLSv1\.2 "

# ---- refused at open ------------------------------------------------------------------------
cp "$pki/client.key" "$pki/open.key"
chmod 644 "$pki/open.key"
run worldkey "syslog+tls://127.0.0.1:$p1,ca=$pki/ca.pem,cert=$pki/client.pem,key=$pki/open.key" 10
check "world-readable key: refused at open, with the reason" \
	says "$tmp/worldkey.tool" "open\.key is readable or writable by every user \(mode 0644\): refused"
check "world-readable key: rec_tool fails (usage error 2)" says "$tmp/worldkey.tool" "^rc 2$"
run nokey "syslog+tls://127.0.0.1:$p1,ca=$pki/ca.pem,cert=$pki/client.pem" 10
check "no key=: refused by the spec (mutual TLS needs ca, cert, key)" \
	says "$tmp/nokey.tool" "needs ca=, cert= and key="
run badmatch "syslog+tls://127.0.0.1:$p1,ca=$pki/ca.pem,cert=$pki/client.pem,key=$pki/intruder.key" 10
check "a key that is not the certificate's: refused at open" \
	says "$tmp/badmatch.tool" "does not match cert"
run badopt "syslog+tls://127.0.0.1:$p1,$C,tls=1.1" 10
check "tls=1.1: refused by the spec" says "$tmp/badopt.tool" "tls=1\.1: expected 1\.2"

# ---- resilience: the receiver restarts; certificates reloaded on reconnect --------------
p6=$(free_port)
N=500
if start_tls_rsyslog r1 "$p6" server x509/certvalid; then
	timeout 60 "$TOOL" --sink "syslog+tls://127.0.0.1:$p6,$C,name=syslog.test" --count $N \
		--rate 100 --seed 5 --expect "$tmp/restart.expect" >"$tmp/restart.tool" 2>&1 &
	tp=$!
	pids+=("$tp")
	sleep 1.5
	stop_tls_rsyslog r1
	# rotate the client certificate while the receiver is away: the
	# reconnection must load the new one
	cp "$pki/client.pem" "$pki/client.old.pem"
	mkcert client ca ward-agent-rotated 1 "$CLI_EXT" >>"$tmp/pki.log" 2>&1
	chmod 600 "$pki/client.key"
	sleep 0.5
	start_tls_rsyslog r2 "$p6" server x509/certvalid
	wait "$tp"
	sleep 0.5
fi
touch "$tmp/r1.log" "$tmp/r2.log"
cat "$tmp/r1.log" "$tmp/r2.log" >"$tmp/restart.log"
check "receiver restarted mid-run: records on both connections" test -s "$tmp/r1.log" -a -s "$tmp/r2.log"
check "receiver restarted: in order, none twice, up to the last record" \
	ck resumed "$tmp/restart.log" "$tmp/restart.expect" $N
check "receiver restarted: the reconnection used the rotated client certificate" \
	says "$tmp/restart.tool" "client certificate /CN=ward-agent-rotated"
check "receiver restarted: rsyslog r2 saw no TLS error" \
	bash -c "! grep -Ei 'error' '$tmp/r2.stderr'"

# ---- reload on SIGHUP: new certificates, not one record dropped ----------------------------
# The sender starts with certificate A (CN=ward-agent). Its files are
# replaced by certificate B (CN=ward-agent-b, same CA) and it gets SIGHUP:
# the records emitted before go on A's connection, which then closes, and
# the rest on a new connection made with B. Then two broken replacements,
# each with a SIGHUP: a key every user may read, a key that is not the
# certificate's. Both are refused, logged and counted; B's connection
# carries on. Two sinks from the same files: rsyslog (permitting both
# names, x509/name) shows every record intact and in order;
# tls_receiver.py shows which certificate each connection was made with
# and which records it carried (rsyslog cannot log that).
cat >"$tmp/conns.py" <<'EOF'
import sys
out, k, n, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
conns = []  # [connection, serial, CN, [sequence ids]]
for line in open(out):
    c, serial, cn, seq = line.split()
    if not conns or conns[-1][0] != c:
        conns.append([c, serial.lstrip("0"), cn, []])
    conns[-1][3].append(int(seq))
got = [(s, cn, q[0], q[-1], q == list(range(q[0], q[-1] + 1))) for _, s, cn, q in conns]
want = [(a, "ward-agent", 1, k, True), (b, "ward-agent-b", k + 1, n, True)]
if got != want:
    print("connections (serial, CN, first, last, consecutive):\n  got  %s\n  want %s" % (got, want))
    sys.exit(1)
EOF
serial() { openssl x509 -noout -serial -in "$1" | sed 's/^serial=0*//'; }
hup() { kill -HUP "$(pgrep -P "$1")"; } # the rec_tool that `timeout` $1 runs
{ mkcert hupa ca ward-agent 1 "$CLI_EXT" && mkcert hupb ca ward-agent-b 1 "$CLI_EXT"; } \
	>>"$tmp/pki.log" 2>&1
chmod 600 "$pki/hupa.key" "$pki/hupb.key"
cp -p "$pki/hupa.pem" "$pki/hup.pem"
cp -p "$pki/hupa.key" "$pki/hup.key"
sa=$(serial "$pki/hupa.pem") sb=$(serial "$pki/hupb.pem")
H="ca=$pki/ca.pem,cert=$pki/hup.pem,key=$pki/hup.key,name=syslog.test"
ph=$(free_port) pr=$(free_port)
N=10000
timeout 120 python3 tests/records/tls_receiver.py "$pr" "$pki/ca.pem" "$pki/server.pem" \
	"$pki/server.key" "$tmp/hup.conns" >"$tmp/hup.receiver" 2>&1 &
pids+=($!)
if start_tls_rsyslog hup "$ph" server x509/name 'PermittedPeer=["ward-agent","ward-agent-b"]' &&
	wait_listen -Hltn "$pr"; then
	timeout 60 "$TOOL" --sink "syslog+tls://127.0.0.1:$ph,$H" --sink "syslog+tls://127.0.0.1:$pr,$H" \
		--count $N --rate 1000 --seed 9 --kinds all --expect "$tmp/hup.expect" >"$tmp/hup.tool" 2>&1 &
	tp=$!
	pids+=("$tp")
	wait_lines "$tmp/hup.log" 1500
	# B replaces A the way a rotation should be done: whole files renamed in place
	cp -p "$pki/hupb.pem" "$pki/hup.pem.new" && mv "$pki/hup.pem.new" "$pki/hup.pem"
	cp -p "$pki/hupb.key" "$pki/hup.key.new" && mv "$pki/hup.key.new" "$pki/hup.key"
	hup "$tp"
	wait_lines "$tmp/hup.log" 4000
	chmod 644 "$pki/hup.key" # every user may read it
	hup "$tp"
	wait_lines "$tmp/hup.log" 6500
	cp "$pki/hupa.key" "$pki/hup.key" # A's key under B's certificate
	chmod 600 "$pki/hup.key"
	hup "$tp"
	wait "$tp"
	echo "rc $?" >>"$tmp/hup.tool"
	wait_lines "$tmp/hup.log" $N
	wait_lines "$tmp/hup.conns" $N
fi
touch "$tmp/hup.log" "$tmp/hup.conns" "$tmp/hup.tool"
k=$(sed -n 's/^rec_tool: SIGHUP after \([0-9]*\) records.*/\1/p' "$tmp/hup.tool" | head -1)
check "reload: rec_tool wrote all $N records to both sinks across 3 SIGHUPs, 0 lost" \
	says "$tmp/hup.tool" "^emitted $N written $((2 * N)) lost 0\$"
check "reload: rsyslog stored $N messages, sequenceId 1..$N, every MSG the JSON of its record" \
	ck all "$tmp/hup.log" "$tmp/hup.expect" $N
check "reload: rsyslog got them in order, none twice" ck resumed "$tmp/hup.log" "$tmp/hup.expect" $N
check "reload: records 1..${k:-?} (before the SIGHUP) came with certificate A, the rest on one new connection with B" \
	python3 "$tmp/conns.py" "$tmp/hup.conns" "${k:-0}" $N "$sa" "$sb"
check "reload: the sink to rsyslog made 2 connections, with A then B (by serial)" \
	bash -c "grep -E 'syslog\+tls://127\.0\.0\.1:$ph: TLSv1\.3 .*client certificate /CN=ward-agent' '$tmp/hup.tool' |
		sed 's/.*client certificate \(.*\) (.*/\1/' | tr '\n' ';' | grep -Eqx '/CN=ward-agent serial 0*$sa;/CN=ward-agent-b serial 0*$sb;' ||
		{ cat '$tmp/hup.tool'; exit 1; }"
check "reload: the sink says it reloaded certificate B" \
	says "$tmp/hup.tool" "certificates reloaded, client certificate /CN=ward-agent-b serial 0*$sb .*reconnecting"
check "reload of a world-readable key: refused, file and reason logged, the connection stays" \
	says "$tmp/hup.tool" "certificates not reloaded: key $pki/hup\.key is readable or writable by every user \(mode 0644\).*the connection and the certificates in use stay"
check "reload of a key that is not the certificate's: refused, files and reason logged" \
	says "$tmp/hup.tool" "certificates not reloaded: key $pki/hup\.key does not match cert $pki/hup\.pem"
check "reload: 3 reloads asked, the 2 with broken files counted failed by each sink" \
	bash -c "grep -q '^reloads 3\$' '$tmp/hup.tool' &&
		[ \$(grep -Ec '^sink syslog\+tls://.* reload_failed 2\$' '$tmp/hup.tool') = 2 ] || { cat '$tmp/hup.tool'; exit 1; }"
check "reload: rsyslog saw no TLS error" bash -c "! grep -Ei 'error|not permitted' '$tmp/hup.stderr'"

# No receiver at all: nothing blocks, every record counted lost at close.
pn=$(free_port)
start=$(date +%s%N)
run none "syslog+tls://127.0.0.1:$pn,$C" 200
ms=$((($(date +%s%N) - start) / 1000000))
check "no receiver: rec_tool ends in ${ms} ms (< 10 s), the sink gives up 200 records at close" \
	bash -c "[ $ms -lt 10000 ] && grep -q '200 records not delivered at close' '$tmp/none.tool'"

finish
