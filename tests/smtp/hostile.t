#!/bin/bash
# smtp-send against a server that tries to reach the user's terminal
# through -v (issue 9): control bytes in replies (escape sequences, a bare
# CR that overwrites the line) are shown as '?', never passed through.
# mp-smtp hands reply lines to the transcript raw (fuzz/fuzz-smtp-reply.c
# found a bare CR there): the command is what must mask them.  Then
# servers that close in the middle of a transaction, a 100 kB reply line
# and binary garbage: exit 75 or 76 with one line on stderr.
. "$SRCDIR/tests/smtp/lib.sh"

plan 12
start_server
message <<<"$STD_MSG"

# only the control bytes of the terminal (tab and newline are ours)
controls() { LC_ALL=C grep -c $'[\x01-\x08\x0b-\x1f\x7f]' "$1"; }

scenario '{"greeting": "220-test.example \u001b]0;owned\u0007\u001b[2J\r\n220 ok\r\n"}'
send -v bob@example.com
code "escape sequences in the greeting, with -v" 0
is "escape sequences in the greeting: none reach stderr" \
    "$(controls "$T/err")" 0
ok "escape sequences in the greeting: shown as ?" \
    grep -q 'test.example ?\]0;owned??\[2J' "$T/err"

scenario '{"reply": {"MAIL": "250 ok\rFAKE 221 server said bye\r\n"}}'
send -v bob@example.com
code "a bare CR in a reply, with -v" 0
is "a bare CR in a reply: no CR on stderr" "$(controls "$T/err")" 0
ok "a bare CR in a reply: one line" \
    grep -q '250 ok?FAKE 221 server said bye' "$T/err"

# hostile servers (issue 9): each is a clean failure with the documented
# code and one line on stderr
one_line() { [ "$(wc -l <"$T/err")" = 1 ]; }

scenario '{"reply": {"END": "CLOSE"}}'
send bob@example.com
code "server closes after the data, before its reply" 75
ok "server closes after the data: one line says so" one_line

scenario '{"reply": {"DATA": "CLOSE"}}'
send bob@example.com
code "server closes at DATA" 75

scenario "{\"greeting\": \"220 $(head -c 102400 /dev/zero | tr '\0' x)\\r\\n\"}"
send bob@example.com
code "a 100 kB reply line" 76
ok "a 100 kB reply line: one line says so" one_line

scenario '{"greeting": "\u00ff\u00fe\u0001garbage\r\n"}'
send bob@example.com
code "binary garbage for a greeting" 76

done_testing
