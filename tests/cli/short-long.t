#!/bin/bash
# Every short option does exactly what its long form does (issue 13,
# "Options mean one thing"): for each command given as an argument, the
# list of short options is read from its --help-all, and each one is run
# beside its long form, "--long VALUE" and "--long=VALUE": the same bytes
# on stdout (and in the -o file), the same stderr, the same exit status.
# The command lines come from CASE below, keyed by "TOOL --long" (or by
# "--long" for the options every command shares); a short option without
# an entry fails, so a new one cannot escape this test.
# A letter also means one thing across the commands: each letter is
# checked against LETTER, the table of mimepipe(7).
# Arguments: the tool names (tools/meson.build's tool_names).
. "$SRCDIR/tests/cli/lib.sh"
cd "$T" || exit 1

# ---- the one table of letters (mimepipe(7), "Short options") ----------
declare -A LETTER=(
    [a]=--account [b]=--bcc [c]=--cc [d]=--delete [f]=--from [g]=--get
    [h]=--help [H]=--header [i]=--inline [I]=--image [j]=--jobs [l]=--list
    [m]=--message [n]=--dry-run [o]=--output [q]=--flush [r]=--raw
    [s]=--subject [t]=--read-recipients [T]=--text [u]=--user
    [v]=--verbose [V]=--version [C]=--directory
)
# (-C, -n, -v are shared: a new command with one of them needs a CASE below)

# ---- inputs -------------------------------------------------------------
printf 'Hello Bob,\n\nthe figures. Gr\303\274\303\237e, Ann\n' >note.txt
printf 'New text, Bob.\n' >alt.txt
printf 'quarter,sales\nQ3,42\n' >figures.csv
printf '\211PNG\r\n\032\n' >chart.png
printf '<p>Chart</p><img src="cid:chart.png">\n' >cid.html
printf '<p>Two</p><img src="cid:one"><img src="cid:two">\n' >two.html
cat >msg.eml <<'EOF'
From: Ann <ann@example.org>
To: bob@example.com
Cc: Carl <carl@example.net>
Subject: =?UTF-8?Q?Quarterly_report_=E5=AD=A3=E5=BA=A6=E6=8A=A5=E5=91=8A?=
Date: Tue, 14 Nov 2023 22:13:20 +0000
Message-ID: <short.1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello Bob.
EOF
cat >invoice.eml <<'EOF'
From: shop@example.com
To: ann@example.org
Subject: Invoice
Date: Tue, 14 Nov 2023 22:13:20 +0000

Please pay.
EOF
# mime-merge's template and rows
mime-compose --from ann@example.org --to x@example.com \
    --subject 'Hello {{name}}' note.txt |
    sed 's/^To: x@example.com$/To: {{email}}/' >template.eml
