#!/usr/bin/python3
"""Documentation drift: every option a command really has (its GOption
--help-all) must be documented in its man page and offered by its bash, zsh
and fish completions, and none of those may name an option the command does
not have.  TAP on stdout.

usage: drift.py TOOL...   (meson passes tools/meson.build's tool_names)
Environment: BUILDDIR, SRCDIR; MAN_PAGES and COMPLETION_FILES, the lists
man/ and completions/ install (colon-separated, relative to their folder).
"""

import os
import re
import shlex
import shutil
import subprocess
import sys

from tap import finish, report, skip

BUILDDIR = os.environ["BUILDDIR"]
SRCDIR = os.environ["SRCDIR"]
HERE = os.path.dirname(os.path.abspath(__file__))
MAN_PAGES = set(filter(None, os.environ.get("MAN_PAGES", "").split(":")))
COMPLETION_FILES = set(
    filter(None, os.environ.get("COMPLETION_FILES", "").split(":")))

# "  -c, --cc=ADDR   Copy recipient(s)" or "  --8bit   Allow ..."
HELP_LINE = re.compile(r"^  (?:-(\w), )?--([\w][\w-]*)")


def help_options(exe):
    """The options GOption prints for --help-all, as '-c' and '--cc'.
    GLib's own --help-all and --help-GROUP are left out: they exist only to
    page the help text."""
    out = subprocess.run([exe, "--help-all"], capture_output=True,
                         text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError("%s --help-all exited %d: %s" %
                           (exe, out.returncode, out.stderr.strip()))
    opts = set()
    for line in out.stdout.splitlines():
        m = HELP_LINE.match(line)
        if not m or m.group(2).startswith("help-"):
            continue
        if m.group(1):
            opts.add("-" + m.group(1))
        opts.add("--" + m.group(2))
    if not opts:
        raise RuntimeError("%s --help-all lists no option" % exe)
    return opts


TREE_LINE = re.compile(r"^( *)(.*?) \((text|elem|block|head|body)\)")


def man_options(page):
    """The flags (Fl) in the item heads (.It) of the OPTIONS section, read
    from mandoc's syntax tree so quoting and escapes are mandoc's own."""
    out = subprocess.run(["mandoc", "-Ttree", page], capture_output=True,
                         text=True, timeout=30)
    if out.returncode > 1:  # 1 is "warnings"; lint is a separate test
        raise RuntimeError("mandoc failed on %s: %s" % (page, out.stderr))
    nodes = []
    for line in out.stdout.splitlines():
        m = TREE_LINE.match(line)
        if m:
            nodes.append((len(m.group(1)), m.group(2), m.group(3)))
    opts = set()
    in_options = False
    head_depth = fl_depth = None
    for i, (depth, name, kind) in enumerate(nodes):
        if name == "Sh" and kind == "head":
            # the section title is the next node (a text child)
            in_options = (i + 1 < len(nodes) and nodes[i + 1][1] == "OPTIONS")
            head_depth = fl_depth = None
            continue
        if not in_options:
            continue
        if head_depth is not None and depth <= head_depth:
            head_depth = fl_depth = None
        if fl_depth is not None and depth <= fl_depth:
            fl_depth = None
        if name == "It" and kind == "head":
            head_depth = depth
        elif head_depth is not None and name == "Fl" and kind == "elem":
            fl_depth = depth
        elif fl_depth is not None and kind == "text":
            # Fl prepends one hyphen: "Fl c" is -c, "Fl -cc" is --cc
            if re.fullmatch(r"-?[\w][\w-]*", name):
                opts.add("-" + name)
    return opts


def bash_options(tool, path):
    """What the bash completion offers for `TOOL -<TAB>`."""
    out = subprocess.run(["bash", os.path.join(HERE, "bash-complete.sh"),
                          path, tool, "-"],
                         capture_output=True, text=True, timeout=30)
    if out.returncode == 77:
        return None
    if out.returncode != 0:
        raise RuntimeError("bash completion failed: " + out.stderr.strip())
    return {w.rstrip("=") for w in out.stdout.split() if w.startswith("-")}


def fish_options(tool, path):
    """What fish offers for `TOOL -<TAB>` with only this file loaded."""
    script = ("set -g fish_complete_path; source %s; "
              "complete -C %s" % (fish_quote(path), fish_quote(tool + " -")))
    out = subprocess.run(["fish", "--no-config", "-c", script],
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError("fish failed: " + out.stderr.strip())
    return {line.split("\t")[0] for line in out.stdout.splitlines()
            if line.startswith("-")}


def fish_quote(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


# an _arguments spec: optional exclusion list "(...)", "*" (repeatable),
# then the option name, then "[", "=", ":", "+" or the end
ZSH_SPEC = re.compile(r"^(?:\([^)]*\))?\*?(--?[\w][\w-]*?)(?:=-?|\+)?"
                      r"(?:\[|:|$)")


def zsh_options(tool, path):
    """The option specs the zsh completion function passes to _arguments:
    the function runs with _arguments replaced by a stub that prints them."""
    out = subprocess.run(["zsh", "-f", os.path.join(HERE, "zsh-specs.zsh"),
                          path], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise RuntimeError("zsh failed: " + out.stderr.strip())
    opts = set()
    for spec in out.stdout.splitlines():
        m = ZSH_SPEC.match(spec)
        if m:
            opts.add(m.group(1))
    return opts


def compare(name, want, got, where):
    """One TAP line: `got` must hold every option of `want` and no other."""
    missing = sorted(want - got)
    extra = sorted(got - want)
    diag = []
    if missing:
        diag.append("missing from %s: %s" % (where, " ".join(missing)))
    if extra:
        diag.append("in %s but not in --help-all: %s" %
                    (where, " ".join(extra)))
    report(not missing and not extra, name, diag)


MDOC_ESCAPES = [("\\e", "\\"), ("\\(aq", "'"), ("\\(dq", '"'),
                ("\\-", "-"), ("\\&", ""), ("\\(ti", "~"),
                ("\\(ha", "^"), ("\\(ga", "`")]
SEPARATORS = {"|", "||", "&", "&&", ";", ";;", "(", ")", "$("}


def example_options(page, tools):
    """{tool: set of options} used in the page's literal displays
    (.Bd -literal, .Dl): shell examples, muttrc and gitconfig lines."""
    used = {}
    lines = []
    in_literal = False
    for line in open(page, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith(".Bd") and "-literal" in line:
            in_literal = True
            continue
        if line.startswith(".Ed"):
            in_literal = False
            continue
        if line.startswith(".Dl "):  # a one-line display
            line = line[4:]
        elif not in_literal or line.startswith("."):
            continue
        for a, b in MDOC_ESCAPES:
            line = line.replace(a, b)
        lines.append(line)
    # join continuation lines, then read each as shell words
    text = "\n".join(lines).replace("\\\n", " ")
    for logical in text.split("\n"):
        words = shell_words(logical)
        stack = [words]
        while stack:
            words = stack.pop()
            tool = None
            for w in words:
                if w in SEPARATORS:
                    tool = None
                elif w in tools:
                    tool = w
                    used.setdefault(tool, set())
                elif " " in w and w.split()[0] in tools:
                    # a quoted command line: muttrc's set sendmail = "..."
                    stack.append(shell_words(w))
                elif tool and w == "--":
                    tool = None
                elif tool and w.startswith("--"):
                    used[tool].add(w.split("=", 1)[0])
                elif tool and w.startswith("-") and len(w) > 1:
                    used[tool].update("-" + c for c in w[1:])
    return used


def shell_words(line):
    lex = shlex.shlex(line, posix=True, punctuation_chars="|&;()<>")
    lex.whitespace_split = True
    try:
        return list(lex)
    except ValueError:  # an unbalanced quote: read it word by word
        return line.split()


def check_examples(pages, tools):
    for page in sorted(pages):
        path = os.path.join(SRCDIR, "man", page)
        if not os.path.exists(path):
            report(False, "%s exists" % page, ["no file man/" + page])
            continue
        for tool, opts in sorted(example_options(path, tools).items()):
            name = "%s: examples give %s only its options" % (page, tool)
            exe = os.path.join(BUILDDIR, "tools", tool)
            if not os.access(exe, os.X_OK):
                skip(name, tool + " is not built yet")
                continue
            unknown = sorted(opts - help_options(exe))
            report(not unknown, name,
                   ["%s has no option %s" % (tool, " ".join(unknown))])


def check_tool(tool):
    exe = os.path.join(BUILDDIR, "tools", tool)
    if not os.access(exe, os.X_OK):
        report(False, "%s: is built" % tool, ["no executable " + exe])
        return
    try:
        want = help_options(exe)
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        report(False, "%s: --help-all lists the options" % tool, [str(e)])
        return

    page = os.path.join(SRCDIR, "man", tool + ".1")
    name = "%s: man page documents every option" % tool
    if not os.path.exists(page):
        report(False, name, ["no man page man/%s.1" % tool])
    elif not shutil.which("mandoc"):
        skip(name, "mandoc is not installed")
    else:
        compare(name, want, man_options(page), "man/%s.1 OPTIONS" % tool)
    report(tool + ".1" in MAN_PAGES, "%s: man page is installed" % tool,
           ["%s.1 is not in man/meson.build's man_pages" % tool])

    checkers = {
        "bash": (tool, bash_options),
        "zsh": ("_" + tool, zsh_options),
        "fish": (tool + ".fish", fish_options),
    }
    for shell, (fname, get) in checkers.items():
        rel = "%s/%s" % (shell, fname)
        path = os.path.join(SRCDIR, "completions", rel)
        name = "%s: %s completion offers every option" % (tool, shell)
        if not os.path.exists(path):
            report(False, name, ["no completion file completions/" + rel])
            continue
        if not shutil.which(shell):
            skip(name, shell + " is not installed")
            continue
        try:
            got = get(tool, path)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            report(False, name, [str(e)])
            continue
        if got is None:
            skip(name, "bash-completion is not installed")
            continue
        compare(name, want, got, "completions/" + rel)
        report(rel in COMPLETION_FILES,
               "%s: %s completion is installed" % (tool, shell),
               ["%s is not in completions/meson.build" % rel])


def main():
    tools = sys.argv[1:]
    report(bool(tools), "the tool list is not empty",
           ["drift.py was given no tool names"])
    for tool in tools:
        check_tool(tool)
    # the examples may name commands that are not built yet: all of them
    everyone = set(tools) | {"mime-compose", "mime-attach", "mime-inline",
                             "mime-header", "smtp-send"}
    check_examples(MAN_PAGES, everyone)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
