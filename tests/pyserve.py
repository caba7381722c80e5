#!/usr/bin/python3
"""One Python for a whole test script: the checks run in forks of it.

usage: pyserve.py SOCKET PARENT-PID [MODULE...]

A test script starts Python for each check (pycheck.py, mimecheck.py,
dkim-verify.py ...), and each start costs more than the check: the
interpreter, then `email`, `dkim` (which pulls in dnspython and httpx).
tests/cli/lib.sh starts this server once; tests/pyrun (pyrun.c) then asks
it to run `SCRIPT ARGS...`, `-c CODE ARGS...` or `- ARGS...` exactly as
`/usr/bin/python3 SCRIPT ARGS...` would, in a fork of this process where
the modules are already imported:

- the client passes its own file descriptors 0, 1 and 2 (SCM_RIGHTS), its
  working directory, umask, arguments and environment;
- a child is forked per request: it takes those descriptors as its
  standard streams (the same open files, offsets shared), changes to that
  directory, takes that environment, and runs the script as __main__;
- the exit status (SystemExit, 1 after an uncaught exception, 120 when
  stdout cannot be flushed, 128+N when killed by signal N) goes back to
  the client, which exits with it.

When a request carries an environment that would have started Python
differently (another locale, PYTHON* variables), the server answers
"fallback" and the client runs /usr/bin/python3 itself.

The server listens on SOCKET and says "listening" on stdout before its
imports (an early client waits in the backlog), and exits when PARENT-PID
(the test script) does, removing SOCKET.  MODULEs are imported on top of the default ones (email and its
policies); a request `--preload MODULE...` imports more (dkim-lib.sh asks
for dkim, whose import alone costs more than most checks).
"""
import atexit
import builtins
import email
import email.generator
import email.headerregistry
import email.message
import email.parser
import email.policy
import email.utils
import importlib
import io
import os
import re
import select
import socket
import struct
import sys
import threading
import traceback
import types

# variables that change how Python starts (the encoding of the standard
# streams, the paths, the flags): a request that differs here runs in a
# fresh interpreter instead
STARTUP = re.compile(r"^(PYTHON.*|LANG|LANGUAGE|LC_.*)$")


def startup_env(env):
    return {k: v for k, v in env.items() if STARTUP.match(k)}


def initial_env():
    """The environment this process was started with: in the C locale
    Python sets LC_CTYPE=C.UTF-8 in os.environ (PEP 538), not here."""
    with open("/proc/self/environ", "rb") as f:
        entries = f.read().split(b"\0")
    env = {}
    for entry in entries:
        k, sep, v = entry.partition(b"=")
        if sep:
            env[os.fsdecode(k)] = os.fsdecode(v)
    return env


def read_request(conn):
    """(fds, cwd, umask, argv, env) from one client, or None."""
    data, fds, _flags, _addr = socket.recv_fds(conn, 65536, 3)
    if len(data) < 4:
        for fd in fds:
            os.close(fd)
        return None
    (size,) = struct.unpack("=I", data[:4])
    data = data[4:]
    while len(data) < size:
        more = conn.recv(size - len(data))
        if not more:
            break
        data += more
    fields = data[:size].split(b"\0")
    if fields and fields[-1] == b"":
        fields.pop()
    if len(data) < size or len(fds) != 3 or len(fields) < 4:
        for fd in fds:
            os.close(fd)
        return None
    cwd = os.fsdecode(fields[0])
    umask = int(fields[1])
    argc = int(fields[2])
    argv = [os.fsdecode(a) for a in fields[3:3 + argc]]
    env = {}
    for entry in fields[3 + argc:]:
        k, sep, v = entry.partition(b"=")
        if sep:
            env[os.fsdecode(k)] = os.fsdecode(v)
    return fds, cwd, umask, argv, env


