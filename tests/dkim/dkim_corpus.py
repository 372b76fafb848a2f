#!/usr/bin/python3
"""dkim_corpus - sign a corpus with real signers, verify it with authmilter's
test mode and with OpenDKIM, against the same ldns-testns.

Signers: dkimpy (Debian python3-dkim) for most cases; Mail::DKIM (Debian
libmail-dkim-perl) where dkimpy cannot express the case (x= in the past,
i= outside d=). Tampered variants are made by editing the signed message
the way a relay would (a header or the body changed, content appended, a
signature cut short), never by writing signatures by hand.

usage: dkim_corpus.py AUTHMILTER_BINARY
"""
import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import dkim  # noqa: E402
from testns import TestNS  # noqa: E402
import zonefile  # noqa: E402

KEYS = os.path.join(HERE, "keys")


def key(name):
    with open(os.path.join(KEYS, name + ".key"), "rb") as f:
        return f.read()


def rsa_public(name):
    der = subprocess.run(["openssl", "rsa", "-in", os.path.join(KEYS, name + ".key"),
                          "-pubout", "-outform", "DER"], capture_output=True, check=True).stdout
    return base64.b64encode(der).decode()


def ed_public():
    with open(os.path.join(KEYS, "ed25519.dns")) as f:
        return re.search(r"p=([A-Za-z0-9+/=]+)", f.read()).group(1)


def zone():
    rsa = {b: rsa_public("rsa%d" % b) for b in (512, 1024, 2048, 4096)}
    ed = ed_public()

    def txt(text):
        return [("TXT", zonefile.txt_rdata(text))]
    z = {
        "rsa512._domainkey.example.com": txt("v=DKIM1; k=rsa; p=" + rsa[512]),
        "rsa1024._domainkey.example.com": txt("v=DKIM1; k=rsa; p=" + rsa[1024]),
        "rsa2048._domainkey.example.com": txt("v=DKIM1; k=rsa; p=" + rsa[2048]),
        "rsa4096._domainkey.example.com": txt("v=DKIM1; k=rsa; p=" + rsa[4096]),
        "ed._domainkey.example.com": txt("v=DKIM1; k=ed25519; p=" + ed),
        # Office 365 style delegation; the second one served without the chase
        "selector1._domainkey.example.net": [
            ("CNAME", "selector1-example-net._domainkey.example.onmicrosoft.com.")],
        "selector2._domainkey.example.net": [
            ("CNAME", "selector2-example-net._domainkey.example.onmicrosoft.com."),
            ("NOCHASE", "")],
        "selector1-example-net._domainkey.example.onmicrosoft.com": txt("v=DKIM1; k=ed25519; p=" + ed),
        "selector2-example-net._domainkey.example.onmicrosoft.com": txt("v=DKIM1; k=rsa; p=" + rsa[2048]),
        "swapped._domainkey.example.com": txt("v=DKIM1; k=rsa; p=" + rsa[1024]),
        "revoked._domainkey.example.com": txt("v=DKIM1; k=rsa; p="),
        "malformed._domainkey.example.com": txt("v=DKIM1; k=rsa; p=@@@not base64@@@"),
        "servfail._domainkey.example.com": ["SERVFAIL"],
        "slow._domainkey.example.com": ["SLEEP"],
        "testing._domainkey.example.com": txt("v=DKIM1; k=rsa; t=y; p=" + rsa[2048]),
        "strict._domainkey.example.com": txt("v=DKIM1; k=rsa; t=s; p=" + rsa[2048]),
        "sha1only._domainkey.example.com": txt("v=DKIM1; k=rsa; h=sha1; p=" + rsa[2048]),
    }
    return z


def message(name, domain="example.com", body=None):
    body = body or ("Hello Bob,\r\n\r\nThis is corpus message %s.\r\n"
                    "It has  two  spaces\tand a tab.\r\n\r\n\r\n" % name)
    return ("From: Alice <alice@%s>\r\n"
            "To: Bob <bob@example.org>\r\n"
            "Subject: DKIM corpus %s\r\n"
            "Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n"
            "Message-ID: <%s@%s>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n"
            "\r\n" % (domain, name, name, domain)).encode() + body.encode()


