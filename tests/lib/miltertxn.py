#!/usr/bin/env python3
"""miltertxn - play one SMTP transaction as the MTA over the milter protocol
and print how the milter ended it, so tests can check a milter's verdict and
its header changes without a real MTA.

usage: miltertxn.py HOST:PORT FROM_DOMAIN CLIENT_IP [NAME:VALUE ...]
The message has From: s@FROM_DOMAIN, the extra header fields given, a
Subject and a one-line body; MAIL FROM is at FROM_DOMAIN too.
prints: eom=<reply command> [SMTP reply text] mods=N [progress=P]
(a accept, r reject, t tempfail, y reply with text; N header changes seen;
P progress packets before the verdict, when there were any),
or eom=closed when the milter went away first.
Steps the milter asked not to get are not sent, and no reply is awaited
where it negotiated none (SMFIP_NR_*).
With PAUSE=SECONDS in the environment it waits that long before the end of
message (a message in flight while the test signals the daemon), and says
"paused" on standard error when it starts waiting.
With ACTIONS=0xN the MTA offers only those SMFIF_* actions (default all):
an action it did not offer fails in the milter, as on a broken connection.
"""
import os
import socket
import struct
import sys
import time

ACTIONS = int(os.environ.get("ACTIONS", "0x1FF"), 16)
PROTOCOL = 0x1FFFFF
LEADSPC = 0x00100000
# per command: the "do not send" flag and the "no reply" flag of the protocol word
SKIP_FLAG = {b"C": 0x1, b"H": 0x2, b"M": 0x4, b"R": 0x8, b"B": 0x10, b"L": 0x20,
             b"N": 0x40, b"T": 0x200}
NOREPLY_FLAG = {b"C": 0x1000, b"H": 0x2000, b"M": 0x4000, b"R": 0x8000, b"T": 0x10000,
                b"L": 0x80, b"N": 0x40000, b"B": 0x80000}


def send(s, cmd, data=b""):
    s.sendall(struct.pack("!I", len(data) + 1) + cmd + data)


def recv(s):
    head = s.recv(4, socket.MSG_WAITALL)
    if len(head) < 4:
        raise EOFError("milter closed the connection")
    size, = struct.unpack("!I", head)
    data = s.recv(size, socket.MSG_WAITALL)
    return data[:1], data[1:]


def steps(domain, ip, headers, leadspc):
    z = b"\0"
    d = domain.encode()
    out = [
        (b"C", b"mail." + d + z + b"4" + struct.pack("!H", 25) + ip.encode() + z),
        (b"H", b"mail." + d + z),
        (b"M", b"<s@" + d + b">" + z),
        (b"R", b"<rcpt@mx.test>" + z),
        (b"T", b""),
    ]
    fields = headers + [("From", "s@" + domain), ("Subject", "t")]
    for name, value in fields:
        value = (" " if leadspc else "") + value
        out.append((b"L", name.encode() + z + value.encode() + z))
    return out + [(b"N", b""), (b"B", b"body\r\n")]


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    domain, ip = sys.argv[2], sys.argv[3]
    headers = [tuple(h.split(":", 1)) for h in sys.argv[4:]]
    s = socket.create_connection((host, int(port)), timeout=10)
    send(s, b"O", struct.pack("!III", 6, ACTIONS, PROTOCOL))
    cmd, data = recv(s)
    if cmd != b"O":
        print("optneg reply %r" % cmd)
        return 1
    _, _, proto = struct.unpack("!III", data[:12])
    for cmd, data in steps(domain, ip, headers, proto & LEADSPC):
        if proto & SKIP_FLAG[cmd]:
            continue
        send(s, cmd, data)
        if proto & NOREPLY_FLAG[cmd]:
            continue	# the milter said it will not answer this step
        reply, _ = recv(s)
        if reply not in (b"c", b"s"):	# s: SKIP the rest of the body
            print("eom=none step=%s reply=%s" % (cmd.decode(), reply.decode()))
            return 0
    if os.environ.get("PAUSE"):
        print("paused before end of message", file=sys.stderr, flush=True)
        time.sleep(float(os.environ["PAUSE"]))
    mods = progress = 0
    try:
        send(s, b"E")
        replies = [recv(s)]
    except (EOFError, OSError):
        print("eom=closed mods=0")
        return 0
    while True:
        reply, data = replies.pop() if replies else recv(s)
        if reply in (b"h", b"i", b"m", b"q"):
            mods += reply != b"q"
            continue
        if reply == b"p":
            progress += 1
            continue
        text = data.rstrip(b"\0").decode(errors="replace") if reply == b"y" else ""
        print("eom=%s %s mods=%d%s" % (reply.decode(), text, mods,
                                        " progress=%d" % progress if progress else ""))
        return 0


if __name__ == "__main__":
    sys.exit(main())
