#!/usr/bin/python3
"""arc_suite - run ValiMail's ARC test suite (draft-18) through authmilter.

Validation scenarios: each message goes through test mode (`authmilter -t`)
at a fixed time after every signature (-T), the scenario's txt-records served
by ldns-testns; the arc= result of our Authentication-Results must be the
test's cv. Signing scenarios: each message goes through
tests/conformance/arc_sealtool (the sealer's own lib calls) with the suite's
domain, selector, key, t, srv-id and the results of the message's
Authentication-Results of that srv-id; the AAR, AMS and AS it prints must
equal the expected ones tag by tag after unfolding (b= too: rsa-sha256 is
deterministic PKCS#1 v1.5).

The suite was written against draft-ietf-dmarc-arc-protocol-18. Where
RFC 8617 says otherwise the RFC wins: DEVIATIONS lists those tests with the
section and the result we expect instead.

usage: arc_suite.py AUTHMILTER SEALTOOL VALIDATION_YML SIGN_YML [TEST_NAME]
exit: 0 all passed, 1 a failure, 77 the binary writes no arc= result at all
(the ARC verifier is not built in yet).
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

# The time of evaluation: after every t= of the suite (12345..12349), and
# fixed, so a run never depends on the clock.
EVAL_TIME = 1700000000
CLIENT_IP = "192.0.2.25"

# test name -> (results RFC 8617 asks for, section, why the suite differs)
DEVIATIONS = {
    "cv_fail_i1_as_cv_fail": (
        ("fail",), "RFC 8617 5.2 step 2",
        "the newest AS says cv=fail: the chain is fail (draft-18: no result, chain ended)"),
    "cv_fail_i2_as2_fail": (
        ("fail",), "RFC 8617 5.2 step 2",
        "the newest AS says cv=fail: the chain is fail (draft-18: no result, chain ended)"),
    "cv_fail_i2_as1_fail": (
        ("fail",), "RFC 8617 5.2 step 3",
        "AS i=1 must say cv=none; a cv=fail anywhere is fail (draft-18: no result)"),
    "ams_fields_c_na": (
        ("fail",), "RFC 8617 4.1.2, RFC 6376 3.5",
        "the AMS has DKIM-Signature semantics, so no c= means simple/simple; the suite "
        "signed relaxed (dkimpy's ARC default) and expects pass. Mail::DKIM says fail too"),
}


def crlf(text):
    """The suite's messages as they arrive over SMTP: CRLF line ends."""
    return (text or "").replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def zone_from(records):
    """txt-records -> zonefile dict; the suite folds long p= values with
    newlines, which are no part of the record."""
    return {name: [("TXT", zonefile.txt_rdata(re.sub(r"\s*\n\s*", "", value)))]
            for name, value in (records or {}).items()}


def write_conf(path, port):
    with open(path, "w") as f:
        f.write("Nameservers 127.0.0.1:%d\nDNSTimeout 2\nDNSRetries 0\nSPFHelo no\n"
                "AuthservID arcsuite.test\nDNSCacheSize 0\n" % port)


