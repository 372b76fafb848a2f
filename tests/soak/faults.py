#!/usr/bin/python3
"""faults - a DNS server on loopback that breaks chosen names and passes the rest on.

    faults.py --port P --upstream UPORT --stats FILE

Listens on 127.0.0.1:P, UDP and TCP. A query whose name lies under a domain
f-KIND-TARGET.soak.example (see gen.py) and asks for TARGET's record (spf: TXT at
the domain; dkim: TXT under _domainkey; dmarc: TXT at _dmarc; all: every name)
suffers KIND:

    timeout   no answer              servfail  rcode SERVFAIL
    garbage   random bytes (the query id first, so only parsing can reject them)
    tcfail    TC bit over UDP; over TCP the connection is closed unanswered
    tcok      TC bit over UDP; the full answer over TCP
    tchang    TC bit over UDP; over TCP the query is read and never answered (30 s)
    late1     the real answer 1 s late   late3   the real answer 3 s late
    flaky     SERVFAIL for 30% of the queries, the real answer otherwise

Every other query is forwarded to ldns-testns on 127.0.0.1:UPORT (UDP), which holds
the zone. FILE gets "kind queries faulted" lines on SIGTERM and every 5 s, so the
run can show that each fault was met (all-udp, all-tcp: every query received).
"""

import argparse
import os
import random
import signal
import socket
import socketserver
import struct
import sys
import threading
import time

LOCK = threading.Lock()
STATS = {}          # kind -> [queries seen, queries faulted]
KINDS = ("timeout", "servfail", "garbage", "tcfail", "tcok", "tchang", "late1", "late3",
         "flaky")


def count(kind, faulted):
    with LOCK:
        s = STATS.setdefault(kind, [0, 0])
        s[0] += 1
        s[1] += faulted


def question(pkt):
    """(qname lowercased, end offset of the question) or None for a packet we cannot read."""
    if len(pkt) < 12 or struct.unpack("!H", pkt[4:6])[0] != 1:
        return None
    labels, off = [], 12
    while off < len(pkt):
        n = pkt[off]
        if n == 0:
            off += 1
            break
        if n & 0xC0:
            return None
        labels.append(pkt[off + 1:off + 1 + n].decode("ascii", "replace").lower())
        off += 1 + n
    if off + 4 > len(pkt):
        return None
    return ".".join(labels), off + 4


def fault_of(name):
    """The fault KIND for this query name, or None."""
    labels = name.split(".")
    for i, label in enumerate(labels):
        if not label.startswith("f-"):
            continue
        parts = label.split("-")
        if len(parts) != 3 or parts[1] not in KINDS:
            return None
        kind, target, above = parts[1], parts[2], labels[:i]
        if target == "all":
            return kind
        if target == "spf" and not above:
            return kind
        if target == "dmarc" and above == ["_dmarc"]:
            return kind
        if target == "dkim" and len(above) == 2 and above[1] == "_domainkey":
            return kind
        return None
    return None


def reply_header(query, qend, rcode=0, tc=False):
    """A reply carrying only the question: flags QR RD RA (+TC), the given rcode."""
    flags = 0x8000 | 0x0100 | 0x0080 | rcode | (0x0200 if tc else 0)
    return query[:2] + struct.pack("!HHHHH", flags, 1, 0, 0, 0) + query[12:qend]


def upstream(query, port, timeout=5.0):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(query, ("127.0.0.1", port))
        try:
            return s.recv(65535)
        except socket.timeout:
            return None


class Server:
    def __init__(self, port, up):
        self.up = up
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.udp.bind(("127.0.0.1", port))

    def forward(self, query, addr, delay=0.0):
        if delay:
            time.sleep(delay)
        answer = upstream(query, self.up)
        if answer is not None:
            self.udp.sendto(answer, addr)

    def serve_udp(self):
        while True:
            query, addr = self.udp.recvfrom(65535)
            count("all-udp", False)
            q = question(query)
            kind = fault_of(q[0]) if q else None
            if kind is None:
                threading.Thread(target=self.forward, args=(query, addr), daemon=True).start()
                continue
            qend = q[1]
            delay, faulted = 0.0, True
            if kind == "timeout":
                pass
            elif kind == "servfail":
                self.udp.sendto(reply_header(query, qend, rcode=2), addr)
            elif kind == "garbage":
                self.udp.sendto(query[:2] + os.urandom(random.randrange(1, 300)), addr)
            elif kind in ("tcfail", "tcok", "tchang"):
                self.udp.sendto(reply_header(query, qend, tc=True), addr)
            elif kind == "flaky" and random.random() < 0.3:
                self.udp.sendto(reply_header(query, qend, rcode=2), addr)
            else:
                delay = {"late1": 1.0, "late3": 3.0}.get(kind, 0.0)
                faulted = delay > 0
                threading.Thread(target=self.forward, args=(query, addr, delay),
                                 daemon=True).start()
            count(kind, faulted)


def tcp_handler(up):
    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            self.request.settimeout(10)
            try:
                head = self.request.recv(2, socket.MSG_WAITALL)
                if len(head) < 2:
                    return
                query = self.request.recv(struct.unpack("!H", head)[0], socket.MSG_WAITALL)
            except OSError:
                return
            count("all-tcp", False)
            q = question(query)
            kind = fault_of(q[0]) if q else None
            if kind == "tcfail":
                count("tcfail-tcp", True)
                return          # closed without an answer
            if kind == "tchang":
                count("tchang-tcp", True)
                time.sleep(30)  # held open, unanswered: the client's TCP timeout decides
                return
            answer = upstream(query, up)
            if kind is not None:
                count(kind + "-tcp", False)
            if answer is not None:
                self.request.sendall(struct.pack("!H", len(answer)) + answer)
    return Handler


def write_stats(path):
    with LOCK:
        lines = ["%s %d %d\n" % (k, v[0], v[1]) for k, v in sorted(STATS.items())]
    with open(path + ".tmp", "w") as f:
        f.writelines(lines)
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--stats", required=True)
    args = ap.parse_args()
    srv = Server(args.port, args.upstream)
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.daemon_threads = True
    tcp = socketserver.ThreadingTCPServer(("127.0.0.1", args.port), tcp_handler(args.upstream))
    threading.Thread(target=tcp.serve_forever, daemon=True).start()

    def stop(*_):
        write_stats(args.stats)
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def periodic():
        while True:
            time.sleep(5)
            write_stats(args.stats)
    threading.Thread(target=periodic, daemon=True).start()
    print("listening on 127.0.0.1:%d, upstream %d" % (args.port, args.upstream), flush=True)
    srv.serve_udp()


if __name__ == "__main__":
    sys.exit(main())
