#!/bin/bash
# smtp-send through the configuration file: account selection, each
# password source, the permission rule, and the command lines mutt, git
# send-email and cron pass to sendmail, unchanged.
. "$SRCDIR/tests/smtp/lib.sh"
plan 69
start_server

# a fresh user: no ~/.netrc, no password in the environment
export HOME=$T/home
mkdir -p "$HOME"
unset MIMEPIPE_PASSWORD XDG_CONFIG_HOME
export MIMEPIPE_CONFIG=$T/config

write_config() {
    cat >"$MIMEPIPE_CONFIG" <<EOF
# accounts for the tests
[account default]
host = localhost
port = $PORT
user = ann
password-command = printf 'secret\\n'
ca-file = $CERTS/ca.crt
from = ann@example.org

[account work]
host = localhost
port = $PORT
user = ann
auth = LOGIN
password-command = echo secret; cat
ca-file = $CERTS/ca.crt
from = ann@work.example

[account netrc]
host = localhost
port = $PORT
user = ann
ca-file = $CERTS/ca.crt
from = ann@netrc.example

[account broken-helper]
host = localhost
port = $PORT
user = ann
password-command = echo 'gpg: decryption failed' >&2; exit 3
ca-file = $CERTS/ca.crt
${1:-}
EOF
    chmod 600 "$MIMEPIPE_CONFIG"
}
write_config

