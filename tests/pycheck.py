#!/usr/bin/python3
"""An independent reader of our output: Python's email package, policy=default.

usage: pycheck.py COMMAND [ARG] < message

  defects          print every defect (message, parts, headers); exit 1 if any
  tree             print the MIME tree, one part per line, indented
  header NAME      print each occurrence of NAME, decoded, one per line
  addresses NAME   print each addr-spec of header NAME, one per line
  part N           write the decoded payload of leaf part N (0-based, in walk
                   order) to stdout, as bytes
  params N         print Content-Type, disposition and file name of leaf N
"""
import email
import email.policy
import sys


def leaves(msg):
    return [p for p in msg.walk() if not p.is_multipart()]


def defects(msg):
    found = []
    for part in msg.walk():
        for d in part.defects:
            found.append(f"{part.get_content_type()}: {d.__class__.__name__}: {d}")
        for name, value in part.items():
            for d in getattr(value, "defects", ()):
                found.append(f"header {name}: {d.__class__.__name__}: {d}")
    return found


def tree(msg, depth=0, out=None):
    out = out if out is not None else []
    extra = []
    disp = msg.get_content_disposition()
    if disp:
        extra.append(disp)
    if msg.get_filename():
        extra.append(f"filename={msg.get_filename()}")
    if msg.get("Content-ID"):
        extra.append("cid")
    cs = msg.get_param("charset")
    if cs and msg.get_content_maintype() == "text":
        extra.append(f"charset={cs}")
    out.append("  " * depth + msg.get_content_type() + ("" if not extra else " " + " ".join(extra)))
    if msg.is_multipart():
        for p in msg.get_payload():
            tree(p, depth + 1, out)
    return out


def main():
    raw = sys.stdin.buffer.read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    cmd = sys.argv[1]
    if cmd == "defects":
        found = defects(msg)
        for f in found:
            print(f)
        return 1 if found else 0
    if cmd == "tree":
        print("\n".join(tree(msg)))
        return 0
    if cmd == "header":
        values = msg.get_all(sys.argv[2]) or []
        for v in values:
            print(str(v))
        return 0 if values else 1
    if cmd == "addresses":
        for v in msg.get_all(sys.argv[2]) or []:
            for a in v.addresses:
                print(a.addr_spec)
        return 0
    if cmd == "part":
        part = leaves(msg)[int(sys.argv[2])]
        sys.stdout.buffer.write(part.get_payload(decode=True) or b"")
        return 0
    if cmd == "text":
        part = leaves(msg)[int(sys.argv[2])]
        sys.stdout.write(part.get_content())
        return 0
    if cmd == "params":
        part = leaves(msg)[int(sys.argv[2])]
        print(part.get_content_type(), part.get_content_disposition(), part.get_filename())
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
