#!/bin/bash
# smtp-send: TLS modes, STARTTLS stripping and injection, certificates.
. "$SRCDIR/tests/smtp/lib.sh"
plan 61
start_server
printf '%s\n' "$STD_MSG" | message

scenario '{}'
send
code "STARTTLS by default" 0
ok "SNI sent" logged '^== SNI localhost$'
ok "EHLO sent again after STARTTLS" test "$(grep -c '^C: EHLO' "$LOG")" = 2
ok "nothing but EHLO and STARTTLS before TLS" \
    test "$(sed '/^== TLS/q' "$LOG" | grep -vcE '^(C: EHLO|C: STARTTLS|== )')" = 0
ok "the message arrived" grep -q '^Hello\.' "$DATA"

scenario '{"ehlo": ["STARTTLS", "PIPELINING", "AUTH PLAIN", "SIZE 10"], "ehlo_tls": ["AUTH LOGIN"]}'
MIMEPIPE_PASSWORD=secret send --user ann
code "capabilities from before STARTTLS forgotten" 0
ok "forgotten: the mechanism offered after TLS is used" logged '^C: AUTH LOGIN$'
ok "forgotten: no SIZE parameter, no SIZE limit" logged '^C: MAIL FROM:<ann@example.org>$'

scenario '{"tls": "implicit"}'
send --tls=implicit
code "implicit TLS" 0
ok "implicit: TLS from the first byte" test "$(grep -v '^== SNI' "$LOG" | head -1)" = "== TLS"

scenario '{"tls": "implicit"}'
run smtp-send --server "smtps://localhost:$PORT" --ca-file "$CERTS/ca.crt" <"$MSG"
read -r -t 20 _ev <&"${SRV[0]}"
code "smtps:// means implicit TLS" 0

scenario '{"ehlo": ["PIPELINING", "AUTH PLAIN"]}'
MIMEPIPE_PASSWORD=secret send --user ann
code "STARTTLS not offered: refused" 69
ok "STARTTLS missing: no AUTH, no MAIL" not logged '^C: (AUTH|MAIL)'
ok "STARTTLS missing: says so" grep -q 'does not offer STARTTLS' "$T/err"

for r in '454 4.7.0 TLS not available' '421 4.3.2 closing' '502 5.5.1 not implemented' '354 go on' '250 fine'; do
    scenario "{\"reply\": {\"STARTTLS\": \"$r\\r\\n\"}}"
    MIMEPIPE_PASSWORD=secret send --user ann
    case $r in
    4*) want=75 ;; 5*) want=69 ;; *) want=76 ;;
    esac
    code "STARTTLS answered ${r%% *}" "$want"
    ok "STARTTLS answered ${r%% *}: no AUTH, no MAIL" not logged '^C: (AUTH|MAIL)'
done

scenario '{"reply": {"EHLO": "502 5.5.1 what?\r\n"}}'
send
code "EHLO refused (not ESMTP): no STARTTLS, stop" 69
ok "EHLO refused: no HELO, no MAIL" not logged '^C: (HELO|MAIL)'

scenario '{"starttls_extra": "250-PIPELINING\r\n250 AUTH PLAIN\r\n"}'
MIMEPIPE_PASSWORD=secret send --user ann
code "lines injected after STARTTLS 220" 76
ok "injection: no TLS started, nothing else sent" \
    test "$(grep -vcE '^C: (EHLO|STARTTLS)|^== end' "$LOG")" = 0
ok "injection: says so" grep -q 'after the STARTTLS reply' "$T/err"

scenario '{"starttls_extra": "250 AU"}'
send
code "half a line injected after STARTTLS 220" 76

for c in untrusted expired wrong; do
    scenario "{\"cert\": \"$c\"}"
    MIMEPIPE_PASSWORD=secret send --user ann
    code "certificate $c refused" 76
    ok "certificate $c: no AUTH, no MAIL" not logged '^C: (AUTH|MAIL)'
done
ok "expired certificate: the reason is given" true
scenario '{"cert": "expired"}'
send
ok "expired certificate: says expired" grep -q 'expired' "$T/err"
scenario '{"cert": "wrong"}'
send
ok "wrong name: says so" grep -q 'host name does not match' "$T/err"

scenario '{}'
run smtp-send --server "localhost:$PORT" --timeout 5 <"$MSG"
read -r -t 20 _ev <&"${SRV[0]}"
code "our CA is not in the system store" 76

pin() { openssl x509 -in "$CERTS/$1.crt" -pubkey -noout |
    openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64; }
scenario '{"cert": "untrusted"}'
send --pin-sha256 "sha256//$(pin untrusted)"
code "pinned key accepted even from an unknown CA" 0
scenario '{}'
send --pin-sha256 "$(pin untrusted)"
code "pin mismatch refused, even with a valid certificate" 76
ok "pin mismatch: says so" grep -q 'pin-sha256' "$T/err"

run smtp-send --server "localhost:$PORT" --pin-sha256 abcdef <"$MSG"
code "--pin-sha256 that is not a SHA-256 hash" 64

scenario '{}'
send --tls=implicit
# smtp-send looked at the port on a second connection, for the hint
read -r -t 20 _ev <&"${SRV[0]}"
code "implicit TLS to a plaintext server" 76
ok "implicit TLS to a plaintext server: nothing but the ClientHello" \
    not logged '^C: (EHLO|AUTH|MAIL)'

scenario '{"tls_max": "1.2"}'
send --tls-min 1.3
code "--tls-min 1.3 against a TLS 1.2 server" 76
scenario '{"tls_max": "1.2"}'
send --tls-min 1.2
code "--tls-min 1.2 against a TLS 1.2 server" 0

scenario '{"starttls_fake": true}'
MIMEPIPE_PASSWORD=secret send --user ann
code "STARTTLS 220, then no TLS: handshake fails" 76
ok "failed handshake: no AUTH, no MAIL" not logged '^C: (AUTH|MAIL)'

# a CA file named relative to the working directory, as users type it
scenario '{}'
(cd "$CERTS" && run smtp-send --server "localhost:$PORT" --ca-file ca.crt \
    --timeout 5 <"$MSG"; echo "$rc" >"$T/rc")
rc=$(cat "$T/rc")
read -r -t 20 _ev <&"${SRV[0]}"
code "--ca-file relative to the working directory" 0
ok "relative --ca-file: no warning on stderr" not grep -q WARNING "$T/err"

scenario '{"client_ca": true}'
send --client-cert "$CERTS/client.crt" --client-key "$CERTS/client.key"
code "client certificate presented" 0
ok "the server saw the client certificate" logged '^== client client$'
scenario '{"client_ca": true}'
send
ok "client certificate required, none given: fails" test "$rc" != 0
ok "no client certificate: no MAIL" not logged '^C: MAIL'
run smtp-send --server "localhost:$PORT" --client-cert "$T/none.pem" <"$MSG"
read -r -t 20 _ev <&"${SRV[0]}"
code "client certificate file missing" 78

mkdir -p "$T/nomodules"
GIO_MODULE_DIR=$T/nomodules GIO_EXTRA_MODULES= run smtp-send \
    --server "localhost:$PORT" --timeout 5 <"$MSG"
code "no TLS backend (glib-networking missing)" 69
ok "no TLS backend: says glib-networking" grep -q glib-networking "$T/err"

scenario '{"ehlo": ["PIPELINING", "AUTH PLAIN"]}'
send --tls=off
code "--tls=off sends in plaintext" 0
run smtp-send --server "localhost:$PORT" --tls=off --user ann <"$MSG"
code "--tls=off with --user needs --allow-plaintext-auth" 64
