#!/bin/sh
# seal.sh - ARC sealing through test mode (ARCSign yes); see seal.py.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
exec /usr/bin/python3 "$top_srcdir/tests/arc/seal.py" "$top_builddir/milter/authmilter"
