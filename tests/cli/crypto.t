#!/bin/bash
# mime-sign, mime-encrypt, mime-verify, mime-decrypt (issue 17): every
# signature checked by gpg or openssl, every encryption opened by them.
. "$SRCDIR/tests/cli/lib.sh"
CC() { "$PY" "$SRCDIR/tests/cli/cryptocheck.py" "$@"; }
cd "$T" || exit 1

# a short GnuPG home (sockets have a path limit); its agent dies with us
GH=$(mktemp -d /tmp/mpg.XXXXXX)
export GNUPGHOME=$GH
cleanup() {
    gpgconf --homedir "$GH" --kill all 2>/dev/null
    rm -rf "$GH" "$T"
}
trap cleanup EXIT
chmod 700 "$GH"
echo allow-loopback-pinentry >"$GH/gpg-agent.conf"
echo disable-crl-checks >"$GH/gpgsm.conf"
GPG() { gpg --batch --quiet --no-tty "$@"; }

plan 74

# ---- keys, made now ---------------------------------------------------------
GPG --passphrase '' --quick-gen-key 'Ann <ann@example.org>' rsa2048 sign,encrypt never
GPG --passphrase '' --quick-gen-key 'Bob <bob@example.com>' rsa2048 sign,encrypt never
GPG --pinentry-mode loopback --passphrase 'secret words' \
    --quick-gen-key 'Carol <carol@example.net>' rsa2048 sign,encrypt never
fpr() { GPG --with-colons --list-keys "<$1>" | awk -F: '/^fpr/ {print $10; exit}'; }
keyid() { fpr "$1" | cut -c25-; }
ANN=$(fpr ann@example.org)
# S/MIME: a certificate made by openssl, imported into gpgsm and trusted
openssl req -x509 -newkey rsa:2048 -nodes -keyout smime.key -out smime.crt \
    -days 3650 -subj '/CN=Ann/emailAddress=ann@example.org' \
    -addext 'subjectAltName=email:ann@example.org' \
    -addext 'keyUsage=digitalSignature,keyEncipherment' \
    -addext 'extendedKeyUsage=emailProtection' 2>/dev/null
gpgsm_import smime.crt smime.key ann@example.org
printf 'secret words\n' >pass.txt

# ---- inputs -------------------------------------------------------------------
cat >plain.eml <<'EOF2'
From: Ann <ann@example.org>
To: Bob <bob@example.com>
Subject: =?UTF-8?Q?Quarterly_report_=E5=AD=A3=E5=BA=A6?=
Date: Tue, 14 Nov 2023 22:13:20 +0000
Message-ID: <plain.1@example.org>
X-Folded: one
  two
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Grüße, Bob.
From here on, trailing blanks:   
EOF2
sed 's/$/\r/' plain.eml >crlf.eml
# the header fields other than Content-*, as they came
sed -n '1,/^$/p' plain.eml | sed '/^Content-/,$d' >outer.want

# ---- mime-sign, PGP/MIME ------------------------------------------------------
run mime-sign <plain.eml
cp "$T/out" signed.eml
is "sign: exit 0" "$rc" 0
ok "sign: no defects for Python's email" pycheck defects <signed.eml
mkdir -p s1 && params=$(CC split signed.eml s1)
ok "sign: micalg and protocol (RFC 3156 5)" \
    grep -Eq '^pgp-sha(256|384|512) application/pgp-signature$' <<<"$params"
ok "sign: gpg --verify on the extracted part and signature" \
    GPG --verify s1/sig s1/signed
ok "sign: 8bit text became quoted-printable, trailing blanks and From encoded" \
    bash -c '! LC_ALL=C grep -q "[^ -~]" signed.eml && grep -q "^Content-Transfer-Encoding: quoted-printable" s1/signed && ! grep -q " \r\$" s1/signed && grep -q "^=46rom here" s1/signed'
is "sign: untouched header fields stay byte-identical" \
    "$(sed -n '1,/^Content-Type/p' signed.eml | sed '/^MIME-Version/q')" \
    "$(sed '/^MIME-Version/q' outer.want)"
run mime-verify <signed.eml
is "verify: exit 0 for a good signature" "$rc" 0
ok "verify: one line: good, signer, fingerprint, validity, time" \
    grep -Eq "^good ann@example.org $ANN (ultimate|full) 20[0-9-]+T[0-9:]+Z\$" "$T/out"