def exit_code(code):
    """The status Python gives a SystemExit carrying code."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def run(fds, cwd, umask, argv, env, coerced):
    """In the child: become `python3 ARGV...` with the client's streams."""
    for i, fd in enumerate(fds):
        os.dup2(fd, i)
        if fd > 2:
            os.close(fd)
    # fresh stream objects, made as the interpreter made the server's
    # (PYTHONUNBUFFERED, which meson sets, is the same on both sides)
    old = (sys.stdin, sys.stdout, sys.stderr)
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))

    def stream(fd, mode, old, line):
        raw = io.FileIO(fd, mode, closefd=False)
        if mode == "rb":
            buf = io.BufferedReader(raw)
        elif unbuffered:
            buf = raw
        else:
            buf = io.BufferedWriter(raw)
        return io.TextIOWrapper(buf, encoding=old.encoding,
                                errors=old.errors, line_buffering=line,
                                write_through=unbuffered and mode == "wb")

    sys.stdin = stream(0, "rb", old[0], False)
    sys.stdout = stream(1, "wb", old[1], os.isatty(1))
    sys.stderr = stream(2, "wb", old[2], True)
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = (
        sys.stdin, sys.stdout, sys.stderr)
    os.umask(umask)
    os.environ.clear()
    os.environ.update(env)
    # what the interpreter's start changed, as python3 would have
    os.environ.update(coerced)
    # a temporary directory chosen here before would ignore TMPDIR
    if "tempfile" in sys.modules:
        sys.modules["tempfile"].tempdir = None
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = builtins
    rc = 0
    try:
        os.chdir(cwd)
        if argv[0] == "-c":
            code = compile(argv[1], "<string>", "exec")
            sys.argv = ["-c"] + argv[2:]
            sys.path[0] = ""
        elif argv[0] == "-":
            code = compile(sys.stdin.buffer.read(), "<stdin>", "exec")
            sys.argv = list(argv)
            sys.path[0] = ""
        else:
            path = argv[0]
            try:
                with open(path, "rb") as f:
                    source = f.read()
            except OSError as e:
                print("%s: can't open file %r: [Errno %d] %s"
                      % (sys.executable, path, e.errno, e.strerror),
                      file=sys.stderr)
                return 2
            code = compile(source, path, "exec")
            main.__file__ = path
            sys.argv = list(argv)
            sys.path[0] = os.path.dirname(os.path.realpath(path))
        sys.modules["__main__"] = main
        exec(code, main.__dict__)
    except SystemExit as e:
        rc = exit_code(e.code)
    except BaseException:
        etype, value, tb = sys.exc_info()
        # the traceback python3 prints: from the script's first frame
        while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next
        sys.excepthook(etype, value.with_traceback(tb), tb)
        rc = 1
    try:
        atexit._run_exitfuncs()
    except BaseException:
        pass
    try:
        sys.stdout.flush()
    except BaseException:
        print("Exception ignored on flushing sys.stdout:", file=sys.stderr)
        traceback.print_exc()
        rc = 120
    try:
        sys.stderr.flush()
    except BaseException:
        pass
    return rc


def preload(names):
    """Import names here, once, for every later child."""
    for name in names:
        importlib.import_module(name)
    # forking a process with threads would copy their locks, not them
    if threading.active_count() != 1:
        raise RuntimeError("importing %s started a thread" % names)


def main():
    path, parent = sys.argv[1], int(sys.argv[2])
    # listening first: a client that comes early waits in the backlog
    # while the modules load, as it would wait for its own python3
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(64)
    parentfd = os.pidfd_open(parent)
    initial = initial_env()
    mine = startup_env(initial)
    coerced = {k: v for k, v in startup_env(os.environ).items()
               if initial.get(k) != v}
    print("listening", flush=True)
    preload(sys.argv[3:])
    # the header registry builds its classes on first use: build them once
    email.message_from_bytes(
        b"From: a@example.org\nTo: b@example.org\nSubject: =?utf-8?q?x?=\n"
        b"Date: Tue, 14 Nov 2023 22:13:20 +0000\nMIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=utf-8\n\nx\n",
        policy=email.policy.default).get_content()
    children = {}  # pidfd -> (pid, connection)
    while True:
        ready, _, _ = select.select([lsock, parentfd] + list(children), [], [])
        if parentfd in ready:
            break
        for fd in ready:
            if fd in children:
                pid, conn = children.pop(fd)
                os.close(fd)
                _, status = os.waitpid(pid, 0)
                if os.WIFSIGNALED(status):
                    rc = 128 + os.WTERMSIG(status)
                else:
                    rc = os.WEXITSTATUS(status)
                try:
                    conn.sendall(b"exit %d\n" % rc)
                except OSError:
                    pass
                conn.close()
        if lsock not in ready:
            continue
        conn, _ = lsock.accept()
        req = read_request(conn)
        if req is None:
            conn.close()
            continue
        if req[3][0] == "--preload":
            for fd in req[0]:
                os.close(fd)
            try:
                preload(req[3][1:])
                rc = 0
            except Exception:
                traceback.print_exc()
                rc = 1
            try:
                conn.sendall(b"exit %d\n" % rc)
            except OSError:
                pass
            conn.close()
            continue
        if startup_env(req[4]) != mine:
            for fd in req[0]:
                os.close(fd)
            try:
                conn.sendall(b"fallback\n")
            except OSError:
                pass
            conn.close()
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            rc = 70
            try:
                lsock.close()
                conn.close()
                os.close(parentfd)
                for fd in children:
                    os.close(fd)
                for _, c in children.values():
                    c.close()
                rc = run(*req, coerced)
            finally:
                os._exit(rc)
        for fd in req[0]:
            os.close(fd)
        children[os.pidfd_open(pid)] = (pid, conn)
    try:
        os.unlink(path)
    except OSError:
        pass


if __name__ == "__main__":
    main()
