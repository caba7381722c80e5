#!/usr/bin/python3
"""A local submission server for the README demo and the tests: aiosmtpd
(Debian's python3-aiosmtpd) with STARTTLS (or implicit TLS) and a login.

    demo-server.py DIR [--implicit] [--user USER --password PASSWORD]
                       [--count N]

Makes a self-signed certificate for localhost in DIR/cert.pem (the client
trusts it with --ca-file DIR/cert.pem) unless one is there, listens on
127.0.0.1 on a port the kernel picks and prints that port on stdout.  Each
message received is written to DIR/N.eml (as received, dot stuffing
undone) with its envelope in DIR/N.envelope, and "received DIR/N.eml" is
printed.  With --count N it exits after N messages.
"""
import argparse
import asyncio
import os
import ssl
import subprocess
import sys
import warnings
import logging

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

# aiosmtpd 1.4 logs a warning about its own use of Session.login_data
logging.getLogger("mail.log").setLevel(logging.ERROR)
# with implicit TLS the whole session is encrypted, which aiosmtpd cannot see
warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")


def make_cert(d):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    if not os.path.exists(cert):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec",
             "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", key, "-out", cert, "-days", "30",
             "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


class Handler:
    def __init__(self, d, count, done):
        self.d, self.count, self.done, self.n = d, count, done, 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        path = os.path.join(self.d, "%d.eml" % self.n)
        with open(path, "wb") as f:
            f.write(envelope.original_content)
        with open(os.path.join(self.d, "%d.envelope" % self.n), "w") as f:
            f.write("MAIL FROM:<%s> %s\n" % (envelope.mail_from,
                                          " ".join(envelope.mail_options)))
            for r in envelope.rcpt_tos:
                f.write("RCPT TO:<%s>\n" % r)
        try:
            print("received", path, flush=True)
        except OSError:
            # nobody listens any more: the files are what counts.  The
            # line is still in stdout's buffer, and Python would flush it
            # again at exit and complain on stderr (the demo's last line)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        if self.count and self.n >= self.count:
            asyncio.get_running_loop().call_soon(self.done.set)
        return "250 2.0.0 OK: queued as %d" % self.n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--implicit", action="store_true")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--count", type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    ctx = make_cert(a.dir)

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == a.user.encode()
              and auth_data.password == a.password.encode())
        # handled=False: aiosmtpd then answers 535 itself
        return AuthResult(success=ok, handled=False)

    async def run():
        done = asyncio.Event()
        handler = Handler(a.dir, a.count, done)

        def factory():
            return SMTP(handler, hostname="localhost", decode_data=False,
                        enable_SMTPUTF8=True,
                        tls_context=None if a.implicit else ctx,
                        require_starttls=not a.implicit,
                        auth_required=a.user is not None,
                        auth_require_tls=not a.implicit,
                        authenticator=authenticator if a.user else None)

        server = await asyncio.get_running_loop().create_server(
            factory, "127.0.0.1", 0, ssl=ctx if a.implicit else None)
        print(server.sockets[0].getsockname()[1], flush=True)
        await done.wait()
        server.close()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