def arc_result(binary, conf, msgfile):
    """arc= of test mode's Authentication-Results (or a text saying why none)"""
    args = [binary, "-c", conf, "-t", msgfile, "-i", CLIENT_IP, "-H", "mx.example.net",
            "-s", "sender@example.net", "-T", str(EVAL_TIME)]
    try:
        p = subprocess.run(args, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return None, "(timeout)"
    out = p.stdout.decode("utf-8", "replace").splitlines()
    err = p.stderr.decode("utf-8", "replace").strip()
    header = out[0] if out else ""
    m = re.search(r"[;\s]arc=(\w+)", header)
    if p.returncode != 0:
        return None, "(exit %d: %s)" % (p.returncode, err[-300:])
    if not m:
        return None, "(no arc= result: %s)" % header[:200]
    return m.group(1).lower(), header


GOT = {}     # test name -> arc= we got (shown beside the deviations)


def run_validation(binary, suite, tmp, only, stats, fails):
    with open(suite, encoding="utf-8") as f:
        scenarios = list(yaml.safe_load_all(f))
    msgfile = os.path.join(tmp, "v.eml")
    conf = os.path.join(tmp, "v.conf")
    any_arc = False
    for scenario in scenarios:
        cat = "validation: " + scenario["description"].strip()
        with TestNS(zonefile.datafile(zone_from(scenario.get("txt-records")))) as ns:
            write_conf(conf, ns.port)
            for name, test in scenario["tests"].items():
                if only and name != only:
                    continue
                want = ((test.get("cv") or "").strip().lower(),)
                note = ""
                if name in DEVIATIONS:
                    want, section, _ = DEVIATIONS[name]
                    note = " [%s]" % section
                with open(msgfile, "wb") as f:
                    f.write(crlf(test.get("message")))
                got, header = arc_result(binary, conf, msgfile)
                GOT[name] = got
                any_arc = any_arc or got is not None
                ok = got in want
                stats.setdefault(cat, [0, 0])
                stats[cat][1] += 1
                if ok:
                    stats[cat][0] += 1
                else:
                    fails.append("FAIL %s (%s): want arc=%s%s, got %s  | %s" % (
                        name, test.get("description", ""), "/".join(want), note,
                        got, header))
    return any_arc


# --- signing -----------------------------------------------------------

def unfold(text):
    return re.sub(r"\s+", " ", (text or "").replace("\r", "")).strip()


def tags(value):
    """tag=value list -> dict; whitespace is no part of a value we compare
    (b=, bh= and h= may be folded anywhere)."""
    out = {}
    for part in unfold(value).split(";"):
        part = part.strip()
        if not part:
            continue
        k, _, v = part.partition("=")
        out[k.strip()] = re.sub(r"\s+", "", v)
    return out


def aar_parts(value):
    """AAR -> (i=, authserv-id, [results]) with whitespace normalized"""
    parts = [p.strip() for p in unfold(value).split(";")]
    parts = [p for p in parts if p]
    return parts[0] if parts else "", parts[1] if len(parts) > 1 else "", parts[2:]


def header_fields(raw):
    """(name, unfolded value) of each header field of a message text"""
    fields = []
    for line in raw.replace("\r\n", "\n").split("\n"):
        if line == "":
            break
        if line[0] in " \t" and fields:
            fields[-1][1] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            fields.append([name.strip(), value.strip()])
    return fields


def ar_results(message, srv_id):
    """the results of every Authentication-Results of srv_id, merged in order"""
    results = []
    for name, value in header_fields(message):
        if name.lower() != "authentication-results":
            continue
        head, _, rest = value.partition(";")
        if head.strip().lower() != srv_id.lower():
            continue
        results += [r.strip() for r in rest.split(";") if r.strip()]
    return "; ".join(results)


def seal(tool, msgfile, keyfile, scenario, test, port):
    args = [tool, msgfile, "--domain", scenario["domain"], "--selector", scenario["sel"],
            "--key", keyfile, "--time", str(test["t"]), "--srv-id", test["srv-id"],
            "--ar", ar_results(test["message"], test["srv-id"]),
            "--headers", test["sig-headers"], "--nameserver", "127.0.0.1:%d" % port]
    try:
        p = subprocess.run(args, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return None, "timeout"
    fields = {}
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition(":")
        if name in ("ARC-Authentication-Results", "ARC-Message-Signature", "ARC-Seal"):
            fields[name] = value.strip()
    return fields, "exit %d: %s" % (p.returncode, p.stderr.decode("utf-8", "replace")[-300:])


def compare_set(fields, test):
    """differences between the sealed set and the expected one"""
    diffs = []
    expect_none = not any(unfold(test.get(k)) for k in ("AS", "AMS", "AAR"))
    if expect_none:
        return ["added a set where none is expected: %s" % sorted(fields)] if fields else []
    for key, name in (("AMS", "ARC-Message-Signature"), ("AS", "ARC-Seal")):
        if name not in fields:
            diffs.append("no %s" % name)
            continue
        want, got = tags(test[key]), tags(fields[name])
        for tag in sorted(set(want) | set(got)):
            if want.get(tag) != got.get(tag):
                diffs.append("%s %s=: want %r, got %r" % (key, tag, want.get(tag), got.get(tag)))
    if "ARC-Authentication-Results" not in fields:
        diffs.append("no ARC-Authentication-Results")
    elif aar_parts(fields["ARC-Authentication-Results"]) != aar_parts(test["AAR"]):
        diffs.append("AAR: want %r, got %r" % (unfold(test["AAR"]),
                                              unfold(fields["ARC-Authentication-Results"])))
    return diffs


def run_signing(tool, suite, tmp, only, stats, fails):
    with open(suite, encoding="utf-8") as f:
        scenarios = list(yaml.safe_load_all(f))
    msgfile = os.path.join(tmp, "s.eml")
    keyfile = os.path.join(tmp, "s.key")
    for scenario in scenarios:
        cat = "signing: " + scenario["description"].strip()
        with open(keyfile, "w") as f:
            f.write(scenario["privatekey"])
        with TestNS(zonefile.datafile(zone_from(scenario.get("txt-records")))) as ns:
            for name, test in scenario["tests"].items():
                if only and name != only:
                    continue
                with open(msgfile, "wb") as f:
                    f.write(crlf(test["message"]))
                stats.setdefault(cat, [0, 0])
                stats[cat][1] += 1
                if tool is None:
                    fails.append("FAIL %s: no arc_sealtool to seal with" % name)
                    continue
                fields, why = seal(tool, msgfile, keyfile, scenario, test, ns.port)
                diffs = ["sealtool: %s" % why] if fields is None else compare_set(fields, test)
                if diffs:
                    fails.append("FAIL %s (%s):\n    %s%s" % (
                        name, test.get("description", ""), "\n    ".join(diffs),
                        "\n    (%s)" % why.strip() if fields is not None and diffs else ""))
                else:
                    stats[cat][0] += 1


def main():
    binary, tool, vsuite, ssuite = sys.argv[1:5]
    only = sys.argv[5] if len(sys.argv) > 5 else None
    if not (os.path.isfile(tool) and os.access(tool, os.X_OK)):
        tool = None
    stats, fails = {}, []
    with tempfile.TemporaryDirectory(prefix="authmilter-arc-suite-") as tmp:
        any_arc = run_validation(binary, vsuite, tmp, only, stats, fails)
        if not any_arc and not only:
            print("SKIP: %s writes no arc= result (the ARC verifier is not built in)" % binary)
            return 77
        run_signing(tool, ssuite, tmp, only, stats, fails)
    for line in fails:
        print(line)
    print("Deviations from the draft-18 suite (RFC 8617 wins):")
    for name, (want, section, why) in sorted(DEVIATIONS.items()):
        print("  %-24s expect %-14s got %-9s %s: %s" % (name, "/".join(want), GOT.get(name),
                                                       section, why))
    totals = {"validation": [0, 0], "signing": [0, 0]}
    for cat, (p, t) in stats.items():
        print("  %-45s %3d/%d" % (cat, p, t))
        totals[cat.split(":")[0]][0] += p
        totals[cat.split(":")[0]][1] += t
    for kind, (p, t) in totals.items():
        print("ARC suite %s: %d/%d" % (kind, p, t))
    passed = sum(p for p, _ in totals.values())
    failed = sum(t - p for p, t in totals.values())
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
