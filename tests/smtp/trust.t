#!/bin/bash
# smtp-send trusts nothing in its outbox that it did not write (issue 14):
# the directory must be the user's and private, each entry a regular file
# of the user opened without following links or waiting on a FIFO, and
# every value stored beside a message is checked again on flush; an entry
# keeps the server, TLS mode and login it was meant for.  Tests run as
# root: "another user's file" is a file chowned to uid 65534.
. "$SRCDIR/tests/smtp/lib.sh"
plan 35
start_server

own_home
OB=$T/outbox
SRV_ARGS=(--server "localhost:$PORT" --ca-file "$CERTS/ca.crt" --timeout 5)

conns() { ls "$SD"/*.log 2>/dev/null | wc -l; }
# wait until the server saw N connections in all
wait_total() {
    while [ "$(conns)" -lt "$1" ]; do
        read -r -t 20 _ev <&"${SRV[0]}" || { echo "# a connection did not end"; return 1; }
    done
    # and that the last one ended
    read -r -t 0.01 _ev <&"${SRV[0]}" || true
}
received() { cat "$SD"/*.data 2>/dev/null | grep -c "^Subject: $1"$'\r'"\$"; }
stored() { find "$1/new" "$1/cur" -type f 2>/dev/null | wc -l; }
mkmsg() { # FILE SUBJECT
    printf '%s\n' 'From: Ann <ann@example.org>' 'To: bob@example.com' \
        "Subject: $2" '' "Body of $2." >"$1"
}
# keep MSG in outbox DIR after a temporary failure; prints the stored file
keep() { # DIR SUBJECT ARGS...
    _dir=$1 _subj=$2
    shift 2
    mkmsg "$MSG" "$_subj"
    scenario '{"reply": {"RCPT": "451 4.3.0 try later\r\n"}}'
    n=$(conns)
    smtp-send "${SRV_ARGS[@]}" --outbox "$_dir" "$@" <"$MSG" 2>"$T/keep.err"
    wait_total $((n + 1))
    grep -l "^Subject: $_subj\$" "$_dir"/new/* 2>/dev/null | head -1
}
# write an entry by hand: DIR NAME, block lines on stdin, then a message
plant() { # DIR NAME SUBJECT
    mkmsg "$T/planted.eml" "$3"
    { cat; cat "$T/planted.eml"; } >"$1/new/$2"
    chmod 600 "$1/new/$2"
}

# --- the directory ----------------------------------------------------

mkdir -m 755 "$T/open"
run smtp-send "${SRV_ARGS[@]}" --outbox "$T/open" --flush
code "an outbox others can enter is refused" 78
ok "... with the chmod hint" grep -qF "chmod 700 $T/open" "$T/err"

mkdir -m 700 "$T/theirs"
chown 65534 "$T/theirs"
run smtp-send "${SRV_ARGS[@]}" --outbox "$T/theirs" --flush
code "an outbox of another user is refused" 78
ok "... naming its owner" grep -qF "belongs to uid 65534" "$T/err"

mkdir -m 700 "$T/sub"
mkdir -m 777 "$T/sub/new"
run smtp-send "${SRV_ARGS[@]}" --outbox "$T/sub" --flush
code "an outbox whose new/ others can write is refused" 78

mkmsg "$MSG" never-stored
scenario '{"reply": {"RCPT": "451 4.3.0 try later\r\n"}}'
n=$(conns)
run smtp-send "${SRV_ARGS[@]}" --outbox "$T/open" <"$MSG"
wait_total $((n + 1))
code "storing into an open outbox: still a temporary failure" 75
ok "... and it says the message was NOT stored" grep -qF "NOT stored" "$T/err"
is "... nothing written there" "$(stored "$T/open")" 0

# --- entries -------------------------------------------------------------

f=$(keep "$OB" legit-1)
ok "a message kept in the outbox" test -n "$f"
is "the outbox made private" "$(stat -c %a "$OB")" 700

# a file planted by another user, copied from a real entry
cp "$f" "$OB/new/1.M1P1Q1.planted"
sed -i 's/^Subject: legit-1$/Subject: planted/' "$OB/new/1.M1P1Q1.planted"
chown 65534 "$OB/new/1.M1P1Q1.planted"
# a symbolic link to a file of ours
cp "$f" "$T/elsewhere"
sed -i 's/^Subject: legit-1$/Subject: linked/' "$T/elsewhere"
ln -s "$T/elsewhere" "$OB/new/2.M1P1Q1.link"
# a FIFO: opening it for reading would wait for a writer forever
mkfifo "$OB/new/3.M1P1Q1.fifo"

scenario '{}'
n=$(conns)
run timeout 30 smtp-send "${SRV_ARGS[@]}" --outbox "$OB" --flush
wait_total $((n + 1))
ok "a FIFO in the outbox does not hang --flush" test "$rc" != 124
code "a flush with planted entries: they are refused" 65
is "the user's own message was sent, once" "$(received legit-1)" 1
is "another user's file was not sent" "$(received planted)" 0
is "a symbolic link was not followed" "$(received linked)" 0
ok "another user's file named" grep -qF "1.M1P1Q1.planted: a file of another user" "$T/err"
ok "the FIFO named" grep -qF "3.M1P1Q1.fifo: not a regular file" "$T/err"
ok "the link named" grep -qF "2.M1P1Q1.link: a symbolic link" "$T/err"
is "planted entries set aside in failed/" "$(find "$OB/failed" -mindepth 1 | wc -l)" 3
is "the queue is empty" "$(stored "$OB")" 0

# --- values stored beside a message: checked as the command line's ---

scenario '{"ehlo": ["PIPELINING", "8BITMIME", "STARTTLS", "DSN"]}'
plant "$OB" 10.M1P1Q1.cr stored-cr <<EOF
X-Mimepipe-Envelope: 1
X-Mimepipe-From: <ann@example.org>
X-Mimepipe-To: <bob@example.com>
X-Mimepipe-Notify: SUCCESS$(printf '\r')RSET
X-Mimepipe-End: 1
EOF
n=$(conns)
run smtp-send "${SRV_ARGS[@]}" --outbox "$OB" --flush
code "a stored DSN value with a CR is refused" 65
ok "... naming the value" grep -qF "stored DSN is not valid" "$T/err"
is "... and nothing reached the server" "$(conns)" "$n"
is "... the entry set aside" "$(stored "$OB")" 0

plant "$OB" 11.M1P1Q1.env stored-env <<EOF
X-Mimepipe-Envelope: 1
X-Mimepipe-From: <ann@example.org>
X-Mimepipe-To: <-oQ/tmp/x@example.com>
X-Mimepipe-End: 1
EOF
run smtp-send "${SRV_ARGS[@]}" --outbox "$OB" --flush
code "a stored recipient starting with '-' is refused" 65
is "... nothing reached the server" "$(conns)" "$n"

plant "$OB" 12.M1P1Q1.srv stored-srv <<EOF
X-Mimepipe-Envelope: 1
X-Mimepipe-Server: localhost:$PORT$(printf '\r')
X-Mimepipe-From: <ann@example.org>
X-Mimepipe-To: <bob@example.com>
X-Mimepipe-End: 1
EOF
run smtp-send --ca-file "$CERTS/ca.crt" --timeout 5 --outbox "$OB" --flush
code "a stored server with a control character is refused" 65

plant "$OB" 13.M1P1Q1.acct stored-acct <<EOF
X-Mimepipe-Envelope: 1
X-Mimepipe-Account: nosuch
X-Mimepipe-From: <ann@example.org>
X-Mimepipe-To: <bob@example.com>
X-Mimepipe-End: 1
EOF
run smtp-send --ca-file "$CERTS/ca.crt" --server "localhost:$PORT" --timeout 5 --outbox "$OB" --flush
code "a stored account that is not configured is refused" 78
is "... nothing reached the server" "$(conns)" "$n"
rm -f "$OB/new/13.M1P1Q1.acct"

# --- an entry keeps where it was to go ----------------------------------

scenario '{"ehlo": ["PIPELINING", "8BITMIME", "STARTTLS", "AUTH PLAIN"], "reply": {"RCPT": "451 4.3.0 try later\r\n"}}'
mkmsg "$MSG" with-login
n=$(conns)
MIMEPIPE_PASSWORD=secret smtp-send "${SRV_ARGS[@]}" --user ann --outbox "$OB" <"$MSG" 2>"$T/keep.err"
wait_total $((n + 1))
f=$(grep -l '^Subject: with-login$' "$OB"/new/*)
ok "the entry records the server and port" grep -qx "X-Mimepipe-Server: localhost:$PORT" "$f"
ok "the entry records the TLS mode" grep -qx "X-Mimepipe-Tls: starttls" "$f"
ok "the entry records the login" grep -qx "X-Mimepipe-User: ann" "$f"

scenario '{"ehlo": ["PIPELINING", "8BITMIME", "STARTTLS", "AUTH PLAIN"]}'
n=$(conns)
MIMEPIPE_PASSWORD=secret run smtp-send --ca-file "$CERTS/ca.crt" --timeout 5 --outbox "$OB" --flush
wait_total $((n + 1))
code "a flush without --server or --user sends where it was meant to go" 0
is "... delivered once" "$(received with-login)" 1
ok "... logged in as the stored user" grep -q '^C: AUTH PLAIN' "$(ls -t "$SD"/*.log | head -1)"
