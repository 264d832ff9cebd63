#!/usr/bin/env bash
# The Vagrant lab's AI node (vagrant/README.md), as root, from the synced tree (/ward):
#   - builds and installs Ward: make deps all install (the systemd unit runs
#     ward run --config /etc/ward/ward.json);
#   - the policy: policies/demo.json, the one `make demo` enforces in the netns lab;
#   - the config: vagrant/provision/ward-lab.json with this VM's interface names: Ward on the
#     two client-facing NICs, records to the local file and to the SOC box (syslog over TCP
#     to rsyslog, IPFIX over UDP to nfcapd);
#   - the demo's services (tests/netns/demo.sh): echo on tcp/8000 (api) and udp/5353 (dns);
#   - starts the unit and fails unless `ward status` reports enforcement.
# Idempotent: run again after `vagrant rsync ward-node` to rebuild and restart.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=vagrant/provision/common.sh
. "$HERE/common.sh"

say "packages and build: make deps all install (in $ROOT)"
apt_install make socat
make -C "$ROOT" deps all install
WARD_BIN=/usr/local/sbin/ward

say "network: IPv6 on the lab NICs"
IF_A=$(iface_of "$NODE_ALLOWED_V4")
IF_D=$(iface_of "$NODE_DENIED_V4")
lab_ipv6 "$NODE_ALLOWED_V6 $NODE_ALLOWED_V4" "$NODE_DENIED_V6 $NODE_DENIED_V4"

say "policy: policies/demo.json -> /etc/ward/policy.json"
install -d -m 0750 /etc/ward
"$WARD_BIN" check "$ROOT/policies/demo.json"
install -m 0600 "$ROOT/policies/demo.json" /etc/ward/policy.json.new
mv /etc/ward/policy.json.new /etc/ward/policy.json

say "config: /etc/ward/ward.json (interfaces $IF_A $IF_D; records to $SOC_V4)"
ward_lab_config "$IF_A" "$IF_D" >/etc/ward/ward.json.new
chmod 0600 /etc/ward/ward.json.new
mv /etc/ward/ward.json.new /etc/ward/ward.json

say "services: echo on tcp/8000 and udp/5353"
echo_service tcp 8000
echo_service udp 5353

say "ward: systemctl enable ward; restart (the config is read at start)"
systemctl daemon-reload
systemctl enable ward.service >/dev/null 2>&1
# Type=notify: returns once enforcement is live, or fails
systemctl restart ward.service
"$WARD_BIN" status
