#!/usr/bin/python3
"""cve - the CVE-class regression cases of tests/cve/cases.yml through
authmilter's test mode, against one ldns-testns zone.

Each case names what it guards (an upstream CVE or issue, or this project's
From padding bypass). Header lines may hold generators, expanded before the
message is written:
  ${fws:N}      N bytes of folding white space (70 spaces, CRLF, repeated)
  ${spaces:N}   N spaces on one line        ${tabs:N}  N tabs
  ${x:N}        N letters                    ${commas:N} N commas
  ${comment:N}  a folded comment of about N bytes
  ${ewq:N}      RFC 2047 Q encoded words of about N bytes
  ${ewb:N}      RFC 2047 B encoded words of about N bytes
and a header item {text: ..., times: N} repeats a field. "\\0" in a YAML
double-quoted string is a NUL byte in the message file.
A case passes when the Authentication-Results line matches `expect`, does
not match `never` (by default: dmarc=pass for attacker.example), the action
matches `action` (a regular expression), and authmilter exited 0.

usage: cve.py AUTHMILTER_BINARY
"""
import base64
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
sys.path.insert(0, os.path.join(HERE, "..", "dmarc"))
import dkim_corpus  # noqa: E402
import scenarios  # noqa: E402
import zonefile  # noqa: E402
from testns import TestNS  # noqa: E402

NEVER = r"dmarc=pass[^;]*header\.from=attacker\.example"


def fws(n):
    unit = "\r\n" + " " * 70
    s = (unit * (n // len(unit) + 1))[:n]
    if s.endswith("\r"):
        s += "\n "
    elif s.endswith("\n"):
        s += " "
    return s


def comment(n):
    body = ("padding " * 8).strip()
    parts, size = [], 2
    while size < n:
        parts.append(body)
        size += len(body) + 3
    return "(" + "\r\n ".join(parts) + ")"


def encoded_words(n, b64):
    words, size = [], 0
    while size < n:
        if b64:
            w = "=?utf-8?b?%s?=" % base64.b64encode(("ceo@bank.example " * 2).encode()).decode()
        else:
            w = "=?utf-8?q?ceo=40bank.example_=22_?="
        words.append(w)
        size += len(w) + 3
    return "\r\n ".join(words)


GENERATORS = {
    "fws": fws,
    "spaces": lambda n: " " * n,
    "tabs": lambda n: "\t" * n,
    "x": lambda n: "x" * n,
    "commas": lambda n: "," * n,
    "comment": comment,
    "ewq": lambda n: encoded_words(n, False),
    "ewb": lambda n: encoded_words(n, True),
}


def expand(text):
    return re.sub(r"\$\{(\w+):(\d+)\}", lambda m: GENERATORS[m.group(1)](int(m.group(2))), text)


def build_message(case):
    headers = []
    for h in case.get("headers", []):
        if isinstance(h, dict):
            headers += [expand(h["text"])] * int(h["times"])
        else:
            headers.append(expand(h))
    headers += ["To: bob@example.org", "Subject: %s" % case["name"],
                "Date: Sun, 22 Nov 2026 10:00:00 +0000", "Message-ID: <cve@example.org>"]
    msg = ("\r\n".join(headers) + "\r\n\r\nCVE regression body.\r\n").encode("utf-8")
    d = case.get("dkim")
    if d:
        sig = dkim_corpus.dkim.sign(msg, d["selector"].encode(), d["domain"].encode(),
                                    dkim_corpus.key(d["key"]),
                                    include_headers=[b"from", b"to", b"subject", b"date"])
        msg = sig + msg
    return msg


def run_case(binary, tmp, port, case, now):
    conf = os.path.join(tmp, "authmilter.conf")
    with open(conf, "w") as f:
        f.write("Nameservers 127.0.0.1:%d\nDNSTimeout 1\nDNSRetries 0\nSPFHelo no\n"
                "AuthservID cve.test\n" % port)
        for line in case.get("conf", []):
            f.write(line + "\n")
    msg = os.path.join(tmp, "msg.eml")
    with open(msg, "wb") as f:
        f.write(build_message(case))
    args = [binary, "-c", conf, "-t", msg, "-i", case["ip"], "-H", case["helo"],
            "-s", case["mailfrom"]]
    if now is not None:
        args += ["-T", str(now)]
    try:
        p = subprocess.run(args, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return False, "(timed out after 60 s)", "?"
    out = p.stdout.decode("utf-8", "replace").splitlines()
    header = next((l for l in out if l.startswith("Authentication-Results: ")), "")
    action = out[-1].split("=", 1)[1] if out and out[-1].startswith("action=") else "?"
    never = case.get("never", NEVER)
    problems = []
    if p.returncode != 0:
        problems.append("exit status %d: %s" % (p.returncode, p.stderr.decode("utf-8", "replace")[-300:]))
    if not re.search(case["expect"], header):
        problems.append("want /%s/" % case["expect"])
    if never and re.search(never, header):
        problems.append("must not match /%s/" % never)
    if not re.fullmatch(case["action"], action):
        problems.append("want action=%s" % case["action"])
    return not problems, header, action, "; ".join(problems)


def main():
    binary = sys.argv[1]
    with open(os.path.join(HERE, "cases.yml"), encoding="utf-8") as f:
        data = yaml.safe_load(f)
    zone = scenarios.build_zone(data["zone"])
    # -T (contract 6) where the binary has it, so signing and evaluation share a clock
    usage = subprocess.run([binary, "-h"], capture_output=True).stdout + \
        subprocess.run([binary, "-h"], capture_output=True).stderr
    now = int(time.time()) if b"-T" in usage else None
    passed = failed = 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="authmilter-cve-") as tmp, \
            TestNS(zonefile.datafile(zone), forks=3) as ns:
        for case in data["cases"]:
            case = {**data["defaults"], **case}
            ok, header, action, why = run_case(binary, tmp, ns.port, case, now)
            dm = re.search(r"dmarc=\w+", header)
            rows.append((case["name"], dm.group(0) if dm else "-", action, "ok" if ok else "FAIL"))
            if ok:
                passed += 1
            else:
                failed += 1
                print("FAIL %s [%s]\n  got  %s\n  %s" % (case["name"], case.get("guards", ""),
                                                       header[:400], why[:400]))
    width = max(len(r[0]) for r in rows)
    for r in rows:
        print("%-*s  %-18s %-10s %s" % (width, r[0], r[1], r[2], r[3]))
    print("CVE cases: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
