#!/bin/bash
# demo-send.sh [--implicit] [SMTP-SEND-OPTION...] < message
#
# Sends the message on stdin with smtp-send (from PATH) to a local
# aiosmtpd server started for the occasion (tests/smtp/demo-server.py:
# loopback, a port the kernel picks, a certificate made now, STARTTLS or
# implicit TLS, the login demo/demo), then prints what the server received:
# the envelope, then the message.  Exits with smtp-send's status.
set -u
here=$(dirname "$0")
tls=starttls
if [ "${1:-}" = --implicit ]; then
    tls=implicit
    shift
fi
d=$(mktemp -d "${TMPDIR:-/tmp}/mimepipe-demo.XXXXXX")
trap 'rm -rf "$d"' EXIT
mkfifo "$d/port"
/usr/bin/python3 "$here/demo-server.py" "$d/spool" --user demo --password demo \
    --count 1 $([ "$tls" = implicit ] && echo --implicit) >"$d/port" &
server=$!
read -r port <"$d/port"
MIMEPIPE_PASSWORD=demo smtp-send --server "localhost:$port" --tls="$tls" \
    --ca-file "$d/spool/cert.pem" --user demo "$@"
rc=$?
if [ "$rc" = 0 ]; then
    wait "$server"
    echo "--- the server received (--tls=$tls, login demo):"
    cat "$d/spool/1.envelope"
    tr -d '\r' <"$d/spool/1.eml"
else
    kill "$server" 2>/dev/null
    wait "$server" 2>/dev/null
fi
exit "$rc"
