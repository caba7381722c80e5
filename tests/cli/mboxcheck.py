#!/usr/bin/python3
"""Reads an mboxrd stream (mime-merge's output) with Python's email
(policy=default), independently of mimepipe.

usage: mboxcheck.py COMMAND MBOX ARGS...

  count MBOX                 the number of messages
  defects MBOX               the number of defects Python finds in all
                             messages and their parts (0 is right)
  field MBOX I NAME          the decoded field NAME of message I (from 1)
  addresses MBOX I NAME      the addr-specs of field NAME, one per line
  text MBOX I TYPE           the decoded content of message I's first
                             TYPE part (text/plain, text/html)
  file MBOX I NAME PATH      exit 0 when the attachment NAME of message I
                             holds exactly the bytes of PATH
  eml PATH                   like defects, for one .eml file
"""
import email
import email.policy
import re
import sys

FROM_LINE = re.compile(rb"^From ")
QUOTED = re.compile(rb"^>(>*From )")


def messages(path):
    data = open(path, "rb").read()
    out, cur = [], None
    for line in data.splitlines(keepends=True):
        if FROM_LINE.match(line):
            if cur is not None:
                out.append(cur)
            cur = []
            continue
        if cur is None:
            raise SystemExit("%s: does not start with a From line" % path)
        cur.append(QUOTED.sub(rb"\1", line))
    if cur is not None:
        out.append(cur)
    msgs = []
    for lines in out:
        raw = b"".join(lines)
        # mboxrd: the blank line before the next From line is the mbox's
        if raw.endswith(b"\n\n"):
            raw = raw[:-1]
        msgs.append(email.message_from_bytes(raw, policy=email.policy.default))
    return msgs


def defects(msg):
    n = len(msg.defects)
    for part in msg.walk():
        if part is not msg:
            n += len(part.defects)
        for name, value in part.items():
            n += len(getattr(value, "defects", ()))
    return n


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "eml":
        with open(args[0], "rb") as f:
            m = email.message_from_binary_file(f, policy=email.policy.default)
        print(defects(m))
        return 0
    msgs = messages(args[0])
    if cmd == "count":
        print(len(msgs))
    elif cmd == "defects":
        print(sum(defects(m) for m in msgs))
    elif cmd == "field":
        v = msgs[int(args[1]) - 1][args[2]]
        print("" if v is None else v)
    elif cmd == "addresses":
        v = msgs[int(args[1]) - 1][args[2]]
        for a in (v.addresses if v is not None else ()):
            print(a.addr_spec)
    elif cmd == "text":
        for part in msgs[int(args[1]) - 1].walk():
            if part.get_content_type() == args[2]:
                sys.stdout.write(part.get_content())
                return 0
        return 1
    elif cmd == "file":
        for part in msgs[int(args[1]) - 1].walk():
            if part.get_filename() == args[2]:
                return 0 if part.get_payload(decode=True) == open(args[3], "rb").read() else 1
        return 1
    else:
        raise SystemExit("unknown command " + cmd)
    return 0


sys.exit(main())
