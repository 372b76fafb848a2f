#!/bin/bash
# run.sh - soak and fault test: the daemon under sustained load, DNS faults and
# protocol abuse, watched for lost messages, wrong verdicts, memory and fd growth.
#
#   tests/soak/run.sh                       # full: 10 minutes, 200 connections
#   SOAK_SECONDS=30 SOAK_CONC=50 ... run.sh # what tests/soak/quick.sh runs in make check
#
# Knobs: SOAK_SECONDS (600), SOAK_CONC (200 concurrent driver connections),
# SOAK_WINDOW (10: seconds per load window and per RSS/fd sample), SOAK_IDLE (500
# idle connections held from 60% to 80% of the run), SOAK_MESSAGES (200: clean
# corpus size), SOAK_MAX_LATENCY_MS (30000: Postfix's milter_command_timeout),
# SOAK_OUT (directory for logs and tables; default a new /tmp/authmilter-soak.*).
#
# Parts: ldns-testns serves the zone (tests/soak/gen.py writes it with the
# corpus); tests/soak/faults.py sits in front of it and breaks the f-KIND-TARGET
# names; tests/bench/milterload.c (a copy of ../shared/bench's driver,
# compiled into the build tree) plays the
# MTA: the clean corpus at SOAK_CONC connections in back-to-back windows of
# SOAK_WINDOW seconds (one RESULT per window, then an RSS/fd sample), and the
# fault corpora one after another in a second loop; tests/soak/abuse.py sends
# garbage, huge length prefixes and half commands every window and holds the idle
# connections. Exit 0 only when every check passed; 77 when a part is missing.

set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/lib/common.sh"

SECS=${SOAK_SECONDS:-600}
CONC=${SOAK_CONC:-200}
WIN=${SOAK_WINDOW:-10}
IDLE=${SOAK_IDLE:-500}
NMSG=${SOAK_MESSAGES:-200}
MAXLAT=${SOAK_MAX_LATENCY_MS:-30000}
PY=/usr/bin/python3
HERE=$top_srcdir/tests/soak
DRIVER_SRC=$top_srcdir/tests/bench/milterload.c
DRIVER=$top_builddir/tests/soak/milterload
DAEMON=$top_builddir/milter/authmilter

skip() { echo "SKIP: $*"; exit 77; }
[ -f "$DRIVER_SRC" ] || skip "no $DRIVER_SRC"
command -v ldns-testns >/dev/null || skip "ldns-testns missing (apt-get install ldnsutils)"
command -v gcc >/dev/null || skip "gcc missing"
$PY -c 'import dkim' 2>/dev/null || skip "python3-dkim missing"
[ -x "$DAEMON" ] || { echo "no $DAEMON: build first" >&2; exit 1; }

WORK=${SOAK_OUT:-$(mktemp -d /tmp/authmilter-soak.XXXXXX)}
mkdir -p "$WORK"
echo "# soak: ${SECS}s, $CONC connections, window ${WIN}s, $IDLE idle connections; output in $WORK"

PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	stop_testns
	wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- parts -----------------------------------------------------------------

mkdir -p "$(dirname "$DRIVER")"
if [ ! -x "$DRIVER" ] || [ "$DRIVER_SRC" -nt "$DRIVER" ]; then
	gcc -O2 -Wall -Wextra -pthread -o "$DRIVER" "$DRIVER_SRC" || { echo "cannot build the driver" >&2; exit 1; }
fi
$PY "$HERE/gen.py" --out "$WORK/data" --messages "$NMSG" || exit 1
start_testns "$WORK/data/zone.data" || exit 1

FPORT= FPID=
for _ in 1 2 3 4 5; do
	FPORT=$(free_port)
	$PY "$HERE/faults.py" --port "$FPORT" --upstream "$NS_PORT" --stats "$WORK/faults.stats" \
		>"$WORK/faults.log" 2>&1 &
	FPID=$!
	for _ in $(seq 100); do
		grep -q listening "$WORK/faults.log" 2>/dev/null && break 2
		kill -0 "$FPID" 2>/dev/null || break
		sleep 0.05
	done
