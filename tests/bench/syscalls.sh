#!/bin/bash
# syscalls.sh - system calls and futex wake-ups per message in authmilter,
# under the shared bench's load driver (one connection per message, 4 KiB
# DKIM-signed bodies, SPF and DMARC pass), and a CPU profile.
#
# usage: tests/bench/syscalls.sh [MESSAGES] [CONCURRENCY]   (as root for perf)
#
# Prints: the driver's RESULT line, `strace -c -f` per message by system
# call, futex calls split into wait and wake, and (with perf installed from
# Debian's linux-perf, a bench tool only: not a build dependency) the top of
# `perf report`. strace slows the daemon a lot: read the counts, not the rate.
set -u
N=${1:-1000}
C=${2:-4}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/lib/common.sh"
WORK=$(mktemp -d /tmp/authmilter-syscalls.XXXXXX)
. "$top_srcdir/tests/bench/benchlib.sh"
command -v strace >/dev/null || { echo "SKIP: needs strace"; exit 77; }
trap 'bench_stop; rm -rf "$WORK"' EXIT
bench_check
bench_corpus "$WORK/data" 100 4096 1
bench_start "$WORK/data"
bench_load "$WORK/data" --messages 200 --concurrency "$C" >/dev/null || { echo "warm-up failed"; exit 1; }

# traced ARGS...: strace on the daemon (all threads) while N messages run
traced() {
	strace "$@" -f -p "$MILTER_PID" -o "$WORK/strace.out" 2>/dev/null &
	local st=$!
	sleep 1
	bench_load "$WORK/data" --messages "$N" --concurrency "$C" >"$WORK/load.out" || {
		cat "$WORK/load.out"; echo "load failed"; exit 1; }
	sleep 0.5
	kill -INT "$st"
	wait "$st"
}

traced -c
grep '^RESULT' "$WORK/load.out"
echo "== strace -c -f, $N messages, concurrency $C: calls per message"
awk -v n="$N" '$1 ~ /^[0-9.]+$/ && NF >= 5 {
	name = $NF; calls = $4; if (name == "total") next; total += calls
	printf "%-16s %8.2f\n", name, calls / n
} END { printf "%-16s %8.2f\n", "total", total / n }' "$WORK/strace.out" | sort -k2 -rn

traced -e trace=futex
echo "== futex per message"
awk -v n="$N" '/FUTEX_WAKE/ { wake++ } /FUTEX_WAIT/ { wait++ }
	END { printf "futex wake %.2f  wait %.2f\n", wake / n, wait / n }' "$WORK/strace.out"

if command -v perf >/dev/null; then
	echo "== perf: where the daemon's CPU goes ($N messages, concurrency $C)"
	perf record -q -e cpu-clock -g -p "$MILTER_PID" -o "$WORK/perf.data" >/dev/null 2>&1 &
	pf=$!
	sleep 1
	bench_load "$WORK/data" --messages "$N" --concurrency "$C" >/dev/null
	kill -INT "$pf"
	wait "$pf"
	perf report -i "$WORK/perf.data" --stdio --no-children --sort dso -g none 2>/dev/null \
		| grep -v '^#' | grep '%' | head -12
	perf report -i "$WORK/perf.data" --stdio --no-children --sort sym -g none 2>/dev/null \
		| grep -v '^#' | grep '%' | head -25
fi
