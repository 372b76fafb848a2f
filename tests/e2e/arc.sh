#!/bin/bash
# arc.sh - end to end, trusted forwarders: a p=reject domain's message,
# changed by a "list" hop (subject tag, footer) that seals it with ARC
# (dkimpy's arc_sign, key served by ldns-testns), goes through a private
# Postfix and authmilter with ARCTrustedSealers lists.example.org. Sealed
# by lists.example.org it is delivered with dmarc=fail and the override
# named; sealed by an untrusted list it is rejected (550 5.7.1).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/postfix.sh"

if [ "$(id -u)" != 0 ] || ! command -v postfix >/dev/null || ! command -v swaks >/dev/null; then
	echo "SKIP: needs root, postfix and swaks"
	exit 77
fi
AM="$top_builddir/milter/authmilter"
WORK=$(mktemp -d /tmp/authmilter-arc.XXXXXX)
chmod 755 "$WORK"
MILTER_PID=
cleanup() {
	postfix -c "$WORK/etc" stop >/dev/null 2>&1
	[ -n "$MILTER_PID" ] && kill "$MILTER_PID" 2>/dev/null && wait "$MILTER_PID" 2>/dev/null
	stop_testns
	if [ "$failed" -ne 0 ]; then
		echo "--- authmilter log"; cat "$WORK/authmilter.log" 2>/dev/null
		echo "--- postfix log"; tail -40 "$WORK/postfix.log" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

PY=/usr/bin/python3
$PY "$top_srcdir/tests/e2e/arc_e2e.py" zone >"$WORK/zone.data" || exit 99
start_testns "$WORK/zone.data" || exit 99

MILTER_PORT=$(free_port)
METRICS_PORT=$(free_port)
cat >"$WORK/authmilter.conf" <<CONF
Socket inet:$MILTER_PORT@127.0.0.1
AuthservID mx.e2e.test
Nameservers 127.0.0.1:$NS_PORT
DNSTimeout 2
MetricsListen 127.0.0.1:$METRICS_PORT
ARCTrustedSealers lists.example.org
CONF

# Without the ARC verifier there is no chain to trust: nothing to test yet.
$PY "$top_srcdir/tests/e2e/arc_e2e.py" message lists.example.org probe >"$WORK/probe.eml" || exit 99
if ! "$AM" -c "$WORK/authmilter.conf" -t "$WORK/probe.eml" -i 127.0.0.1 -H lists.example.org \
	-s list-bounces@lists.example.org 2>/dev/null | grep -q '; arc='; then
	echo "SKIP: this build has no ARC verifier (no arc= result)"
	exit 77
fi

"$AM" -f -c "$WORK/authmilter.conf" >"$WORK/authmilter.log" 2>&1 &
MILTER_PID=$!
wait_port "$MILTER_PORT" 60 || { fail "authmilter listens"; finish; }
SMTP_PORT=$(free_port)
postfix_configure "$WORK" "$SMTP_PORT" "inet:127.0.0.1:$MILTER_PORT"
postfix -c "$WORK/etc" start >"$WORK/postfix-start.log" 2>&1 || { cat "$WORK/postfix-start.log"; fail "postfix starts"; finish; }
wait_port "$SMTP_PORT" || { fail "postfix listens"; finish; }
INBOX="$WORK/mail/inbox/new"

# send NAME SEALER: the list's message over SMTP; transcript in $WORK/NAME.smtp
send() {
	$PY "$top_srcdir/tests/e2e/arc_e2e.py" message "$2" "$1" >"$WORK/$1.eml"
	swaks --server 127.0.0.1 --port "$SMTP_PORT" --from "list-bounces@$2" --to user@e2e.test \
		--helo "$2" --data "$WORK/$1.eml" --timeout 30 >"$WORK/$1.smtp" 2>&1
}

# delivered NAME: the delivered copy whose Message-ID is NAME's
delivered() {
	for _ in $(seq 100); do
		f=$(grep -l -F "<$1@example.com>" "$INBOX"/* 2>/dev/null | head -1)
		[ -n "$f" ] && { echo "$f"; return 0; }
		sleep 0.1
	done
	return 1
}

# our_ar FILE: our Authentication-Results field, unfolded
our_ar() {
	awk '/^$/ { exit } /^[ \t]/ { if (cur != "") cur = cur " " substr($0, 2); next }
		{ if (cur != "") print cur; cur = "" }
		/^Authentication-Results: mx\.e2e\.test;/ { cur = $0 }
		END { if (cur != "") print cur }' "$1"
}

# 1. trusted sealer: delivered, dmarc=fail kept, the override named
send trusted lists.example.org
if f=$(delivered trusted); then
	ok "trusted sealer: delivered"
	ar=$(our_ar "$f")
	check "trusted sealer: arc=pass" grep -q '; arc=pass' <<<"$ar"
	check "trusted sealer: dmarc=fail stays fail, override named" \
		grep -q 'dmarc=fail (p=reject dis=reject; local: ARC from lists.example.org) header.from=example.com policy.dmarc=none' <<<"$ar"
	check "trusted sealer: the list's subject tag is there" grep -q '^Subject: \[list\] trusted' "$f"
	echo "--- delivered Authentication-Results (trusted sealer)"; echo "$ar"
else
	fail "trusted sealer: delivered"
fi
check "trusted sealer: log line names the override" \
	grep -q 'dmarc=fail/example.com dmarc_policy=reject dmarc_applied=none.*dmarc_local="ARC from lists.example.org".*action=accept' "$WORK/authmilter.log"

# 2. untrusted sealer: the same list mail, rejected as the domain asks
send untrusted untrusted.example
check "untrusted sealer: SMTP 550 5.7.1" grep -q '<\*\* *550 5.7.1' "$WORK/untrusted.smtp"
check "untrusted sealer: not delivered" not delivered untrusted
grep '<\*\*' "$WORK/untrusted.smtp" | head -2

# 3. the override was counted
scrape=$($PY -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' \
	"http://127.0.0.1:$METRICS_PORT/metrics")
check "metrics: authmilter_arc_overrides_total 1" grep -qx 'authmilter_arc_overrides_total 1' <<<"$scrape"
finish
