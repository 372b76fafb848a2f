#!/usr/bin/env python3
"""scrape - print the value of each named Prometheus sample from a /metrics URL.

usage: scrape.py URL 'name{label="v"}' ...   (a missing sample prints 0)"""
import sys
import urllib.request

text = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
samples = {}
for line in text.splitlines():
    if line and not line.startswith("#"):
        name, _, value = line.rpartition(" ")
        samples[name] = value
print(" ".join(samples.get(name, "0") for name in sys.argv[2:]))
