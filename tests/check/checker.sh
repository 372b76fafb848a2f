#!/bin/sh
# checker.sh - authmilter-check against ldns-testns zones and an nginx HTTPS server; see checker.py.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
exec /usr/bin/python3 "$top_srcdir/tests/check/checker.py" "$top_builddir/check/authmilter-check" "$@"
