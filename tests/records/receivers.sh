# shellcheck shell=bash
# Real receivers for the record tests, sourced: rsyslog and nfcapd/nfdump.
# They write under $tmp and record their pids in the array `pids` (the
# caller kills them); with RECV_EXEC set (e.g. "nsenter --net=/run/netns/X --")
# they run, and are waited for, inside that network namespace.
RECV_EXEC=${RECV_EXEC:-}

recv_listen() { # -Hltn (TCP) or -Hlun (UDP), port: 5 s at most
	local i
	for i in $(seq 50); do
		$RECV_EXEC ss "$1" "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# One rsyslog: imudp + imtcp on 127.0.0.1 and ::1, each input to its own
# file, one line per message with the RFC 5424 fields split by '|' (MSG
# last: it may hold '|' itself).
start_rsyslog() { # name, then "proto:addr:port:file" inputs
	local name=$1; shift
	local conf=$tmp/$name.conf
	mkdir -p "$tmp/$name.work"
	cat >"$conf" <<-EOF
	global(workDirectory="$tmp/$name.work" maxMessageSize="64k")
	module(load="imudp")
	module(load="imtcp" maxSessions="16")
	template(name="f5424" type="string"
	         string="%pri%|%protocol-version%|%timestamp:::date-rfc3339%|%hostname%|%app-name%|%procid%|%msgid%|%structured-data%|%msg%\n")
	EOF
	local spec proto addr port file
	for spec in "$@"; do
		IFS=: read -r proto addr port file <<<"$spec"
		addr=${addr//_/:}
		cat >>"$conf" <<-EOF
		ruleset(name="rs_$file") { action(type="omfile" file="$tmp/$file.log" template="f5424") }
		input(type="im$proto" address="$addr" port="$port" ruleset="rs_$file"$([ "$proto" = udp ] && echo ' rcvbufSize="8m"'))
		EOF
	done
	$RECV_EXEC timeout 300 rsyslogd -n -f "$conf" -i "$tmp/$name.pid" >"$tmp/$name.stderr" 2>&1 &
	pids+=($!)
	# ready when every input listens
	local i
	for i in $(seq 50); do
		local all=1
		for spec in "$@"; do
			IFS=: read -r proto addr port file <<<"$spec"
			if [ "$proto" = tcp ]; then
				$RECV_EXEC ss -Hltn "sport = :$port" | grep -q . || all=0
			else
				$RECV_EXEC ss -Hlun "sport = :$port" | grep -q . || all=0
			fi
		done
		[ $all = 1 ] && return 0
		sleep 0.1
	done
	echo "rsyslog $name did not start:"; cat "$tmp/$name.stderr"
	return 1
}

stop_rsyslog() { # name
	local pid i
	pid=$(cat "$tmp/$1.pid" 2>/dev/null) || return 0
	kill "$pid"
	for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
}

# nfcapd writes its file when it stops; nfdump prints it as JSON (UTC).
start_nfcapd() { # dir, port, extra args
	mkdir -p "$1"
	$RECV_EXEC timeout 300 nfcapd -p "$2" -w "$1" -B 8000000 "${@:3}" >"$1.log" 2>&1 &
	echo $! >"$1.pid"
	pids+=($!)
	recv_listen -Hlun "$2" || { echo "nfcapd did not start:"; cat "$1.log"; return 1; }
}
stop_nfcapd() { # dir: stop, then nfdump the directory to dir.json
	local pid i
	pid=$(cat "$1.pid")
	kill "$pid" 2>/dev/null
	for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	# -R: every file, in time order (nfcapd starts a new one every 5 minutes)
	if ls "$1"/nfcapd.[0-9]* >/dev/null 2>&1; then
		TZ=UTC timeout 20 nfdump -R "$1" -o json >"$1.json" 2>"$1.nfdump.err"
	else
		echo "[]" >"$1.json"
	fi
}
