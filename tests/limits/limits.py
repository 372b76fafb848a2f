#!/usr/bin/python3
"""limits - every limit on the message path, tested below, at and above it
through test mode: a limit gives an error result, never a shorter value that
means something else (issue 8). One case a row; adding one adds no code."""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "dkim"))
import dkim_corpus  # noqa: E402
import zonefile  # noqa: E402
from testns import TestNS  # noqa: E402

SPF_OK = "v=spf1 ip4:192.0.2.0/24 -all"
BUDGET = 102400
FIELD_OVERHEAD = 4          # what session.c charges per field besides name and value


def zone():
    z = dkim_corpus.zone()
    txt = lambda t: [("TXT", zonefile.txt_rdata(t))]  # noqa: E731
    z.update({
        "attacker.example": txt(SPF_OK),
        "_dmarc.attacker.example": txt("v=DMARC1; p=none"),
        "_dmarc.bank.example": txt("v=DMARC1; p=reject"),
        "example.com": txt(SPF_OK),
        "_dmarc.example.com": txt("v=DMARC1; p=reject"),
        "many.example": txt("v=spf1 " + "ip4:198.51.100.1 " * 299 + "ip4:192.0.2.0/24 -all"),
        "macro.example": txt("v=spf1 exists:%{l1-}.m.macro.example -all"),
        "last.m.macro.example": [("A", "127.0.0.2")],
    })
    for i in range(40):
        z["d%d.attacker.example" % i] = txt(SPF_OK)
    return z


def message(fields, body=b"Limits body.\r\n"):
    """fields: list of (name, value) where value starts after the colon"""
    head = b"".join(n.encode() + b":" + v + b"\r\n" for n, v in fields)
    return head + b"\r\n" + body


def cost(fields):
    """What the header budget is charged: test mode joins folded lines with LF."""
    return sum(len(n) + len(v.replace(b"\r\n", b"\n")) + FIELD_OVERHEAD for n, v in fields)


def padded_from(total, address=b" a@attacker.example"):
    """A From field padded with spaces so that the header section costs total bytes."""
    rest = [("Subject", b" limits")]
    pad = total - cost([("From", address)] + rest)
    return message(rest + [("From", address + b" " * pad)])


def signed(extra_fields=(), after=()):
    """example.com signed by the real signer; extra fields are unsigned additions."""
    msg = dkim_corpus.message("limits")
    msg = dkim_corpus.sign(msg, "rsa2048", "rsa2048")
    head, body = msg.split(b"\r\n\r\n", 1)
    fields = b"".join(n.encode() + b":" + v + b"\r\n" for n, v in extra_fields)
    tail = b"".join(n.encode() + b":" + v + b"\r\n" for n, v in after)
    return fields + head + b"\r\n" + tail + b"\r\n" + body


FUTURE = 1900000000        # 2030: a signature made then is "in the future" today


def signed_at(clock):
    msg = dkim_corpus.message("clock")
    return dkim_corpus.sign(msg, "rsa2048", "rsa2048", clock=clock)


def junk_sigs(n):
    return [("DKIM-Signature", b" v=1; a=rsa-sha256; d=attacker.example; s=s%d; c=relaxed;"
             b" h=from; bh=AAAA; b=junk%dxyz" % (i, i)) for i in range(n)]


def mailboxes(n, start=0):
    return b",".join(b" u@d%d.attacker.example" % i for i in range(start, start + n))


