# benchlib.sh - what tests/bench/syscalls.sh and growth.sh share: a signed
# corpus (gen_corpus.py), ldns-testns on loopback, one authmilter daemon
# configured as ../shared/bench's authmilter stanza, and the shared bench's
# load driver. Benchmarks print figures and assert nothing about speed.
# Needs WORK, top_srcdir, top_builddir and common.sh; sets LOAD.

AM=${AM:-$top_builddir/milter/authmilter}
PY=${PY:-/usr/bin/python3}	# Debian's, which has python3-dkim
LOAD_SRC=${LOAD_SRC:-$top_srcdir/tests/bench/milterload.c}	# copy of ../shared/bench/milterload.c
MILTER_PID=

# bench_check: exit 77 (skip) without the tools or the driver's source
bench_check() {
	local t
	for t in ldns-testns gcc "$PY"; do
		command -v "$t" >/dev/null || { echo "SKIP: needs $t"; exit 77; }
	done
	[ -f "$LOAD_SRC" ] || { echo "SKIP: no load driver at $LOAD_SRC"; exit 77; }
	[ -x "$AM" ] || { echo "SKIP: build authmilter first ($AM)"; exit 77; }
	LOAD=$WORK/milterload
	gcc -O2 -pthread -o "$LOAD" "$LOAD_SRC" || exit 99
}

# bench_corpus DIR MESSAGES BODY_BYTES SIGNATURES: corpus and zone in DIR
bench_corpus() {
	"$PY" "$top_srcdir/tests/bench/gen_corpus.py" "$@" || exit 99
}

# bench_start DIR [CONF_LINE...]: DNS from DIR/zone.data, then the daemon
# (MILTER_PID, MILTER_PORT)
bench_start() {
	local dir=$1
	shift
	start_testns "$dir/zone.data" || exit 99
	MILTER_PORT=$(free_port)
	{ echo "Socket inet:$MILTER_PORT@127.0.0.1"; echo "AuthservID bench.test"
	  echo "Nameservers 127.0.0.1:$NS_PORT"; echo "DMARCEnforce yes"
	  echo "TrustedNetworks none"; printf '%s\n' "$@"; } >"$WORK/bench.conf"
	"$AM" -f -c "$WORK/bench.conf" >>"$WORK/milter.log" 2>&1 &
	MILTER_PID=$!
	wait_port "$MILTER_PORT" || { echo "authmilter did not start"; tail "$WORK/milter.log"; exit 99; }
}

# bench_stop: the daemon and the DNS server
bench_stop() {
	[ -n "$MILTER_PID" ] && kill "$MILTER_PID" 2>/dev/null && wait "$MILTER_PID" 2>/dev/null
	MILTER_PID=
	stop_testns
}

# bench_load DIR ARGS...: the driver on DIR/corpus; exits non-zero on a wrong verdict
bench_load() {
	local dir=$1
	shift
	"$LOAD" --corpus "$dir/corpus" --socket "inet:$MILTER_PORT@127.0.0.1" \
		--expect-auth dkim,spf,dmarc --timeout 20 "$@"
}

# cpu_ticks PID: utime+stime of the process and all its threads, in clock ticks
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# peak_kib PID: VmHWM of the process
peak_kib() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}
