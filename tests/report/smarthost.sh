#!/bin/bash
# smarthost.sh - authmilter-report submitting through a real authenticated
# smarthost (Debian's aiosmtpd, tests/report/smtpd.py) with a certificate
# from a test CA made here by openssl: STARTTLS required then AUTH, the
# report parsed back (MIME, gzip, XML); a wrong password (not marked sent,
# backed off); the CA not given (the certificate is verified: nothing
# sent, no AUTH); a server offering AUTH without TLS (AUTH never sent);
# implicit TLS (smtps://). ReportMetricsFile: the counters of every run,
# cumulative, in the Prometheus text format, not written by a dry run.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/lib/common.sh"

XSD="$top_srcdir/../shared/conformance/dmarc-reports/rfc9990-aggregate.xsd"
[ -f "$XSD" ] || XSD=/work/shared/conformance/dmarc-reports/rfc9990-aggregate.xsd
for tool in openssl sqlite3 ldns-testns; do
	command -v $tool >/dev/null || { echo "SKIP: needs $tool"; exit 77; }
done
# Debian's python3 (aiosmtpd is a Debian package), whatever python3 is first in PATH
PYDEB=/usr/bin/python3
$PYDEB -c 'import aiosmtpd' 2>/dev/null || { echo "SKIP: needs python3-aiosmtpd"; exit 77; }
REPORT="$top_builddir/report/authmilter-report"
RC="python3 $top_srcdir/tests/report/reportcheck.py"
WORK=$(mktemp -d /tmp/authmilter-smarthost.XXXXXX)
SMTPD_PIDS=
cleanup() {
	for p in $SMTPD_PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	stop_testns
	if [ "$failed" -ne 0 ]; then
		for f in "$WORK"/*.log "$WORK"/*/*.log; do echo "--- $f"; tail -20 "$f"; done
	fi
	[ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

# --- a test CA and the smarthost's certificate for 127.0.0.1
(
	cd "$WORK" || exit 1
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
		-subj /CN=authmilter-test-ca -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign &&
	openssl req -new -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=127.0.0.1 &&
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >srv.ext &&
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile srv.ext -out srv.pem
) >"$WORK/openssl.log" 2>&1 || { echo "cannot make the test certificates"; exit 99; }

# smtpd MODE: start tests/report/smtpd.py on a free port; sets PORT, OUT
smtpd() {
	PORT=$(free_port)
	OUT="$WORK/smtpd-$1"
	$PYDEB "$top_srcdir/tests/report/smtpd.py" "$1" "$PORT" "$OUT" "$WORK/srv.pem" \
		"$WORK/srv.key" >"$WORK/smtpd-$1.log" 2>&1 &
	SMTPD_PIDS="$SMTPD_PIDS $!"
	for _ in $(seq 200); do [ -e "$OUT/ready" ] && return 0; sleep 0.05; done
	fail "smtpd $1 starts"
	finish
}

# DNS: e2e.test (the mailbox) authorizes a.test's reports, not b.test's
PYTHONPATH="$top_srcdir/tests/lib" python3 - >"$WORK/zone.data" <<'PY' || exit 99
import zonefile
z = {}
for d in ("a.test", "b.test", "e2e.test"):
    z["_dmarc." + d] = [("TXT", zonefile.txt_rdata("v=DMARC1; p=quarantine"))]
z["a.test._report._dmarc.e2e.test"] = [("TXT", zonefile.txt_rdata("v=DMARC1"))]
print(zonefile.datafile(z), end="")
PY
start_testns "$WORK/zone.data" || exit 99

conf() {	# conf URL [LINE...]: the reporter's conf sending to URL
	local url=$1
	shift
	cat >"$WORK/report.conf" <<CONF
AuthservID mx.rx.test
HistoryDB sqlite:$WORK/history.db
ReportEmail dmarc-reports@rx.test
Nameservers 127.0.0.1:$NS_PORT
DNSTimeout 2
ReportSpoolDir $WORK/spool
ReportSuppress blocked@e2e.test
ReportSend $url
ReportSMTPUser reports
ReportSMTPPasswordFile $WORK/pw
ReportMetricsFile $WORK/metrics/authmilter-report.prom
CONF
	printf '%s\n' "$@" >>"$WORK/report.conf"
}
run() {	# run DAY: the report run for that day, log appended to report.log
	"$REPORT" -c "$WORK/report.conf" --period "$1:$(($1 + 86399))" >>"$WORK/report.log" 2>&1
}
sent() {	# sent DAY: copies marked sent for that day
	sqlite3 "$WORK/history.db" "SELECT COUNT(*) FROM report_sent WHERE period_begin=$1 AND state='sent'"
}
mails() { ls "$1/new" 2>/dev/null | wc -l; }
PROM="$WORK/metrics/authmilter-report.prom"
mkdir "$WORK/metrics"
umask 027	# the service's UMask
# metric SERIES: its value in the metrics file ("none" when absent)
metric() { awk -v s="authmilter_report_$1" '$1 == s { v = $2 } END { print v == "" ? "none" : v }' "$PROM"; }
# agg_metrics: "sent failed suppressed unauthorized backoff exit-status" of kind aggregate
agg_metrics() {
	local k='kind="aggregate"'
	echo "$(metric "sent_total{$k}") $(metric "failed_total{$k}")" \
		"$(metric "skipped_total{$k,reason=\"suppressed\"}")" \
		"$(metric "skipped_total{$k,reason=\"unauthorized\"}")" \
		"$(metric "skipped_total{$k,reason=\"backoff\"}")" \
		"$(metric "last_run_exit_status{$k}")"
}
auths() { cat "$1/auth.log" 2>/dev/null | wc -l; }

echo s3cret >"$WORK/pw"
conf smtp://127.0.0.1:1
check "--migrate creates the store" "$REPORT" -c "$WORK/report.conf" --migrate
check "--migrate writes no metrics" test ! -e "$PROM"
D1=$(( $(date +%s) / 86400 * 86400 - 10 * 86400 ))
for i in 0 1 2 3 4; do	# a.test: 25 messages a day to agg@e2e.test
	python3 "$top_srcdir/tests/report/rows.py" "$WORK/history.db" $((D1 + i * 86400)) \
		"a.test:mailto:agg@e2e.test|mailto:blocked@e2e.test:25" \
		"b.test:mailto:agg-b@e2e.test:3" >/dev/null
done

# --- STARTTLS required, then AUTH: the report arrives, parsed back
smtpd starttls
TLS_PORT=$PORT TLS_OUT=$OUT
conf "smtp://127.0.0.1:$TLS_PORT" "ReportSMTPCAFile $WORK/ca.pem"
check "STARTTLS + AUTH: the run succeeds" run $D1
check "STARTTLS + AUTH: one message" test "$(mails "$TLS_OUT")" = 1
check "... submitted over TLS, authenticated as reports" \
	grep -q "^1 <\?dmarc-reports@rx.test>\? agg@e2e.test tls=1 auth=reports$" "$TLS_OUT/mail.log"
check "... one AUTH, over TLS, accepted" test "$(cat "$TLS_OUT/auth.log")" = "PLAIN reports ok tls=1"
mkdir -p "$WORK/got"
check "... MIME, RFC 9990 Subject and gzip attachment parse back" \
	sh -c "$RC mail '$TLS_OUT/new/1.eml' '$WORK/got' >'$WORK/got.txt'"
gz=$(ls "$WORK/got"/*.xml.gz 2>/dev/null | head -1)
check "... the XML counts 25 messages" test "$($RC count "$gz" 2>/dev/null)" = 25
if command -v xmllint >/dev/null && [ -f "$XSD" ]; then
	$RC xml "$gz" >"$WORK/got.xml"
	check "... the XML validates against the RFC 9990 XSD" \
		xmllint --noout --schema "$XSD" "$WORK/got.xml" 2>>"$WORK/xmllint.log"
fi
check "... marked sent" test "$(sent $D1)" = 1
check "metrics: 1 sent, 0 failed, 1 suppressed, 1 unauthorized, 0 backoff, exit 0" \
	test "$(agg_metrics)" = "1 0 1 1 0 0"
check "metrics: last run time is now" \
	test $(( $(date +%s) - $(metric 'last_run_timestamp_seconds{kind="aggregate"}') )) -lt 60
check "metrics: no failure run yet, so no failure timestamp" \
	test "$(metric 'last_run_timestamp_seconds{kind="failure"}')" = none
check "metrics: every sample line is NAME{LABELS} INTEGER, HELP/TYPE for each metric" python3 - "$PROM" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
types = {}
for l in lines:
    m = re.fullmatch(r"# TYPE (\w+) (counter|gauge)", l)
    if m:
        types[m.group(1)] = m.group(2)
    elif not l.startswith("# HELP "):
        m = re.fullmatch(r'(authmilter_report_\w+)\{kind="(aggregate|failure)"(,reason="\w+")?\} \d+', l)
        assert m and m.group(1) in types, l
        assert types[m.group(1)] == "gauge" or m.group(1).endswith("_total"), l
assert len(types) == 5, types
PY

# --- a wrong password: refused, not marked sent, backed off
echo wrong >"$WORK/pw"
check "wrong password: the run says a copy failed (exit 1)" not run $((D1 + 86400))
check "wrong password: nothing delivered" test "$(mails "$TLS_OUT")" = 1
check "wrong password: AUTH refused by the server" grep -q "PLAIN reports bad tls=1" "$TLS_OUT/auth.log"
check "wrong password: not marked sent" test "$(sent $((D1 + 86400)))" = 0
check "wrong password: the destination is backed off" \
	test "$(sqlite3 "$WORK/history.db" "SELECT failures FROM report_backoff WHERE destination='agg@e2e.test'")" = 1
check "wrong password: the SMTP failure is logged" \
	grep -q "SMTP smtp://127.0.0.1:$TLS_PORT to agg@e2e.test: Login denied" "$WORK/report.log"
echo s3cret >"$WORK/pw"
run $((D1 + 86400))
check "backed off: the next run does not try" test "$(auths "$TLS_OUT")" = 2
check "metrics: cumulative, a failure then a back-off (1 sent, 1 failed, 3 suppressed, 3 unauthorized, 1 backoff, exit 0)" \
	test "$(agg_metrics)" = "1 1 3 3 1 0"
sqlite3 "$WORK/history.db" "DELETE FROM report_backoff"

# --- the certificate is verified: without the test CA, no TLS, no AUTH
conf "smtp://127.0.0.1:$TLS_PORT"
check "unknown CA: the run fails" not run $((D1 + 86400))
check "unknown CA: nothing delivered, no AUTH attempted" \
	test "$(mails "$TLS_OUT") $(auths "$TLS_OUT")" = "1 2"
check "unknown CA: the verification failure is logged" \
	grep -qi "SMTP smtp://127.0.0.1:$TLS_PORT to agg@e2e.test: .*certificate" "$WORK/report.log"
sqlite3 "$WORK/history.db" "DELETE FROM report_backoff"
conf "smtp://127.0.0.1:$TLS_PORT" "ReportSMTPCAFile $WORK/ca.pem"
check "with the CA again: the retried report goes" run $((D1 + 86400))
check "... delivered" test "$(mails "$TLS_OUT")" = 2

# --- a server that offers AUTH but no TLS: the password is never sent
smtpd plain
conf "smtp://127.0.0.1:$PORT" "ReportSMTPCAFile $WORK/ca.pem"
check "no TLS offered: the run fails" not run $((D1 + 2 * 86400))
check "no TLS offered: AUTH never sent, nothing delivered" \
	test "$(auths "$OUT") $(mails "$OUT")" = "0 0"
check "no TLS offered: not marked sent" test "$(sent $((D1 + 2 * 86400)))" = 0
sqlite3 "$WORK/history.db" "DELETE FROM report_backoff"

# --- implicit TLS (smtps://)
smtpd smtps
conf "smtps://127.0.0.1:$PORT" "ReportSMTPCAFile $WORK/ca.pem"
check "smtps://: the run succeeds" run $((D1 + 2 * 86400))
check "smtps://: delivered over TLS, authenticated" \
	grep -q "^1 <\?dmarc-reports@rx.test>\? agg@e2e.test tls=1 auth=reports$" "$OUT/mail.log"
rm -rf "$WORK/got" && mkdir "$WORK/got"
check "smtps://: the message parses back" sh -c "$RC mail '$OUT/new/1.eml' '$WORK/got' >/dev/null"
check "smtps://: marked sent" test "$(sent $((D1 + 2 * 86400)))" = 1
check "metrics after 7 runs: 3 sent, 3 failed, 7 suppressed, 7 unauthorized, 1 backoff, exit 0" \
	test "$(agg_metrics)" = "3 3 7 7 1 0"
cp "$PROM" "$WORK/prom.before"
"$REPORT" -c "$WORK/report.conf" --period "$D1:$((D1 + 86399))" --dry-run "$WORK/dry" >>"$WORK/report.log" 2>&1
check "metrics: a dry run writes nothing" cmp -s "$PROM" "$WORK/prom.before"
"$REPORT" -c "$WORK/report.conf" --failure >>"$WORK/report.log" 2>&1
check "metrics: a failure run adds its kind, keeps the aggregate counters" \
	test "$(agg_metrics) $(metric 'sent_total{kind="failure"}')" = "3 3 7 7 1 0 0" \
	-a "$(metric 'last_run_exit_status{kind="failure"}')" = 0
check "metrics: no temp file left" test "$(ls "$WORK/metrics")" = authmilter-report.prom
check "metrics: the file is readable by the collector (0644, whatever the umask)" \
	test "$(stat -c %a "$PROM")" = 644
finish