CASES = [
    # MaxHeaderBytes: the budget of the header section, read whole within it
    dict(name="header budget: below", conf=["MaxHeaderBytes %d" % BUDGET],
         msg=padded_from(BUDGET - 1), expect=r"dmarc=pass .* header.from=attacker.example$"),
    dict(name="header budget: at", conf=["MaxHeaderBytes %d" % BUDGET],
         msg=padded_from(BUDGET), expect=r"dmarc=pass .* header.from=attacker.example$"),
    dict(name="header budget: above -> permerror", conf=["MaxHeaderBytes %d" % BUDGET],
         msg=padded_from(BUDGET + 1), expect=r"dmarc=permerror \(From field over MaxHeaderBytes\)",
         action="reject"),
    dict(name="header budget: From after a field that spent it", conf=["MaxHeaderBytes %d" % BUDGET],
         msg=message([("X-Pad", b" " + b"y" * BUDGET), ("From", b" a@attacker.example")]),
         expect=r"dmarc=permerror \(From field over MaxHeaderBytes\)", action="reject"),
    dict(name="header budget: a field past it, no From after", conf=["MaxHeaderBytes %d" % BUDGET],
         msg=message([("From", b" a@attacker.example"), ("X-Pad", b" " + b"y" * BUDGET)]),
         expect=r"dmarc=pass .* header.from=attacker.example$"),
    dict(name="default budget: 100 KB From (Postfix's limit) read whole",
         msg=message([("From", b" a@attacker.example," + b"\r\n " * 50000 + b"ceo@bank.example")]),
         expect=r"dmarc=permerror \(several From domains\)", action="reject"),
    dict(name="default budget: 1.1 MB field, then From",
         msg=message([("X-Pad", b" " + b"y" * 1100000), ("From", b" a@attacker.example")]),
         expect=r"dmarc=permerror \(From field over MaxHeaderBytes\)", action="reject"),
    # NUL bytes: an error, not an end
    dict(name="NUL in From", msg=message([("From", b" x@attacker.example\0, ceo@bank.example")]),
         expect=r"dmarc=permerror \(NUL byte in From field\)", action="reject"),
    dict(name="signed message, control", msg=signed(), ip="198.51.100.9",
         expect=r"dkim=pass .*header.d=example.com.*dmarc=pass", whole=True),
    dict(name="signed message, NUL in an unsigned field", ip="198.51.100.9",
         msg=signed([("X-Junk", b" a\0b")]),
         expect=r"dkim=permerror \(NUL byte in a header field[;)].*dmarc=fail", whole=True,
         action="reject"),
    dict(name="signed message, header budget spent after the signature", ip="198.51.100.9",
         conf=["MaxHeaderBytes %d" % BUDGET], msg=signed(after=[("X-Pad", b" " + b"y" * BUDGET)]),
         expect=r"dkim=permerror \(header section over MaxHeaderBytes\).*dmarc=fail", whole=True,
         action="reject"),
    dict(name="signed message, signature itself past the budget", ip="198.51.100.9",
         conf=["MaxHeaderBytes %d" % BUDGET],
         msg=signed([("X-Pad", b" " + b"y" * BUDGET)]),
         expect=r"dkim=permerror \(header section over MaxHeaderBytes; 1 signatures not evaluated\)",
         whole=True, action="reject"),
    # obsolete syntax: white space before the colon is the same field
    dict(name="'From :' is a second From field",
         msg=message([("From", b" a@attacker.example"), ("From ", b" ceo@bank.example")]),
         expect=r"dmarc=permerror \(several From domains\)", action="reject"),
    # From fields (SESSION_MAX_FROM 8) and From domains (FROMADDR_MAX 32)
    dict(name="8 From fields, one domain", msg=message([("From", b" a@attacker.example")] * 8),
         expect=r"dmarc=pass .* header.from=attacker.example$"),
    dict(name="9 From fields -> permerror", msg=message([("From", b" a@attacker.example")] * 9),
         expect=r"dmarc=permerror \(too many From header fields\)", action="reject"),
    dict(name="32 From domains in one field, strictest", conf=["DMARCMultiFrom evaluate-strictest"],
         msg=message([("From", mailboxes(32))]), expect=r"dmarc=pass .*header.from=d0.attacker.example"),
    dict(name="33 From domains in one field -> permerror", conf=["DMARCMultiFrom evaluate-strictest"],
         msg=message([("From", mailboxes(33))]),
         expect=r"dmarc=permerror \(too many addresses in From\)", action="reject"),
    dict(name="32 From domains over two fields", conf=["DMARCMultiFrom evaluate-strictest"],
         msg=message([("From", mailboxes(16)), ("From", mailboxes(16, 16))]),
         expect=r"dmarc=pass .*header.from=d0.attacker.example"),
    dict(name="33 From domains over two fields -> permerror", conf=["DMARCMultiFrom evaluate-strictest"],
         msg=message([("From", mailboxes(16)), ("From", mailboxes(17, 16))]),
         expect=r"dmarc=permerror \(too many From domains\)", action="reject"),
    # Our header is always written, and bounded
    dict(name="1000 signatures, DKIMMaxSignatures 1000: header bounded", conf=["DKIMMaxSignatures 1000"],
         msg=message(junk_sigs(1000) + [("From", b" a@attacker.example")]),
         expect=r"more signatures not shown.*dmarc=pass", whole=True, max_len=32768),
    dict(name="12 signatures, default max 10", msg=message(junk_sigs(12) + [("From", b" a@attacker.example")]),
         expect=r"2 more signatures not evaluated\).*dmarc=pass", whole=True),
    # SPF: terms bounded by size, macros keep every part, envelope kept whole
    dict(name="SPF record of 300 terms", mailfrom="a@many.example",
         msg=message([("From", b" a@attacker.example")]),
         expect=r"spf=pass \(many.example matched ip4:192.0.2.0/24\)", whole=True),
    dict(name="SPF macro over 200 local-part parts", mailfrom="-".join("p%d" % i for i in range(200)) + "-last@macro.example",
         msg=message([("From", b" a@attacker.example")]), expect=r"spf=pass \(macro.example matched exists", whole=True),
    dict(name="MAIL FROM over 1024 bytes is not shortened", mailfrom="x" * 1100 + "@attacker.example",
         msg=message([("From", b" a@attacker.example")]),
         expect=r"spf=pass \(attacker.example matched ip4:192.0.2.0/24\)", whole=True),
    dict(name="HELO over 512 bytes is not shortened", helo="h" * 600 + ".example",
         msg=message([("From", b" a@attacker.example")]),
         expect=r"spf=none \(\"h{100}\" is not a valid domain\) smtp.helo=h{600}.example", whole=True),
]