# CMD... with the message; waits for the server to finish the connection
through() {
    run "$@" <"$MSG"
    LOG=/dev/null DATA=/dev/null
    if read -r -t 20 _ev <&"${SRV[0]}"; then
        LOG=$SD/${_ev#done }.log
        DATA=$SD/${_ev#done }.data
    else
        echo "# the server saw no connection"
    fi
}
connections() { ls "$SD"/*.log 2>/dev/null | wc -l; }

printf '%s\n' 'From: Ann <ann@example.org>' 'To: Bob <bob@example.com>' \
    'Subject: account' '' 'Hello.' | message

# selection
through smtp-send
code "no --account, From matches nothing else: [account default]" 0
ok "default: its password-command logged in (PLAIN)" logged '^C: AUTH PLAIN '
ok "default: envelope from the account" logged '^C: MAIL FROM:<ann@example.org>'
ok "default: recipient from To" logged '^C: RCPT TO:<bob@example.com>'

through smtp-send --account work
code "--account work" 0
ok "--account work: its auth= (LOGIN)" logged '^C: AUTH LOGIN'
ok "--account work: its from= is the envelope sender" logged '^C: MAIL FROM:<ann@work.example>'

printf '%s\n' 'From: Ann <Ann@Work.Example>' 'To: bob@example.com' \
    'Subject: by from' '' 'Hi.' | message
through smtp-send
code "From matches [account work]'s from (any case)" 0
ok "selected by From: AUTH LOGIN" logged '^C: AUTH LOGIN'

through smtp-send --auth PLAIN --from other@example.net
code "command line overrides the account" 0
ok "--auth overrides auth=" logged '^C: AUTH PLAIN '
ok "--from overrides from=" logged '^C: MAIL FROM:<other@example.net>'

n=$(connections)
run smtp-send --account nope <"$MSG"
code "an unknown account" 78
ok "an unknown account: file named" grep -qF "$MIMEPIPE_CONFIG: no [account nope]" "$T/err"
is "an unknown account: no connection" "$(connections)" "$n"

# password sources
run smtp-send --account broken-helper <"$MSG"
code "a failing password-command" 78
ok "a failing password-command: status and stderr reported" \
    grep -qF '[account broken-helper] password-command: exited with status 3: gpg: decryption failed' "$T/err"
is "a failing password-command: asked before connecting" "$(connections)" "$n"

run smtp-send --account netrc <"$MSG"
code "no password anywhere" 78
ok "no password anywhere: says where to put one" grep -q 'no password for ann at localhost' "$T/err"
is "no password anywhere: no connection" "$(connections)" "$n"

printf 'machine localhost\n  login ann\n  password secret\n' >"$HOME/.netrc"
chmod 600 "$HOME/.netrc"
through smtp-send --account netrc
code "password from ~/.netrc" 0
ok "~/.netrc: logged in" logged '^C: AUTH PLAIN '
chmod 644 "$HOME/.netrc"
run smtp-send --account netrc <"$MSG"
code "a ~/.netrc others can read" 78
ok "a ~/.netrc others can read: named, with the fix" grep -qF "$HOME/.netrc: holds a password but group or others can read it (chmod 600" "$T/err"
rm "$HOME/.netrc"

MIMEPIPE_PASSWORD=secret through smtp-send --account netrc
code "password from MIMEPIPE_PASSWORD" 0
MIMEPIPE_PASSWORD=wrong through smtp-send --account netrc
code "a wrong MIMEPIPE_PASSWORD: refused" 77
printf 'machine localhost login ann password secret\n' >"$HOME/.netrc"
chmod 600 "$HOME/.netrc"
MIMEPIPE_PASSWORD=wrong through smtp-send --account netrc
code "~/.netrc comes before MIMEPIPE_PASSWORD" 0
rm "$HOME/.netrc"
MIMEPIPE_PASSWORD=wrong through smtp-send --account default
code "password-command comes before MIMEPIPE_PASSWORD" 0

# password= and the permission rule
write_config 'password = secret'
sed -i '/^\[account broken-helper\]/,$ s/^password-command.*//' "$MIMEPIPE_CONFIG"
through smtp-send --account broken-helper
code "password= in a private file" 0
chmod 640 "$MIMEPIPE_CONFIG"
n=$(connections)
run smtp-send --account default <"$MSG"
code "password= in a file the group can read" 78
line=$(grep -n '^password = secret' "$MIMEPIPE_CONFIG" | cut -d: -f1)
ok "permission: file and line named" grep -qF "$MIMEPIPE_CONFIG:$line: password= in a file that group or others can read" "$T/err"
is "permission: refused before connecting" "$(connections)" "$n"
chmod 604 "$MIMEPIPE_CONFIG"
run smtp-send --account default <"$MSG"
code "password= in a file others can read" 78
write_config 'hostname = typo.example'
run smtp-send <"$MSG"
code "an unknown key" 78
line=$(grep -n '^hostname' "$MIMEPIPE_CONFIG" | cut -d: -f1)
ok "an unknown key: file and line named" grep -qF "$MIMEPIPE_CONFIG:$line: unknown key \"hostname\"" "$T/err"
write_config 'tls = maybe'
run smtp-send <"$MSG"
code "a bad tls= value" 78
write_config 'auth = CRAM-MD5'
run smtp-send <"$MSG"
code "an auth= the engine does not run" 78
ok "an auth= the engine does not run: named" grep -qF '[account broken-helper] auth CRAM-MD5' "$T/err"
write_config
is "config errors: no connection" "$(connections)" "$n"

# the callers' command lines, unchanged
printf '%s\n' 'From: Ann <ann@example.org>' 'To: Bob <bob@example.com>' \
    'Subject: sendmail' '' 'line one' '.' 'after the dot' | message
ln -s "$BUILDDIR/tools/smtp-send" "$T/sendmail"

through smtp-send -oem -oi -- bob@example.com carl@example.com
code "mutt: -oem -oi -- rcpts" 0
ok "mutt: both recipients" logged '^C: RCPT TO:<carl@example.com>'
scenario '{"ehlo_tls": ["PIPELINING", "8BITMIME", "DSN", "AUTH PLAIN LOGIN"]}'
through "$T/sendmail" -oem -oi -B8BITMIME -f ann@example.org -N success,failure -R hdrs -- bob@example.com
code "mutt: -B8BITMIME -f -N -R as sendmail" 0
ok "mutt: DSN RET" logged '^C: MAIL FROM:<ann@example.org> RET=HDRS'
ok "mutt: DSN NOTIFY" logged '^C: RCPT TO:<bob@example.com> NOTIFY=SUCCESS,FAILURE'
scenario '{}'
through smtp-send --account work -oem -oi -- bob@example.com
code "mutt: sendmail=\"smtp-send --account work\"" 0
ok "mutt with --account work: its login" logged '^C: AUTH LOGIN'

through smtp-send -i bob@example.com
code "git send-email: -i rcpts" 0
through "$T/sendmail" -i -f ann@example.org bob@example.com
code "git send-email: -i -f addr rcpts, as sendmail" 0
ok "git send-email: envelope sender" logged '^C: MAIL FROM:<ann@example.org>'

printf '%s\n' 'From: root (Cron Daemon)' 'To: root' \
    'Subject: Cron <root@host> run-parts /etc/cron.daily' \
    'X-Cron-Env: <SHELL=/bin/sh>' '' 'output' | message
through "$T/sendmail" -FCronDaemon -i -odi -oem -oi -t -f root
code "cronie: -FCronDaemon -i -odi -oem -oi -t -f user" 0
ok "cronie: local sender becomes the account's from" logged '^C: MAIL FROM:<ann@example.org>'
ok "cronie: To: root goes to the account's from" logged '^C: RCPT TO:<ann@example.org>'
through "$T/sendmail" -i -FCronDaemon -B8BITMIME -oem ann
code "Debian cron: -i -FCronDaemon -B8BITMIME -oem user" 0
ok "Debian cron: the local user goes to the account's from" logged '^C: RCPT TO:<ann@example.org>$'
ok "Debian cron: envelope from the account" logged '^C: MAIL FROM:<ann@example.org>'
through "$T/sendmail" -i -FCronDaemon -oem ann
code "Debian cron without 8BITMIME" 0
n=$(connections)
MIMEPIPE_CONFIG=/dev/null run "$T/sendmail" -i -t -f root <"$MSG"
code "cron without any account: a local -f" 78
ok "cron without any account: says to set from=" grep -qF -- '-f root: a local name' "$T/err"
run smtp-send --server "localhost:$PORT" root <"$MSG"
code "as smtp-send, a local name is refused" 64
is "as smtp-send, a local name: no connection" "$(connections)" "$n"

printf '%s\n' 'From: Ann <ann@example.org>' 'To: Bob <bob@example.com>' \
    'Subject: dot' '' 'line one' '.' 'after the dot' | message
through "$T/sendmail" bob@example.com
code "sendmail without -i: a lone dot" 0
ok "a lone dot does not end the input (sent dot-stuffed)" grep -q '^\.\.' "$DATA"
ok "a lone dot: the rest of the message was sent" grep -q '^after the dot' "$DATA"
through "$T/sendmail" -oi bob@example.com
ok "with -oi: the same bytes" grep -q '^after the dot' "$DATA"
n=$(connections)
run "$T/sendmail" -bp
code "sendmail -bp is refused" 64
run "$T/sendmail" -Z bob@example.com
code "an unknown sendmail flag is refused" 64
run smtp-send -i -- -oevil@example.com <"$MSG"
code "a recipient starting with '-' after --" 64
is "refused command lines: no connection" "$(connections)" "$n"

done_testing
