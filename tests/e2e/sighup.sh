#!/bin/bash
# sighup.sh - SIGHUP storms under traffic. For each configuration (defaults,
# DMARCMode rfc7489, MetricsListen) the daemon runs with messages flowing
# from tests/bench/milterload.c (the shared bench's driver) while ROUNDS pairs of back-to-back
# SIGHUPs arrive; after each pair it must be alive and give a verdict on a
# fresh message, and the background traffic must end with no message lost
# (no driver error) and none temp-failed. SIGTERM must then stop it cleanly.
#
# A round that finds the daemon dead or silent restarts it, so the figure
# "N of ROUNDS rounds silenced it" is a rate, not just a first failure
# (ROUNDS=200 AM=/path/to/old/authmilter measures an old build).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/lib/common.sh"

. "$top_srcdir/tests/lib/milterload.sh"

AM=${AM:-$top_builddir/milter/authmilter}
ROUNDS=${ROUNDS:-40}
CONFIGS=${CONFIGS:-"default rfc7489 metrics"}
milterload_check

WORK=$(mktemp -d /tmp/authmilter-sighup.XXXXXX)
MILTER_PID=
TRAFFIC_PID=
cleanup() {
	[ -n "$TRAFFIC_PID" ] && kill "$TRAFFIC_PID" 2>/dev/null
	[ -n "$MILTER_PID" ] && kill -9 "$MILTER_PID" 2>/dev/null
	cleanup_work
}
trap cleanup EXIT

milterload_setup

# start_milter NAME: start the daemon with $WORK/NAME.conf, wait for its port
start_milter() {
	"$AM" -f -c "$WORK/$1.conf" >>"$WORK/$1.log" 2>&1 &
	MILTER_PID=$!
	wait_port "$MILTER_PORT"
}

# others_block PID: SigBlk of every thread but the main one (which waits for
# them in sigtimedwait, so the kernel shows them unblocked there) has bits
# 1, 2 and 15 (0x4003); and there is more than one thread to look at
others_block() {
	local t n=0 blk
	for t in /proc/"$1"/task/*; do
		[ "${t##*/}" = "$1" ] && continue
		blk=$(awk '/^SigBlk:/ {print $2}' "$t/status") || return 1
		[ $((0x$blk & 0x4003)) = $((0x4003)) ] || { echo "thread ${t##*/}: SigBlk $blk"; return 1; }
		n=$((n + 1))
	done
	echo "$n threads besides the main one block them"
	[ "$n" -ge 2 ]
}

between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

# serves: alive, and one fresh message gets the right verdict and header
serves() {
	kill -0 "$MILTER_PID" 2>/dev/null && load --messages 1 --timeout 3 >"$WORK/one.out" 2>&1
}

# storm NAME EXTRA_CONF_LINE: ROUNDS pairs of SIGHUPs under traffic
storm() {
	local name=$1 extra=$2 silenced=0 restarts=0 r start
	MILTER_PORT=$(free_port)
	milterload_conf "$WORK/$name.conf" "$extra"
	: >"$WORK/$name.log"
	start_milter "$name" || { fail "$name: daemon listens"; return; }
	# Traffic for about as long as the storm lasts (0.15 s a round).
	load --concurrency 2 --duration $((ROUNDS / 6 + 3)) --max-errors 1000000 \
		>"$WORK/$name.traffic" 2>&1 &
	TRAFFIC_PID=$!
	sleep 0.5
	start=$SECONDS
	for r in $(seq "$ROUNDS"); do
		kill -HUP "$MILTER_PID" 2>/dev/null
		kill -HUP "$MILTER_PID" 2>/dev/null
		sleep 0.1
		if ! serves; then
			silenced=$((silenced + 1))
			echo "round $r: daemon $(kill -0 "$MILTER_PID" 2>/dev/null && echo 'alive but silent' || echo dead)"
			kill -9 "$MILTER_PID" 2>/dev/null
			wait "$MILTER_PID" 2>/dev/null
			start_milter "$name" || { fail "$name: daemon restarts"; return; }
			restarts=$((restarts + 1))
		fi
	done
	wait "$TRAFFIC_PID"
	TRAFFIC_PID=
	local result
	result=$(grep '^RESULT' "$WORK/$name.traffic")
	echo "$name: $ROUNDS rounds of kill -HUP; kill -HUP in $((SECONDS - start)) s:" \
		"$silenced silenced or killed the daemon; traffic: $result"
	check "$name: alive and serving after each of $ROUNDS SIGHUP pairs" [ "$silenced" = 0 ]
	check "$name: traffic ran through the storm" bash -c "echo '$result' | grep -q 'msgs=[1-9]'"
	check "$name: no message lost or wrong (driver errors, verdicts, headers)" \
		bash -c "echo '$result' | grep -q 'errors=0 wrong_verdict=0 auth_mismatch=0'"
	check "$name: no message temp-failed" bash -c "echo '$result' | grep -q 'tempfail=0'"
	check "$name: reloads ran and were logged" grep -q 'configuration reloaded from' "$WORK/$name.log"
	check "$name: no error logged" bash -c "! grep ': error: ' '$WORK/$name.log'"
	# Now that traffic ran, every thread libmilter and libmicrohttpd start exists.
	check "$name: every thread but the main one blocks SIGHUP, SIGINT, SIGTERM" \
		others_block "$MILTER_PID"
	# A burst of signals merges: never more reloads than signals, at least one.
	local before after
	before=$(grep -c 'configuration reloaded from' "$WORK/$name.log")
	for r in $(seq 20); do kill -HUP "$MILTER_PID"; done
	sleep 1
	after=$(grep -c 'configuration reloaded from' "$WORK/$name.log")
	echo "$name: a burst of 20 SIGHUPs gave $((after - before)) reload(s)"
	check "$name: a burst of 20 SIGHUPs: between 1 and 20 reloads" between $((after - before)) 1 20
	check "$name: serving after the burst" serves
	# SIGTERM still stops it, cleanly and with status 0: checked at the end
	# (libmilter takes up to its 5 s poll tick), while the next storm runs.
	kill -TERM "$MILTER_PID"
	STOPPING="$STOPPING $name:$MILTER_PID"
	MILTER_PID=
}

STOPPING=
for c in $CONFIGS; do
	case $c in
	default) storm default "" ;;
	rfc7489) storm rfc7489 "DMARCMode rfc7489" ;;
	metrics) storm metrics "MetricsListen 127.0.0.1:$(free_port)" ;;
	esac
done
for p in $STOPPING; do
	name=${p%%:*} pid=${p#*:}
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		fail "$name: SIGTERM stops the daemon within 10 s"
		kill -9 "$pid"
		continue
	fi
	wait "$pid"
	rc=$?
	check "$name: SIGTERM: exit status 0 and 'authmilter stopped' logged" \
		bash -c "[ $rc = 0 ] && grep -q 'authmilter stopped' '$WORK/$name.log'"
done
finish
