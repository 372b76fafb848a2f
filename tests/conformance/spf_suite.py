#!/usr/bin/env python3
"""spf_suite - run the RFC 7208 test suite through authmilter's test mode.

Each scenario's zonedata becomes an ldns-testns datafile (tests/lib/zonefile);
each test runs `authmilter -t` with the test's client IP, HELO and MAIL FROM
and compares the spf= result of the checked identity, and for fail results
the explanation (taken from the SMTP reply test mode prints on stderr).
Conventions of the suite's drivers: SPF (type 99) records are copied to TXT
unless the name has TXT records or "TXT: NONE"; TIMEOUT answers every type the
name has no records of with a temporary failure.
"""

import os
import re
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from testns import TestNS  # noqa: E402
import zonefile  # noqa: E402


def zone_from_yaml(zonedata):
    zone = {}
    for name, records in (zonedata or {}).items():
        out, spf, has_txt = [], [], False
        for rec in records or []:
            if rec == "TIMEOUT":
                out.append("TIMEOUT")
                continue
            (rtype, value), = rec.items()
            if rtype == "TXT" and value == "NONE":
                has_txt = True
                continue
            if rtype in ("TXT", "SPF"):
                if value == [] or value is None:
                    continue  # a TXT with no strings cannot be written; the suite only asks for no crash
                if rtype == "SPF":
                    spf.append(value)
                    continue
                has_txt = True
                out.append(("TXT", zonefile.txt_rdata(value)))
            elif rtype == "MX":
                out.append(("MX", "%d %s." % (value[0], value[1].rstrip("."))))
            elif rtype in ("PTR", "CNAME"):
                out.append((rtype, value.rstrip(".") + "."))
            else:
                out.append((rtype, str(value)))
        if not has_txt:
            out.extend(("TXT", zonefile.txt_rdata(v)) for v in spf)
        zone[name] = out
    return zone


def run_test(binary, conf, message, test):
    args = [binary, "-c", conf, "-t", message, "-i", str(test["host"]),
            "-H", str(test.get("helo", "")), "-s", str(test.get("mailfrom", ""))]
    p = subprocess.run(args, capture_output=True, timeout=60)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    m = re.search(r"\bspf=(\w+)", out)
    result = m.group(1) if m else "(no spf result; exit %d: %s)" % (p.returncode, err.strip())
    # test mode exits 0 whenever evaluation ran: anything else (a crash or a
    # sanitizer report after the output was written) fails the test
    if p.returncode != 0:
        result = "(exit %d after spf=%s: %s)" % (p.returncode, result, err.strip()[-300:])
    m = re.search(r"reply: 550 5\.7\.23 SPF check failed for [^:]*: (.*)", err)
    explanation = m.group(1).strip() if m else None
    return result, explanation


def main():
    binary, suite = sys.argv[1], sys.argv[2]
    only = sys.argv[3] if len(sys.argv) > 3 else None
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        message = os.path.join(tmp, "msg.eml")
        with open(message, "w") as f:
            f.write("From: test@example.com\nSubject: SPF suite\n\nbody\n")
        with open(suite, encoding="utf-8") as f:
            scenarios = list(yaml.safe_load_all(f))
        for scenario in scenarios:
            zone = zone_from_yaml(scenario.get("zonedata"))
            with TestNS(zonefile.datafile(zone)) as ns:
                conf = os.path.join(tmp, "authmilter.conf")
                with open(conf, "w") as f:
                    f.write("Nameservers 127.0.0.1:%d\nDNSTimeout 2\nDNSRetries 0\n"
                            "SPFHelo no\nSPFRejectFail yes\nAuthservID suite.test\n"
                            "DNSCacheSize 0\n" % ns.port)
                for name, test in scenario["tests"].items():
                    if only and name != only:
                        continue
                    want = test["result"]
                    want = want if isinstance(want, list) else [want]
                    got, explanation = run_test(binary, conf, message, test)
                    ok = got in want
                    exp_want = test.get("explanation")
                    if ok and got == "fail" and exp_want and exp_want != "DEFAULT":
                        ok = explanation == exp_want
                    if ok:
                        passed += 1
                    else:
                        failed += 1
                        print("FAIL %s: want %s%s, got %s%s" % (
                            name, "/".join(want),
                            " (%s)" % exp_want if exp_want else "", got,
                            " (%s)" % explanation if explanation else ""))
    print("RFC 7208 suite: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
