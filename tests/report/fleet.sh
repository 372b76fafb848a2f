#!/bin/bash
# fleet.sh - two MX hosts, one PostgreSQL store, one reporter: a throwaway
# PostgreSQL 15 cluster (initdb + pg_ctl on a unix socket, as postgres), two
# authmilter daemons (mx1, mx2) behind two smtpd listeners of a private
# Postfix, mail for two domains through both, then one authmilter-report
# run: per domain one report whose counts add up to the messages sent
# through both hosts, valid against the XSD and read alike by dmarc-cat;
# the reports go out through the same Postfix, and a rerun sends nothing;
# then the store goes down under traffic: mail is still delivered at once,
# and the rows mx2 cannot queue are dropped and counted.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/postfix.sh"

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
XSD="$top_srcdir/../shared/conformance/dmarc-reports/rfc9990-aggregate.xsd"
[ -f "$XSD" ] || XSD=/work/shared/conformance/dmarc-reports/rfc9990-aggregate.xsd
if [ "$(id -u)" != 0 ] || [ -z "$PGBIN" ] || ! command -v postfix >/dev/null \
	|| ! command -v swaks >/dev/null || ! command -v dmarc-cat >/dev/null \
	|| ! command -v xmllint >/dev/null || ! command -v runuser >/dev/null || [ ! -f "$XSD" ]; then
	echo "SKIP: needs root, PostgreSQL 15, postfix, swaks, dmarc-cat, xmllint and the XSD"
	exit 77
