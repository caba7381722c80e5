#!/usr/bin/python3
"""Writes the hostile inputs of hostile.t into DIR, one file per case.

usage: hostile-gen.py DIR

Deterministic (a fixed seed), generated at test time so that nothing large
is committed.  Each file is named for the case it is.
"""
import base64
import os
import random
import sys

HEAD = (b"From: Ann <ann@example.org>\n"
        b"To: Bob <bob@example.com>\n"
        b"Subject: hostile\n"
        b"Message-ID: <hostile@example.org>\n"
        b"Date: Tue, 14 Nov 2023 22:13:20 +0000\n")


def nested(depth):
    """A multipart nested depth levels deep, every level closed."""
    out = [HEAD, b"MIME-Version: 1.0\n"]
    for i in range(depth):
        out.append(b'Content-Type: multipart/mixed; boundary="b%d"\n\n' % i)
        out.append(b"--b%d\n" % i)
    out.append(b"Content-Type: text/plain\n\ninnermost\n")
    for i in reversed(range(depth)):
        out.append(b"--b%d--\n" % i)
    return b"".join(out)


def cases():
    rnd = random.Random(9)
    yield "empty", b""
    yield "garbage", bytes(rnd.getrandbits(8) for _ in range(65536))
    yield "nul", (b"From: a\0b@example.org\nTo: \0\n"
                  b"Subject: nul\0 here\n\0X-Nul: 1\n\nbody\0with\0nuls\n\0")
    yield "header-1mb", HEAD + b"X-Long: " + b"x" * (1 << 20) + b"\n\nbody\n"
    yield "headers-10000", (HEAD + b"".join(b"X-H%d: value %d\n" % (i, i)
                                            for i in range(10000))
                            + b"\nbody\n")
    yield "nested-1000", nested(1000)
    # a header and nothing else: no blank line, no body
    yield "headers-only", HEAD
    yield "unclosed", (HEAD + b"MIME-Version: 1.0\n"
                       b'Content-Type: multipart/mixed; boundary="never"\n\n'
                       b"--never\nContent-Type: text/plain\n\nfirst\n"
                       b"--never\nContent-Type: text/plain\n\nsecond, "
                       b"and no closing delimiter\n")
    yield "cr-only", (HEAD.replace(b"\n", b"\r") + b"MIME-Version: 1.0\r"
                      b'Content-Type: multipart/mixed; boundary="cr"\r\r'
                      b"--cr\rContent-Type: text/plain\r\rline\rline\r"
                      b"--cr--\r")
    # one 50 MB line of base64 (the content need not be random)
    b64 = base64.b64encode(bytes(range(256)) * (37_500_000 // 256 + 1))
    yield "base64-50mb", (HEAD + b"MIME-Version: 1.0\n"
                          b"Content-Type: application/octet-stream\n"
                          b"Content-Transfer-Encoding: base64\n\n"
                          + b64[:50_000_000] + b"\n")
    # big outputs for the SIGPIPE cases: text, and a draft with that text
    text = b"".join(b"line %d of a long text\n" % i for i in range(300_000))
    yield "big-text", text
    yield "big-draft", HEAD + b"\n" + text


def main():
    d = sys.argv[1]
    for name, data in cases():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
