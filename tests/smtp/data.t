#!/bin/bash
# smtp-send: the bytes of DATA (CRLF, dot stuffing, smuggling sequences),
# 8BITMIME, SMTPUTF8, SIZE, DSN, the envelope and its checks.
. "$SRCDIR/tests/smtp/lib.sh"
plan 85
start_server
H=$'From: a@example.org\r\nTo: b@example.com\r\n\r\n'

# FILE without the Date and Message-ID fields submission added at its top
# (RFC 6409 8.2, 8.3; checked on their own below), on stdout
unadded() {
    "$PYRUN" - "$1" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
i = data.find(b"DATA\r\n") + 6 if data.startswith(b"MAIL FROM:") else 0
m = re.compile(rb"Date: [^\r\n]+\r\nMessage-ID: <[^>\r\n]+>\r\n").match(data, i)
sys.stdout.buffer.write(data[:i] + (data[m.end():] if m else data[i:]))
PY
}

# data_is NAME EXPECTED: the server received exactly EXPECTED (printf format)
# after the fields submission added
data_is() {
    printf "$2" >"$T/want"
    unadded "$DATA" >"$T/got"
    if cmp -s "$T/want" "$T/got"; then
        _report 0 "$1"
    else
        _report 1 "$1"
        echo "# want: $(od -c "$T/want" | head -5)"
        echo "# got:  $(od -c "$DATA" 2>&1 | head -5)"
    fi
}

scenario '{}'
printf 'From: a@example.org\nTo: b@example.com\n\n.leading dot\n..two\nx\n.\nend\n' | message
send
code "dot stuffing" 0
data_is "dot stuffing: every leading dot doubled, LF made CRLF" \
    'From: a@example.org\r\nTo: b@example.com\r\n\r\n..leading dot\r\n...two\r\nx\r\n..\r\nend\r\n.\r\n'

# a saved mbox message, or 'git format-patch --stdout': the "From " line
# is no header field (RFC 4155); sendmail and Postfix drop it too
printf 'From 1234abcd Mon Sep 17 00:00:00 2001\nFrom: a@example.org\nTo: b@example.com\n\nbody\n' | message
send
data_is "a leading mbox From_ line is not sent" \
    'From: a@example.org\r\nTo: b@example.com\r\n\r\nbody\r\n.\r\n'

printf 'From: a@example.org\nTo: b@example.com\n\n\n.\n' | message
send
data_is "a dot after a blank line is stuffed (RUSTSEC-2021-0069)" \
    'From: a@example.org\r\nTo: b@example.com\r\n\r\n\r\n..\r\n.\r\n'

printf 'From: a@example.org\nTo: b@example.com\n\nbare\rcr\r.\rmixed\r\r\nend\r' | message
send
data_is "bare CR becomes CRLF" \
    'From: a@example.org\r\nTo: b@example.com\r\n\r\nbare\r\ncr\r\n..\r\nmixed\r\n\r\nend\r\n.\r\n'

printf 'From: a@example.org\r\nTo: b@example.com\r\n\r\nno final newline' | message
send
data_is "no final newline: CRLF added" \
    'From: a@example.org\r\nTo: b@example.com\r\n\r\nno final newline\r\n.\r\n'

# SMTP smuggling end-of-data sequences (CVE-2023-51764/5/6): each is
# canonicalised first and then stuffed, so the server sees no end of data
# and the smuggled MAIL stays inside the message.
while read -r name seq want; do
    printf "%sA${seq}MAIL FROM:<evil@example.net>\r\n" "$H" | message
    send
    code "smuggling $name" 0
    data_is "smuggling $name: canonical, stuffed" \
        "From: a@example.org\r\nTo: b@example.com\r\n\r\nA${want}MAIL FROM:<evil@example.net>\r\n.\r\n"
    ok "smuggling $name: one MAIL only" test "$(grep -c '^C: MAIL' "$LOG")" = 1
done <<'SEQ'
LF.LF \n.\n \r\n..\r\n
LF.CR \n.\r \r\n..\r\n
CR.LF \r.\n \r\n..\r\n
CR.CR \r.\r \r\n..\r\n
LF.CRLF \n.\r\n \r\n..\r\n
CR.CRLF \r.\r\n \r\n..\r\n
CRLF.CRCRLF \r\n.\r\r\n \r\n..\r\n\r\n
CRCRLF.CRCRLF \r\r\n.\r\r\n \r\n\r\n..\r\n\r\n
SEQ

