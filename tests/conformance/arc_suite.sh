#!/bin/sh
# arc_suite.sh - ValiMail's ARC suite from ../shared/conformance/arc (or
# $ARC_SUITE, the directory) through test mode and arc_sealtool; see arc_suite.py.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
suite=${ARC_SUITE:-$top_srcdir/../shared/conformance/arc}
if [ ! -f "$suite/arc-draft-validation-tests.yml" ] || [ ! -f "$suite/arc-draft-sign-tests.yml" ]; then
	echo "SKIP: no ARC suite at $suite (set ARC_SUITE)"
	exit 77
fi
exec /usr/bin/python3 "$top_srcdir/tests/conformance/arc_suite.py" \
	"$top_builddir/milter/authmilter" "$top_builddir/tests/conformance/arc_sealtool" \
	"$suite/arc-draft-validation-tests.yml" "$suite/arc-draft-sign-tests.yml" "$@"
