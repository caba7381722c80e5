#!/bin/bash
# A signed message sent by smtp-send to the test server verifies on
# arrival: the transfer encodings and CRLF canonical form mime-sign chose
# survive dot-stuffing and the wire's CRLF (issue 17).
. "$SRCDIR/tests/smtp/lib.sh"

GH=$(mktemp -d /tmp/mpg.XXXXXX)
export GNUPGHOME=$GH
cleanup_keys() {
    gpgconf --homedir "$GH" --kill all 2>/dev/null
    rm -rf "$GH"
    cleanup
}
trap cleanup_keys EXIT
chmod 700 "$GH"
echo disable-crl-checks >"$GH/gpgsm.conf"
gpg --batch --quiet --passphrase '' \
    --quick-gen-key 'Ann <ann@example.org>' rsa2048 sign,encrypt never
gpg --batch --quiet --passphrase '' \
    --quick-gen-key 'Bob <bob@example.com>' rsa2048 sign,encrypt never
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/s.key" -out "$T/s.crt" \
    -days 3650 -subj '/CN=Ann/emailAddress=ann@example.org' \
    -addext 'subjectAltName=email:ann@example.org' 2>/dev/null
gpgsm_import "$T/s.crt" "$T/s.key" ann@example.org

plan 6
start_server
export HOME=$T/home MIMEPIPE_CONFIG=$T/empty-config
mkdir -p "$HOME" && : >"$MIMEPIPE_CONFIG"

# what relays change: a leading dot, "From ", trailing blanks, 8bit text
printf '%s\n' 'From: Ann <ann@example.org>' 'To: bob@example.com' \
    'Subject: release' 'Content-Type: text/plain; charset=utf-8' \
    'Content-Transfer-Encoding: 8bit' '' '.leading dot' 'From the start' \
    'trailing   ' 'Grüße' >"$T/in.eml"

# the message as the server delivers it: dot-stuffing undone (RFC 5321
# 4.5.2), the wire's CRLF kept
arrived() { sed '/^\.\r\?$/d; s/^\.//' "$DATA"; }

mime-sign <"$T/in.eml" >"$MSG"
send
code "PGP/MIME signed: smtp-send" 0
ok "PGP/MIME signed: verifies as the server received it" \
    bash -c "$(declare -f arrived); DATA=$DATA; arrived | mime-verify | grep -q '^good ann@example.org '"

mime-sign --smime <"$T/in.eml" >"$MSG"
send
code "S/MIME signed: smtp-send" 0
ok "S/MIME signed: verifies as the server received it" \
    bash -c "$(declare -f arrived); DATA=$DATA; arrived | mime-verify | grep -q '^good ann@example.org '"

mime-encrypt --sign <"$T/in.eml" >"$MSG"
send
code "encrypted and signed: smtp-send" 0
ok "encrypted and signed: decrypts and verifies on arrival" \
    bash -c "$(declare -f arrived); DATA=$DATA; arrived | mime-verify | grep -q '^good ann@example.org ' && arrived | mime-decrypt | grep -q '^=2Eleading dot\|^\.leading dot'"
