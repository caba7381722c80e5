#!/bin/bash
# smtp-send against a real Postfix (Debian's), its own configuration and
# queue directories, listening on loopback only: submission with STARTTLS
# required.  Each message is put on hold before Postfix answers 250, so
# postcat shows exactly what it accepted, with no waiting for delivery.
. "$SRCDIR/tests/smtp/lib.sh"

skip_all() { echo "1..0 # SKIP $1"; exit 0; }
command -v postfix >/dev/null || PATH=$PATH:/usr/sbin
command -v postfix >/dev/null || skip_all "Postfix is not installed (apt-get install postfix)"
[ "$(id -u)" = 0 ] || skip_all "a Postfix instance must be started as root"
id postfix >/dev/null 2>&1 || skip_all "no postfix user"

plan 32
PF=$T/postfix
mkdir -p "$PF/etc" "$PF/queue" "$PF/data"
chmod 755 "$T" "$PF"
# logins are checked by a stand-in for Dovecot's auth service
coproc AUTHD { exec "$PY" "$SRCDIR/tests/smtp/dovecot-auth.py" ann 's3cret pw'; }
SRV_PID=$AUTHD_PID
read -r AUTHPORT <&"${AUTHD[0]}" || { echo "Bail out! auth service did not start"; exit 1; }
cp "$CERTS/good.crt" "$CERTS/good.key" "$PF/etc/"
# free loopback ports, chosen by the kernel (Postfix cannot report one);
# another test may bind one of them before Postfix does, so a start that
# fails is tried again with new ones
pick_ports() {
    read -r PFPORT PFAUTH PFSMTPS < <("$PY" -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in ss))')
}
write_config() {
cat >"$PF/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
myhostname = localhost.localdomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
smtputf8_enable = yes
smtpd_tls_cert_file = $PF/etc/good.crt
smtpd_tls_key_file = $PF/etc/good.key
smtpd_tls_security_level = encrypt
smtpd_recipient_restrictions = check_client_access static:HOLD, permit_mynetworks, reject
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:$AUTHPORT
smtpd_sasl_authenticated_header = yes
alias_maps =
alias_database =
notify_classes =
default_transport = discard:interop test only
relay_transport = discard:interop test only
CF
AUTHOPTS='-o smtpd_sasl_auth_enable=yes -o smtpd_tls_auth_only=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o smtpd_recipient_restrictions=check_client_access,static:HOLD,permit_sasl_authenticated,reject'
cat >"$PF/etc/master.cf" <<CF
127.0.0.1:$PFPORT inet n - n - - smtpd
127.0.0.1:$PFAUTH inet n - n - - smtpd $AUTHOPTS
127.0.0.1:$PFSMTPS inet n - n - - smtpd -o smtpd_tls_wrappermode=yes $AUTHOPTS
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
postlog   unix-dgram n  -       n       -       1       postlogd
CF
}
stop_postfix() {
    if [ "$_failed" != 0 ] && [ -f "$PF/maillog" ]; then
        grep -E "warning|fatal|error" "$PF/maillog" | sed "s/^/# maillog: /" | head -10
    fi
    postfix -c "$PF/etc" stop >/dev/null 2>&1
}
cleanup() {
    stop_postfix
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
    rm -rf "$T"
}
# started when its three listeners answer (bounded: a connect attempt
# per round, 10 s in all)
listening() {
    "$PY" -c "
import socket, sys, time
for port in sys.argv[1:]:
    for _ in range(200):
        try:
            socket.create_connection(('127.0.0.1', int(port)), 1).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        sys.exit('port %s: no listener' % port)
" "$PFPORT" "$PFAUTH" "$PFSMTPS"
}
started=
for try in 1 2 3; do
    pick_ports
    write_config
    if postfix -c "$PF/etc" set-permissions >"$T/pf.out" 2>&1 &&
        postfix -c "$PF/etc" start >>"$T/pf.out" 2>&1 &&
        listening >>"$T/pf.out" 2>&1; then
        started=1
        break
    fi
    postfix -c "$PF/etc" stop >/dev/null 2>&1
    sed "s/^/# start $try: /" "$T/pf.out" | tail -5
    [ -f "$PF/maillog" ] && grep -E "fatal|error" "$PF/maillog" | sed "s/^/# maillog: /" | tail -5
done
[ -n "$started" ] || { echo "Bail out! Postfix did not start"; exit 1; }

printf '%s\n' 'From: Ann <ann@example.org>' 'To: Bob <bob@example.com>' \
    'Bcc: hidden@example.net' 'Subject: interop' '' '.dot line' 'Grüße' |
    message