# Test mode -T (DESIGN.md contract 6): the time of evaluation for DKIM t= and x=
CASES += [
    dict(name="-T: a signature from 2030 fails on today's clock", ip="198.51.100.9",
         msg=signed_at(FUTURE), expect=r"dkim=fail .*header.d=example.com", whole=True, action="reject"),
    dict(name="-T: the same signature passes at its own time", ip="198.51.100.9", when=FUTURE + 100,
         msg=signed_at(FUTURE), expect=r"dkim=pass .*header.d=example.com.*dmarc=pass", whole=True),
]


def run(binary, tmp, port, case):
    conf = os.path.join(tmp, "authmilter.conf")
    with open(conf, "w") as f:
        f.write("Nameservers 127.0.0.1:%d\nDNSTimeout 2\nDNSRetries 0\nAuthservID limits.test\n" % port)
        for line in case.get("conf", []):
            f.write(line + "\n")
    path = os.path.join(tmp, "msg.eml")
    with open(path, "wb") as f:
        f.write(case["msg"])
    args = [binary, "-c", conf, "-t", path, "-i", case.get("ip", "192.0.2.1"),
            "-H", case.get("helo", "mx.attacker.example"), "-s", case.get("mailfrom", "a@attacker.example")]
    if "when" in case:
        args += ["-T", str(case["when"])]
    p = subprocess.run(args, capture_output=True, timeout=120)
    out = p.stdout.decode("utf-8", "replace").splitlines()
    header = out[0] if out and out[0].startswith("Authentication-Results: ") else ""
    action = out[-1].split("=", 1)[1] if out and out[-1].startswith("action=") else "?"
    text = header if case.get("whole") else (re.search(r"dmarc=.*$", header) or [""])[0]
    problems = []
    if p.returncode != 0:
        problems.append("exit status %d: %s" % (p.returncode, p.stderr.decode(errors="replace")[-300:]))
    if re.search(case["expect"], text) is None:
        problems.append("want %r" % case["expect"])
    if action != case.get("action", "accept"):
        problems.append("want action %s, got %s" % (case.get("action", "accept"), action))
    value = header[len("Authentication-Results: "):]
    if "max_len" in case and len(value) > case["max_len"]:
        problems.append("header of %d bytes, over %d" % (len(value), case["max_len"]))
    return problems, header, action


def main():
    binary = sys.argv[1]
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="authmilter-limits-") as tmp, \
            TestNS(zonefile.datafile(zone()), forks=3) as ns:
        for case in CASES:
            problems, header, action = run(binary, tmp, ns.port, case)
            if problems:
                failed += 1
                shown = header if len(header) < 2000 else header[:1000] + " ... " + header[-600:]
                print("FAIL - %s\n  %s\n  got (%d bytes) %s\n  action=%s" % (
                    case["name"], "\n  ".join(problems), len(header), shown, action))
            else:
                passed += 1
                print("ok - %s" % case["name"])
    print("limits: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
