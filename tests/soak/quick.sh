#!/bin/bash
# quick.sh - the soak test in 30 seconds for make check: 50 connections, 100 idle
# ones, 5-second windows; the same checks as the 10-minute run.sh. Logs and tables
# stay in tests/soak/quick.out of the build tree.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
export top_srcdir top_builddir
out=$top_builddir/tests/soak/quick.out
rm -rf "$out"
SOAK_SECONDS=30 SOAK_CONC=50 SOAK_IDLE=100 SOAK_WINDOW=5 SOAK_MESSAGES=100 SOAK_OUT=$out \
	exec "$top_srcdir/tests/soak/run.sh"
