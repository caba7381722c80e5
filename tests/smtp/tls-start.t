#!/bin/bash
# GIO loads its TLS module (glib-networking) to find the backend, unloads
# it and loads it again; smtp-send holds the module loaded in between, so
# that a TLS submission maps and initialises GnuTLS once (issue 21: it was
# twice, 2 ms a message); without TLS it is not loaded at all.
. "$SRCDIR/tests/smtp/lib.sh"
plan 5
start_server
printf '%s\n' "$STD_MSG" | message
own_home

# how many times GnuTLS's constructor ran (glibc's LD_DEBUG, on stderr)
gnutls_inits() { grep -c 'calling init: .*libgnutls\.so' "$T/err"; }

scenario '{}'
LD_DEBUG=files send
code "STARTTLS" 0
n=$(gnutls_inits)
if [ "$n" = 0 ]; then
    skip "STARTTLS: GnuTLS initialised once" "GIO's TLS backend is not GnuTLS here"
else
    is "STARTTLS: GnuTLS initialised once" "$n" 1
fi

scenario '{"tls": "implicit"}'
LD_DEBUG=files send --tls=implicit
code "implicit TLS" 0
n=$(gnutls_inits)
if [ "$n" = 0 ]; then
    skip "implicit TLS: GnuTLS initialised once" "GIO's TLS backend is not GnuTLS here"
else
    is "implicit TLS: GnuTLS initialised once" "$n" 1
fi

scenario '{}'
LD_DEBUG=files run smtp-send --server "localhost:$PORT" --tls=off --timeout 5 <"$MSG"
read -r -t 20 _ev <&"${SRV[0]}"
is "--tls=off: sent, GnuTLS not loaded" "$rc:$(gnutls_inits)" "0:0"
done_testing
