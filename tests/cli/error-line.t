#!/bin/bash
# An error is one line on stderr, and what it quotes from the input (a file
# name, a header name, a recipient) has its control characters escaped, so
# it can neither break the line nor drive the terminal (DESIGN 7; issue 13,
# "Small things users hit").  Bytes that are not UTF-8 are escaped too.
. "$SRCDIR/tests/cli/lib.sh"
cd "$T" || exit 1

printf 'From: ann@example.org\nTo: bob@example.com\nSubject: Hi\n\nHello.\n' >msg.eml
printf 'Hello.\n' >note.txt

# says NAME CODE EXPECTED-STDERR CMD...: exit CODE, nothing on stdout, and
# stderr is exactly EXPECTED-STDERR (one line)
says() {
    _name=$1 _code=$2 _want=$3
    shift 3
    run "$@"
    if [ "$rc" = "$_code" ] && [ ! -s "$T/out" ] &&
        [ "$(cat "$T/err")" = "$_want" ] && [ "$(wc -l <"$T/err")" = 1 ]; then
        _report 0 "$_name"
    else
        _report 1 "$_name"
        echo "# exit $rc (expected $_code), stdout $(wc -c <"$T/out") bytes"
        od -c "$T/err" | head -5 | sed 's/^/# stderr: /'
        echo "# expected: $_want"
    fi
}

says "mime-attach: an escape sequence in a file name is shown escaped" 66 \
    'mime-attach: x\x1b[2Jy.pdf: No such file or directory' \
    mime-attach $'x\033[2Jy.pdf' <msg.eml
says "mime-attach: a line feed in a file name keeps the error on one line" 66 \
    'mime-attach: a\nb.pdf: No such file or directory' \
    mime-attach $'a\nb.pdf' <msg.eml
says "mime-attach: a file name that is not UTF-8" 66 \
    'mime-attach: \xff.pdf: No such file or directory' \
    mime-attach $'\xff.pdf' <msg.eml
says "mime-compose: a carriage return in the --html file name" 66 \
    'mime-compose: n\rx.html: No such file or directory' \
    mime-compose --from ann@example.org --to bob@example.com \
    --html $'n\rx.html' note.txt
says "mime-inline: a C1 control (U+009B, CSI) in a file name" 66 \
    'mime-inline: \u009b31m.html: No such file or directory' \
    mime-inline --html $'\302\23331m.html' <msg.eml
says "mime-inline: UTF-8 that is text stays as it is" 66 \
    'mime-inline: Grüße.html: No such file or directory' \
    mime-inline --html 'Grüße.html' <msg.eml
says "mime-header: -o into a folder whose name holds an escape sequence" 73 \
    'mime-header: /nonexistent\x1b[1m/x.eml: No such file or directory' \
    mime-header --add 'X-Tag: 1' -o $'/nonexistent\033[1m/x.eml' <msg.eml
says "smtp-send: the same for --dry-run -o" 73 \
    'smtp-send: /nonexistent\x1b[1m/x.eml: No such file or directory' \
    env MIMEPIPE_CONFIG=/dev/null smtp-send --dry-run \
    -o $'/nonexistent\033[1m/x.eml' bob@example.com <msg.eml
# one operand too many: every command (but smtp-send, which counts its
# recipients itself) says it in the same words, naming the first one
# too many and how many it takes, and exits 64
for _tool in mime-decrypt mime-encrypt mime-header mime-inline mime-sign \
    mime-verify; do
    says "$_tool: an operand is refused" 64 \
        "$_tool: extra.eml: unexpected argument (at most 0 operands, see --help)" \
        "$_tool" extra.eml <msg.eml
done
for _tool in mime-compose mime-dkim mime-extract mime-show; do
    says "$_tool: a second operand is refused" 64 \
        "$_tool: extra.eml: unexpected argument (at most 1 operand, see --help)" \
        "$_tool" msg.eml extra.eml </dev/null
done
says "mime-merge: a third operand is refused" 64 \
    'mime-merge: extra.csv: unexpected argument (at most 2 operands, see --help)' \
    mime-merge msg.eml data.csv extra.csv </dev/null
says "mime-show: an operand after -- counts as one" 64 \
    'mime-show: -x.eml: unexpected argument (at most 1 operand, see --help)' \
    mime-show -- msg.eml -x.eml </dev/null

# a field name and a recipient are checked, and refused, by the modules
# that read them: what they say is one line without a raw control either
clean_line() { # NAME CMD...: exit 64, one line on stderr, no control in it
    _name=$1
    shift
    run "$@"
    if [ "$rc" = 64 ] && [ "$(wc -l <"$T/err")" = 1 ] &&
        ! LC_ALL=C grep -q '[[:cntrl:]]' "$T/err"; then
        _report 0 "$_name"
    else
        _report 1 "$_name"
        echo "# exit $rc"
        od -c "$T/err" | head -3 | sed 's/^/# stderr: /'
    fi
}
clean_line "mime-header: a field name holding an OSC sequence" \
    mime-header --get $'X-\033]0;owned\007' <msg.eml
clean_line "smtp-send: a recipient holding an escape sequence" \
    env MIMEPIPE_CONFIG=/dev/null smtp-send --dry-run -- \
    $'bob\033[8m@example.com' <msg.eml

echo "1..$_n"
done_testing
