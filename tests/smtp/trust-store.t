#!/bin/bash
# The system's trust store is read only when it is used (issue 21: with
# --ca-file, reading it twice anyway was most of a TLS submission's CPU):
# --ca-file trusts its own CAs, a pin alone trusts its key, and neither
# opens the system's bundle; without them it is read and our test CA is
# not in it.
. "$SRCDIR/tests/smtp/lib.sh"
plan 11
start_server
printf '%s\n' "$STD_MSG" | message
own_home

pin() { openssl x509 -in "$CERTS/$1.crt" -pubkey -noout |
    openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64; }
# traced ARGS...: smtp-send ARGS to the server, the files it opened in
# $T/opened; sets rc
traced() {
    env "$NO_LSAN" strace -f -qq -e trace=openat,open -o "$T/opened" \
        smtp-send --server "localhost:$PORT" --timeout 5 "$@" <"$MSG" 2>"$T/err" >/dev/null
    rc=$?
    read -r -t 20 _ev <&"${SRV[0]}"
}
# the system's bundle or store, as GnuTLS opens it on Debian (p11-kit's
# trust module, or the PEM bundle of ca-certificates), or tries to
system_store() { grep -E '"(/etc/ssl/certs|/etc/pki|/usr/share/ca-certificates|/usr/share/pki|/usr/lib/x86_64-linux-gnu/pkcs11)' "$T/opened"; }

if ! command -v strace >/dev/null || ! strace -qq -o /dev/null true 2>/dev/null; then
    for n in $(seq 11); do skip "trust_store_$n" "strace cannot run here"; done
    exit 0
fi

scenario '{}'
traced
is "without --ca-file: our CA is unknown (76)" "$rc" 76
ok "without --ca-file: the system store is read" system_store

scenario '{}'
traced --ca-file "$CERTS/ca.crt"
code "with --ca-file: sent" 0
ok "with --ca-file: the system store is not read" not system_store
ok "with --ca-file: the CA file is read" grep -qF "\"$CERTS/ca.crt\"" "$T/opened"

scenario '{"cert": "untrusted"}'
traced --pin-sha256 "$(pin untrusted)"
code "a pin alone: the pinned key from an unknown CA is accepted" 0
ok "a pin alone: the system store is not read" not system_store

scenario '{}'
traced --pin-sha256 "$(pin untrusted)"
code "a pin alone: another key is refused" 76
ok "a pin alone, refused: says pin-sha256" grep -q 'pin-sha256' "$T/err"

# the account's ca-file is the option's
printf '[account ca]\nhost = localhost\nport = %s\nca-file = %s\nfrom = ann@example.org\n' \
    "$PORT" "$CERTS/ca.crt" >"$T/config"
chmod 600 "$T/config"
scenario '{}'
env "$NO_LSAN" strace -f -qq -e trace=openat,open -o "$T/opened" env MIMEPIPE_CONFIG="$T/config" \
    smtp-send --account ca --timeout 5 <"$MSG" 2>"$T/err" >/dev/null
rc=$?
read -r -t 20 _ev <&"${SRV[0]}"
code "an account's ca-file: sent" 0
ok "an account's ca-file: the system store is not read" not system_store
done_testing