# one byte changed in the signed part
sed 's/^Gr=C3=BC=C3=9Fe, Bob/Gr=C3=BC=C3=9Fe, Rob/' signed.eml >tampered.eml
run mime-verify <tampered.eml
is "verify: one byte changed: exit 1" "$rc" 1
ok "verify: one byte changed: reported bad" grep -q '^bad ' "$T/out"
run mime-verify <plain.eml
is "verify: no signature: exit 1" "$rc" 1
printf 'Content-Type: multipart/signed; boundary=b; protocol="application/pgp-signature"\n\n--b\n\nx\n--b--\n' >one-part.eml
refused "verify: a multipart/signed of one part is malformed (65)" 65 "1 parts" \
    mime-verify <one-part.eml

run mime-sign <crlf.eml
cp "$T/out" signed-crlf.eml
is "sign: CRLF input gives CRLF output" \
    "$("$PY" "$SRCDIR/tests/cli/mimecheck.py" eol signed-crlf.eml)" crlf
mkdir -p s2 && CC split signed-crlf.eml s2 >/dev/null
ok "sign: CRLF input: gpg --verify" GPG --verify s2/sig s2/signed

# keys with a passphrase, given three ways but never on argv
run mime-sign --local-user carol@example.net --passphrase-file pass.txt <plain.eml
cp "$T/out" carol.eml
is "sign --local-user --passphrase-file: exit 0" "$rc" 0
mkdir -p s3 && CC split carol.eml s3 >/dev/null
ok "sign --local-user: gpg finds Carol's signature" \
    bash -c 'gpg --batch --status-fd 1 --verify s3/sig s3/signed 2>/dev/null | grep -q "GOODSIG.*carol@example.net"'
run mime-sign --local-user carol@example.net --passphrase-fd 3 <plain.eml 3<pass.txt
is "sign --passphrase-fd: exit 0" "$rc" 0
printf 'wrong\n' >wrong.txt
gpgconf --reload gpg-agent # forget the cached passphrase
refused "sign: a wrong passphrase is refused (77), nothing written" 77 "carol@example.net" \
    mime-sign --local-user carol@example.net --passphrase-file wrong.txt <plain.eml
sed 's/^From: Ann <ann@example.org>/From: Dave <dave@example.org>/' plain.eml >dave.eml
refused "sign: no secret key for the From address (65) names it" 65 "dave@example.org" \
    mime-sign <dave.eml

# ---- mime-encrypt, PGP/MIME ---------------------------------------------------
run mime-encrypt <plain.eml
cp "$T/out" enc.eml
is "encrypt: exit 0" "$rc" 0
ok "encrypt: no defects for Python's email" pycheck defects <enc.eml
CC payload enc.eml enc.asc
ok "encrypt: gpg decrypts it to the message's body" \
    bash -c 'gpg --batch --decrypt enc.asc 2>/dev/null | grep -q "^Gr=C3=BC=C3=9Fe, Bob."'
ok "encrypt: for Bob and, by default, for the sender" \
    bash -c "gpg --batch --list-packets enc.asc 2>&1 | grep -q 'keyid $(keyid bob@example.com)' && gpg --batch --list-packets enc.asc 2>&1 | grep -q 'keyid $(keyid ann@example.org)'"
mime-encrypt --no-encrypt-to-self <plain.eml >noself.eml
CC payload noself.eml noself.asc
ok "encrypt --no-encrypt-to-self: not for the sender" \
    bash -c "! gpg --batch --list-packets noself.asc 2>&1 | grep -q 'keyid $(keyid ann@example.org)'"
sed 's/^To: Bob <bob@example.com>/To: Bob <bob@example.com>, eve@example.com/' plain.eml >eve.eml
refused "encrypt: a recipient without a key is refused (65), named" 65 "eve@example.com" \
    mime-encrypt <eve.eml
mime-encrypt --hidden-recipient carol@example.net <plain.eml >hidden.eml
CC payload hidden.eml hidden.asc
ok "encrypt --hidden-recipient: a key ID of zeros, the others named" \
    bash -c "gpg --batch --list-packets hidden.asc 2>&1 | grep -q 'keyid 0000000000000000' && ! gpg --batch --list-packets hidden.asc 2>&1 | grep -q 'keyid $(keyid carol@example.net)'"
sed 's/^To: Bob <bob@example.com>/To: Bob <bob@example.com>\nBcc: carol@example.net/' plain.eml >bcc.eml
mime-encrypt <bcc.eml >bcc-enc.eml
CC payload bcc-enc.eml bcc.asc
ok "encrypt: a Bcc recipient is hidden" \
    bash -c "gpg --batch --list-packets bcc.asc 2>&1 | grep -q 'keyid 0000000000000000'"
