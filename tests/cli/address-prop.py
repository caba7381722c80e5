#!/usr/bin/python3
"""Property: every address header we write keeps the mailboxes given.

usage: address-prop.py N [SEED]

Builds N random address lists (display names with commas, quotes and
non-ASCII, quoted local parts, IDN domains in any case, A-labels in upper
case, comments, groups), writes each with mime-compose --to or mime-header
--set/--add, and reads the result with Python's email (policy=default).
Each run either succeeds, and Python then finds exactly the mailboxes given
(same count, same domains as A-labels) with zero defects, or is refused with
exit 65 and one line on stderr naming the header.  Prints one line per
violation; exit 1 if any, or if fewer than half the lists were accepted
(the lists are meant to be valid, so a test that refuses everything proves
nothing)."""
import email
import email.policy
import random
import subprocess
import sys

ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"
WORDS = ["Ann", "Bob", "Zoë", "Müller", "季度", "Jürgen", "O'Neil", "Doe,", "John",
         "=?utf-8?q?x?=", "Ελένη", "the \"boss\"", "a.b", "Dr.", "(x)", "<y>", "x;y", "a:b"]
DOMAINS = ["example.org", "mail.example.com", "bücher.example", "BÜCHER.example",
           "xn--bcher-kva.example", "XN--BCHER-KVA.EXAMPLE", "Xn--80akhbyknj4f.example",
           "испытание.example", "例え.テスト", "sub.XN--BCHER-KVA.example",
           "XN--ABC.example"]


def a_label(domain):
    return ".".join(
        lab.lower() if lab.lower().startswith("xn--") else lab.encode("idna").decode().lower()
        for lab in domain.split("."))


def local_part(r):
    if r.random() < 0.2:
        inner = r.choice(["a,b", "a b", 'q\\"x', "x;y", "p@q", "(c)"])
        return '"' + inner + '"'
    n = r.randint(1, 3)
    return ".".join("".join(r.choice(ATEXT) for _ in range(r.randint(1, 6))) for _ in range(n))


def quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def display(r):
    name = " ".join(r.choice(WORDS) for _ in range(r.randint(1, 3)))
    if any(c in name for c in ',"():;<>@[]\\.') or r.random() < 0.3:
        return quote(name)
    return name


def comment(r):
    if r.random() < 0.7:
        return ""
    return r.choice([" (a comment)", " (nested (comment) here)", " (Zoë)", "(x)"])


def mailbox(r):
    """(text, domain)"""
    domain = r.choice(DOMAINS)
    spec = local_part(r) + "@" + domain
    if r.random() < 0.6:
        text = display(r) + comment(r) + " <" + spec + ">"
    else:
        text = spec
    return comment(r).lstrip() + (" " if r.random() < 0.3 else "") + text + comment(r), domain


def address_list(r):
    items, domains = [], []
    for _ in range(r.randint(1, 4)):
        if r.random() < 0.2:
            members = [mailbox(r) for _ in range(r.randint(0, 3))]
            items.append(display(r) + ": " + ", ".join(m[0] for m in members) + ";")
            domains += [m[1] for m in members]
        else:
            m = mailbox(r)
            items.append(m[0])
            domains.append(m[1])
    return ", ".join(items), domains


def run(r, value):
    how = r.choice(["compose", "set", "add"])
    if how == "compose":
        args = ["mime-compose", "--from", "ann@example.org", "--to", value]
        stdin = b"body\n"
    else:
        args = ["mime-header", "--" + how, "To: " + value]
        stdin = b"From: ann@example.org\nSubject: x\n\nbody\n"
    p = subprocess.run(args, input=stdin, capture_output=True)
    return how, p


def main():
    n = int(sys.argv[1])
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 13
    r = random.Random(seed)
    bad = accepted = 0
    for i in range(n):
        value, domains = address_list(r)
        how, p = run(r, value)
        err = p.stderr.decode("utf-8", "replace")
        if p.returncode == 65 and err.count("\n") == 1 and "To:" in err and not p.stdout:
            continue
        if p.returncode != 0:
            print(f"#{i} {how} {value!r}: exit {p.returncode} {err!r}")
            bad += 1
            continue
        accepted += 1
        msg = email.message_from_bytes(p.stdout, policy=email.policy.default)
        to = msg["To"]
        got = [] if to is None else [a.domain.lower() for a in to.addresses]
        defects = [] if to is None else list(to.defects) + list(msg.defects)
        want = [a_label(d) for d in domains]
        if got != want or defects:
            print(f"#{i} {how} {value!r}: wrote {msg['To']!r}, Python reads {got}, "
                  f"expected {want}, defects {defects}")
            bad += 1
    print(f"{accepted} of {n} accepted, {bad} violations (seed {seed})")
    if accepted < n // 2:
        bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
