#!/bin/bash
# Every example of the documentation runs (issue 13, "Small things users
# hit"): the shell examples of the EXAMPLES section of every man page, and
# every ```sh block of README.md, each run as it is written on made-up
# input files, with smtp-send run as `smtp-send --dry-run` (its options
# checked, nothing sent; `--flush` runs as it is, on an empty outbox).
# Every message they leave is read by Python's email without a defect and
# has the shape its page promises.  mimepipe(7)'s sendmail wrapper for
# mutt and git is run with the flags mutt and git pass.
# Environment from meson: BUILDDIR, SRCDIR.
set -u
: "${BUILDDIR:?}" "${SRCDIR:?}"
PAGE=$SRCDIR/man/mimepipe.7
. "$SRCDIR/tests/cli/lib.sh"

for t in mime-compose mime-inline mime-attach mime-header smtp-send; do
    if [ ! -x "$BUILDDIR/tools/$t" ]; then
        skip "the documentation's examples run" "$t is not built yet"
        echo "1..$_n"
        exit 0
    fi
done

# smtp-send as the examples call it, every option checked, but with
# --dry-run: what it would send goes to $SENT/sent.N (default $T) and
# nothing connects; --flush runs as it is (the outboxes are empty here)
mkdir -p "$T/bin" "$T/work"
# a batch (--mbox) is sent for real, to a local aiosmtpd server
# (tests/smtp/demo-server.py) in place of the server the example names
DEMO=$T/demo
mkdir -p "$DEMO"
mkfifo "$T/demo.fifo"
"$PY" "$SRCDIR/tests/smtp/demo-server.py" "$DEMO/spool" >"$T/demo.fifo" 2>"$T/demo.err" &
demo_pid=$!
exec 7<"$T/demo.fifo"
read -r -t 20 demo_port <&7
trap 'kill "$demo_pid" 2>/dev/null; rm -rf "$T"' EXIT
: >"$T/empty-config"
cat >"$T/bin/smtp-send" <<EOF
#!/bin/sh
for a; do
    case \$a in --flush | -q) exec "$BUILDDIR/tools/smtp-send" "\$@" ;; esac
done
for a; do
    case \$a in --mbox)
        skip=
        for b; do
            shift
            if [ -n "\$skip" ]; then skip=; continue; fi
            case \$b in
            --server | --tls | --ca-file) skip=1; continue ;;
            --server=* | --tls=* | --ca-file=*) continue ;;
            esac
            set -- "\$@" "\$b"
        done
        MIMEPIPE_CONFIG=$T/empty-config exec "$BUILDDIR/tools/smtp-send" \
            --server "localhost:$demo_port" --ca-file "$DEMO/spool/cert.pem" "\$@"
        ;;
    esac
done
d=\${SENT:-$T}
n=\$(ls "\$d"/sent.* 2>/dev/null | wc -l)
exec "$BUILDDIR/tools/smtp-send" --dry-run "\$@" >"\$d/sent.\$((n + 1))"
EOF
chmod +x "$T/bin/smtp-send"
export PATH="$T/bin:$BUILDDIR/tools:$PATH"

