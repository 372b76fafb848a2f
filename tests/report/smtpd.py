#!/usr/bin/env python3
"""smtpd.py - a real SMTP smarthost for the reporter's tests (Debian's
aiosmtpd), on 127.0.0.1.

  smtpd.py MODE PORT DIR [CERT KEY]
    MODE starttls  STARTTLS required before anything else, AUTH required
         smtps     implicit TLS (SMTPS), AUTH required
         plain     no TLS at all, yet AUTH offered (a reporter that sent its
                   password here would be sending it in clear)

The only credentials accepted are reports / s3cret. Every AUTH attempt is
appended to DIR/auth.log as "MECHANISM LOGIN ok|bad tls=0|1"; every
accepted message is written to DIR/new/N.eml and described in DIR/mail.log
as "N FROM TO tls=0|1 auth=LOGIN". The server runs until killed; DIR/ready
appears once it accepts connections.
"""
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = b"reports", b"s3cret"


def tls(server):
    """1 when this connection is encrypted (STARTTLS or implicit TLS)"""
    return int(server.transport.get_extra_info("ssl_object") is not None)


class Handler:
    def __init__(self, outdir):
        self.outdir = outdir
        self.n = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.n += 1
            n = self.n
        os.makedirs(os.path.join(self.outdir, "new"), exist_ok=True)
        with open(os.path.join(self.outdir, "new", "%d.eml" % n), "wb") as f:
            f.write(envelope.original_content)
        with open(os.path.join(self.outdir, "mail.log"), "a") as f:
            f.write("%d %s %s tls=%d auth=%s\n" % (
                n, envelope.mail_from, ",".join(envelope.rcpt_tos),
                tls(server),
                session.auth_data.login.decode() if session.authenticated else "-"))
        return "250 OK"


def authenticator(outdir):
    def check(server, session, envelope, mechanism, auth_data):
        good = (isinstance(auth_data, LoginPassword) and auth_data.login == USER
                and auth_data.password == PASSWORD)
        login = auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "?"
        with open(os.path.join(outdir, "auth.log"), "a") as f:
            f.write("%s %s %s tls=%d\n" % (mechanism, login, "ok" if good else "bad",
                                           tls(server)))
        if good:
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)	# aiosmtpd answers 535
    return check


def main():
    mode, port, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(outdir, exist_ok=True)
    ctx = None
    if mode in ("starttls", "smtps"):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    kw = dict(hostname="127.0.0.1", port=port, authenticator=authenticator(outdir),
              auth_required=True, ready_timeout=10)
    if mode == "starttls":
        kw.update(tls_context=ctx, require_starttls=True, auth_require_tls=True)
    elif mode == "smtps":
        # the whole session is TLS; aiosmtpd's auth_require_tls only knows STARTTLS
        kw.update(ssl_context=ctx, auth_require_tls=False)
    elif mode == "plain":
        kw.update(auth_require_tls=False)
    else:
        sys.exit(__doc__)
    controller = Controller(Handler(outdir), **kw)
    controller.start()
    open(os.path.join(outdir, "ready"), "w").close()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    main()
