#!/bin/sh
# arc_interop.sh - ARC chains sealed and verified by authmilter, dkimpy and
# Mail::DKIM (3 sealers x 3 verifiers, tampered variants); see arc_interop.py.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
for need in "/usr/bin/python3 -c 'import dkim, authres'" \
	"perl -MMail::DKIM::ARC::Signer -MMail::DKIM::ARC::Verifier -MNet::DNS -e 1" \
	"command -v ldns-testns"; do
	if ! eval "$need" >/dev/null 2>&1; then
		echo "SKIP: needs $need (python3-dkim, python3-authres, libmail-dkim-perl, ldnsutils)"
		exit 77
	fi
done
exec /usr/bin/python3 "$top_srcdir/tests/conformance/arc_interop.py" \
	"$top_builddir/milter/authmilter" "$@"
