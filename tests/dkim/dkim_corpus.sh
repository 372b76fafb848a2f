#!/bin/sh
# dkim_corpus.sh - real signers, our verifier and OpenDKIM on one corpus; see dkim_corpus.py.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
for tool in /usr/bin/python3 /usr/bin/time opendkim perl; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool missing"; exit 77; }
done
exec /usr/bin/python3 "$top_srcdir/tests/dkim/dkim_corpus.py" "$top_builddir/milter/authmilter"
