#!/usr/bin/python3
"""Checks that a tool that accepted a hostile input gave a correct result,
with Python's email package (policy=default) as the independent reader.

usage: hostile-check.py KIND INPUT OUTPUT [ATTACHMENT]

KIND is what the tool was asked to do (see hostile.t):
  header    mime-header --set 'X-Hostile: 1': the output is the input with
            one field added at the end of the header block
  attach    mime-attach FILE: the input's body is kept byte for byte and
            FILE is the last leaf, as an attachment
  text      mime-inline --text FILE: a text/plain leaf holds FILE
  compose   mime-compose ... < INPUT: the one text leaf holds INPUT
  draft     mime-compose --draft: the draft's Subject survives
  show      mime-show --tree: one line a part, section number then type
  showtext  mime-show --text: UTF-8 without control characters but TAB, LF
  extract   mime-extract --part=1 -o -: the bytes of Python's first leaf
            when that is the message's own body (part 1 in IMAP) and
            Python found no line in the header that is not a field
            (GMime skips it, Python starts the body there); empty for
            CR-only input (no line break to RFC 5322)
  smtp      smtp-send --dry-run: the DATA shown is the input with CRLF line
            endings, dot-stuffed, ended by "." CRLF
Prints what is wrong and exits 1; exits 0 when the result is correct.
"""
import email
import email.parser
import email.policy
import re
import sys

# a multipart nested 1,000 deep is read recursively
sys.setrecursionlimit(20000)


def body_of(raw):
    """The bytes after the header block, as an RFC 5322 reader splits it."""
    m = re.search(rb"\r\n\r\n|\n\n|\r\r", raw)
    return raw[m.end():] if m else b""


def leaves(msg):
    return [p for p in msg.walk() if not p.is_multipart()]


def check(kind, inp, out, att):
    if kind == "header":
        # the header alone: the body is not this tool's business
        msg = email.parser.BytesParser(policy=email.policy.default).parsebytes(
            out, headersonly=True)
        got = msg.get_all("X-Hostile") or []
        if [str(v) for v in got] != ["1"]:
            return f"X-Hostile is {got!r}, expected ['1']"
        # nothing else changed: one field line more
        extra = len(out) - len(inp)
        if extra not in (13, 14):
            return f"output is {extra} bytes longer than the input"
        return None
    if kind == "show":
        for line in out.decode("utf-8").splitlines():
            if not re.match(r"^(TEXT|[0-9]+(\.[0-9]+)*(\.TEXT|\.uu[0-9]+)?)"
                            r" +[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+", line):
                return f"not a part line: {line[:60]!r}"
        return None
    if kind == "showtext":
        try:
            text = out.decode("utf-8")
        except UnicodeDecodeError:
            return "the text is not UTF-8"
        if re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text):
            return "a control character reaches the terminal"
        return None
    if kind == "extract":
        top = email.message_from_bytes(inp, policy=email.policy.compat32)
        if any(type(d).__name__ == "MissingHeaderBodySeparatorDefect"
               for d in top.defects):
            return None
        if b"\n" not in inp:
            # bare CR: no line break to RFC 5322 2.2 (nor GMime), one to
            # Python: the whole input is a header without a body for us
            return None if out == b"" else "a body from CR-only input"
        part = top
        if top.is_multipart():
            part = top.get_payload(0) if top.get_content_maintype() == \
                "multipart" else None
        if part is None or part.is_multipart():
            return None  # the structures differ: nothing to compare
        want = part.get_payload(decode=True) or b""
        if out != want:
            return f"part 1 is {len(out)} bytes, Python's {len(want)}"
        return None
    msg = email.message_from_bytes(out, policy=email.policy.default)
    if kind == "attach":
        body = body_of(inp)
        # the input's own type and boundary: its header is enough (a
        # multipart nested 1,000 deep takes seconds to read whole)
        top = email.parser.BytesParser(policy=email.policy.default).parsebytes(
            inp, headersonly=True)
        if top.get_content_type() == "multipart/mixed":
            # the new part goes before the closing delimiter
            close = body.rfind(b"\n--" + top.get_boundary().encode() + b"--")
            body = body[:close] if close >= 0 else body
        if body and body not in out:
            return "the input's body is not in the output byte for byte"
        last = leaves(msg)[-1]
        if last.get_payload(decode=True) != att:
            return "the last leaf is not the attached file"
        if last.get_content_disposition() != "attachment":
            return "the last leaf is not an attachment"
        return None
    if kind == "text":
        for p in leaves(msg):
            if (p.get_content_type() == "text/plain"
                    and p.get_payload(decode=True) == att):
                return None
        return "no text/plain leaf holds the --text file"
    if kind == "compose":
        ls = leaves(msg)
        if len(ls) != 1:
            return f"{len(ls)} leaves, expected 1"
        got = ls[0].get_payload(decode=True).replace(b"\r\n", b"\n")
        want = inp.replace(b"\r\n", b"\n")
        if got != want and got != want + b"\n":
            return "the body is not the input"
        return None
    if kind == "draft":
        if str(msg.get("Subject")) != "hostile":
            return f"Subject is {msg.get('Subject')!r}"
        return None
    if kind == "smtp":
        # the exact DATA: every CR, LF, CRLF made CRLF, a final one added,
        # dot lines stuffed, then "." CRLF (RFC 5321 4.5.2)
        head, sep, data = out.partition(b"\r\nDATA\r\n")
        if not sep or not head.startswith(b"MAIL FROM:<"):
            return "no MAIL FROM ... DATA before the data"
        # (bytes.replace, not re.sub: the same result at memory speed on
        # the 50 MB inputs, where the regular expressions took seconds)
        canon = inp.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        canon = canon.replace(b"\n", b"\r\n")
        if canon and not canon.endswith(b"\r\n"):
            canon += b"\r\n"
        want = (b"." if canon.startswith(b".") else b"") + \
            canon.replace(b"\n.", b"\n..") + b".\r\n"
        if data != want:
            return "the DATA is not the input, canonicalised and stuffed"
        return None
    return f"unknown kind {kind}"


def main():
    kind, inp, out = sys.argv[1:4]
    att = open(sys.argv[4], "rb").read() if len(sys.argv) > 4 else None
    why = check(kind, open(inp, "rb").read(), open(out, "rb").read(), att)
    if why:
        print(why)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
