#!/bin/bash
# postfix.sh - end to end: a private Postfix instance on loopback with
# smtpd_milters pointing at a freshly started authmilter, DNS from
# ldns-testns. Messages go in with swaks; we read the delivered Maildir
# copies and the SMTP replies.
#
# VALGRIND=1: the daemon runs under valgrind memcheck (both of its runs);
# at the end each valgrind log must show 0 errors and 0 bytes definitely
# lost (possibly lost, e.g. libmilter's thread stacks, is shown, not failed).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/postfix.sh"

if [ "$(id -u)" != 0 ] || ! command -v postfix >/dev/null || ! command -v swaks >/dev/null; then
	echo "SKIP: needs root, postfix and swaks"
	exit 77
fi

WORK=$(mktemp -d /tmp/authmilter-e2e.XXXXXX)
chmod 755 "$WORK"
# the daemon is started as $AM_WRAPPER milter/authmilter (empty: directly)
if [ -n "${VALGRIND:-}" ]; then
	command -v valgrind >/dev/null || { echo "SKIP: VALGRIND set, valgrind missing"; rm -rf "$WORK"; exit 77; }
	AM_WRAPPER="valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite
		--error-exitcode=42 --num-callers=40 --log-file=$WORK/valgrind.%p.log"
fi
MILTER_PID=
cleanup() {
	postfix -c "$WORK/etc" stop >/dev/null 2>&1
	[ -n "$MILTER_PID" ] && kill "$MILTER_PID" 2>/dev/null && wait "$MILTER_PID" 2>/dev/null
	stop_testns
	if [ "$failed" -ne 0 ]; then
		for v in "$WORK"/valgrind.*.log; do [ -f "$v" ] && { echo "--- $v"; cat "$v"; }; done
		echo "--- authmilter log"; cat "$WORK/authmilter.log" 2>/dev/null
		echo "--- postfix log"; tail -40 "$WORK/postfix.log" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT

/usr/bin/python3 "$top_srcdir/tests/e2e/e2e_zone.py" >"$WORK/zone.data" || exit 99
start_testns "$WORK/zone.data" || exit 99

# --- authmilter
MILTER_PORT=$(free_port)
METRICS_PORT=$(free_port)
cat >"$WORK/authmilter.conf" <<CONF
MetricsListen 127.0.0.1:$METRICS_PORT
Socket inet:$MILTER_PORT@127.0.0.1
AuthservID mx.e2e.test
Nameservers 127.0.0.1:$NS_PORT
DNSTimeout 2
SPFRejectFail yes
LogLevel debug
TrustedNetworks none
CONF
${AM_WRAPPER:-} "$top_builddir/milter/authmilter" -f -c "$WORK/authmilter.conf" >"$WORK/authmilter.log" 2>&1 &
MILTER_PID=$!
wait_port "$MILTER_PORT" 60 || { fail "authmilter listens"; finish; }

# --- a private Postfix: own config, queue, port; virtual delivery to a Maildir
SMTP_PORT=$(free_port)
postfix_configure "$WORK" "$SMTP_PORT" "inet:127.0.0.1:$MILTER_PORT"
if ! postfix -c "$WORK/etc" start >"$WORK/postfix-start.log" 2>&1; then
	cat "$WORK/postfix-start.log"
	fail "postfix starts"
	finish
fi
wait_port "$SMTP_PORT" || { fail "postfix listens"; finish; }

INBOX="$WORK/mail/inbox/new"

# send NAME FROM HELO DATAFILE: swaks transcript in $WORK/NAME.smtp
send() {
	swaks --server 127.0.0.1 --port "$SMTP_PORT" --from "$2" --to "user@e2e.test" \
		--helo "$3" --data "$4" --timeout 30 >"$WORK/$1.smtp" 2>&1
}

# delivered SUBJECT: path of the delivered copy with that subject, waiting for it
delivered() {
	for _ in $(seq 100); do
		f=$(grep -l "^Subject: $1\$" "$INBOX"/* 2>/dev/null | head -1)
		[ -n "$f" ] && { echo "$f"; return 0; }
		sleep 0.1
	done
	return 1
}

# delivered_count SUBJECT N: how many copies with that subject arrived,
# waiting (30 s at most) for N of them
delivered_count() {
	local n=0
	for _ in $(seq 150); do
		n=$(grep -l "^Subject: $1\$" "$INBOX"/* 2>/dev/null | wc -l)
		[ "$n" -ge "$2" ] && break
		sleep 0.2
	done
	echo "$n"
}

# headers FILE NAME: every field NAME (unfolded), one per line
headers() {
	awk -v want="$2" 'BEGIN { IGNORECASE = 1 }
		/^$/ { exit }
		/^[ \t]/ { if (cur != "") cur = cur " " substr($0, 2); next }
		{ if (cur != "") print cur; cur = "" }
		tolower($0) ~ "^" tolower(want) ":" { cur = $0 }
		END { if (cur != "") print cur }' "$1"
}

message() {
	cat >"$WORK/$1.eml" <<MSG
From: Sender <sender@${3}>
To: user@e2e.test
Subject: $1
Authentication-Results: mx.e2e.test; spf=pass smtp.mailfrom=forged@example.com
Authentication-Results: other.example; dkim=pass header.d=example.org
Date: Thu, 19 Nov 2026 10:00:00 +0000
Message-ID: <$1@e2e.test>

Body of $1.
MSG
	echo "$WORK/$1.eml"
}

# 1. SPF pass: exactly one A-R of ours, forged one removed, foreign one kept
send pass sender@pass.example mail.pass.example "$(message pass x pass.example)"
if f=$(delivered pass); then
	ok "pass: delivered"
	ours=$(headers "$f" Authentication-Results | grep -ci '^Authentication-Results: mx.e2e.test;')
	check "pass: exactly one A-R with our authserv-id" [ "$ours" = 1 ]
	check "pass: spf=pass smtp.mailfrom=sender@pass.example" \
		grep -q 'spf=pass .*smtp.mailfrom=sender@pass.example' <(headers "$f" Authentication-Results)
	check "pass: forged A-R removed" not grep -q 'forged@example.com' "$f"
	check "pass: foreign A-R kept" \
		grep -q '^Authentication-Results: other.example; dkim=pass' "$f"
	first_ar=$(grep -m1 '^Authentication-Results:' "$f")
	check "pass: our A-R is above the foreign one" \
		[ "${first_ar#Authentication-Results: mx.e2e.test;}" != "$first_ar" ]
	echo "--- delivered headers (pass)"; sed '/^$/q' "$f"
else
	fail "pass: delivered"
fi

# 2. SPF fail with SPFRejectFail yes: 550 5.7.23 with the exp= text, nothing delivered
send fail sender@fail.example mail.fail.example "$(message fail x fail.example)"
check "fail: SMTP 550 5.7.23" grep -q '<\*\* *550 5.7.23' "$WORK/fail.smtp"
check "fail: reply carries the domain's explanation" \
	grep -q '550 5.7.23 SPF check failed for fail.example: 127.0.0.1 may not send for fail.example' "$WORK/fail.smtp"
sleep 1
check "fail: not delivered" bash -c "! grep -lq '^Subject: fail\$' '$INBOX'/* 2>/dev/null"
check "fail: log line explains the reject" grep -q 'spf=fail .*action=reject reply="550 5.7.23' "$WORK/authmilter.log"

# 3. softfail and no record: delivered and stamped
send soft sender@soft.example mail.soft.example "$(message soft x soft.example)"
if f=$(delivered soft); then
	check "softfail: spf=softfail stamped" grep -q 'spf=softfail' <(headers "$f" Authentication-Results)
else
	fail "softfail: delivered"
fi
send none sender@none.example mail.none.example "$(message none x none.example)"
if f=$(delivered none); then
	check "none: spf=none stamped" grep -q 'spf=none .*smtp.mailfrom=sender@none.example' <(headers "$f" Authentication-Results)
else
	fail "none: delivered"
fi

# 4. null sender: the HELO identity is reported as smtp.helo
send bounce '<>' mail.pass.example "$(message bounce x pass.example)"
if f=$(delivered bounce); then
	check "null sender: one spf= result, for smtp.helo=mail.pass.example" \
		grep -Eq '^Authentication-Results: mx.e2e.test; spf=none \(no SPF record for mail.pass.example\) smtp.helo=mail.pass.example; dkim=none; arc=none; dmarc=none \(no DMARC record\) header.from=pass.example$' <(headers "$f" Authentication-Results)
else
	fail "null sender: delivered"
fi

# 4b. three messages over one SMTP connection: each gets its own complete
# header (the HELO check is done once per connection, reported every time)
smtp-source -d -m 3 -s 1 -f sender@pass.example -t user@e2e.test -S same-connection \
	-M mail.pass.example "127.0.0.1:$SMTP_PORT" >"$WORK/same-connection.log" 2>&1
count=$(delivered_count same-connection 3)
check "one connection, three messages delivered" [ "$count" = 3 ]
stamped=$(grep -l '^Subject: same-connection' "$INBOX"/* | while read -r f; do headers "$f" Authentication-Results; done |
	grep -c '^Authentication-Results: mx.e2e.test; spf=pass (pass.example matched ip4:127.0.0.0/8) smtp.mailfrom=sender@pass.example; spf=none (no SPF record for mail.pass.example) smtp.helo=mail.pass.example; dkim=none; arc=none; dmarc=none (no DMARC record) header.from=pass.example$')
check "one connection: every message has the full header ($stamped of 3)" [ "$stamped" = 3 ]

# 5. DKIM: an ed25519 signature whose selector is CNAME-delegated (Office 365
# style) passes -- with simple/simple canonicalization, so the header bytes
# must reach us exactly as sent (HDR_LEADSPC); the same message tampered fails
signed() {	# signed NAME: a message from example.net signed by dkimpy
	printf 'From: Alice <alice@example.net>\r\nTo: user@e2e.test\r\nSubject: %s\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%s@example.net>\r\n\r\nSigned body of %s.\r\n' "$1" "$1" "$1" |
		dkimsign --hcanon simple --bcanon simple --signalg ed25519-sha256 selector1 example.net "$top_srcdir/tests/dkim/keys/ed25519.key"
}
signed dkim-good >"$WORK/dkim-good.eml"
signed dkim-bad | sed 's/^Signed body of/Tampered body of/' >"$WORK/dkim-bad.eml"
send dkim-good alice@example.net mail.example.net "$WORK/dkim-good.eml"
if f=$(delivered dkim-good); then
	check "dkim: CNAME-delegated ed25519 selector gives dkim=pass" \
		grep -q 'dkim=pass (ed25519 key) header.d=example.net header.i=@example.net header.s=selector1 header.a=ed25519-sha256 header.b=' <(headers "$f" Authentication-Results)
	check "dkim: and spf=pass for example.net" grep -q 'spf=pass .*smtp.mailfrom=alice@example.net' <(headers "$f" Authentication-Results)
	echo "--- delivered headers (dkim-good)"; sed '/^$/q' "$f"
else
	fail "dkim: signed message delivered"
fi
send dkim-bad alice@example.net mail.example.net "$WORK/dkim-bad.eml"
if f=$(delivered dkim-bad); then
	check "dkim: tampered body gives dkim=fail" grep -q 'dkim=fail (bad signature) header.d=example.net' <(headers "$f" Authentication-Results)
else
	fail "dkim: tampered message delivered"
fi

# 6. DMARC: a spoofed From of a p=reject domain gets 550 5.7.1; p=quarantine
# goes to Postfix's hold queue; monitor mode delivers with dmarc=fail
send dmarc-reject sender@pass.example mail.pass.example "$(message dmarc-reject x reject.example)"
check "dmarc: p=reject spoof gets 550 5.7.1" grep -q '<\*\* *550 5.7.1 Rejected by the DMARC policy of reject.example' "$WORK/dmarc-reject.smtp"
grep '550 5.7.1' "$WORK/dmarc-reject.smtp"
send dmarc-hold sender@pass.example mail.pass.example "$(message dmarc-hold x quarantine.example)"
held=""
for _ in $(seq 50); do
	held=$(postqueue -c "$WORK/etc" -j 2>/dev/null | grep '"queue_name": *"hold"')
	[ -n "$held" ] && break
	sleep 0.1
done
check "dmarc: p=quarantine lands in the hold queue (postqueue -j)" [ -n "$held" ]
echo "$held" | cut -c1-200
check "dmarc: log line explains the reject" \
	grep -q 'dmarc=fail/reject.example dmarc_policy=reject dmarc_applied=reject .*action=reject reply="550 5.7.1 Rejected by the DMARC policy of reject.example"' "$WORK/authmilter.log"
check "dmarc: log line explains the hold" \
	grep -q 'dmarc=fail/quarantine.example dmarc_policy=quarantine dmarc_applied=quarantine .*action=quarantine reason="DMARC policy of quarantine.example"' "$WORK/authmilter.log"

# monitor mode: restart the milter on the same socket with DMARCEnforce no
kill "$MILTER_PID"; wait "$MILTER_PID"
check "authmilter exits 0 on SIGTERM (first run)" [ $? = 0 ]
echo "DMARCEnforce no" >>"$WORK/authmilter.conf"
${AM_WRAPPER:-} "$top_builddir/milter/authmilter" -f -c "$WORK/authmilter.conf" >>"$WORK/authmilter.log" 2>&1 &
MILTER_PID=$!
check "authmilter listens again (monitor mode)" wait_port "$MILTER_PORT" 60
send dmarc-monitor sender@pass.example mail.pass.example "$(message dmarc-monitor x reject.example)"
if f=$(delivered dmarc-monitor); then
	check "dmarc: monitor mode delivers with dmarc=fail, policy.dmarc=none" \
		grep -q 'dmarc=fail (p=reject dis=reject; local: monitor mode) header.from=reject.example policy.dmarc=none' <(headers "$f" Authentication-Results)
	headers "$f" Authentication-Results
else
	fail "dmarc: monitor mode delivers"
fi

# 7. reload under traffic: 300 messages over 2 sessions while a bad conf and
# then a good one (new AuthservID) are loaded with SIGHUP: none lost, none
# tempfailed, the bad one refused with file:line, the new id on later mail
cp "$WORK/authmilter.conf" "$WORK/good.conf"
checked() { grep -c 'from=<sender@pass.example>.*action=' "$WORK/authmilter.log"; }
# wait_checked N: until N more messages than at the start went through (30 s at most)
wait_checked() {
	for _ in $(seq 600); do
		[ "$(checked)" -ge $((base + $1)) ] && return 0
		sleep 0.05
	done
	return 1
}
base=$(checked)
METRICS=(
	'authmilter_actions_total{action="accept"}' 'authmilter_spf_results_total{result="pass"}'
	'authmilter_dkim_results_total{result="none"}' 'authmilter_dmarc_results_total{result="none"}'
	'authmilter_message_seconds_count' 'authmilter_config_reloads_total{outcome="ok"}'
	'authmilter_config_reloads_total{outcome="refused"}' 'authmilter_messages_in_flight'
	'authmilter_dns_queries_total')
scrape() { python3 "$top_srcdir/tests/lib/scrape.py" "http://127.0.0.1:$METRICS_PORT/metrics" "${METRICS[@]}"; }
read -r -a before <<<"$(scrape)"
smtp-source -m 300 -s 2 -f sender@pass.example -t user@e2e.test -S reload-test \
	-M mail.pass.example "127.0.0.1:$SMTP_PORT" >"$WORK/smtp-source.log" 2>&1 &
SOURCE_PID=$!
# reload once a third and two thirds of the messages went through
wait_checked 100
echo "Bogus yes" >>"$WORK/authmilter.conf"
kill -HUP "$MILTER_PID"
wait_checked 200
sed 's/^AuthservID mx.e2e.test$/AuthservID mx2.e2e.test/' "$WORK/good.conf" >"$WORK/authmilter.conf"
kill -HUP "$MILTER_PID"
wait "$SOURCE_PID"
source_rc=$?
count=$(delivered_count reload-test 300)
old_id=$(grep -l '^Subject: reload-test' "$INBOX"/* | xargs grep -l '^Authentication-Results: mx.e2e.test;' | wc -l)
new_id=$(grep -l '^Subject: reload-test' "$INBOX"/* | xargs grep -l '^Authentication-Results: mx2.e2e.test;' | wc -l)
echo "reload under traffic: sent 300 (smtp-source exit $source_rc), delivered $count: $old_id under the old AuthservID, $new_id under the new one"
check "reload: smtp-source saw no error" [ "$source_rc" = 0 ]
check "reload: all 300 messages delivered" [ "$count" = 300 ]
check "reload: every message stamped, old id or new id" [ $((old_id + new_id)) = 300 ]
# (old + new = 300 also holds with one message unstamped and one stamped twice)
twice=$(grep -l '^Subject: reload-test' "$INBOX"/* | while read -r f; do
	headers "$f" Authentication-Results | grep -c '^Authentication-Results: mx2\?\.e2e\.test;'; done | grep -vcx 1)
check "reload: no message with other than one A-R of ours ($twice)" [ "$twice" = 0 ]
# (these two were one check "[ new -gt 0 ] && [ old -gt 0 ]": the second test
# ran outside check, so its failure was never counted)
check "reload: the new AuthservID applies to later messages ($new_id)" [ "$new_id" -gt 0 ]
check "reload: the old AuthservID applied before the reload ($old_id)" [ "$old_id" -gt 0 ]
check "reload: bad conf refused with file:line" grep -q "authmilter.conf:[0-9]*: unknown key \"Bogus\"" "$WORK/authmilter.log"
check "reload: refusal logged" grep -q 'reload refused' "$WORK/authmilter.log"
check "reload: good conf loaded" grep -q 'configuration reloaded from' "$WORK/authmilter.log"
check "reload: no tempfail" not grep -q 'action=tempfail' "$WORK/authmilter.log"

# metrics scraped before and after: the counters moved by exactly what was sent
after_out=$(python3 "$top_srcdir/tests/lib/scrape.py" --strict "http://127.0.0.1:$METRICS_PORT/metrics" "${METRICS[@]}")
check "metrics: every sample present after the traffic (a missing one would read as 0)" [ $? = 0 ]
read -r -a after <<<"$after_out"
want=(300 300 300 300 300 1 1 0)
for i in 0 1 2 3 4 5 6; do
	check "metrics: ${METRICS[$i]} +${want[$i]} ($((after[i] - before[i])))" [ $((after[i] - before[i])) = "${want[$i]}" ]
done
check "metrics: nothing in flight afterwards" [ "${after[7]}" = 0 ]
check "metrics: DNS queries counted (${after[8]})" [ "${after[8]}" -gt "${before[8]}" ]
echo "--- metrics scrape (excerpt)"
python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' \
	"http://127.0.0.1:$METRICS_PORT/metrics" | grep -v '^#' | grep -v ' 0$' | head -30

# 8. one info log line per message with queue id, client, helo, results, action
check "log: summary line with queue id and client" \
	grep -Eq 'info: [0-9A-F]{6,}: client=127.0.0.1 helo=mail.pass.example from=<sender@pass.example> header_from=pass.example spf=pass spf_helo=none dkim=none dmarc=none/pass.example removed_forged_ar=1 action=accept' "$WORK/authmilter.log"

# 9. SIGTERM stops the milter cleanly
kill "$MILTER_PID"
wait "$MILTER_PID"
check "authmilter exits 0 on SIGTERM" [ $? = 0 ]
MILTER_PID=

# 10. valgrind: every run of the daemon, 0 errors and 0 bytes definitely lost
if [ -n "${VALGRIND:-}" ]; then
	vlogs=$(ls -tr "$WORK"/valgrind.*.log 2>/dev/null)	# oldest (first run) first
	check "valgrind: one log per daemon run (2)" [ "$(wc -w <<<"$vlogs")" = 2 ]
	for v in $vlogs; do
		p=${v##*/valgrind.}; p=${p%.log}
		echo "--- valgrind summary (pid $p)"
		sed -n 's/^==[0-9]*== *//; /in use at exit\|All heap blocks\|total heap usage\|definitely lost:\|indirectly lost:\|possibly lost:\|still reachable:\|suppressed:\|ERROR SUMMARY/p' "$v"
		errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$v" | tr -d ,)
		definite=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$v" | tr -d ,)
		# no leak summary at all means every block was freed
		grep -q 'All heap blocks were freed' "$v" && definite=0
		check "valgrind (pid $p): ERROR SUMMARY 0 errors (${errors:-none})" [ "${errors:-x}" = 0 ]
		check "valgrind (pid $p): 0 bytes definitely lost (${definite:-none})" [ "${definite:-x}" = 0 ]
	done
fi
finish
