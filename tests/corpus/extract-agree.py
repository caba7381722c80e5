#!/usr/bin/python3
"""Agreement of mime-extract with Python's email over a folder of messages.

usage: extract-agree.py [--bindir DIR] [--jobs N] [--verbose] FOLDER...

For every message, `mime-extract -v -C TMP` writes every leaf part; the
section numbers it prints are matched with the IMAP section numbers (RFC
3501 6.4.5) of Python's walk (email, policy compat32), and the bytes of
each file must equal part.get_payload(decode=True).  Where they cannot,
the difference must be one of the kinds listed in KNOWN, each with the
reason why mime-extract's answer is the right one (mime-extract(1),
CAVEATS); anything else is a failure.  A crash, a hang, an exit other
than 0 or 65, or a file outside TMP is a failure too.

Prints one line per difference (with --verbose, per kind) and a summary:
  messages N, leaves N, equal N, explained N (kind: N ...), failed N
Exit 1 on any failure.
"""
import argparse
import base64
import binascii
import concurrent.futures as cf
import email
import email.policy
import os
import re
import subprocess
import sys
import tempfile

TIMEOUT = 20

# kinds of difference, and why ours is right
KNOWN = {
    "truncated-cut":
        "the last part of a message whose multipart lacks its closing "
        "delimiter (a bounce cut by its MTA) runs to the end of the "
        "input and may be cut short: mime-extract writes the other "
        "parts and not that one (exit 65 when it is the only one chosen; "
        "mime-show marks it 'truncated'), Python returns what is there",
    "refused-deep":
        "parts nested deeper than MP_SHOW_MAX_DEPTH are refused (exit 65)",
    "structure":
        "the two parsers read a malformed structure differently (a "
        "boundary GMime and Python match differently, a broken "
        "Content-Type); the leaves then have different numbers, and "
        "neither reading is the message's single truth",
    "base64-garbage":
        "a part labelled base64 that is not (plain text, a last group of "
        "one character): mime-extract decodes what the label says, "
        "ignoring characters outside the alphabet (RFC 2045 6.8); "
        "Python gives back the raw text when its decoder fails.  The "
        "label is the message's own word, and the same bytes come out "
        "whichever the text",
    "qp-lenient":
        "quoted-printable whose Content-Transfer-Encoding value has "
        "trailing blanks, that Python does not recognise (it returns the "
        "text undecoded); RFC 2045 6.1 allows the blanks",
    "uuencode":
        "x-uuencode parts with text around the block: mime-extract "
        "returns the block's file, Python the same but for text after "
        "'end'",
    "message-subtype":
        "Python reads every message/* part (feedback-report, "
        "delivery-status, disposition-notification) as holding messages "
        "or header blocks; RFC 2046 5.2 and RFC 3501 6.4.5 nest only "
        "message/rfc822 (and RFC 6532 message/global): the others are "
        "leaves whose bytes mime-extract writes as they are",
    "header-junk":
        "a line in a header block that is neither a field nor a "
        "continuation ('From  : x', a bare word): Python ends the header "
        "there and reads the rest as the body, GMime skips the line and "
        "reads on.  RFC 5322 2.2 defines neither; GMime's reading keeps "
        "the fields that follow (Content-Type among them), Python's keeps "
        "the line.  Where the line is the whole of a forwarded "
        "'message' (no header at all), Python's answer is the better one "
        "and mime-extract's part is empty (noted in mime-extract(1))",
    "eol-before-delimiter":
        "a multipart whose own boundary never appears, read as a leaf by "
        "both: Python keeps the line break before the enclosing "
        "multipart's delimiter, which RFC 2046 5.1.1 says belongs to the "
        "delimiter",
    "python-undecoded":
        "Python returns the raw text for an encoding it does not know "
        "(or a multipart it could not read); mime-extract too, except "
        "where GMime knows the encoding",
}


NESTED = ("message/rfc822", "message/global")


def section_join(prefix, i):
    return "%s.%d" % (prefix, i) if prefix else str(i)


def leaves(msg, prefix="", depth=0):
    """(section, part) of every leaf of a message's body, RFC 3501."""
    if msg.is_multipart() and msg.get_content_maintype() == "multipart":
        yield from children(msg, prefix, depth)
    elif msg.is_multipart() and msg.get_content_type() in NESTED:
        sec = section_join(prefix, 1)
        yield from leaves(msg.get_payload(0), sec, depth + 1)
    else:
        yield section_join(prefix, 1), msg


def children(mp, prefix, depth):
    for i, part in enumerate(mp.get_payload(), 1):
        sec = section_join(prefix, i)
        if part.is_multipart() and part.get_content_maintype() == "multipart":
            yield from children(part, sec, depth + 1)
        elif part.is_multipart() and part.get_content_type() in NESTED:
            # message/rfc822: its body's numbers
            yield from leaves(part.get_payload(0), sec, depth + 1)
        else:
            yield sec, part