done
grep -q listening "$WORK/faults.log" || { echo "fault DNS server did not start" >&2; exit 1; }
PIDS+=("$FPID")

MPORT=$(free_port)
cat >"$WORK/soak.conf" <<EOF
Socket              inet:$MPORT@127.0.0.1
AuthservID          soak.test
Nameservers         127.0.0.1:$FPORT
DNSTimeout          2
DMARCEnforce        yes
TempFailOnDNSError  no
EOF
# The daemon runs at normal priority even when this script is nice'd (root may
# lower the niceness back; elsewhere it inherits ours).
niceness=$(nice)
if [ "$niceness" -gt 0 ] && [ "$(id -u)" = 0 ]; then
	nice -n "-$niceness" "$DAEMON" -f -c "$WORK/soak.conf" >"$WORK/authmilter.log" 2>&1 &
else
	"$DAEMON" -f -c "$WORK/soak.conf" >"$WORK/authmilter.log" 2>&1 &
fi
MPID=$!
PIDS+=("$MPID")
wait_port "$MPORT" || { echo "authmilter did not listen" >&2; cat "$WORK/authmilter.log" >&2; exit 1; }
sleep 0.5

sample() {   # RSS kB, fds, threads of the daemon (or "- - -" once it is gone)
	local rss thr fds
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$MPID/status" 2>/dev/null)
	thr=$(awk '/^Threads/ { print $2 }' "/proc/$MPID/status" 2>/dev/null)
	fds=$(ls "/proc/$MPID/fd" 2>/dev/null | wc -l)
	[ -n "$rss" ] && echo "$rss $fds $thr" || echo "- - -"
}
read -r RSS0 FD0 THR0 <<<"$(sample)"
echo "# idle daemon: RSS ${RSS0} kB, $FD0 fds, $THR0 threads (pid $MPID, nice $(ps -o ni= -p "$MPID" | tr -d ' '))"

# cond 'SHELL TEST': for check, when one check needs several tests
cond() { eval "$1"; }
driver() { "$DRIVER" --socket "inet:$MPORT@127.0.0.1" --timeout 60 --max-errors 1000000 "$@"; }

# ---- load, faults, abuse -----------------------------------------------------

T0=$(date +%s)
END=$((T0 + SECS))
HOLD_FROM=$((SECS * 6 / 10))
HOLD_TO=$((SECS * 8 / 10))
NWARM=$(((SECS / WIN) / 10))      # warm-up: a tenth of the run, at least 10 s
[ $((NWARM * WIN)) -ge 10 ] || NWARM=$(((10 + WIN - 1) / WIN))

fault_loop() {   # each fault corpus in turn, one pass each: a whole round, then until the end
	local k n round=0
	while [ "$(date +%s)" -lt "$END" ]; do
		round=$((round + 1))
		for k in $(ls "$WORK/data/fault"); do
			[ "$round" -gt 1 ] && [ "$(date +%s)" -ge "$END" ] && break
			n=$(grep -vc '^#' "$WORK/data/fault/$k/index.tsv")
			driver --corpus "$WORK/data/fault/$k" --concurrency "$n" >>"$WORK/fault.$k.txt" 2>&1
		done
	done
}
fault_loop &
FLPID=$!
PIDS+=("$FLPID")

$PY "$HERE/abuse.py" --port "$MPORT" --duration "$SECS" --every "$WIN" --idle "$IDLE" \
	--hold-from "$HOLD_FROM" --hold-to "$HOLD_TO" --out "$WORK/abuse.txt" \
	>"$WORK/abuse.log" 2>&1 &
ABPID=$!
PIDS+=("$ABPID")

