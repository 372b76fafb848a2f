#!/usr/bin/python3
"""arc_interop - ARC chains between authmilter and two independent peers.

Sealers: dkimpy (Debian python3-dkim, dkim.arc_sign), Mail::DKIM (Debian
libmail-dkim-perl, Mail::DKIM::ARC::Signer through arc_peers.pl) and
authmilter itself (test mode with ARCSign yes). Verifiers: dkim.arc_verify,
Mail::DKIM::ARC::Verifier and authmilter's test mode (arc=).

A message signed by its author (DKIM, example.com) passes through one to
three forwarders of the same sealer; each adds its Authentication-Results
(with the arc= its own verifier found), then, like a list, tags the subject
and appends a footer, then seals. Mixed chains go dkimpy -> Mail::DKIM
-> authmilter and dkimpy -> authmilter -> Mail::DKIM (authmilter verifies and
seals in one pass, so its hops after the first forward unchanged). Every chain must pass in all three verifiers; its tampered
variants (body changed after the last seal, the newest AS b= altered, set 1
removed) must fail in all three. Keys: tests/dkim/keys, served by
ldns-testns to authmilter and Mail::DKIM (Net::DNS pointed at its port) and
by a dnsfunc over the same zone to dkimpy. Only rsa-sha256: neither peer
in Debian 12 does ARC with ed25519-sha256 (dkimpy's arc_verify says
"unknown signature algorithm", Mail::DKIM 1.20230212 has no ed25519).

usage: arc_interop.py AUTHMILTER [--peers-only]
(--peers-only: dkimpy and Mail::DKIM against each other, to check the peers)
exit: 0 all passed, 1 a failure, 77 no arc= result (verifier not built in)
"""
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "dkim"))
import dkim  # noqa: E402
import dkim_corpus  # noqa: E402
import zonefile  # noqa: E402
from testns import TestNS  # noqa: E402

PERL = os.path.join(HERE, "arc_peers.pl")
KEYFILE = os.path.join(dkim_corpus.KEYS, "rsa2048.key")
# seals at T0 + 100 * hop, verified at T_VERIFY (-T); after the author's
# DKIM t= (dkim.sign takes the clock), so that signature is not "in the future"
T0 = int(time.time())
T_VERIFY = T0 + 3600
SIGN_HEADERS = ["from", "to", "subject", "date", "message-id"]
SEALERS = ("dkimpy", "Mail::DKIM", "authmilter")
VERIFIERS = ("dkimpy", "Mail::DKIM", "authmilter")

# the forwarders of each sealer: (srv-id and d=, selector)
HOPS = {
    "dkimpy": [("lists.example.org", "py1"), ("relay.example.net", "py2"),
               ("digest.example.org", "py3")],
    "Mail::DKIM": [("lists.perl.example", "pl1"), ("relay.perl.example", "pl2"),
                   ("digest.perl.example", "pl3")],
    "authmilter": [("lists.milter.example", "am1"), ("relay.milter.example", "am2"),
                   ("digest.milter.example", "am3")],
}


def key_txt():
    return "v=DKIM1; k=rsa; p=" + dkim_corpus.rsa_public("rsa2048")


def arc_zone():
    """the author's DKIM keys plus every sealer's selector"""
    zone = dkim_corpus.zone()
    txt = key_txt()
    for hops in HOPS.values():
        for domain, sel in hops:
            zone["%s._domainkey.%s" % (sel, domain)] = [("TXT", zonefile.txt_rdata(txt))]
    return zone


