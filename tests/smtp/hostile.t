#!/bin/bash
# smtp-send against a server that tries to reach the user's terminal
# through -v (issue 9): control bytes in replies (escape sequences, a bare
# CR that overwrites the line) are shown as '?', never passed through.
# mp-smtp hands reply lines to the transcript raw (fuzz/fuzz-smtp-reply.c
# found a bare CR there): the command is what must mask them.  Then
# servers that close in the middle of a transaction, a 100 kB reply line
# and binary garbage: exit 75 or 76 with one line on stderr.
. "$SRCDIR/tests/smtp/lib.sh"

plan 28
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

# TLS close_notify at odd moments: a clean TLS end is still the end of
# the connection in the middle of a transaction, never a success
scenario '{"reply": {"MAIL": "TLSCLOSE"}}'
send bob@example.com
code "close_notify instead of the MAIL reply" 75
ok "close_notify at MAIL: one line says so" one_line
scenario '{"reply": {"END": "TLSCLOSE:250-2.0.0 half a"}}'
send bob@example.com
code "close_notify inside the final reply" 75
ok "close_notify inside the final reply: one line" one_line
scenario '{"tls": "implicit", "reply": {"RCPT:bob@example.com": "TLSCLOSE"}}'
send --tls=implicit bob@example.com
code "close_notify at RCPT, implicit TLS" 75
ok "the server sent close_notify there" logged '== close_notify'

# the outbox: a server that closes after the data keeps the message, and
# SIGINT in the middle of a flush leaves the outbox as it was
own_home
OB=$T/outbox
SRV_ARGS=(--server "localhost:$PORT" --ca-file "$CERTS/ca.crt" --timeout 5)
stored() { find "$OB/new" "$OB/cur" -type f 2>/dev/null | wc -l; }
in_tmp() { find "$OB/tmp" -type f 2>/dev/null | wc -l; }
conn_done() { read -r -t 20 _ev <&"${SRV[0]}"; }

scenario '{"reply": {"END": "CLOSE"}}'
run smtp-send "${SRV_ARGS[@]}" --outbox "$OB" bob@example.com <"$MSG"
conn_done
code "server closes after the data, with --outbox" 75
is "closed after the data: the message is in the outbox" "$(stored)" 1
is "closed after the data: nothing in tmp/" "$(in_tmp)" 0

# SIGINT once the data is sent and the server is silent: the client's -v
# transcript, read from a fifo, says when (no sleep)
scenario '{"reply": {"END": "SILENT"}}'
mkfifo "$T/transcript"
# (a background job starts with SIGINT ignored: env gives it back)
env --default-signal=INT smtp-send "${SRV_ARGS[@]}" --timeout 30 --flush -v \
    --outbox "$OB" >/dev/null 2>"$T/transcript" &
pid=$!
exec 4<"$T/transcript"
while IFS= read -r -t 20 line <&4; do
    case $line in *"octets of message data"*) break ;; esac
done
kill -INT "$pid"
wait "$pid"
rc=$?
cat <&4 >/dev/null
exec 4<&-
conn_done
# killed by the signal (130), or a clean exit saying so: not the timeout
ok "SIGINT during a flush: it stops at once (exit $rc)" test "$rc" != 0 -a "$rc" != 75
is "SIGINT during a flush: the message is still in the outbox" "$(stored)" 1
is "SIGINT during a flush: nothing in tmp/" "$(in_tmp)" 0

# SIGINT in the middle of a plain send with an outbox: nothing half-written
# there (the message is still the caller's: nothing was accepted)
scenario '{"reply": {"END": "SILENT"}}'
mkfifo "$T/transcript2"
env --default-signal=INT smtp-send "${SRV_ARGS[@]}" --timeout 30 -v \
    --outbox "$T/outbox2" bob@example.com <"$MSG" >/dev/null 2>"$T/transcript2" &
pid=$!
exec 4<"$T/transcript2"
while IFS= read -r -t 20 line <&4; do
    case $line in *"octets of message data"*) break ;; esac
done
kill -INT "$pid"
wait "$pid"
rc=$?
cat <&4 >/dev/null
exec 4<&-
conn_done
ok "SIGINT during a send: it stops at once (exit $rc)" test "$rc" != 0 -a "$rc" != 75
is "SIGINT during a send: no file left in the outbox's tmp/" \
    "$(find "$T/outbox2/tmp" -type f 2>/dev/null | wc -l)" 0

# and the next flush sends it, once
scenario '{}'
run smtp-send "${SRV_ARGS[@]}" --flush --outbox "$OB"
conn_done
code "the flush after SIGINT" 0
is "the flush after SIGINT: outbox empty" "$(stored)" 0

done_testing