: >"$WORK/windows.tsv"
i=0
while [ "$(date +%s)" -lt "$END" ]; do
	i=$((i + 1))
	start=$(($(date +%s) - T0))
	(sleep $((WIN / 2)); sample >"$WORK/mid.$i") &
	out=$(driver --corpus "$WORK/data/corpus" --concurrency "$CONC" --duration "$WIN")
	end=$(($(date +%s) - T0))
	# idle: the window overlaps the hold (abuse.py starts a moment after T0)
	if [ "$i" -le "$NWARM" ]; then phase=warm
	elif [ "$end" -lt "$HOLD_FROM" ]; then phase=load
	elif [ "$start" -le $((HOLD_TO + 1)) ]; then phase=idle
	else phase=after
	fi
	echo "$out" >>"$WORK/driver.txt"
	wait $!
	res=$(grep '^RESULT ' <<<"$out")
	[ -n "$res" ] || res="RESULT msgs=0 errors=1"
	printf '%d\t%s\t%d\t%s\t%s\t%s\n' "$i" "$phase" "$(($(date +%s) - T0))" "$(sample)" \
		"$(cat "$WORK/mid.$i")" "${res#RESULT }" >>"$WORK/windows.tsv"
done
wait "$FLPID" "$ABPID"
sleep 2          # let the daemon finish closing what the clients closed
read -r RSS1 FD1 THR1 <<<"$(sample)"
kill -TERM "$MPID"
stopped=no
for _ in $(seq 100); do
	kill -0 "$MPID" 2>/dev/null || { stopped=yes; break; }
	sleep 0.1
done
wait "$MPID"
mrc=$?

# ---- report and checks ----------------------------------------------------------

val() { awk -v k="$1" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) print kv[2] } }'; }

echo
echo "# windows (${WIN}s each): RSS/fds/threads after the window and in its middle; the driver's RESULT"
printf '%3s %-5s %5s %9s %5s %5s %9s %5s %5s %6s %7s %8s %8s %5s %5s %5s %5s\n' \
	win phase t_s rss_kB fds thr mid_rss mfds mthr msgs "msg/s" p50_ms p99_ms err wrong ar tfail
awk -F'\t' '{
	split($4, a, " "); split($5, m, " ")
	n = split($6, kv, " "); delete v
	for (i = 1; i <= n; i++) { split(kv[i], x, "="); v[x[1]] = x[2] }
	printf "%3d %-5s %5d %9s %5s %5s %9s %5s %5s %6d %7.1f %8.2f %8.2f %5d %5d %5d %5d\n",
		$1, $2, $3, a[1], a[2], a[3], m[1], m[2], m[3], v["msgs"], v["rate"], v["p50_ms"],
		v["p99_ms"], v["errors"], v["wrong_verdict"], v["auth_mismatch"], v["tempfail"]
}' "$WORK/windows.tsv"

