#!/usr/bin/env bash
# A client VM of the Vagrant lab (vagrant/README.md), as root, from the synced tree:
# client.sh allowed|denied. The tools of the netns lab's probes (socat, ping), the client's
# IPv6 address, and the demo's client service (tests/netns/demo.sh): echo on tcp/7000, which
# the node may reach on the allowed client only (rule "backend" of policies/demo.json).
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=vagrant/provision/common.sh
. "$HERE/common.sh"

role=${1:-}
case "$role" in
allowed) a4=$ALLOWED_V4 a6=$ALLOWED_V6 ;;
denied) a4=$DENIED_V4 a6=$DENIED_V6 ;;
*) echo "usage: client.sh allowed|denied" >&2; exit 2 ;;
esac

say "client-$role: packages, IPv6, echo on tcp/7000"
apt_install socat iputils-ping iproute2 util-linux
lab_ipv6 "$a6 $a4"
echo_service tcp 7000
