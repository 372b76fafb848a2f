#!/bin/bash
# t_owner.sh - through test mode: records owned by another name than the one
# asked are no answer (SPF, DMARC), a CNAME chain in the answer is, and
# DNSBudget cuts a wait the per-try timeout would have allowed.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/lib/common.sh"
AM="$top_builddir/milter/authmilter"
WORK=$(mktemp -d /tmp/authmilter-owner.XXXXXX)
trap 'stop_testns; rm -rf "$WORK"' EXIT
start_testns "$top_srcdir/tests/dns/owner.data" || exit 99

conf() {	# conf NAME LINES...
	local f="$WORK/$1.conf"
	shift
	{ echo "Nameservers 127.0.0.1:$NS_PORT"; echo "AuthservID mx.owner.test";
	  echo "DNSTimeout 5"; echo "DNSRetries 0"; echo "SPFHelo no"; printf '%s\n' "$@"; } >"$f"
	echo "$f"
}
C=$(conf base)
msg() {	# msg FROM-DOMAIN: a message file
	printf 'From: a@%s\nSubject: t\n\nbody\n' "$1" >"$WORK/$1.eml"
	echo "$WORK/$1.eml"
}
has() {	# has TEXT PATTERN
	printf '%s\n' "$1" | grep -q -- "$2" || { printf 'got: %s\n' "$1" >&2; return 1; }
}

out=$("$AM" -c "$C" -t "$(msg victim.example)" -i 198.51.100.7 -s a@victim.example)
check "SPF record of another name ignored: spf=none, not pass" has "$out" 'spf=none '
out=$("$AM" -c "$C" -t "$(msg nodmarc.example)" -i 198.51.100.7 -s a@victim.example)
check "DMARC record of another name ignored: dmarc=none, not fail" has "$out" 'dmarc=none '
out=$("$AM" -c "$C" -t "$(msg alias.example)" -i 198.51.100.7 -s a@alias.example)
check "SPF through a CNAME chain in the answer: spf=pass" has "$out" 'spf=pass '
out=$("$AM" -c "$C" -t "$(msg slow.example)" -i 198.51.100.7 -s a@slow.example)
check "slow answer within DNSTimeout and the default budget: spf=pass" has "$out" 'spf=pass '
out=$("$AM" -c "$(conf budget 'DNSBudget 1')" -t "$(msg slow.example)" -i 198.51.100.7 -s a@slow.example)
check "DNSBudget 1 cuts the 3 s wait: spf=temperror" has "$out" 'spf=temperror '
check "... and the verdict is still given" has "$out" '^action='
check "-n rejects DNSBudget 0" bash -c "! '$AM' -n -c '$(conf zero 'DNSBudget 0')' 2>/dev/null"
finish
