#!/usr/bin/python3
"""What Python's email (policy=default) reads in a message, as JSON.

usage: read-python.py FILE

The view every reader of tests/interop prints: the subject, the text and
HTML bodies (the first text/plain and text/html leaves that are not
attachments), and every other leaf in order with its type, disposition,
file name, Content-ID and the SHA-256 of its decoded bytes; an attached
message (message/rfc822) is read the same way, as "message".
"""
import email
import email.policy
import hashlib
import json
import sys


def view(msg):
    out = {"subject": msg["Subject"], "text": None, "html": None, "attachments": []}

    def visit(part):
        ctype = part.get_content_type()
        disp = part.get_content_disposition()
        if ctype == "message/rfc822":
            inner = part.get_payload(0)
            out["attachments"].append(
                {"type": ctype, "disposition": disp, "filename": part.get_filename(),
                 "cid": None, "message": view(inner)})
            return
        if part.get_content_maintype() == "multipart":
            for sub in part.iter_parts():
                visit(sub)
            return
        if ctype == "text/plain" and disp != "attachment" and out["text"] is None:
            out["text"] = part.get_content()
            # Python-only: compare.py knows a reader's flowed quirks by it
            out["flowed"] = part.get_param("format") == "flowed"
            return
        if ctype == "text/html" and disp != "attachment" and out["html"] is None:
            out["html"] = part.get_content()
            return
        data = part.get_payload(decode=True) or b""
        cid = part["Content-ID"]
        out["attachments"].append(
            {"type": ctype, "disposition": disp, "filename": part.get_filename(),
             "cid": str(cid).strip().strip("<>") if cid else None,
             "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})

    visit(msg)
    return out


def main():
    with open(sys.argv[1], "rb") as f:
        msg = email.message_from_bytes(f.read(), policy=email.policy.default)
    json.dump(view(msg), sys.stdout, ensure_ascii=False, sort_keys=True, indent=1)
    print()


if __name__ == "__main__":
    main()