HEADERS = [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type"]


def sign(msg, selector, keyname, domain="example.com", canon=(b"relaxed", b"relaxed"),
         alg=b"rsa-sha256", length=False, identity=None, clock=None):
    real_time = dkim.time.time
    if clock is not None:
        dkim.time.time = lambda: clock
    try:
        sig = dkim.sign(msg, selector.encode(), domain.encode(), key(keyname),
                        identity=identity.encode() if identity else None, canonicalize=canon,
                        signature_algorithm=alg, include_headers=HEADERS, length=length)
    finally:
        dkim.time.time = real_time
    return sig + msg


def perl_sign(msg, selector, keyname, **extra):
    """Mail::DKIM for what dkimpy will not sign (x= in the past, odd i=, h=)."""
    args = ";".join("%s => '%s'" % (k, v) for k, v in extra.items())
    script = """
use Mail::DKIM::Signer; use Mail::DKIM::TextWrap;
my $s = Mail::DKIM::Signer->new(Algorithm => 'rsa-sha256', Method => 'relaxed',
    Domain => 'example.com', Selector => '%s', KeyFile => '%s', %s);
binmode STDIN; while (<STDIN>) { $s->PRINT($_) } $s->CLOSE;
print $s->signature->as_string, "\\r\\n";
""" % (selector, os.path.join(KEYS, keyname + ".key"), args.replace(";", ","))
    out = subprocess.run(["perl", "-e", script], input=msg, capture_output=True, check=True).stdout
    return out.rstrip(b"\r\n").replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n" + msg


def tamper_header(msg):
    return msg.replace(b"Subject: DKIM corpus", b"Subject: DKIM c0rpus", 1)


def tamper_body(msg):
    return msg.replace(b"This is corpus message", b"This is forged message", 1)


def truncate_b(msg):
    return re.sub(rb"(b=[A-Za-z0-9+/=\r\n\t ]*?)([A-Za-z0-9+/=]{12})(\r\n[^ \t])",
                  lambda m: m.group(1) + m.group(3), msg, count=1)


def cases():
    """(name, message, expected results in header order, OpenDKIM agrees?)"""
    now = int(time.time())
    c = []
    add = lambda *a: c.append(a)  # noqa: E731
    add("rsa2048-relaxed", sign(message("a1"), "rsa2048", "rsa2048"), ["pass"], True)
    add("rsa2048-simple", sign(message("a2"), "rsa2048", "rsa2048", canon=(b"simple", b"simple")), ["pass"], True)
    add("rsa1024-relaxed-simple", sign(message("a3"), "rsa1024", "rsa1024", canon=(b"relaxed", b"simple")), ["pass"], True)
    add("rsa4096-simple-relaxed", sign(message("a4"), "rsa4096", "rsa4096", canon=(b"simple", b"relaxed")), ["pass"], True)
    add("ed25519-relaxed", sign(message("a5"), "ed", "ed25519", alg=b"ed25519-sha256"), ["pass"], True)
    add("ed25519-simple", sign(message("a6"), "ed", "ed25519", alg=b"ed25519-sha256", canon=(b"simple", b"simple")), ["pass"], True)
    add("ed25519-cname-delegated", sign(message("a7", "example.net"), "selector1", "ed25519", domain="example.net",
                                        alg=b"ed25519-sha256"), ["pass"], True)
    add("rsa-cname-not-chased-by-server", sign(message("a8", "example.net"), "selector2", "rsa2048",
                                               domain="example.net"), ["pass"], True)
    add("testing-key-t=y", sign(message("a9"), "testing", "rsa2048"), ["pass"], True)
    add("l=-with-appended-content", sign(message("a10"), "rsa2048", "rsa2048", length=True)
        + b"\r\nAppended by a mailing list.\r\n", ["pass"], True)
    add("rsa512-too-small", sign(message("b1"), "rsa512", "rsa512"), ["policy"], True)
    # RFC 8301: rsa-sha1 is never a pass; OpenDKIM 2.11 still passes it.
    add("rsa-sha1", sign(message("b2"), "rsa2048", "rsa2048", alg=b"rsa-sha1"), ["policy"], False)
    add("header-tampered", tamper_header(sign(message("b3"), "rsa2048", "rsa2048")), ["fail"], True)
    add("body-tampered", tamper_body(sign(message("b4"), "rsa2048", "rsa2048")), ["fail"], True)
    add("body-tampered-ed25519", tamper_body(sign(message("b5"), "ed", "ed25519", alg=b"ed25519-sha256")), ["fail"], True)
    add("signature-truncated", truncate_b(sign(message("b6"), "rsa2048", "rsa2048")), [("fail", "permerror")], True)
    add("key-swapped", sign(message("b7"), "swapped", "rsa2048"), ["fail"], True)
    add("key-revoked", sign(message("b8"), "revoked", "rsa2048"), ["fail"], True)
    add("key-malformed", sign(message("b9"), "malformed", "rsa2048"), ["permerror"], True)
    add("key-nxdomain", sign(message("b10"), "nokey", "rsa2048"), ["permerror"], True)
    add("key-servfail", sign(message("b11"), "servfail", "rsa2048"), ["temperror"], True)
    add("key-timeout", sign(message("b12"), "slow", "rsa2048"), ["temperror"], True)
    add("key-t=s-with-subdomain-i", sign(message("b13"), "strict", "rsa2048", identity="alice@sub.example.com"),
        ["permerror"], True)
    add("key-h=sha1-sig-sha256", sign(message("b14"), "sha1only", "rsa2048"), ["permerror"], True)
    add("x=-expired", perl_sign(message("b15"), "rsa2048", "rsa2048", Timestamp=now - 7200,
                                Expiration=now - 3600), ["fail"], True)
    add("t=-in-the-future", sign(message("b16"), "rsa2048", "rsa2048", clock=now + 2 * 86400), ["fail"], True)
    add("i=-outside-d=", perl_sign(message("b17"), "rsa2048", "rsa2048", Identity="alice@other.example"),
        ["permerror"], True)
    add("two-signatures-one-fails", sign(sign(message("b18"), "rsa2048", "rsa2048"), "nokey", "rsa2048"),
        ["permerror", "pass"], True)
    add("two-signatures-both-pass", sign(sign(message("b19"), "ed", "ed25519", alg=b"ed25519-sha256"),
                                         "rsa2048", "rsa2048"), ["pass", "pass"], True)
    add("unsigned", message("c1"), ["none"], True)
    return c


# what the comment must say, where the reason matters to a reader
NOTES = {
    "l=-with-appended-content": "l=", "testing-key-t=y": "testing key, t=y",
    "rsa512-too-small": "key too small: 512 bits", "rsa-sha1": "RFC 8301",
    "body-tampered": "bad signature", "key-revoked": "key revoked", "key-nxdomain": "no key",
    "key-servfail": "key DNS error", "key-timeout": "key DNS error",
    "x=-expired": "signature expired", "ed25519-cname-delegated": "ed25519 key",
}


def hostile_cases():
    """Inputs meant to hurt: each must give a defined result quickly."""
    good = sign(message("h1"), "rsa2048", "rsa2048")
    sig_line = good.split(b"\r\nFrom:")[0] + b"\r\n"
    c = []
    c.append(("1000-signatures", sig_line * 1000 + message("h1"), 10))
    garbage = b"".join(b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=g%d; "
                       b"h=from; bh=AAAA; b=AAAA\r\n" % i for i in range(990))
    c.append(("990-garbage-then-valid", garbage + good, 10))
    # 900 KB: within the default MaxHeaderBytes (1 MiB); past it see tests/limits
    c.append(("900KB-header", sign(b"X-Big: " + b"x" * (900 << 10) + b"\r\n" + message("h2"),
                                 "rsa2048", "rsa2048"), 1))
    c.append(("garbage-tags", b"DKIM-Signature: v=1;;; a=; d=;; s==; b=!!!!; bh\r\n"
              b"DKIM-Signature: \x00\xff\r\n" + message("h3"), 2))
    c.append(("100KB-base64", b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=rsa2048; "
              b"h=from; bh=" + b"A" * 1000 + b"; b=" + b"QUJD" * 25600 + b"\r\n" + message("h4"), 1))
    c.append(("NUL-bytes", sign(message("h5", body="a\x00b\r\n\x00\r\n"), "rsa2048", "rsa2048"), 1))
    return c


def policy_checks(binary, tmp, port):
    """TempFailOnDNSError with DKIM: tempfail on a key DNS error, unless
    another signature passed. Returns (passed, failed)."""
    conf = os.path.join(tmp, "tempfail.conf")
    with open(conf, "w") as f:
        f.write("Nameservers 127.0.0.1:%d\nDNSTimeout 1\nDNSRetries 0\nSPFHelo no\n"
                "AuthservID corpus.test\nTempFailOnDNSError yes\n" % port)
    checks = [
        ("servfail key alone -> tempfail", sign(message("p1"), "servfail", "rsa2048"), "tempfail"),
        ("servfail key beside a pass -> accept",
         sign(sign(message("p2"), "rsa2048", "rsa2048"), "servfail", "rsa2048"), "accept"),
    ]
    ok = bad = 0
    for name, msg, action in checks:
        path = os.path.join(tmp, "policy.eml")
        with open(path, "wb") as f:
            f.write(msg)
        got, out = authmilter_results(binary, conf, path)
        if out.rstrip().endswith("action=" + action):
            ok += 1
        else:
            bad += 1
            print("FAIL policy %s:\n  %s" % (name, out.strip()))
    return ok, bad


def peak_rss_kb(binary, conf, path):
    """(dkim results, peak resident set in KB) of one test-mode run."""
    out_path = path + ".out"
    with open(out_path, "wb") as out_file:
        proc = subprocess.Popen([binary, "-c", conf, "-t", path, "-i", "192.0.2.1",
                                 "-H", "mx.example.com", "-s", "alice@example.com"],
                                stdout=out_file, stderr=subprocess.DEVNULL)
        _, _, usage = os.wait4(proc.pid, 0)
    with open(out_path) as f:
        got = re.findall(r"\bdkim=(\w+)", f.read())
    os.unlink(out_path)
    return got, usage.ru_maxrss


def bounded_memory(binary, conf, tmp):
    """A 64 MB body past l= streams through: it passes, and the process
    grows no more than 4 MB over the same message without the bulk."""
    path = os.path.join(tmp, "huge.eml")
    signed = sign(message("m1"), "rsa2048", "rsa2048", length=True)
    with open(path, "wb") as f:
        f.write(signed)
    small_got, small_rss = peak_rss_kb(binary, conf, path)
    with open(path, "ab") as f:
        line = b"x" * 998 + b"\r\n"
        for _ in range(64 * 1024 * 1024 // len(line)):
            f.write(line)
    got, rss = peak_rss_kb(binary, conf, path)
    os.unlink(path)
    print("64 MB body: dkim=%s, peak RSS %d KB (%d KB without the 64 MB)" % (got, rss, small_rss))
    return got == ["pass"] and small_got == ["pass"] and rss < small_rss + 4096


def authmilter_results(binary, conf, path):
    p = subprocess.run([binary, "-c", conf, "-t", path, "-i", "192.0.2.1", "-H", "mx.example.com",
                        "-s", "alice@example.com"], capture_output=True, timeout=60)
    out = p.stdout.decode("utf-8", "replace")
    return re.findall(r"\bdkim=(\w+)", out), out


def opendkim_pass(tmp, port, path):
    """True if OpenDKIM's test mode reports a good signature."""
    unbound = os.path.join(tmp, "unbound.conf")
    with open(unbound, "w") as f:
        f.write('server:\n  do-not-query-localhost: no\n  module-config: "iterator"\n'
                '  qname-minimisation: no\n'
                'forward-zone:\n  name: "."\n  forward-addr: 127.0.0.1@%d\n' % port)
    conf = os.path.join(tmp, "opendkim.conf")
    with open(conf, "w") as f:
        f.write("Mode v\nSyslog no\nResolverConfiguration %s\nMinimumKeyBits 1024\n"
                "DNSTimeout 2\n" % unbound)
    p = subprocess.run(["opendkim", "-x", conf, "-t", path], capture_output=True, timeout=60)
    text = (p.stdout + p.stderr).decode("utf-8", "replace")
    return re.search(r"verification \(.*\) succeeded", text) is not None, text


def main():
    binary = sys.argv[1]
    passed = failed = agree = disagree = 0
    exceptions = []
    tmp = tempfile.mkdtemp(prefix="authmilter-dkim-")
    try:
        corpus = cases()
        with TestNS(zonefile.datafile(zone()), forks=3) as ns:
            conf = os.path.join(tmp, "authmilter.conf")
            with open(conf, "w") as f:
                f.write("Nameservers 127.0.0.1:%d\nDNSTimeout 1\nDNSRetries 0\nSPFHelo no\n"
                        "AuthservID corpus.test\n" % ns.port)
            for name, msg, expected, opendkim_agrees in corpus:
                path = os.path.join(tmp, name + ".eml")
                with open(path, "wb") as f:
                    f.write(msg)
                got, out = authmilter_results(binary, conf, path)
                ok = len(got) == len(expected) and all(
                    g in (e if isinstance(e, tuple) else (e,)) for g, e in zip(got, expected))
                if os.environ.get("VERBOSE"):
                    print("%s: %s" % (name, out.splitlines()[0]))
                if ok and name in NOTES and NOTES[name] not in out:
                    ok = False
                    print("missing comment %r" % NOTES[name])
                if ok:
                    passed += 1
                else:
                    failed += 1
                    print("FAIL %s: want %s, got %s\n  %s" % (name, expected, got, out.strip()))
                if name.startswith("key-timeout"):
                    continue  # OpenDKIM's own resolver has its own timeout policy
                ours = "pass" in got
                theirs, text = opendkim_pass(tmp, ns.port, path)
                if ours == theirs:
                    agree += 1
                elif not opendkim_agrees:
                    exceptions.append("%s (authmilter %s, OpenDKIM %s)" % (
                        name, "pass" if ours else "not pass", "pass" if theirs else "not pass"))
                else:
                    disagree += 1
                    print("DISAGREE %s: authmilter %s, OpenDKIM %s\n  %s" % (
                        name, got, "pass" if theirs else "not pass", text.strip()[-300:]))
            for name, msg, max_results in hostile_cases():
                path = os.path.join(tmp, name + ".eml")
                with open(path, "wb") as f:
                    f.write(msg)
                start = time.time()
                try:
                    got, out = authmilter_results(binary, conf, path)
                    took = time.time() - start
                    ok = 1 <= len(got) <= max_results and out.rstrip().endswith("action=accept")
                except subprocess.TimeoutExpired:
                    ok, took, got = False, 60, ["(timeout)"]
                if os.environ.get("VERBOSE"):
                    print("%s: %.2fs %s" % (name, took, out.splitlines()[0][:300]))
                if ok:
                    passed += 1
                else:
                    failed += 1
                    print("FAIL hostile %s: %d results %s after %.1fs" % (name, len(got), got[:3], took))
            ok, bad = policy_checks(binary, tmp, ns.port)
            passed += ok
            failed += bad
            if bounded_memory(binary, conf, tmp):
                passed += 1
            else:
                failed += 1
                print("FAIL bounded memory")
    finally:
        shutil.rmtree(tmp)
    print("corpus: %d messages; OpenDKIM agrees on %d, disagrees on %d; stricter by RFC 8301: %s"
          % (len(corpus), agree, disagree, ", ".join(exceptions) or "none"))
    failed += disagree
    print("DKIM corpus: %d passed, %d failed" % (passed + agree, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