def author_message():
    msg = ("From: Alice <alice@example.com>\r\nTo: users@lists.example.org\r\n"
           "Subject: ARC interop\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
           "Message-ID: <interop@example.com>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/plain\r\n\r\nHello list,\r\n\r\nan interop message.\r\n").encode()
    sig = dkim.sign(msg, b"rsa2048", b"example.com", dkim_corpus.key("rsa2048"),
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return sig + msg


def split(msg):
    head, _, body = msg.partition(b"\r\n\r\n")
    return head + b"\r\n", body


def as_list(msg):
    """what a list does: a subject tag and a footer"""
    head, body = split(msg)
    head = re.sub(rb"(?im)^Subject: ", b"Subject: [list] ", head, count=1)
    return head + b"\r\n" + body + b"-- \r\nlist footer\r\n"


# --- the three verifiers -------------------------------------------------

class Verifiers:
    def __init__(self, binary, tmp, port, zone):
        self.binary, self.tmp, self.port = binary, tmp, port
        self.txt = {}
        for name, recs in zone.items():
            for rec in recs:
                if isinstance(rec, tuple) and rec[0] == "TXT":
                    value = rec[1]
                    self.txt[name.lower().rstrip(".")] = "".join(
                        re.findall(r'"((?:[^"\\]|\\.)*)"', value)).encode()
        self.conf = os.path.join(tmp, "verify.conf")
        write_conf(self.conf, port, "mx.receiver.test")

    def dnsfunc(self, name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return self.txt.get(name.lower().rstrip("."))

    def dkimpy(self, msg):
        try:
            cv, _, why = dkim.arc_verify(msg, dnsfunc=self.dnsfunc)
        except Exception as e:  # a peer's exception is its fail
            return "fail", "exception %s" % e
        return (cv.decode() if cv else "(no result)"), why

    def perl(self, msg):
        p = subprocess.run(["perl", PERL, "verify", str(self.port)], input=msg,
                           capture_output=True, timeout=60)
        out = p.stdout.decode("utf-8", "replace").strip()
        if p.returncode != 0 or not out:
            return "(error)", p.stderr.decode("utf-8", "replace")[-300:]
        result, _, detail = out.partition(" ")
        return result, detail

    def authmilter(self, msg):
        out, err = test_mode(self.binary, self.conf, self.tmp, msg, T_VERIFY)
        header = out[0] if out else ""
        m = re.search(r"[;\s]arc=(\w+)", header)
        return (m.group(1) if m else None), header or err

    def all(self, msg):
        out = {"dkimpy": self.dkimpy(msg), "Mail::DKIM": self.perl(msg)}
        if "authmilter" in VERIFIERS:
            out["authmilter"] = self.authmilter(msg)
        return out


def write_conf(path, port, authserv_id, extra=""):
    with open(path, "w") as f:
        f.write("Nameservers 127.0.0.1:%d\nDNSTimeout 2\nDNSRetries 0\nSPFHelo no\n"
                "AuthservID %s\n%s" % (port, authserv_id, extra))


def test_mode(binary, conf, tmp, msg, when):
    path = os.path.join(tmp, "msg.eml")
    with open(path, "wb") as f:
        f.write(msg)
    p = subprocess.run([binary, "-c", conf, "-t", path, "-i", "192.0.2.80", "-H",
                        "mx.forwarder.test", "-s", "bounce@forwarder.test", "-T", str(when)],
                       capture_output=True, timeout=60)
    return (p.stdout.decode("utf-8", "replace").splitlines(),
            "exit %d: %s" % (p.returncode, p.stderr.decode("utf-8", "replace")[-300:]))


# --- the three sealers ---------------------------------------------------

def hop_ar(srv_id, cv):
    return ("Authentication-Results: %s; arc=%s; dkim=pass header.d=example.com; "
            "spf=pass smtp.mailfrom=alice@example.com\r\n" % (srv_id, cv)).encode()


def seal_dkimpy(ver, msg, hop, n):
    domain, sel = hop
    cv = ver.dkimpy(msg)[0] if n > 1 else "none"
    msg = as_list(hop_ar(domain, cv) + msg)
    sets = dkim.arc_sign(msg, sel.encode(), domain.encode(), dkim_corpus.key("rsa2048"),
                         domain.encode(), timestamp=T0 + 100 * n,
                         include_headers=[h.encode() for h in SIGN_HEADERS])
    if not sets:
        raise RuntimeError("dkimpy sealed nothing at hop %d" % n)
    return b"".join(sets) + msg


def seal_perl(ver, msg, hop, n):
    domain, sel = hop
    cv = ver.perl(msg)[0] if n > 1 else "none"
    msg = as_list(hop_ar(domain, cv) + msg)
    p = subprocess.run(["perl", PERL, "seal", KEYFILE, domain, sel, domain, str(T0 + 100 * n),
                        ":".join(SIGN_HEADERS)], input=msg, capture_output=True, timeout=60)
    if p.returncode != 0 or not p.stdout:
        raise RuntimeError("Mail::DKIM sealed nothing at hop %d: %s" % (
            n, p.stderr.decode("utf-8", "replace")))
    sets = p.stdout.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if not sets.endswith(b"\r\n"):
        sets += b"\r\n"
    return sets + msg


def seal_authmilter(ver, msg, hop, n):
    """authmilter at a forwarder's MTA adds its A-R and its ARC set in the
    pass that verifies the chain. A change made before that pass breaks the
    newest AMS it verifies (a correct cv=fail), so only a first hop (no chain
    yet) tags and footers before it; later authmilter hops forward unchanged
    (the list hops of dkimpy and Mail::DKIM change the message)."""
    domain, sel = hop
    if n == 1:
        msg = as_list(msg)
    conf = os.path.join(ver.tmp, "seal.conf")
    write_conf(conf, ver.port, domain,
               "ARCSign yes\nARCSignDomain %s\nARCSignSelector %s\nARCSignKey %s\n"
               "ARCSignHeaders %s\n" % (domain, sel, KEYFILE, ":".join(SIGN_HEADERS)))
    out, err = test_mode(ver.binary, conf, ver.tmp, msg, T0 + 100 * n)
    fields = [line for line in out if not line.startswith("action=")]
    names = [f.split(":", 1)[0] for f in fields]
    if names[1:] != ["ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal"]:
        raise RuntimeError("authmilter sealed nothing at hop %d: %s %s" % (n, out, err))
    return "".join(f + "\r\n" for f in fields).encode() + msg


SEAL = {"dkimpy": seal_dkimpy, "Mail::DKIM": seal_perl, "authmilter": seal_authmilter}


# --- tampering -----------------------------------------------------------

def fields_of(msg):
    """raw header fields (folding kept) and the body"""
    head, body = split(msg)
    fields = re.findall(rb"[^ \t\r\n][^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*", head)
    return fields, body


def instance_of(field):
    name = field.split(b":", 1)[0].strip().lower()
    if name not in (b"arc-seal", b"arc-message-signature", b"arc-authentication-results"):
        return None
    m = re.search(rb"(?:^|[;:\s])i\s*=\s*(\d+)", field.split(b":", 1)[1])
    return int(m.group(1)) if m else None


def tamper_body(msg):
    return msg + b"one line added after the last seal\r\n"


def tamper_seal_b(msg):
    fields, body = fields_of(msg)
    seals = [(instance_of(f), k) for k, f in enumerate(fields)
             if f.lower().startswith(b"arc-seal:")]
    _, k = max(seals)
    f = fields[k]
    m = re.search(rb"[;:\s]b\s*=", f)
    pos, seen = m.end(), 0
    while seen < 20:
        if chr(f[pos]).isalnum():
            seen += 1
        pos += 1
    c = f[pos - 1:pos]
    fields[k] = f[:pos - 1] + (b"B" if c != b"B" else b"C") + f[pos:]
    return b"".join(fields) + b"\r\n" + body


def remove_set_1(msg):
    fields, body = fields_of(msg)
    return b"".join(f for f in fields if instance_of(f) != 1) + b"\r\n" + body


TAMPER = (("body changed", tamper_body, 1), ("AS b= altered", tamper_seal_b, 1),
          ("set 1 removed", remove_set_1, 2))


def main():
    global SEALERS, VERIFIERS
    binary = sys.argv[1]
    if "--peers-only" in sys.argv[2:]:
        SEALERS = VERIFIERS = ("dkimpy", "Mail::DKIM")
    zone = arc_zone()
    mixes = {"mixed py>pl>am": ("dkimpy", "Mail::DKIM", "authmilter"),
             "mixed py>am>pl": ("dkimpy", "authmilter", "Mail::DKIM")}
    if "authmilter" not in SEALERS:
        mixes = {"mixed py>pl": ("dkimpy", "Mail::DKIM")}
    rows = SEALERS + tuple(mixes)
    cells = {(s, v): [0, 0] for s in rows for v in VERIFIERS}
    fails = []
    with tempfile.TemporaryDirectory(prefix="authmilter-arc-interop-") as tmp, \
            TestNS(zonefile.datafile(zone)) as ns:
        ver = Verifiers(binary, tmp, ns.port, zone)
        probe = ver.authmilter(author_message()) if "authmilter" in VERIFIERS else ("-", "")
        if probe[0] is None:
            print("SKIP: %s writes no arc= result (the ARC verifier is not built in): %s" % (
                binary, probe[1][:200]))
            return 77

        def check(sealer, what, msg, want):
            for v, (got, why) in ver.all(msg).items():
                cells[(sealer, v)][1] += 1
                if got == want:
                    cells[(sealer, v)][0] += 1
                else:
                    fails.append("FAIL %s, %s: %s says %s, want %s (%s)" % (
                        sealer, what, v, got, want, str(why)[:300]))

        chains = []
        for sealer in SEALERS:
            msg = author_message()
            for n, hop in enumerate(HOPS[sealer], 1):
                try:
                    msg = SEAL[sealer](ver, msg, hop, n)
                except Exception as e:  # noqa: BLE001 - a sealer that cannot seal fails its row
                    fails.append("FAIL %s hop %d: %s" % (sealer, n, str(e)[:400]))
                    for v in VERIFIERS:
                        cells[(sealer, v)][1] += 1
                    break
                chains.append((sealer, n, msg))
        for row, order in mixes.items():
            mixed = author_message()
            try:
                for n, sealer in enumerate(order, 1):
                    mixed = SEAL[sealer](ver, mixed, HOPS[sealer][n - 1], n)
                    if n > 1:
                        chains.append((row, n, mixed))
            except Exception as e:  # noqa: BLE001
                fails.append("FAIL %s: %s" % (row, str(e)[:400]))
                for v in VERIFIERS:
                    cells[(row, v)][1] += 1
        for sealer, n, msg in chains:
            check(sealer, "%d hop(s)" % n, msg, "pass")
            for what, tamper, min_hops in TAMPER:
                if n >= min_hops:
                    check(sealer, "%d hop(s), %s" % (n, what), tamper(msg), "fail")
    for line in fails:
        print(line)
    print("sealer \\ verifier  " + "".join("%-12s" % v for v in VERIFIERS))
    for s in rows:
        print("%-18s " % s + "".join("%-12s" % ("%d/%d" % tuple(cells[(s, v)]))
                                      for v in VERIFIERS))
    passed = sum(p for p, _ in cells.values())
    failed = sum(t - p for p, t in cells.values())
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
