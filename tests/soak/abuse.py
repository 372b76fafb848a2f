#!/usr/bin/python3
"""abuse - hostile milter clients against the daemon while the load runs.

    abuse.py --port P --duration S --every W --idle N --hold-from A --hold-to B --out FILE

Every W seconds, on fresh connections:
    random    4 KiB of random bytes
    randpkt   50 well-framed packets with random command bytes and payloads
    huge      a length prefix of 2^31 and a command byte, then silence
    half      the first half of an OPTNEG packet, then silence (kept for 2 W, then
              closed by us)
    probe     a real OPTNEG, which must be answered: the daemon still serves
For random, randpkt and huge we wait up to 5 s for the daemon to close the
connection, then close it ourselves. From A to B seconds, N idle connections
(connect, send nothing) are held open; at B we count how many the daemon had
closed and close the rest.

FILE gets one "name value" line per counter at the end.
"""

import argparse
import os
import random
import select
import socket
import struct
import time

# OPTNEG as an MTA sends it: version 6, every action, every protocol step.
OPTNEG = struct.pack("!IcIII", 13, b"O", 6, 0x1FF, 0x1FFFFF)


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def closed_by_peer(s, wait):
    """Seconds until the peer closed (EOF or reset), or None if it was still open."""
    t0 = time.monotonic()
    while True:
        left = wait - (time.monotonic() - t0)
        if left <= 0:
            return None
        r, _, _ = select.select([s], [], [], left)
        if not r:
            return None
        try:
            if not s.recv(65536):
                return time.monotonic() - t0
        except OSError:
            return time.monotonic() - t0


class Counters(dict):
    def add(self, key, n=1):
        self[key] = self.get(key, 0) + n


def hit(c, port, name, payload):
    """Send payload on a new connection; count whether the daemon hung up within 5 s."""
    try:
        s = connect(port)
    except OSError:
        c.add(name + "_connect_failed")
        return
    c.add(name + "_sent")
    try:
        s.sendall(payload)
    except OSError:
        c.add(name + "_closed")    # the daemon closed while we were still sending
        s.close()
        return
    dt = closed_by_peer(s, 5.0)
    if dt is None:
        c.add(name + "_open_after_5s")
    else:
        c.add(name + "_closed")
        c["%s_close_max_ms" % name] = max(c.get("%s_close_max_ms" % name, 0), int(dt * 1000))
    s.close()


def randpkt():
    out = b""
    for _ in range(50):
        body = os.urandom(random.randrange(0, 64))
        out += struct.pack("!I", len(body) + 1) + bytes([random.randrange(256)]) + body
    return out


def probe(c, port):
    try:
        s = connect(port)
        s.sendall(OPTNEG)
        s.settimeout(10)
        head = s.recv(5, socket.MSG_WAITALL)
        ok = len(head) == 5 and head[4:5] == b"O"
        s.close()
    except OSError:
        ok = False
    c.add("probe_ok" if ok else "probe_failed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--duration", type=float, required=True)
    ap.add_argument("--every", type=float, default=10)
    ap.add_argument("--idle", type=int, default=500)
    ap.add_argument("--hold-from", type=float, default=0)
    ap.add_argument("--hold-to", type=float, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    c = Counters()
    t0 = time.monotonic()
    half, idle, held = [], [], False
    next_round = 0.0
    while True:
        now = time.monotonic() - t0
        if now >= a.duration:
            break
        if not held and a.idle and a.hold_from <= now < a.hold_to:
            held = True
            for _ in range(a.idle):
                try:
                    idle.append(connect(a.port))
                except OSError:
                    c.add("idle_connect_failed")
            c["idle_opened"] = len(idle)
        if held and idle and now >= a.hold_to:
            r, _, _ = select.select(idle, [], [], 0)
            gone = sum(1 for s in r if closed_by_peer(s, 0.01) is not None)
            c["idle_closed_by_daemon"] = gone
            c["idle_held_s"] = int(a.hold_to - a.hold_from)
            for s in idle:
                s.close()
            idle = []
        if now >= next_round:
            next_round = now + a.every
            hit(c, a.port, "random", os.urandom(4096))
            hit(c, a.port, "randpkt", randpkt())
            hit(c, a.port, "huge", struct.pack("!I", 1 << 31) + b"O")
            try:
                s = connect(a.port)
                s.sendall(OPTNEG[:7])
                half.append((time.monotonic(), s))
                c.add("half_sent")
            except OSError:
                c.add("half_connect_failed")
            probe(c, a.port)
        keep = []
        for t, s in half:
            if closed_by_peer(s, 0.001) is not None:
                c.add("half_closed_by_daemon")
                s.close()
            elif time.monotonic() - t >= 2 * a.every:
                c.add("half_open_when_we_closed")
                s.close()
            else:
                keep.append((t, s))
        half = keep
        time.sleep(0.2)
    for t, s in half:
        c.add("half_open_when_we_closed")
        s.close()
    for s in idle:
        s.close()
    with open(a.out, "w") as f:
        for k in sorted(c):
            f.write("%s %d\n" % (k, c[k]))


if __name__ == "__main__":
    main()
