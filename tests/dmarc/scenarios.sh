#!/bin/sh
# scenarios.sh - DMARC scenarios as data through test mode; see scenarios.py.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
exec /usr/bin/python3 "$top_srcdir/tests/dmarc/scenarios.py" "$top_builddir/milter/authmilter"
