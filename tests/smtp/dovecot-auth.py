#!/usr/bin/python3
"""A stand-in for Dovecot's authentication service, so the Postfix in
postfix.t can check logins (smtpd_sasl_type = dovecot, smtpd_sasl_path =
inet:127.0.0.1:PORT) without Dovecot or Cyrus SASL being installed.

    dovecot-auth.py USER PASSWORD

Listens on 127.0.0.1, prints the port, and speaks the client side of the
Dovecot auth protocol version 1 (doc.dovecot.org, "Dovecot SASL"), with
the mechanisms PLAIN and LOGIN.
"""
import base64
import os
import socketserver
import sys

USER, PASSWORD = sys.argv[1], sys.argv[2]


class Handler(socketserver.StreamRequestHandler):
    def send(self, line):
        self.wfile.write((line + "\n").encode())
        self.wfile.flush()

    def handle(self):
        self.send("VERSION\t1\t2")
        self.send("MECH\tPLAIN\tplaintext")
        self.send("MECH\tLOGIN\tplaintext")
        self.send("SPID\t%d" % os.getpid())
        self.send("CUID\t1")
        self.send("COOKIE\t" + "0" * 32)
        self.send("DONE")
        pending = {}  # id -> (mechanism, answers so far)
        for raw in self.rfile:
            f = raw.decode().rstrip("\n").split("\t")
            if f[0] == "AUTH":
                rid, mech = f[1], f[2].upper()
                resp = next((a[5:] for a in f[3:] if a.startswith("resp=")),
                            None)
                pending[rid] = (mech, [])
                self.step(rid, resp, pending)
            elif f[0] == "CONT":
                self.step(f[1], f[2] if len(f) > 2 else "", pending)

    def step(self, rid, resp, pending):
        mech, answers = pending[rid]
        if mech == "PLAIN":
            if resp is None:
                self.send("CONT\t%s\t" % rid)
                return
            parts = base64.b64decode(resp).split(b"\0")
            ok = len(parts) == 3 and parts[1:] == [USER.encode(),
                                                   PASSWORD.encode()]
            user = parts[1].decode() if len(parts) == 3 else ""
        elif mech == "LOGIN":
            if resp is not None and resp != "":
                answers.append(base64.b64decode(resp).decode())
            if len(answers) < 2:
                prompt = b"Username:" if not answers else b"Password:"
                self.send("CONT\t%s\t%s" % (rid, base64.b64encode(prompt)
                                            .decode()))
                return
            ok = answers == [USER, PASSWORD]
            user = answers[0]
        else:
            self.send("FAIL\t%s" % rid)
            return
        del pending[rid]
        self.send("%s\t%s\tuser=%s" % ("OK" if ok else "FAIL", rid, user))


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True


with Server(("127.0.0.1", 0), Handler) as srv:
    print(srv.server_address[1], flush=True)
    srv.serve_forever()
