#!/bin/bash
# Mail that looks right to its receivers (issue 14, RFC 6409 8): Date and
# Message-ID added at submission when missing (shown with -v), nothing
# added to a DKIM-signed message (a warning instead), a Date far from now
# warned about, a From the account does not own warned about or refused
# with --strict-from; Content-Transfer-Encoding binary sent with BDAT and
# BINARYMIME (RFC 3030), or refused before MAIL naming the part.
. "$SRCDIR/tests/smtp/lib.sh"
plan 39
start_server

export HOME=$T/home
mkdir -p "$HOME"
unset MIMEPIPE_PASSWORD XDG_CONFIG_HOME
export MIMEPIPE_CONFIG=$T/config
cat >"$MIMEPIPE_CONFIG" <<EOF
[account default]
host = localhost
port = $PORT
ca-file = $CERTS/ca.crt
from = ann@example.org
allowed-from = @example.net, bob@other.example
EOF
chmod 600 "$MIMEPIPE_CONFIG"

# send ARGS... through the account (not lib.sh's --server)
through() {
    run smtp-send --timeout 5 "$@" <"$MSG"
    conn_end
}
field() { tr -d '\r' <"$DATA" | sed '/^$/q' | grep -c "^$1: "; }

# --- Date and Message-ID --------------------------------------------------

printf '%s\n' 'From: Ann <ann@example.org>' 'To: bob@example.com' 'Subject: bare' '' 'x' | message
through -v
code "a message without Date and Message-ID" 0
is "Date added, once" "$(field Date)" 1
is "Message-ID added, once" "$(field Message-ID)" 1
ok "the Message-ID in the sender's domain" \
    grep -Eq '^Message-ID: <[^@>]+@example\.org>'$'\r''$' "$DATA"
ok "the added Date is now (read by Python's email)" "$PYRUN" -c '
import email.utils, sys, time
for line in open(sys.argv[1], "rb").read().decode().split("\r\n"):
    if line.startswith("Date: "):
        t = email.utils.parsedate_to_datetime(line[6:]).timestamp()
        sys.exit(abs(t - time.time()) > 300)
sys.exit(1)' "$DATA"
ok "the message reads without defects" pycheck defects <"$DATA"
ok "-v shows the added Date" grep -q -- '== added Date: ' "$T/err"
ok "-v shows the added Message-ID" grep -q -- '== added Message-ID: <' "$T/err"
ok "no warning for a message of the account's address" not grep -q 'warning' "$T/err"

printf '%s\n' 'From: ann@example.org' 'To: bob@example.com' \
    "Date: $(LC_ALL=C date -R)" 'Message-ID: <own@example.org>' '' 'x' | message
through
is "its own Date and Message-ID: nothing added" "$(field Date) $(field Message-ID)" "1 1"
ok "its own Message-ID kept" grep -q '^Message-ID: <own@example.org>' "$DATA"

printf '%s\n' 'DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s; h=from:to; bh=x; b=y' \
    'From: ann@example.org' 'To: bob@example.com' '' 'x' | message
through
code "a DKIM-signed message without Date" 0
is "DKIM-signed: nothing added" "$(field Date) $(field Message-ID)" "0 0"
ok "DKIM-signed: a warning says why" grep -qF 'DKIM-signed and has no Date and Message-ID: nothing added' "$T/err"

# mime-compose under SOURCE_DATE_EPOCH (the tests set it): a 2023 Date
printf '%s\n' 'From: ann@example.org' 'To: bob@example.com' \
    'Date: Tue, 14 Nov 2023 22:13:20 +0000' 'Message-ID: <old@example.org>' '' 'x' | message
through
code "a Date years ago: sent" 0
ok "a Date years ago: warned, naming SOURCE_DATE_EPOCH" \
    grep -qE 'warning: Date: [0-9]+ days before now \(was SOURCE_DATE_EPOCH set' "$T/err"
printf '%s\n' 'From: ann@example.org' 'To: bob@example.com' \
    "Date: $(LC_ALL=C date -R -d '+10 days')" 'Message-ID: <new@example.org>' '' 'x' | message
through
ok "a Date ten days ahead: warned" grep -qF 'days ahead of now' "$T/err"

# --- From and the account -----------------------------------------------

printf '%s\n' 'From: Mallory <mallory@evil.example>' 'To: bob@example.com' '' 'x' | message
through --account default
code "a From the account does not own: sent" 0
ok "... with a warning naming it" \
    grep -qF 'warning: From: mallory@evil.example is not an address of [account default]' "$T/err"
