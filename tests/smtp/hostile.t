#!/bin/bash
# smtp-send against a server that tries to reach the user's terminal
# through -v (issue 9): control bytes in replies (escape sequences, a bare
# CR that overwrites the line) are shown as '?', never passed through.
# mp-smtp hands reply lines to the transcript raw (fuzz/fuzz-smtp-reply.c
# found a bare CR there): the command is what must mask them.
. "$SRCDIR/tests/smtp/lib.sh"

plan 6
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

done_testing
