#!/bin/sh
# merge.sh - fold what fuzzing found (build/work/TARGET) into the checked-in
# corpus (corpus/TARGET), minimised with libFuzzer's -merge=1: only inputs
# that add coverage are kept, none over 64 KiB.
# usage: tests/fuzz/merge.sh [TARGET...]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${FUZZ_BUILD:-$here/build}
targets="$*"
[ -n "$targets" ] || targets=$(cd "$here" && ls fuzz_*.c | sed 's/\.c$//')
# shellcheck disable=SC2086
"$here/build.sh" $targets >/dev/null
for t in $targets; do
	case $t in fuzz_dkim|fuzz_arc) len=65536 ;; fuzz_fromaddr|fuzz_config) len=16384 ;; *) len=8192 ;; esac
	new=$build/merge/$t
	rm -rf "$new"
	mkdir -p "$new" "$build/work/$t" "$here/corpus/$t"
	"$build/$t" -merge=1 -max_len=$len -timeout=10 -rss_limit_mb=2048 \
		"$new" "$here/corpus/$t" "$build/work/$t" > "$build/merge/$t.log" 2>&1
	find "$new" -type f -size +64k -delete
	before=$(ls "$here/corpus/$t" | wc -l)
	rm -rf "$here/corpus/$t"
	mv "$new" "$here/corpus/$t"
	echo "$t: $before -> $(ls "$here/corpus/$t" | wc -l) inputs, $(du -sk "$here/corpus/$t" | cut -f1) KiB"
done
