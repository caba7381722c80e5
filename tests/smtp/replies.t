#!/bin/bash
# smtp-send: reply codes at every stage, recipients, hostile replies.
. "$SRCDIR/tests/smtp/lib.sh"
plan 73
start_server
printf '%s\n' 'From: Ann <ann@example.org>' 'To: bob@example.com, eve@example.com' \
    'Subject: test' '' 'Hello.' | message

# 4xx, 421 and 5xx at each stage
for stage in GREETING EHLO MAIL RCPT DATA END; do
    for r in '421 4.3.2 shutting down' '451 4.3.0 try later' '554 5.7.1 go away'; do
        scenario "{\"reply\": {\"$stage\": \"$r\\r\\n\"}}"
        send
        case $r in 4*) want=75 ;; *) want=69 ;; esac
        code "$stage answered ${r%% *}" "$want"
        ok "$stage answered ${r%% *}: the reply is quoted" grep -qF "${r#* }" "$T/err"
    done
done

scenario '{"reply": {"MAIL": "550 5.7.1 not you\r\n"}}'
send
ok "MAIL refused: no message data sent" not logged '^C: DATA'
scenario '{"reply": {"RCPT": "550 5.1.1 no such user\r\n"}}'
send
code "every recipient unknown (5.1.1)" 67
ok "every recipient refused: no DATA" not logged '^C: DATA'

scenario '{"reply": {"END": "552 5.3.4 too big\r\n"}}'
send
code "552 5.3.4 after DATA: data error" 65

# partial refusal
scenario '{"reply": {"RCPT:eve@example.com": "550 5.1.1 <eve@example.com>: unknown\r\n"}}'
send
code "one of two recipients refused" 67
ok "partial: nothing sent" not logged '^C: DATA'
ok "partial: stderr lists the accepted one with its reply" \
    grep -qF 'bob@example.com: accepted: 250 2.1.5 ok' "$T/err"
ok "partial: stderr lists the refused one with its reply" \
    grep -qF 'eve@example.com: refused: 550 5.1.1 <eve@example.com>: unknown' "$T/err"
send --allow-partial
code "--allow-partial sends to the others" 0
ok "--allow-partial: the message was sent" grep -q '^Hello' "$DATA"
ok "--allow-partial: stderr still names the refused one" grep -qF 'eve@example.com: refused' "$T/err"
scenario '{"reply": {"RCPT:eve@example.com": "450 4.2.1 mailbox busy\r\n"}}'
send
code "a recipient refused temporarily" 75

# pipelining
scenario '{"reply": {"MAIL": "550 5.7.1 sender refused\r\n", "RCPT": "503 5.5.1 need MAIL\r\n"}}'
send
code "pipelined: MAIL refused, RCPTs 503" 69
ok "pipelined: MAIL and RCPT went in one group" logged '^C: RCPT'
ok "pipelined: the error is the MAIL reply" grep -q 'sender refused' "$T/err"
ok "pipelined: RSET after the failed transaction" logged '^C: RSET'
scenario '{"ehlo": ["STARTTLS"], "ehlo_tls": [], "reply": {"MAIL": "550 5.7.1 sender refused\r\n"}}'
send
code "no PIPELINING: MAIL refused" 69
ok "no PIPELINING: no RCPT after a refused MAIL" not logged '^C: RCPT'

# reply shapes
scenario '{"reply": {"MAIL": "250\r\n", "RCPT": "250-\r\n250-a\r\n250 \r\n"}}'
send
code "replies without text" 0
scenario '{"reply": {"EHLO": "SLOW:250-test.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n", "DATA": "SLOW:354 go\r\n"}}'
send
code "replies split across reads" 0
scenario '{"reply": {"GREETING": "hello there\r\n"}}'
send
code "garbage greeting" 76
scenario '{"reply": {"EHLO": "250-test.example\r\n251 PIPELINING\r\n"}}'
send
code "lines of one reply with different codes" 76
scenario '{"reply": {"EHLO": "ENDLESS"}}'
send
code "endless reply" 76
scenario "{\"reply\": {\"GREETING\": \"220 $(printf 'x%.0s' $(seq 5000))\\r\\n\"}}"
send
code "over-long reply line" 76
scenario '{"reply": {"MAIL": "250 ok\u0000\r\n"}}'
send
code "NUL in a reply" 76
scenario '{"reply": {"GREETING": "220 hi\r\n250 2.1.0 sender ok\r\n"}}'
send
code "an unsolicited reply after the greeting" 76
ok "unsolicited reply: nothing sent" test "$(grep -c '^C:' "$LOG")" = 0
scenario '{"reply": {"MAIL": "CLOSE"}}'
send
code "connection closed by the server" 75
scenario '{"reply": {"END": "CLOSE"}}'
send
code "connection closed after the data, before the reply" 75

# one connection, several messages (the engine, as batches will use it)
printf '%s\n' 'From: a@example.org' 'To: eve@example.com' '' 'one' >"$T/m1.eml"
printf '%s\n' 'From: a@example.org' 'To: bob@example.com' '' 'two' >"$T/m2.eml"
printf '%s\n' 'From: a@example.org' 'To: bob@example.com' '' 'three' >"$T/m3.eml"
scenario '{"reply": {"RCPT:eve@example.com": "550 5.1.1 unknown\r\n"}}'
"$SMTP_ENGINE" localhost "$PORT" "$CERTS/ca.crt" "$T/m1.eml" "$T/m2.eml" "$T/m3.eml" >"$T/out" 2>&1
read -r -t 20 _ev <&"${SRV[0]}"
LOG=$SD/${_ev#done }.log DATA=$SD/${_ev#done }.data
is "engine: three messages, one refused (\"the recipient was refused\", not \"all 1 recipients\")" "$(sed "s|$T/||" "$T/out")" \
"m1.eml: exit 67: localhost: the recipient was refused: 550 5.1.1 unknown
m2.eml: ok
m3.eml: ok"
is "engine: RSET after the refused one, all on one connection" \
    "$(grep -oE '^C: (MAIL|RCPT|DATA|RSET|QUIT)' "$LOG" | cut -c4- | tr '\n' ' ')" \
    'MAIL RCPT RSET MAIL RCPT DATA MAIL RCPT DATA QUIT '
ok "engine: both accepted messages arrived" test "$(grep -cE '^(two|three)' "$DATA")" = 2

# silence and no server
scenario '{"reply": {"GREETING": "SILENT"}}'
send --timeout 1
code "silent server: --timeout" 75
scenario '{"reply": {"END": "SILENT"}}'
send --timeout 1
code "silent after the data: --timeout" 75
run smtp-send --server 127.0.0.1:1 --tls=off <"$MSG"
code "connection refused" 75
run smtp-send --server 192.0.2.1:25 --tls=off --timeout 1 <"$MSG"
code "unroutable address: timeout or unreachable" 75
run smtp-send --server nonexistent.invalid:25 --tls=off <"$MSG"
ok "unknown host: 68 or 75 (the resolver decides)" test "$rc" = 68 -o "$rc" = 75
