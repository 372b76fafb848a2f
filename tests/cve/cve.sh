#!/bin/sh
# cve.sh - CVE-class regression cases as data through test mode; see cve.py.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
exec /usr/bin/python3 "$top_srcdir/tests/cve/cve.py" "$top_builddir/milter/authmilter"
