#!/bin/sh
# limits.sh - every limit on the message path, below, at and above; see limits.py.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
exec /usr/bin/python3 "$top_srcdir/tests/limits/limits.py" "$top_builddir/milter/authmilter"
