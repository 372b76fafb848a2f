#!/usr/bin/python3
"""scenarios - run tests/dmarc/scenarios.yml through authmilter's test mode and
print the scenario table (name, dmarc result, action).

A case may carry "arc": the hops of a forwarder (a list) between the author
and us, each adding its own Authentication-Results, changing the message
(subject tag, footer) and sealing it with dkimpy's arc_sign, the real
signer; "after" changes the message once more unsealed (a broken chain).
Keys are served as [DKIMKEY, name] zone records. Cases marked needs_arc run
only when the binary writes arc= results (the ARC verifier is built in)."""
import os
import re
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "dkim"))
import dkim_corpus  # noqa: E402
import zonefile  # noqa: E402
from testns import TestNS  # noqa: E402


def build_zone(spec):
    zone = dkim_corpus.zone()
    for name, records in spec.items():
        out = []
        for rec in records:
            if isinstance(rec, str):
                out.append(rec)
            elif rec[0] == "TXT":
                out.append(("TXT", zonefile.txt_rdata(rec[1])))
            elif rec[0] == "DKIMKEY":
                out.append(("TXT", zonefile.txt_rdata(
                    "v=DKIM1; k=rsa; p=" + dkim_corpus.rsa_public(rec[1]))))
            else:
                out.append((rec[0], str(rec[1])))
        zone[name] = out
    return zone


def build_message(case):
    headers = (["From: %s" % case["from"]] if case.get("from") is not None else []) + \
        case.get("headers", []) + [
        "To: bob@example.org", "Subject: %s" % case["name"],
        "Date: Sun, 22 Nov 2026 10:00:00 +0000", "Message-ID: <scenario@example.org>"]
    msg = ("\r\n".join(headers) + "\r\n\r\nScenario body.\r\n").encode()
    d = case.get("dkim")
    if d:
        sig = dkim_corpus.dkim.sign(msg, d["selector"].encode(), d["domain"].encode(),
                                    dkim_corpus.key(d["key"]),
                                    signature_algorithm=d.get("alg", "rsa-sha256").encode(),
                                    include_headers=[b"from", b"to", b"subject", b"date"])
        msg = sig + msg
    for hop in case.get("arc", []):
        msg = arc_hop(msg, hop)
    return msg


def change(msg, how):
    """change - what a list does: a subject tag and a footer"""
    head, body = msg.split(b"\r\n\r\n", 1)
    if how.get("tag"):
        head = head.replace(b"\r\nSubject: ", b"\r\nSubject: [%s] " % how["tag"].encode(), 1)
    if how.get("footer"):
        body += how["footer"].encode() + b"\r\n"
    return head + b"\r\n\r\n" + body


def arc_hop(msg, hop):
    """arc_hop - one forwarder: its A-R of what it saw, its change, its seal"""
    srv_id = hop["srv_id"]
    msg = ("Authentication-Results: %s; %s\r\n" % (srv_id, hop["results"])).encode() + msg
    msg = change(msg, hop)
    sets = dkim_corpus.dkim.arc_sign(
        msg, hop["selector"].encode(), hop["domain"].encode(), dkim_corpus.key(hop["key"]),
        srv_id.encode(), timestamp=int(time.time()),
        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    if not sets:
        raise RuntimeError("arc_sign made no set for hop %r" % hop)
    msg = b"".join(sets) + msg
    return change(msg, hop.get("after", {}))


def main():
    binary = sys.argv[1]
    with open(os.path.join(HERE, "scenarios.yml"), encoding="utf-8") as f:
        data = yaml.safe_load(f)
    passed = failed = skipped = 0
    arc_built = None        # learnt from the first needs_arc case
    table = []
    with tempfile.TemporaryDirectory(prefix="authmilter-dmarc-") as tmp, \
            TestNS(zonefile.datafile(build_zone(data["zone"])), forks=3) as ns:
        for case in data["scenarios"]:
            case = {**data["defaults"], **case}
            files = {}
            for fname, content in case.get("files", {}).items():
                files[fname] = os.path.join(tmp, fname)
                with open(files[fname], "w") as f:
                    f.write(content)
            conf = os.path.join(tmp, "authmilter.conf")
            with open(conf, "w") as f:
                f.write("Nameservers 127.0.0.1:%d\nDNSTimeout 1\nDNSRetries 0\nSPFHelo no\n"
                        "AuthservID scenario.test\n" % ns.port)
                for line in case.get("conf", []):
                    f.write(line.format(**files) + "\n")
            msg = os.path.join(tmp, "msg.eml")
            with open(msg, "wb") as f:
                f.write(build_message(case))
            args = [binary, "-c", conf, "-t", msg, "-i", case["ip"], "-H", case["helo"],
                    "-s", case["mailfrom"]]
            if case.get("auth"):
                args += ["-a", case["auth"]]
            p = subprocess.run(args, capture_output=True, timeout=60)
            out = p.stdout.decode("utf-8", "replace").splitlines()
            header = out[0] if out else ""
            if case.get("needs_arc"):
                if arc_built is None:
                    arc_built = re.search(r"; arc=", header) is not None
                if not arc_built:
                    skipped += 1
                    table.append((case["name"], "(skip: no ARC)", "-"))
                    continue
            action = out[-1].split("=", 1)[1] if out and out[-1].startswith("action=") else "?"
            dmarc = re.search(r"dmarc=.*$", header)
            dmarc_text = dmarc.group(0) if dmarc else ""
            ok = (p.returncode == 0
                  and re.search(case["expect"], dmarc_text if dmarc else header) is not None
                  and re.search(case.get("header", ""), header) is not None
                  and action == case["action"])
            table.append((case["name"], dmarc_text.split(" ")[0] if dmarc else "(none)", action))
            if ok:
                passed += 1
            else:
                failed += 1
                print("FAIL %s\n  want %r %r, action %s\n  got  %s\n  %s\n  %s" % (
                    case["name"], case["expect"], case.get("header", ""), case["action"], header,
                    out[-1] if out else "", p.stderr.decode("utf-8", "replace")[-500:]))
    width = max(len(t[0]) for t in table)
    for name, result, action in table:
        print("%-*s  %-16s %s" % (width, name, result, action))
    print("DMARC scenarios: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
