# milterload.sh - for the daemon tests that need traffic over the milter
# protocol with verdict checking: tests/bench/milterload.c (an unchanged copy
# of ../shared/bench's driver), built into the test's WORK directory (about a
# second; never stale), one DNS zone, one small corpus.
# Needs WORK, top_srcdir and common.sh; sets LOAD and NS_PORT.

LOAD_SRC=${LOAD_SRC:-$top_srcdir/tests/bench/milterload.c}

# milterload_check: exit 77 (skip) without ldns-testns or the driver's source
milterload_check() {
	if ! command -v ldns-testns >/dev/null || ! command -v gcc >/dev/null; then
		echo "SKIP: needs ldns-testns and gcc"
		exit 77
	fi
	if [ ! -f "$LOAD_SRC" ]; then
		echo "SKIP: the load driver $LOAD_SRC is not there"
		exit 77
	fi
}

# milterload_build: the driver into $WORK/milterload
milterload_build() {
	LOAD=$WORK/milterload
	gcc -O2 -pthread -o "$LOAD" "$LOAD_SRC" || exit 99
}

# milterload_setup: the driver, DNS (pass.example: SPF for 192.0.2.0/24, DMARC p=reject;
# quarantine.example the same with p=quarantine; slow.example never answered in time) and
# a corpus of 4 messages that must be accepted with spf=pass and dmarc=pass
milterload_setup() {
	milterload_build
	PYTHONPATH="$top_srcdir/tests/lib" python3 - >"$WORK/zone.data" <<'PY' || exit 99
import zonefile
zone = {
    "pass.example": [("TXT", zonefile.txt_rdata("v=spf1 ip4:192.0.2.0/24 -all"))],
    "_dmarc.pass.example": [("TXT", zonefile.txt_rdata("v=DMARC1; p=reject"))],
    "quarantine.example": [("TXT", zonefile.txt_rdata("v=spf1 ip4:192.0.2.0/24 -all"))],
    "_dmarc.quarantine.example": [("TXT", zonefile.txt_rdata("v=DMARC1; p=quarantine"))],
    "slow.example": ["SLEEP"],
}
print(zonefile.datafile(zone), end="")
PY
	start_testns "$WORK/zone.data" || exit 99
	mkdir -p "$WORK/corpus"
	printf '#file\tip\thelo\tfrom\trcpt\tdomain\talg\tcname\ttampered\texpect\texpect_ar\n' \
		>"$WORK/corpus/index.tsv"
	local i
	for i in 1 2 3 4; do
		printf 'From: Sender %d <s%d@pass.example>\r\nTo: rcpt@mx.test\r\nSubject: load %d\r\nMessage-ID: <%d@pass.example>\r\n\r\nbody %d\r\n' \
			"$i" "$i" "$i" "$i" "$i" >"$WORK/corpus/m$i.eml"
		printf 'm%d.eml\t192.0.2.%d\tmail.pass.example\ts%d@pass.example\trcpt@mx.test\tpass.example\tnone\t0\t0\taccept\tspf=pass,dmarc=pass\n' \
			"$i" "$i" "$i" >>"$WORK/corpus/index.tsv"
	done
}

# milterload_conf FILE EXTRA...: a daemon conf on MILTER_PORT using our DNS
milterload_conf() {
	local f=$1
	shift
	{ echo "Socket inet:$MILTER_PORT@127.0.0.1"; echo "AuthservID mx.load.test"
	  echo "Nameservers 127.0.0.1:$NS_PORT"; echo "DNSTimeout 2"; echo "TrustedNetworks none"
	  printf '%s\n' "$@"; } >"$f"
}

# load ARGS...: milterload against the daemon on MILTER_PORT
load() {
	"$LOAD" --corpus "$WORK/corpus" --socket "inet:$MILTER_PORT@127.0.0.1" \
		--expect-auth spf,dmarc --timeout 5 "$@"
}