printf 'name,email\nBob,bob@example.com\nCarl,carl@example.net\n' >rows.csv
# smtp-send: an account, and a server that refuses at once (port 1)
cat >config <<EOF
[account work]
host = 127.0.0.1
port = 1
tls = off
from = work@example.org
EOF
export MIMEPIPE_CONFIG=$T/config HOME=$T
unset MIMEPIPE_PASSWORD
REFUSE=(--server smtp://127.0.0.1:1 --tls=off --timeout 5)

# ---- the command lines: "@" is where the option goes; the word after it is
# its value when it takes one.  Standard input is IN[TOOL] unless the
# entry's key is in CASE_IN.  Each run starts without out.eml and with an
# empty outdir/; what they hold afterwards is compared too.
declare -A IN=(
    [mime-compose]=note.txt [mime-attach]=msg.eml [mime-inline]=msg.eml
    [mime-header]=msg.eml [smtp-send]=msg.eml [mime-extract]=attached.eml
    [mime-merge]=/dev/null [mime-dkim]=msg.eml [mime-show]=attached.eml
)
declare -A CASE=(
    [--help]='@'
    [--version]='@'
    [mime-compose --cc]='--from ann@example.org --to bob@example.com @ "Carl <carl@example.net>"'
    [mime-compose --bcc]='--from ann@example.org --to bob@example.com @ dora@example.net'
    [mime-compose --subject]="--from ann@example.org --to bob@example.com @ 'Quarterly report 季度报告'"
    [mime-compose --header]="--from ann@example.org --to bob@example.com @ 'X-Priority: 1'"
    [mime-compose --output]='--from ann@example.org --to bob@example.com @ out.eml'
    [mime-attach --inline]='@ figures.csv'
    [mime-attach --message]='figures.csv @ invoice.eml'
    [mime-attach --output]='@ out.eml figures.csv'
    [mime-inline --text]='@ alt.txt'
    [mime-inline --image]='--html cid.html @ chart.png'
    [mime-inline --output]='--text alt.txt @ out.eml'
    [mime-header --delete]='@ Cc'
    [mime-header --get]='@ Subject'
    [mime-header --raw]='--get Subject @'
    [mime-header --list]='@'
    [mime-header --output]="--add 'X-Tag: one' @ out.eml"
    [smtp-send --account]='@ work --dry-run bob@example.com'
    [smtp-send --flush]='--outbox outbox --server smtp://127.0.0.1:1 --tls=off @'
    [smtp-send --jobs]='@ 2 --server smtp://127.0.0.1:1 --tls=off --timeout 5 ./msg.eml'
    [smtp-send --user]='--dry-run @ ann bob@example.com'
    [smtp-send --from]='@ bounce@example.org --dry-run bob@example.com'
    [smtp-send --read-recipients]='--dry-run @ dora@example.net'
    [smtp-send --verbose]="${REFUSE[*]} @ bob@example.com"
    [smtp-send --dry-run]='@ bob@example.com'
    [smtp-send --output]='--dry-run @ out.eml bob@example.com'
    # the shared letters of the commands being built beside these
    [mime-extract --directory]='@ outdir'
    [mime-extract --dry-run]='-C outdir @'
    [mime-extract --verbose]='-C outdir @'
    [mime-extract --output]='--part 2 @ out.eml'
    [mime-show --output]='@ out.eml'
    [mime-merge --output]='@ out.eml template.eml rows.csv'
    [mime-merge --directory]='@ outdir template.eml rows.csv'
    [mime-merge --dry-run]='@ template.eml rows.csv'
    [mime-dkim --verbose]='--verify --dns-txt /dev/null @'
    [mime-dkim --output]='--verify --dns-txt /dev/null @ out.eml'
)
declare -A CASE_IN=()

# smtp-send --flush needs a message kept in the outbox: the refused server
# gives it a temporary failure
mime-attach figures.csv <msg.eml >attached.eml
smtp-send "${REFUSE[@]}" --outbox outbox bob@example.com <msg.eml \
    >/dev/null 2>&1
is "smtp-send --outbox keeps a message for the --flush case" \
    "$(find outbox -type f -path '*/new/*' | grep -c .)" 1

# "  -c, --cc=ADDR    ..." -> "c cc 1"; "  -i, --inline  ..." -> "i inline 0"
short_options() {
    "$1" --help-all | sed -nE 's/^  -(.), --([A-Za-z0-9-]+)(=?).*/\1 \2 \3/p' |
        while read -r s l v; do echo "$s $l $([ -n "$v" ] && echo 1 || echo 0)"; done
}

# run_form FORM-WORDS...: run the case with the option given as the words;
# stdout, the -o file and the exit status in $T/got.N, stderr in $T/err.N
form=0
run_form() {
    form=$((form + 1))
    rm -rf out.eml outdir
    mkdir outdir
    "$tool" "${before[@]}" "$@" "${after[@]}" <"$stdin" >"$T/got.$form" \
        2>"$T/err.$form"
    echo "$?" >"$T/rc.$form"
    [ -e out.eml ] && { echo '-- out.eml'; cat out.eml; } >>"$T/got.$form"
    find outdir -type f | sort | while read -r f; do
        echo "-- $f"
        cat "$f"
    done >>"$T/got.$form"
}

same() { # NAME A B: files $T/got.A, err.A, rc.A equal those of B
    if cmp -s "$T/got.$2" "$T/got.$3" && cmp -s "$T/err.$2" "$T/err.$3" &&
        cmp -s "$T/rc.$2" "$T/rc.$3"; then
        _report 0 "$1"
    else
        _report 1 "$1"
        diff "$T/got.$2" "$T/got.$3" | head -10 | sed 's/^/# stdout: /'
        diff "$T/err.$2" "$T/err.$3" | head -10 | sed 's/^/# stderr: /'
        echo "# exit $(cat "$T/rc.$2") and $(cat "$T/rc.$3")"
    fi
}

for tool in "$@"; do
    if ! [ -x "$BUILDDIR/tools/$tool" ]; then
        _report 1 "$tool is built"
        continue
    fi
    n_short=0
    while read -r s long takes; do
        n_short=$((n_short + 1))
        # one letter, one meaning, whatever the command
        is "$tool -$s is --$long, as mimepipe(7)'s table says" \
            "${LETTER[$s]:-(not in the table)}" "--$long"

        key="$tool --$long"
        template=${CASE[$key]-${CASE[--$long]-UNSET}}
        if [ "$template" = UNSET ]; then
            _report 1 "$tool -$s: a case in tests/cli/short-long.t"
            echo "# $tool -$s/--$long has no entry: add [$key]='...' to CASE" \
                "in tests/cli/short-long.t (a command line with @ for the option)"
            continue
        fi
        eval "set -- $template"
        before=() after=() value=() seen=
        while [ $# -gt 0 ]; do
            if [ -z "$seen" ] && [ "$1" = @ ]; then
                seen=1
                if [ "$takes" = 1 ]; then
                    value=("$2")
                    shift
                fi
            elif [ -z "$seen" ]; then
                before+=("$1")
            else
                after+=("$1")
            fi
            shift
        done
        stdin=${CASE_IN[$key]:-${IN[$tool]}}
        a=$((form + 1))
        run_form "-$s" "${value[@]}"
        run_form "--$long" "${value[@]}"
        if [ "$takes" = 1 ]; then
            run_form "--$long=${value[0]}"
        fi
        v=${value[*]:+ ${value[*]}}
        same "$tool -$s$v is $tool --$long$v" $a $((a + 1))
        if [ "$takes" = 1 ]; then
            same "  ... and --$long=${value[0]}" $((a + 1)) $((a + 2))
        fi
        # a case that is a usage error proves nothing about the option
        if [ "$(cat "$T/rc.$((a + 1))")" = 64 ]; then
            _report 1 "  ... the case for $tool --$long is not a usage error"
            sed 's/^/# stderr: /' "$T/err.$((a + 1))" | head -3
        fi
    done < <(short_options "$BUILDDIR/tools/$tool")
    ok "$tool --help-all lists short options" test "$n_short" -gt 0
done

# the per-file options of mime-attach apply to the FILE after them, short
# or long, and not to the FILE before them
if [ -x "$BUILDDIR/tools/mime-attach" ]; then
    run mime-attach figures.csv -i chart.png -m invoice.eml <msg.eml
    is "mime-attach -i, -m: exit 0" "$rc" 0
    is "mime-attach -i applies to the next FILE only, -m forwards" \
        "$(pycheck tree <"$T/out" | sed -n 's/^  //p' | tr -s ' ' | tr '\n' '|')" \
        "text/plain charset=utf-8|text/csv attachment filename=figures.csv charset=utf-8|image/png inline filename=chart.png|message/rfc822 attachment filename=invoice.eml| text/plain|"
fi

echo "1..$_n"
done_testing
