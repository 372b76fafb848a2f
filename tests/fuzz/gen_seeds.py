#!/usr/bin/python3
"""gen_seeds - write the fuzz seed corpora from the project's test data, and
dkim_keys.inc (the DKIM corpus's key records for fuzz_dkim's fake DNS).

usage: gen_seeds.py OUTDIR    (one directory per target under OUTDIR)

Sources: C string tables of tests/unit/*.c, tests/dmarc/scenarios.yml,
the RFC 7208 suite's records (../shared/conformance/spf), tests/dns/*.data
(answered by a real ldns-testns and captured off the wire), the messages of
tests/dkim/dkim_corpus.py signed by its real signers, conf/authmilter.conf.
run.sh merges the result into the checked-in corpora; nothing here is run
by the tests.
"""
import hashlib
import os
import random
import re
import socket
import struct
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(TOP, "tests", "lib"))
sys.path.insert(0, os.path.join(TOP, "tests", "dkim"))
import dkim_corpus  # noqa: E402
import zonefile  # noqa: E402
from testns import TestNS  # noqa: E402

SPF_SUITE = os.path.join(TOP, "..", "shared", "conformance", "spf", "rfc7208-tests.yml")
MAX_SEED = 64 * 1024


def c_strings(path):
    """Every C string literal in a file, adjacent literals joined, escapes undone."""
    text = open(path, encoding="utf-8", errors="replace").read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = []
    for m in re.finditer(r'"(?:[^"\\\n]|\\.)*"(?:\s*"(?:[^"\\\n]|\\.)*")*', text):
        parts = re.findall(r'"((?:[^"\\\n]|\\.)*)"', m.group(0))
        raw = "".join(parts)
        try:
            out.append(bytes(raw, "latin-1", "replace").decode("unicode_escape").encode("latin-1"))
        except (UnicodeDecodeError, UnicodeEncodeError):
            out.append(raw.encode("utf-8", "replace"))
    return out


class Corpus:
    def __init__(self, root, name):
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir, exist_ok=True)
        self.n = 0

    def add(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        if len(data) > MAX_SEED:
            return
        name = hashlib.sha1(data).hexdigest()
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data)
        self.n += 1


def spf_suite():
    with open(SPF_SUITE, encoding="utf-8") as f:
        return list(yaml.safe_load_all(f))


def spf_records(docs):
    for doc in docs:
        for recs in (doc.get("zonedata") or {}).values():
            for rec in recs or []:
                if isinstance(rec, dict):
                    (rtype, value), = rec.items()
                    if rtype in ("TXT", "SPF") and value and value != "NONE":
                        yield "".join(value) if isinstance(value, list) else str(value)


def scenarios():
    with open(os.path.join(TOP, "tests", "dmarc", "scenarios.yml"), encoding="utf-8") as f:
        return yaml.safe_load(f)


def txt_values(zone):
    for recs in zone.values():
        for rec in recs:
            if isinstance(rec, list) and rec[0] == "TXT":
                yield rec[1]


def seeds_fromaddr(root, sc):
    c = Corpus(root, "fuzz_fromaddr")
    for s in c_strings(os.path.join(TOP, "tests", "unit", "t_fromaddr.c")):
        if b"@" in s or b":" in s:
            c.add(s)
    for case in sc["scenarios"]:
        if case.get("from"):
            c.add(case["from"])
    c.add("a@attacker.example," + " \r\n" * 20 + " ceo@bank.example")
    c.add("undisclosed-recipients:;, ceo@bank.example")
    return c


def seeds_dmarc(root, sc):
    c = Corpus(root, "fuzz_dmarc_record")
    for v in txt_values(sc["zone"]):
        if v.lower().startswith("v=dmarc"):
            c.add(v)
    for s in c_strings(os.path.join(TOP, "tests", "unit", "t_dmarc.c")):
        if b"=" in s:
            c.add(s)
    c.add("v=DMARC1; p=reject; sp=none; np=quarantine; adkim=s; aspf=r; pct=50; t=y; psd=n; "
          "rua=mailto:a@example.com,mailto:b@example.net!10m; ruf=mailto:f@example.com; fo=1:d:s; "
          "rf=afrf; ri=3600")
    return c


