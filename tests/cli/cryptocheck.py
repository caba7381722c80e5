#!/usr/bin/python3
"""Takes a signed or encrypted message apart for gpg and openssl, reading
its bytes independently of mimepipe (RFC 2046 5.1.1 delimiters, RFC 3156).

usage: cryptocheck.py split MSG DIR
         DIR/signed: the first part of the top-level multipart/signed
         exactly as sent, in canonical CRLF form; DIR/sig: the signature,
         decoded; prints the Content-Type parameters micalg and protocol
       cryptocheck.py payload MSG FILE
         FILE: the encrypted payload (PGP/MIME: the armored second part;
         S/MIME: the DER of application/pkcs7-mime)
       cryptocheck.py hpouter MSG INNER
         RFC 9788 2.2: the HP-Outer fields of the decrypted entity INNER
         are the non-structural fields of MSG's header as sent (Bcc is
         not sent), in order, unfolded; INNER has no defects and its
         body starts with text (no empty line added);
         prints the inner Subject
"""
import base64
import email
import email.policy
import re
import sys


def top(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def parts(raw, boundary):
    """The byte ranges between the delimiters of the top-level body."""
    b = re.escape(boundary.encode())
    delim = re.compile(rb"(?:\r?\n|^)--" + b + rb"(--)?[ \t]*(?=\r?\n|$)", re.M)
    body_start = re.search(rb"\r?\n\r?\n", raw).end()
    found = list(delim.finditer(raw, body_start))
    out = []
    for a, z in zip(found, found[1:]):
        start = raw.index(b"\n", a.end()) + 1
        out.append(raw[start:z.start()])
        if z.group(1):
            break
    return out


def crlf(data):
    return re.sub(rb"\r?\n", b"\r\n", data)


def body_of(part):
    head, _, body = re.split(rb"(\r?\n\r?\n)", part, 1) if re.search(
        rb"\r?\n\r?\n", part) else (part, b"", b"")
    return head, body


def main():
    cmd, path, dest = sys.argv[1:4]
    raw = open(path, "rb").read()
    msg = top(raw)
    if cmd == "split":
        if msg.get_content_type() != "multipart/signed":
            sys.exit(f"not multipart/signed: {msg.get_content_type()}")
        ps = parts(raw, msg.get_param("boundary"))
        if len(ps) != 2:
            sys.exit(f"{len(ps)} parts")
        open(dest + "/signed", "wb").write(crlf(ps[0]))
        head, body = body_of(ps[1])
        if re.search(rb"(?im)^content-transfer-encoding:\s*base64", head):
            body = base64.b64decode(body)
        open(dest + "/sig", "wb").write(body)
        print(msg.get_param("micalg"), msg.get_param("protocol"))
    elif cmd == "payload":
        if msg.get_content_type() == "multipart/encrypted":
            ps = parts(raw, msg.get_param("boundary"))
            _, body = body_of(ps[1])
            open(dest, "wb").write(body)
        else:
            open(dest, "wb").write(msg.get_payload(decode=True))
    elif cmd == "hpouter":
        inner_raw = open(dest, "rb").read()
        inner = email.message_from_bytes(inner_raw, policy=email.policy.default)
        if inner.defects or any(p.defects for p in inner.walk()):
            sys.exit(f"defects: {inner.defects}")
        if inner.get_param("protected-headers") != "v1":
            sys.exit("no protected-headers=v1")
        raw = email.message_from_bytes(raw, policy=email.policy.compat32)
        unfold = lambda v: re.sub(r"\r?\n[ \t]", lambda m: m.group(0)[-1], v)
        sent = [f"{k}: {unfold(v)}".strip() for k, v in raw.items()
                if not k.lower().startswith("content-")
                and k.lower() not in ("mime-version", "bcc")]
        rawin = email.message_from_bytes(inner_raw, policy=email.policy.compat32)
        got = [unfold(v).strip() for v in rawin.get_all("HP-Outer", [])]
        if got != sent:
            sys.exit(f"HP-Outer {got!r} != sent {sent!r}")
        body = inner.get_content()
        if not body.strip() or body[0] in "\r\n":
            sys.exit(f"the body is not the message's: {body[:20]!r}")
        print(inner["Subject"])
    else:
        sys.exit(__doc__)


main()
