#!/bin/sh
# run.sh - build the fuzz targets, replay their regression inputs, then fuzz
# each for SECONDS on its corpus; one line per target and a final
# "N passed, N failed". A target passes when it ran and found no crash.
# Exit status 1 on any crash; the crashing input is left under
# tests/fuzz/build/crashes/TARGET/ (and named on the target's line).
#
# usage: tests/fuzz/run.sh SECONDS [TARGET...]
# env:   FUZZ_JOBS (2): targets at once;  FUZZ_KEEP=1: add what the run
#        found to tests/fuzz/corpus/TARGET/ (otherwise it stays in build/work/).
set -u
here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:?usage: run.sh SECONDS [TARGET...]}
shift
jobs=${FUZZ_JOBS:-2}
build=${FUZZ_BUILD:-$here/build}

targets="$*"
[ -n "$targets" ] || targets=$(cd "$here" && ls fuzz_*.c | sed 's/\.c$//')
# shellcheck disable=SC2086
"$here/build.sh" $targets || { echo "run.sh: build failed"; echo "0 passed, 1 failed"; exit 1; }

# max_len - the largest input worth trying per target
max_len() {
	case $1 in
	fuzz_dkim|fuzz_arc) echo 65536 ;;
	fuzz_fromaddr|fuzz_config) echo 16384 ;;
	fuzz_milterproto) echo 200000 ;;
	*) echo 8192 ;;
	esac
}

# run_one - replay, then fuzz; writes $build/log/TARGET.{log,result}
run_one() {
	t=$1
	log=$build/log/$t.log
	res=$build/log/$t.result
	crashes=$build/crashes/$t
	work=$build/work/$t
	mkdir -p "$crashes" "$work" "$here/corpus/$t"
	rm -f "$crashes"/*
	: > "$log"
	if [ -d "$here/regress/$t" ] && [ -n "$(ls "$here/regress/$t")" ]; then
		if ! "$build/$t" -runs=1 "$here/regress/$t"/* >> "$log" 2>&1; then
			echo "$t  regress: FAILED replaying tests/fuzz/regress/$t (see $log)  FAIL" > "$res"
			return
		fi
	fi
	first=$work
	[ "${FUZZ_KEEP:-0}" = 1 ] && first=$here/corpus/$t
	start=$(date +%s)
	"$build/$t" -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/" \
		"$first" "$here/corpus/$t" >> "$log" 2>&1
	rc=$?
	elapsed=$(( $(date +%s) - start ))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	found=$(ls "$crashes" | wc -l)
	status=PASS
	if [ "$rc" != 0 ] || [ "$found" != 0 ] || [ -z "$execs" ]; then
		status=FAIL
	fi
	line="$t  execs=${execs:-0}  exec/s=${rate:-0}  ${cov:-cov: ? ft: ?}  crashes=$found  ${elapsed}s  $status"
	[ "$found" != 0 ] && line="$line  ($crashes/$(ls "$crashes" | head -1))"
	echo "$line" > "$res"
}

mkdir -p "$build/log"
running=0
for t in $targets; do
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait
		running=0
	fi
done
wait

passed=0
failed=0
for t in $targets; do
	if [ -f "$build/log/$t.result" ]; then
		cat "$build/log/$t.result"
		grep -q ' PASS$' "$build/log/$t.result" && passed=$((passed + 1)) || failed=$((failed + 1))
	else
		echo "$t  did not run  FAIL"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
