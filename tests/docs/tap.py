"""TAP output for the Python checks of tests/docs: a numbered line a
check, the reasons of a failure as comments, the plan at the end."""

_n = 0
_failed = 0


def report(good, name, diag=()):
    """one check: "ok N - NAME", or "not ok" and each line of @diag"""
    global _n, _failed
    _n += 1
    print(("ok" if good else "not ok") + " %d - %s" % (_n, name))
    if not good:
        _failed += 1
        for line in diag:
            print("# " + line)


def skip(name, reason):
    """a check that cannot run here, and why"""
    global _n
    _n += 1
    print("ok %d - %s # SKIP %s" % (_n, name, reason))


def finish():
    """prints the plan; the exit status: 1 when a check failed"""
    print("1..%d" % _n)
    return 1 if _failed else 0
