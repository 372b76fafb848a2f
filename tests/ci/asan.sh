#!/bin/bash
# asan.sh - build a second copy of the tree with AddressSanitizer and
# UndefinedBehaviorSanitizer and run the unit tests, the conformance suites
# and the CLI tests with it; any sanitizer report fails the run.
#
# usage: tests/ci/asan.sh [DIR]   (default: a new directory under /tmp)
#
# The copy holds the working tree's files (tracked plus untracked, not
# ignored, as tests/package/deb.sh takes them) and is configured on its own:
# autotools refuses a VPATH build from an already configured source tree,
# and the main build must stay untouched. Its make check leaves the usual
# *.trs/*.log files in DIR/src, where .ci/run counts them.
#
# Reports are caught two ways: the options make the first report abort the
# process (a non-zero exit the tests see), and every report also leaves a
# line in DIR/reports/, counted at the end -- so a report from a process
# whose exit status a test ignores (a daemon killed with SIGTERM, a command
# whose output only is checked) still fails the run. ASan/LSan write their
# reports there (log_path); UBSan (gcc 12) ignores log_path, so every
# program is linked with tests/ci/sanhook.c, which writes one SUMMARY line
# per report of any of the three to DIR/reports/summary.PID.
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-$(mktemp -d /tmp/authmilter-asan.XXXXXX)}
src="$dir/src"
reports="$dir/reports"
rm -rf "$src" "$reports"
mkdir -p "$src" "$reports"
# world-writable: daemons that drop privileges (UserID nobody) report too
chmod 1777 "$reports"

# The tests the sanitizer build runs: every unit test (make's UNIT_TESTS)
# and every script test (SCRIPT_TESTS: the conformance suites, the CLI
# tests, and what is added there later) but those under tests/e2e/,
# tests/package/ and tests/soak/: they need a live MTA, a package install
# or a long run; the daemon's e2e run is the valgrind one
# (VALGRIND=1 tests/e2e/postfix.sh). ASAN_SCRIPT_TESTS overrides the list.
ASAN_SKIP='^tests/(e2e|package|soak|bench)/'

SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"

echo "asan: copying the tree to $src"
git -C "$repo" ls-files -z --cached --others --exclude-standard -- . ':(exclude)tests/fuzz/build' |
	tar -C "$repo" --null -T - -cf - | tar -C "$src" -xf - || exit 1

# No --enable-werror here: -O1 with the sanitizers makes gcc warn where the
# main -O2 build (which has -Werror) does not; the warnings are listed, the
# job of this build is what runs.
echo "asan: configure and build ($SAN)"
(
	cd "$src" &&
	gcc -c -O1 -Wall -Wextra -Werror "$repo/tests/ci/sanhook.c" -o "$dir/sanhook.o" &&
	autoreconf -fi >"$dir/autoreconf.log" 2>&1 &&
	./configure CC=gcc CFLAGS="-O1 -g $SAN" LDFLAGS="$SAN -rdynamic" LIBS="$dir/sanhook.o" \
		>"$dir/configure.log" 2>&1 &&
	make -j2 >"$dir/build.log" 2>&1 &&
	make -j2 check TESTS= >>"$dir/build.log" 2>&1
) || {
	tail -40 "$dir"/*.log
	echo "asan: build failed"
	echo "0 passed, 1 failed"
	exit 1
}

# abort_on_error: a report ends the process with SIGABRT, never a clean exit;
# detect_leaks: leaks are reports too (suppressions: tests/ci/lsan.supp).
export ASAN_OPTIONS="abort_on_error=1:halt_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:log_path=$reports/asan"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1"
export SANHOOK_DIR="$reports"
export LSAN_OPTIONS="suppressions=$repo/tests/ci/lsan.supp:print_suppressions=0"
# the RFC 7208 suite lives next to the real checkout, not next to the copy
suite="$repo/../shared/conformance/spf/rfc7208-tests.yml"
[ -z "${SPF_SUITE:-}" ] && [ -f "$suite" ] && export SPF_SUITE="$suite"
# the same for the ARC suite (arc_suite.sh reads ARC_SUITE, a directory)
suite="$repo/../shared/conformance/arc"
[ -z "${ARC_SUITE:-}" ] && [ -f "$suite/arc-draft-validation-tests.yml" ] && export ARC_SUITE="$suite"

grep -A3 'warning:' "$dir/build.log"
if [ -z "${ASAN_SCRIPT_TESTS:-}" ]; then
	ASAN_SCRIPT_TESTS=$(cd "$src" && make -s --no-print-directory \
		--eval 'asan-print-script-tests: ; @echo $(SCRIPT_TESTS)' asan-print-script-tests |
		tr ' ' '\n' | grep -Ev "$ASAN_SKIP" | tr '\n' ' ')
fi
echo "asan: make check (unit tests + $ASAN_SCRIPT_TESTS)"
(cd "$src" && make check SCRIPT_TESTS="$ASAN_SCRIPT_TESTS") >"$dir/check.log" 2>&1
status=$?
grep -E '^(PASS|FAIL|XPASS|ERROR|SKIP|# )' "$dir/check.log"
if [ "$status" != 0 ]; then
	tail -20 "$dir/check.log"
	tail -80 "$src/test-suite.log" 2>/dev/null
fi

# one SUMMARY line per report; plus any log_path file of a process that
# wrote no summary (LSan's fatal errors, e.g. under ptrace, print none)
nreports=$(cat "$reports"/summary.* 2>/dev/null | grep -c '^SUMMARY:')
for r in "$reports"/asan.*; do
	[ -f "$r" ] && [ ! -f "$reports/summary.${r##*.}" ] && nreports=$((nreports + 1))
done
if [ "$nreports" -gt 0 ]; then
	echo "asan: $nreports sanitizer report(s); their summaries (count, line):"
	cat "$reports"/summary.* 2>/dev/null | sort | uniq -c | sort -rn | head -40
	# the first few ASan/LSan reports in full (UBSan's went to the test's stderr)
	for r in $(ls "$reports"/asan.* 2>/dev/null | head -5); do
		echo "=== $r"
		head -60 "$r"
	done
fi
echo "asan: sanitizer reports: $nreports"
[ "$nreports" = 0 ] || status=1
exit "$status"