mails=$(cat "$SD"/[0-9]*.log 2>/dev/null | grep -c '^C: MAIL')
through --account default --strict-from
code "--strict-from refuses it" 65
# on no connection at all: $LOG is /dev/null when none was made
is "--strict-from: no MAIL" \
    "$(cat "$SD"/[0-9]*.log 2>/dev/null | grep -c '^C: MAIL')" "$mails"
printf '%s\n' 'From: carl@example.net' 'To: bob@example.com' '' 'x' | message
through --account default --strict-from
code "allowed-from = @example.net admits carl@example.net" 0
printf '%s\n' 'From: BOB@other.example' 'To: bob@example.com' '' 'x' | message
through --account default --strict-from
code "allowed-from admits an address, regardless of case" 0

# --- Content-Transfer-Encoding: binary (RFC 3030) -------------------------

# a part whose bytes no canonicaliser may touch: bare CR, bare LF, a dot
# line, 8-bit bytes (and, in the second, a NUL)
binmsg() { # BLOB-PRINTF
    {
        printf '%s\n' 'From: ann@example.org' 'To: bob@example.com' \
            'Date: Thu, 03 Dec 2026 06:00:00 +0000' 'Message-ID: <bin@example.org>' \
            'MIME-Version: 1.0' 'Content-Type: multipart/mixed; boundary="b"' '' \
            '--b' 'Content-Type: text/plain' '' 'hello' '.' '--b' \
            'Content-Type: application/octet-stream' \
            'Content-Disposition: attachment; filename="blob.bin"' \
            'Content-Transfer-Encoding: binary' ''
        printf "$1"
        printf '\n--b--\n'
    } >"$MSG"
    printf "$1" >"$T/blob"
}
contains() { "$PYRUN" -c 'import sys; sys.exit(open(sys.argv[2], "rb").read() not in open(sys.argv[1], "rb").read())' "$@"; }
BIN='["PIPELINING", "8BITMIME", "STARTTLS", "CHUNKING", "BINARYMIME"]'

binmsg '\xff\xfe\rbare CR\nbare LF\r\n.\r\nend\x80'
scenario "{\"ehlo\": $BIN}"
through
code "a binary part, BINARYMIME offered: sent" 0
ok "... MAIL with BODY=BINARYMIME" logged '^C: MAIL FROM:<ann@example.org> BODY=BINARYMIME$'
ok "... with BDAT, LAST" logged '^C: BDAT [0-9]+ LAST$'
ok "... no DATA" not logged '^C: DATA'
ok "... the binary content arrived byte for byte" contains "$DATA" "$T/blob"
is "... BDAT's count is what arrived" "$(sed -n 's/^C: BDAT \([0-9]*\) LAST$/\1/p' "$LOG")" "$(wc -c <"$DATA")"
ok "... the rest in CRLF, not dot-stuffed" \
    grep -q $'^Content-Transfer-Encoding: binary\r$' "$DATA"
ok "... the text part's dot line as it is" \
    "$PYRUN" -c 'import sys; sys.exit(b"hello\r\n.\r\n--b" not in open(sys.argv[1], "rb").read())' "$DATA"

binmsg 'NUL\x00inside\r\n.\r\n'
through
code "a binary part holding a NUL, BINARYMIME offered: sent" 0
ok "... the NUL arrived" contains "$DATA" "$T/blob"

# Date and Message-ID added at submission count in BDAT's size too
binmsg 'bin\x80\r\n'
sed -i '/^Date:/d; /^Message-ID:/d' "$MSG"
through
code "a binary message without Date and Message-ID: sent" 0
is "... BDAT's count covers the fields added" \
    "$(sed -n 's/^C: BDAT \([0-9]*\) LAST$/\1/p' "$LOG" | tail -1)" "$(wc -c <"$DATA")"
ok "... and they arrived, the message whole" \
    sh -c "grep -q '^Message-ID: ' '$DATA' && tail -c 9 '$DATA' | grep -q -- '--b--'"

scenario '{"ehlo": ["PIPELINING", "8BITMIME", "STARTTLS", "CHUNKING"]}'
binmsg '\xff\xfe\rbare CR\nbare LF'
through
code "a binary part, no BINARYMIME: refused" 65
ok "... naming the part" grep -qF 'part 3 (blob.bin) has Content-Transfer-Encoding binary' "$T/err"
ok "... before MAIL" not logged '^C: MAIL'
