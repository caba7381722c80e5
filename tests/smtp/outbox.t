#!/bin/bash
# smtp-send's outbox (a temporary failure kept, flushed exactly once,
# concurrent flushes, permanent failures never queued) and batches (many
# messages over one connection, RSET between failures, --jobs).
. "$SRCDIR/tests/smtp/lib.sh"
plan 76
start_server

own_home
OB=$T/outbox
SRV_ARGS=(--server "localhost:$PORT" --ca-file "$CERTS/ca.crt" --timeout 5)

# wait for N connections to end (the server prints "done N" for each)
wait_conns() {
    for _i in $(seq "$1"); do
        read -r -t 20 _ev <&"${SRV[0]}" || { echo "# a connection did not end"; return 1; }
    done
}
logged_in() { grep -Eq -- "$2" "$1"; }
connections() { ls "$SD"/*.log 2>/dev/null | wc -l; }
stored() { find "$OB/new" "$OB/cur" -type f 2>/dev/null | wc -l; }
# how many times the server received message SUBJECT
received() { cat "$SD"/*.data 2>/dev/null | grep -c "^Subject: $1"$'\r'"\$"; }

mkmsg() { # FILE SUBJECT [TO]
    printf '%s\n' 'From: Ann <ann@example.org>' "To: ${3:-bob@example.com}" \
        "Subject: $2" '' "Body of $2." '.' 'after a dot' >"$1"
}

# a temporary failure goes to the outbox
mkmsg "$MSG" kept-1
scenario '{"reply": {"RCPT": "451 4.3.0 try later\r\n"}}'
run smtp-send "${SRV_ARGS[@]}" --outbox "$OB" <"$MSG"
wait_conns 1
code "temporary failure with --outbox" 75
ok "temporary failure: says it was stored" grep -qF "451 4.3.0 try later" "$T/err"
ok "temporary failure: says where" grep -qF "stored in $OB/new/" "$T/err"
is "temporary failure: one message in the outbox" "$(stored)" 1
f=$(find "$OB/new" -type f)
is "the stored file is private" "$(stat -c %a "$f")" 600
ok "the envelope is stored with it" grep -qx 'X-Mimepipe-To: <bob@example.com>' "$f"
is "nothing left in tmp/" "$(find "$OB/tmp" -type f | wc -l)" 0
is "not delivered yet" "$(received kept-1)" 0

# the server is down: a refused connection is temporary too
mkmsg "$MSG" kept-2 'carl@example.com, Dee <dee@example.com>'
sed -i '1a Bcc: hidden@example.com' "$MSG"
run smtp-send --server "localhost:1" --tls off --outbox "$OB" <"$MSG"
code "connection refused with --outbox" 75
is "connection refused: stored" "$(stored)" 2
f=$(grep -l 'Subject: kept-2' "$OB"/new/*)
ok "stored without its Bcc field" not grep -q '^Bcc:' "$f"
ok "the Bcc recipient kept in the envelope" grep -qx 'X-Mimepipe-To: <hidden@example.com>' "$f"

# flush: delivered once, oldest first, outbox empty
scenario '{}'
run smtp-send "${SRV_ARGS[@]}" --outbox "$OB" --flush
wait_conns 1
code "flush" 0
is "flush: the first message delivered once" "$(received kept-1)" 1
is "flush: the second message delivered once" "$(received kept-2)" 1
is "flush: outbox empty" "$(stored)" 0
ok "flush: a report line per message" test "$(grep -c ': sent to ' "$T/err")" = 2
last=$(ls -t "$SD"/*.log | head -1)
is "flush: oldest first" "$(grep -m1 '^C: RCPT' "$last")" 'C: RCPT TO:<bob@example.com>'
ok "flush: both recipients of the second, from the stored envelope" \
    grep -q '^C: RCPT TO:<dee@example.com>' "$last"
ok "flush: the Bcc recipient too" grep -q '^C: RCPT TO:<hidden@example.com>' "$last"
ok "flush: the message bytes unchanged (dot stuffed on the wire)" \
    grep -q "^\\.\\."$'\r'"\$" "$SD"/*.data
n=$(connections)
run smtp-send "${SRV_ARGS[@]}" --outbox "$OB" --flush
code "a second flush" 0
is "a second flush sends nothing (no connection)" "$(connections)" "$n"
is "a second flush: still delivered once" "$(received kept-1)" 1

# the outbox from the account, through a 421 greeting
cat >"$T/config" <<EOF
[account default]
host = localhost
port = $PORT
ca-file = $CERTS/ca.crt
from = ann@example.org
outbox = $OB
EOF
export MIMEPIPE_CONFIG=$T/config
mkmsg "$MSG" kept-3
scenario '{"reply": {"GREETING": "421 4.3.2 busy\r\n"}}'
run smtp-send <"$MSG"
wait_conns 1
code "421 at the greeting, outbox= of the account" 75
is "421: stored" "$(stored)" 1
scenario '{}'
run smtp-send --flush
wait_conns 1
code "flush through the account" 0
is "flush through the account: delivered once" "$(received kept-3)" 1
is "flush through the account: outbox empty" "$(stored)" 0

# a password helper that says "try later" (exit 75): kept too
cat >>"$T/config" <<EOF
[account oauth]
host = localhost
port = $PORT
ca-file = $CERTS/ca.crt
user = ann
auth = XOAUTH2
password-command = echo 'token server unreachable' >&2; exit 75
outbox = $OB
EOF
n=$(connections)
run smtp-send --account oauth <"$MSG"
code "a token helper exiting 75" 75
ok "a token helper exiting 75: its stderr reported" grep -qF 'token server unreachable' "$T/err"
is "a token helper exiting 75: stored, nothing connected" "$(stored) $(connections)" "1 $n"
# the account is gone from the file: the message stays for later
sed -i '/^\[account oauth\]/,$d' "$T/config"
run smtp-send --flush
code "flush, the stored account no longer configured" 78
ok "flush: the missing account named" grep -qF 'no [account oauth]' "$T/err"
is "flush: the message kept" "$(stored)" 1
rm -f "$OB"/new/*

# a permanent failure is never queued
mkmsg "$MSG" refused-1
scenario '{"reply": {"RCPT": "550 5.1.1 no such user\r\n"}}'
run smtp-send <"$MSG"
wait_conns 1
code "permanent failure with an outbox" 67
is "permanent failure: not stored" "$(stored)" 0
ok "permanent failure: not said to be stored" not grep -q 'stored' "$T/err"
scenario '{"reply": {"DATA": "554 5.7.1 no\r\n"}}'
run smtp-send <"$MSG"
wait_conns 1
code "554 at DATA" 69
is "554 at DATA: not stored" "$(stored)" 0

# two concurrent flushes: each message goes out once
for i in 1 2 3 4 5 6; do
    mkmsg "$T/c$i.eml" "concurrent-$i"
done
scenario '{"reply": {"MAIL": "452 4.3.1 full\r\n"}}'
run smtp-send "$T"/c[1-6].eml
wait_conns 1
code "a batch that meets a temporary failure" 75
is "the whole batch is stored" "$(stored)" 6
scenario '{"reply": {"DATA": "SLOW:354 go ahead\r\n"}}'
smtp-send --flush 2>"$T/f1" & p1=$!
smtp-send --flush 2>"$T/f2" & p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
is "concurrent flushes: both succeed" "$r1 $r2" "0 0"
total=0
for i in 1 2 3 4 5 6; do total=$((total + $(received "concurrent-$i"))); done
is "concurrent flushes: six messages, each delivered once" "$total" 6
is "concurrent flushes: outbox empty" "$(stored)" 0
is "concurrent flushes: one report line per message in all" \
    "$(cat "$T/f1" "$T/f2" | grep -c ': sent to ')" 6
# the flush that waited found nothing and did not connect
wait_conns 1

# a stored message refused for good is set aside, not retried
mkmsg "$MSG" aside-1
scenario '{"reply": {"RCPT": "451 4.3.0 later\r\n"}}'
run smtp-send <"$MSG"
wait_conns 1
scenario '{"reply": {"RCPT": "550 5.1.1 gone\r\n"}}'
run smtp-send --flush
wait_conns 1
code "flush meets a permanent refusal" 67
is "set aside: out of the queue" "$(stored)" 0
is "set aside: kept in failed/" "$(find "$OB/failed" -type f | wc -l)" 1
ok "set aside: the report says where" grep -qF "set aside in $OB/failed/" "$T/err"

# --allow-partial: a recipient refused for now (4xx) is kept, alone, for
# the next flush; the accepted one gets the message once
only_for() { # SUBJECT ADDRESS: the outbox holds SUBJECT for ADDRESS only
    _f=$(grep -l "^Subject: $1\$" "$OB"/new/* 2>/dev/null)
    [ "$(echo "$_f" | wc -w)" = 1 ] &&
        [ "$(grep '^X-Mimepipe-To:' "$_f")" = "X-Mimepipe-To: <$2>" ]
}
mkmsg "$MSG" partial-1 'bob@example.com, eve@example.com'
scenario '{"reply": {"RCPT:eve@example.com": "450 4.2.1 busy\r\n"}}'
run smtp-send "${SRV_ARGS[@]}" --allow-partial <"$MSG"
wait_conns 1
code "--allow-partial, one recipient refused for now: kept" 75
is "--allow-partial: the accepted one got it" "$(received partial-1)" 1
ok "--allow-partial: kept for the refused one only" only_for partial-1 eve@example.com
scenario '{}'
run smtp-send --flush
wait_conns 1
is "--allow-partial: the flush sends it to the other, once" "$(received partial-1) $(stored)" "2 0"

mkmsg "$MSG" partial-2 'bob@example.com, eve@example.com'
scenario '{"reply": {"MAIL": "451 4.3.0 later\r\n"}}'
run smtp-send "${SRV_ARGS[@]}" --allow-partial <"$MSG"
wait_conns 1
scenario '{"reply": {"RCPT:eve@example.com": "450 4.2.1 busy\r\n"}}'
run smtp-send --flush
wait_conns 1
code "a flush, one recipient refused for now" 0
is "a flush, one refused for now: the accepted one got it" "$(received partial-2)" 1
ok "a flush, one refused for now: kept for it only" only_for partial-2 eve@example.com
scenario '{}'
run smtp-send --flush
wait_conns 1
code "the next flush" 0
is "the next flush: each got it once, outbox empty" "$(received partial-2) $(stored)" "2 0"

# batches: many messages, one connection
export MIMEPIPE_CONFIG=$T/empty-config
scenario '{}'
files=()
for i in $(seq 1 30); do
    mkmsg "$T/b$i.eml" "batch-$i"
    files+=("$T/b$i.eml")
done
n=$(connections)
run smtp-send "${SRV_ARGS[@]}" "${files[@]}"
wait_conns 1
code "a batch of 30 files" 0
is "a batch: one connection" "$(connections)" "$((n + 1))"
last=$(ls -t "$SD"/*.log | head -1)
is "a batch: 30 transactions in it" "$(grep -c '^C: MAIL FROM' "$last")" 30
is "a batch: a report line per message" "$(grep -c ': sent to 1 recipient$' "$T/err")" 30
total=0
for i in $(seq 1 30); do total=$((total + $(received "batch-$i"))); done
is "a batch: every message delivered once" "$total" 30

# a failure in the middle: RSET, the others still go, worst status
mkmsg "$T/b5.eml" batch-bad eve@example.com
scenario '{"reply": {"RCPT:eve@example.com": "550 5.1.1 <eve@example.com>: unknown\r\n"}}'
run smtp-send "${SRV_ARGS[@]}" "$T"/b[1-9].eml
wait_conns 1
code "a batch with one refused message: the worst status" 67
last=$(ls -t "$SD"/*.log | head -1)
ok "a batch: RSET after the refused one" logged_in "$last" '^C: RSET'
is "a batch: the other eight sent" "$(grep -c ': sent to ' "$T/err")" 8
ok "a batch: the refused one reported by name" grep -qF "$T/b5.eml: " "$T/err"
run smtp-send "${SRV_ARGS[@]}" "$T/b1.eml" "$T/missing.eml"
wait_conns 1
code "a batch with a missing file" 66
ok "a batch with a missing file: the other sent" grep -qF "$T/b1.eml: sent" "$T/err"
is "a batch with a missing file: named once, on one line" \
    "$(grep -F missing.eml "$T/err")" \
    "smtp-send: $T/missing.eml: No such file or directory"

# stdin already partly read (the outbox reads its files the same way)
printf '%s\n' 'junk line' 'From: a@x.example' 'To: b@x.example' 'Subject: s' '' 'body line' >"$T/off.eml"
(read -r _; smtp-send --dry-run) <"$T/off.eml" >"$T/off.out"
is "stdin read from an offset: the body intact" "$(tail -2 "$T/off.out" | head -1 | tr -d '\r')" 'body line'

# --jobs: spread over connections
scenario '{}'
n=$(connections)
run smtp-send "${SRV_ARGS[@]}" --jobs 3 "${files[@]}"
wait_conns 3
code "--jobs 3" 0
is "--jobs 3: three connections" "$(connections)" "$((n + 3))"
is "--jobs 3: a report line per message" "$(grep -c ': sent to ' "$T/err")" 30
run smtp-send "${SRV_ARGS[@]}" --jobs 0 "${files[@]}"
code "--jobs 0 refused" 64

done_testing