sum() { cut -f6 "$WORK/windows.tsv" | val "$1" | awk '{ s += $1 } END { print s + 0 }'; }
MSGS=$(sum msgs) ERRS=$(sum errors) WRONG=$(sum wrong_verdict) AR=$(sum auth_mismatch)
TFAIL=$(sum tempfail) REJ=$(sum reject)
P50=$(cut -f6 "$WORK/windows.tsv" | val p50_ms | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
P99=$(cut -f6 "$WORK/windows.tsv" | val p99_ms | sort -n | tail -1)
LMAX=$(cut -f6 "$WORK/windows.tsv" | val max_ms | sort -n | tail -1)
echo
echo "# load: $MSGS messages ($REJ rejected as expected by the corpus), errors $ERRS, wrong verdicts $WRONG,"
echo "#       A-R not as expected $AR, tempfail $TFAIL; latency: median of window p50 ${P50} ms, worst window p99 ${P99} ms, max ${LMAX} ms"
check "load: messages were processed ($MSGS)" [ "$MSGS" -gt 0 ]
check "load: 0 driver errors ($ERRS)" [ "$ERRS" -eq 0 ]
check "load: every verdict as the corpus expects (wrong $WRONG)" [ "$WRONG" -eq 0 ]
check "load: every A-R as the corpus expects (mismatch $AR)" [ "$AR" -eq 0 ]
check "load: no tempfail ($TFAIL)" [ "$TFAIL" -eq 0 ]
empty=$(awk -F'\t' '$6 !~ /msgs=[1-9]/' "$WORK/windows.tsv" | wc -l)
check "load: traffic flowed in every window, abuse and idle phases included ($empty empty)" [ "$empty" -eq 0 ]
echo "# per phase (warm: first $((NWARM * WIN)) s; idle: $IDLE idle connections held, ${HOLD_FROM}-${HOLD_TO} s)"
for ph in warm load idle after; do
	awk -F'\t' -v ph="$ph" '$2 == ph { print $6 }' "$WORK/windows.tsv" | val rate | sort -n |
		awk -v ph="$ph" '{ r[NR] = $1 } END { if (NR) printf "#   %-5s %3d windows, median %7.1f msg/s\n", ph, NR, r[int((NR + 1) / 2)] }'
done

# RSS after warm-up, in two series: after each window (no driver connection open)
# and in its middle (up to SOAK_CONC messages in flight, so it moves with how many
# are in flight at that instant). Each sample within +-10% of its series' median,
# and between windows the last sample no more than 10% above the first: growth
# over the run shows in both.
rss_check() {   # rss_check FIELD LABEL
	local med lo hi first last
	awk -F'\t' -v w="$NWARM" -v f="$1" '$1 > w { split($f, a, " "); if (a[1] != "-") print a[1] }' \
		"$WORK/windows.tsv" >"$WORK/rss.$1"
	if [ ! -s "$WORK/rss.$1" ]; then
		fail "RSS $2: no sample after warm-up (run longer than $((NWARM + 1)) windows)"
		return
	fi
	first=$(head -1 "$WORK/rss.$1") last=$(tail -1 "$WORK/rss.$1")
	read -r med lo hi <<<"$(sort -n "$WORK/rss.$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)], a[1], a[NR] }')"
	echo "# RSS $2 after warm-up: median $med kB, min $lo kB, max $hi kB, first $first kB, last $last kB"
	check "RSS $2 within +-10% of its median $med kB (min $lo, max $hi)" \
		cond '[ $((lo * 10)) -ge $((med * 9)) ] && [ $((hi * 10)) -le $((med * 11)) ]'
	[ "$1" = 4 ] && check "RSS $2: no growth over the run (first $first kB, last $last kB)" \
		[ $((last * 10)) -le $((first * 11)) ]
}
rss_check 4 "between windows"
rss_check 5 "mid-window, under load"
# fds between windows, outside the idle hold: no growth (the spread is what the
# fault loop and the abuse connections in flight account for).
read -r FLO FHI <<<"$(awk -F'\t' -v w="$NWARM" '$1 > w && $2 != "idle" { split($4, a, " "); if (lo == "" || a[2] < lo) lo = a[2]; if (a[2] > hi) hi = a[2] } END { print lo, hi }' "$WORK/windows.tsv")"
check "fds flat between windows after warm-up (min $FLO, max $FHI)" cond '[ -n "$FLO" ] && [ $((FHI - FLO)) -le 24 ]'
check "fds back to the idle count at the end ($FD1, at start $FD0)" cond '[ "$FD1" != - ] && [ "$FD1" -le $((FD0 + 2)) ]'
echo "# threads at start $THR0, at the end $THR1; RSS at start $RSS0 kB, at the end $RSS1 kB"