printf "%sA\r\n\0.\r\nMAIL FROM:<evil@example.net>\r\n" "$H" | message
refused "NUL before a dot: refused" 65 "NUL" \
    smtp-send --server "127.0.0.1:1" --tls=off <"$MSG"
printf 'From: a@example.org\nTo: b@example.com\n\nnul \0 here\n' | message
refused "NUL anywhere: refused before connecting" 65 "NUL" \
    smtp-send --server "127.0.0.1:1" --tls=off <"$MSG"

# 8-bit and UTF-8
printf 'From: a@example.org\nTo: b@example.com\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nGr\303\274\303\237e\n' | message
scenario '{"ehlo": ["PIPELINING", "STARTTLS"], "ehlo_tls": ["PIPELINING"]}'
send
code "8-bit message, no 8BITMIME" 65
ok "8-bit without 8BITMIME: says so" grep -q 8BITMIME "$T/err"
ok "8-bit without 8BITMIME: no MAIL" not logged '^C: MAIL'
scenario '{}'
send
code "8-bit message with 8BITMIME" 0
ok "BODY=8BITMIME" logged '^C: MAIL FROM:<a@example.org> BODY=8BITMIME$'
scenario '{}'
printf '%s\n' 'From: a@example.org' 'To: b@example.com' '' 'seven bit' | message
send
ok "7-bit message: no BODY parameter" logged '^C: MAIL FROM:<a@example.org>$'

printf 'From: J\303\266rg <j\303\266rg@example.org>\nTo: b@example.com\n\nx\n' | message
scenario '{}'
send
code "UTF-8 address, SMTPUTF8 not offered" 65
ok "SMTPUTF8 missing: says so" grep -q SMTPUTF8 "$T/err"
ok "SMTPUTF8 missing: no MAIL" not logged '^C: MAIL'
scenario '{"ehlo_tls": ["PIPELINING", "8BITMIME", "SMTPUTF8"]}'
send
code "UTF-8 address with SMTPUTF8" 0
ok "SMTPUTF8 parameter" logged $'^C: MAIL FROM:<j\xc3\xb6rg@example.org> BODY=8BITMIME SMTPUTF8$'

printf '%s\n' 'From: a@example.org' 'To: b@example.com' '' 'x' | message
scenario '{}'
send 'user@bücher.example'
code "IDN recipient" 0
ok "IDN recipient as an A-label, no SMTPUTF8" logged '^C: RCPT TO:<user@xn--bcher-kva.example>$'

# SIZE
scenario '{"ehlo_tls": ["PIPELINING", "SIZE 20"]}'
send
code "message larger than SIZE" 65
ok "SIZE exceeded: no MAIL" not logged '^C: MAIL'
scenario '{"ehlo_tls": ["PIPELINING", "SIZE 1000"]}'
send
code "SIZE parameter" 0
ok "SIZE is the exact octet count" logged "^C: MAIL FROM:<a@example.org> SIZE=$(wc -c <"$DATA")\$"

# DSN
scenario '{"ehlo_tls": ["PIPELINING", "DSN"]}'
send --dsn-notify success,failure --dsn-return hdrs --envid 'a+b=c'
code "DSN" 0
ok "DSN: RET and ENVID (xtext)" logged '^C: MAIL FROM:<a@example.org> RET=HDRS ENVID=a\+2Bb\+3Dc$'
ok "DSN: NOTIFY" logged '^C: RCPT TO:<b@example.com> NOTIFY=SUCCESS,FAILURE$'
scenario '{}'
send --dsn-notify never
code "DSN asked, not offered" 69
run smtp-send --server "127.0.0.1:1" --dsn-notify 'never,success' <"$MSG"
code "--dsn-notify NEVER with others" 64
run smtp-send --server "127.0.0.1:1" --envid $'x\r\nRSET' <"$MSG"
code "--envid with CRLF" 64