def seeds_spf(root, docs):
    c = Corpus(root, "fuzz_spf_record")
    for r in spf_records(docs):
        c.add(r)
    for s in c_strings(os.path.join(TOP, "tests", "unit", "t_spf.c")):
        if s.startswith(b"v=spf1"):
            c.add(s)
    return c


def seeds_macro(root, docs):
    c = Corpus(root, "fuzz_spf_macro")
    macros = set()
    for r in spf_records(docs):
        for term in r.split():
            if "%" in term:
                macros.add(re.split(r"[:=]", term, maxsplit=1)[-1])
    for s in c_strings(os.path.join(TOP, "tests", "unit", "t_spf.c")):
        if b"%" in s:
            macros.add(s.decode("latin-1"))
    contexts = []
    for doc in docs:
        for t in (doc.get("tests") or {}).values():
            contexts.append((str(t.get("mailfrom", "")), str(t.get("helo", "")), str(t.get("host", ""))))
    rnd = random.Random(7208)
    for i, m in enumerate(sorted(macros)):
        sender, helo, ip = contexts[i % len(contexts)] if contexts else ("a@b.example", "h", "192.0.2.1")
        domain = sender.rsplit("@", 1)[-1] or helo
        c.add("%s\n%s\n%s\n%s\n%s" % (m, sender, helo, ip, domain))
    c.add("%{ir}.%{v}._spf.%{d2}\n" + "x" * 200 + "@example.com\nmx\n2001:db8::1\nexample.com")
    c.add("%{l1r-}.%{o}\nfirst-middle-last@example.com\nmx\n192.0.2.3\nexample.com")
    c.add("%{S}%{L}%{O}%{D}%{I}%{P}%{H}%{C}%{R}%{T}%{V}\n\"quoted user\"@example.com\nmx\n::ffff:192.0.2.9\nexample.com")
    c.add("\x01See http://%{d}/why.html?s=%{S}&i=%{I}%_%-%%\nu@example.com\nmx\n192.0.2.1\nexample.com")
    del rnd
    return c


def seeds_authres(root):
    c = Corpus(root, "fuzz_authres")
    for s in c_strings(os.path.join(TOP, "tests", "unit", "t_authres.c")):
        c.add(s)
        c.add(b"mx.example.org\n" + s)
    return c


def seeds_config(root):
    c = Corpus(root, "fuzz_config")
    sample = open(os.path.join(TOP, "conf", "authmilter.conf"), "rb").read()
    c.add(sample)
    c.add(b"TrustedNetworks @NETS@\nDMARCOverrides @OVERRIDES@\nAuthservID mx.example.org\n"
          b"%%\n192.0.2.0/24\n2001:db8::/32\n10.0.0.1\n"
          b"%%\nexample.com never-reject\n.example.net always-pass\nbad.example force-reject\n")
    lines = [l for l in sample.splitlines() if l and not l.startswith(b"#")]
    for l in lines:
        c.add(l + b"\n")
    for s in c_strings(os.path.join(TOP, "tests", "unit", "t_config.c")):
        if b" " in s or b"\n" in s:
            c.add(s)
    return c


QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}
HARNESS_TYPES = ["TXT", "A", "AAAA", "MX", "PTR", "CNAME", "SOA", "NS"]


def query_wire(qname, qtype, qid):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in qname.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", QTYPES[qtype], 1)


def questions(datafile):
    out = set()
    lines = datafile.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "SECTION QUESTION" and i + 1 < len(lines):
            parts = lines[i + 1].split()
            if len(parts) >= 3 and parts[-1] in QTYPES:
                out.add((parts[0], parts[-1]))
    return sorted(out)


def capture(datafile, c):
    with TestNS(datafile) as ns:
        for qid, (name, qtype) in enumerate(questions(datafile), 1):
            if qtype not in HARNESS_TYPES:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(0.3)
                s.sendto(query_wire(name, qtype, qid), ("127.0.0.1", ns.port))
                try:
                    reply = s.recv(65535)
                except socket.timeout:
                    continue
            c.add(bytes([HARNESS_TYPES.index(qtype)]) + reply)


