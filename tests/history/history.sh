#!/bin/bash
# history.sh - the DMARC history store with real parts: test mode writing
# SQLite (read back with the sqlite3 CLI), a throwaway PostgreSQL 15 cluster
# (initdb + pg_ctl on a unix socket, run as postgres) written by test mode
# and by a running daemon driven over the milter protocol, the store
# stopped during traffic (every message still accepted at once, drops
# counted in the metrics and logged), rows again once it is back, a reload
# switching HistoryDB, and authmilter -n telling an unreachable store.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/lib/common.sh"

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pg_ctl" ]; then
	echo "SKIP: PostgreSQL server binaries missing (apt-get install postgresql-15)"
	exit 77
fi
if [ "$(id -u)" != 0 ] || ! command -v sqlite3 >/dev/null || ! command -v runuser >/dev/null; then
	echo "SKIP: needs root (to run PostgreSQL as postgres), sqlite3 and runuser"
	exit 77
fi
AM="$top_builddir/milter/authmilter"
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/authmilter-history.XXXXXX)
chmod 755 "$WORK"
PGDIR="$WORK/pg"
MILTER_PID=
T=1764900000
cleanup() {
	[ -n "$MILTER_PID" ] && kill "$MILTER_PID" 2>/dev/null && wait "$MILTER_PID" 2>/dev/null
	[ -d "$PGDIR/data" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate \
		stop >/dev/null 2>&1
	cleanup_work
}
trap cleanup EXIT

$PY "$top_srcdir/tests/history/history.py" "$WORK" || exit 99
start_testns "$WORK/zone.data" || exit 99

# conf FILE HISTORYDB [MORE LINES]: a conf on our DNS server
conf() {
	{
		echo "AuthservID mx.test"
		echo "Nameservers 127.0.0.1:$NS_PORT"
		echo "DNSTimeout 2"
		echo "HistoryDB $2"
		shift 2
		printf '%s\n' "$@"
	} >"$1"
}

# run CONF CASE IP MAIL_FROM: test mode at time T
run() {
	"$AM" -c "$1" -t "$WORK/$2.eml" -i "$3" -H "mail.$2.test" -s "$4" -T "$T" \
		>"$WORK/$2.out" 2>"$WORK/$2.err"
}

run_all() {
	run "$1" pass 192.0.2.1 bounce@reject.example &&
	run "$1" fail 198.51.100.7 x@reject.example &&
	run "$1" none 192.0.2.9 a@none.example &&
	run "$1" nodmarc 192.0.2.3 a@nodmarc.example &&
	run "$1" dkim 198.51.100.1 a@example.com
}

# ---- SQLite, test mode ----
DB="$WORK/history.db"
conf "$WORK/sqlite.conf" "sqlite:$DB" "FailureReports yes" "FailureReportsBody yes"
check "authmilter -n opens the SQLite store" "$AM" -n -c "$WORK/sqlite.conf"
check "test mode with HistoryDB sqlite runs every case" run_all "$WORK/sqlite.conf"
q() { sqlite3 -separator '|' "$DB" "$1"; }
check "one row per message with a DMARC record (4 of 5)" [ "$(q 'select count(*) from history_message')" = 4 ]
check "WAL mode, schema version 1" [ "$(q 'pragma journal_mode'; q "select value from history_meta where key='schema_version'")" = "wal
1" ]
row() { q "select $1 from history_message where header_from='$2'"; }
check "pass: fields" [ "$(row "received,mta,source_ip,envelope_from,helo,policy_domain,discovery,p,pct,fo,rua,ruf,dmarc_result,dkim_aligned,spf_aligned,disposition,spf_domain,spf_scope,spf_result" reject.example | head -1)" \
	= "$T|mx.test|192.0.2.1|reject.example|mail.pass.test|reject.example|treewalk|reject|50|0:d:s|mailto:agg@reject.example|mailto:fail@reject.example|pass|fail|pass|none|reject.example|mfrom|pass" ]
check "pass: no failure report fields" [ "$(q "select count(*) from history_message where source_ip='192.0.2.1' and failure_fo is null and failure_headers is null and failure_body is null")" = 1 ]
check "fail: reject, fo conditions 0 and s met" [ "$(q "select dmarc_result,disposition,failure_fo from history_message where source_ip='198.51.100.7'")" = "fail|reject|0s" ]
check "fail: the header section in CRLF" [ "$(q "select instr(failure_headers, 'Subject: history fail'||char(13,10)) > 0 from history_message where source_ip='198.51.100.7'")" = 1 ]
check "fail: the body (FailureReportsBody yes)" [ "$(q "select failure_body = 'A body line.'||char(13,10)||'Another.'||char(13,10) from history_message where source_ip='198.51.100.7'")" = 1 ]
check "none.example: sp, np, adkim=s, t=y as published; NULL pct, rua" [ "$(row "p,sp,np,adkim,aspf,testing,coalesce(pct,'NULL'),coalesce(rua,'NULL'),spf_result" none.example)" = "none|quarantine|reject|s|r|y|NULL|NULL|softfail" ]
check "no record, no row" [ "$(q "select count(*) from history_message where header_from='nodmarc.example'")" = 0 ]
check "example.com: two DKIM rows in signature order" [ "$(q "select group_concat(seq||':'||domain||':'||selector||':'||result, ' ') from (select * from history_dkim d join history_message m on m.id=d.message_id where m.header_from='example.com' order by seq)")" \
	= "0:example.com:rsa2048:pass 1:example.com:revoked:fail" ]
check "example.com: DKIM aligned pass, SPF fail" [ "$(row "dmarc_result,dkim_aligned,spf_aligned,spf_result,disposition" example.com)" = "pass|pass|fail|fail|none" ]

# a header section past MaxHeaderBytes is not kept (never a cut one), even when
# a folded field just under the cap grows past it in the CRLF copy
conf "$WORK/bighdr.conf" "sqlite:$WORK/bighdr.db" "FailureReports yes" "MaxHeaderBytes 102400"
check "MaxHeaderBytes: test mode runs" run "$WORK/bighdr.conf" bighdr 198.51.100.7 x@reject.example
check "MaxHeaderBytes: a row for the failure, no header section in it" [ "$(sqlite3 "$WORK/bighdr.db" "select dmarc_result, failure_fo, coalesce(length(failure_headers), 'NULL') from history_message")" = "fail|0s|NULL" ]

# a local decision is recorded with its RFC 7489 PolicyOverrideType: the
# mailing-list rule, which policy names only in its note
conf "$WORK/list.conf" "sqlite:$WORK/list.db" "DMARCListAction quarantine"
check "override: test mode runs (List-Id)" run "$WORK/list.conf" list 198.51.100.7 x@reject.example
check "override: mailing_list, quarantine, the note as comment" [ "$(sqlite3 "$WORK/list.db" "select dmarc_result, disposition, override_type, override_comment from history_message")" = "fail|quarantine|mailing_list|mailing list: quarantine" ]

# ---- authmilter -n: an unreachable store is told with its line ----
conf "$WORK/down.conf" "postgresql:///none?host=$WORK/nosuchdir&connect_timeout=2"
"$AM" -n -c "$WORK/down.conf" >/dev/null 2>"$WORK/down.err"
check "-n fails on an unreachable PostgreSQL" [ $? -ne 0 ]
check "-n says file:line: HistoryDB: ..." grep -q "^$WORK/down.conf:4: HistoryDB: postgresql: connect" "$WORK/down.err"
conf "$WORK/bad.conf" "mysql://x"
check "-n refuses a URL that is not ours" not "$AM" -n -c "$WORK/bad.conf"
conf "$WORK/rel.conf" "sqlite:relative.db"
check "-n refuses a relative SQLite path" not "$AM" -n -c "$WORK/rel.conf"

# ---- PostgreSQL 15: a throwaway cluster on a unix socket ----
mkdir "$PGDIR" && chown postgres "$PGDIR"
pg() { runuser -u postgres -- "$PGBIN/$@"; }
pg initdb -D "$PGDIR/data" -A trust -U postgres --no-sync >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log"; exit 99; }
pg_start() {
	pg pg_ctl -D "$PGDIR/data" -l "$PGDIR/postgres.log" -w -t 30 \
		-o "-k $PGDIR -c listen_addresses='' -c fsync=off" start >/dev/null
}
pg_start || { cat "$PGDIR/postgres.log"; exit 99; }
pg createdb -h "$PGDIR" history || exit 99
PGURL="postgresql:///history?host=$PGDIR&user=postgres"
psql_q() { psql "$PGURL" -XAtc "$1"; }

conf "$WORK/pg.conf" "$PGURL" "FailureReports yes"
check "authmilter -n reaches PostgreSQL" "$AM" -n -c "$WORK/pg.conf"
check "test mode with HistoryDB postgresql runs every case" run_all "$WORK/pg.conf"
check "PostgreSQL: 4 rows, 2 DKIM rows, schema version 1" [ "$(psql_q "select (select count(*) from history_message), (select count(*) from history_dkim), (select value from history_meta where key='schema_version')")" = "4|2|1" ]
check "PostgreSQL: the failure's fields" [ "$(psql_q "select received, dmarc_result, disposition, pct, failure_fo, failure_body is null, position(E'\r\n' in failure_headers) > 0 from history_message where source_ip='198.51.100.7'")" = "$T|fail|reject|50|0s|t|t" ]

# a HELO with a byte that is no UTF-8: PostgreSQL would refuse the row; it holds U+FFFD
"$AM" -c "$WORK/pg.conf" -t "$WORK/pass.eml" -i 203.0.113.9 -H $'mail.\xff.test' -s a@reject.example \
	-T "$T" >/dev/null 2>"$WORK/8bit.err"
check "PostgreSQL: an 8-bit HELO is recorded as U+FFFD" [ "$(psql_q "select helo from history_message where source_ip='203.0.113.9'")" = $'mail.\xef\xbf\xbd.test' ]

# concurrent first use: 6 test modes migrate a fresh store at once (SQLite:
# BEGIN IMMEDIATE; PostgreSQL: an advisory lock), every row arrives
parallel() {
	local i pids=""
	for i in 1 2 3 4 5 6; do
		"$AM" -c "$1" -t "$WORK/pass.eml" -i 192.0.2.1 -H mail.pass.test \
			-s a@reject.example -T "$T" >/dev/null 2>"$WORK/par$i.err" & pids="$pids $!"
	done
	for i in $pids; do wait "$i" || return 1; done
	! grep -q . "$WORK"/par*.err
}
conf "$WORK/par-sqlite.conf" "sqlite:$WORK/par.db"
check "SQLite: 6 concurrent first writers, no error" parallel "$WORK/par-sqlite.conf"
check "SQLite: 6 rows after concurrent migrations" [ "$(sqlite3 "$WORK/par.db" "select count(*) from history_message")" = 6 ]
pg createdb -h "$PGDIR" par || exit 99
conf "$WORK/par-pg.conf" "postgresql:///par?host=$PGDIR&user=postgres"
check "PostgreSQL: 6 concurrent first writers, no error" parallel "$WORK/par-pg.conf"
check "PostgreSQL: 6 rows, one schema_version after concurrent migrations" \
	[ "$(psql "postgresql:///par?host=$PGDIR&user=postgres" -XAtc "select (select count(*) from history_message), (select count(*) from history_meta)")" = "6|1" ]

# ---- a daemon writing PostgreSQL ----
MILTER_PORT=$(free_port)
METRICS_PORT=$(free_port)
conf "$WORK/daemon.conf" "$PGURL" "Socket inet:$MILTER_PORT@127.0.0.1" "MetricsListen 127.0.0.1:$METRICS_PORT" \
	"HistoryQueue 4" "ShutdownTimeout 5"
sed -i 's/^AuthservID .*/AuthservID mx-daemon.test/' "$WORK/daemon.conf"
"$AM" -f -c "$WORK/daemon.conf" >"$WORK/authmilter.log" 2>&1 &
MILTER_PID=$!
wait_port "$MILTER_PORT" 30 || { fail "authmilter listens"; finish; }

# send N: N messages over the milter protocol (reject.example, SPF pass from
# 127.0.0.1: DMARC pass); the slowest one's milliseconds in $WORK/slowest
send() {
	local i t0 t1 slowest=0 r
	for i in $(seq "$1"); do
		t0=$(date +%s%N)
		r=$($PY "$top_srcdir/tests/lib/miltertxn.py" "127.0.0.1:$MILTER_PORT" reject.example 127.0.0.1)
		t1=$(date +%s%N)
		case "$r" in eom=a*) ;; *) echo "message $i: $r"; return 1 ;; esac
		[ $(((t1 - t0) / 1000000)) -gt "$slowest" ] && slowest=$(((t1 - t0) / 1000000))
	done
	echo "$slowest" >"$WORK/slowest"
}
daemon_rows() { psql_q "select count(*) from history_message where mta='mx-daemon.test'"; }
metric() { curl -s "http://127.0.0.1:$METRICS_PORT/metrics" | sed -n "s/^authmilter_history_rows_total{result=\"$1\"} //p"; }
# wait_for COMMAND VALUE SECONDS
wait_for() {
	for _ in $(seq $(($3 * 5))); do [ "$($1 2>/dev/null)" = "$2" ] && return 0; sleep 0.2; done
	return 1
}

check "daemon: 5 messages accepted" send 5
echo "store up: slowest message $(cat "$WORK/slowest") ms"
check "daemon: 5 rows in PostgreSQL" wait_for daemon_rows 5 10
testmode_rows() { psql_q "select count(*) from history_message where mta='mx.test'"; }
check "daemon: its purge removed test mode's rows (a year older than HistoryKeep 30)" wait_for testmode_rows 0 10
check "metrics: 5 written" [ "$(metric written)" = 5 ]

# the store goes down during traffic
pg pg_ctl -D "$PGDIR/data" -m fast stop >/dev/null
check "store down: 12 messages all accepted" send 12
SLOWEST=$(cat "$WORK/slowest")
echo "store down: slowest message $SLOWEST ms"
# the daemon's own latency histogram (MAIL FROM to verdict, the history hand-over
# included): a message that waited on the store would take a second or more
# (reconnect backoff, connect timeout); the wall-clock figure above includes
# the Python client's start and the machine's load, so it is printed, not judged
hist() { curl -s "http://127.0.0.1:$METRICS_PORT/metrics" | sed -n "s/^authmilter_message_seconds_$1 //p"; }
check "store down: no message waited on the store (all 17 under 1 s: $(hist 'bucket{le="1"}') of $(hist count))" \
	[ "$(hist 'bucket{le="1"}')" = 17 ] && [ "$(hist count)" = 17 ]
DROPPED=$(metric dropped)
check "store down: drops counted in the metrics ($DROPPED of 12; queue 4)" [ "${DROPPED:-0}" -ge 7 ]
drop_lines() { grep -c "history: .* rows dropped" "$WORK/authmilter.log"; }
check "store down: one log line tells the drops" wait_for drop_lines 1 5

# the store is back: what waited in the queue is written
pg_start || fail "PostgreSQL restarts"
accounted() { echo $(($(metric written) + $(metric dropped))); }
check "store back: the queued rows are written (written + dropped = 17)" wait_for accounted 17 70
check "store back: rows in PostgreSQL = rows written" [ "$(daemon_rows)" = "$(metric written)" ]

# a reload switches HistoryDB to SQLite
DB2="$WORK/reload.db"
sed -i "s|^HistoryDB .*|HistoryDB sqlite:$DB2|" "$WORK/daemon.conf"
kill -HUP "$MILTER_PID"
reloaded() { grep -c "configuration reloaded" "$WORK/authmilter.log"; }
reload_rows() { sqlite3 "$DB2" "select count(*) from history_message"; }
check "reload: logged" wait_for reloaded 1 10
check "reload: 2 messages accepted" send 2
check "reload: rows go to the new store" wait_for reload_rows 2 10

kill -TERM "$MILTER_PID"
T0=$(date +%s)
wait "$MILTER_PID"
RC=$?
MILTER_PID=
check "SIGTERM: the daemon exits cleanly within ShutdownTimeout (rc $RC, $(( $(date +%s) - T0 )) s)" \
	[ "$RC" = 0 ] && [ $(( $(date +%s) - T0 )) -le 6 ]
finish