echo
echo "# DNS faults (f-KIND-TARGET.soak.example, TARGET spf, dkim, dmarc; timeout also 'all'), DNSTimeout 2, DNSRetries 1"
printf '%-9s %9s %6s %5s %5s %5s %5s %9s %9s  %s\n' kind "q faulted" msgs err wrong ar tfail p99_ms max_ms "results seen (method=result count)"
for f in "$WORK"/fault.*.txt; do
	k=${f##*/fault.}; k=${k%.txt}
	q=$(awk -v k="$k" '$1 == k { print $3 }' "$WORK/faults.stats" 2>/dev/null)
	r=$(grep '^RESULT ' "$f")
	m=$(val msgs <<<"$r" | awk '{ s += $1 } END { print s + 0 }')
	e=$(val errors <<<"$r" | awk '{ s += $1 } END { print s + 0 }')
	w=$(val wrong_verdict <<<"$r" | awk '{ s += $1 } END { print s + 0 }')
	a=$(val auth_mismatch <<<"$r" | awk '{ s += $1 } END { print s + 0 }')
	t=$(val tempfail <<<"$r" | awk '{ s += $1 } END { print s + 0 }')
	p=$(val p99_ms <<<"$r" | sort -n | tail -1)
	x=$(val max_ms <<<"$r" | sort -n | tail -1)
	seen=$(grep '^  results' "$f" | sed 's/^  results *//' | tr ',' '\n' | awk '$1 ~ /^(spf|dkim|dmarc)=/ { n[$1] += $2 } END { for (k in n) printf "%s %d, ", k, n[k] }' | sed 's/, $//')
	printf '%-9s %9s %6d %5d %5d %5d %5d %9s %9s  %s\n' "$k" "${q:-0}" "$m" "$e" "$w" "$a" "$t" "$p" "$x" "$seen"
	check "fault $k: was injected (${q:-0} queries)" [ "${q:-0}" -gt 0 ]
	check "fault $k: $m messages, 0 errors, 0 wrong verdicts, A-R as expected, no tempfail" \
		cond '[ "$m" -gt 0 ] && [ "$e" -eq 0 ] && [ "$w" -eq 0 ] && [ "$a" -eq 0 ] && [ "$t" -eq 0 ]'
	check "fault $k: max latency ${x} ms <= $MAXLAT ms" awk -v x="${x:-0}" -v m="$MAXLAT" 'BEGIN { exit !(x <= m) }'
done

dq() { awk -v k="$1" '$1 == k { print $2 }' "$WORK/faults.stats" 2>/dev/null; }
echo "# DNS queries received by the fault server: $(dq all-udp) over UDP, $(dq all-tcp) over TCP"

echo
echo "# protocol abuse (counters from abuse.py; *_open_after_5s: the daemon kept the connection)"
sed 's/^/#   /' "$WORK/abuse.txt" 2>/dev/null
ab() { awk -v k="$1" '$1 == k { print $2 }' "$WORK/abuse.txt" 2>/dev/null; }
check "abuse: the daemon answered every OPTNEG probe ($(ab probe_ok) ok, $(ab probe_failed) failed)" \
	cond '[ "$(ab probe_ok)" -gt 0 ] && [ -z "$(ab probe_failed)" ]'
check "abuse: no hostile connection was refused" \
	[ -z "$(grep connect_failed "$WORK/abuse.txt" 2>/dev/null)" ]
check "abuse: all $IDLE idle connections were accepted ($(ab idle_opened))" [ "$(ab idle_opened)" = "$IDLE" ]
IMAX=$(awk -F'\t' '$2 == "idle" { split($4, a, " "); split($5, m, " "); if (a[2] > x) x = a[2]; if (m[2] > x) x = m[2] } END { print x + 0 }' "$WORK/windows.tsv")
echo "# fds during the idle hold: up to $IMAX ($IDLE idle connections held)"

echo
check "daemon stopped on SIGTERM ($stopped, exit $mrc)" cond '[ "$stopped" = yes ] && [ "$mrc" -eq 0 ]'
bad=$(grep -ciE 'fatal|abort|segfault|assert' "$WORK/authmilter.log")
check "daemon log has no fatal line ($bad)" [ "$bad" -eq 0 ]
# Each log line whole: one "authmilter: " prefix at its start (stderr lines from
# concurrent threads must not interleave).
broken=$(awk 'index($0, "authmilter: ") != 1 || index(substr($0, 2), "authmilter: ") { n++ } END { print n + 0 }' "$WORK/authmilter.log")
check "daemon log lines intact ($broken of $(wc -l <"$WORK/authmilter.log") broken)" [ "$broken" -eq 0 ]
echo "# daemon log: $(wc -l <"$WORK/authmilter.log") lines; last: $(tail -1 "$WORK/authmilter.log" | cut -c1-160)"
finish