run mime-decrypt <enc.eml
ok "decrypt: the message comes back (headers and body)" \
    bash -c "grep -q '^Subject: =?UTF-8?Q?Quarterly' '$T/out' && grep -q '^Gr=C3=BC=C3=9Fe, Bob.' '$T/out' && $PY '$SRCDIR/tests/pycheck.py' defects <'$T/out'"

mime-encrypt --sign <plain.eml >signenc.eml
run mime-verify <signenc.eml
is "encrypt --sign: mime-verify finds a good signature" "$(cut -d' ' -f1-2 "$T/out")" "good ann@example.org"
CC payload signenc.eml signenc.asc
ok "encrypt --sign: gpg decrypts and verifies" \
    bash -c 'gpg --batch --status-fd 1 --decrypt signenc.asc 2>/dev/null | grep -q GOODSIG'

mime-encrypt --protect-headers <plain.eml >prot.eml
ok "encrypt --protect-headers: outer Subject is [...] (RFC 9788)" \
    grep -qx 'Subject: \[...\]' prot.eml
run mime-decrypt <prot.eml
ok "decrypt: the protected Subject is restored" \
    bash -c "grep -q '^Subject: =?UTF-8?Q?Quarterly' '$T/out' && ! grep -q 'Subject: \\[' '$T/out'"

# RFC 9788 2.2: inside, HP-Outer records the outer header as sent
printf 'From: Ann <ann@example.org>\nTo: Bob <bob@example.com>\nBcc: carol@example.net\nSubject: Secret plans\nX-Folded: one\n  two\nDate: Tue, 14 Nov 2023 22:13:20 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\nHi Bob.\n' >hp.eml
mime-encrypt --protect-headers <hp.eml >hp-enc.eml
CC payload hp-enc.eml hp.asc
GPG --decrypt hp.asc >hp.inner 2>/dev/null
is "encrypt --protect-headers: HP-Outer fields are the outer header as sent, Bcc not among them (RFC 9788 2.2)" \
    "$(CC hpouter hp-enc.eml hp.inner 2>&1)" "Secret plans"
run mime-decrypt <hp-enc.eml
ok "decrypt: the protected values shown, HP-Outer not" \
    bash -c "grep -qx 'Subject: Secret plans' '$T/out' && ! grep -q '^HP-Outer' '$T/out' && grep -qx 'Hi Bob.' '$T/out'"
mime-sign --protect-headers <hp.eml >hp-s.eml
mkdir -p s8 && CC split hp-s.eml s8 >/dev/null
ok "sign --protect-headers: no HP-Outer (the outer header is the inner one), the body as it was, gpg verifies" \
    bash -c "! grep -q '^HP-Outer' s8/signed && [ \"\$(sed -n '/^\r\$/{n;p;q}' s8/signed | tr -d '\r')\" = 'Hi Bob.' ] && gpg --batch --verify s8/sig s8/signed 2>/dev/null"
mime-sign --protect-headers <plain.eml >ph.eml
mkdir -p s7 && CC split ph.eml s7 >/dev/null
ok "sign --protect-headers: the signed part carries the header fields (RFC 9788)" \
    bash -c "grep -q '^Subject: =?UTF-8?Q?Quarterly' s7/signed && grep -q 'protected-headers=\"\\?v1' s7/signed && gpg --batch --verify s7/sig s7/signed"
mime-sign --autocrypt <plain.eml >ac.eml
ok "sign --autocrypt: the Autocrypt keydata is Ann's key" \
    bash -c "$PY -c 'import email,email.policy,sys,base64; m=email.message_from_binary_file(open(\"ac.eml\",\"rb\"),policy=email.policy.compat32); v=\"\".join(m[\"Autocrypt\"].split()); sys.stdout.buffer.write(base64.b64decode(v.split(\"keydata=\")[1]))' | gpg --batch --with-colons --show-keys 2>/dev/null | grep -q $ANN"

# ---- S/MIME ---------------------------------------------------------------------
run mime-sign --smime <plain.eml
cp "$T/out" smime.eml
mkdir -p s4 && params=$(CC split smime.eml s4)
is "sign --smime: micalg and protocol (RFC 8551 3.5)" "$params" "sha-256 application/pkcs7-signature"
ok "sign --smime: the signature is smime.p7s" grep -q 'name="smime.p7s"' smime.eml
ok "sign --smime: openssl cms -verify" \
    openssl cms -verify -binary -inform DER -in s4/sig -content s4/signed \
    -CAfile smime.crt -purpose any -out /dev/null
run mime-verify <smime.eml
is "verify --smime signature: good" "$(cut -d' ' -f1-2 "$T/out")" "good ann@example.org"
refused "sign --smime --passphrase-file: refused (64), gpgsm asks the agent" 64 \
    "--passphrase-file" mime-sign --smime --passphrase-file pass.txt <plain.eml
