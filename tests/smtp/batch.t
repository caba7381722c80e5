#!/bin/bash
# Batches (issue 18): mime-merge's mbox stream sent with smtp-send --mbox
# over one pipelined connection, each message's recipients from its own
# header fields; --log (one JSON line per message as its final reply
# comes), --resume after a kill and after SIGTERM (every message accepted
# exactly once, as the server's received set shows), --rate,
# --reconnect-after, and a stream that is not an mbox.
. "$SRCDIR/tests/smtp/lib.sh"
plan 57
start_server

own_home
SRV_ARGS=(--server "localhost:$PORT" --ca-file "$CERTS/ca.crt" --timeout 10)
mkfifo "$SD/gate"
cd "$T" || exit 1

connections() { ls "$SD"/*.log 2>/dev/null | wc -l; }
# wait for N connections to end (the server prints "done N" for each)
wait_conns() {
    for _i in $(seq "$1"); do
        read -r -t 20 _ev <&"${SRV[0]}" || { echo "# a connection did not end"; return 1; }
    done
}
# what the server accepted (250 to the end of data), connections FIRST..:
# one line per message, "Message-ID To-address defects", in order
cat >"$T/accepted.py" <<'EOF'
import email, email.policy, glob, os, sys
d, first = sys.argv[1], int(sys.argv[2])
files = sorted(glob.glob(os.path.join(d, "*.accepted")),
               key=lambda f: int(os.path.basename(f).split(".")[0]))
for f in files:
    if int(os.path.basename(f).split(".")[0]) < first:
        continue
    msg = []
    for line in open(f, "rb").read().split(b"\r\n")[:-1]:
        if line == b".":
            m = email.message_from_bytes(b"\r\n".join(msg) + b"\r\n",
                                         policy=email.policy.default)
            defects = len(m.defects) + sum(len(p.defects) for p in m.walk())
            print(m["Message-ID"], m["To"].addresses[0].addr_spec, defects)
            msg = []
        else:
            msg.append(line[1:] if line.startswith(b".") else line)
EOF
accepted() { "$PY" "$T/accepted.py" "$SD" "$1"; }
# the RCPT addresses the client sent, connections FIRST.., in order
rcpts() {
    for f in $(ls "$SD"/*.log | sort -t/ -k1 -V); do
        n=${f##*/}
        [ "${n%.log}" -ge "$1" ] && sed -n 's/^C: RCPT TO:<\(.*\)>.*/\1/p' "$f"
    done
}

# ---- the template and its rows -------------------------------------------
printf 'Dear {{name}},\n\nyour invoice {{invoice}}.\n.\nA line with a dot.\n' >body.txt
mime-compose --from 'Ann <ann@example.org>' --to x@example.com \
    --subject 'Invoice {{invoice}}' body.txt |
    sed 's/^To: .*/To: {{name}} <{{email}}>/' >invoice.tmpl
{
    echo name,email,invoice
    for i in 1 2 3 4 5 6; do echo "Row $i,r$i@example.com,A-$i"; done
} >rows.csv
mime-merge invoice.tmpl rows.csv >batch.mbox
# what each message should arrive as: its Message-ID and its recipient
grep '^Message-ID: ' batch.mbox | cut -d' ' -f2 >ids
for i in 1 2 3 4 5 6; do echo "r$i@example.com"; done >emails
paste -d' ' ids emails | sed 's/$/ 0/' >want

# ---- mime-merge | smtp-send --mbox ----------------------------------------
C=$(($(connections) + 1))
mime-merge invoice.tmpl rows.csv |
    smtp-send "${SRV_ARGS[@]}" --mbox >"$T/out" 2>"$T/err"
rc=$?
wait_conns 1
code "mime-merge | smtp-send --mbox" 0
is "--mbox: one connection" "$(connections)" "$C"
is "--mbox: every row accepted once, in order, its To its recipient, no defect" \
    "$(accepted "$C")" "$(cat want)"
is "--mbox: each message's RCPT is its own To" "$(rcpts "$C" | tr '\n' ' ')" \
    "$(tr '\n' ' ' <emails)"
is "--mbox: pipelined (the next commands came with each end of data)" \
    "$(grep -c '^== pipelined after the end of data' "$SD/$C.log")" 5
is "--mbox: one report line per message" \
    "$(grep -c '^smtp-send: stdin: message [1-6]: sent to 1 recipient$' "$T/err")" 6
ok "--mbox: nothing on stdout" test ! -s "$T/out"

# --jobs 3: three connections share the stream, each message once
C=$(($(connections) + 1))
run smtp-send "${SRV_ARGS[@]}" --mbox --jobs 3 --log logj <batch.mbox
wait_conns 3
code "--mbox --jobs 3" 0
is "--mbox --jobs 3: three connections" "$(($(connections) - C + 1))" 3
is "--mbox --jobs 3: every row accepted once, to its own recipient" \
    "$(accepted "$C" | sort)" "$(sort want)"
is "--mbox --jobs 3: six log lines, each message once" \
    "$(cut -d, -f2 logj | sort -u | wc -l)" 6

