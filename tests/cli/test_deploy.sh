#!/usr/bin/env bash
# shellcheck disable=SC2016 # single-quoted strings are python or Jinja, on purpose
# The deployment files (issue 7), as far as they can be checked without a cluster or VMs:
#   1. vagrant/: `vagrant validate --ignore-provider` (or `ruby -c` without Vagrant), and
#      that the Vagrantfile takes the lab's addresses from tests/netns/lib.sh; the
#      provisioning scripts (bash -n, shellcheck); the SOC box's rsyslog configuration, made
#      by tests/records/receivers.sh, passes rsyslogd -N1, its units systemd-analyze verify;
#      the node's config file; the lab policy (policies/demo.json) passes ward check;
#   2. deploy/ward-daemonset.yaml: host network, no hostPID/hostIPC, privileged false,
#      exactly CAP_BPF CAP_NET_ADMIN CAP_PERFMON, bpffs and /var/log/ward from the host,
#      readiness probe `ward status`, never two pods per node, paths that agree; the
#      ConfigMap's policy passes ward check and has no reply rules (conntrack);
#   3. deploy/ansible: ansible-playbook --syntax-check; the config template renders JSON;
#   4. as root, against real agents in the netns lab (tests/netns/lib.sh):
#      vagrant/provision/traffic.sh run in the lab's namespaces (the demo's flows, with
#      policies/demo.json enforced), and the Ansible role: apply on trial + reachability
#      check + confirm; a policy that fails the check is not confirmed and rolls back by
#      itself; reload mode; an invalid policy never reaches the host's policy file.
# Config files are checked with `ward check --config FILE` when the binary has it, as JSON
# otherwise (a note says so). A missing tool is a failure, with the Debian package to add.
# One line per check ("ok N - ..." / "not ok N - ..."), ends with "P passed, F failed";
# exit 1 on any failure. LAB_KEEP=1 keeps the work dir.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT" || exit 1
LAB_KIND="deploy"
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"
W=$WARD
PY=/usr/bin/python3 # Debian's, with python3-yaml
DS=deploy/ward-daemonset.yaml
ANS=deploy/ansible

N=0
PASSED=0
FAILED=0
DONE=0
TMP=$(mktemp -d /tmp/ward-deploy.XXXXXX)

pass() { N=$((N + 1)); PASSED=$((PASSED + 1)); echo "ok $N - $*"; }
fail() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
note() { echo "# $*"; }
# check DESCRIPTION CMD...: one numbered line from CMD's exit status; CMD's output goes to
# $TMP/out, shown on failure.
check() {
	local desc=$1
	shift
	if "$@" >"$TMP/out" 2>&1; then
		pass "$desc"
	else
		fail "$desc"
		sed 's/^/#   /' "$TMP/out" | head -30
	fi
}
# rc_is WANT CMD...: CMD exits WANT; its output in $TMP/rc.out.
rc_is() {
	local want=$1 got
	shift
	"$@" >"$TMP/rc.out" 2>&1
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "exit $got, want $want: $*"
		tail -n 40 "$TMP/rc.out"
		return 1
	fi
}
has() { grep -qF -- "$2" "$1" || { echo "'$2' not in $1:"; tail -n 40 "$1"; return 1; }; }
hasnt() { ! grep -qF -- "$2" "$1" || { echo "'$2' in $1:"; grep -F -- "$2" "$1"; return 1; }; }
# tool NAME PACKAGE: the command exists, else a failure naming the Debian package.
tool() {
	if command -v "$1" >/dev/null 2>&1; then return 0; fi
	fail "$1 is installed (Debian package $2; add it to DEB_PKGS)"
	return 1
}

on_exit() {
	local rc=$?
	set +e
	trap - INT TERM
	[ "$DONE" = 1 ] || fail "test script ran to completion (stopped with status $rc)"
	if [ "$FAILED" -gt 0 ] && [ -n "$LAB_DIR" ]; then agent_log_tail 30; fi
	lab_cleanup
	if [ "${LAB_KEEP:-0}" = 1 ]; then echo "# kept $TMP"; else rm -rf -- "$TMP"; fi
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ] && [ "$DONE" = 1 ] && exit 0
	exit 1
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ward check --config FILE, when this binary has it (its help says so).
HAVE_CHECK_CONFIG=0
"$W" check --help 2>&1 | grep -q -- '--config' && HAVE_CHECK_CONFIG=1
[ "$HAVE_CHECK_CONFIG" = 1 ] ||
	note "$W has no 'check --config': config files are checked as JSON only"
