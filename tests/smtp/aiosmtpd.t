#!/bin/bash
# smtp-send against aiosmtpd (Debian's python3-aiosmtpd): STARTTLS and
# implicit TLS with a login, checked with Python's email parser.
. "$SRCDIR/tests/smtp/lib.sh"
plan 20

printf '%s\n' 'From: Ann <ann@example.org>' 'To: Bob <bob@example.com>' \
    'Cc: carol@example.com' 'Bcc: dave@example.net' \
    'Subject: =?utf-8?q?Quarterly_report_=E5=AD=A3=E5=BA=A6?=' \
    'MIME-Version: 1.0' 'Content-Type: text/plain; charset=utf-8' \
    'Content-Transfer-Encoding: 8bit' '' 'Grüße' '.' 'end' | message

demo() { # DIR ARGS...: start demo-server.py for one message; sets DPORT
    coproc DEMO { exec "$PY" "$SRCDIR/tests/smtp/demo-server.py" "$@" --count 1; }
    SRV_PID=$DEMO_PID
    read -r -t 10 DPORT <&"${DEMO[0]}"
}
received() { # the server exits after its one message
    [ "$rc" = 0 ] || kill "$SRV_PID" 2>/dev/null
    wait "$SRV_PID" 2>/dev/null
    SRV_PID=
}

for mode in starttls implicit; do
    d=$T/aio-$mode
    if [ "$mode" = implicit ]; then demo "$d" --implicit --user ann --password 's3cret pw'
    else demo "$d" --user ann --password 's3cret pw'; fi
    MIMEPIPE_PASSWORD='s3cret pw' run smtp-send --server "localhost:$DPORT" \
        --tls="$mode" --ca-file "$d/cert.pem" --user ann -v <"$MSG"
    code "aiosmtpd, $mode, login" 0
    received
    ok "$mode: the message arrived" test -s "$d/1.eml"
    ok "$mode: parses without defects" pycheck defects <"$d/1.eml"
    ok "$mode: Bcc gone, Cc kept" sh -c "! grep -qi '^Bcc' '$d/1.eml' && grep -q '^Cc: carol' '$d/1.eml'"
    ok "$mode: envelope has all three recipients" \
        test "$(grep -c '^RCPT' "$d/1.envelope")" = 3
    ok "$mode: lone dot line survived" grep -q $'^\.\r$' "$d/1.eml"
    ok "$mode: no password in the transcript" not grep -Eq 's3cret|czNjcmV0' "$T/err"
done

# the README's demo: tests/smtp/demo-send.sh starts the server and shows
# what it received
for m in "" --implicit; do
    run "$SRCDIR/tests/smtp/demo-send.sh" $m <"$MSG"
    code "demo-send.sh ${m:-(STARTTLS)}" 0
    ok "demo-send.sh ${m:-(STARTTLS)}: shows the envelope and the message" \
        sh -c "grep -q '^RCPT TO:<dave@example.net>' '$T/out' && grep -q '^Grüße' '$T/out' && ! grep -q '^Bcc' '$T/out'"
    # ./demo ends with it: a clean end, no Python complaint on stderr
    is "demo-send.sh ${m:-(STARTTLS)}: nothing on stderr" "$(cat "$T/err")" ""
done