# recipients given on the command line replace the messages' own
C=$(($(connections) + 1))
run smtp-send "${SRV_ARGS[@]}" --mbox -- carol@example.net <batch.mbox
wait_conns 1
code "--mbox with a recipient" 0
is "--mbox with a recipient: every message to it alone" \
    "$(rcpts "$C" | sort | uniq -c | tr -s ' ')" " 6 carol@example.net"

# ---- --log: one JSON line per message ---------------------------------------
C=$(($(connections) + 1))
scenario '{"reply": {"END:1": "250 2.0.0 Ok: queued as QA1\r\n",
  "END:2": "250 2.0.0 Ok: queued as QA2\r\n", "END:3": "250 2.0.0 Ok: queued as QA3\r\n",
  "END:4": "250 2.0.0 Ok: queued as QA4\r\n", "END:5": "250 2.0.0 Ok: queued as QA5\r\n",
  "END:6": "250 2.0.0 Ok: queued as QA6\r\n"}}'
run smtp-send "${SRV_ARGS[@]}" --mbox --log log1 <batch.mbox
wait_conns 1
code "--log" 0
is "--log: a line per message, as JSON: status, queue id, Message-ID, recipients, reply" \
    "$("$PY" -c '
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    print(o["status"], o["queue_id"], o["message_id"], " ".join(o["recipients"]),
          o["reply"], len(o["sha256"]), o["time"][:2])' log1)" \
    "$(paste -d' ' ids emails | awk '{ printf "accepted QA%d %s %s 250 2.0.0 Ok: queued as QA%d 64 20\n", NR, $1, $2, NR }')"
is "--log: the log is private" "$(stat -c %a log1)" 600
scenario '{}'

# a refusal is logged as such, and the batch goes on
C=$(($(connections) + 1))
scenario '{"reply": {"RCPT:r2@example.com": "550 5.1.1 <r2@example.com>: unknown\r\n",
  "END:3": "451 4.3.0 try later\r\n"}}'
run smtp-send "${SRV_ARGS[@]}" --mbox --log log2 <batch.mbox
wait_conns 1
code "a refused and a deferred message: the worse, 67" 67
is "refused and deferred: each message's status in the log" \
    "$("$PY" -c '
import json, sys
print(" ".join(json.loads(l)["status"] for l in open(sys.argv[1])))' log2)" \
    "accepted refused accepted deferred accepted accepted"
ok "refused: the recipient's refusal reported" \
    grep -qF 'stdin: message 2: r2@example.com: refused: 550 5.1.1' "$T/err"
ok "refused: the log keeps the server's reply" \
    grep -qF '550 5.1.1 <r2@example.com>: unknown' log2
scenario '{}'
C=$(($(connections) + 1))
run smtp-send "${SRV_ARGS[@]}" --mbox --resume log2 <batch.mbox
wait_conns 1
code "--resume after a refusal and a deferral" 0
is "--resume: the two not accepted sent, no other" \
    "$(accepted "$C" | cut -d' ' -f2 | tr '\n' ' ')" "r2@example.com r4@example.com "
ok "--resume: says how many were skipped" \
    grep -qx 'smtp-send: 4 messages already accepted in log2: not sent again' "$T/err"

# ---- killed in the middle, then --resume -------------------------------------
# the server holds the reply to message 4; the client is killed there:
# three lines in the log, message 4's data at the server, unanswered
C=$(($(connections) + 1))
scenario '{"reply": {"END:4": "GATE:CLOSE"}}'
smtp-send "${SRV_ARGS[@]}" --mbox --log log3 <batch.mbox >"$T/out" 2>"$T/err" &
cpid=$!
read -r -t 20 ev <&"${SRV[0]}"
is "kill: the server holds message 4's reply" "$ev" "gate $C"
is "kill: three lines in the log" "$(wc -l <log3)" 3
kill -KILL "$cpid"
wait "$cpid" 2>/dev/null
is "kill: killed" "$?" 137
echo >"$SD/gate"
wait_conns 1
is "kill: message 4's data reached the server, unanswered" \
    "$(grep -c "^Subject: Invoice A-4"$'\r'"\$" "$SD/$C.data")" 1
scenario '{}'
run smtp-send "${SRV_ARGS[@]}" --mbox --resume log3 <batch.mbox
wait_conns 1
code "--resume after a kill" 0
is "kill, then --resume: every message accepted exactly once" \
    "$(accepted "$C" | sort)" "$(sort want)"
is "kill, then --resume: the log shows each accepted once" \
    "$("$PY" -c '
import json, sys
ids = [json.loads(l)["message_id"] for l in open(sys.argv[1]) if json.loads(l)["status"] == "accepted"]
print(len(ids), len(set(ids)))' log3)" "6 6"
C2=$(($(connections)))
run smtp-send "${SRV_ARGS[@]}" --mbox --resume log3 <batch.mbox
code "--resume of a finished batch" 0
is "--resume of a finished batch: no connection" "$(connections)" "$C2"

