#!/usr/bin/python3
"""arc_e2e - the zone and messages of tests/e2e/arc.sh.

  arc_e2e.py zone                 the ldns-testns datafile
  arc_e2e.py message SEALER SUBJ  a message from example.com (p=reject),
                                  signed by example.com with dkimpy, then
                                  passed through a list at SEALER: its A-R,
                                  a subject tag and a footer, and its ARC
                                  set made by dkimpy's arc_sign
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "dkim"))
import dkim_corpus  # noqa: E402
import zonefile  # noqa: E402


def txt(text):
    return [("TXT", zonefile.txt_rdata(text))]


def zone():
    z = dkim_corpus.zone()
    key = "v=DKIM1; k=rsa; p=" + dkim_corpus.rsa_public("rsa2048")
    z.update({
        "example.com": txt("v=spf1 ip4:192.0.2.0/24 -all"),
        "_dmarc.example.com": txt("v=DMARC1; p=reject"),
        "lists.example.org": txt("v=spf1 ip4:127.0.0.0/8 -all"),
        "untrusted.example": txt("v=spf1 ip4:127.0.0.0/8 -all"),
        "arc._domainkey.lists.example.org": txt(key),
        "arc._domainkey.untrusted.example": txt(key),
    })
    return zonefile.datafile(z)


def message(sealer, subject):
    msg = ("From: Alice <alice@example.com>\r\nTo: user@e2e.test\r\nSubject: %s\r\n"
           "Date: Wed, 02 Dec 2026 10:00:00 +0000\r\nMessage-ID: <%s@example.com>\r\n\r\n"
           "Hello list.\r\n" % (subject, subject)).encode()
    msg = dkim_corpus.dkim.sign(msg, b"rsa2048", b"example.com", dkim_corpus.key("rsa2048"),
                                include_headers=[b"from", b"to", b"subject", b"date"]) + msg
    # the list: what it saw, then its changes, then its seal
    msg = ("Authentication-Results: %s; dkim=pass header.d=example.com header.s=rsa2048;"
           " spf=pass smtp.mailfrom=alice@example.com; dmarc=pass header.from=example.com\r\n"
           % sealer).encode() + msg
    msg = msg.replace(b"\r\nSubject: ", b"\r\nSubject: [list] ", 1) + b"-- \r\nlist footer\r\n"
    sets = dkim_corpus.dkim.arc_sign(msg, b"arc", sealer.encode(), dkim_corpus.key("rsa2048"),
                                     sealer.encode(), timestamp=int(time.time()),
                                     include_headers=[b"from", b"to", b"subject", b"date",
                                                      b"message-id"])
    if not sets:
        sys.exit("arc_sign made no ARC set")
    return b"".join(sets) + msg


if __name__ == "__main__":
    if sys.argv[1] == "zone":
        sys.stdout.write(zone())
    else:
        sys.stdout.buffer.write(message(sys.argv[2], sys.argv[3]))