# config_ok FILE: valid JSON, and `ward check --config` accepts it when it can.
config_ok() {
	$PY -m json.tool "$1" >/dev/null || return 1
	[ "$HAVE_CHECK_CONFIG" = 1 ] || return 0
	"$W" check --config "$1"
}

[ -x "$W" ] || fail "the agent binary $W exists (make)"

# ---- 1. vagrant/ ----------------------------------------------------------------------------
# Vagrant's state goes to $TMP, never to vagrant/.vagrant or ~/.vagrant.d.
vagrant_validate() { # DIR
	VAGRANT_CWD=$1 VAGRANT_DOTFILE_PATH="$TMP/vagrant-dot" VAGRANT_HOME="$TMP/vagrant-home" \
		timeout 120 vagrant validate --ignore-provider
}
if command -v vagrant >/dev/null 2>&1; then
	check "vagrant/Vagrantfile: vagrant validate --ignore-provider ($(vagrant --version 2>/dev/null))" \
		vagrant_validate "$ROOT/vagrant"
	# a copy of the tree whose lib.sh lacks an address: the Vagrantfile must say so
	mkdir -p "$TMP/tree/vagrant/provision" "$TMP/tree/tests/netns"
	cp vagrant/Vagrantfile "$TMP/tree/vagrant/"
	cp vagrant/provision/lab.env "$TMP/tree/vagrant/provision/"
	grep -v '^NODE_DENIED_V4=' tests/netns/lib.sh >"$TMP/tree/tests/netns/lib.sh"
	rc_is 1 vagrant_validate "$TMP/tree/vagrant"
	check "the Vagrantfile takes the node's and clients' addresses from tests/netns/lib.sh" \
		has "$TMP/rc.out" "tests/netns/lib.sh: no NODE_DENIED_V4=VALUE line"
elif tool ruby ruby; then
	note "vagrant is not installed (Debian package vagrant): ruby -c only"
	check "vagrant/Vagrantfile: ruby -c" ruby -c vagrant/Vagrantfile
fi
check "the Vagrantfile's provisioning scripts exist" \
	bash -c 'for s in $(grep -o "provision_script(\"[a-z.]*\"" vagrant/Vagrantfile | cut -d\" -f2); do
		test -x "vagrant/provision/$s" || { echo "missing: vagrant/provision/$s"; exit 1; }; done'

