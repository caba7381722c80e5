#!/bin/bash
# smtp-send: AUTH mechanisms, password sources, redaction.
. "$SRCDIR/tests/smtp/lib.sh"
plan 53
start_server
printf '%s\n' "$STD_MSG" | message
export MIMEPIPE_PASSWORD=secret

caps() { # MECHS...: the server offers these after TLS
    printf '{"ehlo": ["PIPELINING", "STARTTLS"], "ehlo_tls": ["PIPELINING", "AUTH %s"]%s}' "$1" "${2:-}"
}

for m in PLAIN LOGIN SCRAM-SHA-256 XOAUTH2 OAUTHBEARER; do
    scenario "$(caps "$m")"
    send --user ann --auth "$m" -v
    code "AUTH $m accepted" 0
    ok "AUTH $m: then MAIL" logged '^C: MAIL FROM:<ann@example.org>'
    ok "AUTH $m: transcript shows no credential" \
        not grep -Eq 'secret|c2VjcmV0|AGFubgBzZWNyZXQ|YW5u' "$T/err"
    MIMEPIPE_PASSWORD=wrong send --user ann --auth "$m"
    code "AUTH $m refused" 77
done

scenario "$(caps 'CRAM-MD5 LOGIN PLAIN SCRAM-SHA-256')"
send --user ann
code "SCRAM-SHA-256 chosen first" 0
ok "SCRAM-SHA-256 chosen first: AUTH line" logged '^C: AUTH SCRAM-SHA-256 '

scenario "$(caps 'CRAM-MD5 LOGIN PLAIN')"
send --user ann
ok "PLAIN preferred over LOGIN" logged '^C: AUTH PLAIN '

scenario "$(caps 'CRAM-MD5')"
send --user ann
code "only CRAM-MD5 offered: not used" 69
ok "CRAM-MD5 never sent" not logged '^C: AUTH'

scenario "$(caps 'SCRAM-SHA-256' ', "scram_bad_proof": true')"
send --user ann
code "SCRAM: server without the right proof" 76
ok "SCRAM: no MAIL to an impostor" not logged '^C: MAIL'
ok "SCRAM: server without the right proof: says so" \
    grep -q 'AUTH SCRAM-SHA-256: the server did not prove it knows the password' "$T/err"

scenario "$(caps 'SCRAM-SHA-256' ', "scram_final": "none"')"
send --user ann
code "SCRAM: 235 without the server-final message" 76
ok "SCRAM: 235 without the server's proof: says so" \
    grep -q "AUTH SCRAM-SHA-256: success without the server's proof" "$T/err"
ok "SCRAM: 235 without the server's proof: no MAIL" not logged '^C: MAIL'

scenario "$(caps 'SCRAM-SHA-256' ', "scram_final": "twice"')"
send --user ann
code "SCRAM: a challenge after the server-final message" 76
ok "SCRAM: a challenge after the end: says so" \
    grep -q 'AUTH SCRAM-SHA-256: challenge after the end' "$T/err"
ok "SCRAM: a challenge after the end: no MAIL" not logged '^C: MAIL'

scenario '{"ehlo": ["PIPELINING", "AUTH LOGIN"]}'
send --user ann --tls=off --allow-plaintext-auth
code "LOGIN not chosen in the clear" 69
ok "LOGIN not chosen in the clear: nothing sent" not logged '^C: AUTH'
send --user ann --tls=off --allow-plaintext-auth --auth LOGIN
code "LOGIN never in the clear, even forced" 64
ok "LOGIN never in the clear: nothing sent" not logged '^C: AUTH'
scenario '{"ehlo": ["PIPELINING", "AUTH PLAIN"]}'
send --user ann --tls=off --allow-plaintext-auth
code "PLAIN in the clear when explicitly allowed" 0

scenario '{"ehlo": ["PIPELINING", "STARTTLS"]}'
send --user ann
code "no AUTH offered" 69

scenario "$(caps PLAIN)"
cat >"$T/pw.sh" <<'SH'
#!/bin/sh
# stdin must be /dev/null, not the message
if read -r line; then echo "stdin: $line" >&2; exit 1; fi
printf 'secret\n'
SH
chmod +x "$T/pw.sh"
MIMEPIPE_PASSWORD= send --user ann --password-command "$T/pw.sh"
code "--password-command: stdin /dev/null, newline stripped" 0
printf '#!/bin/sh\nprintf "secret\\n\\n"\n' >"$T/pw2.sh"
chmod +x "$T/pw2.sh"
MIMEPIPE_PASSWORD= send --user ann --password-command "$T/pw2.sh"
code "--password-command: only one newline stripped" 77

MIMEPIPE_PASSWORD= run smtp-send --server "localhost:$PORT" --user ann <"$MSG"
code "no password source" 78
run smtp-send --server "localhost:$PORT" --user ann --password-command false <"$MSG"
code "a failing --password-command" 78
run smtp-send --server "localhost:$PORT" --user ann --auth CRAM-MD5 <"$MSG"
code "--auth CRAM-MD5 is refused" 64

scenario "$(caps PLAIN ', "reply": {"AUTH": "454 4.7.0 try later\r\n"}')"
send --user ann
code "AUTH 454: temporary" 75
scenario "$(caps PLAIN ', "reply": {"AUTH": "421 4.7.0 closing\r\n"}')"
send --user ann
code "AUTH 421: temporary" 75

scenario "$(caps OAUTHBEARER ', "user": "a,b=c"')"
send --user 'a,b=c' --auth OAUTHBEARER
code "OAUTHBEARER: ',' and '=' in the user escaped" 0
run smtp-send --server "localhost:$PORT" --user $'ann\001x' <"$MSG"
code "--user with a control character" 64

token=$(head -c 1500 /dev/zero | tr '\0' 'T')
for m in XOAUTH2 OAUTHBEARER; do
    scenario "$(caps $m ", \"password\": \"$token\"")"
    MIMEPIPE_PASSWORD=$token send --user ann --auth $m -v
    code "$m with a 1500-character token" 0
    ok "$m: the token is not in the transcript" not grep -q TTTTTTTT "$T/err"
done
