#!/usr/bin/python3
"""Compare mime-header's decoding with Python's email (policy=default).

usage: header-decode-compare.py [--bindir DIR] [--verbose] FOLDER...

A development check, not a test: for every message it runs
`mime-header --list` and compares each field with str() of Python's
header (but for dates, MIME fields and message-ids, which Python
re-formats), then `mime-header --addresses NAME` with Python's addr_spec list
for From/To/Cc/Reply-To/Sender.  Values Python cannot read (lone
surrogates from undecodable bytes) are counted apart.  Prints a summary
and, with --verbose, every disagreement.
"""
import argparse
import email
import email.headerregistry
import email.policy
import os
import subprocess
import sys

ADDRESS = ["from", "to", "cc", "reply-to", "sender"]
STRUCTURED = set(email.headerregistry._default_header_map)
ADDRESS_FIELDS = {"from", "to", "cc", "bcc", "reply-to", "sender"}


def has_surrogates(s):
    return any(0xD800 <= ord(c) <= 0xDFFF for c in s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--bindir", default="build/tools")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    tool = os.path.join(a.bindir, "mime-header")
    files = []
    for folder in a.folders:
        for root, _, names in os.walk(folder):
            files += [os.path.join(root, n) for n in sorted(names)
                      if not n.endswith(".md")]
    stats = dict(values=0, agree=0, differ=0, unreadable=0, skipped_msgs=0,
                 addr_fields=0, addr_agree=0, addr_differ=0)
    for path in files:
        data = open(path, "rb").read()
        try:
            msg = email.message_from_bytes(data, policy=email.policy.default)
            items = [(k, str(v)) for k, v in msg.items()]
        except Exception:
            stats["skipped_msgs"] += 1
            continue
        p = subprocess.run([tool, "--list"], input=data, capture_output=True)
        if p.returncode != 0:
            stats["skipped_msgs"] += 1
            continue
        ours = []
        for line in p.stdout.decode("utf-8").split("\n")[:-1]:
            name, _, value = line.partition(": ")
            ours.append((name, value))
        if [k.lower() for k, _ in items] != [k.lower() for k, _ in ours]:
            stats["skipped_msgs"] += 1
            if a.verbose:
                print(f"{path}: header structure differs")
            continue
        for (name, pv), (_, ov) in zip(items, ours):
            # Python re-formats dates, MIME fields and message-ids; it
            # renders address fields as we do
            low = name.lower()
            if (low in STRUCTURED and low != "subject"
                    and low.removeprefix("resent-") not in ADDRESS_FIELDS):
                continue
            stats["values"] += 1
            if has_surrogates(pv):
                stats["unreadable"] += 1
                continue
            # Python keeps CR/LF produced by decoding; we make them blanks
            pv = pv.replace("\r", " ").replace("\n", " ").replace("\0", "\ufffd")
            if pv == ov:
                stats["agree"] += 1
            else:
                stats["differ"] += 1
                if a.verbose:
                    print(f"{path}: {name}:\n  python: {pv!r}\n  ours:   {ov!r}")
        for name in ADDRESS:
            values = msg.get_all(name)
            if not values:
                continue
            try:
                want = [ad.addr_spec for v in values for ad in v.addresses]
            except Exception:
                continue
            if any(has_surrogates(w) for w in want):
                continue
            stats["addr_fields"] += 1
            p = subprocess.run([tool, "--addresses", name], input=data,
                               capture_output=True)
            got = p.stdout.decode("utf-8", "replace").split("\n")[:-1]
            if got == want:
                stats["addr_agree"] += 1
            else:
                stats["addr_differ"] += 1
                if a.verbose:
                    print(f"{path}: --addresses {name}:\n  python: {want!r}\n  ours:   {got!r}")
    print(" ".join(f"{k}={v}" for k, v in stats.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
