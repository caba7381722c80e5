# Helpers for the smtp-send scenarios (sourced after tests/cli/lib.sh).
#
#   start_server           start smtp-server.py; sets PORT
#   scenario JSON          what the server does on the next connection
#   message FILE <<EOF     write a test message
#   send ARGS...           smtp-send ARGS to the server, stdin from $MSG;
#                          waits until the server has closed the connection;
#                          sets rc, LOG (what the client sent) and DATA
#   logged PATTERN         the client sent a line matching PATTERN (ERE)
#   before_tls PATTERN     ... before TLS started
#   code NAME EXPECTED     the exit status was EXPECTED

. "$SRCDIR/tests/cli/lib.sh"

CERTS=$T/certs
SD=$T/server
mkdir -p "$SD"
sh "$SRCDIR/tests/smtp/mkcerts.sh" "$CERTS"
MSG=$T/msg.eml
SRV_PID=

cleanup() {
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

start_server() {
    echo '{}' >"$SD/scenario.json"
    coproc SRV { exec "$PY" "$SRCDIR/tests/smtp/smtp-server.py" "$SD" "$CERTS"; }
    read -r -t 10 PORT <&"${SRV[0]}" || { echo "Bail out! server did not start"; exit 1; }
}

scenario() { printf '%s\n' "$1" >"$SD/scenario.json"; }

message() { cat >"$MSG"; }

send() {
    run smtp-send --server "localhost:$PORT" --ca-file "$CERTS/ca.crt" \
        --timeout 5 "$@" <"$MSG"
    LOG=/dev/null DATA=/dev/null
    if read -r -t 20 _ev <&"${SRV[0]}"; then
        LOG=$SD/${_ev#done }.log
        DATA=$SD/${_ev#done }.data
    else
        echo "# the server saw no connection"
    fi
}

logged() { grep -Eq -- "$1" "$LOG"; }

before_tls() { sed '/^== TLS/q' "$LOG" | grep -Eq -- "$1"; }

# NAME EXPECTED: exit status and, on failure, stderr for the reader
code() {
    is "$1 (exit $2)" "$rc" "$2"
    [ "$rc" = "$2" ] || sed "s/^/# stderr: /" "$T/err" | tail -5
}

STD_MSG='From: Ann <ann@example.org>
To: Bob <bob@example.com>
Subject: test

Hello.'

# not CMD...: CMD fails (for ok)
not() { ! "$@"; }
