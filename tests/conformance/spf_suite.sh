#!/bin/sh
# spf_suite.sh - the RFC 7208 suite from ../shared/conformance (or $SPF_SUITE)
# through test mode; see spf_suite.py.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
suite=${SPF_SUITE:-$top_srcdir/../shared/conformance/spf/rfc7208-tests.yml}
if [ ! -f "$suite" ]; then
	echo "SKIP: no RFC 7208 suite at $suite (set SPF_SUITE)"
	exit 77
fi
exec /usr/bin/python3 "$top_srcdir/tests/conformance/spf_suite.py" "$top_builddir/milter/authmilter" "$suite"