# make_inputs: the files the examples name, in the current directory
make_inputs() {
    printf 'Hello Bob,\n\nthe figures for the quarter. Grüße, Ann\n' >note.txt
    cp note.txt news.txt
    printf '<p>Hello <b>Bob</b></p><img src="chart.png">\n' >note.html
    printf '<p>News</p><img src="img/chart.png">\n' >news.html
    printf '<p>Charts</p><img src="chart.png"><img src="pie.png">\n' >charts.html
    printf '<p>Logo</p><img src="cid:logo@example.org">\n' >mail.html
    # a src with no folder and no ':' ("chart.png"), as the page writes it:
    # under ASan this found mp_html_local_path() reading past the end of
    # the string
    printf '\211PNG\r\n\032\n' >chart.png
    printf '\211PNG\r\n\032\n2' >pie.png
    printf '\211PNG\r\n\032\nlogo' >logo.png
    mkdir -p img outbox
    cp chart.png img/
    printf '%%PDF-1.4\n%%\342\343\317\323\n1 0 obj\n<<>>\nendobj\n' >report.pdf
    cp report.pdf 'Quartalsbericht Q3 – Übersicht.pdf'
    printf 'quarter,sales\nQ3,42\n' >figures.csv
    printf 'PK\003\004binary' >'Übersicht 2026.xlsx'
    printf 'From: shop@example.com\nTo: ann@example.org\nSubject: Invoice\nDate: Tue, 14 Nov 2023 22:13:20 +0000\n\nPlease pay.\n' >invoice.eml
    cp invoice.eml earlier.eml
    cp invoice.eml saved.eml
    # a message with recipients to read, and a field to delete
    printf 'From: Ann <ann@example.org>\nTo: Bob <bob@example.com>\nCc: carl@example.net, Dora <dora@example.net>\nSubject: Quarterly report\nX-Mailer: Old 1.0\nDate: Tue, 14 Nov 2023 22:13:20 +0000\nMessage-ID: <doc.1@example.org>\n\nHello.\n' >msg.eml
    for f in in.eml message.eml draft.eml m; do cp msg.eml "$f"; done
    printf 'From: ann@example.org\nTo: bob@example.com\nSubject: From the editor\n\nHello Bob.\n' >draft.txt
    # a mail merge template and its rows (smtp-send(1), mime-merge(1))
    printf 'name,email,invoice\n"Doe, John",john@example.com,A-1\nZoë Ünal,zoe@example.org,B-2\n' >rows.csv
    printf 'From: ann@example.org\nTo: {{name}} <{{email}}>\nSubject: Invoice {{invoice}}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nDear {{name}},\n\nyour invoice {{invoice}}.\n' >invoice.tmpl
    # mime-attach(1)'s generated data
    printf '#!/bin/sh\nprintf "day,mails\\n2026-11-01,3\\n"\n' >usage-report
    chmod +x usage-report
}

cd "$T/work" || exit 1
make_inputs
# keys for mime-sign(1) and its kin, in a short GnuPG home whose agent
# is stopped at the end
GNUPGHOME=$(mktemp -d /tmp/mpg.XXXXXX)
export GNUPGHOME
# (one trap for all: a second would drop the first's kill of the demo
# server, which then held the test's output open until its timeout)
trap 'kill "$demo_pid" 2>/dev/null; gpgconf --homedir "$GNUPGHOME" --kill all; rm -rf "$GNUPGHOME" "$T"' EXIT
for u in ann@example.org bob@example.com carl@example.net dora@example.net; do
    gpg --batch --quiet --passphrase '' --quick-gen-key "$u" future-default default never
done
export HOME=$T/home
# the account the examples name, as mimepipe.conf(5) describes it
cat >"$T/config" <<EOF
[account work]
host = mail.example.org
user = ann
password-command = echo secret
from = ann@example.org
outbox = $T/outbox
EOF
chmod 600 "$T/config"
export MIMEPIPE_CONFIG=$T/config
mkdir -p "$HOME/.config"
echo secret >"$HOME/.config/mail-password"

# the literal displays of EXAMPLES, one file each, \e unescaped
awk -v dir="$T" '
    /^\.Sh / { in_ex = ($2 == "EXAMPLES") }
    in_ex && /^\.Bd -literal/ { n++; f = sprintf("%s/example.%02d", dir, n); next }
    /^\.Ed/ { f = "" ; next }
    f != "" { gsub(/\\e/, "\\"); print > f }
' "$PAGE"

mutt='' git=''
for ex in "$T"/example.*; do
    first=$(head -1 "$ex")
    case $first in
    '# ~/.muttrc' | '[sendemail]')
        # the commands mutt and git are told to run
        mutt=$(sed -n 's/^set sendmail = "\(.*\)"$/\1/p' "$ex")
        git=$(sed -n 's/^[[:space:]]*sendmailCmd = //p' "$ex")
        continue
        ;;
    '*/'*)
        # a crontab line: its command, run for real (an empty outbox
        # sends nothing)
        cmd=$(sed -E 's/^([^ ]+ +){5}//' "$ex")
        PATH=$BUILDDIR/tools:$PATH bash -c "$cmd" >"$T/ex.out" 2>"$T/ex.err"
        rc=$?
        _report "$rc" "mimepipe.7 crontab example runs: $cmd"
        [ "$rc" = 0 ] || sed 's/^/# /' "$T/ex.err" | head -5
        continue
        ;;
    esac
    bash -o pipefail "$ex" >"$T/ex.out" 2>"$T/ex.err"
    rc=$?
    _report "$rc" "mimepipe.7 example runs: ${first:0:60}"
    [ "$rc" = 0 ] || sed 's/^/# /' "$T/ex.err" | head -5
