#!/usr/bin/python3
"""gen_corpus - a DKIM-signed corpus and its DNS data for the load driver
(../shared/bench/milterload.c) against authmilter on loopback ldns-testns.

usage: gen_corpus.py OUTDIR MESSAGES BODY_BYTES SIGNATURES

Writes OUTDIR/corpus/mN.eml, OUTDIR/corpus/index.tsv (the driver's format:
every message must be accepted with dkim=pass, spf=pass, dmarc=pass) and
OUTDIR/zone.data (ldns-testns). Domain bench.example: SPF ip4:192.0.2.0/24,
DMARC p=reject, SIGNATURES RSA-2048 selectors s1..sN (one key, one lookup
each). Each message is signed SIGNATURES times, relaxed/relaxed, as the
shared bench's corpus is.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "dkim"))
import dkim_corpus  # noqa: E402
import zonefile  # noqa: E402

DOMAIN = "bench.example"


def body(size, n):
    """size bytes of 72-column text lines, CRLF ended, different per message"""
    line = ("message %d " % n + "lorem ipsum dolor sit amet " * 3)[:70] + "\r\n"
    reps = max(1, size // len(line))
    return line * reps


def main():
    out, count, size, sigs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    corpus = os.path.join(out, "corpus")
    os.makedirs(corpus, exist_ok=True)
    pub = dkim_corpus.rsa_public("rsa2048")
    zone = {DOMAIN: [("TXT", zonefile.txt_rdata("v=spf1 ip4:192.0.2.0/24 -all"))],
            "_dmarc." + DOMAIN: [("TXT", zonefile.txt_rdata("v=DMARC1; p=reject"))]}
    for s in range(1, sigs + 1):
        zone["s%d._domainkey.%s" % (s, DOMAIN)] = [
            ("TXT", zonefile.txt_rdata("v=DKIM1; k=rsa; p=" + pub))]
    with open(os.path.join(out, "zone.data"), "w") as f:
        f.write(zonefile.datafile(zone))
    index = ["#file\tip\thelo\tfrom\trcpt\tdomain\talg\tcname\ttampered\texpect\texpect_ar"]
    for n in range(count):
        msg = dkim_corpus.message("g%d" % n, DOMAIN, body(size, n))
        for s in range(1, sigs + 1):
            msg = dkim_corpus.sign(msg, "s%d" % s, "rsa2048", DOMAIN)
        name = "m%d.eml" % n
        with open(os.path.join(corpus, name), "wb") as f:
            f.write(msg)
        index.append("%s\t192.0.2.%d\tmail.%s\talice@%s\tbob@mx.test\t%s\trsa\t0\t0\taccept\t"
                     "dkim=pass,spf=pass,dmarc=pass" % (name, 1 + n % 250, DOMAIN, DOMAIN, DOMAIN))
    with open(os.path.join(corpus, "index.tsv"), "w") as f:
        f.write("\n".join(index) + "\n")


if __name__ == "__main__":
    main()
