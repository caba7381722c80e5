#!/bin/bash
# Connecting to an address (--server 127.0.0.1) needs no name lookup: it
# is made directly under the socket timeout, without the main loop and
# the worker thread a host name's bounded lookup takes (issue 21); its
# outcomes are a name's.
. "$SRCDIR/tests/smtp/lib.sh"
plan 7
start_server
printf '%s\n' "$STD_MSG" | message
own_home

scenario '{}'
run smtp-send --server "smtp://127.0.0.1:$PORT" --tls=off --timeout 5 <"$MSG"
read -r -t 20 _ev <&"${SRV[0]}" && DATA=$SD/${_ev#done }.data
code "an address: sent" 0
ok "an address: the message arrived" grep -q '^Hello\.' "$DATA"

if command -v strace >/dev/null && strace -qq -o /dev/null true 2>/dev/null; then
    scenario '{}'
    env "$NO_LSAN" strace -f -qq -e trace=clone,clone3 -o "$T/threads" \
        smtp-send --server "smtp://127.0.0.1:$PORT" --tls=off --timeout 5 <"$MSG" >/dev/null 2>&1
    read -r -t 20 _ev <&"${SRV[0]}"
    # (threads only: LeakSanitizer clones a tracer at exit)
    is "an address: no thread started" "$(grep -c CLONE_THREAD "$T/threads")" 0
else
    skip "an address: no thread started" "strace cannot run here"
fi

# a port bound and not listening, held until this script closes HOLD:
# refused at once
mkfifo "$T/hold" "$T/hold.port"
("$PY" -c 'import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
sys.stdin.read()' <"$T/hold" >"$T/hold.port" &)
exec {HOLD}>"$T/hold"
read -r -t 10 CLOSED <"$T/hold.port"
run smtp-send --server "smtp://127.0.0.1:$CLOSED" --tls=off --timeout 5 <"$MSG"
code "an address that refuses: temporary" 75
ok "an address that refuses: says so, one line" \
    sh -c "grep -q 'refused' '$T/err' && test \$(wc -l <'$T/err') = 1"

# with an outbox, kept for later like any temporary failure
mkdir -m 700 "$T/outbox"
run smtp-send --server "smtp://127.0.0.1:$CLOSED" --tls=off --timeout 5 \
    --outbox "$T/outbox" <"$MSG"
code "an address that refuses, with an outbox" 75
exec {HOLD}>&-
is "... the message is kept" "$(find "$T/outbox/new" -type f | wc -l)" 1
done_testing
