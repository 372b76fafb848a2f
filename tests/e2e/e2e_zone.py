#!/usr/bin/python3
"""e2e_zone - the ldns-testns datafile for tests/e2e/postfix.sh: SPF records
for the test senders (the client is 127.0.0.1) and the DKIM corpus's keys."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "dkim"))
import zonefile  # noqa: E402
from dkim_corpus import zone as dkim_zone  # noqa: E402


def txt(text):
    return [("TXT", zonefile.txt_rdata(text))]


zone = dkim_zone()
zone.update({
    "pass.example": txt("v=spf1 ip4:127.0.0.0/8 -all"),
    "fail.example": txt("v=spf1 ip4:192.0.2.0/24 -all exp=why.fail.example"),
    "why.fail.example": txt("%{i} may not send for %{d}"),
    "soft.example": txt("v=spf1 ~all"),
    "example.net": txt("v=spf1 ip4:127.0.0.1 -all"),
    "_dmarc.reject.example": txt("v=DMARC1; p=reject"),
    "_dmarc.quarantine.example": txt("v=DMARC1; p=quarantine"),
})
sys.stdout.write(zonefile.datafile(zone))
