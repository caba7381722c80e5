#!/usr/bin/python3
"""Byte-level checks for the mime-attach and mime-inline tests.

usage: mimecheck.py COMMAND ARGS...

  contains HAY NEEDLE      exit 0 when the bytes of file NEEDLE occur in HAY
  inserted IN OUT          exit 0 when OUT is IN with bytes inserted at one
                           place only, right before IN's last closing
                           delimiter line (an appended part, all else intact)
  eol FILE                 print lf, crlf or mixed: the file's line endings
  rss IN OUT CMD...        run CMD with stdin IN and stdout OUT; print its
                           peak resident memory in KiB and its exit status
  rsspipe IN OUT CMD...    the same with IN fed through a pipe
  html N                   the decoded text of leaf N (stdin), UTF-8
"""
import email
import email.policy
import resource
import shutil
import subprocess
import sys


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "contains":
        hay = open(args[0], "rb").read()
        needle = open(args[1], "rb").read()
        return 0 if needle and needle in hay else 1
    if cmd == "inserted":
        a = open(args[0], "rb").read()
        b = open(args[1], "rb").read()
        # the closing delimiter: the last line that starts with -- and ends with --
        lines = a.splitlines(keepends=True)
        pos, close = 0, None
        for line in lines:
            s = line.rstrip(b"\r\n")
            if s.startswith(b"--") and s.endswith(b"--") and len(s) > 4:
                close = pos
            pos += len(line)
        if close is None:
            print("no closing delimiter in", args[0])
            return 1
        # the line ending before the delimiter belongs to it
        cut = close - (2 if a[:close].endswith(b"\r\n") else 1)
        head, tail = a[:cut], a[cut:]
        ok = b.startswith(head) and b.endswith(tail) and len(b) > len(a)
        if not ok:
            print("output is not the input with one insertion")
        return 0 if ok else 1
    if cmd == "eol":
        data = open(args[0], "rb").read()
        crlf = data.count(b"\r\n")
        lf = data.count(b"\n")
        print("crlf" if crlf == lf else "lf" if crlf == 0 else "mixed")
        return 0
    if cmd == "rss":
        with open(args[0], "rb") as fin, open(args[1], "wb") as fout:
            p = subprocess.run(args[2:], stdin=fin, stdout=fout)
        print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)
        return 0
    if cmd == "rsspipe":
        with open(args[0], "rb") as fin, open(args[1], "wb") as fout:
            p = subprocess.Popen(args[2:], stdin=subprocess.PIPE, stdout=fout)
            try:
                shutil.copyfileobj(fin, p.stdin, 1 << 20)
                p.stdin.close()
            except BrokenPipeError:
                pass
            rc = p.wait()
        print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)
        return 0
    if cmd == "html":
        msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
        leaves = [p for p in msg.walk() if not p.is_multipart()]
        sys.stdout.write(leaves[int(args[0])].get_content())
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
