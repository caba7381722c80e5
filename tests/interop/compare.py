#!/usr/bin/python3
"""Compares what two readers read in a message (JSON views of read-*.py).

usage: compare.py PYTHON.json OTHER.json READER

Exit 0 when OTHER reads what Python's email reads, else print each
difference.  Where a reader is wrong, and not our output, the difference
it makes is allowed here, and said why:

Line breaks in the text and HTML bodies are compared as LF: on the wire a
text's line break is CRLF (RFC 2046 4.1.1), and each reader hands it back
in its own convention (Email::MIME gives CRLF, Python's email what the
message holds).  Attached files are compared byte for byte.

- postal-mime 4.0.0 keeps the line break before a delimiter in a text
  body that is not base64 ("hello\\n" comes back as "hello\\n\\n"); RFC 2046
  5.1.1 gives that line break to the delimiter, and Python's email,
  Email::MIME and mailparser leave it out.  (Attached files are base64,
  DESIGN 4, so their bytes are exact in every reader: a 7bit data.csv
  came back from postal-mime one newline longer, issue 13.)
- mailparser 3.9.47 gives an empty text, not none, for a message with
  HTML alone (asked not to render one from the HTML).
- mailparser 3.9.47 drops the last line break of a format=flowed text
  ("Hello.\n" comes back "Hello."); RFC 3676 4.2 keeps it (a hard line
  break is content), and Python's email, Email::MIME and postal-mime do.
"""
import json
import sys


def lf(s):
    return s.replace("\r\n", "\n") if isinstance(s, str) else s


def differences(a, b, reader, path="message"):
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key == "flowed":
                continue  # what Python's email saw, not a part's content
            x, y = a.get(key), b.get(key)
            if key in ("text", "html"):
                x, y = lf(x), lf(y)
                if reader == "postal-mime" and isinstance(x, str) and y == x + "\n":
                    continue
                if reader == "mailparser" and x is None and y == "":
                    continue
                if (reader == "mailparser" and key == "text" and
                        isinstance(x, str) and x == (y or "") + "\n" and
                        a.get("flowed")):
                    continue
            out += differences(x, y, reader, f"{path}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} parts in Python's email, {len(b)} in {reader}"]
        for i, (x, y) in enumerate(zip(a, b)):
            out += differences(x, y, reader, f"{path}[{i}]")
        return out
    if a != b:
        return [f"{path}: Python's email {a!r}, {reader} {b!r}"]
    return []


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        a = json.load(f)
    with open(sys.argv[2], encoding="utf-8") as f:
        b = json.load(f)
    diffs = differences(a, b, sys.argv[3])
    for d in diffs:
        print(d[:300])
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
