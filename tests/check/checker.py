#!/usr/bin/python3
"""checker - authmilter-check against zones served by ldns-testns and MTA-STS
policies served over HTTPS by nginx, with a CA and certificates made here.

The zones reproduce the shapes admins get wrong (issue 12): an Office 365
tenant with one dangling selector CNAME, SPF at 11 lookups through three
levels of includes, ~all, two SPF records, an outside rua= that never
authorized the domain, a 1024-bit key, pct=50, a parked domain, a DNS
timeout on _dmarc; and MTA-STS with a good policy, wrong mx:, an expired
certificate, a redirect and an oversized body. Each case asserts check ids'
statuses in --json and the exit status.

usage: checker.py AUTHMILTER_CHECK_BINARY [--show DOMAIN...]
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "dkim"))
import dkim_corpus  # noqa: E402
import zonefile  # noqa: E402
from testns import TestNS, free_port  # noqa: E402


def txt(*strings):
    return [("TXT", zonefile.txt_rdata(s)) for s in strings]


def zone():
    rsa1024, rsa2048 = dkim_corpus.rsa_public("rsa1024"), dkim_corpus.rsa_public("rsa2048")
    ed = dkim_corpus.ed_public()
    loop = [("A", "127.0.0.1")]
    sts_good = txt("v=STSv1; id=20261202T000000")
    z = {
        # Office 365 tenant: the provider's SPF include, two selector CNAMEs, one dangling
        "o365.example": txt("v=spf1 include:spf.protection.outlook.com -all")
        + [("MX", "0 o365-example.mail.protection.outlook.com.")],
        "o365-example.mail.protection.outlook.com": [("A", "192.0.2.25")],
        "spf.protection.outlook.com": txt("v=spf1 ip4:40.92.0.0/15 ip4:40.107.0.0/16 "
                                          "include:spfd.protection.outlook.com -all"),
        "spfd.protection.outlook.com": txt("v=spf1 ip4:51.4.72.0/24 ip6:2a01:111:f400::/48 -all"),
        "selector1._domainkey.o365.example":
            [("CNAME", "selector1-o365-example._domainkey.o365tenant.onmicrosoft.com.")],
        "selector1-o365-example._domainkey.o365tenant.onmicrosoft.com":
            txt("v=DKIM1; k=rsa; p=" + rsa2048),
        "selector2._domainkey.o365.example":
            [("CNAME", "selector2-o365-example._domainkey.o365tenant.onmicrosoft.com.")],
        "_dmarc.o365.example": txt("v=DMARC1; p=reject; rua=mailto:dmarc@o365.example"),
        "_mta-sts.o365.example": sts_good,
        "mta-sts.o365.example": loop,
        "_smtp._tls.o365.example": txt("v=TLSRPTv1; rua=mailto:tlsrpt@o365.example"),

        # The broken domain: 11 lookups through three levels, ~all, pct=50, an outside
        # rua= without authorization, a 1024-bit key, MTA-STS mx: not matching the MX
        "broken.example": txt("v=spf1 include:l1a.broken.example include:l1b.broken.example ~all")
        + [("MX", "10 mx1.broken.example."), ("MX", "20 backup.mailhost.example.")],
        "l1a.broken.example": txt("v=spf1 include:l2a.broken.example a:h1.broken.example "
                                  "mx:h1.broken.example -all"),
        "l2a.broken.example": txt("v=spf1 include:l3a.broken.example a:h2.broken.example -all"),
        "l3a.broken.example": txt("v=spf1 a:h1.broken.example exists:h3.broken.example -all"),
        "l1b.broken.example": txt("v=spf1 mx:h1.broken.example a:h2.broken.example -all"),
        "h1.broken.example": [("A", "192.0.2.1"), ("MX", "10 mx1.broken.example.")],
        "h2.broken.example": [("A", "192.0.2.2")],
        "mx1.broken.example": [("A", "192.0.2.3")],
        "backup.mailhost.example": [("A", "192.0.2.4")],
        "_dmarc.broken.example": txt("v=DMARC1; p=none; pct=50; "
                                     "rua=mailto:reports@dmarc-collector.example"),
        "dmarc-collector.example": [("A", "192.0.2.9")],
        "s1._domainkey.broken.example": txt("v=DKIM1; k=rsa; p=" + rsa1024),
        "_mta-sts.broken.example": sts_good,
        "mta-sts.broken.example": loop,

        # Two SPF records
        "twospf.example": txt("v=spf1 ip4:192.0.2.0/24 -all", "v=spf1 include:_spf.google.com ~all")
        + [("MX", "10 mx.twospf.example.")],
        "mx.twospf.example": [("A", "192.0.2.5")],
        "_dmarc.twospf.example": txt("v=DMARC1; p=none", "v=DMARC1; p=reject"),

        # A parked domain
        "parked.example": txt("v=spf1 -all") + [("MX", "0 .")],
        "_dmarc.parked.example": txt("v=DMARC1; p=reject; rua=mailto:abuse@parked.example"),
        "parkedbad.example": txt("v=spf1 -all"),
        "_dmarc.parkedbad.example": txt("v=DMARC1; p=none; rua=mailto:a@parkedbad.example"),

        # A DNS timeout on _dmarc
        "slow.example": txt("v=spf1 ip4:192.0.2.0/24 -all") + [("MX", "10 mx.slow.example.")],
        "mx.slow.example": [("A", "192.0.2.6")],
        "_dmarc.slow.example": ["SLEEP"],

        # Keys: ed25519, t=y, revoked, unparseable; a missing include target
        "keys.example": txt("v=spf1 include:gone.example -all") + [("MX", "10 mx.keys.example.")],
        "mx.keys.example": [("A", "192.0.2.7")],
        "ed._domainkey.keys.example": txt("v=DKIM1; k=ed25519; p=" + ed),
        "test._domainkey.keys.example": txt("v=DKIM1; k=rsa; t=y; p=" + rsa2048),
        "old._domainkey.keys.example": txt("v=DKIM1; k=rsa; p="),
        "bad._domainkey.keys.example": txt("v=DKIM1; k=rsa; p=@@@not base64@@@"),
        "_dmarc.keys.example": txt("v=DMARC1; p=quarantine; adkim=s; "
                                   "rua=mailto:d@keys.example,mailto:x@agency.example"),
        "keys.example._report._dmarc.agency.example": txt("v=DMARC1"),
        "agency.example": [("A", "192.0.2.8")],
    }
    # MTA-STS variants: each has an MX the good policy shape would cover
    for name in ("good", "wrongmx", "expired", "redirect", "big"):
        d = "sts-%s.example" % name
        z[d] = txt("v=spf1 -all") + [("MX", "10 mx.%s." % d)]
        z["mx." + d] = [("A", "192.0.2.10")]
        z["_dmarc." + d] = txt("v=DMARC1; p=reject; rua=mailto:r@%s" % d)
        z["_mta-sts." + d] = sts_good
        z["mta-sts." + d] = loop
        z["_smtp._tls." + d] = txt("v=TLSRPTv1; rua=mailto:t@%s" % d)
        z["s1._domainkey." + d] = txt("v=DKIM1; k=ed25519; p=" + ed)
    return z


POLICY = "version: STSv1\r\nmode: enforce\r\nmx: %s\r\nmax_age: 1209600\r\n"

CA_CNF = """[ca]
default_ca = ca_default
[ca_default]
dir = {dir}
database = {dir}/index.txt
new_certs_dir = {dir}
serial = {dir}/serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
"""


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_pki(d):
    """A test CA, a certificate for the good names, an expired one."""
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write(CA_CNF.format(dir=d))
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("1000\n")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-subj", "/CN=authmilter test CA", "-days", "2", cwd=d)
    good = ["mta-sts.o365.example", "mta-sts.broken.example"] + [
        "mta-sts.sts-%s.example" % n for n in ("good", "wrongmx", "redirect", "big")]
    for name, names, dates in (("good", good, ["-days", "2"]),
                               ("expired", ["mta-sts.sts-expired.example"],
                                ["-startdate", "20200101000000Z", "-enddate", "20200201000000Z"])):
        san = "subjectAltName=" + ",".join("DNS:" + n for n in names)
        openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out",
                name + ".csr", "-subj", "/CN=" + names[0], "-addext", san, cwd=d)
        openssl("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key",
                "-in", name + ".csr", "-out", name + ".pem", "-notext", *dates, cwd=d)


NGINX_CONF = """worker_processes 1;
user root;
daemon off;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/t-body; proxy_temp_path {d}/t-proxy;
    fastcgi_temp_path {d}/t-fcgi; uwsgi_temp_path {d}/t-uwsgi; scgi_temp_path {d}/t-scgi;
    types {{ text/plain txt; }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name mta-sts.sts-redirect.example;
        ssl_certificate {d}/good.pem; ssl_certificate_key {d}/good.key;
        location / {{ return 301 https://mta-sts.sts-good.example:{port}$request_uri; }}
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name mta-sts.sts-expired.example;
        ssl_certificate {d}/expired.pem; ssl_certificate_key {d}/expired.key;
        root {d}/www/$host;
    }}
    server {{
        listen 127.0.0.1:{port} ssl default_server;
        server_name _;
        ssl_certificate {d}/good.pem; ssl_certificate_key {d}/good.key;
        root {d}/www/$host;
    }}
}}
"""


def write_policy(d, host, text):
    path = os.path.join(d, "www", host, ".well-known")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "mta-sts.txt"), "w") as f:
        f.write(text)


class Nginx:
    def __init__(self, d):
        self.d = d

    def __enter__(self):
        for host, mx in (("o365.example", "*.mail.protection.outlook.com"),
                         ("broken.example", "mx1.broken.example"),
                         ("sts-good.example", "mx.sts-good.example"),
                         ("sts-wrongmx.example", "mail.sts-wrongmx.example"),
                         ("sts-expired.example", "mx.sts-expired.example")):
            write_policy(self.d, "mta-sts." + host, POLICY % mx)
        write_policy(self.d, "mta-sts.sts-big.example",
                     POLICY % "mx.sts-big.example" + "# padding\r\n" * 8000)
        for _ in range(10):
            self.port = free_port()
            with open(os.path.join(self.d, "nginx.conf"), "w") as f:
                f.write(NGINX_CONF.format(d=self.d, port=self.port))
            self.proc = subprocess.Popen(["nginx", "-p", self.d, "-c", "nginx.conf"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True)
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                    # an nginx that could not bind has exited: what answered was
                    # another process on the port, gone by the time the checks run
                    time.sleep(0.05)
                    if self.proc.poll() is None:
                        return self
                    break
                except OSError:
                    if self.proc.poll() is not None:
                        break
                    time.sleep(0.02)
            self.stop()
        raise RuntimeError("nginx did not start")

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def __exit__(self, *exc):
        self.stop()


# (domain, extra args, exit status, {check id (or id/selector): status})
CASES = [
    ("o365.example", [], 2, {
        "spf.record": "ok", "spf.syntax": "ok", "spf.lookups": "ok", "spf.all": "ok",
        "spf.include": "ok", "dkim.cname/selector1": "ok", "dkim.key/selector1": "ok",
        "dkim.cname/selector2": "fail", "dmarc.record": "ok", "dmarc.policy": "ok",
        "dmarc.rua": "ok", "mtasts.record": "ok", "mtasts.policy": "ok", "mtasts.mode": "ok",
        "mtasts.max_age": "ok", "mtasts.mx": "ok", "tlsrpt.record": "ok", "mx.record": "ok"}),
    ("broken.example", [], 2, {
        "spf.lookups": ("fail", "11 DNS lookups"), "spf.all": "warn", "spf.void": "ok", "dkim.key/s1": "warn",
        "dmarc.policy": "warn", "dmarc.pct": "warn", "dmarc.rua": "fail", "mtasts.mx": "fail",
        "tlsrpt.record": "warn", "mx.hosts": "ok"}),
    ("twospf.example", [], 2, {"spf.record": ("fail", "more than one v=spf1"),
                               "dmarc.record": ("fail", "2 DMARC records")}),
    ("parked.example", [], 0, {"mx.record": "ok", "spf.record": "ok", "spf.all": "ok",
                               "dmarc.policy": "ok", "domain.parked": "ok",
                               "dkim.selectors": "ok"}),
    ("parkedbad.example", [], 1, {"mx.record": "warn", "domain.parked": "warn",
                                  "dmarc.policy": "warn"}),
    ("slow.example", [], 3, {"spf.record": "ok", "dmarc.record": "error"}),
    ("keys.example", ["-s", "ed", "-s", "test", "-s", "old", "-s", "bad", "-s", "nosuch"], 2, {
        "dkim.key/ed": "ok", "dkim.testing/test": "warn", "dkim.revoked/old": "warn",
        "dkim.syntax/bad": "fail", "dkim.selector/nosuch": "fail", "spf.include": "fail",
        "dmarc.rua": "ok", "mtasts.record": "warn"}),
    ("sts-good.example", [], 0, {"mtasts.policy": "ok", "mtasts.mx": "ok", "mtasts.mode": "ok"}),
    ("sts-wrongmx.example", [], 2, {"mtasts.policy": "ok", "mtasts.mx": "fail"}),
    ("sts-expired.example", [], 2, {"mtasts.policy": "fail"}),
    ("sts-redirect.example", [], 2, {"mtasts.policy": "fail"}),
    ("sts-big.example", [], 2, {"mtasts.policy": "fail"}),
]


# message mode: (name, signer domain/selector/key or None, from domain, ip, mail from,
# sentences the explanation must hold)
MESSAGES = [
    ("o365-pass", ("o365.example", "selector1", "rsa2048"), "o365.example", "40.92.1.1",
     "alice@o365.example", [
         "SPF: the MAIL FROM identity alice@o365.example: pass, because o365.example "
         "matched include:spf.protection.outlook.com.",
         "DKIM: the signature of d=o365.example (selector selector1, rsa-sha256) is pass",
         "Alignment: SPF passed for o365.example, which aligns with the From domain exactly.",
         "Alignment: DKIM passed for d=o365.example, which aligns with the From domain exactly.",
         "Action: accept."]),
    ("broken-fail", None, "broken.example", "203.0.113.7", "bob@broken.example", [
        "SPF: the MAIL FROM identity bob@broken.example: permerror, because more than 10 DNS "
        "lookups",
        "DKIM: the message has no signature.",
        "DMARC: for the From domain broken.example: fail (p=none",
        "Alignment: nothing aligned: neither SPF nor any DKIM signature passed.",
        "Action: accept."]),
    ("o365-badsig", ("o365.example", "selector2", "rsa2048"), "o365.example", "203.0.113.7",
     "alice@o365.example", [
         "SPF: the MAIL FROM identity alice@o365.example: fail, because o365.example matched "
         "-all.",
         "DKIM: the signature of d=o365.example (selector selector2, rsa-sha256) is",
         "DMARC: for the From domain o365.example: fail (p=reject dis=reject",
         "Action: reject, with the SMTP reply 550"]),
]


def run_messages(binary, conf, d):
    passed = failed = 0
    for name, signer, domain, ip, mailfrom, want in MESSAGES:
        msg = dkim_corpus.message(name, domain=domain)
        if signer:
            msg = dkim_corpus.sign(msg, signer[1], signer[2], domain=signer[0])
        path = os.path.join(d, name + ".eml")
        with open(path, "wb") as f:
            f.write(msg)
        p = subprocess.run([binary, "message", path, "-i", ip, "-H", "mail." + domain,
                            "-s", mailfrom, "-c", conf], capture_output=True, timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        missing = [w for w in want if w not in out]
        if missing or p.returncode != 0:
            failed += 1
            print("FAIL message %s (exit %d)\n  missing: %s\n%s%s" % (
                name, p.returncode, missing, out, p.stderr.decode()[:300]))
        else:
            passed += 1
            print("ok   message %s" % name)
    return passed, failed


def status_of(checks, key):
    cid, _, sel = key.partition("/")
    found = [c for c in checks if c["id"] == cid
             and (not sel or c["details"].get("selector") == sel)]
    return found[0] if len(found) == 1 else None, "missing" if not found else "several"


def run(binary, conf, pki, port, domain, extra, json_out=True):
    args = [binary, "domain", domain, "-c", conf, "--ca-file", os.path.join(pki, "ca.pem"),
            "--https-port", str(port)] + extra + (["--json"] if json_out else [])
    return subprocess.run(args, capture_output=True, timeout=120, env=dict(os.environ, NO_COLOR="1"))


def main():
    binary = sys.argv[1]
    show = sys.argv[3:] if len(sys.argv) > 2 and sys.argv[2] == "--show" else []
    for tool in ("ldns-testns", "nginx", "openssl"):
        if shutil.which(tool) is None:
            print("SKIP: %s not installed" % tool)
            return 77
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="authmilter-check-") as d, \
            TestNS(zonefile.datafile(zone()), forks=3) as ns:
        os.chmod(d, 0o755)
        make_pki(d)
        conf = os.path.join(d, "authmilter.conf")
        with open(conf, "w") as f:
            f.write("Nameservers 127.0.0.1:%d\nDNSTimeout 1\nDNSRetries 0\n" % ns.port)
        with Nginx(d) as web:
            for domain in show:
                p = run(binary, conf, d, web.port, domain, [], json_out=False)
                sys.stdout.write(p.stdout.decode())
                print("exit status %d\n" % p.returncode)
            for domain, extra, want_rc, want in CASES:
                p = run(binary, conf, d, web.port, domain, extra)
                try:
                    doc = json.loads(p.stdout)
                    checks = doc["checks"]
                    bad = [] if doc["domain"] == domain else ["domain %r" % doc["domain"]]
                except (ValueError, KeyError) as e:
                    checks, bad = [], ["no JSON: %s %s" % (e, p.stderr.decode()[:200])]
                for key, st in want.items():
                    st, text = st if isinstance(st, tuple) else (st, "")
                    c, why = status_of(checks, key)
                    if c is None or c["status"] != st or text not in c["message"]:
                        bad.append("%s: want %s %r, got %s" % (key, st, text,
                                                               c["status"] if c else why))
                for c in checks:
                    if set(c) != {"id", "status", "message", "details"} \
                            or c["status"] not in ("ok", "warn", "fail", "error"):
                        bad.append("malformed check %r" % c)
                if p.returncode != want_rc:
                    bad.append("exit status %d, want %d" % (p.returncode, want_rc))
                if bad:
                    failed += 1
                    print("FAIL %s\n  %s" % (domain, "\n  ".join(bad)))
                    for c in checks:
                        print("    %-6s %-15s %s" % (c["status"], c["id"], c["message"]))
                else:
                    passed += 1
                    print("ok   %s (%d checks, exit %d)" % (domain, len(checks), p.returncode))
        mp, mf = run_messages(binary, conf, d)
        passed, failed = passed + mp, failed + mf
    print("authmilter-check cases: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
