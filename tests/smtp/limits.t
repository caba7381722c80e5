#!/bin/bash
# Authentication within bounds, secrets kept out of messages, servers that
# answer differently than expected (issue 14): the SCRAM iteration count
# is capped and the whole exchange bounded by --timeout; -v shows SCRAM's
# client lines with the proof redacted; a configuration error never
# quotes a password; a password= in a file another user can read is
# refused; STARTTLS against an implicit-TLS port (and the reverse) is
# recognised quickly, with the fix.
. "$SRCDIR/tests/smtp/lib.sh"
plan 29
start_server
printf '%s\n' "$STD_MSG" | message

export HOME=$T/home
mkdir -p "$HOME"
unset XDG_CONFIG_HOME
export MIMEPIPE_CONFIG=/dev/null
export MIMEPIPE_PASSWORD=secret

scram() { # EXTRA-JSON: SCRAM offered after TLS
    printf '{"ehlo": ["PIPELINING", "STARTTLS"], "ehlo_tls": ["PIPELINING", "AUTH SCRAM-SHA-256"]%s}' "${1:-}"
}

# --- SCRAM ----------------------------------------------------------------

scenario "$(scram ', "scram_iterations": 400000000')"
SECONDS=0
send --user ann --timeout 60
code "SCRAM: 400,000,000 iterations refused" 76
ok "... at once, not after minutes of hashing" test "$SECONDS" -lt 30
ok "... saying why" grep -qF 'asks for more than 1000000 iterations' "$T/err"
ok "... the exchange cancelled with '*'" logged '^C: \*$'
ok "... no MAIL" not logged '^C: MAIL'

scenario "$(scram ', "scram_iterations": 1000001')"
send --user ann
code "SCRAM: 1,000,001 iterations refused" 76

scenario "$(scram ', "scram_iterations": 99999999999999999999999')"
send --user ann
code "SCRAM: an iteration count too long to read refused" 76

# each challenge within --timeout, the whole exchange not
scenario "$(scram ', "scram_delay": 2')"
send --user ann --timeout 3
code "SCRAM: the whole exchange bounded by --timeout" 75
ok "... saying so" grep -qF 'took longer than --timeout (3 seconds)' "$T/err"
ok "... no MAIL" not logged '^C: MAIL'

scenario "$(scram)"
send --user ann -v
code "SCRAM with -v" 0
ok "-v shows SCRAM's client-first message" grep -q -- '-> AUTH SCRAM-SHA-256 n,,n=ann,r=' "$T/err"
ok "-v shows SCRAM's client-final message, proof redacted" \
    grep -q -- '-> c=biws,r=[^,]*,p=\[redacted\]$' "$T/err"
ok "-v: no proof, no password" not grep -Eq 'p=[A-Za-z0-9+/]{20}|secret' "$T/err"

# --- the configuration file ---------------------------------------------

cfg=$T/config
printf '[account default]\nhost = localhost\npassword hunter2\n' >"$cfg"
chmod 600 "$cfg"
MIMEPIPE_CONFIG=$cfg run smtp-send bob@example.com <"$MSG"
code "a config line without '=': syntax error" 78
ok "... file and line named" grep -qF "$cfg:3: not a \"key = value\" line" "$T/err"
ok "... the password not printed" not grep -q hunter2 "$T/err"

printf '[account default]\nhost = localhost\n[password = hunter2\n' >"$cfg"
MIMEPIPE_CONFIG=$cfg run smtp-send bob@example.com <"$MSG"
code "a malformed group line" 78
ok "... the line not printed" not grep -q hunter2 "$T/err"

printf '[account default]\nhost = localhost\npassword = hun\\qter2\n' >"$cfg"
MIMEPIPE_CONFIG=$cfg run smtp-send bob@example.com <"$MSG"
code "a password with a bad escape" 78
ok "... file, line and key named" grep -qF "$cfg:3: password: invalid escape sequence" "$T/err"
ok "... no piece of the password printed" not grep -Eq 'hun|qter|\\q' "$T/err"

printf '[account default]\nhost = localhost\nport = %s\nca-file = %s\nuser = ann\npassword = secret\n' \
    "$PORT" "$CERTS/ca.crt" >"$cfg"
chmod 600 "$cfg"
chown 65534 "$cfg"
MIMEPIPE_CONFIG=$cfg run smtp-send bob@example.com <"$MSG"
code "password= in a private file of another user: refused" 78
ok "... file and line named" grep -qF "$cfg:6: password= in a file of another user" "$T/err"

# --- STARTTLS against implicit TLS, and the reverse ---------------------

# two connections: ours, and the one that looks at the port
both() {
    run smtp-send --ca-file "$CERTS/ca.crt" "$@" <"$MSG"
    read -r -t 20 _ev <&"${SRV[0]}"
    read -r -t 20 _ev <&"${SRV[0]}"
}
scenario '{"tls": "implicit"}'
SECONDS=0
both --server "smtp://localhost:$PORT" --timeout 60
code "STARTTLS to a port that expects TLS from the first byte" 76
ok "... found out within seconds, not --timeout" test "$SECONDS" -lt 20
ok "... with the fix" grep -qF 'this port expects TLS from the first byte: use smtps://' "$T/err"

scenario '{}'
both --server "smtps://localhost:$PORT" --timeout 5
code "implicit TLS to a port that greets in clear" 76
ok "... with the fix" grep -qF 'this port greets in clear: use smtp://' "$T/err"
