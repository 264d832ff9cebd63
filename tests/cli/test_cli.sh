#!/usr/bin/env bash
# The ward CLI contract: exit codes, located errors, explain, check --json.
set -u
cd "$(dirname "$0")/../.."
W=${WARD:-build/ward}
F=tests/fixtures
n=0 pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # description, then a command that must succeed
	local d=$1; shift
	n=$((n + 1))
	if "$@" >"$tmp/out" 2>&1; then
		pass=$((pass + 1)); echo "ok $n - $d"
	else
		fail=$((fail + 1)); echo "not ok $n - $d"; sed 's/^/#   /' "$tmp/out" | head -20
	fi
}
rc_is() { # expected rc, command...
	local want=$1; shift
	"$@" >"$tmp/rc.out" 2>&1
	local got=$?
	[ "$got" -eq "$want" ] || { echo "exit $got, want $want: $*"; cat "$tmp/rc.out"; return 1; }
}
explain_is() { # policy, expected json fields (python expr over j), explain args...
	local pol=$1 expr=$2; shift 2
	$W explain "$pol" "$@" --json | /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); sys.exit(0 if ($expr) else 1)"
}

check "ward version exits 0" rc_is 0 $W version
check "no command is a usage error (2)" rc_is 2 $W
check "unknown command is a usage error (2)" rc_is 2 $W frobnicate
check "run without --policy is a usage error (2)" rc_is 2 $W run --interface lo
check "explain without --src is a usage error (2)" rc_is 2 $W explain policies/demo.json --in --dst 192.0.2.1 --proto tcp
for p in policies/*.json tests/netns/lab-policy.json; do
	check "check $p: valid (0)" rc_is 0 $W check "$p"
done
check "invalid policy exits 1" rc_is 1 $W check $F/bad-policy.json
check "every error reported at once, located (file:line:col: pointer: value: reason)" \
	diff -u $F/bad-policy.expected <($W check $F/bad-policy.json 2>&1 | grep -v 'invalid:')
check "JSON syntax error located, exit 1" \
	bash -c "$W check $F/bad-syntax.json 2>&1 | grep -q '^$F/bad-syntax.json:3:31: ' && ! $W check $F/bad-syntax.json 2>/dev/null"
check "missing file exits 1 with a message" \
	bash -c "out=\$($W check /nonexistent.json 2>&1); rc=\$?; echo \"\$out\" | grep -q '^/nonexistent.json: cannot read' && test \$rc -eq 1"
check "check --json: valid + summary" \
	bash -c "$W check --json policies/demo.json | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); assert j[\"valid\"] and j[\"summary\"][\"rules\"]==6, j'"
# prefixes of 4 lengths (8, 16, 24, 32), none inside another: the search over the lengths
# starts at /16 and needs a marker at /16 and /24 for the /32, and at /16 for the /24
check "check --json: lookup tables, with the binary search's markers" \
	bash -c "$W check --json $F/markers.json | /usr/bin/python3 -c 'import json,sys; l=json.load(sys.stdin)[\"summary\"][\"lookup\"]; assert l==dict(address_entries=7, markers=3, port_lists=4, port_intervals=l[\"port_intervals\"]) and l[\"port_intervals\"]>=4, l'"
check "check: the summary line names the lookup tables" \
	bash -c "$W check $F/markers.json 2>/dev/null | grep -q 'lookup tables: 7 address entries (3 markers), 4 port lists, '"
check "check --json: diagnostics with line/column/pointer" \
	bash -c "$W check --json $F/bad-policy.json | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); d=j[\"diagnostics\"]; assert not j[\"valid\"] and len(d)==10 and d[0][\"line\"]==2 and d[0][\"pointer\"]==\"/version\", d'"

# explain runs the real programs (BPF_PROG_TEST_RUN): needs root
D=policies/demo.json
check "explain: client tcp/8000 allowed by api (IPv4)" explain_is $D 'j["verdict"]=="allow" and j["rule"]=="api" and j["rate_limit"] is None and j["audit"] is False' --in --src 198.51.100.2 --dst 198.51.100.1 --proto tcp --dport 8000
check "explain: client tcp/8000 allowed by api (IPv6)" explain_is $D 'j["verdict"]=="allow" and j["rule"]=="api"' --in --src 2001:db8:1::2 --dst 2001:db8:1::1 --proto tcp --dport 8000
check "explain: outsider tcp/8000 denied by default (IPv4)" explain_is $D 'j["verdict"]=="deny" and j["rule"] is None' --in --src 203.0.113.2 --dst 198.51.100.1 --proto tcp --dport 8000
check "explain: outsider tcp/8000 denied by default (IPv6)" explain_is $D 'j["verdict"]=="deny" and j["rule"] is None' --in --src 2001:db8:2::2 --dst 2001:db8:1::1 --proto tcp --dport 8000
check "explain: client tcp/8001 denied (IPv4)" explain_is $D 'j["verdict"]=="deny"' --in --src 198.51.100.2 --dst 198.51.100.1 --proto tcp --dport 8001
check "explain: ping6 echo-request by type name default" explain_is $D 'j["rule"]=="ping6"' --in --src 2001:db8:1::2 --dst 2001:db8:1::1 --proto icmpv6
check "explain: echo-reply inbound denied (IPv4)" explain_is $D 'j["verdict"]=="deny"' --in --src 198.51.100.2 --dst 198.51.100.1 --proto icmp --icmp-type 0
check "explain: egress to client tcp/7000 allowed by backend" explain_is $D 'j["rule"]=="backend"' --out --src 198.51.100.1 --dst 198.51.100.2 --proto tcp --dport 7000
check "explain: egress to outsider denied (IPv6)" explain_is $D 'j["verdict"]=="deny"' --out --src 2001:db8:1::1 --dst 2001:db8:2::2 --proto tcp --dport 7000
cat > "$tmp/audit.json" <<'P'
{ "version": 1, "name": "audit", "mode": "audit",
  "rate_limits": { "api": { "pps": 100 } },
  "ingress": [ { "id": "api", "from": ["198.51.100.0/24"], "proto": "tcp", "ports": [8000], "rate_limit": "api" } ] }
P
check "explain: audit mode lets a would-be deny through, audit=true" explain_is "$tmp/audit.json" 'j["verdict"]=="allow" and j["audit"] is True and j["rule"] is None' --in --src 203.0.113.9 --dst 198.51.100.1 --proto tcp --dport 8000
check "explain: rate limit of the deciding rule is reported" explain_is "$tmp/audit.json" 'j["rate_limit"]=="api" and j["audit"] is False' --in --src 198.51.100.9 --dst 198.51.100.1 --proto tcp --dport 8000

cat > "$tmp/nossh.json" <<'P'
{ "version": 1, "name": "nossh",
  "ingress": [ { "id": "no-ssh", "action": "deny", "from": ["any"], "proto": "tcp", "ports": [22] } ] }
P
check "explain: a failsafe beats a deny rule of the policy" explain_is "$tmp/nossh.json" 'j["verdict"]=="allow" and j["rule"]=="failsafe-1-tcp-22"' --in --src 192.0.2.5 --dst 198.51.100.1 --proto tcp --dport 22 --failsafe "tcp/22 from 192.0.2.0/28"
check "explain: outside the failsafe's CIDR the deny rule decides" explain_is "$tmp/nossh.json" 'j["verdict"]=="deny" and j["rule"]=="no-ssh"' --in --src 192.0.2.50 --dst 198.51.100.1 --proto tcp --dport 22 --failsafe "tcp/22 from 192.0.2.0/28"
printf '{"version":1,"name":"x","ingress":[{"id":"failsafe-1-tcp-22","from":["any"]}]}' >"$tmp/reserved.json"
check "check: rule ids starting with failsafe- are reserved (exit 1, located)" \
	bash -c "out=\$($W check $tmp/reserved.json 2>&1); test \$? -eq 1 && echo \"\$out\" | grep -q ':1:[0-9]*: /ingress/0/id: .*reserved'"
check "run: a malformed --failsafe is a usage error (2)" rc_is 2 $W run --policy policies/demo.json --interface lo --failsafe "ssh from everywhere"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
