#!/usr/bin/env python3
"""milterneg - speak the first step of the milter protocol (SMFIC_OPTNEG) to a
milter and print what it asked for, so tests can check the negotiation.

usage: milterneg.py HOST:PORT | /unix/path
prints: version=N actions=0x.. protocol=0x..
and, when the milter asked for its own macro lists (SMFIF_SETSYMLIST), a
second line: macros STAGE=LIST ... (stages as in libmilter: connect helo
envfrom envrcpt data eom eoh; an empty LIST asks for no macro there)
"""
import socket
import struct
import sys

ALL_ACTIONS = 0x1FF
ALL_PROTOCOL = 0x1FFFFF
STAGES = ["connect", "helo", "envfrom", "envrcpt", "data", "eom", "eoh"]


def main():
    target = sys.argv[1]
    if target.startswith("/"):
        s = socket.socket(socket.AF_UNIX)
        s.connect(target)
    else:
        host, port = target.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=10)
    body = b"O" + struct.pack("!III", 6, ALL_ACTIONS, ALL_PROTOCOL)
    s.sendall(struct.pack("!I", len(body)) + body)
    size, = struct.unpack("!I", s.recv(4, socket.MSG_WAITALL))
    reply = s.recv(size, socket.MSG_WAITALL)
    if reply[:1] != b"O":
        print("unexpected reply %r" % reply[:1])
        return 1
    version, actions, protocol = struct.unpack("!III", reply[1:13])
    print("version=%d actions=0x%x protocol=0x%x" % (version, actions, protocol))
    rest, lists = reply[13:], []
    while len(rest) >= 5:	# (32-bit stage, NUL-terminated list) pairs
        stage, = struct.unpack("!I", rest[:4])
        text, _, rest = rest[4:].partition(b"\0")
        name = STAGES[stage] if stage < len(STAGES) else str(stage)
        lists.append("%s=%s" % (name, text.decode(errors="replace")))
    if lists:
        print("macros " + " ".join(lists))
    s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