done

for f in *.eml outbox/*.eml; do
    ok "$f from the examples has no defect" pycheck defects <"$f"
done
sent=("$T"/sent.*)
is "the sending examples each give smtp-send a message" "${#sent[@]}" 6
for s in "${sent[@]}"; do
    # what follows the DATA line is the message as it goes on the wire
    sed '1,/^DATA\r$/d' "$s" | tr -d '\r' | sed '$d' >"$T/wire.eml"
    ok "the message sent in ${s##*/} has no defect" pycheck defects <"$T/wire.eml"
done

# the shapes the page promises
is "job 2: text and HTML as alternatives" \
    "$(pycheck tree <report.eml | tr -s ' ' | tr '\n' '|')" \
    "$(printf 'multipart/alternative|  text/plain charset=utf-8|  text/html charset=utf-8|' | tr -s ' ')"
ok "job 3: images in multipart/related beside the alternative" \
    sh -c "pycheck() { \"$PYRUN\" \"$SRCDIR/tests/pycheck.py\" \"\$@\"; }
        pycheck tree <charts.eml | grep -q 'multipart/related' &&
        test \"\$(grep -c '^Content-ID:' charts.eml)\" = 2 &&
        ! grep -q 'src=\"chart.png\"' charts.eml"
ok "job 4: the invoice is forwarded as message/rfc822, not base64" \
    sh -c "grep -q '^Content-Type: message/rfc822' forward.eml &&
        ! grep -A3 '^Content-Type: message/rfc822' forward.eml | grep -qi base64 &&
        \"$PYRUN\" \"$SRCDIR/tests/pycheck.py\" tree <forward.eml | grep -q 'xlsx'"
ok "job 5: mixed > related > alternative, X-Priority set" \
    sh -c "\"$PYRUN\" \"$SRCDIR/tests/pycheck.py\" tree <outbox/report.eml |
        tr '\n' '|' | grep -qE '^multipart/mixed\|  multipart/related\|    multipart/alternative' &&
        grep -q '^X-Priority: 1' outbox/report.eml"

# mutt's and git send-email's commands, called as they call a sendmail
if [ -n "$mutt" ] && [ -n "$git" ]; then
    rm -f "$T"/sent.*
    ok "mutt's sendmail command takes mutt's flags" \
        bash -c "$mutt -oem -oi -f ann@example.org -- bob@example.com <report.eml"
    ok "  ... and sends to the recipient" \
        grep -q '^RCPT TO:<bob@example.com>' "$T/sent.1"
    ok "git's sendmailCmd takes git send-email's flags" \
        bash -c "$git -i bob@example.com carl@example.net <report.eml"
    is "  ... and sends to both recipients" \
        "$(grep -c '^RCPT TO:' "$T/sent.2")" 2
else
    _report 1 "mimepipe.7 shows mutt's and git's settings"
fi

# the accounts of mimepipe.conf(5)'s examples are accepted, and each sends
# as its from=
awk '/^\.Bd -literal/ { f = 1; next } /^\.Ed/ { f = 0; print ""; next } f' \
    "$SRCDIR/man/mimepipe.conf.5" |
    awk 'BEGIN { RS = ""; ORS = "\n\n" } /^\[account /' >"$T/conf5"
chmod 600 "$T/conf5"
names=$(sed -n 's/^\[account \(.*\)\]$/\1/p' "$T/conf5" | tr '\n' ' ')
is "mimepipe.conf.5 has the four example accounts" "$names" \
    "work default gmail home "
