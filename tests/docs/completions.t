#!/bin/bash
# The completions' behaviour: each file parses in its shell, and each
# completes option names, fixed value sets and file names where it should.
# Tests for a command not built yet are skipped with the reason.
# Environment from meson: BUILDDIR, SRCDIR.
set -u
: "${BUILDDIR:?}" "${SRCDIR:?}"
C=$SRCDIR/completions
HERE=$SRCDIR/tests/docs
. "$SRCDIR/tests/cli/lib.sh"

# has NAME WANTED...: the last candidate list ($T/got) holds every WANTED
has() {
    _name=$1
    shift
    _missing=
    for w in "$@"; do
        grep -qxF -- "$w" "$T/got" || _missing="$_missing $w"
    done
    if [ -z "$_missing" ]; then
        _report 0 "$_name"
    else
        _report 1 "$_name"
        echo "# missing:$_missing"
        echo "# got: $(head -20 "$T/got" | tr '\n' ' ')"
    fi
}

# is_only NAME WANTED: the last candidate list is exactly WANTED (one word)
is_only() {
    if [ "$(cat "$T/got")" = "$2" ]; then
        _report 0 "$1"
    else
        _report 1 "$1"
        echo "# got: $(head -20 "$T/got" | tr '\n' ' ') (expected $2)"
    fi
}

# bash_complete COMMAND WORD... CURRENT: candidates in $T/got, run in $T/files
bash_complete() {
    _cmd=$1
    (cd "$T/files" && bash "$HERE/bash-complete.sh" "$C/bash/$_cmd" "$@") \
        >"$T/got" 2>"$T/err"
}

# fish_complete COMMANDLINE: fish's candidates (first column) in $T/got
fish_complete() {
    _cmd=${1%% *}
    (cd "$T/files" && fish --no-config -c \
        "set -g fish_complete_path; source \$argv[1]; complete -C \$argv[2]" \
        "$C/fish/$_cmd.fish" "$1") | cut -f1 >"$T/got"
}

# zsh_complete LINE: zsh's real candidates (compinit, in a pty) in $T/got.
# Starting zsh in a pty costs most of a second, so every line of
# ZSH_LINES is completed in one run, the first time one is asked for.
ZSH_LINES=(
    "mime-compose --ch" "mime-compose --charset u" "mime-compose --html no"
    "mime-compose -" "mime-header --get Message-" "mime-header --addresses "
    "mime-attach --ty" "mime-attach --type application/pd"
    "mime-attach --type application/pdf rep" "mime-inline --image ch"
    "smtp-send --tls " "smtp-send --dsn-notify SUCCESS,"
    "smtp-send --server smtps://loc"
)
zsh_complete() {
    if [ ! -e "$T/zsh.all" ]; then
        (cd "$T/files" &&
            timeout 60 zsh -f "$HERE/zsh-complete.zsh" "$C/zsh" "${ZSH_LINES[@]}") \
            >"$T/zsh.all"
    fi
    awk -v want="== $1" '/^== / { on = ($0 == want); next } on' \
        "$T/zsh.all" >"$T/got"
    grep -qxF -- "== $1" "$T/zsh.all" ||
        echo "# zsh_complete: \"$1\" is not in ZSH_LINES"
}

built() { [ -x "$BUILDDIR/tools/$1" ]; }

have_bc=
for f in /usr/share/bash-completion/bash_completion \
    /usr/local/share/bash-completion/bash_completion; do
    [ -f "$f" ] && have_bc=$f && break
done
have() { command -v "$1" >/dev/null; }
have_zpty=
have zsh && zsh -fc 'zmodload zsh/zpty' 2>/dev/null && have_zpty=1

mkdir -p "$T/files/sub"
: >"$T/files/report.pdf"
: >"$T/files/note.html"
: >"$T/files/note.txt"
: >"$T/files/chart.png"

