#!/bin/sh
# measure.sh - worst-case time of each milter stage when every
# DNS query times out: two nameservers (both silent for all but the SPF
# records and the PTR set), DNSTimeout 5, DNSRetries 1, the default budget.
#   [STAGE='mailfrom eoh eom'] tests/dns/budget/measure.sh [BUILDDIR] [extra conf line]
# Prints the seconds each test-mode run took and its output. Not part of make
# check: it takes minutes by design.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../../.." && pwd)}
build=${1:-$top_srcdir}
extra=${2:-}
WORK=$(mktemp -d)
. "$top_srcdir/tests/lib/common.sh"
pids=
trap 'for p in $pids; do kill -- -$p 2>/dev/null; kill $p 2>/dev/null; done; rm -rf "$WORK"' EXIT
ports=
for n in 1 2; do
	start_testns "$top_srcdir/tests/dns/budget/worst.data" || exit 99
	pids="$pids $NS_PID"; ports="$ports${ports:+,}127.0.0.1:$NS_PORT"
	mv "$WORK/testns.log" "$WORK/testns$n.log"
done
cat >"$WORK/am.conf" <<CONF
AuthservID mx.test
Nameservers $ports
DNSTimeout 5
DNSRetries 1
DNSCacheSize 0
$extra
CONF
# Each run makes one stage the slow one; the other stages' lookups are
# answered at once (sender.example, h.none.example, _dmarc.sender.example).
# MAIL FROM: SPF for MAIL FROM and HELO, both "ptr" with ten timing-out
# names, then includes that time out.
printf 'From: a@sender.example\nSubject: s\n\nbody\n' >"$WORK/mailfrom.eml"
# End of headers: ten DKIM signatures whose key lookups time out (libopendkim
# fetches keys in dkim_eoh). The signatures are syntactically valid (b= is
# 1024 bits of base64) but never verify: only the key lookup time matters.
b=$(head -c 128 /dev/zero | base64 -w0)
{
	for i in 1 2 3 4 5 6 7 8 9 10; do
		printf 'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=k%d.slow.example; s=s%d;\n h=from:subject; bh=frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=; b=%s\n' $i $i "$b"
	done
	printf 'From: a@sender.example\nSubject: s\n\nbody\n'
} >"$WORK/eoh.eml"
# End of message: DMARC for a From deep under a tree whose lookups time out.
printf 'From: a@x.y.z.w.v.slow.example\nSubject: s\n\nbody\n' >"$WORK/eom.eml"
# ... and, for DMARCMultiFrom evaluate-strictest (pass it as the extra conf
# line), eight From domains, each discovered on its own.
printf 'From: a@d1.slow.example, a@d2.slow.example, a@d3.slow.example, a@d4.slow.example,\n a@d5.slow.example, a@d6.slow.example, a@d7.slow.example, a@d8.slow.example\nSubject: s\n\nbody\n' >"$WORK/eommulti.eml"
run() {
	t0=$(date +%s.%N)
	out=$("$build/milter/authmilter" -c "$WORK/am.conf" "$@" 2>&1)
	t1=$(date +%s.%N)
	echo "$out" | sed 's/^/    /'
	echo "  => $(echo "$t1 - $t0" | bc) s"
}
for stage in ${STAGE:-mailfrom eoh eom}; do
	case $stage in
	mailfrom)
		echo "MAIL FROM stage (SPF mailfrom + helo: ptr with ten names, includes; all time out):"
		run -t "$WORK/mailfrom.eml" -i 192.0.2.7 -H helo.example -s a@sender.example ;;
	eoh)
		echo "end of headers (ten DKIM key lookups, all time out):"
		run -t "$WORK/eoh.eml" -i 198.51.100.1 -H h.none.example -s '' ;;
	eom)
		echo "end of message (DMARC discovery for x.y.z.w.v.slow.example, all time out):"
		run -t "$WORK/eom.eml" -i 198.51.100.1 -H h.none.example -s '' ;;
	eommulti)
		echo "end of message (DMARC for eight From domains, all time out):"
		run -t "$WORK/eommulti.eml" -i 198.51.100.1 -H h.none.example -s '' ;;
	esac
done
