#!/bin/bash
# sendmail.sh - end to end with Debian's Sendmail 8.17 and the README's
# INPUT_MAIL_FILTER line. Sendmail conflicts with Postfix as the system MTA,
# so its packages are unpacked (dpkg-deb -x) into a private prefix, a .cf is
# built with m4, and the daemon runs on a loopback port in its own UTS
# namespace (a qualified host name, without touching /etc/hosts). Mail is
# queued only (-odq); we read the queue files' headers.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/lib/common.sh"

if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null || ! command -v swaks >/dev/null \
	|| ! command -v m4 >/dev/null; then
	echo "SKIP: needs root, unshare, m4 and swaks"
	exit 77
fi
SM=${SENDMAIL_PREFIX:-/var/tmp/authmilter-sendmail}
if [ ! -x "$SM/usr/libexec/sendmail/sendmail" ]; then
	mkdir -p "$SM/debs"
	if ! (cd "$SM/debs" && apt-get download sendmail-bin sendmail-cf >/dev/null 2>&1); then
		echo "SKIP: cannot download sendmail-bin and sendmail-cf"
		exit 77
	fi
	for d in "$SM"/debs/*.deb; do dpkg-deb -x "$d" "$SM"; done
fi
if ldd "$SM/usr/libexec/sendmail/sendmail" | grep -q 'not found'; then
	echo "SKIP: sendmail's libraries are missing (libwrap0?)"
	exit 77
fi

WORK=$(mktemp -d /tmp/authmilter-sm.XXXXXX)
chmod 755 "$WORK"
MILTER_PID=
SM_PID=
cleanup() {
	[ -n "$SM_PID" ] && kill "$SM_PID" 2>/dev/null
	pkill -f "sendmail -C $WORK/sendmail.cf" 2>/dev/null
	[ -n "$MILTER_PID" ] && kill "$MILTER_PID" 2>/dev/null && wait "$MILTER_PID" 2>/dev/null
	stop_testns
	[ "$failed" -ne 0 ] && { echo "--- authmilter log"; cat "$WORK/authmilter.log"; }
	rm -rf "$WORK"
}
trap cleanup EXIT

/usr/bin/python3 "$top_srcdir/tests/e2e/e2e_zone.py" >"$WORK/zone.data" || exit 99
start_testns "$WORK/zone.data" || exit 99
MILTER_PORT=$(free_port)
SMTP_PORT=$(free_port)
cat >"$WORK/authmilter.conf" <<CONF
Socket inet:$MILTER_PORT@127.0.0.1
AuthservID mx.sm.test
Nameservers 127.0.0.1:$NS_PORT
SPFRejectFail yes
TrustedNetworks none
CONF
"$top_builddir/milter/authmilter" -f -c "$WORK/authmilter.conf" >"$WORK/authmilter.log" 2>&1 &
MILTER_PID=$!
wait_port "$MILTER_PORT" 60 || { fail "authmilter listens"; finish; }

mkdir -p "$WORK/queue"
chmod 700 "$WORK/queue"
cat >"$WORK/sendmail.mc" <<MC
divert(-1)
divert(0)dnl
include(\`$SM/usr/share/sendmail/cf/m4/cf.m4')dnl
VERSIONID(\`authmilter test')dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`mx.sm.test')dnl
define(\`QUEUE_DIR', \`$WORK/queue')dnl
define(\`confHELP_FILE', \`/dev/null')dnl
define(\`confSTATUS_FILE', \`')dnl
define(\`ALIAS_FILE', \`')dnl
define(\`confPID_FILE', \`$WORK/sendmail.pid')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
dnl Sendmail stops listening above RefuseLA (12 x CPUs): a loaded CI machine is no reason
define(\`confREFUSE_LA', \`10000')dnl
define(\`confQUEUE_LA', \`10000')dnl
define(\`confDONT_BLAME_SENDMAIL', \`GroupWritableDirPathSafe,InsufficientEntropy')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
DAEMON_OPTIONS(\`Port=$SMTP_PORT, Addr=127.0.0.1, Name=MTA')dnl
dnl the README's line:
INPUT_MAIL_FILTER(\`authmilter', \`S=inet:$MILTER_PORT@127.0.0.1, F=T, T=S:30s;R:30s;E:5m')dnl
MAILER(\`local')dnl
MAILER(\`smtp')dnl
MC
m4 "$WORK/sendmail.mc" >"$WORK/sendmail.cf" || { fail "m4 builds sendmail.cf"; finish; }
check "sendmail.cf has our milter" grep -q "^Xauthmilter, S=inet:$MILTER_PORT@127.0.0.1, F=T" "$WORK/sendmail.cf"
unshare --uts sh -c "hostname mx.sm.test && exec $SM/usr/libexec/sendmail/sendmail -C $WORK/sendmail.cf -bD -odq" \
	>"$WORK/sendmail.log" 2>&1 &
SM_PID=$!
# (the wait ends as soon as the port answers)
wait_port "$SMTP_PORT" 60 || {
	cat "$WORK/sendmail.log"
	kill -0 "$SM_PID" 2>/dev/null && echo "(sendmail still running)" || echo "(sendmail exited)"
	fail "sendmail listens"; finish; }

message() {	# message NAME FROM_DOMAIN
	printf 'From: Sender <sender@%s>\r\nTo: root@localhost\r\nSubject: %s\r\nAuthentication-Results: mx.sm.test; spf=pass smtp.mailfrom=forged@example.com\r\nAuthentication-Results: other.example; dkim=pass header.d=example.org\r\nMessage-ID: <%s@sm.test>\r\n\r\nBody of %s.\r\n' \
		"$2" "$1" "$1" "$1" >"$WORK/$1.eml"
}
send() {	# send NAME MAIL_FROM
	swaks --server 127.0.0.1 --port "$SMTP_PORT" --from "$2" --to root@localhost \
		--helo mail.pass.example --data "$WORK/$1.eml" --timeout 30 >"$WORK/$1.smtp" 2>&1
}
# queued_headers SUBJECT: the queued copy's header fields, unfolded, one a line
queued_headers() {
	local qf
	qf=$(grep -la "^H??Subject: $1\$" "$WORK"/queue/qf* 2>/dev/null | head -1)
	[ -n "$qf" ] || return 1
	awk '/^H/ { if (cur != "") print cur; cur = $0; sub(/^H(\?[^?]*\?)?/, "", cur); next }
		/^\t/ { if (cur != "") { sub(/^\t/, ""); cur = cur " " $0 }; next }
		{ if (cur != "") print cur; cur = "" }
		END { if (cur != "") print cur }' "$qf"
}

message pass pass.example
send pass sender@pass.example
if h=$(queued_headers pass); then
	ok "pass: queued by Sendmail"
	echo "--- queued headers (pass)"; echo "$h"
	check "pass: exactly one A-R with our authserv-id" [ "$(grep -c '^Authentication-Results: mx.sm.test;' <<<"$h")" = 1 ]
	check "pass: spf=pass smtp.mailfrom=sender@pass.example" grep -q '^Authentication-Results: mx.sm.test;.*spf=pass (pass.example matched ip4:127.0.0.0/8) smtp.mailfrom=sender@pass.example' <<<"$h"
	check "pass: dmarc=none header.from=pass.example" grep -q 'dmarc=none (no DMARC record) header.from=pass.example' <<<"$h"
	check "pass: forged A-R removed" not grep -q forged@example.com <<<"$h"
	check "pass: foreign A-R kept" grep -q '^Authentication-Results: other.example; dkim=pass' <<<"$h"
else
	fail "pass: queued by Sendmail"
fi

message fail fail.example
send fail sender@fail.example
check "fail: SPF fail gets 550 5.7.23" grep -q '<\*\* *550 5.7.23 SPF check failed for fail.example' "$WORK/fail.smtp"

message spoof reject.example
send spoof sender@pass.example
check "spoof: p=reject From gets 550 5.7.1" grep -q '<\*\* *550 5.7.1 Rejected by the DMARC policy of reject.example' "$WORK/spoof.smtp"
check "nothing but the accepted message is queued" [ "$(ls "$WORK"/queue/qf* | wc -l)" = 1 ]
check "log line for the DMARC reject" grep -q 'dmarc=fail/reject.example .*action=reject' "$WORK/authmilter.log"
finish
