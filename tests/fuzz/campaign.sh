#!/bin/sh
# campaign.sh - long fuzz runs measured in CPU time (the machine is shared,
# so wall time says little): each TARGET runs until its process has used
# CPU_SECONDS of CPU, then is interrupted. One line per target goes to
# build/campaign/TARGET.txt: CPU seconds, execs, execs per CPU second,
# final cov/ft, crashes. New inputs go to build/work/TARGET; merge them
# into corpus/ with merge.sh afterwards.
# usage: nice -n 10 tests/fuzz/campaign.sh CPU_SECONDS TARGET...
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${FUZZ_BUILD:-$here/build}
cpu_limit=${1:?usage: campaign.sh CPU_SECONDS TARGET...}
shift
tck=$(getconf CLK_TCK)
mkdir -p "$build/campaign"
"$here/build.sh" "$@" >/dev/null || exit 1

# cpu_of - user + system CPU seconds of a process so far
cpu_of() {
	awk -v t="$tck" '{ sub(/.*\) /, ""); print int(($12 + $13) / t) }' "/proc/$1/stat" 2>/dev/null
}

for t in "$@"; do
	log=$build/campaign/$t.$(date +%s).log
	started=$(date +%s)
	mkdir -p "$build/work/$t" "$build/crashes/$t"
	case $t in fuzz_dkim|fuzz_arc) len=65536 ;; fuzz_fromaddr|fuzz_config) len=16384 ;; *) len=8192 ;; esac
	"$build/$t" -max_len=$len -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$build/crashes/$t/" \
		"$build/work/$t" "$here/corpus/$t" > "$log" 2>&1 &
	pid=$!
	cpu=0
	while kill -0 "$pid" 2>/dev/null; do
		cpu=$(cpu_of "$pid")
		[ -n "$cpu" ] && [ "$cpu" -ge "$cpu_limit" ] && kill -INT "$pid"
		[ -n "${FUZZ_WALL:-}" ] && [ $(( $(date +%s) - started )) -ge "$FUZZ_WALL" ] \
			&& kill -INT "$pid"
		sleep 5
	done
	wait "$pid"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
	crashes=$(ls "$build/crashes/$t" | wc -l)
	rate=$(awk -v e="${execs:-0}" -v c="$cpu" 'BEGIN { printf "%d", c ? e / c : 0 }')
	echo "$t cpu_s=$cpu execs=${execs:-0} execs_per_cpu_s=$rate $cov crashes=$crashes" \
		| tee -a "$build/campaign/runs.txt"
done