mime-encrypt --smime --recipient ann@example.org <plain.eml >smime-enc.eml
CC payload smime-enc.eml smime.p7m
ok "encrypt --smime: openssl cms -decrypt opens it" \
    bash -c 'openssl cms -decrypt -inform DER -in smime.p7m -recip smime.crt -inkey smime.key | grep -q "^Gr=C3=BC=C3=9Fe, Bob."'
run mime-decrypt <smime-enc.eml
ok "decrypt --smime: the message comes back" grep -q '^Gr=C3=BC=C3=9Fe, Bob.' "$T/out"
mime-encrypt --smime --sign --recipient ann@example.org <plain.eml >smime-se.eml
run mime-verify <smime-se.eml
is "encrypt --smime --sign: signed then encrypted, verifies" "$rc $(cut -d' ' -f1 "$T/out")" "0 good"

# opaque S/MIME signed-data (RFC 8551 3.5.2), made by openssl
printf 'Content-Type: text/plain; charset=us-ascii\n\nHello Bob, opaque.\n' >opaque.txt
openssl cms -sign -nodetach -signer smime.crt -inkey smime.key -in opaque.txt \
    -from 'Ann <ann@example.org>' -to bob@example.com -subject Opaque -out opaque.eml
run mime-verify <opaque.eml
ok "verify: opaque signed-data by openssl: exit 0, one good line" \
    bash -c "[ $rc = 0 ] && [ \$(wc -l <'$T/out') = 1 ] && grep -Eq '^good ann@example.org [0-9A-F]{40} (full|ultimate) 20[0-9-]+T[0-9:]+Z\$' '$T/out'"
run mime-decrypt <opaque.eml
ok "decrypt: opaque signed-data unwrapped: the header fields and the entity, no defects" \
    bash -c "[ $rc = 0 ] && grep -qx 'Subject: Opaque' '$T/out' && grep -qx 'Hello Bob, opaque.' '$T/out' && ! grep -qi pkcs7 '$T/out' && $PY '$SRCDIR/tests/pycheck.py' defects <'$T/out'"
"$PY" -c 'import base64,sys
raw=open("opaque.eml","rb").read(); head,_,body=raw.partition(b"\n\n")
der=base64.b64decode(body); assert der.count(b"Hello Bob")==1
sys.stdout.buffer.write(head+b"\n\n"+base64.encodebytes(der.replace(b"Hello Bob",b"Hello Rob")))' >opaque-t.eml
run mime-verify <opaque-t.eml
is "verify: opaque signed-data with one byte changed: exit 1, bad" "$rc $(cut -d' ' -f1 "$T/out")" "1 bad"
refused "decrypt: changed opaque signed-data is not unwrapped (65)" 65 "is bad" \
    mime-decrypt <opaque-t.eml

# ---- the README's jobs end in | mime-sign or | mime-encrypt -------------------
printf '<p>Hello <img src="logo.png"></p>\n' >note.html
printf '\x89PNG\r\n\x1a\n' >logo.png
head -c 300000 /dev/urandom >data.bin
job() {
    mime-compose --from 'Ann <ann@example.org>' --to bob@example.com \
        --subject 'Quarterly report 季度报告' <<<'Hello Bob.' |
        mime-inline --html note.html | mime-attach data.bin --message plain.eml
}
jobs_ok=0
job | mime-sign >job-s.eml && mkdir -p s5 && CC split job-s.eml s5 >/dev/null &&
    GPG --verify s5/sig s5/signed && jobs_ok=$((jobs_ok + 1))
job | mime-sign --smime >job-ss.eml && mkdir -p s6 && CC split job-ss.eml s6 >/dev/null &&
    openssl cms -verify -binary -inform DER -in s6/sig -content s6/signed \
        -CAfile smime.crt -purpose any -out /dev/null 2>/dev/null && jobs_ok=$((jobs_ok + 1))
job | mime-encrypt >job-e.eml && CC payload job-e.eml job-e.asc &&
    gpg --batch --decrypt job-e.asc 2>/dev/null | grep -q '^Content-Type: multipart/mixed' &&
    jobs_ok=$((jobs_ok + 1))
is "README job 5 (text, HTML, image, file, forward) signed and encrypted: gpg and openssl agree" "$jobs_ok" 3

# ---- bounded memory: an 80 MB file signed in far less (issue 17: 64 MB) -----
head -c 80000000 /dev/urandom >big.bin
mime-attach big.bin <plain.eml >big.eml
rss=$(/usr/bin/time -f %M mime-sign <big.eml 2>&1 >big-signed.eml)
ok "sign: an 80 MB attachment signed in under 64 MB of memory ($rss kB)" \
    test "$rss" -lt 65536