for a in $names; do
    want=$(awk -v a="[account $a]" '$0 == a { f = 1; next } /^\[/ { f = 0 }
        f && $1 == "from" { print $3 }' "$T/conf5")
    MIMEPIPE_CONFIG=$T/conf5 "$BUILDDIR/tools/smtp-send" --dry-run \
        --account "$a" -- bob@example.com <note.eml >"$T/out" 2>"$T/err"
    is "mimepipe.conf.5 account $a is accepted and sends as its from" \
        "$(head -1 "$T/out" | tr -d '\r')$(cat "$T/err")" \
        "MAIL FROM:<${want:-ann@example.org}>"
done
chmod 644 "$T/conf5"
MIMEPIPE_CONFIG=$T/conf5 "$BUILDDIR/tools/smtp-send" --dry-run \
    --account work -- bob@example.com <note.eml >/dev/null 2>"$T/err"
is "mimepipe.conf.5: a password in a file others can read is refused (78)" \
    "$?" 78


# ---- the EXAMPLES of every other page, each page in a folder of its own --

# extract_examples PAGE DIR: the literal displays (.Bd -literal, .Dl) of
# PAGE's EXAMPLES section, one file each, DIR/example.NN, escapes undone
extract_examples() {
    awk -v dir="$2" '
        function unescape(s) { gsub(/\\&/, "", s); gsub(/\\e/, "\\", s); return s }
        /^\.Sh / { in_ex = ($2 == "EXAMPLES") }
        !in_ex { next }
        /^\.Bd -literal/ { n++; f = sprintf("%s/example.%02d", dir, n); next }
        /^\.Dl / { n++; print unescape(substr($0, 5)) > sprintf("%s/example.%02d", dir, n); next }
        /^\.Ed/ { f = ""; next }
        f != "" { print unescape($0) > f }
    ' "$1"
}

# is_message FILE: FILE holds a message (a header block first)
is_message() { [ -s "$1" ] && head -1 "$1" | grep -qE '^[A-Za-z][A-Za-z0-9-]*: '; }

# run_example NAME FILE: run FILE in the current folder; its stdout in
# FILE.out, checked without defect when it is a message
run_example() {
    bash -o pipefail "$2" >"$2.out" 2>"$2.err"
    _rc=$?
    _report "$_rc" "$1 runs: $(head -1 "$2" | cut -c1-60)"
    [ "$_rc" = 0 ] || sed 's/^/# /' "$2.err" | head -5
    if is_message "$2.out"; then
        ok "  ... its output has no defect" pycheck defects <"$2.out"
    fi
}

# sent_ok DIR: every message smtp-send was given in DIR has no defect
sent_ok() {
    for s in "$1"/sent.*; do
        [ -e "$s" ] || continue
        sed '1,/^DATA\r$/d' "$s" | tr -d '\r' | sed '$d' >"$T/wire.eml"
        ok "  ... the message sent in ${s#"$T"/} has no defect" \
            pycheck defects <"$T/wire.eml"
    done
}

# a private copy of mimepipe.conf(5)'s accounts, for its "Using them"
cp "$T/conf5" "$T/conf5.private"
chmod 600 "$T/conf5.private"

# every page man/meson.build installs (MAN_PAGES), so a new one is covered
IFS=: read -r -a pages <<<"${MAN_PAGES:-mime-compose.1:mime-attach.1:mime-inline.1:mime-header.1:smtp-send.1:mimepipe.conf.5}"
for page in "${pages[@]}"; do
    [ "$page" = mimepipe.7 ] && continue
    D=$T/page.$page
    mkdir -p "$D/sent"
    cd "$D" || exit 1
    make_inputs
    export SENT=$D/sent
    extract_examples "$SRCDIR/man/$page" "$D"
    n=0
    for ex in "$D"/example.*; do
        case $ex in *.out | *.err) continue ;; esac
        n=$((n + 1))
        # mimepipe.conf(5)'s accounts are checked above, as a file
        head -1 "$ex" | grep -q '^\[account ' && continue
        if [ "$page" = mimepipe.conf.5 ]; then
            MIMEPIPE_CONFIG=$T/conf5.private run_example "$page" "$ex"
        else
            run_example "$page" "$ex"
        fi
    done
    ok "$page has examples" test "$n" -gt 0
    for f in *.eml; do
        ok "  ... $page: $f has no defect" pycheck defects <"$f"
    done
    sent_ok "$D/sent"
    unset SENT