def classify(part, ours, theirs):
    if part.get_content_maintype() == "multipart" and \
            theirs in (ours + b"\n", ours + b"\r\n"):
        return "eol-before-delimiter"
    cte = (part.get("Content-Transfer-Encoding") or "").strip().lower()
    if cte == "base64":
        return "base64-garbage"
    if cte == "quoted-printable":
        return "qp-lenient"
    if cte in ("x-uuencode", "uuencode", "x-uue"):
        return "uuencode"
    if cte not in ("", "7bit", "8bit", "binary"):
        return "python-undecoded"
    return None


def check(path, bindir):
    """Returns (leaves, equal, {kind: n}, [failure lines])."""
    raw = open(path, "rb").read()
    kinds = {}
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        try:
            p = subprocess.run([os.path.join(bindir, "mime-extract"), "-v",
                                "-C", out, path], capture_output=True,
                               timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            return 0, 0, kinds, ["%s: timeout" % path]
        if p.returncode < 0 or p.returncode not in (0, 1, 65):
            return 0, 0, kinds, ["%s: exit %d: %s" % (
                path, p.returncode, p.stderr.decode(errors="replace").strip())]
        if b"Sanitizer" in p.stderr or b"runtime error:" in p.stderr:
            return 0, 0, kinds, ["%s: sanitizer: %s" % (path, p.stderr[:300])]
        if sorted(os.listdir(tmp)) != ["out"]:
            fails.append("%s: wrote outside its folder: %s" %
                         (path, os.listdir(tmp)))
        files = {}
        for line in p.stderr.decode("utf-8", "replace").splitlines():
            if "\t" in line:
                sec, name = line.split("\t", 1)
                files[sec] = os.path.join(out, name)
                if os.path.dirname(os.path.realpath(files[sec])) != \
                        os.path.realpath(out):
                    fails.append("%s: %s written outside: %r" %
                                 (path, sec, name))
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        try:
            theirs = list(leaves(msg))
        except Exception as e:  # Python could not walk it
            theirs = []
        if p.returncode == 65:
            err = p.stderr.decode(errors="replace")
            kind = "refused-deep" if "nested" in err else \
                "truncated-cut" if "cut short" in err else None
            if kind is None:
                # not a message at all: Python must find nothing to decode
                payloads = [x.get_payload(decode=True) for _, x in theirs]
                if any(payloads):
                    kind = "structure"
                else:
                    return 0, 0, kinds, fails
            kinds[kind] = kinds.get(kind, 0) + len(theirs)
            return len(theirs), 0, kinds, fails
        equal = 0

        def cut():
            """mime-show marks the last part of a truncated message"""
            tree = subprocess.run(
                [os.path.join(bindir, "mime-show"), "--tree", path],
                capture_output=True, timeout=TIMEOUT).stdout
            return tree.rstrip().endswith(b" truncated")
        junk = any(
            any(type(d).__name__ == "MissingHeaderBodySeparatorDefect"
                for d in m.defects) for m in msg.walk())
        ours_leaf = {s: f for s, f in files.items() if ".uu" not in s}
        for sec, part in theirs:
            f = ours_leaf.pop(sec, None)
            if f is None and sec == theirs[-1][0] and cut():
                kinds["truncated-cut"] = kinds.get("truncated-cut", 0) + 1
                continue
            if f is None:
                kinds["structure"] = kinds.get("structure", 0) + 1
                continue
            if part.is_multipart():
                kinds["message-subtype"] = kinds.get("message-subtype", 0) + 1
                continue
            want = part.get_payload(decode=True)
            if want is None:
                want = b""
            got = open(f, "rb").read()
            if got == want:
                equal += 1
                continue
            kind = classify(part, got, want)
            if len(files) != len(theirs) + sum(".uu" in x for x in files):
                kind = "structure"
            elif junk:
                kind = "header-junk"
            if kind is None:
                fails.append("%s: part %s: %d bytes, Python %d" %
                             (path, sec, len(got), len(want)))
            else:
                kinds[kind] = kinds.get(kind, 0) + 1
        # sections only we have: the structure was read differently
        for sec in ours_leaf:
            kinds["structure"] = kinds.get("structure", 0) + 1
        return len(theirs), equal, kinds, fails


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bindir", default="build/tools")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("folders", nargs="+")
    a = ap.parse_args()
    paths = sorted(os.path.join(d, f) for folder in a.folders
                   for d, _, fs in os.walk(folder) for f in fs
                   if not f.endswith(".md"))
    total = {"leaves": 0, "equal": 0}
    kinds = {}
    fails = []
    with cf.ThreadPoolExecutor(a.jobs) as ex:
        for path, (n, eq, k, f) in zip(paths, ex.map(
                lambda p: check(p, a.bindir), paths)):
            total["leaves"] += n
            total["equal"] += eq
            for kind, c in k.items():
                kinds[kind] = kinds.get(kind, 0) + c
                if a.verbose:
                    print("%s: %s (%d)" % (path, kind, c))
            fails += f
    for line in fails:
        print("FAIL", line)
    explained = sum(kinds.values())
    print("messages %d, leaves %d, equal %d, explained %d (%s), failed %d" %
          (len(paths), total["leaves"], total["equal"], explained,
           ", ".join("%s: %d" % kv for kv in sorted(kinds.items())),
           len(fails)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
