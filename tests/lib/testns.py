"""testns - run ldns-testns on a free loopback port for the length of a with-block."""

import os
import socket
import subprocess
import tempfile
import time


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TestNS:
    def __init__(self, text, forks=0):
        self.text = text
        self.forks = forks
        self.port = None
        self.proc = None

    def __enter__(self):
        fd, self.path = tempfile.mkstemp(suffix=".data", prefix="authmilter-dns-")
        with os.fdopen(fd, "w") as f:
            f.write(self.text)
        for _ in range(20):
            self.port = free_port()
            args = ["stdbuf", "-oL", "ldns-testns", "-p", str(self.port)]
            if self.forks:
                args += ["-f", str(self.forks)]
            # Output goes to a file: a pipe nobody drains could block the server.
            self.log = tempfile.TemporaryFile(mode="w+")
            self.proc = subprocess.Popen(args + [self.path], stdout=self.log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
            for _ in range(200):
                self.log.seek(0)
                if "Listening" in self.log.read() or self.proc.poll() is not None:
                    break
                time.sleep(0.01)
            self.log.seek(0)
            if "Listening" in self.log.read():
                return self
            self.proc.wait()
        raise RuntimeError("ldns-testns did not start")

    def __exit__(self, *exc):
        try:
            os.killpg(self.proc.pid, 15)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.log.close()
        os.unlink(self.path)