# envelope
printf '%s\n' 'From: Ann <ann@example.org>' 'Sender: sec@example.org' \
    'To: Bob <bob@example.com>, list: c@example.com, d@example.com;' \
    'Cc: e@example.com' 'Bcc: hidden@example.net,' ' hidden2@example.net' \
    'Subject: s' '' 'body' 'Bcc: not a header' | message
scenario '{}'
send
code "envelope from the headers" 0
ok "sender from Sender" logged '^C: MAIL FROM:<sec@example.org>$'
is "recipients from To, Cc, Bcc (groups too)" \
    "$(grep '^C: RCPT' "$LOG" | tr '\n' ' ')" \
    'C: RCPT TO:<bob@example.com> C: RCPT TO:<c@example.com> C: RCPT TO:<d@example.com> C: RCPT TO:<e@example.com> C: RCPT TO:<hidden@example.net> C: RCPT TO:<hidden2@example.net> '
ok "Bcc removed from the data, with its continuation" not grep -qi 'hidden' "$DATA"
ok "a Bcc line in the body is left alone" grep -q '^Bcc: not a header' "$DATA"
ok "the other headers are kept" grep -q '^Cc: e@example.com' "$DATA"
send --from 'x@example.org' -- 'only@example.com'
ok "--from and argument recipients win" \
    test "$(grep -E '^C: (MAIL|RCPT)' "$LOG" | tr '\n' ' ')" = 'C: MAIL FROM:<x@example.org> C: RCPT TO:<only@example.com> '
send -t -- 'extra@example.com'
ok "-t adds header recipients to the arguments" \
    test "$(grep -c '^C: RCPT' "$LOG")" = 7
printf '%s\n' 'From: Ann <ann@example.org>' 'To: Bob <bob@example.com>' '' 'x' | message
send
ok "sender from From when there is no Sender" logged '^C: MAIL FROM:<ann@example.org>$'

for bad in $'a@example.org\r\nRSET' $'a@example.org\nDATA' \
    $'a@example.org\tx' '-oQ/tmp@example.org' 'a@example.org> NOTIFY=NEVER' 'noat'; do
    refused "--from $(printf '%q' "$bad") refused" 64 "from" \
        smtp-send --server 127.0.0.1:1 --from "$bad" <"$MSG"
    refused "recipient $(printf '%q' "$bad") refused" 64 "recipient" \
        smtp-send --server 127.0.0.1:1 -- "$bad" <"$MSG"
done
printf 'From: a@example.org\nTo: "x" <-oQ/tmp/@example.com>\n\nx\n' | message
refused "a header recipient starting with '-'" 65 "To header" \
    smtp-send --server 127.0.0.1:1 <"$MSG"

: >"$MSG"
refused "empty input" 65 "empty" smtp-send --server 127.0.0.1:1 <"$MSG"
printf '%s\n' 'From: a@example.org' 'To: b@example.com' 'MIME-Version: 1.0' \
    'Content-Type: multipart/mixed; boundary="b"' '' '--b' '' 'part' | message
refused "multipart without its closing delimiter" 65 "" smtp-send --server 127.0.0.1:1 <"$MSG"
printf '%s\n' 'Subject: none' '' 'x' | message
refused "no sender" 64 "sender" smtp-send --server 127.0.0.1:1 --tls=off -- b@example.com <"$MSG"
refused "no recipients" 64 "recipients" smtp-send --server 127.0.0.1:1 --from a@example.org <"$MSG"

printf 'From: a@example.org\nTo: b@example.com\nBcc: c@example.com\n\n.x\n' | message
run smtp-send --dry-run <"$MSG"
printf 'MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\nFrom: a@example.org\r\nTo: b@example.com\r\n\r\n..x\r\n.\r\n' >"$T/want"
unadded "$T/out" >"$T/got"
ok "--dry-run prints the envelope and the exact data" cmp -s "$T/want" "$T/got"
scenario '{}'
send
before=$(basename "$LOG" .log)
run smtp-send --dry-run --server "localhost:$PORT" <"$MSG"
unadded "$T/out" >"$T/got"
ok "--dry-run with --server prints the same bytes" cmp -s "$T/want" "$T/got"
send
is "--dry-run connected nowhere (the next connection is the next number)" \
    "$(basename "$LOG" .log)" "$((before + 1))"
run smtp-send --server "localhost:$PORT" -o "$T/x" <"$MSG"
code "-o without --dry-run" 64
