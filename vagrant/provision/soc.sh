#!/usr/bin/env bash
# The Vagrant lab's SOC box (vagrant/README.md), as root, from the synced tree: rsyslog
# receiving the node's RFC 5424 records (TCP and UDP, port SYSLOG_PORT) and nfcapd receiving
# its IPFIX records (UDP, port IPFIX_PORT), both as systemd units, under /var/lib/ward-soc.
#
# The receivers are configured by the record tests' own functions (tests/records/receivers.sh:
# start_rsyslog writes the rsyslog configuration, with the same template, one line per message,
# the RFC 5424 fields split by '|'; start_nfcapd picks nfcapd's options). Those functions run
# the daemon as "$RECV_EXEC timeout 300 DAEMON ARGS..." and wait until it listens: here
# RECV_EXEC is soc_exec, which makes that command line a systemd unit instead of a 5-minute
# child, and passes every other command (ss) through.
#
# soc.sh --dry-run DIR: write the configuration and the units under DIR, start nothing
# (tests/cli/test_deploy.sh checks them with rsyslogd -N1).
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=vagrant/provision/common.sh
. "$HERE/common.sh"

DRY=
if [ "${1:-}" = --dry-run ]; then
	DRY=${2:?usage: soc.sh [--dry-run DIR]}
	mkdir -p "$DRY"
	DRY=$(cd "$DRY" && pwd)
fi
UNITS=${DRY:-/etc/systemd/system}
# receivers.sh's working directory: the rsyslog configuration and its output files
tmp=${DRY:+$DRY/var}
tmp=${tmp:-/var/lib/ward-soc}
pids=()
mkdir -p "$tmp"

# soc_exec CMD...: RECV_EXEC for receivers.sh.
soc_exec() {
	case "$1" in
	timeout) # timeout SECS DAEMON ARGS...
		shift 2
		soc_unit "$@"
		;;
	ss) # readiness checks: the real sockets, or (dry run) "listening"
		if [ -n "$DRY" ]; then echo "dry-run: listening"; else "$@"; fi
		;;
	*) "$@" ;;
	esac
}

# soc_unit DAEMON ARGS...: /etc/systemd/system/ward-soc-DAEMON.service running it, started.
soc_unit() {
	local daemon=$1 bin unit a
	shift
	bin=$(command -v "$daemon" || echo "/usr/sbin/$daemon")
	for a in "$@"; do
		case "$a" in
		*[[:space:]]* | *'"'* | *\\*) echo "soc.sh: argument '$a' of $daemon needs quoting" >&2; return 1 ;;
		esac
	done
	if [ "$daemon" = rsyslogd ] && [ -z "$DRY" ]; then
		"$bin" -N1 "$@" >&2 # -n -f CONF -i PID: -N1 checks CONF and exits
	fi
	unit=$UNITS/ward-soc-$daemon.service
	cat >"$unit" <<-EOF
	# Written by vagrant/provision/soc.sh from tests/records/receivers.sh's command line.
	[Unit]
	Description=Ward lab SOC: $daemon receiving the node's records
	After=network-online.target
	Wants=network-online.target
	[Service]
	ExecStart=$bin $*
	Restart=on-failure
	[Install]
	WantedBy=multi-user.target
	EOF
	echo "soc.sh: $unit: ExecStart=$bin $*"
	[ -n "$DRY" ] && return 0
	systemctl daemon-reload
	systemctl enable "ward-soc-$daemon.service" >/dev/null 2>&1
	systemctl restart "ward-soc-$daemon.service"
}

RECV_EXEC=soc_exec
# shellcheck source=tests/records/receivers.sh
. "$ROOT/tests/records/receivers.sh"

if [ -z "$DRY" ]; then
	say "packages: rsyslog nfdump"
	apt_install rsyslog nfdump iproute2
fi

say "rsyslog: RFC 5424 on tcp/$SYSLOG_PORT and udp/$SYSLOG_PORT -> $tmp/syslog_{tcp,udp}.log"
start_rsyslog soc "tcp:0.0.0.0:$SYSLOG_PORT:syslog_tcp" "udp:0.0.0.0:$SYSLOG_PORT:syslog_udp"

say "nfcapd: IPFIX on udp/$IPFIX_PORT -> $tmp/ipfix/ (a new file every 60 s; nfdump -R reads them)"
start_nfcapd "$tmp/ipfix" "$IPFIX_PORT" -b 0.0.0.0 -t 60
wait # the unit writers receivers.sh started in the background
