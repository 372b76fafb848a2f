#!/usr/bin/python3
"""history - the DNS datafile and the messages of tests/history/history.sh.

usage: history.py DIR   writes DIR/zone.data and DIR/NAME.eml for each case

Domains: reject.example (p=reject, every report tag published), none.example
(p=none with sp=, np=, adkim=s, t=y), nodmarc.example (no record: no row).
example.com's DKIM keys are the DKIM corpus's (real dkimpy signatures).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "dkim"))
import zonefile  # noqa: E402
from dkim_corpus import zone as dkim_zone, sign  # noqa: E402


WHEN = 1764900000          # test mode's -T
SIGNED = WHEN - 60


def txt(text):
    return [("TXT", zonefile.txt_rdata(text))]


def zone():
    z = dkim_zone()
    z.update({
        "reject.example": txt("v=spf1 ip4:192.0.2.1 ip4:127.0.0.1 -all"),
        "_dmarc.reject.example": txt("v=DMARC1; p=reject; rua=mailto:agg@reject.example;"
                                     " ruf=mailto:fail@reject.example; fo=0:d:s; pct=50"),
        "none.example": txt("v=spf1 ip4:192.0.2.2 ~all"),
        "_dmarc.none.example": txt("v=DMARC1; p=none; sp=quarantine; np=reject; adkim=s; t=y"),
        "nodmarc.example": txt("v=spf1 ip4:192.0.2.3 -all"),
        "example.com": txt("v=spf1 -all"),
        "_dmarc.example.com": txt("v=DMARC1; p=quarantine; ruf=mailto:f@example.com"),
    })
    return z


def message(name, domain, body="Hello.\r\n"):
    return ("From: Alice <alice@%s>\r\n"
            "To: Bob <bob@example.org>\r\n"
            "Subject: history %s\r\n"
            "Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n"
            "Message-ID: <%s@%s>\r\n"
            "\r\n%s" % (domain, name, name, domain, body)).encode()


def bighdr(cap=102400):
    """A reject.example failure whose header section passes MaxHeaderBytes
    (cap) by way of one folded field that the session's count takes (name +
    value + 4, a fold's LF one byte) but that grows by a CR per folding LF in
    the copy kept for a failure report, then more fields past the cap."""
    head = message("bighdr", "reject.example").split(b"\r\n\r\n", 1)[0]
    fields = [f.split(b":", 1) for f in head.split(b"\r\n")]
    fields += [[b"X-Pad", b" " + b"p" * 900]] * ((cap - 2000) // 910)
    counted = sum(len(n) + len(v) + 4 for n, v in fields)
    folds = (cap - counted - len(b"X-Fold") - 4 - 2) // 3  # " a", then "\n a" each
    fields.append([b"X-Fold", b" a" + b"\n a" * folds])
    fields += [[b"X-Pad", b" " + b"p" * 900]] * 40
    return b"".join(n + b":" + v.replace(b"\n", b"\r\n") + b"\r\n"
                    for n, v in fields) + b"\r\nBody.\r\n"


def cases():
    return {
        "bighdr": bighdr(),
        # a list's copy of a reject.example failure (DMARCListAction quarantine)
        "list": message("list", "reject.example").replace(
            b"\r\n\r\n", b"\r\nList-Id: <l.lists.example>\r\n\r\n", 1),
        "pass": message("pass", "reject.example"),
        "fail": message("fail", "reject.example", "A body line.\r\nAnother.\r\n"),
        "none": message("none", "none.example"),
        "nodmarc": message("nodmarc", "nodmarc.example"),
        # two signatures: one good, one from a revoked key
        "dkim": sign(sign(message("dkim", "example.com"), "revoked", "rsa2048", clock=SIGNED),
                     "rsa2048", "rsa2048", clock=SIGNED),
    }


def main():
    out = sys.argv[1]
    with open(os.path.join(out, "zone.data"), "w") as f:
        f.write(zonefile.datafile(zone()))
    for name, data in cases().items():
        with open(os.path.join(out, name + ".eml"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
