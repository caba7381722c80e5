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

# tls_once NAME SCENARIO [SEND ARGS...]: a submission that succeeds and
# initialises GnuTLS once
tls_once() {
    local name=$1 n
    scenario "$2"
    shift 2
    LD_DEBUG=files send "$@"
    code "$name" 0
    n=$(gnutls_inits)
    if [ "$n" = 0 ]; then
        skip "$name: GnuTLS initialised once" "GIO's TLS backend is not GnuTLS here"
    else
        is "$name: GnuTLS initialised once" "$n" 1
    fi
}
tls_once "STARTTLS" '{}'
tls_once "implicit TLS" '{"tls": "implicit"}' --tls=implicit

scenario '{}'
LD_DEBUG=files run smtp-send --server "localhost:$PORT" --tls=off --timeout 5 <"$MSG"
read -r -t 20 _ev <&"${SRV[0]}"
is "--tls=off: sent, GnuTLS not loaded" "$rc:$(gnutls_inits)" "0:0"
done_testing
