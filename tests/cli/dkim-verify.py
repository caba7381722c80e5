"""dkimpy (python3-dkim) as an independent DKIM verifier for the tests.

usage: dkim-verify.py DNS-TXT-FILE < message

The message is put in its wire form first (every CR, LF and CRLF a CRLF,
as smtp-send transmits it); keys come from DNS-TXT-FILE, one
"NAME TXT-VALUE" per line (what mime-dkim --print-dns-record writes),
never from the network.  Prints one line per signature; exits 0 when
there is at least one signature and every one verifies, 1 otherwise.
"""
import re
import sys

import dkim

table = {}
with open(sys.argv[1], encoding="ascii") as f:
    for line in f:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, value = line.split(None, 1)
        table[name.rstrip(".").lower()] = value.encode("ascii")


def dnsfunc(name, timeout=5):
    return table.get(name.decode("ascii").rstrip(".").lower())


msg = re.sub(rb"\r\n|\r|\n", b"\r\n", sys.stdin.buffer.read())
d = dkim.DKIM(msg)
n = len([1 for k, _ in d.headers if k.lower() == b"dkim-signature"])
ok = n > 0
for i in range(n):
    try:
        good = d.verify(idx=i, dnsfunc=dnsfunc)
    except dkim.DKIMException as e:
        good = False
        print("signature %d: %s" % (i + 1, e))
    print("signature %d: %s" % (i + 1, "pass" if good else "fail"))
    ok = ok and good
sys.exit(0 if ok else 1)