# --- every file parses in its shell
for f in "$C"/bash/*; do
    ok "bash -n ${f#"$C"/}" bash -n "$f"
    if have shellcheck; then
        ok "shellcheck ${f#"$C"/}" shellcheck -s bash "$f"
    else
        skip "shellcheck ${f#"$C"/}" "shellcheck is not installed"
    fi
done
for f in "$C"/zsh/_*; do
    if have zsh; then
        ok "zsh -n ${f#"$C"/}" zsh -n "$f"
    else
        skip "zsh -n ${f#"$C"/}" "zsh is not installed"
    fi
done
for f in "$C"/fish/*.fish; do
    if have fish; then
        ok "fish -n ${f#"$C"/}" fish -n "$f"
    else
        skip "fish -n ${f#"$C"/}" "fish is not installed"
    fi
done

# --- mime-compose
if [ -z "$have_bc" ]; then
    skip "bash: mime-compose completions" "bash-completion is not installed"
else
    bash_complete mime-compose --ch
    is_only "bash: mime-compose --ch completes to --charset" --charset
    bash_complete mime-compose --charset UT
    has "bash: mime-compose --charset offers utf-8" utf-8
    bash_complete mime-compose --html no
    has "bash: mime-compose --html completes file names" note.html note.txt
    bash_complete mime-compose --html = no
    has "bash: mime-compose --html=FILE completes file names" note.html
    bash_complete mime-compose --from a@example.org re
    has "bash: mime-compose completes the body file" report.pdf
fi
if have fish; then
    fish_complete "mime-compose --charset "
    has "fish: mime-compose --charset offers utf-8" utf-8 iso-8859-1
    fish_complete "mime-compose --html no"
    has "fish: mime-compose --html completes file names" note.html note.txt
fi
if [ -n "$have_zpty" ]; then
    zsh_complete "mime-compose --ch"
    is_only "zsh: mime-compose --ch completes to --charset" --charset
    zsh_complete "mime-compose --charset u"
    has "zsh: mime-compose --charset offers utf-8" utf-8
    zsh_complete "mime-compose --html no"
    has "zsh: mime-compose --html completes HTML files" note.html
    zsh_complete "mime-compose -"
    has "zsh: mime-compose - offers short and long options" -s --subject -H
else
    skip "zsh: mime-compose completions" "zsh with zsh/zpty is not installed"
fi

# --- mime-header
if ! built mime-header; then
    skip "mime-header completions" "mime-header is not built yet"
else
    if [ -n "$have_bc" ]; then
        bash_complete mime-header --get Message-
        is_only "bash: mime-header --get completes field names" Message-ID
        bash_complete mime-header --addresses ''
        has "bash: mime-header --addresses offers address fields" \
            From To Cc Bcc Reply-To Sender
        ok "bash: mime-header --addresses offers only address fields" \
            sh -c "! grep -qx Subject '$T/got'"
        bash_complete mime-header ''
        is "bash: mime-header completes no file (it reads stdin)" \
            "$(cat "$T/got")" ""
    fi
    if have fish; then
        fish_complete "mime-header --delete X-Pri"
        has "fish: mime-header --delete completes field names" X-Priority
    fi
    if [ -n "$have_zpty" ]; then
        zsh_complete "mime-header --get Message-"
        is_only "zsh: mime-header --get completes field names" Message-ID
        zsh_complete "mime-header --addresses "
        ok "zsh: mime-header --addresses offers only address fields" \
            sh -c "grep -qx Reply-To '$T/got' && ! grep -qx Subject '$T/got'"
    fi
fi

# --- mime-attach
if ! built mime-attach; then
    skip "bash: mime-attach --ty completes to --type" "mime-attach is not built yet"
    skip "bash: mime-attach --type offers MIME types" "mime-attach is not built yet"
    skip "bash: mime-attach completes a file name after --type TYPE" \
        "mime-attach is not built yet"
elif [ -z "$have_bc" ]; then
    skip "bash: mime-attach completions" "bash-completion is not installed"
else
    bash_complete mime-attach --ty
    is_only "bash: mime-attach --ty completes to --type" --type
    bash_complete mime-attach --type application/pd
    has "bash: mime-attach --type offers MIME types" application/pdf
    bash_complete mime-attach --type application/pdf rep
    is_only "bash: mime-attach completes a file name after --type TYPE" \
        report.pdf
    bash_complete mime-attach --type = text/cs
    has "bash: mime-attach --type=TYPE completes too" text/csv
    # ./run-tests under env -i: no HOME (bash-complete.sh runs with set -u)
    (unset HOME XDG_DATA_HOME && bash_complete mime-attach --type application/pd)
    has "bash: mime-attach --type offers MIME types with HOME unset" application/pdf
fi
if built mime-attach && have fish; then
    fish_complete "mime-attach --type application/pd"
    has "fish: mime-attach --type offers MIME types" application/pdf
    fish_complete "mime-attach --type text/plain rep"
    is_only "fish: mime-attach completes a file name after --type TYPE" \
        report.pdf
fi
if built mime-attach && [ -n "$have_zpty" ]; then
    zsh_complete "mime-attach --ty"
    is_only "zsh: mime-attach --ty completes to --type" --type
    zsh_complete "mime-attach --type application/pd"
    has "zsh: mime-attach --type offers MIME types" application/pdf
    zsh_complete "mime-attach --type application/pdf rep"
    is_only "zsh: mime-attach completes a file name after --type TYPE" \
        report.pdf
fi

# --- mime-inline
if ! built mime-inline; then
    skip "mime-inline completions" "mime-inline is not built yet"
else
    if [ -n "$have_bc" ]; then
        bash_complete mime-inline --html ''
        has "bash: mime-inline --html completes HTML files" note.html
        ok "bash: mime-inline --html offers no PDF" \
            sh -c "! grep -qx report.pdf '$T/got'"
        bash_complete mime-inline --image ''
        has "bash: mime-inline --image completes image files" chart.png
        ok "bash: mime-inline --image offers no HTML" \
            sh -c "! grep -qx note.html '$T/got'"
    fi
    if have fish; then
        fish_complete "mime-inline --image ch"
        has "fish: mime-inline --image completes file names" chart.png
    fi
    if [ -n "$have_zpty" ]; then
        zsh_complete "mime-inline --image ch"
        has "zsh: mime-inline --image completes image files" chart.png
    fi
fi

# --- smtp-send
if ! built smtp-send; then
    skip "smtp-send completions" "smtp-send is not built yet"
else
    if [ -n "$have_bc" ]; then
        bash_complete smtp-send --tls ''
        has "bash: smtp-send --tls offers starttls implicit off" \
            starttls implicit off
        bash_complete smtp-send --tls = im
        is_only "bash: smtp-send --tls=im completes to implicit" implicit
        bash_complete smtp-send --dsn-notify ''
        has "bash: smtp-send --dsn-notify offers its keywords" \
            NEVER SUCCESS FAILURE DELAY
        bash_complete smtp-send --dsn-notify SUCCESS,F
        is_only "bash: smtp-send --dsn-notify completes inside a comma list" \
            SUCCESS,FAILURE
        bash_complete smtp-send --dsn-return ''
        has "bash: smtp-send --dsn-return offers FULL HDRS" FULL HDRS
        bash_complete smtp-send --auth ''
        has "bash: smtp-send --auth offers the mechanisms" \
            SCRAM-SHA-256 PLAIN LOGIN XOAUTH2 OAUTHBEARER
        bash_complete smtp-send --server smtps
        has "bash: smtp-send --server offers the URL schemes" smtps://
        bash_complete smtp-send --ca-file rep
        is_only "bash: smtp-send --ca-file completes file names" report.pdf
    fi
    if have fish; then
        fish_complete "smtp-send --tls "
        has "fish: smtp-send --tls offers starttls implicit off" \
            starttls implicit off
        fish_complete "smtp-send --server sm"
        has "fish: smtp-send --server offers the URL schemes" smtps:// smtp://
        fish_complete "smtp-send --dsn-notify SUCCESS,F"
        has "fish: smtp-send --dsn-notify completes inside a comma list" \
            SUCCESS,FAILURE
    fi
    if [ -n "$have_zpty" ]; then
        zsh_complete "smtp-send --tls "
        has "zsh: smtp-send --tls offers starttls implicit off" \
            starttls implicit off
        zsh_complete "smtp-send --dsn-notify SUCCESS,"
        ok "zsh: smtp-send --dsn-notify completes inside a comma list" \
            sh -c "grep -qx SUCCESS,FAILURE '$T/got' && ! grep -q NEVER '$T/got'"
        zsh_complete "smtp-send --server smtps://loc"
        has "zsh: smtp-send --server completes hosts after smtps://" \
            smtps://localhost
    fi
    # --account is agreed (DESIGN 6) but not in every smtp-send yet
    if ! "$BUILDDIR/tools/smtp-send" --help-all | grep -q -- '--account'; then
        skip "smtp-send --account completes account names" \
            "this smtp-send has no --account"
    else
        cat >"$T/config" <<'CONF'
# [account commented]
[account work]
host=smtp.example.com
[account default]
host=localhost
CONF
        if [ -n "$have_bc" ]; then
            MIMEPIPE_CONFIG=$T/config bash_complete smtp-send --account ''
            is "bash: smtp-send --account offers the config's accounts" \
                "$(sort "$T/got" | tr '\n' ' ')" "default work "
            (unset HOME XDG_CONFIG_HOME MIMEPIPE_CONFIG &&
                bash_complete smtp-send --account '')
            is "bash: smtp-send --account with HOME unset: no error" "$(cat "$T/err")" ""
        fi
        if [ -n "$have_zpty" ]; then
            MIMEPIPE_CONFIG=$T/config timeout 60 zsh -f "$HERE/zsh-complete.zsh" \
                "$C/zsh" "smtp-send --account " | sed 1d >"$T/got"
            is "zsh: smtp-send --account offers the config's accounts" \
                "$(sort "$T/got" | tr '\n' ' ')" "default work "
        fi
        if have fish; then
            MIMEPIPE_CONFIG=$T/config fish_complete "smtp-send --account "
            is "fish: smtp-send --account offers the config's accounts" \
                "$(sort "$T/got" | tr '\n' ' ')" "default work "
        fi
    fi
fi

echo "1..$_n"
[ "$_failed" = 0 ]
