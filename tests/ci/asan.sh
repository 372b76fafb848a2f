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
# process (a non-zero exit the tests see), and log_path writes every report
# to DIR/reports/, which is counted at the end -- so a report from a process
# whose exit status a test ignores (a daemon killed with SIGTERM, a command
# whose output only is checked) still fails the run.
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
# plus these scripts. The end-to-end tests need a live MTA and are covered
# by the valgrind run (VALGRIND=1 tests/e2e/postfix.sh).
ASAN_SCRIPT_TESTS=${ASAN_SCRIPT_TESTS:-"tests/conformance/spf_suite.sh tests/dkim/dkim_corpus.sh tests/dmarc/scenarios.sh tests/cli/t_cli.sh"}

SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"

echo "asan: copying the tree to $src"
git -C "$repo" ls-files -z --cached --others --exclude-standard |
	tar -C "$repo" --null -T - -cf - | tar -C "$src" -xf - || exit 1

# No --enable-werror here: -O1 with the sanitizers makes gcc warn where the
# main -O2 build (which has -Werror) does not; the warnings are listed, the
# job of this build is what runs.
echo "asan: configure and build ($SAN)"
(
	cd "$src" &&
	autoreconf -fi >"$dir/autoreconf.log" 2>&1 &&
	./configure CC=gcc CFLAGS="-O1 -g $SAN" LDFLAGS="$SAN" >"$dir/configure.log" 2>&1 &&
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
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"
export LSAN_OPTIONS="suppressions=$repo/tests/ci/lsan.supp:print_suppressions=0"
# the RFC 7208 suite lives next to the real checkout, not next to the copy
suite="$repo/../shared/conformance/spf/rfc7208-tests.yml"
[ -z "${SPF_SUITE:-}" ] && [ -f "$suite" ] && export SPF_SUITE="$suite"

grep -A3 'warning:' "$dir/build.log"
echo "asan: make check (unit tests + $ASAN_SCRIPT_TESTS)"
(cd "$src" && make check SCRIPT_TESTS="$ASAN_SCRIPT_TESTS") >"$dir/check.log" 2>&1
status=$?
grep -E '^(PASS|FAIL|XPASS|ERROR|SKIP|# )' "$dir/check.log"
if [ "$status" != 0 ]; then
	tail -20 "$dir/check.log"
	tail -80 "$src/test-suite.log" 2>/dev/null
fi

# every report file, whoever wrote it
nreports=$(find "$reports" -type f | wc -l)
if [ "$nreports" -gt 0 ]; then
	echo "asan: $nreports sanitizer report(s):"
	# the first few in full, then one SUMMARY line each
	n=0
	for r in "$reports"/*; do
		n=$((n + 1))
		if [ "$n" -le 5 ]; then
			echo "=== $r"
			head -60 "$r"
		else
			echo "=== $r: $(grep -m1 '^SUMMARY:' "$r")"
		fi
	done
fi
echo "asan: sanitizer reports: $nreports"
[ "$nreports" = 0 ] || status=1
exit "$status"
