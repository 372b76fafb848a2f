"""seal - ARC sealing through authmilter's test mode (ARCSign yes).

The contract: with sealing on, test mode prints after the Authentication-Results
line the ARC-Authentication-Results, ARC-Message-Signature and ARC-Seal fields
(unfolded, in that order), the last line stays action=. Each hop's output is
put on top of the message and fed to the next hop: three hops with an RSA key
and three with an Ed25519 key each give arc=pass with the right instance
count; the RSA chains also validate in dkimpy (dkim.arc_verify, which has no
Ed25519 for ARC). A message changed after the last seal is arc=fail; a
rejected message is not sealed; a chain whose newest seal says cv=fail is not
sealed again; a list that changes the message and seals makes
header.oldest-pass=2; an ARC field with a NUL byte makes the chain fail; t= is the
-T time."""
import base64
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import dkim  # noqa: E402
import zonefile  # noqa: E402
from testns import TestNS  # noqa: E402

AM = sys.argv[1]
WHEN = "1700000000"
results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print("%s - %s%s" % ("ok" if ok else "FAIL", name, "" if ok else ": " + detail))


def make_keys(tmp):
    """an RSA and an Ed25519 key (PEM) and their DKIM key records"""
    keys = {}
    for sel, alg in (("rsa", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
                     ("ed", ["-algorithm", "ED25519"])):
        pem = os.path.join(tmp, sel + ".pem")
        subprocess.run(["openssl", "genpkey", *alg, "-out", pem], check=True,
                       stderr=subprocess.DEVNULL)
        der = subprocess.run(["openssl", "pkey", "-in", pem, "-pubout", "-outform", "DER"],
                             check=True, capture_output=True).stdout
        if sel == "ed":
            record = "v=DKIM1; k=ed25519; p=" + base64.b64encode(der[-32:]).decode()
        else:
            record = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()
        keys[sel] = (pem, record)
    return keys


def run(conf, msg, tmp, ip="192.0.2.1"):
    path = os.path.join(tmp, "msg.eml")
    with open(path, "wb") as f:
        f.write(msg)
    out = subprocess.run([AM, "-c", conf, "-t", path, "-i", ip, "-T", WHEN],
                         capture_output=True, text=True)
    return out.stdout.splitlines()


def arc_of(lines):
    m = re.search(r"; arc=(\w+)( \(([^)]*)\))?", lines[0]) if lines else None
    return (m.group(1), m.group(3) or "") if m else ("?", "")


BASE = (b"From: Alice <alice@example.com>\r\nTo: list@lists.example.org\r\n"
        b"Subject: hello  there\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n"
        b"Message-ID: <seal@example.com>\r\n\r\nHello  list,\r\nbye\r\n\r\n")


def main():
    with tempfile.TemporaryDirectory(prefix="authmilter-seal-") as tmp:
        keys = make_keys(tmp)
        zone = {"%s._domainkey.seal.example" % s: [("TXT", zonefile.txt_rdata(r))]
                for s, (_, r) in keys.items()}
        zone["reject.example"] = [("TXT", zonefile.txt_rdata("v=spf1 -all"))]
        zone["_dmarc.reject.example"] = [("TXT", zonefile.txt_rdata("v=DMARC1; p=reject"))]
        dns = {"%s._domainkey.seal.example" % s: r for s, (_, r) in keys.items()}

        def dnsfunc(name, timeout=5):
            v = dns.get(name.decode().rstrip("."))
            return v.encode() if v else None

        with TestNS(zonefile.datafile(zone)) as ns:
            for sel, (pem, _) in keys.items():
                conf = os.path.join(tmp, sel + ".conf")
                with open(conf, "w") as f:
                    f.write("AuthservID mx.seal.test\nNameservers 127.0.0.1:%d\nDNSTimeout 2\n"
                            "ARCSign yes\nARCSignDomain seal.example\nARCSignSelector %s\n"
                            "ARCSignKey %s\n" % (ns.port, sel, pem))
                msg = BASE
                for hop in range(1, 4):
                    lines = run(conf, msg, tmp)
                    names = [l.split(":", 1)[0] for l in lines]
                    check("%s hop %d: A-R, AAR, AMS, AS, action= in order" % (sel, hop),
                          names == ["Authentication-Results", "ARC-Authentication-Results",
                                    "ARC-Message-Signature", "ARC-Seal", "action=accept"],
                          repr(names))
                    if len(lines) != 5:
                        break
                    st, why = arc_of(lines)
                    want = "none" if hop == 1 else "pass"
                    check("%s hop %d: arc=%s" % (sel, hop, want), st == want, st + " " + why)
                    aar, ams, seal = lines[1], lines[2], lines[3]
                    check("%s hop %d: i=%d and cv=%s" % (sel, hop, hop, want),
                          aar.startswith("ARC-Authentication-Results: i=%d; mx.seal.test; " % hop)
                          and " i=%d;" % hop in ams and "cv=%s;" % want in seal, seal[:120])
                    check("%s hop %d: t= is the -T time" % (sel, hop),
                          "t=%s" % WHEN in ams and "t=%s" % WHEN in seal)
                    msg = ("\r\n".join(lines[1:4]) + "\r\n").encode() + msg
                    if sel == "rsa":
                        cv, _, reason = dkim.arc_verify(msg, dnsfunc=dnsfunc)
                        check("rsa hop %d: dkimpy validates the chain" % hop, cv == b"pass",
                              "%r %s" % (cv, reason))
                st, why = arc_of(run(conf, msg, tmp))
                check("%s: 3 sealed hops validate" % sel, st == "pass" and "3 instances" in why,
                      st + " " + why)
                st, why = arc_of(run(conf, msg.replace(b"bye\r\n", b"bye!\r\n"), tmp))
                check("%s: body changed after the seals: arc=fail" % sel,
                      st == "fail" and "AMS 3 body hash mismatch" in why, st + " " + why)
            conf = os.path.join(tmp, "rsa.conf")
            # hop 2 is a list that validates (pass), tags the subject, then seals
            # (dkimpy): AMS 1 no longer verifies, so header.oldest-pass=2
            lines = run(conf, BASE, tmp)
            msg = ("\r\n".join(lines[1:4]) + "\r\n").encode() + BASE
            msg = msg.replace(b"Subject: hello", b"Subject: [list] hello")
            msg = b"Authentication-Results: lists.example.org; arc=pass\r\n" + msg
            with open(keys["rsa"][0], "rb") as f:
                sets = dkim.arc_sign(msg, b"rsa", b"seal.example", f.read(), b"lists.example.org",
                                     include_headers=[b"from", b"subject"], timestamp=int(WHEN))
            lines = run(conf, b"".join(sets) + msg, tmp)
            check("a list's change after seal 1: arc=pass header.oldest-pass=2",
                  re.search(r"; arc=pass \(2 instances\) header.oldest-pass=2 smtp.remote-ip=192.0.2.1;",
                            lines[0]) is not None, lines[0])
            lines = run(conf, BASE.replace(b"alice@example.com", b"alice@reject.example"), tmp)
            check("a rejected message is not sealed",
                  [l.split(":")[0] for l in lines] == ["Authentication-Results", "action=reject"],
                  repr(lines))
            failed = (b"ARC-Seal: i=1; a=rsa-sha256; cv=fail; d=x.example; s=s; b=AAAA\r\n" + BASE)
            lines = run(conf, failed, tmp)
            check("a chain whose newest seal says cv=fail is not sealed again",
                  arc_of(lines)[0] == "fail" and not any(l.startswith("ARC-") for l in lines),
                  repr(lines))
            nul = b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=x.example; s=s;\0 b=AAAA\r\n" + BASE
            lines = run(conf, nul, tmp)
            st, why = arc_of(lines)
            check("a NUL byte in an ARC field: arc=fail, not sealed",
                  st == "fail" and "NUL" in why and not any(l.startswith("ARC-") for l in lines),
                  st + " " + why)
    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
