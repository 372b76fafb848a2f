#!/bin/bash
# postfix_bench.sh - throughput and CPU of authmilter against OpenDKIM +
# OpenDMARC, on the same machine, through the same private Postfix.
#
# usage: tests/bench/postfix_bench.sh [MESSAGES] [SESSIONS]     (as root)
#
# Everything runs in a private network namespace (its own loopback, a DNS
# server on 127.0.0.1:53 and /etc/resolv.conf bind-mounted to point at it), so
# OpenDMARC, which only uses the system resolver, sees the same DNS data.
# Every message is DKIM-signed (rsa-sha256, 2048 bits), passes SPF, and its
# From domain publishes p=reject: all checks do their full work. Prints a
# table; asserts nothing about speed (see STYLE: benchmarks print figures).
# "all ms/msg" is the whole machine's CPU per message during the run and
# "busy" its share of every core: when busy is near 100% Postfix is CPU-bound,
# and what a milter costs Postfix itself is all ms/msg minus the "none" row's
# minus the milter's own CPU ms/msg.
set -u
N=${1:-2000}
S=${2:-8}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
if [ -z "${BENCH_INNER:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "run as root"; exit 1; }
	exec unshare --net --mount --uts env BENCH_INNER=1 top_srcdir="$top_srcdir" \
		top_builddir="$top_builddir" bash "$0" "$N" "$S"
fi
. "$top_srcdir/tests/lib/common.sh"
. "$top_srcdir/tests/lib/postfix.sh"
for tool in opendkim opendmarc smtp-source postfix ldns-testns; do
	command -v "$tool" >/dev/null || { echo "missing $tool"; exit 1; }
done

WORK=$(mktemp -d /tmp/authmilter-bench.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
	for d in "$WORK"/run-*; do postfix -c "$d/etc" stop >/dev/null 2>&1; done
	# ldns-testns -f forks its workers: they go with it
	for p in "${PIDS[@]}"; do pkill -P "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT
ip link set lo up
hostname bench.test
printf 'nameserver 127.0.0.1\n' >"$WORK/resolv.conf"
mount --bind "$WORK/resolv.conf" /etc/resolv.conf

# DNS: SPF, the DKIM key, a p=reject DMARC record, on port 53 of our loopback
/usr/bin/python3 - "$top_srcdir" >"$WORK/zone.data" <<'PY'
import sys
sys.path.insert(0, sys.argv[1] + "/tests/lib"); sys.path.insert(0, sys.argv[1] + "/tests/dkim")
import zonefile, dkim_corpus
zone = dkim_corpus.zone()
zone["example.com"] = [("TXT", zonefile.txt_rdata("v=spf1 ip4:127.0.0.0/8 -all"))]
zone["_dmarc.example.com"] = [("TXT", zonefile.txt_rdata("v=DMARC1; p=reject"))]
sys.stdout.write(zonefile.datafile(zone))
PY
ldns-testns -p 53 -f 3 "$WORK/zone.data" >"$WORK/dns.log" 2>&1 &
PIDS+=($!)
sleep 0.5

# one DKIM-signed message (smtp-source adds CRLF to each line)
/usr/bin/python3 - "$top_srcdir" >"$WORK/msg.txt" <<'PY'
import sys
sys.path.insert(0, sys.argv[1] + "/tests/lib"); sys.path.insert(0, sys.argv[1] + "/tests/dkim")
import dkim_corpus
msg = dkim_corpus.sign(dkim_corpus.message("bench") + b"x" * 70 * 40, "rsa2048", "rsa2048")
sys.stdout.write(msg.decode().replace("\r\n", "\n"))
PY

busy_ticks() {	# busy_ticks: the whole machine's non-idle CPU (user, nice, system, irq, softirq)
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat
}

cpu_ticks() {	# cpu_ticks PID...: utime+stime of the processes, in clock ticks
	local total=0 p
	for p in "$@"; do
		[ -r "/proc/$p/stat" ] || continue
		total=$((total + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
	done
	echo "$total"
}

# run NAME MILTERS PID...: one Postfix run; prints a table row
run() {
	local name=$1 milters=$2
	shift 2
	local dir="$WORK/run-${name// /_}" port
	port=$(free_port)
	postfix_configure "$dir" "$port" "$milters"
	postfix -c "$dir/etc" start >/dev/null 2>&1 || { echo "postfix did not start"; return; }
	wait_port "$port"
	smtp-source -m 20 -s 2 -F "$WORK/msg.txt" -f alice@example.com -t user@e2e.test \
		-M mail.example.com "127.0.0.1:$port" >/dev/null 2>&1
	local t0 t1 c0 c1 b0 b1
	c0=$(cpu_ticks "$@")
	b0=$(busy_ticks)
	t0=$(date +%s%N)
	smtp-source -m "$N" -s "$S" -F "$WORK/msg.txt" -f alice@example.com -t user@e2e.test \
		-M mail.example.com "127.0.0.1:$port" >/dev/null 2>&1
	t1=$(date +%s%N)
	c1=$(cpu_ticks "$@")
	b1=$(busy_ticks)
	local p
	for p in "$@"; do kill -0 "$p" 2>/dev/null || echo "note: milter process $p died during the run"; done
	local ms=$(((t1 - t0) / 1000000)) hz
	hz=$(getconf CLK_TCK)
	# count what was delivered (the queue drains after smtp-source returns)
	local delivered=0 last=-1
	for _ in $(seq 120); do
		delivered=$(find "$dir/mail/inbox/new" -type f 2>/dev/null | wc -l)
		[ "$delivered" -ge $((N + 20)) ] || [ "$delivered" = "$last" ] && break
		last=$delivered
		sleep 0.5
	done
	delivered=$((delivered - 20))
	local sample
	sample=$(grep -l '^Subject: DKIM corpus bench' "$dir"/mail/inbox/new/* 2>/dev/null | tail -1)
	local results="-"
	[ -n "$sample" ] && results=$(grep -ohE '(dkim|dmarc)=[a-z]+' "$sample" | sort -u | tr '\n' ' ')
	printf '%-22s %6d %9d %8d %9.2f %9.0f %11.2f %11.2f %12.2f %6.0f%%   %s\n' "$name" "$N" "$delivered" "$S" \
		"$(echo "$ms / 1000" | awk '{print $1 / 1000}' <<<"$ms")" \
		"$(awk -v n="$N" -v ms="$ms" 'BEGIN { print n / (ms / 1000) }')" \
		"$(awk -v c=$((c1 - c0)) -v hz="$hz" 'BEGIN { print c / hz }')" \
		"$(awk -v c=$((c1 - c0)) -v hz="$hz" -v n="$N" 'BEGIN { print 1000 * c / hz / n }')" \
		"$(awk -v c=$((b1 - b0)) -v hz="$hz" -v n="$N" 'BEGIN { print 1000 * c / hz / n }')" \
		"$(awk -v c=$((b1 - b0)) -v hz="$hz" -v ms="$ms" -v cores="$(nproc)" 'BEGIN { print 100 * c / hz / (ms / 1000) / cores }')" \
		"$results"
	postfix -c "$dir/etc" stop >/dev/null 2>&1
}

printf '%-22s %6s %9s %8s %9s %9s %11s %11s %12s %7s   %s\n' "milters" "msgs" "delivered" "sessions" "seconds" "msgs/s" \
	"milter CPU s" "CPU ms/msg" "all ms/msg" "busy" "results seen"
run "none" ""

P1=$(free_port)
printf 'Socket inet:%s@127.0.0.1\nAuthservID bench.test\nTrustedNetworks none\nSPFHelo no\n' "$P1" >"$WORK/authmilter.conf"
"$top_builddir/milter/authmilter" -f -c "$WORK/authmilter.conf" >"$WORK/authmilter.log" 2>&1 &
AM=$!
PIDS+=($AM)
wait_port "$P1"
run "authmilter" "inet:127.0.0.1:$P1" "$AM"
kill "$AM"

P2=$(free_port)
P3=$(free_port)
printf 'server:\n  do-not-query-localhost: no\n  module-config: "iterator"\nforward-zone:\n  name: "."\n  forward-addr: 127.0.0.1@53\n' >"$WORK/unbound.conf"
printf '192.0.2.254\n' >"$WORK/nobody-internal"
cat >"$WORK/opendkim.conf" <<CONF
Mode v
Socket inet:$P2@127.0.0.1
AuthservID bench.test
Nameservers 127.0.0.1
InternalHosts $WORK/nobody-internal
Syslog no
MinimumKeyBits 1024
CONF
cat >"$WORK/opendmarc.conf" <<CONF
Socket inet:$P3@127.0.0.1
AuthservID bench.test
TrustedAuthservIDs bench.test
IgnoreHosts $WORK/nobody-internal
SPFSelfValidate true
RejectFailures false
PublicSuffixList /usr/share/publicsuffix/public_suffix_list.dat
Syslog false
CONF
opendkim -f -x "$WORK/opendkim.conf" >"$WORK/opendkim.log" 2>&1 &
OD=$!
opendmarc -f -c "$WORK/opendmarc.conf" >"$WORK/opendmarc.log" 2>&1 &
OM=$!
PIDS+=($OD $OM)
wait_port "$P2"
wait_port "$P3"
run "opendkim + opendmarc" "inet:127.0.0.1:$P2, inet:127.0.0.1:$P3" "$OD" "$OM"
for f in opendkim opendmarc; do
	# if, not `grep && {...}`: a clean log must not become the script's exit status
	if grep -qiE 'error|fault|abort' "$WORK/$f.log"; then
		echo "--- $f log"
		tail -5 "$WORK/$f.log"
	fi
done
exit 0