done

# what each page's examples promise
D=$T/page.mime-compose.1
is "mime-compose(1): text and HTML as alternatives, in report.eml" \
    "$(pycheck tree <"$D/report.eml" | tr -s ' ' | tr '\n' '|')" \
    "multipart/alternative| text/plain charset=utf-8| text/html charset=utf-8|"
ok "mime-compose(1): the draft is sent to its To" \
    grep -q '^RCPT TO:<bob@example.com>' "$D/sent/sent.1"
D=$T/page.mime-attach.1
is "mime-attach(1): the descriptor's data under its name, and the forward" \
    "$(pycheck tree <"$D/example.02.out" | tr -s ' ' | tr '\n' '|')" \
    "multipart/mixed| text/plain| text/csv attachment filename=usage 2026-11.csv charset=utf-8| message/rfc822 attachment filename=saved.eml| text/plain|"
is "  ... with the bytes the command wrote" \
    "$(pycheck part 1 <"$D/example.02.out")" "$("$D/usage-report")"
D=$T/page.mime-inline.1
ok "mime-inline(1): news.eml shows img/chart.png through a cid: link" \
    sh -c "grep -q '^Content-ID: <' '$D/news.eml' &&
        ! grep -q 'src=\"img/chart.png\"' '$D/news.eml'"
ok "mime-inline(1): the image answers cid:logo@example.org" \
    grep -qx 'Content-ID: <logo@example.org>' "$D/mail.eml"
D=$T/page.mime-header.1
ok "mime-header(1): X-Priority set, X-Mailer gone" \
    sh -c "grep -qx 'X-Priority: 1' '$D/out.eml' && ! grep -q X-Mailer '$D/out.eml'"
is "mime-header(1): the subject and every recipient" \
    "$(tr '\n' '|' <"$D/example.03.out")" \
    "Quarterly report|bob@example.com|carl@example.net|dora@example.net|"
