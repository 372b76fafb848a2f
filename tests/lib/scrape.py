#!/usr/bin/env python3
"""scrape - print the value of each named Prometheus sample from a /metrics URL.

usage: scrape.py [--strict] URL 'name{label="v"}' ...
A missing sample prints 0 (a labelled counter may not exist before its first
increment); with --strict each missing name is also named on stderr and the
exit status is 3, so a renamed or dropped metric cannot pass as a zero."""
import sys
import urllib.request

args = sys.argv[1:]
strict = bool(args) and args[0] == "--strict"
if strict:
    args = args[1:]
text = urllib.request.urlopen(args[0], timeout=10).read().decode()
samples = {}
for line in text.splitlines():
    if line and not line.startswith("#"):
        name, _, value = line.rpartition(" ")
        samples[name] = value
print(" ".join(samples.get(name, "0") for name in args[1:]))
missing = [name for name in args[1:] if name not in samples]
if strict and missing:
    print("scrape: missing samples: " + " ".join(missing), file=sys.stderr)
    sys.exit(3)
