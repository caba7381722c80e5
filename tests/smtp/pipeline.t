#!/bin/bash
# A batch over one connection with PIPELINING (RFC 2920 3.1): the end of
# data of a message goes out with the next message's MAIL, RCPT and DATA,
# and the replies are matched to their messages in order.  Message 2 of 3
# is refused at each stage in turn; each message's outcome, the outbox and
# what the server saw are checked.
. "$SRCDIR/tests/smtp/lib.sh"
plan 83
start_server

own_home
OB=$T/outbox
SRV_ARGS=(--server "localhost:$PORT" --ca-file "$CERTS/ca.crt" --timeout 5)

connections() { ls "$SD"/*.log 2>/dev/null | wc -l; }
stored() { find "$OB/new" "$OB/cur" -type f 2>/dev/null | wc -l; }
mkmsg() { # FILE SUBJECT [TO] [FROM]
    printf '%s\n' "From: ${4:-ann@example.org}" "To: ${3:-bob@example.com}" \
        "Subject: $2" '' "Body of $2." >"$1"
}

# batch NCONN ARGS...: smtp-send ARGS p1 p2 p3; waits for NCONN connections
# to end; C is the first one's number, LOG its log, VERBS the commands the
# client sent in it
batch() {
    local want=$1
    shift
    C=$(($(connections) + 1))
    run smtp-send "${SRV_ARGS[@]}" "$@" "$T/p1.eml" "$T/p2.eml" "$T/p3.eml"
    for _i in $(seq "$want"); do
        read -r -t 20 _ev <&"${SRV[0]}" || echo "# a connection did not end"
    done
    LOG=$SD/$C.log
    VERBS=$(grep -Eo '^C: (MAIL|RCPT|DATA|RSET|QUIT)' "$LOG" | cut -c4- | tr '\n' ' ')
}
# how many times connection N received message SUBJECT
received() { grep -c "^Subject: $2"$'\r'"\$" "$SD/$1.data" 2>/dev/null; }
# the report line for pN
line_of() { grep -F "$T/$1.eml: " "$T/err"; }
sent() { line_of "$1" | grep -qx "smtp-send: $T/$1.eml: sent to ${2:-1} recipients\{0,1\}"; }
# the report lines come in the order of the files
in_order() {
    local a b c
    a=$(grep -nF "$T/p1.eml: " "$T/err" | head -1 | cut -d: -f1)
    b=$(grep -nF "$T/p2.eml: " "$T/err" | head -1 | cut -d: -f1)
    c=$(grep -nF "$T/p3.eml: " "$T/err" | head -1 | cut -d: -f1)
    [ -n "$a" ] && [ -n "$b" ] && [ -n "$c" ] && [ "$a" -lt "$b" ] && [ "$b" -lt "$c" ]
}
pipelined() { grep -c '^== pipelined after the end of data' "$LOG"; }

mkmsg "$T/p1.eml" pipe-1
mkmsg "$T/p2.eml" pipe-2
mkmsg "$T/p3.eml" pipe-3

# all accepted: one round trip per message
scenario '{}'
batch 1
code "three messages" 0
ok "three messages: each reported sent" eval 'sent p1 && sent p2 && sent p3'
is "three messages: MAIL, RCPT and DATA in each group, no RSET" "$VERBS" \
    'MAIL RCPT DATA MAIL RCPT DATA MAIL RCPT DATA QUIT '
is "three messages: the next commands came with the end of data" "$(pipelined)" 2
is "three messages: each delivered once" \
    "$(received "$C" pipe-1)$(received "$C" pipe-2)$(received "$C" pipe-3)" 111

# message 2 refused at the end of data, for good
scenario '{"reply": {"END:2": "554 5.7.1 no thanks\r\n"}}'
batch 1
code "message 2 refused at the end of data" 69
ok "end of data: message 1 sent" sent p1
ok "end of data: message 2 refused with its own reply" \
    eval 'line_of p2 | grep -qF "message refused after DATA: 554 5.7.1 no thanks"'
ok "end of data: message 3 sent" sent p3
ok "end of data: the refusal given to message 2 alone" \
    test "$(grep -c '554 5.7.1' "$T/err")" = 1
ok "end of data: reported in order" in_order
is "end of data: no RSET (the transaction was over)" "$VERBS" \
    'MAIL RCPT DATA MAIL RCPT DATA MAIL RCPT DATA QUIT '
is "end of data: still pipelined" "$(pipelined)" 2
is "end of data: message 3 delivered once" "$(received "$C" pipe-3)" 1

# ... for now, with an outbox: message 2 alone is stored
scenario '{"reply": {"END:2": "451 4.3.0 later\r\n"}}'
batch 1 --outbox "$OB"
code "message 2 refused for now at the end of data" 75
ok "end of data, for now: message 1 sent" sent p1
ok "end of data, for now: message 2 stored" \
    eval 'line_of p2 | grep -F "451 4.3.0 later" | grep -qF "stored in $OB/new/"'
ok "end of data, for now: message 3 sent" sent p3
is "end of data, for now: one message in the outbox" "$(stored)" 1
ok "end of data, for now: it is message 2" grep -q '^Subject: pipe-2$' "$OB"/new/*
ok "end of data, for now: reported in order" in_order
rm -rf "$OB"

# a message refused at the end of data on its own (the last one)
scenario '{"reply": {"END:3": "550 5.7.1 not the last\r\n"}}'
batch 1
code "the last message refused at the end of data" 69
ok "the last refused: the first two sent" eval 'sent p1 && sent p2'
ok "the last refused: message 3 has the reply" \
    eval 'line_of p3 | grep -qF "550 5.7.1 not the last"'

# message 2 refused at MAIL: its DATA (pipelined) is refused too, RSET
mkmsg "$T/p2.eml" pipe-2 bob@example.com carl@example.org
scenario '{"reply": {"MAIL:carl@example.org": "550 5.7.1 not you\r\n"}}'
batch 1
code "message 2 refused at MAIL" 69
ok "MAIL: message 1 sent" sent p1
ok "MAIL: message 2 refused with its reply" \
    eval 'line_of p2 | grep -qF "MAIL FROM: 550 5.7.1 not you"'
ok "MAIL: message 3 sent" sent p3
ok "MAIL: reported in order" in_order
is "MAIL: RSET after message 2, one connection" "$VERBS" \
    'MAIL RCPT DATA MAIL RCPT DATA RSET MAIL RCPT DATA QUIT '
is "MAIL: one connection" "$(connections)" "$C"
is "MAIL: message 2 not delivered, 1 and 3 once" \
    "$(received "$C" pipe-1)$(received "$C" pipe-2)$(received "$C" pipe-3)" 101

# message 2 refused at its only RCPT: DATA gets 554 (RFC 2920), RSET
mkmsg "$T/p2.eml" pipe-2 eve@example.com
scenario '{"reply": {"RCPT:eve@example.com": "550 5.1.1 <eve@example.com>: unknown\r\n"}}'
batch 1
code "message 2 refused at its RCPT" 67
ok "RCPT: message 1 sent" sent p1
ok "RCPT: message 2 refused with its reply" \
    eval 'line_of p2 | grep -qF "550 5.1.1 <eve@example.com>: unknown"'
ok "RCPT: message 3 sent" sent p3
ok "RCPT: reported in order" in_order
is "RCPT: RSET after message 2" "$VERBS" \
    'MAIL RCPT DATA MAIL RCPT DATA RSET MAIL RCPT DATA QUIT '
is "RCPT: message 2 not delivered, 1 and 3 once" \
    "$(received "$C" pipe-1)$(received "$C" pipe-2)$(received "$C" pipe-3)" 101

# every RCPT of a two-recipient message refused: DATA waits for them
mkmsg "$T/p2.eml" pipe-2 'eve@example.com, fay@example.com'
scenario '{"reply": {"RCPT": "550 5.1.1 unknown\r\n",
  "RCPT:bob@example.com": "250 2.1.5 ok\r\n"}}'
batch 1
code "message 2: every RCPT refused" 67
ok "every RCPT: messages 1 and 3 sent" eval 'sent p1 && sent p3'
ok "every RCPT: message 2 says all refused" \
    eval 'line_of p2 | grep -qF "all 2 recipients refused"'
ok "every RCPT: each refusal reported" \
    eval 'line_of p2 | grep -qF "fay@example.com: refused: 550 5.1.1 unknown"'
is "every RCPT: no DATA for message 2, RSET" "$VERBS" \
    'MAIL RCPT DATA MAIL RCPT RCPT RSET MAIL RCPT DATA QUIT '
ok "every RCPT: reported in order" in_order

# ... with --allow-partial DATA is pipelined, and refused (554): RSET
batch 1 --allow-partial
code "every RCPT refused, --allow-partial" 67
ok "every RCPT, --allow-partial: messages 1 and 3 sent" eval 'sent p1 && sent p3'
ok "every RCPT, --allow-partial: message 2 refused" \
    eval 'line_of p2 | grep -qF "all 2 recipients refused"'
is "every RCPT, --allow-partial: DATA in the group, then RSET" "$VERBS" \
    'MAIL RCPT DATA MAIL RCPT RCPT DATA RSET MAIL RCPT DATA QUIT '
is "every RCPT, --allow-partial: message 2 not delivered" "$(received "$C" pipe-2)" 0

# ... one of two refused with --allow-partial: sent to the other
scenario '{"reply": {"RCPT:fay@example.com": "550 5.1.1 unknown\r\n"}}'
batch 1 --allow-partial
code "one of two refused, --allow-partial" 0
ok "one refused, --allow-partial: message 2 sent" sent p2 2
ok "one refused, --allow-partial: the refusal reported" \
    eval 'line_of p2 | grep -qF "fay@example.com: refused: 550 5.1.1 unknown"'
is "one refused, --allow-partial: each delivered once" \
    "$(received "$C" pipe-1)$(received "$C" pipe-2)$(received "$C" pipe-3)" 111

# message 2 refused for now at RCPT, with an outbox: only it is stored
mkmsg "$T/p2.eml" pipe-2 eve@example.com
scenario '{"reply": {"RCPT:eve@example.com": "451 4.2.0 busy\r\n"}}'
batch 1 --outbox "$OB"
code "message 2 refused for now at RCPT" 75
ok "RCPT for now: messages 1 and 3 sent" eval 'sent p1 && sent p3'
ok "RCPT for now: message 2 stored" \
    eval 'line_of p2 | grep -F "451 4.2.0 busy" | grep -qF "stored in $OB/new/"'
is "RCPT for now: one message in the outbox" "$(stored)" 1
ok "RCPT for now: it is message 2" grep -q '^Subject: pipe-2$' "$OB"/new/*
rm -rf "$OB"
mkmsg "$T/p2.eml" pipe-2

# the end of data of message 1 answered with 421: message 2 was pipelined
# behind it on a session that ended; it goes on a new connection, once
n=$(($(connections) + 1))
scenario "{\"per_conn\": {\"$n\": {\"END:1\": \"421 4.3.2 shutting down\\r\\n\"}}}"
batch 2 --outbox "$OB"
code "421 at the end of data of message 1" 75
ok "421: message 1 stored" \
    eval 'line_of p1 | grep -F "421 4.3.2 shutting down" | grep -qF "stored in $OB/new/"'
ok "421: messages 2 and 3 sent" eval 'sent p2 && sent p3'
ok "421: reported in order" in_order
is "421: two connections" "$(connections)" "$((C + 1))"
is "421: message 2 not delivered on the first" "$(received "$C" pipe-2)" 0
is "421: messages 2 and 3 once on the second" \
    "$(received "$((C + 1))" pipe-2)$(received "$((C + 1))" pipe-3)" 11
is "421: only message 1 in the outbox" "$(stored)" 1
rm -rf "$OB"

# the server closes the connection instead of answering message 1's end
n=$(($(connections) + 1))
scenario "{\"per_conn\": {\"$n\": {\"END:1\": \"CLOSE\"}}}"
batch 2
code "connection closed at the end of data of message 1" 75
ok "closed: message 1 failed (closed while reading its reply)" \
    eval 'line_of p1 | grep -qiE "reading reply: .*closed|closed by the server"'
ok "closed: messages 2 and 3 sent on a new connection" eval 'sent p2 && sent p3'
is "closed: message 2 once" "$(received "$((C + 1))" pipe-2)" 1

# message 2 refused before anything is sent (over the server's SIZE):
# the end of data of message 1 still goes, and its reply is read
mkmsg "$T/p2.eml" pipe-2
head -c 3000 /dev/zero | tr '\0' x | fold -w 70 >>"$T/p2.eml"
scenario '{"ehlo": ["PIPELINING", "8BITMIME", "STARTTLS", "SIZE 1000"]}'
batch 1
code "message 2 over SIZE" 65
ok "SIZE: messages 1 and 3 sent" eval 'sent p1 && sent p3'
ok "SIZE: message 2 refused with the limit" \
    eval 'line_of p2 | grep -qF "the server takes at most 1000"'
ok "SIZE: reported in order" in_order
is "SIZE: nothing of message 2 sent" "$VERBS" \
    'MAIL RCPT DATA MAIL RCPT DATA QUIT '
is "SIZE: 1 and 3 delivered once" \
    "$(received "$C" pipe-1)$(received "$C" pipe-2)$(received "$C" pipe-3)" 101
mkmsg "$T/p2.eml" pipe-2

# a missing file in the middle: the message in flight is reported first
run smtp-send "${SRV_ARGS[@]}" "$T/p1.eml" "$T/missing.eml" "$T/p3.eml"
read -r -t 20 _ev <&"${SRV[0]}"
code "a missing file between two" 66
ok "missing file: reported between the two others" \
    eval '[ "$(grep -o "p1.eml\|missing.eml\|p3.eml" "$T/err" | tr "\n" " ")" = "p1.eml missing.eml p3.eml " ]'

# without PIPELINING nothing is pipelined, and outcomes are the same
scenario '{"ehlo": ["8BITMIME", "STARTTLS"], "reply": {"END:2": "554 5.7.1 no thanks\r\n"}}'
batch 1
code "no PIPELINING: message 2 refused at the end of data" 69
ok "no PIPELINING: messages 1 and 3 sent" eval 'sent p1 && sent p3'
ok "no PIPELINING: message 2 has its reply" \
    eval 'line_of p2 | grep -qF "554 5.7.1 no thanks"'
is "no PIPELINING: nothing sent with an end of data" "$(pipelined)" 0
done_testing
