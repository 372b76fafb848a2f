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
    # the newer signature covers the older one (h= names DKIM-Signature):
    # the order of DKIM-Signature fields among themselves is what counts
    # (dkimpy will not sign DKIM-Signature; Mail::DKIM will)
    add("signature-over-signature", perl_sign(sign(message("b20"), "rsa1024", "rsa1024"), "rsa2048",
                                              "rsa2048", Headers="from:to:subject:dkim-signature"),
        ["pass", "pass"], True)
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


def perl_sign_proto(msg, proto):
    """Mail::DKIM signing a prototype tag-list as written (it keeps a tag
    that occurs twice, which dkimpy will not write)."""
    script = """
use Mail::DKIM::Signer; use Mail::DKIM::Signature; use Mail::DKIM::TextWrap;
my $proto = Mail::DKIM::Signature->parse('%s');
my $s = Mail::DKIM::Signer->new(KeyFile => '%s',
    Policy => sub { $_[0]->add_signature($proto); return; });
binmode STDIN; while (<STDIN>) { $s->PRINT($_) } $s->CLOSE;
print $s->signature->as_string, "\\r\\n";
""" % (proto, os.path.join(KEYS, "rsa2048.key"))
    out = subprocess.run(["perl", "-e", script], input=msg, capture_output=True, check=True).stdout
    return out.rstrip(b"\r\n").replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n" + msg


def junk(n, start=0):
    """n garbage DKIM-Signature fields (not signatures: nobody signed them),
    each naming its own missing key, so each is a lookup and a permerror."""
    return b"".join(b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=junk%d; "
                    b"h=from; bh=AAAA; b=AAAA\r\n" % i for i in range(start, start + n))


def cut_body_line(msg):
    """a relay dropping the last body line: the body is now shorter than l="""
    text = msg.rstrip(b"\r\n")
    return text[:text.rindex(b"\r\n") + 2]


def layered_l(name, n):
    """n signatures with l= each, added as a list would: sign, append, sign."""
    msg = message(name)
    for i in range(n):
        msg = sign(msg, "rsa2048", "rsa2048", length=True) + b"Footer %d.\r\n" % i
    return msg


