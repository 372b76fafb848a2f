#!/bin/bash
# growth.sh - how authmilter's cost grows: CPU per message and peak RSS
# against body size (1 KiB .. 10 MiB), against DKIM signatures per message
# (1, 3, 10) and against concurrency (1 .. 256). Same kind of corpus as
# ../shared/bench (RSA-2048, relaxed/relaxed, SPF and DMARC p=reject pass),
# same load driver (a copy in tests/bench), one connection per message, DNS
# from ldns-testns on loopback. A fresh daemon per row, so peak RSS (VmHWM)
# belongs to that row. Prints figures; asserts only that every verdict and
# Authentication-Results header was right (exit 1 otherwise), never speed.
#
# usage: tests/bench/growth.sh [body|sigs|conc ...]     (all three by default)
# QUICK=1 runs fewer messages per row.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/lib/common.sh"
WORK=$(mktemp -d /tmp/authmilter-growth.XXXXXX)
. "$top_srcdir/tests/bench/benchlib.sh"
trap 'bench_stop; rm -rf "$WORK"' EXIT
bench_check
AXES=${*:-body sigs conc}
SCALE=$([ -n "${QUICK:-}" ] && echo 4 || echo 1)
HZ=$(getconf CLK_TCK)
bad=0

printf '%-5s %8s %6s %5s %9s %11s %9s %9s %9s %6s\n' axis value msgs conc msg/s \
	"CPU ms/msg" "peak MiB" "p50 ms" "p99 ms" wrong

# row AXIS VALUE MESSAGES CONC BODY SIGS: one measured run on a fresh daemon
row() {
	local axis=$1 value=$2 n=$(($3 / SCALE)) conc=$4 body=$5 sigs=$6 dir t0 t1 out
	dir=$WORK/c-$body-$sigs
	# 20 different messages, 4 from 1 MiB up (the driver cycles through them)
	[ -d "$dir" ] || bench_corpus "$dir" $((body < 1048576 ? 20 : 4)) "$body" "$sigs"
	bench_start "$dir"
	# warm: DNS cache and libcrypto's first use, outside the figures
	bench_load "$dir" --messages 4 >/dev/null 2>&1
	t0=$(cpu_ticks "$MILTER_PID")
	out=$(bench_load "$dir" --messages "$n" --concurrency "$conc" --max-errors 1000000 2>&1)
	t1=$(cpu_ticks "$MILTER_PID")
	local peak
	peak=$(peak_kib "$MILTER_PID")
	bench_stop
	local res
	res=$(grep '^RESULT' <<<"$out") || { echo "$axis $value: no result"; echo "$out" | tail -3; bad=1; return; }
	get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$res"; }
	local wrong=$(( $(get wrong_verdict) + $(get auth_mismatch) + $(get errors) ))
	[ "$wrong" = 0 ] || bad=1
	awk -v a="$axis" -v v="$value" -v n="$n" -v c="$conc" -v r="$(get rate)" \
	    -v t=$((t1 - t0)) -v hz="$HZ" -v pk="$peak" -v p50="$(get p50_ms)" \
	    -v p99="$(get p99_ms)" -v w="$wrong" 'BEGIN {
		printf "%-5s %8s %6d %5d %9.1f %11.3f %9.1f %9.2f %9.2f %6d\n",
		    a, v, n, c, r, t * 1000 / hz / n, pk / 1024, p50, p99, w }'
}

for axis in $AXES; do
	case $axis in
	body)
		row body 1KiB 2000 4 1024 1
		row body 100KiB 1000 4 102400 1
		row body 1MiB 200 4 1048576 1
		row body 10MiB 40 4 10485760 1 ;;
	sigs)
		for s in 1 3 10; do row sigs "$s" 2000 4 4096 "$s"; done ;;
	conc)
		for c in 1 4 16 64 256; do row conc "$c" 4000 "$c" 4096 1; done ;;
	*) echo "unknown axis $axis (body, sigs, conc)"; exit 2 ;;
	esac
done
[ "$bad" = 0 ] || { echo "some verdicts or headers were wrong: see above"; exit 1; }
