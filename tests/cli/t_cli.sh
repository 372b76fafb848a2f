#!/bin/bash
# t_cli.sh - the command line as an administrator and the outside checks use
# it: -V, -n with good and bad conf files, test mode's output contract,
# tempfail policy, unreachable DNS, hostile envelopes and messages, and the
# daemon's own socket handling.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/lib/common.sh"
AM="$top_builddir/milter/authmilter"
WORK=$(mktemp -d /tmp/authmilter-cli.XXXXXX)
trap 'stop_testns; rm -rf "$WORK"' EXIT
start_testns "$top_srcdir/tests/dns/cli.data" || exit 99

conf() {	# conf NAME LINES...: a conf file using our DNS
	local f="$WORK/$1.conf"
	shift
	{ echo "Nameservers 127.0.0.1:$NS_PORT"; echo "AuthservID mx.cli.test";
	  echo "DNSTimeout 1"; echo "DNSRetries 0"; printf '%s\n' "$@"; } >"$f"
	echo "$f"
}
printf 'From: a@pass.example\nSubject: t\n\nbody\n' >"$WORK/msg.eml"
C=$(conf base)

# --- -V and -n
check "-V prints the version" bash -c "'$AM' -V | grep -q '^authmilter [0-9]'"
check "-n accepts a good file" "$AM" -n -c "$C"
printf 'Bogus 1\nSPFHelo perhaps\n# fine\nDNSTimeout 0\n' >"$WORK/bad.conf"
"$AM" -n -c "$WORK/bad.conf" >"$WORK/bad.out" 2>&1
rc=$?
check "-n rejects a bad file with non-zero status" [ "$rc" != 0 ]
check "-n names file:line for each error" bash -c "
	grep -q '^$WORK/bad.conf:1: unknown key \"Bogus\"' '$WORK/bad.out' &&
	grep -q '^$WORK/bad.conf:2: SPFHelo wants yes or no' '$WORK/bad.out' &&
	grep -q '^$WORK/bad.conf:4: DNSTimeout wants a whole number' '$WORK/bad.out'"
check "-n on a missing file fails" bash -c "! '$AM' -n -c '$WORK/none.conf' 2>/dev/null"
printf 'partner.example never-reject\n' >"$WORK/overrides"
sed -n 's/^#\([A-Z][A-Za-z]* .*\)/\1/p' "$top_srcdir/conf/authmilter.conf" |
	sed "s|^DMARCOverrides .*|DMARCOverrides $WORK/overrides|" >"$WORK/sample.conf"
check "sample conf with every key set is valid" "$AM" -n -c "$WORK/sample.conf"
check "sample conf documents every key (28)" [ "$(wc -l <"$WORK/sample.conf")" -ge 28 ]

# --- test mode contract
out=$("$AM" -c "$C" -t "$WORK/msg.eml" -i 192.0.2.1 -H helo.pass.example -s a@pass.example)
rc=$?
check "test mode exits 0" [ "$rc" = 0 ]
check "first line is an Authentication-Results field" bash -c "[[ \"\$(head -1 <<<'$out')\" == 'Authentication-Results: mx.cli.test; spf=pass '* ]]"
check "last line is action=accept" [ "$(tail -1 <<<"$out")" = action=accept ]
check "HELO identity reported too" grep -q 'spf=pass (helo.pass.example matched a) smtp.helo=helo.pass.example' <<<"$out"
check "output is one line per field, unfolded" [ "$(wc -l <<<"$out")" = 2 ]

out=$("$AM" -c "$C" -t "$WORK/msg.eml" -i 198.51.100.7 -H helo.pass.example -s '')
check "null sender (-s '') checks postmaster@HELO as smtp.helo" \
	grep -q '^Authentication-Results: mx.cli.test; spf=fail (helo.pass.example matched -all) smtp.helo=helo.pass.example; dkim=none; dmarc=none (no DMARC record) header.from=pass.example$' <<<"$out"

out=$("$AM" -c "$(conf rej 'SPFRejectFail yes')" -t "$WORK/msg.eml" -i 198.51.100.7 -H x.example -s '<a@pass.example>' 2>"$WORK/err")
rc=$?
check "SPFRejectFail: action=reject, exit 0" bash -c "[ $rc = 0 ] && [ \"\$(tail -1 <<<'$out')\" = action=reject ]"
check "SPFRejectFail: reply 550 5.7.23 on stderr" grep -q 'reply: 550 5.7.23 SPF check failed for pass.example' "$WORK/err"
out=$("$AM" -c "$C" -t "$WORK/msg.eml" -i 198.51.100.7 -H x.example -s a@pass.example)
check "SPF fail without SPFRejectFail is stamped and accepted" bash -c "grep -q 'spf=fail' <<<'$out' && [ \"\$(tail -1 <<<'$out')\" = action=accept ]"