queued() { sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' "$T/err" | tail -1; }

run smtp-send --server "localhost:$PFPORT" --ca-file "$CERTS/ca.crt" -v <"$MSG"
code "Postfix accepts over STARTTLS" 0
id=$(queued)
ok "Postfix gave a queue id" test -n "$id"
postcat -c "$PF/etc" -q "$id" >"$T/postcat" 2>&1
ok "the transcript shows TLS" grep -q 'TLS established' "$T/err"
ok "postcat: sender" grep -q '^sender: ann@example.org' "$T/postcat"
ok "postcat: both recipients" \
    test "$(grep -cE '^(recipient|original_recipient): (bob@example.com|hidden@example.net)' "$T/postcat")" -ge 2
ok "postcat: Bcc not in the message" not grep -q '^Bcc:' "$T/postcat"
ok "postcat: dot line unstuffed by Postfix" grep -q '^\.dot line' "$T/postcat"
ok "postcat: 8-bit body intact" grep -q 'Grüße' "$T/postcat"

printf 'From: a@example.org\nTo: b@example.com\n\nA\n.\nMAIL FROM:<evil@example.net>\nRCPT TO:<x@example.net>\nDATA\nevil\n.\n' |
    message
run smtp-send --server "localhost:$PFPORT" --ca-file "$CERTS/ca.crt" -v <"$MSG"
code "smuggling attempt accepted as one message" 0
postcat -c "$PF/etc" -q "$(queued)" >"$T/postcat" 2>&1
ok "smuggled commands stayed in the body" grep -q '^MAIL FROM:<evil@example.net>' "$T/postcat"
ok "no second message from the smuggled MAIL" \
    not grep -q 'from=<evil@example.net>' "$PF/maillog"

run smtp-send --server "localhost:$PFPORT" --tls=off <"$MSG"
code "Postfix requires TLS; smtp-send --tls=off gets the 530" 69

# logins, over STARTTLS and implicit TLS (the README's demo, against Postfix)
printf '%s\n' 'From: Ann <ann@example.org>' 'To: Bob <bob@example.com>' \
    'Subject: with a login' '' 'Hello.' | message
export MIMEPIPE_PASSWORD='s3cret pw'
for how in "localhost:$PFAUTH" "smtps://localhost:$PFSMTPS"; do
    for mech in PLAIN LOGIN; do
        run smtp-send --server "$how" --ca-file "$CERTS/ca.crt" --user ann --auth $mech -v <"$MSG"
        code "Postfix $how: AUTH $mech" 0
        postcat -c "$PF/etc" -q "$(queued)" >"$T/postcat" 2>&1
        ok "Postfix $how: AUTH $mech: authenticated sender recorded" \
            grep -q 'Authenticated sender: ann' "$T/postcat"
        ok "Postfix $how: AUTH $mech: no credential in the transcript" \
            not grep -Eq 's3cret|czNjcmV0' "$T/err"
    done
done
MIMEPIPE_PASSWORD=wrong run smtp-send --server "localhost:$PFAUTH" --ca-file "$CERTS/ca.crt" --user ann <"$MSG"
code "Postfix: wrong password" 77
run smtp-send --server "localhost:$PFAUTH" --ca-file "$CERTS/ca.crt" <"$MSG"
code "Postfix: no login, relay refused at RCPT" 69

# ---- signed mail through Postfix still verifies (issues 17 and 20) ----------
# postcat -bh: the message as Postfix holds it, its Received field on top
held() { postcat -c "$PF/etc" -bh -q "$(queued)" >"$1" 2>/dev/null; }
unset MIMEPIPE_PASSWORD
printf '%s\n' 'From: Ann <ann@example.org>' 'To: Bob <bob@example.com>' \
    'Subject: signed on the way' 'Date: Thu, 03 Dec 2026 06:00:00 +0000' \
    'Message-ID: <pf-signed@example.org>' '' '.a dot line' 'From the start' \
    'Grüße, trailing blanks:   ' >"$T/plain.eml"

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.pem" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$T/ed.pem" 2>/dev/null
mime-dkim --print-dns-record --domain example.org --selector r --key "$T/rsa.pem" \
    --selector e --key "$T/ed.pem" >"$T/dns.txt"
mime-dkim --domain example.org --selector r --key "$T/rsa.pem" \
    --selector e --key "$T/ed.pem" <"$T/plain.eml" >"$MSG"
run smtp-send --server "localhost:$PFPORT" --ca-file "$CERTS/ca.crt" -v <"$MSG"
code "Postfix accepts a DKIM-signed message" 0
held "$T/dkim-held.eml"
is "DKIM through Postfix: both signatures pass mime-dkim --verify" \
    "$(mime-dkim --verify --dns-txt "$T/dns.txt" "$T/dkim-held.eml" | cut -c1-4 | tr '\n' ' ')" "pass pass "
ok "DKIM through Postfix: dkimpy passes them" \
    "$PY" "$SRCDIR/tests/cli/dkim-verify.py" "$T/dns.txt" <"$T/dkim-held.eml"

GH=$(mktemp -d /tmp/mpf.XXXXXX)
chmod 700 "$GH"
gpg --homedir "$GH" --batch --quiet --no-tty --passphrase '' \
    --quick-gen-key 'Ann <ann@example.org>' rsa2048 sign,encrypt never 2>/dev/null
GNUPGHOME=$GH mime-sign <"$T/plain.eml" >"$MSG"
run smtp-send --server "localhost:$PFPORT" --ca-file "$CERTS/ca.crt" -v <"$MSG"
code "Postfix accepts a PGP/MIME-signed message" 0
held "$T/pgp-held.eml"
ok "PGP/MIME through Postfix: mime-verify says good" \
    sh -c "GNUPGHOME='$GH' mime-verify <'$T/pgp-held.eml' | grep -q '^good '"
mkdir -p "$T/split"
"$PY" "$SRCDIR/tests/cli/cryptocheck.py" split "$T/pgp-held.eml" "$T/split" >/dev/null
ok "PGP/MIME through Postfix: gpg --verify on the part and signature as held" \
    gpg --homedir "$GH" --batch --quiet --no-tty --verify "$T/split/sig" "$T/split/signed"
gpgconf --homedir "$GH" --kill all 2>/dev/null
rm -rf "$GH"
