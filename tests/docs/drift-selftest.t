#!/bin/bash
# The drift test can fail: run drift.py over a made-up command whose man
# page and completions each miss or invent an option, and check that it
# reports exactly those, and passes once they are fixed.
# Environment from meson: SRCDIR.
set -u
: "${SRCDIR:?}"
. "$SRCDIR/tests/cli/lib.sh"

# reported NAME PATTERN: drift.py's output ($T/out) has a line matching it
reported() {
    if grep -qE -- "$2" "$T/out"; then
        _report 0 "$1"
    else
        _report 1 "$1"
        echo "# no line matching: $2"
        sed 's/^/# /' "$T/out" | head -30
    fi
}

for p in mandoc zsh fish; do
    if ! command -v "$p" >/dev/null; then
        skip "drift.py reports drift" "$p is not installed"
        echo "1..$_n"
        exit 0
    fi
done

if [ ! -f /usr/share/bash-completion/bash_completion ]; then
    skip "drift.py reports drift" "bash-completion is not installed"
    echo "1..$_n"
    exit 0
fi

DRIFT=$SRCDIR/tests/docs/drift.py
B=$T/build S=$T/src
mkdir -p "$B/tools" "$S/man" "$S/completions/bash" "$S/completions/zsh" \
    "$S/completions/fish"

# a command with -a/--alpha (a value), --beta (a flag) and -h/--help, as
# GOption prints them
cat >"$B/tools/fake-tool" <<'TOOL'
#!/bin/sh
cat <<'HELP'
Usage:
  fake-tool [OPTION…] FILE

Help Options:
  -h, --help              Show help options

Application Options:
  -a, --alpha=X           Alpha
  --beta                  Beta
HELP
TOOL
chmod +x "$B/tools/fake-tool"

# the man page forgets --beta and invents --gamma; its example uses --delta
cat >"$S/man/fake-tool.1" <<'PAGE'
.Dd November 27, 2026
.Dt FAKE-TOOL 1
.Os
.Sh NAME
.Nm fake-tool
.Nd a made-up command
.Sh SYNOPSIS
.Nm
.Op Fl -beta
.Sh DESCRIPTION
Nothing; the synopsis naming
.Fl -beta
does not document it.
.Sh OPTIONS
.Bl -tag -width Ds
.It Fl a Ar x , Fl -alpha Ar x
Alpha.
.It Fl -gamma
Gamma.
.It Fl h , Fl -help
Help.
.El
.Sh EXAMPLES
.Bd -literal
fake-tool --alpha=1 --delta file
.Ed
PAGE

# bash forgets -a, zsh is complete, fish forgets --beta and invents -z
cat >"$S/completions/bash/fake-tool" <<'BASH'
_fake_tool()
{
    local cur prev words cword
    _init_completion || return
    [[ $cur == -* ]] &&
        mapfile -t COMPREPLY < <(compgen -W '--alpha --beta -h --help' -- "$cur")
} && complete -F _fake_tool fake-tool
BASH
cat >"$S/completions/zsh/_fake-tool" <<'ZSH'
#compdef fake-tool
_arguments -s : \
	'(-a --alpha)'{-a+,--alpha=}'[alpha]:x: ' \
	'--beta[beta]' \
	'(- *)'{-h,--help}'[help]' \
	'*:file:_files'
ZSH
cat >"$S/completions/fish/fake-tool.fish" <<'FISH'
complete -c fake-tool -s a -l alpha -x
complete -c fake-tool -s z
complete -c fake-tool -s h -l help
FISH

all="fake-tool.1"
comps="bash/fake-tool:zsh/_fake-tool:fish/fake-tool.fish"
BUILDDIR=$B SRCDIR=$S MAN_PAGES=$all COMPLETION_FILES=$comps \
    /usr/bin/python3 "$DRIFT" fake-tool no-such-tool \
    >"$T/out" 2>&1
rc=$?
_report "$([ "$rc" != 0 ] && echo 0 || echo 1)" "drift.py fails on drift (exit $rc)"
reported "a documented-nowhere option is missing from the man page" \
    '^# missing from man/fake-tool.1 OPTIONS: --beta$'
reported "an invented option in the man page is reported" \
    "^# in man/fake-tool.1 OPTIONS but not in --help-all: --gamma$"
reported "an option missing from bash is reported" \
    '^# missing from completions/bash/fake-tool: -a$'
reported "a complete zsh completion passes" \
    '^ok [0-9]+ - fake-tool: zsh completion offers every option$'
reported "an option missing from fish is reported" \
    '^# missing from completions/fish/fake-tool.fish: --beta$'
reported "an invented option in fish is reported" \
    '^# in completions/fish/fake-tool.fish but not in --help-all: -z$'
reported "an example with an unknown option is reported" \
    '^# fake-tool has no option --delta$'
reported "a listed command that is not built fails" \
    '^not ok [0-9]+ - no-such-tool: is built$'

# fixed, it passes
sed -i 's/^\.It Fl -gamma$/.It Fl -beta/; s/ --delta / /' "$S/man/fake-tool.1"
sed -i "s/'--alpha --beta/'-a --alpha --beta/" "$S/completions/bash/fake-tool"
sed -i 's/^complete -c fake-tool -s z$/complete -c fake-tool -l beta/' \
    "$S/completions/fish/fake-tool.fish"
BUILDDIR=$B SRCDIR=$S MAN_PAGES=$all COMPLETION_FILES=$comps \
    /usr/bin/python3 "$DRIFT" fake-tool >"$T/out" 2>&1
rc=$?
_report "$rc" "drift.py passes once the page and completions agree"
[ "$rc" = 0 ] || sed 's/^/# /' "$T/out" | grep -v '^# ok'

# a command without man page or completions fails
rm "$S/man/fake-tool.1" "$S/completions/zsh/_fake-tool"
BUILDDIR=$B SRCDIR=$S MAN_PAGES=$all COMPLETION_FILES=$comps \
    /usr/bin/python3 "$DRIFT" fake-tool >"$T/out" 2>&1
reported "a command without a man page fails" '^# no man page man/fake-tool.1$'
reported "a command without a zsh completion fails" \
    '^# no completion file completions/zsh/_fake-tool$'

echo "1..$_n"
[ "$_failed" = 0 ]
