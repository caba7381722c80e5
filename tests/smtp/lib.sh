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
#   conn_end               after a client has exited: LOG and DATA of the
#                          connection it made, without waiting when it
#                          made none

. "$SRCDIR/tests/cli/lib.sh"

CERTS=$T/certs
SD=$T/server
mkdir -p "$SD"

# The certificates of mkcerts.sh are made once per build tree (again when
# mkcerts.sh changes, or a month before they expire) and copied for each
# script: making them took most of a short scenario's time.
certs_cached() {
    local dir="$BUILDDIR/tests/smtp-certs" src="$SRCDIR/tests/smtp/mkcerts.sh"
    mkdir -p "$BUILDDIR/tests"
    (
        # the scenarios run in parallel
        flock 9
        if ! cmp -s "$src" "$dir/mkcerts.sh" ||
            ! openssl x509 -checkend 2592000 -noout -in "$dir/good.crt" \
                >/dev/null 2>&1; then
            rm -rf "$dir" "$dir.new"
            sh "$src" "$dir.new" && cp "$src" "$dir.new/mkcerts.sh" &&
                mv "$dir.new" "$dir"
        fi
    ) 9>"$BUILDDIR/tests/smtp-certs.lock"
    cp -R "$dir" "$CERTS"
}
certs_cached
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

# A home of its own and an empty config: no settings or password of the
# user running the tests reach them.
own_home() {
    export HOME=$T/home
    mkdir -p "$HOME"
    unset MIMEPIPE_PASSWORD XDG_CONFIG_HOME
    : >"$T/empty-config"
    export MIMEPIPE_CONFIG=$T/empty-config
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

# The server creates N.log when it accepts connection N, before it sends
# a byte: a client that read the greeting and exited has left it behind,
# and a client that never connected has not (nothing to wait 20 s for).
# Events of connections read elsewhere, or that ended late, are skipped.
_conn_seen=0
conn_end() {
    local logs=("$SD"/[0-9]*.log) n=0 ev
    LOG=/dev/null DATA=/dev/null
    [ -e "${logs[0]}" ] && n=${#logs[@]}
    [ "$n" -gt "$_conn_seen" ] || return 0
    _conn_seen=$n
    while read -r -t 20 ev <&"${SRV[0]}"; do
        if [ "$ev" = "done $n" ]; then
            LOG=$SD/$n.log DATA=$SD/$n.data
            return 0
        fi
    done
    echo "# connection $n did not end"
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