# ---- SIGTERM in the middle ----------------------------------------------------
# the reply to message 4 waits; SIGTERM comes; then the reply: message 5,
# already pipelined behind it, is finished too, and nothing more is taken
C=$(($(connections) + 1))
scenario '{"reply": {"END:4": "GATE:250 2.0.0 queued\r\n"}}'
smtp-send "${SRV_ARGS[@]}" --mbox --log log4 <batch.mbox >"$T/out" 2>"$T/err" &
cpid=$!
read -r -t 20 ev <&"${SRV[0]}"
is "SIGTERM: the server holds message 4's reply" "$ev" "gate $C"
kill -TERM "$cpid"
echo >"$SD/gate"
wait "$cpid"
rc=$?
wait_conns 1
code "SIGTERM: temporary, the rest is still to send" 75
is "SIGTERM: the replies in flight logged, all accepted" \
    "$("$PY" -c '
import json, sys
print(" ".join(json.loads(l)["status"] for l in open(sys.argv[1])))' log4)" \
    "accepted accepted accepted accepted accepted"
ok "SIGTERM: says how many went and how to go on" \
    grep -qx 'smtp-send: stopped by a signal: 5 sent, 0 not accepted, the rest not sent; smtp-send --resume log4 continues' "$T/err"
ok "SIGTERM: QUIT said" grep -q '^C: QUIT' "$SD/$C.log"
scenario '{}'
run smtp-send "${SRV_ARGS[@]}" --mbox --resume log4 <batch.mbox
wait_conns 1
code "--resume after SIGTERM" 0
is "SIGTERM, then --resume: every message accepted exactly once" \
    "$(accepted "$C" | sort)" "$(sort want)"

# ---- --rate, --reconnect-after -----------------------------------------------
head -n "$(grep -n '^From ' batch.mbox | sed -n 6p | cut -d: -f1)" batch.mbox |
    sed '$d' >five.mbox
C=$(($(connections) + 1))
t0=$(date +%s%N)
run smtp-send "${SRV_ARGS[@]}" --mbox --rate 20/s <five.mbox
t1=$(date +%s%N)
wait_conns 1
code "--rate 20/s" 0
ok "--rate 20/s: five messages take at least 200 ms (got $(((t1 - t0) / 1000000)) ms)" \
    test $(((t1 - t0) / 1000000)) -ge 200
is "--rate: all five accepted" "$(accepted "$C" | wc -l)" 5
refused "--rate 5/day is refused" 64 "--rate 5/day" \
    smtp-send "${SRV_ARGS[@]}" --mbox --rate 5/day

C=$(($(connections) + 1))
run smtp-send "${SRV_ARGS[@]}" --mbox --reconnect-after 2 <five.mbox
wait_conns 3
code "--reconnect-after 2" 0
is "--reconnect-after 2: five messages over three connections" \
    "$(($(connections) - C + 1))" 3
is "--reconnect-after 2: each accepted once" "$(accepted "$C" | wc -l)" 5
ok "--reconnect-after 2: each connection ended with QUIT" \
    eval "for i in $C $((C + 1)) $((C + 2)); do grep -q '^C: QUIT' \"$SD/\$i.log\" || exit 1; done"

# ---- message files, logged and resumed like a stream --------------------------
for i in 1 2 3; do
    printf 'From: ann@example.org\nTo: f%s@example.com\nSubject: file %s\n\nBody.\n' "$i" "$i" >"f$i.eml"
done
run smtp-send "${SRV_ARGS[@]}" --log log5 ./f1.eml ./f2.eml
wait_conns 1
code "FILE... --log" 0
C=$(($(connections) + 1))
run smtp-send "${SRV_ARGS[@]}" --resume log5 ./f1.eml ./f2.eml ./f3.eml
wait_conns 1
code "FILE... --resume" 0
is "FILE... --resume: only the new file sent" "$(rcpts "$C")" "f3@example.com"

# ---- bad input: nothing is sent ----------------------------------------------
n=$(connections)
run smtp-send --dry-run --mbox <batch.mbox
code "--dry-run --mbox" 0
is "--dry-run --mbox: each message's envelope, its own recipient" \
    "$(sed -n 's/^RCPT TO:<\(.*\)>\r$/\1/p' "$T/out" | tr '\n' ' ')" "$(tr '\n' ' ' <emails)"
printf 'From: ann@example.org\nTo: bob@example.com\nSubject: x\n\nbody\n' >plain.eml
refused "not an mbox (no From line): 65" 65 'stdin: not an mbox' \
    smtp-send "${SRV_ARGS[@]}" --mbox <plain.eml
refused "an empty stream: 65" 65 'stdin: empty' \
    smtp-send "${SRV_ARGS[@]}" --mbox </dev/null
is "bad input: no connection made" "$(connections)" "$n"
refused "--log without a batch: 64" 64 '--log is for a batch' \
    smtp-send "${SRV_ARGS[@]}" --log x.log <plain.eml
refused "--mbox with message files: 64" 64 'not message files' \
    smtp-send "${SRV_ARGS[@]}" --mbox ./f1.eml
done_testing
