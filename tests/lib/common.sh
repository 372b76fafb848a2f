# common.sh - helpers for the shell tests: counters, ldns-testns, free ports.
# Each test script sources this, calls check/ok/fail, and ends with finish.

passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok - $*"; }
fail() { failed=$((failed + 1)); echo "FAIL - $*"; }

# not COMMAND...: succeeds when the command fails (for check; a plain
# "! cmd" there would negate check itself, not the command)
not() { ! "$@"; }

# check DESCRIPTION COMMAND...: the command's exit status decides
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}

# free_port: a TCP and UDP port nobody listens on
free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", p)); print(p)'
}

# start_testns DATAFILE: sets NS_PORT and NS_PID
start_testns() {
	local i
	for i in 1 2 3 4 5; do
		NS_PORT=$(free_port)
		setsid stdbuf -oL ldns-testns -p "$NS_PORT" "$1" >"$WORK/testns.log" 2>&1 &
		NS_PID=$!
		for _ in $(seq 100); do
			grep -q Listening "$WORK/testns.log" 2>/dev/null && return 0
			kill -0 "$NS_PID" 2>/dev/null || break
			sleep 0.05
		done
	done
	echo "cannot start ldns-testns" >&2
	return 1
}

stop_testns() {
	[ -n "${NS_PID:-}" ] && kill -- -"$NS_PID" 2>/dev/null
	[ -n "${NS_PID:-}" ] && kill "$NS_PID" 2>/dev/null
	[ -n "${NS_PID:-}" ] && wait "$NS_PID" 2>/dev/null
	NS_PID=
}

# wait_port PORT [SECONDS]: until something accepts TCP connections on
# loopback (10 s unless told)
wait_port() {
	for _ in $(seq $((${2:-10} * 20))); do
		(exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# cleanup_work: stop the DNS server; after a failure show the tail of every
# log in $WORK; then remove $WORK
cleanup_work() {
	stop_testns
	if [ "$failed" -ne 0 ]; then
		for f in "$WORK"/*.log; do echo "--- $f"; tail -20 "$f"; done
	fi
	rm -rf "$WORK"
}
