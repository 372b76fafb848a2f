#!/usr/bin/python3
"""gen - the soak test's data: an ldns-testns datafile, a clean corpus, one corpus per DNS fault.

    gen.py --out DIR [--messages N] [--per-fault N]

writes
    DIR/zone.data            ldns-testns datafile for soak.example (catch-all NXDOMAIN)
    DIR/corpus/              N signed messages from the good domains, index.tsv as
                             ../shared/bench/milterload.c reads it (10% tampered and sent
                             from outside the SPF range: DMARC p=reject must reject them)
    DIR/fault/KIND/          per fault kind, messages from f-KIND-TARGET.soak.example and
                             an index.tsv whose expected results say what that fault must
                             give (faults.py reads the same names to know what to break)

Keys come from tests/dkim/keys (RSA 2048 and ed25519), published under every domain, so
nothing is generated but the signatures (python3-dkim, relaxed/relaxed).
"""

import argparse
import base64
import os
import random
import subprocess
import sys

import dkim

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import zonefile  # noqa: E402

KEYS = os.path.join(HERE, "..", "dkim", "keys")
ZONE = "soak.example"
GOOD_NET = "198.51.100."
BAD_IP = "203.0.113.5"
SPF = "v=spf1 ip4:198.51.100.0/24 -all"
DMARC = "v=DMARC1; p=reject"
SIGNED = [b"from", b"to", b"subject", b"date", b"message-id"]

# Fault kinds (faults.py implements them) and what the affected check must say.
# "either" kinds depend on timing or chance: pass or temperror are both right, so the
# driver does not check that method (the run reports the counts it saw instead).
KINDS = {
    "timeout": "temperror",    # no answer at all
    "servfail": "temperror",
    "garbage": "temperror",    # random bytes instead of a DNS message
    "tcfail": "temperror",     # TC bit set, the TCP fallback is closed unanswered
    "tcok": "pass",            # TC bit set, the full answer comes over TCP
    "tchang": "temperror",     # TC bit set, the TCP fallback is accepted, never answered
    "late3": "temperror",      # every answer 3 s late: after DNSTimeout 2 each time
    "late1": "either",         # every answer 1 s late: inside DNSTimeout 2
    "flaky": "either",         # 30% of queries get SERVFAIL
}
TARGETS = ("spf", "dkim", "dmarc")
helos = set()       # every HELO name used: each gets an NXDOMAIN entry


def keys():
    with open(os.path.join(KEYS, "rsa2048.key"), "rb") as f:
        rsa = f.read()
    der = subprocess.run(["openssl", "rsa", "-in", os.path.join(KEYS, "rsa2048.key"),
                          "-pubout", "-outform", "DER"], capture_output=True,
                         check=True).stdout
    with open(os.path.join(KEYS, "ed25519.key"), "rb") as f:
        ed = f.read().strip()
    with open(os.path.join(KEYS, "ed25519.dns")) as f:
        ed_txt = f.read().strip()
    return {
        "rsa": (rsa, b"rsa-sha256", "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()),
        "ed": (ed, b"ed25519-sha256", ed_txt),
    }


def records(domain, sel, keytxt, ttl):
    """The three TXT entries a domain needs: SPF, DMARC, its DKIM key."""
    out = []
    for name, text in ((domain, SPF), ("_dmarc." + domain, DMARC),
                       ("%s._domainkey.%s" % (sel, domain), keytxt)):
        answer = "%s. %d IN TXT %s" % (name, ttl, zonefile.txt_rdata(text))
        out.append(zonefile.entry(name, "TXT", answers=[answer]))
    return out


def message(rng, n, domain, sel, key, tampered, bad_ip):
    user = "user%d" % rng.randrange(1000)
    ip = BAD_IP if bad_ip else GOOD_NET + str(rng.randrange(1, 255))
    helo = "mail." + domain
    date = "Wed, 02 Dec 2026 12:%02d:%02d +0000" % (n // 60 % 60, n % 60)
    lines = ["From: Soak %d <%s@%s>" % (n, user, domain),
             "To: <rcpt%d@mx.soak.test>" % n,
             "Subject: soak message %d" % n,
             "Date: " + date,
             "Message-ID: <soak.%d.%x@%s>" % (n, rng.getrandbits(48), domain)]
    body = "".join("line %d of message %d %s\r\n" % (i, n, "x" * rng.randrange(60))
                   for i in range(40)).encode()
    msg = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    priv, alg, _ = key
    sig = dkim.sign(msg, sel.encode(), domain.encode(), priv, include_headers=SIGNED,
                    canonicalize=(b"relaxed", b"relaxed"), signature_algorithm=alg)
    msg = sig + msg
    if tampered:
        msg = msg.replace(b"line 3 of", b"LINE 3 of", 1)
    top = ("Received: from %s (%s [%s])\r\n\tby mx.soak.test (Postfix) with ESMTP id %08X\r\n"
           "\tfor <rcpt%d@mx.soak.test>; %s\r\n" % (helo, helo, ip, n, n, date))
    env = {"ip": ip, "helo": helo, "from": "%s@%s" % (user, domain),
           "rcpt": "rcpt%d@mx.soak.test" % n, "domain": domain}
    helos.add(helo)
    return top.encode() + msg, env


def write_corpus(path, items):
    """items: (raw message, envelope, expect, expect_ar); index.tsv as milterload reads it."""
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "index.tsv"), "w") as idx:
        idx.write("#file\tip\thelo\tfrom\trcpt\tdomain\talg\tcname\ttampered\texpect\texpect_ar\n")
        for i, (raw, env, expect, ar) in enumerate(items):
            name = "%04d.eml" % i
            with open(os.path.join(path, name), "wb") as f:
                f.write(raw)
            idx.write("\t".join([name, env["ip"], env["helo"], env["from"], env["rcpt"],
                                 env["domain"], "-", "0", "0", expect, ar]) + "\n")