def seeds_dns(root):
    c = Corpus(root, "fuzz_dns")
    for f in sorted(os.listdir(os.path.join(TOP, "tests", "dns"))):
        if f.endswith(".data"):
            capture(open(os.path.join(TOP, "tests", "dns", f)).read(), c)
    capture(zonefile.datafile(dkim_corpus.zone()), c)
    return c


def key_records():
    rsa = {b: dkim_corpus.rsa_public("rsa%d" % b) for b in (512, 1024, 2048, 4096)}
    ed = dkim_corpus.ed_public()
    k = {}
    for b in (512, 1024, 2048, 4096):
        k["rsa%d._domainkey.example.com" % b] = "v=DKIM1; k=rsa; p=" + rsa[b]
    k["ed._domainkey.example.com"] = "v=DKIM1; k=ed25519; p=" + ed
    # CNAME-delegated in the real zone; planted under the asked name here
    k["selector1._domainkey.example.net"] = "v=DKIM1; k=ed25519; p=" + ed
    k["selector2._domainkey.example.net"] = "v=DKIM1; k=rsa; p=" + rsa[2048]
    k["swapped._domainkey.example.com"] = "v=DKIM1; k=rsa; p=" + rsa[1024]
    k["revoked._domainkey.example.com"] = "v=DKIM1; k=rsa; p="
    k["malformed._domainkey.example.com"] = "v=DKIM1; k=rsa; p=@@@not base64@@@"
    k["testing._domainkey.example.com"] = "v=DKIM1; k=rsa; t=y; p=" + rsa[2048]
    k["strict._domainkey.example.com"] = "v=DKIM1; k=rsa; t=s; p=" + rsa[2048]
    k["sha1only._domainkey.example.com"] = "v=DKIM1; k=rsa; h=sha1; p=" + rsa[2048]
    return k


def write_keys_inc():
    with open(os.path.join(HERE, "dkim_keys.inc"), "w") as f:
        f.write("/* generated by gen_seeds.py from tests/dkim/dkim_corpus.py's zone */\n")
        for name, txt in sorted(key_records().items()):
            f.write('{ "%s",\n  "%s" },\n' % (name, txt))


def seeds_dkim(root):
    c = Corpus(root, "fuzz_dkim")
    for case in dkim_corpus.cases():
        c.add(case[1])
    for name, msg, _ in dkim_corpus.hostile_cases():
        if len(msg) <= MAX_SEED:
            c.add(msg)
    return c


def seeds_report_dest(root, sc):
    """rua=/ruf= values (from the scenarios' DMARC records and t_report's URI
    table), each alone and with an authorization record after a line break."""
    c = Corpus(root, "fuzz_report_dest")
    values = []
    for v in txt_values(sc["zone"]):
        for tag in re.findall(rb"\bru[af]=([^;]*)", v.encode() if isinstance(v, str) else v):
            values.append(tag.strip())
    for s in c_strings(os.path.join(TOP, "tests", "unit", "t_report.c")):
        if b"mailto:" in s or b"@" in s:
            values.append(s)
    values.append(b"mailto:a@ext.example!10m, mailto:b@reports.example.net,"
                  b" mailto:blocked@ext.example, mailto:c@sub.nobody.example, https://x.example/r")
    for v in values:
        c.add(v)
        c.add(v + b"\nv=DMARC1")
        c.add(v + b"\nv=DMARC1; rua=mailto:other@ext.example")
    return c


def main():
    root = sys.argv[1]
    docs = spf_suite()
    sc = scenarios()
    write_keys_inc()
    for c in (seeds_fromaddr(root, sc), seeds_dmarc(root, sc), seeds_spf(root, docs),
              seeds_macro(root, docs), seeds_authres(root), seeds_config(root), seeds_dns(root),
              seeds_dkim(root), seeds_report_dest(root, sc)):
        print("%-20s %d seeds" % (os.path.basename(c.dir), c.n))


if __name__ == "__main__":
    main()