fi
AM="$top_builddir/milter/authmilter"
REPORT="$top_builddir/report/authmilter-report"
RC="python3 $top_srcdir/tests/report/reportcheck.py"
WORK=$(mktemp -d /tmp/authmilter-fleet.XXXXXX)
chmod 755 "$WORK"
PGDIR="$WORK/pg"
PIDS=
POSTFIX=no
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	[ $POSTFIX = yes ] && postfix -c "$WORK/etc" stop >/dev/null 2>&1
	[ -d "$PGDIR/data" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate \
		stop >/dev/null 2>&1
	stop_testns
	if [ "$failed" -ne 0 ]; then
		for f in "$WORK"/*.log "$PGDIR"/*.log; do echo "--- $f"; tail -30 "$f"; done
	fi
	[ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

PYTHONPATH="$top_srcdir/tests/lib" python3 - >"$WORK/zone.data" <<'PY' || exit 99
import zonefile
t = zonefile.txt_rdata
z = {"p1.test": [("TXT", t("v=spf1 ip4:127.0.0.1 -all"))],
     "p2.test": [("TXT", t("v=spf1 -all"))]}
for d in ("p1.test", "p2.test"):
    z["_dmarc." + d] = [("TXT", t("v=DMARC1; p=none; rua=mailto:agg@e2e.test"))]
    z[d + "._report._dmarc.e2e.test"] = [("TXT", t("v=DMARC1"))]
print(zonefile.datafile(z), end="")
PY
start_testns "$WORK/zone.data" || exit 99

mkdir "$PGDIR" && chown postgres "$PGDIR"
pg() { runuser -u postgres -- "$PGBIN/$@"; }
pg initdb -D "$PGDIR/data" -A trust -U postgres --no-sync >"$WORK/initdb.log" 2>&1 || exit 99
pg pg_ctl -D "$PGDIR/data" -l "$PGDIR/postgres.log" -w -t 30 \
	-o "-k $PGDIR -c listen_addresses='' -c fsync=off" start >/dev/null || exit 99
pg createdb -h "$PGDIR" history || exit 99
PGURL="postgresql:///history?host=$PGDIR&user=postgres"
psql_q() { psql "$PGURL" -XAtc "$1"; }

# the two MX hosts: one daemon each, one smtpd listener each
for n in 1 2; do
	port=$(free_port)
	eval M$n=$port
	cat >"$WORK/mx$n.conf" <<CONF
Socket inet:$port@127.0.0.1
AuthservID mx$n.rx.test
Nameservers 127.0.0.1:$NS_PORT
DNSTimeout 2
HistoryDB $PGURL
CONF
	# mx2 also serves the store-down part at the end: metrics, a small queue
	[ $n = 2 ] && printf 'MetricsListen 127.0.0.1:%s\nHistoryQueue 3\n' "$(free_port)" \
		>>"$WORK/mx2.conf"
	"$AM" -f -c "$WORK/mx$n.conf" >"$WORK/mx$n.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_port "$port" 60 || { fail "mx$n listens"; finish; }
done
S1=$(free_port)
S2=$(free_port)
postfix_configure "$WORK" "$S1" ""
sed -i "s|^127.0.0.1:$S1 inet n - n - - smtpd\$|& -o smtpd_milters=inet:127.0.0.1:$M1|" "$WORK/etc/master.cf"
echo "127.0.0.1:$S2 inet n - n - - smtpd -o smtpd_milters=inet:127.0.0.1:$M2" >>"$WORK/etc/master.cf"
echo "pickup    unix n - n 1 1 pickup" >>"$WORK/etc/master.cf"
postfix -c "$WORK/etc" start >"$WORK/postfix-start.log" 2>&1 || { fail "postfix starts"; finish; }
POSTFIX=yes
wait_port "$S1" 30 && wait_port "$S2" 30 || { fail "postfix listens"; finish; }

T0=$(date +%s)
send() {	# send PORT DOMAIN N
	for i in $(seq "$3"); do
		swaks --server 127.0.0.1 --port "$1" --from "user@$2" --to rcpt@e2e.test \
			--header "From: user@$2" --header "Subject: fleet $i" >>"$WORK/swaks.log" 2>&1 || return 1
	done
}
check "mx1: 3 p1.test + 2 p2.test accepted" sh -c "$(declare -f send); WORK=$WORK send $S1 p1.test 3 && WORK=$WORK send $S1 p2.test 2"
check "mx2: 2 p1.test + 4 p2.test accepted" sh -c "$(declare -f send); WORK=$WORK send $S2 p1.test 2 && WORK=$WORK send $S2 p2.test 4"
for _ in $(seq 100); do [ "$(psql_q 'select count(*) from history_message')" = 11 ] && break; sleep 0.1; done
check "one store: 11 rows, written by both hosts" \
	test "$(psql_q "select mta || ':' || count(*) from history_message group by mta order by mta" | tr '\n' ' ')" = "mx1.rx.test:5 mx2.rx.test:6 "

cat >"$WORK/report.conf" <<CONF
AuthservID mx1.rx.test
HistoryDB $PGURL
ReportOrgName Fleet of rx.test
ReportEmail dmarc-reports@rx.test
Nameservers 127.0.0.1:$NS_PORT
DNSTimeout 2
ReportSpoolDir $WORK/spool
ReportSend /usr/sbin/sendmail -C $WORK/etc -t -oi
CONF
PERIOD=$((T0 - 60)):$(($(date +%s) + 60))
"$REPORT" -c "$WORK/report.conf" --period "$PERIOD" --dry-run "$WORK/dry" >>"$WORK/report.log" 2>&1
check "one report per domain" test "$(ls "$WORK/dry"/*.xml.gz | wc -l)" = 2
for want in p1.test:5 p2.test:6; do
	d=${want%:*} n=${want#*:}
	gz=$(ls "$WORK/dry"/rx.test\!$d\!*.xml.gz)
	$RC xml "$gz" >"$WORK/$d.xml"
	check "$d: validates" xmllint --noout --schema "$XSD" "$WORK/$d.xml" 2>>"$WORK/xmllint.log"
	check "$d: counts add up to $n over both hosts" test "$($RC count "$gz")" = "$n"
	check "$d: dmarc-cat reads $n" test "$($RC dmarccat "$gz")" = "$n"
done
check "org_name is the fleet's" grep -q '<org_name>Fleet of rx.test</org_name>' "$WORK/p1.test.xml"

reports() { grep -l '^Subject: Report Domain:' "$WORK/mail/inbox/new"/* 2>/dev/null | wc -l; }
wait_reports() { for _ in $(seq 200); do [ "$(reports)" -ge "$1" ] && break; sleep 0.1; done; sleep 1; reports; }
"$REPORT" -c "$WORK/report.conf" --period "$PERIOD" >>"$WORK/report.log" 2>&1
check "2 reports delivered" test "$(wait_reports 2)" = 2
check "report_sent in PostgreSQL: 2 sent" test "$(psql_q "select count(*) from report_sent where state='sent'")" = 2
"$REPORT" -c "$WORK/report.conf" --period "$PERIOD" >>"$WORK/report.log" 2>&1
check "rerun (PostgreSQL) sends nothing" test "$(wait_reports 3)" = 2

# The store goes down during traffic: mail through Postfix is still delivered,
# no message waits on the store (mx2's own latency histogram, MAIL FROM to
# verdict with the history hand-over), and the rows that do not fit mx2's
# queue of 3 are dropped and counted.
MURL="http://$(sed -n 's/^MetricsListen //p' "$WORK/mx2.conf")/metrics"
metric() { python3 "$top_srcdir/tests/lib/scrape.py" --strict "$MURL" "$1"; }
BEFORE=$(metric authmilter_message_seconds_count)
BEFORE_UNDER=$(metric 'authmilter_message_seconds_bucket{le="1"}')
pg pg_ctl -D "$PGDIR/data" -m fast stop >/dev/null
down() {	# down N: N messages through mx2's listener while the store is down
	for i in $(seq "$1"); do
		swaks --server 127.0.0.1 --port "$S2" --from user@p1.test --to rcpt@e2e.test \
			--header "From: user@p1.test" --header "Subject: store down $i" \
			>>"$WORK/swaks.log" 2>&1 || return 1
	done
}
check "store down: 8 messages accepted by Postfix" down 8
delivered_down() { grep -l '^Subject: store down' "$WORK/mail/inbox/new"/* 2>/dev/null | wc -l; }
for _ in $(seq 100); do [ "$(delivered_down)" -ge 8 ] && break; sleep 0.1; done
check "store down: all 8 delivered to the mailbox" test "$(delivered_down)" = 8
UNDER=$(($(metric 'authmilter_message_seconds_bucket{le="1"}') - BEFORE_UNDER))
COUNT=$(($(metric authmilter_message_seconds_count) - BEFORE))
check "store down: no message waited on the store ($UNDER of $COUNT under 1 s)" \
	[ "$COUNT" = 8 ] && [ "$UNDER" = 8 ]
DROPPED=$(metric 'authmilter_history_rows_total{result="dropped"}')
check "store down: drops counted in mx2's metrics ($DROPPED; queue 3)" [ "${DROPPED:-0}" -ge 1 ]
finish