for s in vagrant/provision/*.sh tests/cli/test_deploy.sh; do
	check "$s: bash -n" bash -n "$s"
done
if command -v shellcheck >/dev/null 2>&1; then
	check "vagrant/provision/*.sh, tests/cli/test_deploy.sh: shellcheck -x" \
		shellcheck -x vagrant/provision/*.sh tests/cli/test_deploy.sh
else
	note "shellcheck is not installed (Debian package shellcheck): scripts checked with bash -n only"
fi

# The SOC box's receivers, configured by tests/records/receivers.sh, without starting them.
SOC=$TMP/soc
check "vagrant/provision/soc.sh --dry-run: configuration and units written" \
	bash vagrant/provision/soc.sh --dry-run "$SOC"
if tool rsyslogd rsyslog; then
	check "SOC rsyslog configuration passes rsyslogd -N1" \
		rsyslogd -N1 -f "$SOC/var/soc.conf"
fi
check "SOC rsyslog: the record tests' template, imtcp and imudp on port 514" \
	bash -c "grep -q 'template(name=\"f5424\"' '$SOC/var/soc.conf' &&
		grep -q 'input(type=\"imtcp\" address=\"0.0.0.0\" port=\"514\"' '$SOC/var/soc.conf' &&
		grep -q 'input(type=\"imudp\" address=\"0.0.0.0\" port=\"514\"' '$SOC/var/soc.conf'"
check "SOC units: rsyslogd with that configuration, nfcapd on udp/4739" \
	bash -c "grep -q '^ExecStart=.*rsyslogd -n -f $SOC/var/soc.conf' '$SOC/ward-soc-rsyslogd.service' &&
		grep -q '^ExecStart=.*nfcapd -p 4739 -w $SOC/var/ipfix' '$SOC/ward-soc-nfcapd.service'"
if command -v systemd-analyze >/dev/null 2>&1 && command -v nfcapd >/dev/null 2>&1; then
	check "SOC units pass systemd-analyze verify" \
		systemd-analyze verify "$SOC/ward-soc-rsyslogd.service" "$SOC/ward-soc-nfcapd.service"
fi

# The node's config file and policy.
bash -c '. vagrant/provision/common.sh; ward_lab_config eth1 eth2' >"$TMP/ward-lab.json"
check "the node's /etc/ward/ward.json (vagrant/provision/ward-lab.json) is a valid config" \
	config_ok "$TMP/ward-lab.json"
check "the node's config: both lab NICs, records to the file and to the SOC box (syslog+tcp, ipfix+udp)" \
	$PY - "$TMP/ward-lab.json" <<-'EOF'
	import json, sys
	c = json.load(open(sys.argv[1]))
	assert "@" not in json.dumps(c), "a placeholder is left"
	assert c["interfaces"] == ["eth1", "eth2"], c["interfaces"]
	assert c["policy"] == "/etc/ward/policy.json"
	f = c["flows"]
	assert any(s.startswith("file:/var/log/ward/flows.json") for s in f), f
	assert "syslog+tcp://192.0.2.66:514" in f, f
	assert any(s.startswith("ipfix+udp://192.0.2.66:4739") for s in f), f
	EOF
check "vagrant/provision/node.sh installs policies/demo.json, the netns demo's policy" \
	grep -q 'install -m 0600 "$ROOT/policies/demo.json" /etc/ward/policy.json' vagrant/provision/node.sh
check "policies/demo.json passes ward check" "$W" check policies/demo.json

# ---- 2. deploy/ward-daemonset.yaml ------------------------------------------------------------
if $PY -c 'import yaml' 2>/dev/null; then
	# ds_check NAME: one assertion group of the python below
	ds_check() { $PY - "$DS" "$TMP/ds" "$1" <"$TMP/ds_check.py"; }
	cat >"$TMP/ds_check.py" <<-'EOF'
	import json, os, sys, yaml
	path, out, what = sys.argv[1:4]
	docs = list(yaml.safe_load_all(open(path)))
	kinds = [(d["kind"], d["metadata"]["name"]) for d in docs]
	by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
	ds = by[("DaemonSet", "ward")]
	pod = ds["spec"]["template"]["spec"]
	ctrs = {c["name"]: c for c in pod["containers"]}
	inits = {c["name"]: c for c in pod.get("initContainers", [])}
	ward = ctrs["ward"]
	cfg_text = by[("ConfigMap", "ward-config")]["data"]["ward.json"]
	pol_text = by[("ConfigMap", "ward-policy")]["data"]["policy.json"]
	cfg = json.loads(cfg_text)
	vols = {v["name"]: v for v in pod["volumes"]}
	mounts = {m["name"]: m for m in ward["volumeMounts"]}

	def mount_of(cm):
	    """where the container sees ConfigMap cm"""
	    for v in pod["volumes"]:
	        if v.get("configMap", {}).get("name") == cm:
	            return mounts[v["name"]]["mountPath"]
	    raise AssertionError("ConfigMap %s is not mounted" % cm)

	if what == "parse":
	    assert kinds == [("Namespace", "ward-system"), ("ConfigMap", "ward-config"),
	                     ("ConfigMap", "ward-policy"), ("DaemonSet", "ward")], kinds
	    os.makedirs(out, exist_ok=True)
	    open(out + "/policy.json", "w").write(pol_text)
	    open(out + "/ward.json", "w").write(cfg_text)
	elif what == "host":
	    assert pod.get("hostNetwork") is True, "hostNetwork"
	    for k in ("hostPID", "hostIPC"):
	        assert not pod.get(k), k
	    assert pod.get("hostUsers", True) is True, "hostUsers false: CAP_BPF would not count"
	elif what == "caps":
	    assert set(ctrs) == {"ward"}, ctrs.keys()
	    for c in list(ctrs.values()) + list(inits.values()):
	        sc = c["securityContext"]
	        assert sc.get("privileged") is False, (c["name"], "privileged must be false")
	        assert sc.get("allowPrivilegeEscalation") is False, (c["name"], "allowPrivilegeEscalation")
	        assert sc.get("readOnlyRootFilesystem") is True, (c["name"], "readOnlyRootFilesystem")
	        assert sc["capabilities"].get("drop") == ["ALL"], (c["name"], sc["capabilities"])
	    add = ward["securityContext"]["capabilities"].get("add", [])
	    assert sorted(add) == ["BPF", "NET_ADMIN", "PERFMON"], add
	    for c in inits.values():
	        assert not c["securityContext"]["capabilities"].get("add"), (c["name"], "needs none")
	elif what == "volumes":
	    assert vols["bpffs"]["hostPath"]["path"] == "/sys/fs/bpf", vols["bpffs"]
	    assert mounts["bpffs"]["mountPath"] == "/sys/fs/bpf"
	    assert mounts["bpffs"].get("mountPropagation") == "HostToContainer"
	    rec = [n for n, v in vols.items() if v.get("hostPath", {}).get("path") == "/var/log/ward"]
	    assert rec and mounts[rec[0]]["mountPath"] == "/var/log/ward", "records hostPath"
	    hp = sorted(v["hostPath"]["path"] for v in vols.values() if "hostPath" in v)
	    assert hp == ["/sys/fs/bpf", "/var/log/ward"], ("no other host path", hp)
	elif what == "probe":
	    cmd = ward["readinessProbe"]["exec"]["command"]
	    assert cmd[:2] == ["/usr/local/sbin/ward", "status"], cmd
	    assert cmd[cmd.index("--pin-path") + 1] == cfg["pin_path"], (cmd, cfg["pin_path"])
	    assert "livenessProbe" not in ward, "ward status reads pins, which outlive the agent"
	    ru = ds["spec"]["updateStrategy"]["rollingUpdate"]
	    assert str(ru.get("maxSurge", 0)) == "0" and str(ru["maxUnavailable"]) == "1", ru
	elif what == "paths":
	    cm = mount_of("ward-config") + "/ward.json"
	    assert ward["command"] == ["/usr/local/sbin/ward", "run", "--config", cm], ward["command"]
	    assert cfg["policy"] == mount_of("ward-policy") + "/policy.json", cfg["policy"]
	    assert inits["check-policy"]["command"][1:] == ["check", cfg["policy"]], inits
	    assert cfg["pin_path"].startswith("/sys/fs/bpf/"), cfg["pin_path"]
	    for f in cfg["flows"]:
	        if f.startswith("file:"):
	            assert f[5:].startswith("/var/log/ward/"), f
	    sock = cfg.get("control_socket", "/run/ward/ward.sock")
	    assert any(sock.startswith(m["mountPath"] + "/") and "emptyDir" in vols[m["name"]]
	               for m in ward["volumeMounts"]), ("control socket on a writable mount", sock)
	elif what == "stale":
	    pol = json.loads(pol_text)
	    assert "connection tracking yet" not in pol_text + open(path).read(), "stale comment"
	    for r in pol.get("ingress", []) + pol.get("egress", []):
	        assert "replies" not in r["id"], ("reply rule", r["id"])
	        for p in r.get("ports", []):
	            assert not str(p).startswith(("32768", "1024-", "49152")), ("ephemeral ports", r)
	else:
	    raise SystemExit("unknown check " + what)
	EOF
	check "$DS parses: Namespace, ConfigMaps ward-config and ward-policy, DaemonSet" ds_check parse
	check "$DS: host network; no hostPID, hostIPC; host user namespace" ds_check host
	check "$DS: privileged false, no escalation, read-only root; exactly BPF NET_ADMIN PERFMON added" ds_check caps
	check "$DS: bpffs and /var/log/ward from the host, and no other host path" ds_check volumes
	check "$DS: readiness probe ward status on the config's pin path; one pod per node, never two" ds_check probe
	check "$DS: config, policy, init check, records and control socket paths agree" ds_check paths
	check "$DS: no reply rules and no 'no connection tracking yet' (Ward tracks connections)" ds_check stale
	check "$DS: the ConfigMap's policy passes ward check" "$W" check "$TMP/ds/policy.json"
	check "$DS: the ConfigMap's ward.json is a valid config" config_ok "$TMP/ds/ward.json"
else
	fail "python3 can read YAML (Debian package python3-yaml; add it to DEB_PKGS)"
fi

# ---- 3. deploy/ansible -------------------------------------------------------------------------
if tool ansible-playbook ansible-core; then
	for pb in site.yml audit-report.yml; do
		check "$ANS/$pb: ansible-playbook --syntax-check" \
			env ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_NOCOLOR=1 \
			ansible-playbook -i "$ANS/inventory.example.yml" --syntax-check "$ANS/$pb"
	done
	# the role's config template, rendered by Ansible, with and without failsafes
	cat >"$TMP/render.yml" <<-EOF
	- hosts: localhost
	  connection: local
	  gather_facts: false
	  vars_files: [$ROOT/$ANS/roles/ward_policy/defaults/main.yml]
	  tasks:
	    - ansible.builtin.template:
	        src: $ROOT/$ANS/roles/ward_policy/templates/ward.json.j2
	        dest: "{{ out }}"
	EOF
	render() { # OUT EXTRA-VARS-JSON
		env ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_NOCOLOR=1 timeout 120 \
			ansible-playbook -i localhost, "$TMP/render.yml" -e "out=$1" -e "$2"
	}
	check "$ANS: the role renders ward.json (failsafes, extra keys)" \
		render "$TMP/cfg1.json" '{"ward_failsafes": ["tcp/22 from 192.0.2.0/28"], "ward_interfaces": ["ens1f0np0", "bond*"], "ward_config_extra": {"conntrack_size": 1048576}}'
	check "$ANS: the rendered ward.json is a valid config" config_ok "$TMP/cfg1.json"
	check "$ANS: the rendered ward.json has the failsafes, globs and extra keys" \
		$PY -c 'import json,sys; c=json.load(open(sys.argv[1])); assert c["failsafes"]==["tcp/22 from 192.0.2.0/28"] and c["interfaces"]==["ens1f0np0","bond*"] and c["conntrack_size"]==1048576 and c["policy"]=="/etc/ward/policy.json", c' "$TMP/cfg1.json"
	check "$ANS: the role renders ward.json without failsafes" render "$TMP/cfg2.json" '{}'
	check "$ANS: without failsafes, no \"failsafes\" key (an empty list is invalid)" \
		$PY -c 'import json,sys; assert "failsafes" not in json.load(open(sys.argv[1]))' "$TMP/cfg2.json"
	check "$ANS: ... and a valid config" config_ok "$TMP/cfg2.json"
fi

# ---- 4. as root: traffic.sh and the Ansible role against real agents --------------------------
if ! lab_require; then
	fail "the root part can run: $LAB_WHY"
	DONE=1
	exit 1
fi

lab_setup
lab_serve node tcp 8000
lab_serve node udp 5353
lab_serve allowed tcp 7000
lab_serve denied tcp 7000
for l in "node tcp 8000" "node udp 5353" "allowed tcp 7000" "denied tcp 7000"; do
	# shellcheck disable=SC2086 # three words on purpose
	lab_wait_listening $l
done
ETC=$TMP/etc
mkdir -p "$ETC"
install -m 0600 policies/demo.json "$ETC/policy.json"
agent_start "$ETC/policy.json"
if ! agent_wait_enforcing 15; then
	fail "the agent enforces policies/demo.json in the lab"
	DONE=1
	exit 1
fi

# traffic.sh in each role's namespace (as in a VM: the namespace it runs in is the role's)
traffic() { # NS-ROLE SCRIPT-ROLE
	timeout 120 nsenter --net="/run/netns/$(lab_ns "$1")" -- env WARD_LAB_ID="tr$LAB_ID" \
		WARD_BIN="$W" WARD_PIN_PATH="$LAB_PIN" WARD_FLOWS_FILE="$LAB_DIR/flows.json" \
		bash vagrant/provision/traffic.sh "$2"
}
for r in allowed denied node; do
	rc_is 0 traffic "$r" "$r"
	cp "$TMP/rc.out" "$TMP/traffic-$r.out"
	check "vagrant/provision/traffic.sh $r: the demo's flows from $r go as policies/demo.json says" \
		has "$TMP/traffic-$r.out" "every flow from $r went the way policies/demo.json says"
done
check "traffic.sh: 6 flows delivered from allowed, 6 blocked from denied, 2 + 2 from node" \
	bash -c "[ \$(grep -c ': *delivered\$' '$TMP/traffic-allowed.out') = 6 ] &&
		[ \$(grep -c ': *blocked\$' '$TMP/traffic-denied.out') = 6 ] &&
		[ \$(grep -c ': *delivered\$' '$TMP/traffic-node.out') = 2 ] &&
		[ \$(grep -c ': *blocked\$' '$TMP/traffic-node.out') = 2 ]"
rc_is 1 traffic denied allowed
check "traffic.sh fails when a flow does not go as the policy says (allowed flows from the denied side)" \
	has "$TMP/rc.out" "UNEXPECTED, the policy says delivered"
check "traffic.sh removes the namespace names it attached" \
	bash -c "! ls /run/netns | grep -q -- '-tr$LAB_ID\$'"

# The Ansible role against the lab agent (connection local; ward in the node's namespace).
sha() { sha256sum "$1" | cut -d' ' -f1; }
live_sha() { ward_node status --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["policy"]["sha256"])'; }
live_is() { # FILE: the agent enforces FILE's text
	local want got
	want=$(sha "$1")
	got=$(live_sha)
	[ "$got" = "$want" ] || { echo "live sha256 $got, want $want ($1)"; return 1; }
}
until_ok() { # SECS CMD...
	local t=$(($1 * 5))
	shift
	for ((; t > 0; t--)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
	"$@"
}
same() { cmp "$1" "$2" || { echo "$1 and $2 differ"; return 1; }; }

if command -v ansible-playbook >/dev/null 2>&1; then
	cat >"$TMP/ward-node" <<-EOF
	#!/bin/sh
	exec nsenter --net=/run/netns/$NS_NODE -- $W "\$@"
	EOF
	chmod 0755 "$TMP/ward-node"
	# the agent's config as the role sees it: where its control socket is
	cat >"$ETC/ward.json" <<-EOF
	{"policy": "$ETC/policy.json", "interfaces": ["$IF_ALLOWED", "$IF_DENIED"],
	 "pin_path": "$LAB_PIN", "control_socket": "/run/ward/${LAB_PIN##*/}.sock"}
	EOF
	# the reachability check: a fresh token from the allowed client to the node's tcp/8000
	cat >"$TMP/reach" <<-EOF
	#!/bin/sh
	t=reach-\$\$
	out=\$(echo "\$t" | timeout 8 nsenter --net=/run/netns/$NS_ALLOWED -- socat -t 2 -T 3 - TCP4:$NODE_ALLOWED_V4:8000,connect-timeout=2)
	[ "\$out" = "\$t" ]
	EOF
	chmod 0755 "$TMP/reach"
	$PY - policies/demo.json "$TMP" <<-'EOF'
	import json, sys
	base = json.load(open(sys.argv[1]))
	def write(name, rev, drop=None, add=None):
	    p = json.loads(json.dumps(base))
	    p["revision"] = rev
	    if drop:
	        p["ingress"] = [r for r in p["ingress"] if r["id"] != drop]
	    if add:
	        p["ingress"].append(add)
	    json.dump(p, open("%s/%s.json" % (sys.argv[2], name), "w"), indent=2)
	write("v4", 4, add={"id": "extra", "from": ["clients"], "proto": "tcp", "ports": [8200]})
	write("v5-no-api", 5, drop="api")
	write("v6", 6, add={"id": "extra6", "from": ["clients"], "proto": "tcp", "ports": [8300]})
	EOF
	play() { # POLICY EXTRA-VARS-JSON
		env ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0 \
			timeout 300 ansible-playbook -i localhost, -c local "$ANS/site.yml" \
			-e '{"ward_hosts": "all", "ansible_become": false, "ward_serial": 1}' \
			-e '{"ansible_python_interpreter": "/usr/bin/python3"}' \
			-e "{\"ward_policy_src\": \"$1\", \"ward_bin\": \"$TMP/ward-node\",
			     \"ward_etc\": \"$ETC\", \"ward_pin_path\": \"$LAB_PIN\",
			     \"ward_manage_config\": false, \"ward_confirm_within\": 60,
			     \"ward_reachability_timeout\": 10, \"ward_reachability_command\": \"$TMP/reach\"}" \
			-e "$2"
	}

	rc_is 0 play "$TMP/v4.json" '{}'
	cp "$TMP/rc.out" "$TMP/play-v4.out"
	check "ansible apply: the playbook succeeds (apply on trial, reachability, confirm)" \
		has "$TMP/play-v4.out" "failed=0"
	check "ansible apply: the agent enforces the new policy" live_is "$TMP/v4.json"
	check "ansible apply: ... and it was confirmed (the agent logged the trial, no rollback)" \
		bash -c "grep -q 'on trial' '$LAB_AGENT_LOG' && ! grep -q 'rolling back' '$LAB_AGENT_LOG'"
	check "ansible apply: the confirmed policy is the agent's policy file" same "$TMP/v4.json" "$ETC/policy.json"
	rc_is 1 ward_node confirm
	check "ansible apply: no trial is left pending (ward confirm: nothing to confirm)" \
		has "$TMP/rc.out" "nothing to confirm"

	rc_is 0 play "$TMP/v4.json" '{}'
	check "ansible apply: a second run with the same policy changes nothing" \
		has "$TMP/rc.out" "changed=0"

	# a short trial: the rollback comes 10 s after the apply
	rc_is 2 play "$TMP/v5-no-api.json" '{"ward_confirm_within": 10, "ward_reachability_timeout": 5}'
	cp "$TMP/rc.out" "$TMP/play-v5.out"
	check "ansible apply: a policy that cuts the checked service fails the host, not confirmed" \
		has "$TMP/play-v5.out" "the policy was not confirmed"
	check "ansible apply: ... it failed at the reachability check" \
		has "$TMP/play-v5.out" "The controller's own check"
	check "ansible apply: ... the agent's policy file is unchanged" same "$TMP/v4.json" "$ETC/policy.json"
	check "ansible apply: ... and the agent rolls back by itself to the previous policy" \
		until_ok 20 live_is "$TMP/v4.json"
	check "ansible apply: ... the agent logged the rollback" has "$LAB_AGENT_LOG" "rolling back"
	check "ansible apply: ... and the allowed client reaches tcp/8000 again" "$TMP/reach"

	rc_is 2 play "$ROOT/tests/fixtures/bad-policy.json" '{}'
	check "ansible: an invalid policy fails ward check on the host" has "$TMP/rc.out" "failed to validate"
	check "ansible: ... nothing changed: the policy file and the policy in force" \
		bash -c "cmp -s '$TMP/v4.json' '$ETC/policy.json' && [ \"\$(sha256sum <'$TMP/v4.json' | cut -d' ' -f1)\" = \"$(live_sha)\" ]"

	rc_is 0 play "$TMP/v6.json" '{"ward_rollout": "reload"}'
	check "ansible reload: the playbook succeeds" has "$TMP/rc.out" "failed=0"
	check "ansible reload: the policy file is the new policy" same "$TMP/v6.json" "$ETC/policy.json"
	check "ansible reload: the agent reloaded it (it watches the file)" live_is "$TMP/v6.json"

	rc_is 0 env ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_NOCOLOR=1 timeout 120 \
		ansible-playbook -i localhost, -c local "$ANS/audit-report.yml" \
		-e '{"ward_hosts": "all", "ansible_become": false, "ansible_python_interpreter": "/usr/bin/python3"}' \
		-e "{\"ward_bin\": \"$TMP/ward-node\", \"ward_pin_path\": \"$LAB_PIN\", \"ward_flows_file\": \"$LAB_DIR/flows.json\"}"
	check "ansible audit-report.yml: the policy in force and the would-be denies, per host" \
		bash -c "grep -q 'policy demo revision 6, mode enforce' '$TMP/rc.out' &&
			grep -q 'would-be denies: ingress [0-9]* packets, egress [0-9]* packets' '$TMP/rc.out'"
fi

DONE=1
