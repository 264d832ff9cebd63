# shellcheck shell=bash
# shellcheck disable=SC2034 # variables set here are read by the scripts that source it
# Sourced by the Vagrant lab's provisioning scripts (vagrant/provision/*.sh), which run as
# root inside the VMs from the synced source tree (/ward). The lab's addresses are the netns
# lab's (tests/netns/lib.sh, sourced here: only its variables and functions, nothing runs),
# the rest is lab.env.
set -euo pipefail

PROV=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$PROV/../.." && pwd)
# lib.sh's namespace names: ward-node-vm, ward-allowed-vm, ward-denied-vm (traffic.sh)
LAB_ID=${WARD_LAB_ID:-vm}
LAB_KIND=vagrant
# shellcheck source=tests/netns/lib.sh
. "$ROOT/tests/netns/lib.sh"
# shellcheck source=vagrant/provision/lab.env
. "$PROV/lab.env"
export DEBIAN_FRONTEND=noninteractive

say() { echo "== $*"; }

# apt_install PKG...: only what is missing (a re-provision installs nothing).
apt_install() {
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# iface_of ADDR: the interface that carries the IPv4 address ADDR (Vagrant configured it).
iface_of() {
	local ifc
	ifc=$(ip -o -4 addr show to "$1" | awk '{print $2; exit}')
	if [ -z "$ifc" ]; then
		echo "no interface carries $1: is the VM on its lab network (vagrant/Vagrantfile)?" >&2
		return 1
	fi
	echo "$ifc"
}

# lab_ipv6 "ADDR6 ADDR4"...: give the interface of each ADDR4 the /64 address ADDR6, now and
# at every boot (Vagrant sets the IPv4 address of a private network only). nodad, as
# tests/netns/lib.sh does: usable at once.
lab_ipv6() {
	local pair a6 a4 ifc unit=/etc/systemd/system/ward-lab-ipv6.service
	{
		echo "# Written by vagrant/provision/common.sh: the lab's IPv6 addresses."
		echo "[Unit]"
		echo "Description=Ward lab: IPv6 addresses of the lab networks"
		echo "After=networking.service"
		echo "Wants=networking.service"
		echo "[Service]"
		echo "Type=oneshot"
		echo "RemainAfterExit=yes"
		for pair in "$@"; do
			read -r a6 a4 <<<"$pair"
			ifc=$(iface_of "$a4")
			echo "ExecStart=/sbin/ip -6 addr replace $a6/64 dev $ifc nodad"
		done
		echo "[Install]"
		echo "WantedBy=multi-user.target"
	} >"$unit.tmp"
	mv "$unit.tmp" "$unit"
	systemctl daemon-reload
	systemctl enable ward-lab-ipv6.service >/dev/null 2>&1
	systemctl restart ward-lab-ipv6.service
}

# echo_service tcp|udp PORT: an echo listener like tests/netns/lib.sh's lab_serve (socat),
# IPv4 and IPv6, as a unit. socat -v logs what arrives to the journal
# (journalctl -u ward-lab-echo-tcp-8000), to tell "request never arrived" from "reply lost".
echo_service() {
	local proto=$1 port=$2 name addr
	name=ward-lab-echo-$proto-$port
	case "$proto" in
	tcp) addr="TCP6-LISTEN:$port,ipv6only=0,reuseaddr,fork" ;;
	udp) addr="UDP6-RECVFROM:$port,ipv6only=0,fork" ;;
	*) echo "echo_service: proto $proto" >&2; return 1 ;;
	esac
	cat >"/etc/systemd/system/$name.service" <<-EOF
	# Written by vagrant/provision/common.sh: the demo's $proto/$port service.
	[Unit]
	Description=Ward lab: echo on $proto/$port (tests/netns/demo.sh's service)
	[Service]
	ExecStart=/usr/bin/socat -v -T 5 $addr EXEC:/bin/cat
	DynamicUser=yes
	Restart=always
	[Install]
	WantedBy=multi-user.target
	EOF
	systemctl daemon-reload
	systemctl enable "$name.service" >/dev/null 2>&1
	systemctl restart "$name.service"
}

# ward_lab_config IF_ALLOWED IF_DENIED: the node's /etc/ward/ward.json, from ward-lab.json.
ward_lab_config() {
	sed -e "s/@IF_ALLOWED@/$1/" -e "s/@IF_DENIED@/$2/" -e "s/@SOC_V4@/$SOC_V4/g" \
		-e "s/@SYSLOG_PORT@/$SYSLOG_PORT/" -e "s/@IPFIX_PORT@/$IPFIX_PORT/" \
		"$PROV/ward-lab.json"
}

# role_of_host: the lab role of this VM, from its hostname (vagrant/Vagrantfile).
role_of_host() {
	case "$(hostname -s)" in
	ward-node) echo node ;;
	client-allowed) echo allowed ;;
	client-denied) echo denied ;;
	soc) echo soc ;;
	*) echo "unknown lab VM $(hostname -s)" >&2; return 1 ;;
	esac
}