def hostile_cases():
    """Inputs meant to hurt: (name, message, extra conf lines or None,
    expected results in header order, expected 'N more not evaluated' or 0,
    text the output must hold or None[, action, None for any; default
    accept]). Each expectation is exact; results
    past what our header can hold are counted ('N more signatures not
    shown') and must add up."""
    good = sign(message("h1"), "rsa2048", "rsa2048")
    sig_line = good.split(b"\r\nFrom:")[0] + b"\r\n"
    # 40,000 junk fields are 3.4 MB: past the default MaxHeaderBytes, which
    # would make every signature a permerror before DKIM counts them
    big = "MaxHeaderBytes 8388608"
    c = []
    add = lambda *a: c.append(a)  # noqa: E731
    # first N in header order are evaluated: the valid one on top, 9 junk after it
    add("40000-junk-after-a-valid-one", sig_line + junk(40000) + message("h1"), big,
        ["pass"] + ["permerror"] * 9, 39991, "header.s=junk8 ")
    # libopendkim ignores white space before the colon; so must the count
    add("40000-junk-name-with-space", sig_line + junk(40000).replace(b"DKIM-Signature:", b"DKIM-Signature :")
        + message("h1"), big, ["pass"] + ["permerror"] * 9, 39991, None)
    add("40000-junk-then-valid", junk(40000) + good, big, ["permerror"] * 10, 39991, "header.s=junk9 ")
    # under the default header budget: read up to it, then all permerror
    # (the From past the budget is the policy's business: any action)
    add("40000-junk-default-budget", sig_line + junk(40000) + message("h1"), None,
        ["permerror"] * 10, 39991, "MaxHeaderBytes", None)
    add("1000-signatures-max-1000", sig_line * 1000 + message("h1"), "DKIMMaxSignatures 1000",
        ["pass"] * 1000, 0, None)
    add("1001-signatures-max-1000", sig_line * 1001 + message("h1"), "DKIMMaxSignatures 1000",
        ["pass"] * 1000, 1, None)
    add("50-junk-then-valid-max-60", junk(50) + good, "DKIMMaxSignatures 60",
        ["permerror"] * 50 + ["pass"], 0, None)
    add("60-junk-then-valid-max-60", junk(60) + good, "DKIMMaxSignatures 60", ["permerror"] * 60, 1, None)
    # the one covering a signature past the maximum cannot be checked
    inner = sign(message("h11"), "rsa2048", "rsa2048")
    add("signature-over-unevaluated-max-1", perl_sign(inner, "rsa1024", "rsa1024",
                                                      Headers="from:to:subject:dkim-signature"),
        "DKIMMaxSignatures 1", ["permerror"], 1,
        "h= signs DKIM-Signature fields that were not evaluated")
    add("990-garbage-then-valid", junk(990) + good, None, ["permerror"] * 10, 981, None)
    # 900 KB: within the default MaxHeaderBytes (1 MiB); past it see tests/limits
    add("900KB-header", sign(b"X-Big: " + b"x" * (900 << 10) + b"\r\n" + message("h2"),
                           "rsa2048", "rsa2048"), None, ["pass"], 0, None)
    # libopendkim's header copy stops at 64 KB: a signature over a longer field
    # cannot be checked (it would come out "fail", or "pass" if only the tail
    # was changed)
    big = b"X-Big: " + b"y" * 70000 + b"\r\n" + message("h3")
    add("70KB-header-signed", dkim.sign(big, b"rsa2048", b"example.com", key("rsa2048"),
                                        include_headers=HEADERS + [b"x-big"]) + big,
        None, ["permerror"], 0, "signs a header field with a NUL byte or over 64 KB")
    add("garbage-tags", b"DKIM-Signature: v=1;;; a=; d=;; s==; b=!!!!; bh\r\n"
        b"DKIM-Signature: \xff\xfe\r\n" + good, None, ["permerror", "permerror", "pass"], 0, None)
    # NUL: the session makes any field with a NUL byte unreadable, so every
    # signature is a permerror (lib/dkimv refuses such a field itself too,
    # see t_dkimv)
    add("NUL-in-DKIM-Signature", b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; "
        b"s=rsa2048; h=from; bh=AAAA; b\x00=AAAA\r\n" + good, None, ["permerror"], 0,
        "NUL byte in a header field")
    add("100KB-DKIM-Signature", b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=rsa2048; "
        b"h=from; bh=" + b"A" * 1000 + b"; b=" + b"QUJD" * 25600 + b"\r\n" + good, None,
        ["permerror", "pass"], 0, "DKIM-Signature field over 8192 bytes")
    add("100KB-of-tags", b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=rsa2048; h=from; "
        + b"".join(b"x%d=%d; " % (i, i) for i in range(9000)) + b"bh=AAAA; b=AAAA\r\n" + good,
        None, ["permerror", "pass"], 0, "DKIM-Signature field over 8192 bytes")
    # RFC 6376 3.2: a tag twice makes the tag-list invalid; libopendkim keeps
    # the last one and passes it
    now = int(time.time())
    add("duplicate-tag-signed", perl_sign_proto(message("h6"), "v=1; a=rsa-sha256; c=relaxed/relaxed; "
                                                "d=example.com; s=rsa2048; t=%d; t=%d; "
                                                "h=from:to:subject; bh=; b=" % (now, now)),
        None, ["permerror"], 0, "a tag occurs twice")
    add("l=-longer-than-body", cut_body_line(sign(message("h7"), "rsa2048", "rsa2048", length=True)),
        None, ["permerror"], 0, "l= longer than the body")
    add("800-h=-entries", dkim.sign(message("h8"), b"rsa2048", b"example.com", key("rsa2048"),
                                    include_headers=[b"from"] * 800) + message("h8"),
        None, ["pass"], 0, None)
    add("1000-h=-entries", dkim.sign(message("h9"), b"rsa2048", b"example.com", key("rsa2048"),
                                     include_headers=[b"from"] * 1000) + message("h9"),
        None, ["permerror"], 0, "h= over 4095 bytes")
    add("6-l=-body-hashes", layered_l("h10", 6), None, ["pass"] * 4 + ["permerror"] * 2, 0,
        "more than 4 different body hashes")
    add("NUL-bytes-in-body", sign(message("h5", body="a\x00b\r\n\x00\r\n"), "rsa2048", "rsa2048"),
        None, ["pass"], 0, None)
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
    """(dkim results, peak resident set in KB) of one test-mode run. GNU time
    reports it: the rusage of a child forked from this (large) Python process
    would count Python's own pages from before the exec."""
    # its own process group: on a timeout, time's child goes too
    p = subprocess.Popen(["/usr/bin/time", "-f", "maxrss=%M", binary, "-c", conf, "-t", path,
                          "-i", "192.0.2.1", "-H", "mx.example.com", "-s", "alice@example.com"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
        p.communicate()
        return ["(timeout)"], 1 << 30
    got = re.findall(r"\bdkim=(\w+)", out.decode("utf-8", "replace"))
    rss = re.search(r"maxrss=(\d+)", err.decode("utf-8", "replace"))
    return got, int(rss.group(1)) if rss else 1 << 30


# Under AddressSanitizer (tests/ci/asan.sh) the peak RSS is the sanitizer's:
# shadow memory, redzones and a quarantine that keeps every freed block (a
# doubling buffer's old copies stay), so memory bounds are judged by the
# plain build's run of this test and the ASan run checks the verdicts only.
UNDER_ASAN = "ASAN_OPTIONS" in os.environ


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
    return got == ["pass"] and small_got == ["pass"] and (UNDER_ASAN or rss < small_rss + 4096)


def authmilter_results(binary, conf, path):
    """dkim= results of the Authentication-Results line, in order; [] when
    test mode did not run to its end (exit status, no action= line)."""
    p = subprocess.run([binary, "-c", conf, "-t", path, "-i", "192.0.2.1", "-H", "mx.example.com",
                        "-s", "alice@example.com"], capture_output=True, timeout=60)
    out = p.stdout.decode("utf-8", "replace")
    ar = [l for l in out.splitlines() if l.startswith("Authentication-Results: ")]
    if p.returncode != 0 or len(ar) != 1 or "\naction=" not in "\n" + out:
        return [], out + p.stderr.decode("utf-8", "replace")
    return re.findall(r"\bdkim=(\w+)", ar[0]), out


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


def write_conf(path, port, extra=None):
    with open(path, "w") as f:
        f.write("Nameservers 127.0.0.1:%d\nDNSTimeout 1\nDNSRetries 0\nSPFHelo no\n"
                "AuthservID corpus.test\n" % port)
        if extra:
            f.write(extra + "\n")
    return path


def result_ok(got, expected):
    return len(got) == len(expected) and all(
        g in (e if isinstance(e, tuple) else (e,)) for g, e in zip(got, expected))


def check_case(binary, conf, tmp, port, name, msg, expected, opendkim_agrees, exceptions):
    """One corpus message: True when our results are right and, where the
    differential applies, OpenDKIM agrees on pass / not pass (or this is a
    listed RFC 8301 exception). Each message counts once."""
    path = os.path.join(tmp, name + ".eml")
    with open(path, "wb") as f:
        f.write(msg)
    got, out = authmilter_results(binary, conf, path)
    if os.environ.get("VERBOSE"):
        print("%s: %s" % (name, out.splitlines()[0] if out else "(no output)"))
    if not result_ok(got, expected):
        print("FAIL %s: want %s, got %s\n  %s" % (name, expected, got, out.strip()))
        return False
    if name in NOTES and NOTES[name] not in out:
        print("FAIL %s: missing comment %r\n  %s" % (name, NOTES[name], out.strip()))
        return False
    if name.startswith("key-timeout"):
        return True  # OpenDKIM's own resolver has its own timeout policy
    ours = "pass" in got
    theirs, text = opendkim_pass(tmp, port, path)
    if ours == theirs:
        return True
    if not opendkim_agrees:
        exceptions.append("%s (authmilter %s, OpenDKIM %s)" % (
            name, "pass" if ours else "not pass", "pass" if theirs else "not pass"))
        return True
    print("DISAGREE %s: authmilter %s, OpenDKIM %s\n  %s" % (
        name, got, "pass" if theirs else "not pass", text.strip()[-300:]))
    return False


def check_hostile(binary, confs, tmp, case):
    """One hostile message: the exact results in header order (those our
    header could not hold counted in 'N more signatures not shown'), the
    exact 'N more signatures not evaluated' count (absent when 0), the text."""
    name, msg, extra_conf, expected, not_evaluated, text, *action = case
    action = action[0] if action else "accept"
    path = os.path.join(tmp, name + ".eml")
    with open(path, "wb") as f:
        f.write(msg)
    try:
        got, out = authmilter_results(binary, confs[extra_conf], path)
    except subprocess.TimeoutExpired:
        print("FAIL hostile %s: no answer in 60 s" % name)
        return False
    os.unlink(path)
    counts = [int(n) for n in re.findall(r"(\d+) more signatures not evaluated", out)]
    hidden = [int(n) for n in re.findall(r"(\d+) more signatures not shown", out)]
    problems = []
    if got != expected[:len(got)] or len(got) + sum(hidden) != len(expected) or len(hidden) > 1:
        problems.append("results %s + %s not shown (want %d: %s)" % (
            summary(got), hidden, len(expected), summary(expected)))
    if counts != ([not_evaluated] if not_evaluated else []):
        problems.append("not-evaluated counts %s, want %s" % (counts, not_evaluated or "none"))
    if text and text not in out:
        problems.append("missing %r" % text)
    if action and not out.rstrip().endswith("action=" + action):
        problems.append("action is not " + action)
    if "\naction=" not in "\n" + out:
        problems.append("no action= line")
    if os.environ.get("VERBOSE"):
        print("%s: %s" % (name, out.splitlines()[0][:300] if out else "(no output)"))
    for p in problems:
        print("FAIL hostile %s: %s" % (name, p))
    return not problems


def summary(results):
    """['pass', 'permerror', 'permerror'] -> 'pass, permerror x2'"""
    parts = []
    for r in results:
        if parts and parts[-1][0] == r:
            parts[-1][1] += 1
        else:
            parts.append([r, 1])
    return ", ".join(r if n == 1 else "%s x%d" % (r, n) for r, n in parts)


def bounded_signatures(binary, conf, tmp):
    """40,000 junk signatures cost no more memory than one signature: they
    are counted, never handed to libopendkim (4 MB of slack for the 3.4 MB
    of header text the test mode reads)."""
    one = os.path.join(tmp, "one.eml")
    many = os.path.join(tmp, "many.eml")
    good = sign(message("m2"), "rsa2048", "rsa2048")
    with open(one, "wb") as f:
        f.write(good)
    with open(many, "wb") as f:
        f.write(good.split(b"\r\nFrom:")[0] + b"\r\n" + junk(40000) + message("m2"))
    got1, rss1 = peak_rss_kb(binary, conf, one)
    got, rss = peak_rss_kb(binary, conf, many)
    print("40,000 junk signatures: peak RSS %d KB (%d KB with one signature)" % (rss, rss1))
    verdicts = got1 == ["pass"] and got[:1] == ["pass"] and len(got) == 10
    return verdicts and (UNDER_ASAN or rss < rss1 + 8192)


def main():
    binary = sys.argv[1]
    passed = failed = 0
    exceptions = []
    tmp = tempfile.mkdtemp(prefix="authmilter-dkim-")
    try:
        corpus = cases()
        hostile = hostile_cases()
        with TestNS(zonefile.datafile(zone()), forks=3) as ns:
            confs = {x: write_conf(os.path.join(tmp, "conf%d.conf" % i), ns.port, x)
                     for i, x in enumerate(set(c[2] for c in hostile) | {None})}
            conf = confs[None]
            results = [check_case(binary, conf, tmp, ns.port, *c, exceptions) for c in corpus]
            results += [check_hostile(binary, confs, tmp, c) for c in hostile]
            ok, bad = policy_checks(binary, tmp, ns.port)
            results += [True] * ok + [False] * bad
            if ok + bad != 2:
                results.append(False)
            results.append(bounded_memory(binary, conf, tmp))
            results.append(bounded_signatures(binary, confs["MaxHeaderBytes 8388608"], tmp))
    finally:
        shutil.rmtree(tmp)
    passed = results.count(True)
    failed = results.count(False)
    print("corpus: %d messages, %d hostile; stricter than OpenDKIM by RFC: %s"
          % (len(corpus), len(hostile), ", ".join(exceptions) or "none"))
    print("DKIM corpus: %d passed, %d failed" % (passed, failed))
    # every check ran and was counted once
    expected = len(corpus) + len(hostile) + 2 + 2
    if passed + failed != expected:
        print("FAIL: %d checks counted, %d expected" % (passed + failed, expected))
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
