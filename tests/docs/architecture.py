#!/usr/bin/python3
"""ARCHITECTURE.md against the tree (issue 15: "ARCHITECTURE.md matches
the tree"): every file of lib/ is named in the module table under its own
floor, every module and file the page names exists, and the floors keep
apart (message and submit include only core and themselves; core only
core).  TAP on stdout.

usage: architecture.py          Environment: SRCDIR, the source tree.
"""

import os
import re
import sys

from tap import finish, report

SRCDIR = os.environ.get("SRCDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
FLOORS = ("core", "message", "submit")


def lib_files():
    """{floor: sorted file names} of lib/<floor>/mp-*.[ch]"""
    out = {}
    for floor in FLOORS:
        d = os.path.join(SRCDIR, "lib", floor)
        out[floor] = sorted(f for f in os.listdir(d)
                            if re.fullmatch(r"mp-[a-z0-9-]+\.[ch]", f))
    return out


def table_rows(text):
    """(modules, floor, whole row) of each row of the module table"""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.match(r"mp-[a-z0-9-]+", cells[0]):
            rows.append(([m.strip() for m in cells[0].split(",")],
                         cells[1], line))
    return rows


def named_in(row, fname):
    """the row names the file: its module in the first cell, or the file
    (or its name without .c/.h) anywhere in the row"""
    modules, _, line = row
    stem = fname[:-2]
    if stem in modules:
        return True
    return re.search(r"(?<![\w-])" + re.escape(stem) + r"(\.[ch])?(?![\w-])",
                     line) is not None


def main():
    with open(os.path.join(SRCDIR, "ARCHITECTURE.md"), encoding="utf-8") as f:
        text = f.read()
    rows = table_rows(text)
    files = lib_files()

    report(sorted(d for d in os.listdir(os.path.join(SRCDIR, "lib"))
                  if os.path.isdir(os.path.join(SRCDIR, "lib", d)))
           == sorted(FLOORS), "lib/ has exactly the three floors "
           + ", ".join(FLOORS))

    for floor in FLOORS:
        missing = [f for f in files[floor]
                   if not any(r[1] == floor and named_in(r, f) for r in rows)]
        report(not missing,
               "every file of lib/%s is named in a row of floor %s"
               % (floor, floor),
               ["not named: lib/%s/%s" % (floor, f) for f in missing])

    everywhere = {f for fl in FLOORS for f in files[fl]}
    everywhere |= set(os.listdir(os.path.join(SRCDIR, "tools", "common")))
    named = set(re.findall(r"(?<![\w/-])(mp-[a-z0-9-]+\.[ch])(?![\w-])", text))
    gone = sorted(f for f in named if f not in everywhere)
    report(not gone, "every file the page names exists",
           ["no such file: " + f for f in gone])

    bad = []
    for modules, floor, _ in rows:
        where = (os.path.join(SRCDIR, "tools", "common") if floor ==
                 "tools/common" else os.path.join(SRCDIR, "lib", floor))
        for m in modules:
            if not (os.path.exists(os.path.join(where, m + ".c"))
                    or os.path.exists(os.path.join(where, m + ".h"))):
                bad.append("%s is not in %s" % (m, where))
    report(not bad, "every module of the table is on the floor it names",
           bad)

    headers = {fl: {f for f in files[fl] if f.endswith(".h")}
               for fl in FLOORS}
    allowed = {"core": {"core"}, "message": {"core", "message"},
               "submit": {"core", "submit"}}
    crossing = []
    for floor in FLOORS:
        for f in files[floor]:
            path = os.path.join(SRCDIR, "lib", floor, f)
            with open(path, encoding="utf-8") as src:
                for i, line in enumerate(src, 1):
                    m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                    if not m:
                        continue
                    owner = [fl for fl in FLOORS if m.group(1) in headers[fl]]
                    if owner and not set(owner) & allowed[floor]:
                        crossing.append("lib/%s/%s:%d includes %s (lib/%s)" %
                                        (floor, f, i, m.group(1), owner[0]))
    report(not crossing, "message and submit include only core and "
           "themselves, core only core", crossing)

    return finish()


sys.exit(main())
