#!/usr/bin/python3
"""A scriptable SMTP server for smtp-send's tests, hostile when asked.

    smtp-server.py DIR CERTDIR

Listens on 127.0.0.1, on a port the kernel picks, and prints "PORT" on
stdout; after each connection it prints "done N".  Each connection follows
DIR/scenario.json as it is when the connection arrives (see DEFAULTS), logs
what the client sent to DIR/N.log (one "C: line" per line, "== TLS" when TLS
starts) and every DATA it received, raw, to DIR/N.data, and each message
whose end of data it answered with 250 to DIR/N.accepted.  CERTDIR holds the
certificates made by mkcerts.sh (NAME.crt, NAME.key).
"""
import base64
import hashlib
import hmac
import json
import os
import socket
import ssl
import sys
import threading
import time

PRINT_LOCK = threading.Lock()

DEFAULTS = {
    "greeting": "220 test.example ESMTP\r\n",
    "tls": None,            # "implicit": TLS from the first byte
    "cert": "good",         # server certificate (CERTDIR/NAME.crt, .key)
    "tls_max": None,        # "1.2" caps the TLS version
    "ehlo": ["PIPELINING", "8BITMIME", "STARTTLS", "AUTH PLAIN LOGIN"],
    "ehlo_tls": None,       # capabilities after TLS (default: ehlo minus
                            # STARTTLS)
    "reply": {},            # COMMAND, RCPT:addr, MAIL:addr or END:N (the
                            # end of data of the Nth message of the
                            # connection) -> raw reply bytes
                            # (latin-1), "SILENT", "ENDLESS", "CLOSE",
                            # "TLSCLOSE[:partial reply]" (TLS
                            # close_notify, after the partial reply)
                            # or "SLOW:reply" (sent a byte at a time)
                            # or "GATE:reply" (prints "gate N", waits
                            # until a writer opens and closes the FIFO
                            # DIR/gate, then does what reply says)
    "starttls_extra": "",   # raw bytes sent right after the STARTTLS 220
    "user": "ann", "password": "secret",
    "scram_bad_proof": False,
    "scram_iterations": 4096,  # the count the server asks for
    "scram_delay": 0,       # seconds before each SCRAM challenge
    "scram_final": "sent",  # the server-final message: "sent", "none" (235
                            # without it) or "twice" (a challenge after it)
    "client_ca": False,     # require a client certificate from the CA
    "starttls_fake": False,  # answer 220 to STARTTLS, then stay plaintext
    "per_conn": {},         # "N" -> replies ("reply" entries) for the Nth
                            # connection alone, over those above
}


