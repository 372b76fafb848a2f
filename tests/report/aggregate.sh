#!/bin/bash
# aggregate.sh - authmilter-report end to end on SQLite: rows in a history
# store, reports that validate against the RFC 9990 XSD and that dmarc-cat
# reads with the same counts, destinations (authorized, unauthorized,
# same organization, suppressed, too small), delivery through a private
# Postfix (sendmail and SMTP), a rerun that sends nothing, a kill -9 in the
# middle of sending then a rerun (each report exactly once), back-off.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/postfix.sh"

XSD="$top_srcdir/../shared/conformance/dmarc-reports/rfc9990-aggregate.xsd"
[ -f "$XSD" ] || XSD=/work/shared/conformance/dmarc-reports/rfc9990-aggregate.xsd
for tool in xmllint sqlite3 dmarc-cat ldns-testns; do
	command -v $tool >/dev/null || { echo "SKIP: needs $tool"; exit 77; }
done
[ -f "$XSD" ] || { echo "SKIP: no RFC 9990 XSD (shared/conformance)"; exit 77; }
REPORT="$top_builddir/report/authmilter-report"
RC="python3 $top_srcdir/tests/report/reportcheck.py"
WORK=$(mktemp -d /tmp/authmilter-report.XXXXXX)
chmod 755 "$WORK"
POSTFIX=no
cleanup() {
	[ $POSTFIX = yes ] && postfix -c "$WORK/etc" stop >/dev/null 2>&1
	stop_testns
	if [ "$failed" -ne 0 ]; then
		for f in "$WORK"/*.log; do echo "--- $f"; tail -30 "$f"; done
	fi
	[ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

# DNS: the policy domains' records; e2e.test (the mailbox) authorizes a.test
# and d.test only
PYTHONPATH="$top_srcdir/tests/lib" python3 - >"$WORK/zone.data" <<'PY' || exit 99
import zonefile
z = {}
for d in ("a.test", "b.test", "c.test", "d.test", "e2e.test"):
    z["_dmarc." + d] = [("TXT", zonefile.txt_rdata("v=DMARC1; p=quarantine"))]
z["f.test"] = [("TXT", zonefile.txt_rdata("v=spf1 ip4:192.0.2.0/24 -all"))]
z["_dmarc.f.test"] = [("TXT", zonefile.txt_rdata("v=DMARC1; p=none; rua=mailto:agg-f@e2e.test"))]
z["g.test"] = z["f.test"]
z["_dmarc.g.test"] = [("TXT", zonefile.txt_rdata("v=DMARC1; p=reject; fo=1; ruf=mailto:fail@e2e.test"))]
for d in ("a.test", "d.test", "f.test", "g.test"):
    z[d + "._report._dmarc.e2e.test"] = [("TXT", zonefile.txt_rdata("v=DMARC1"))]
z["b.test._report._dmarc.e2e.test"] = [("TXT", zonefile.txt_rdata("v=spf1 -all"))]
print(zonefile.datafile(z), end="")
PY
start_testns "$WORK/zone.data" || exit 99

conf() {	# conf SEND [LINE...]: the reporter's conf with ReportSend SEND
	local send=$1
	shift
	printf '%s\n' "$@" >"$WORK/report.conf"
	cat >>"$WORK/report.conf" <<CONF
AuthservID mx.rx.test
HistoryDB sqlite:$WORK/history.db
ReportOrgName Receiver & Sons <rx>
ReportEmail dmarc-reports@rx.test
Nameservers 127.0.0.1:$NS_PORT
DNSTimeout 2
ReportSpoolDir $WORK/spool
ReportSuppress blocked@e2e.test, nobody.example
ReportSend $send
CONF
}
conf sendmail
check "a run before the store exists says so, exits 0 and creates nothing" sh -c \
	"'$REPORT' -c '$WORK/report.conf' --dry-run '$WORK/dry0' 2>&1 | grep -q 'does not exist yet' && test ! -e '$WORK/history.db'"
check "--migrate creates the store" "$REPORT" -c "$WORK/report.conf" --migrate
check "schema has report_sent" sh -c "sqlite3 '$WORK/history.db' .schema | grep -q 'CREATE TABLE report_sent'"

# rows: day 1 and, later, days 2-4, ten days back (HistoryKeep purges older ones)
D1=$(( $(date +%s) / 86400 * 86400 - 10 * 86400 ))
D2=$((D1 + 86400)) D3=$((D1 + 2 * 86400)) D4=$((D1 + 3 * 86400))
rows() {	# rows BEGIN: one day of rows for five domains
	python3 "$top_srcdir/tests/report/rows.py" "$WORK/history.db" "$1" \
		"a.test:mailto:agg@e2e.test:40" "b.test:mailto:agg-b@e2e.test:7" \
		"e2e.test:mailto:self@e2e.test|mailto:blocked@e2e.test:12" \
		"c.test:mailto:x@sub.nobody.example|https://c.test/r:5" \
		"d.test:mailto:tiny@e2e.test!1k:30" >"$WORK/expect.$1"
}
rows $D1
# and f.test's rows as the milter records them: test mode with HistoryDB
AM="$top_builddir/milter/authmilter"
for i in 1 2 3 4 5; do
	printf 'From: user@f.test\r\nTo: rcpt@rx.test\r\nSubject: %s\r\nMessage-ID: <%s@f.test>\r\n\r\nbody\r\n' $i $i >"$WORK/f$i.eml"
	ip=192.0.2.10; [ $i -gt 3 ] && ip=198.51.100.1
	"$AM" -c "$WORK/report.conf" -t "$WORK/f$i.eml" -i $ip -H mail.f.test -s user@f.test \
		-T $((D1 + 3600 + i)) >>"$WORK/testmode.log" 2>&1
done
echo "f.test 5" >>"$WORK/expect.$D1"
check "test mode recorded 5 rows for f.test" \
	test "$(sqlite3 "$WORK/history.db" "SELECT COUNT(*) FROM history_message WHERE policy_domain='f.test'")" = 5
run() {	# run PERIOD [ARGS]: one report run, log appended to report.log
	local p=$1
	shift
	"$REPORT" -c "$WORK/report.conf" --period "$p" "$@" >>"$WORK/report.log" 2>&1
}

# --- dry run: one report per domain, valid, counted alike by two readers
run $D1:$((D2 - 1)) --dry-run "$WORK/dry"
check "dry run: 6 reports" test "$(ls "$WORK/dry"/*.xml.gz | wc -l)" = 6
check "dry run: .eml for a.test, e2e.test and f.test only" \
	test "$(cd "$WORK/dry" && ls *.eml | sed 's/.*!//' | sort | tr '\n' ' ')" = "agg-f@e2e.test.eml agg@e2e.test.eml self@e2e.test.eml "
check "file name RECEIVER!DOMAIN!BEGIN!END!ID.xml.gz" \
	test -n "$(ls "$WORK/dry" | grep -E "^rx\\.test!a\\.test!$D1!$((D2 - 1))![0-9]+\\.[0-9a-f]{16}\\.xml\\.gz$")"
while read -r domain n; do
	gz=$(ls "$WORK/dry"/rx.test\!"$domain"\!*.xml.gz)
	$RC xml "$gz" >"$WORK/$domain.xml"
	check "$domain: xmllint --schema validates" \
		xmllint --noout --schema "$XSD" "$WORK/$domain.xml" 2>>"$WORK/xmllint.log"
	check "$domain: <count> sums to $n" test "$($RC count "$gz")" = "$n"
	check "$domain: dmarc-cat reads $n messages" test "$($RC dmarccat "$gz")" = "$n"
done <"$WORK/expect.$D1"
check "XML escapes org_name" grep -q '<org_name>Receiver &amp; Sons &lt;rx&gt;</org_name>' "$WORK/a.test.xml"
check "XML escapes a comment" grep -q '<comment>list &lt;a&amp;b&gt; &quot;x&quot;</comment>' "$WORK/a.test.xml"
check "no HELO-scope spf element" not grep -q '<scope>helo</scope>' "$WORK/a.test.xml"
check "log: unauthorized b.test destination" grep -q 'agg-b@e2e.test.*does not authorize' "$WORK/report.log"
check "log: suppressed destination" grep -q 'blocked@e2e.test: suppressed' "$WORK/report.log"
check "log: suppressed domain" grep -q 'x@sub.nobody.example: suppressed' "$WORK/report.log"
check "log: report over the URI's !1k skipped" grep -q 'd.test to tiny@e2e.test: .* over the limit' "$WORK/report.log"
mkdir -p "$WORK/att"
check "the .eml parses back (MIME, Subject, gzip)" \
	$RC mail "$WORK/dry"/*agg@e2e.test.eml "$WORK/att"
check "dry run sent nothing and claimed nothing" \
	test "$(sqlite3 "$WORK/history.db" 'SELECT COUNT(*) FROM report_sent')" = 0

# --- sending through a private Postfix (sendmail needs its pickup service)
if [ "$(id -u)" != 0 ] || ! command -v postfix >/dev/null; then
	echo "SKIP (rest): needs root and postfix"
	finish
fi
SMTP_PORT=$(free_port)
postfix_configure "$WORK" "$SMTP_PORT" ""
echo "pickup    unix n - n 1 1 pickup" >>"$WORK/etc/master.cf"
postfix -c "$WORK/etc" start >"$WORK/postfix-start.log" 2>&1 || { fail "postfix starts"; finish; }
POSTFIX=yes
wait_port "$SMTP_PORT" 30 || { fail "postfix listens"; finish; }
INBOX="$WORK/mail/inbox/new"
SENDMAIL="/usr/sbin/sendmail -C $WORK/etc -t -oi"
inbox_wait() {	# inbox_wait N: until N messages are delivered (30 s)
	for _ in $(seq 300); do
		[ "$(ls "$INBOX" 2>/dev/null | wc -l)" -ge "$1" ] && break
		sleep 0.1
	done
	sleep 1	# and nothing more arrives
	ls "$INBOX" 2>/dev/null | wc -l
}
report_ids() {	# report_ids: "ID TO" of every delivered message, sorted
	mkdir -p "$WORK/got"
	for m in "$INBOX"/*; do $RC mail "$m" "$WORK/got" | cut -d' ' -f1,2; done | sort
}
conf "$SENDMAIL"
run $D1:$((D2 - 1))
check "sendmail: 3 reports delivered" test "$(inbox_wait 3)" = 3
check "delivered to agg@e2e.test, agg-f@e2e.test and self@e2e.test" \
	test "$(report_ids | cut -d' ' -f2 | sort | tr '\n' ' ')" = "agg-f@e2e.test agg@e2e.test self@e2e.test "
for gz in "$WORK/got"/*.xml.gz; do
	$RC xml "$gz" >"$WORK/got.xml"
	check "delivered $(basename "$gz") validates" xmllint --noout --schema "$XSD" "$WORK/got.xml" 2>>"$WORK/xmllint.log"
done
check "report_sent: 3 sent" test "$(sqlite3 "$WORK/history.db" "SELECT COUNT(*) FROM report_sent WHERE state='sent'")" = 3
run $D1:$((D2 - 1))
check "rerun sends nothing" test "$(inbox_wait 4)" = 3
flock "$WORK/spool/.lock" sleep 3 &
lockpid=$!
sleep 0.5
check "a second run while one is sending does nothing" run $D1:$((D2 - 1))
check "... and says so" grep -q 'another authmilter-report run is sending' "$WORK/report.log"
wait $lockpid
check "rerun log: 0 sent, 3 already sent" grep -q '0 sent, 3 already sent' "$WORK/report.log"

# --- kill -9 in the middle, then a rerun: each report exactly once
rows $D2
cat >"$WORK/slow-sendmail" <<SH
#!/bin/sh
sleep 2
exec $SENDMAIL
SH
chmod +x "$WORK/slow-sendmail"
conf "$WORK/slow-sendmail"
"$REPORT" -c "$WORK/report.conf" --period $D2:$((D3 - 1)) >>"$WORK/report.log" 2>&1 &
pid=$!
for _ in $(seq 100); do ls "$WORK/spool"/*.eml >/dev/null 2>&1 && break; sleep 0.05; done
kill -9 $pid
wait $pid 2>/dev/null
check "killed while the first report was being submitted" \
	test "$(sqlite3 "$WORK/history.db" "SELECT COUNT(*) FROM report_sent WHERE period_begin=$D2 AND state='sent'")" = 0
conf "$SENDMAIL"
run $D2:$((D3 - 1))
check "after the rerun: 5 messages in all" test "$(inbox_wait 5)" = 5
check "each report of day 2 exactly once" \
	test "$(report_ids | grep -c "^$D2\.")" = 2 -a "$(report_ids | uniq -d | wc -l)" = 0
check "rerun log: the killed run's report counted as delivered" \
	grep -q 'delivered by an earlier run' "$WORK/report.log"
check "report_sent: day 2 both sent" \
	test "$(sqlite3 "$WORK/history.db" "SELECT COUNT(*) FROM report_sent WHERE period_begin=$D2 AND state='sent'")" = 2
check "spool is empty" test -z "$(ls "$WORK/spool")"

# --- SMTP submission with libcurl
rows $D3
conf "smtp://127.0.0.1:$SMTP_PORT"
run $D3:$((D4 - 1))
check "smtp://: 2 more reports" test "$(inbox_wait 7)" = 7

# --- a failing MTA: not marked sent, backed off, then retried by no run before its time
rows $D4
conf /bin/false
run $D4:$((D4 + 86399))
check "failing MTA: nothing marked sent" \
	test "$(sqlite3 "$WORK/history.db" "SELECT COUNT(*) FROM report_sent WHERE period_begin=$D4 AND state='sent'")" = 0
check "failing MTA: back-off recorded" \
	test "$(sqlite3 "$WORK/history.db" "SELECT COUNT(*) FROM report_backoff WHERE failures=1")" = 2
conf "$SENDMAIL"
run $D4:$((D4 + 86399))
check "backed-off destinations are skipped" grep -q 'backed off until' "$WORK/report.log"
check "nothing delivered while backed off" test "$(inbox_wait 8)" = 7
sqlite3 "$WORK/history.db" "UPDATE report_backoff SET next_try = 0"
run $D4:$((D4 + 86399))
check "after the back-off: delivered" test "$(inbox_wait 9)" = 9
check "back-off cleared on success" test "$(sqlite3 "$WORK/history.db" 'SELECT COUNT(*) FROM report_backoff')" = 0

# --- AUTH only over TLS: this Postfix offers no STARTTLS, so nothing is sent;
# --domain picks one report; rows older than HistoryKeep are purged
D5=$((D1 + 4 * 86400))
rows $D5
sqlite3 "$WORK/history.db" "INSERT INTO history_message(received, mta, source_ip, header_from, envelope_from, helo, policy_domain, discovery, p, adkim, aspf, testing, dmarc_result, dkim_aligned, spf_aligned, disposition, spf_result) VALUES ($(date +%s) - 40 * 86400, 'mx', '192.0.2.1', 'old.test', 'old.test', 'h', 'old.test', 'treewalk', 'none', 'r', 'r', 'n', 'pass', 'pass', 'pass', 'none', 'pass')"
echo secret >"$WORK/pw"
conf "smtp://127.0.0.1:$SMTP_PORT" "ReportSMTPUser reports" "ReportSMTPPasswordFile $WORK/pw"
run $D5:$((D5 + 86399)) --domain A.TEST
check "--domain: one report" grep -q "period $D5..$((D5 + 86399)): 1 policy domains" "$WORK/report.log"
check "AUTH without TLS: not sent" test "$(inbox_wait 10)" = 9
check "AUTH without TLS: the SMTP failure is logged" grep -q "SMTP smtp://127.0.0.1:$SMTP_PORT to agg@e2e.test" "$WORK/report.log"
check "rows older than HistoryKeep are purged" \
	test "$(sqlite3 "$WORK/history.db" "SELECT COUNT(*) FROM history_message WHERE policy_domain='old.test'")" = 0
sqlite3 "$WORK/history.db" "DELETE FROM report_backoff"
conf "$SENDMAIL"
run $D1:$((D2 - 1))
check "the next run (another period) retries the unsent report" test "$(inbox_wait 10)" = 10
check "retried report is a.test's of day 5" grep -q "retrying a.test for $D5..$((D5 + 86399))" "$WORK/report.log"

# --- failure reports (RFC 9991): three failures of g.test (fo=1), one report
# per destination per FailureReportsInterval, ARF that parses back
conf "$SENDMAIL" "FailureReports yes" "ReportMetricsFile $WORK/report.prom"
NOW=$(date +%s)
for i in 1 2 3; do
	printf 'From: user@g.test\r\nTo: rcpt@rx.test\r\nSubject: g%s\r\nMessage-ID: <%s@g.test>\r\n\r\nbody\r\n' $i $i >"$WORK/g$i.eml"
	"$AM" -c "$WORK/report.conf" -t "$WORK/g$i.eml" -i 198.51.100.7 -H mail.g.test -s user@g.test \
		-T $((NOW - 600 + i)) >>"$WORK/testmode.log" 2>&1
done
check "test mode kept the headers of 3 failures" \
	test "$(sqlite3 "$WORK/history.db" "SELECT COUNT(*) FROM history_message WHERE policy_domain='g.test' AND failure_headers IS NOT NULL")" = 3
"$REPORT" -c "$WORK/report.conf" --failure --dry-run "$WORK/fdry" >>"$WORK/report.log" 2>&1
check "failure dry run: one report (interval)" test "$(ls "$WORK/fdry" | wc -l)" = 1
"$REPORT" -c "$WORK/report.conf" --failure >>"$WORK/report.log" 2>&1
check "failure report delivered" test "$(inbox_wait 11)" = 11
check "metrics: 1 failure report sent, 2 skipped by FailureReportsInterval" \
	test "$(grep -E '^authmilter_report_(sent_total|skipped_total)\{kind="failure"(,reason="interval")?\}' "$WORK/report.prom" | cut -d' ' -f2 | tr '\n' ' ')" = "1 2 "
f=$(grep -l '^Subject: DMARC failure report for g.test' "$INBOX"/* | head -1)
check "ARF: multipart/report, auth-failure, headers of the first failure" python3 - "$f" <<'PY'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
assert m.get_content_type() == "multipart/report", m.get_content_type()
assert m.get_param("report-type") == "feedback-report"
parts = list(m.iter_parts())
assert [p.get_content_type() for p in parts] == ["text/plain", "message/feedback-report",
                                                  "text/rfc822-headers"], parts
fb = parts[1].get_payload()
fb = fb[0].as_string() if isinstance(fb, list) else str(fb)
for want in ("Feedback-Type: auth-failure", "Auth-Failure: dmarc", "Source-IP: 198.51.100.7",
             "Reported-Domain: g.test", "Version: 1"):
    assert want in fb, (want, fb)
assert "Subject: g1" in parts[2].get_content(), parts[2].get_content()
PY
check "report_sent: 1 failure sent, 2 suppressed" \
	test "$(sqlite3 "$WORK/history.db" "SELECT state || COUNT(*) FROM report_sent WHERE kind='failure' GROUP BY state ORDER BY state" | tr '\n' ' ')" = "sent1 suppressed2 "
"$REPORT" -c "$WORK/report.conf" --failure >>"$WORK/report.log" 2>&1
check "failure rerun sends nothing" test "$(inbox_wait 12)" = 11
check "metrics: the rerun counts nothing twice" \
	test "$(grep -E '^authmilter_report_(sent_total|skipped_total)\{kind="failure"(,reason="interval")?\}' "$WORK/report.prom" | cut -d' ' -f2 | tr '\n' ' ')" = "1 2 "
finish