out=$("$AM" -c "$(conf tf 'TempFailOnDNSError yes')" -t "$WORK/msg.eml" -i 192.0.2.1 -H x.example -s a@servfail.example 2>"$WORK/err")
check "TempFailOnDNSError yes: temperror -> action=tempfail, 451 4.7.24" bash -c "
	grep -q 'spf=temperror' <<<'$out' && [ \"\$(tail -1 <<<'$out')\" = action=tempfail ] &&
	grep -q 'reply: 451 4.7.24' '$WORK/err'"
out=$("$AM" -c "$C" -t "$WORK/msg.eml" -i 192.0.2.1 -H x.example -s a@servfail.example)
check "TempFailOnDNSError no: temperror stamped, accepted" bash -c "
	grep -q 'spf=temperror' <<<'$out' && [ \"\$(tail -1 <<<'$out')\" = action=accept ]"

# --- unreachable nameserver: temperror within timeout x tries, never a hang
printf 'Nameservers 127.0.0.1:9\nDNSTimeout 1\nDNSRetries 1\nAuthservID x\nSPFHelo no\n' >"$WORK/dead.conf"
start=$(date +%s%N)
out=$(timeout 20 "$AM" -c "$WORK/dead.conf" -t "$WORK/msg.eml" -i 192.0.2.1 -H h.example -s a@pass.example)
took_ms=$((($(date +%s%N) - start) / 1000000))
check "unreachable nameserver gives temperror" grep -q 'spf=temperror' <<<"$out"
check "and dmarc=temperror" grep -q 'dmarc=temperror' <<<"$out"
# two lookups (SPF record, DMARC record), each at most timeout x tries = 2 s
check "unreachable nameserver answered within 2 lookups x timeout x tries (${took_ms} ms)" [ "$took_ms" -lt 5000 ]

# --- hostile envelopes: each must give a defined result and exit 0
long=$(head -c 3000 /dev/zero | tr '\0' a)
for sender in '<<<>>>' 'no-at-sign' 'user@[192.0.2.1]' '@pass.example' "$long@pass.example" \
	"a@$long.example" 'a@pass.example.' $'a@\xff\xfe.example' 'a b@pass.example' '<@route,@x:a@pass.example>'; do
	out=$("$AM" -c "$C" -t "$WORK/msg.eml" -i 192.0.2.1 -H h.example -s "$sender" 2>/dev/null)
	rc=$?
	check "MAIL FROM ${sender:0:30}: exit 0 and a result" bash -c "[ $rc = 0 ] && grep -Eq '^Authentication-Results: mx.cli.test; spf=(pass|fail|none|neutral|softfail|permerror|temperror) ' <<<'$out' && [ \"\$(tail -1 <<<'$out')\" = action=accept ]"
done
for helo in '' '[192.0.2.1]' "$long" $'h\x01.example' 'single'; do
	out=$("$AM" -c "$C" -t "$WORK/msg.eml" -i 192.0.2.1 -H "$helo" -s '' 2>/dev/null)
	rc=$?
	check "HELO ${helo:0:20}: exit 0 and spf=none" bash -c "[ $rc = 0 ] && grep -q 'spf=none' <<<'$out'"
done
out=$("$AM" -c "$C" -t "$WORK/msg.eml" -i 2001:db8::5 -H h.example -s a@pass.example)
check "IPv6 client matched by ip6:" grep -q 'spf=pass' <<<"$out"
out=$("$AM" -c "$C" -t "$WORK/msg.eml" -i ::ffff:192.0.2.9 -H h.example -s a@pass.example)
check "IPv4-mapped IPv6 client is IPv4" grep -q 'spf=pass' <<<"$out"
check "bad client IP is a usage error? no: none result" bash -c "'$AM' -c '$C' -t '$WORK/msg.eml' -i not-an-ip -s a@pass.example | grep -q 'spf=none (no client IP address)'"

# --- hostile messages: 8-bit, NUL bytes, a 1 MB header, 10,000 header fields
{ printf 'From: a@pass.example\nX-Bin: \xff\xfe\x00\x01\n'; printf 'X-Long: %s\n' "$(head -c 1048576 /dev/zero | tr '\0' x)";
  for i in $(seq 10000); do printf 'X-H%d: v\n' "$i"; done
  printf 'Authentication-Results: mx.cli.test; spf=pass\n\n\x00\xff body\n'; } >"$WORK/hostile.eml"
out=$(timeout 20 "$AM" -c "$C" -t "$WORK/hostile.eml" -i 192.0.2.1 -H h.example -s a@pass.example 2>"$WORK/err")
rc=$?
check "hostile message: exit 0, result, forged A-R found" bash -c "[ $rc = 0 ] && grep -q spf=pass <<<'$out' && grep -q 'would delete Authentication-Results #1' '$WORK/err'"
printf '' >"$WORK/empty.eml"
out=$("$AM" -c "$C" -t "$WORK/empty.eml" -i 192.0.2.1 -s a@pass.example 2>/dev/null)
check "empty message file: no From is dmarc=permerror, accepted" bash -c "grep -q 'dmarc=permerror (no From header field)$' <<<'$out' && [ \"\$(tail -1 <<<'$out')\" = action=accept ]"
check "empty message file, DMARCMultiFrom ignore: accepted" bash -c "'$AM' -c '$(conf ign 'DMARCMultiFrom ignore')' -t '$WORK/empty.eml' -i 192.0.2.1 -s a@pass.example | grep -q '^action=accept$'"

# --- usage errors
check "missing message file: non-zero and a message" bash -c "! '$AM' -c '$C' -t '$WORK/nope.eml' -i 192.0.2.1 2>&1 | grep -q '^Auth' && '$AM' -c '$C' -t '$WORK/nope.eml' -i 192.0.2.1 2>&1 | grep -q 'nope.eml'"
check "-t without -i is a usage error (exit 2)" bash -c "'$AM' -t '$WORK/msg.eml' 2>/dev/null; [ \$? = 2 ]"

# --- the daemon: a unix socket with the configured mode, removed on SIGTERM
S="$WORK/milter.sock"
"$AM" -f -c "$(conf unix "Socket unix:$S" 'SocketMode 0660' "PidFile $WORK/am.pid")" >"$WORK/d.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -S "$S" ] && break; sleep 0.05; done
check "unix socket created" [ -S "$S" ]
check "unix socket mode 0660" [ "$(stat -c %a "$S")" = 660 ]
check "PID file written" [ "$(cat "$WORK/am.pid" 2>/dev/null)" = "$pid" ]
kill "$pid"; wait "$pid"; rc=$?
check "SIGTERM: exit 0" [ "$rc" = 0 ]
check "SIGTERM: socket and PID file removed" bash -c "[ ! -e '$S' ] && [ ! -e '$WORK/am.pid' ]"
# --- TCP: TCP_NODELAY on the listening socket (accepted sockets inherit it),
# handed to libmilter as fd:N; privileges dropped to UserID once it is open
if command -v strace >/dev/null && [ "$(id -u)" = 0 ]; then
	P=$(free_port)
	strace -f -o "$WORK/strace.log" -e trace=setsockopt,setuid,setresuid \
		"$AM" -f -c "$(conf tcp "Socket inet:$P@127.0.0.1" 'UserID nobody')" >"$WORK/d3.log" 2>&1 &
	spid=$!
	wait_port "$P"
	apid=$(pgrep -f "^$AM -f -c $WORK/tcp.conf" | head -1)
	check "TCP listening socket gets TCP_NODELAY" grep -q 'TCP_NODELAY, \[1\]' "$WORK/strace.log"
	check "runs as UserID after the socket is open" \
		[ "$(awk '/^Uid:/ { print $2 }' /proc/"$apid"/status)" = "$(id -u nobody)" ]
	kill "$apid"; wait "$spid"
fi

# --- negotiation asks only for what it uses; systemd socket activation works
if command -v systemd-socket-activate >/dev/null; then
	P=$(free_port)
	systemd-socket-activate -l "127.0.0.1:$P" "$AM" -f -c "$C" >"$WORK/sa.log" 2>&1 &
	sapid=$!
	wait_port "$P"
	neg=$(python3 "$top_srcdir/tests/lib/milterneg.py" "127.0.0.1:$P")
	# actions: ADDHDRS 0x01, CHGHDRS 0x10, QUARANTINE 0x20; steps skipped:
	# NOUNKNOWN 0x100; SKIP 0x400; HDR_LEADSPC 0x100000 (RCPT and DATA kept: see callbacks.c)
	check "socket activation: milter answers on the passed socket ($neg)" \
		grep -q '^version=6 actions=0x31 protocol=0x100500$' <<<"$neg"
	kill "$sapid" 2>/dev/null; wait "$sapid" 2>/dev/null
fi

touch "$WORK/plainfile"
timeout 10 "$AM" -f -c "$(conf busy "Socket unix:$WORK/plainfile")" >"$WORK/d2.log" 2>&1
rc=$?
check "refuses to replace a file that is not a socket" bash -c "[ $rc = 1 ] && grep -q 'plainfile exists and is not a socket' '$WORK/d2.log' && [ -f '$WORK/plainfile' ]"
finish