class Conn:
    def __init__(self, sock, n, scen, workdir, certdir):
        self.workdir = workdir
        self.sock = sock
        self.buf = b""
        self.n = n
        self.s = scen
        self.tls = False
        self.certdir = certdir
        self.log = open(os.path.join(workdir, "%d.log" % n), "w",
                        encoding="latin-1")
        self.datafile = os.path.join(workdir, "%d.data" % n)
        self.acceptedfile = os.path.join(workdir, "%d.accepted" % n)
        self.mail = False   # a transaction is open
        self.rcpts = 0      # recipients accepted in it
        self.ends = 0       # messages whose data ended

    def note(self, text):
        self.log.write(text + "\n")
        self.log.flush()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def readline(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line + b"\n"

    def silent(self):
        # say nothing, until the client gives up
        while self.sock.recv(65536):
            pass
        raise EOFError

    def endless(self):
        while True:
            self.send("250-" + "x" * 70 + "\r\n")

    def reply(self, key, default):
        r = self.s["reply"].get(key, default)
        if r.startswith("GATE:"):
            # the test acts (a signal, a kill) while this reply waits
            r = r[5:]
            with PRINT_LOCK:
                print("gate %d" % self.n, flush=True)
            with open(os.path.join(self.workdir, "gate"), "rb") as g:
                g.read()
        if r == "SILENT":
            self.silent()
        if r == "ENDLESS":
            self.endless()
        if r == "CLOSE":
            raise EOFError
        if r.startswith("TLSCLOSE"):
            # a clean TLS close_notify at an odd moment, then TCP close
            if r[8:9] == ":":
                self.send(r[9:])
            if self.tls:
                self.note("== close_notify")
                self.sock = self.sock.unwrap()
            raise EOFError
        if r.startswith("SLOW:"):
            # one byte per segment: replies split across reads
            r = r[5:]
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for ch in r:
                self.send(ch)
            return r
        self.send(r)
        return r

    def context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        name = self.s["cert"]
        ctx.load_cert_chain(os.path.join(self.certdir, name + ".crt"),
                            os.path.join(self.certdir, name + ".key"))
        if self.s["tls_max"] == "1.2":
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        if self.s["client_ca"]:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(os.path.join(self.certdir, "ca.crt"))

        def sni(sslobj, name, context):
            self.note("== SNI %s" % name)
        ctx.sni_callback = sni
        return ctx

    def start_tls(self):
        self.sock = self.context().wrap_socket(self.sock, server_side=True)
        self.tls = True
        self.note("== TLS")
        peer = self.sock.getpeercert()
        if peer:
            self.note("== client %s" % dict(x[0] for x in peer["subject"])
                      ["commonName"])

    def caps(self):
        if self.tls:
            caps = self.s["ehlo_tls"]
            if caps is None:
                caps = [c for c in self.s["ehlo"] if c != "STARTTLS"]
        else:
            caps = self.s["ehlo"]
        return caps

    def run(self):
        if self.s["tls"] == "implicit":
            self.start_tls()
        self.reply("GREETING", self.s["greeting"])
        while True:
            raw = self.readline()
            line = raw.decode("latin-1").rstrip("\r\n")
            self.note("C: " + line)
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                lines = ["test.example"] + self.caps()
                text = "".join("250%s%s\r\n" % (
                    " " if i == len(lines) - 1 else "-", l)
                    for i, l in enumerate(lines))
                self.reply("EHLO", text)
            elif verb == "HELO":
                self.reply("HELO", "250 test.example\r\n")
            elif verb == "STARTTLS":
                # the injected bytes go in the same segment as the 220
                r = self.s["reply"].get("STARTTLS", "220 2.0.0 go ahead\r\n")
                self.send(r + self.s["starttls_extra"])
                if r.startswith("220") and self.s["starttls_fake"]:
                    continue  # no TLS: the ClientHello is read as a line
                if r.startswith("220"):
                    if self.buf:
                        self.note("!! client pipelined after STARTTLS")
                    self.start_tls()
            elif verb == "AUTH":
                self.auth(line)
            elif verb == "MAIL":
                addr = line.split("<", 1)[-1].split(">", 1)[0]
                key = "MAIL:" + addr
                r = self.reply(key if key in self.s["reply"] else "MAIL",
                               "250 2.1.0 ok\r\n")
                self.mail = r.startswith("250")
                self.rcpts = 0
            elif verb == "RCPT":
                addr = line.split("<", 1)[-1].split(">", 1)[0]
                key = "RCPT:" + addr
                r = self.reply(key if key in self.s["reply"] else "RCPT",
                               "250 2.1.5 ok\r\n")
                self.rcpts += r.startswith("25")
            elif verb == "DATA":
                # RFC 2920 3.1: no transaction or no valid recipient
                if not self.mail:
                    self.send("503 5.5.1 no transaction\r\n")
                    continue
                if not self.rcpts:
                    self.send("554 5.5.1 no valid recipients\r\n")
                    continue
                r = self.reply("DATA", "354 go ahead\r\n")
                if r.startswith("354"):
                    self.data()
                self.mail = False
            elif verb == "BDAT":
                # RFC 3030: SIZE octets follow the command line, as they are
                words = line.split()
                size = int(words[1])
                while len(self.buf) < size:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        raise EOFError
                    self.buf += chunk
                chunk, self.buf = self.buf[:size], self.buf[size:]
                with open(self.datafile, "ab") as f:
                    f.write(chunk)
                if len(words) > 2 and words[2].upper() == "LAST":
                    self.ends += 1
                    self.mail = False
                    key = "END:%d" % self.ends
                    self.reply(key if key in self.s["reply"] else "END",
                               "250 2.0.0 queued\r\n")
                else:
                    self.send("250 2.0.0 chunk\r\n")
            elif verb == "RSET":
                self.mail = False
                self.reply("RSET", "250 2.0.0 ok\r\n")
            elif verb == "NOOP":
                self.send("250 2.0.0 ok\r\n")
            elif verb == "QUIT":
                self.reply("QUIT", "221 2.0.0 bye\r\n")
                return
            else:
                self.send("500 5.5.1 unknown command\r\n")

    def data(self):
        msg = []
        with open(self.datafile, "ab") as f:
            while True:
                raw = self.readline()
                f.write(raw)
                msg.append(raw)
                if raw == b".\r\n":
                    if self.buf:
                        # RFC 2920: commands came with the end of data
                        self.note("== pipelined after the end of data")
                    break
        self.ends += 1
        key = "END:%d" % self.ends
        r = self.reply(key if key in self.s["reply"] else "END",
                       "250 2.0.0 queued\r\n")
        if r.startswith("250"):
            with open(self.acceptedfile, "ab") as f:
                f.write(b"".join(msg))

    def auth_fail(self):
        self.reply("AUTH", "535 5.7.8 authentication failed\r\n")

    def auth(self, line):
        parts = line.split(" ")
        mech = parts[1].upper() if len(parts) > 1 else ""
        initial = parts[2] if len(parts) > 2 else None
        user = self.s["user"]
        pw = self.s["password"]
        if mech not in " ".join(self.caps()).upper().split():
            self.send("504 5.5.4 mechanism not offered\r\n")
            return

        def ask(challenge):
            self.send("334 " + challenge + "\r\n")
            l = self.readline().decode("latin-1").rstrip("\r\n")
            self.note("C: " + l)
            return l

        if mech == "PLAIN":
            data = initial if initial is not None else ask("")
            ok = base64.b64decode(data) == ("\0%s\0%s" % (user, pw)).encode()
        elif mech == "LOGIN":
            u = base64.b64decode(ask("VXNlcm5hbWU6")).decode()
            p = base64.b64decode(ask("UGFzc3dvcmQ6")).decode()
            ok = u == user and p == pw
        elif mech == "XOAUTH2":
            want = "user=%s\1auth=Bearer %s\1\1" % (user, pw)
            ok = base64.b64decode(initial).decode() == want
            if not ok:
                ask(base64.b64encode(b'{"status":"401"}').decode())
        elif mech == "OAUTHBEARER":
            want = "n,a=%s,\1auth=Bearer %s\1\1" % (
                user.replace("=", "=3D").replace(",", "=2C"), pw)
            ok = base64.b64decode(initial).decode() == want
            if not ok:
                ask(base64.b64encode(b'{"status":"invalid_token"}').decode())
        elif mech == "CRAM-MD5":
            ask(base64.b64encode(b"<1.2@test.example>").decode())
            ok = False
        elif mech == "SCRAM-SHA-256":
            ok = self.scram(initial, ask)
            if ok is None:
                return
        else:
            self.send("504 5.5.4 unknown mechanism\r\n")
            return
        if ok:
            self.reply("AUTH", "235 2.7.0 authenticated\r\n")
        else:
            self.auth_fail()

    def scram(self, initial, ask):
        # RFC 5802 / 7677, server side
        first = base64.b64decode(initial).decode()
        gs2, bare = first[:first.index(",", first.index(",") + 1) + 1], \
            first[first.index(",", first.index(",") + 1) + 1:]
        attrs = dict(a.split("=", 1) for a in bare.split(","))
        if attrs.get("n") != self.s["user"]:
            self.auth_fail()
            return False
        nonce = attrs["r"] + "srvnonce"
        salt = b"saltsaltsalt"
        iters = self.s["scram_iterations"]
        server_first = "r=%s,s=%s,i=%d" % (
            nonce, base64.b64encode(salt).decode(), iters)
        time.sleep(self.s["scram_delay"])
        resp = ask(base64.b64encode(server_first.encode()).decode())
        if resp == "*":
            self.send("501 5.7.0 cancelled\r\n")
            return None
        final = base64.b64decode(resp).decode()
        without_proof, proof = final.rsplit(",p=", 1)
        auth_msg = ",".join([bare, server_first, without_proof]).encode()
        salted = hashlib.pbkdf2_hmac("sha256", self.s["password"].encode(),
                                     salt, iters)
        client_key = hmac.new(salted, b"Client Key", "sha256").digest()
        stored = hashlib.sha256(client_key).digest()
        sig = hmac.new(stored, auth_msg, "sha256").digest()
        given = base64.b64decode(proof)
        recovered = bytes(a ^ b for a, b in zip(given, sig))
        if hashlib.sha256(recovered).digest() != stored:
            self.auth_fail()
            return False
        server_key = hmac.new(salted, b"Server Key", "sha256").digest()
        ssig = hmac.new(server_key, auth_msg, "sha256").digest()
        if self.s["scram_final"] == "none":
            return True
        if self.s["scram_bad_proof"]:
            ssig = bytes(32)
        time.sleep(self.s["scram_delay"])
        for _ in range(2 if self.s["scram_final"] == "twice" else 1):
            resp = ask(base64.b64encode(
                b"v=" + base64.b64encode(ssig)).decode())
            if resp == "*":
                self.send("501 5.7.0 cancelled\r\n")
                return None
        return True


def main():
    workdir, certdir = sys.argv[1], sys.argv[2]
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    print(lsock.getsockname()[1], flush=True)
    count = [0]

    def handle(sock, n):
        with open(os.path.join(workdir, "scenario.json")) as f:
            scen = dict(DEFAULTS)
            scen.update(json.load(f))
        scen["reply"] = dict(scen["reply"],
                             **scen["per_conn"].get(str(n), {}))
        c = Conn(sock, n, scen, workdir, certdir)
        try:
            c.run()
        except (EOFError, OSError, ssl.SSLError, ValueError) as e:
            c.note("== end: %s" % type(e).__name__)
        finally:
            c.log.close()
            try:
                c.sock.close()
            except OSError:
                pass
            with PRINT_LOCK:
                print("done %d" % n, flush=True)

    while True:
        sock, _ = lsock.accept()
        count[0] += 1
        threading.Thread(target=handle, args=(sock, count[0]),
                         daemon=True).start()


if __name__ == "__main__":
    main()