def expected(kind, target):
    """The expect_ar of a message whose TARGET lookup suffers KIND."""
    res = {"spf": "pass", "dkim": "pass", "dmarc": "pass"}
    want = KINDS[kind]
    if target == "all":
        res = {m: want for m in res}
    else:
        res[target] = want
        # DMARC passes on the other aligned identifier when SPF or DKIM is broken
    return ",".join("%s=%s" % (m, r) for m, r in res.items() if r != "either")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--per-fault", type=int, default=2)
    ap.add_argument("--seed", type=int, default=8)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    ks = keys()
    zone = ["$TTL 300"]

    good = ["g%02d.%s" % (i, ZONE) for i in range(10)]
    sel_of = {d: ("rsa" if i % 2 == 0 else "ed") for i, d in enumerate(good)}
    for d in good:
        zone += records(d, sel_of[d], ks[sel_of[d]][2], 300)
    items = []
    for n in range(args.messages):
        d = good[n % len(good)]
        bad = n % 10 == 9
        raw, env = message(rng, n, d, sel_of[d], ks[sel_of[d]], bad, bad)
        items.append((raw, env, "reject" if bad else "accept",
                      "dkim=fail,spf=fail,dmarc=fail" if bad else
                      "dkim=pass,spf=pass,dmarc=pass"))
    write_corpus(os.path.join(args.out, "corpus"), items)

    # Fault domains: TTL 1, so that the fault is met again and again, not cached away.
    faults = [(k, t) for k in KINDS for t in TARGETS] + [("timeout", "all")]
    n = 10000
    for kind in KINDS:
        items = []
        for k, t in faults:
            if k != kind:
                continue
            d = "f-%s-%s.%s" % (k, t, ZONE)
            sel = "rsa"      # a 2048-bit key: the largest answer, for the TC cases
            zone += records(d, sel, ks[sel][2], 1)
            for _ in range(args.per_fault):
                raw, env = message(rng, n, d, sel, ks[sel], False, False)
                n += 1
                items.append((raw, env, "accept", expected(k, t)))
        write_corpus(os.path.join(args.out, "fault", kind), items)

    # The names every message asks for that do not exist (the HELO's SPF, the DMARC
    # tree walk above the author domain) answer NXDOMAIN with an SOA whose minimum
    # lets the daemon cache them (RFC 2308), as with any real server; the rest gets
    # the catch-all (ldns-testns cannot copy the question and add an SOA).
    def nxdomain(name, zone_apex):
        soa = "%s. 300 IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300" % (
            zone_apex, ZONE, ZONE)
        return zonefile.entry(name, "TXT", rcode="NXDOMAIN", authority=[soa])
    for name in sorted(helos):
        zone.append(nxdomain(name, ZONE))
    zone.append(nxdomain("_dmarc." + ZONE, ZONE))
    zone.append(nxdomain("_dmarc.example", "example"))
    zone.append(zonefile.entry(None, None, rcode="NXDOMAIN", copy_query=True))
    with open(os.path.join(args.out, "zone.data"), "w") as f:
        f.write("\n".join(zone) + "\n")


if __name__ == "__main__":
    main()