D=$T/page.smtp-send.1
# accepted: a line per row; the resumed run sends nothing more
log_statuses() { "$PYRUN" -c '
import json, sys
print(" ".join(json.loads(l)["status"] + ":" + json.loads(l)["recipients"][0] for l in open(sys.argv[1])))' "$1"; }
is "smtp-send(1): the batch is sent, a log line per row, and resumed without a second copy" \
    "$(log_statuses "$D/batch.log")" \
    "accepted:john@example.com accepted:zoe@example.org"
is "smtp-send(1): the recipients given replace the message's" \
    "$(grep '^RCPT TO:' "$D/sent/sent.2" | tr -d '\r' | tr '\n' ' ')" \
    "RCPT TO:<bob@example.com> RCPT TO:<carl@example.net> "

# ---- README.md: every ```sh block, in order, in one folder ---------------
D=$T/readme
mkdir -p "$D/sent" "$T/readme-home"
cd "$D" || exit 1
make_inputs
# README.md's blocks, numbered: readme.NN.sh, .ini, or .txt (a display)
awk -v dir="$D" '
    /^```/ && f == "" {
        n++; t = substr($0, 4); if (t == "") t = "txt"
        f = sprintf("%s/readme.%02d.%s", dir, n, t); printf "" > f; next }
    /^```/ { f = ""; next }
    f != "" { print > f }
' "$SRCDIR/README.md"
# the account file it shows is the one its examples use
cat "$D"/readme.*.ini >"$T/readme.config"
chmod 600 "$T/readme.config"
export SENT=$D/sent MIMEPIPE_CONFIG=$T/readme.config HOME=$T/readme-home
n=0
for ex in "$D"/readme.*.sh; do
    n=$((n + 1))
    first=$(grep -v '^#' "$ex" | head -1)
    if grep -qE '^\./(demo|run-tests)|meson setup' "$ex"; then
        # these install packages and build the project: ./run-tests is
        # the suite this test is part of
        ok "README: ${first:0:50}... is valid shell" bash -n "$ex"
        skip "README: ${first:0:50}... runs" "it installs packages and builds"
        continue
    fi
    run_example README "$ex"
    # what each job promises; job 1's display follows its block
    k=$(basename "$ex" .sh)
    k=${k#readme.}
    case $(cat "$ex") in
    *'Zoë Jürgens'*)
        disp=$(printf '%s/readme.%02d.txt' "$D" $((10#$k + 1)))
        missing=$(grep -vxF -f report.eml "$disp")
        is "README job 1: report.eml has the header lines shown" "$missing" ""
        ;;
    *'mime-inline --html note.html > report.eml'*)
        is "README job 3: the tree shown" \
            "$(pycheck tree <report.eml | tr -s ' ' | tr '\n' '|')" \
            "multipart/related| multipart/alternative| text/plain charset=utf-8| text/html charset=utf-8| image/png inline filename=chart.png cid|"
        disp=$(printf '%s/readme.%02d.txt' "$D" $((10#$k + 1)))
        is "README job 3: the display links cid:ID to the image's Content-ID" \
            "$(sed -n 's/.*src="cid:\([^"]*\)".*/\1/p' "$disp")" \
            "$(sed -n 's/.*Content-ID: <\([^>]*\)>.*/\1/p' "$disp")"
        cid=$(sed -n 's/^Content-ID: <\(.*\)>$/\1/p' report.eml)
        ok "README job 3: the HTML links cid:ID, ID the image's Content-ID" \
            sh -c "[ -n '$cid' ] && pycheck() { '$PYRUN' '$SRCDIR/tests/pycheck.py' \"\$@\"; } &&
                pycheck part 1 <report.eml | grep -qF 'src=\"cid:$cid\"'"
        ;;
    *'mime-attach --message earlier.eml'*)
        is "README job 4: the PDF's name, and the forwarded message" \
            "$(pycheck tree <report.eml | tr -s ' ' | tr '\n' '|')" \
            "multipart/mixed| text/plain charset=utf-8| application/pdf attachment filename=Quartalsbericht Q3 – Übersicht.pdf| text/csv attachment filename=figures.csv charset=utf-8| message/rfc822 attachment filename=earlier.eml| text/plain|"
        ;;
    *'tee outbox/report.eml'*)
        ok "README: the first pipeline keeps the canonical tree in outbox/report.eml" \
            sh -c "\"$PYRUN\" \"$SRCDIR/tests/pycheck.py\" tree <outbox/report.eml |
                tr '\n' '|' | grep -qE '^multipart/mixed\|  multipart/related\|    multipart/alternative' &&
                grep -qx 'X-Priority: 1' outbox/report.eml"
        ok "  ... and gives it to smtp-send" test -s "$D/sent/sent.1"
        ;;
    *'smtp-send -f ann@example.org -- bob@x.org < m'*)
        ok "README job 6: -f sets the envelope sender, -- the recipient" \
            sh -c "ls '$D'/sent/sent.* | xargs grep -l '^MAIL FROM:<ann@example.org>' |
                xargs grep -q '^RCPT TO:<bob@x.org>'"
        ;;
    esac
done
is "README: the mail merge is sent, logged, and resumed without a second copy" \
    "$(log_statuses "$D/batch.log")" \
    "accepted:john@example.com accepted:zoe@example.org"
is "README: the relay batch with --jobs 4 sends every row" \
    "$(log_statuses "$D/batch-relay.log" | tr ' ' '\n' | sort | tr '\n' ' ')" \
    "accepted:john@example.com accepted:zoe@example.org "
is "README: two relays take two rows each" \
    "$(log_statuses "$D/relay0.log" | tr ' ' '\n' | sort | tr '\n' ' ');$(log_statuses "$D/relay1.log" | tr ' ' '\n' | sort | tr '\n' ' ')" \
    "accepted:r1@example.com accepted:r2@example.com ;accepted:r3@example.com accepted:r4@example.com "
ok "README has shell examples" test "$n" -gt 0
for f in *.eml outbox/*.eml; do
    ok "  ... README: $f has no defect" pycheck defects <"$f"
done
sent_ok "$D/sent"

echo "1..$_n"
[ "$_failed" = 0 ]
