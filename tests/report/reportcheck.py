#!/usr/bin/env python3
"""reportcheck - read back what authmilter-report produced, with readers
that are not ours: Python's email and gzip modules, ElementTree, and
dmarc-cat (Debian's independent DMARC report reader).

  reportcheck.py count GZ        sum of <count> (ElementTree)
  reportcheck.py dmarccat GZ     sum of dmarc-cat's Count column
  reportcheck.py xml GZ          the XML on stdout
  reportcheck.py mail FILE OUTDIR
      parse one message (an .eml or a delivered maildir file): check the
      RFC 9990 Subject, save the gzip attachment under its file name in
      OUTDIR, print "REPORT-ID TO FILENAME"
"""
import email
import email.policy
import gzip
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

NS = "{urn:ietf:params:xml:ns:dmarc-2.0}"


def count(path):
    root = ET.fromstring(gzip.open(path).read())
    return sum(int(c.text) for c in root.iter(NS + "count"))


def dmarccat(path):
    out = subprocess.run(["dmarc-cat", "-N", path], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    total, rows = 0, False
    for line in out.splitlines():
        if line.startswith("Reports("):
            rows = True
            continue
        fields = line.split()
        if rows and len(fields) >= 2 and fields[1].isdigit():
            total += int(fields[1])
    return total


def mail(path, outdir):
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    subject = str(msg["Subject"])
    m = re.fullmatch(r"Report Domain: (\S+) Submitter: (\S+) Report-ID: <(\S+)>", subject)
    if not m:
        sys.exit("bad Subject: %r" % subject)
    names = []
    for part in msg.iter_attachments():
        if part.get_content_type() != "application/gzip":
            sys.exit("attachment type %s" % part.get_content_type())
        name = part.get_filename()
        data = part.get_content()
        gzip.decompress(data)  # must be valid gzip
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
        names.append(name)
    if len(names) != 1 or not any(p.get_content_type() == "text/plain" for p in msg.walk()):
        sys.exit("want one gzip attachment and a text part, got %r" % names)
    if m.group(3) not in names[0]:
        sys.exit("Report-ID %s not in the file name %s" % (m.group(3), names[0]))
    print(m.group(3), str(msg["To"]), names[0])


def main():
    cmd = sys.argv[1]
    if cmd == "count":
        print(count(sys.argv[2]))
    elif cmd == "dmarccat":
        print(dmarccat(sys.argv[2]))
    elif cmd == "xml":
        sys.stdout.write(gzip.open(sys.argv[2]).read().decode())
    elif cmd == "mail":
        mail(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