ok "sign: the 80 MB message verifies" \
    bash -c 'mime-verify <big-signed.eml | grep -q "^good ann@example.org "'
rm -f big.bin big.eml big-signed.eml

# ---- the README's example block runs as written ---------------------------------
mkdir -p readme && cd readme || exit 1
cp ../pass.txt . && printf 'Hello Bob.\n' >note.txt
printf '%%PDF-1.4\n%%\342\343\317\323\n' >report.pdf
sed -n '/^<!-- crypto-example/,/^```$/p' "$SRCDIR/README.md" | sed '1,2d;$d' >example.sh
run bash -e -o pipefail example.sh
is "README: the signing and encryption examples run" "$rc" 0
ok "README: the example's outputs verify" \
    bash -c "mime-verify <signed.eml && grep -qx 'Salaries 2027' '$T/out'"
cd .. || exit 1

# ---- later stages keep a signature, or refuse (DESIGN 3) ------------------------
printf 'more data\n' >more.txt
run mime-attach more.txt <signed.eml
cp "$T/out" signed-attached.eml
ok "attach to signed: done, with a warning that the file is outside the signature" \
    bash -c "[ $rc = 0 ] && grep -q 'outside the signature' '$T/err'"
ok "attach to signed: the signature still verifies" \
    bash -c 'mime-verify <signed-attached.eml | grep -q "^good ann@example.org "'
refused "attach to encrypted: refused (65), nothing written" 65 "add parts before signing" \
    mime-attach more.txt <enc.eml
refused "inline on signed: refused (65)" 65 "add parts before signing" \
    mime-inline --html note.html <signed.eml
refused "inline on encrypted: refused (65)" 65 "add parts before signing" \
    mime-inline --html note.html <enc.eml
refused "header: a Content-Type edit of a signed message is refused (65)" 65 \
    "add parts before signing" mime-header --set 'Content-Type: text/plain' <signed.eml
refused "header: a Content-Type edit of an encrypted message is refused (65)" 65 \
    "add parts before signing" mime-header --delete Content-Type <enc.eml
mime-header --set 'X-Priority: 1' <signed.eml >prio.eml
ok "header: other edits keep the signature valid" \
    bash -c 'grep -q "^X-Priority: 1" prio.eml && mime-verify <prio.eml >/dev/null'

# options that do not go together: one check in mp-crypto for every tool
for t in mime-sign mime-encrypt mime-verify mime-decrypt; do
    refused "$t: --passphrase-file with --passphrase-fd is a usage error (64)" 64 \
        "exclude each other" $t --passphrase-file pass.txt --passphrase-fd 0 <plain.eml
done
refused "mime-sign --smime with a passphrase file (64): gpgsm asks the agent" 64 \
    "are for OpenPGP keys" mime-sign --smime --passphrase-file pass.txt <plain.eml
refused "mime-sign --smime --autocrypt (64)" 64 "--autocrypt is for OpenPGP" \
    mime-sign --smime --autocrypt <plain.eml
refused "mime-encrypt --smime --hidden-recipient (64)" 64 "--hidden-recipient is for OpenPGP" \
    mime-encrypt --smime --hidden-recipient bob@example.com <plain.eml

# what mime-encrypt and mime-decrypt refuse before or after GPG runs
refused "encrypt --smime: Bcc recipients cannot be hidden (65)" 65 \
    "S/MIME cannot hide Bcc recipients" mime-encrypt --smime <bcc.eml
refused "decrypt: a message that is not encrypted (65)" 65 \
    "the message is not encrypted" mime-decrypt <plain.eml
sed 's|protocol="application/pgp-encrypted"|protocol="application/x-other"|' enc.eml >other.eml
refused "decrypt: multipart/encrypted of another protocol (65)" 65 \
    "not a PGP/MIME encrypted message (RFC 3156 4)" mime-decrypt <other.eml
sed 's|smime-type=enveloped-data|smime-type=certs-only|' smime-enc.eml >certs.eml
refused "decrypt: S/MIME that is not enveloped-data (65)" 65 \
    "S/MIME certs-only is not encrypted" mime-decrypt <certs.eml
mime-encrypt --no-encrypt-to-self --recipient carol@example.net <plain.eml >carol.eml
GPG --yes --delete-secret-keys "$(fpr carol@example.net)"
refused "decrypt: without the secret key (65)" 65 \
    "cannot be decrypted" mime-decrypt <carol.eml
