#!/bin/bash
# The examples of mimepipe(7) run: each shell example of its EXAMPLES
# section is run as it is written, on made-up input files, with smtp-send
# run as `smtp-send --dry-run` (its options checked, nothing sent); every
# message it leaves is read by Python's email without a defect and has the
# shape the page promises.  The sendmail wrapper for mutt and git is run
# with the flags mutt and git pass.
# Environment from meson: BUILDDIR, SRCDIR.
set -u
: "${BUILDDIR:?}" "${SRCDIR:?}"
PAGE=$SRCDIR/man/mimepipe.7
. "$SRCDIR/tests/cli/lib.sh"

for t in mime-compose mime-inline mime-attach mime-header smtp-send; do
    if [ ! -x "$BUILDDIR/tools/$t" ]; then
        skip "mimepipe.7 examples run" "$t is not built yet"
        echo "1..$_n"
        exit 0
    fi
done

# smtp-send as the examples call it, every option checked, but with
# --dry-run: what it would send goes to sent.N and nothing connects
mkdir -p "$T/bin" "$T/work/outbox"
cat >"$T/bin/smtp-send" <<EOF
#!/bin/sh
n=\$(ls "$T"/sent.* 2>/dev/null | wc -l)
exec "$BUILDDIR/tools/smtp-send" --dry-run "\$@" >"$T/sent.\$((n + 1))"
EOF
chmod +x "$T/bin/smtp-send"
export PATH="$T/bin:$BUILDDIR/tools:$PATH"

# the files the examples name
cd "$T/work" || exit 1
printf 'Hello Bob,\n\nthe figures for the quarter. Grüße, Ann\n' >note.txt
cp note.txt news.txt
printf '<p>Hello <b>Bob</b></p><img src="chart.png">\n' >note.html
printf '<p>Charts</p><img src="chart.png"><img src="pie.png">\n' >charts.html
# a src with no folder and no ':' ("chart.png"), as the page writes it: under
# ASan this found mp_html_local_path() reading past the end of the string
printf '\211PNG\r\n\032\n' >chart.png
printf '\211PNG\r\n\032\n2' >pie.png
printf '%%PDF-1.4\n%%\342\343\317\323\n1 0 obj\n<<>>\nendobj\n' >report.pdf
printf 'quarter,sales\nQ3,42\n' >figures.csv
printf 'PK\003\004binary' >'Übersicht 2026.xlsx'
printf 'From: shop@example.com\nTo: ann@example.org\nSubject: Invoice\nDate: Tue, 14 Nov 2023 22:13:20 +0000\n\nPlease pay.\n' >invoice.eml
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
    sh -c "pycheck() { \"$PY\" \"$SRCDIR/tests/pycheck.py\" \"\$@\"; }
        pycheck tree <charts.eml | grep -q 'multipart/related' &&
        test \"\$(grep -c '^Content-ID:' charts.eml)\" = 2 &&
        ! grep -q 'src=\"chart.png\"' charts.eml"
ok "job 4: the invoice is forwarded as message/rfc822, not base64" \
    sh -c "grep -q '^Content-Type: message/rfc822' forward.eml &&
        ! grep -A3 '^Content-Type: message/rfc822' forward.eml | grep -qi base64 &&
        \"$PY\" \"$SRCDIR/tests/pycheck.py\" tree <forward.eml | grep -q 'xlsx'"
ok "job 5: mixed > related > alternative, X-Priority set" \
    sh -c "\"$PY\" \"$SRCDIR/tests/pycheck.py\" tree <outbox/report.eml |
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

echo "1..$_n"
[ "$_failed" = 0 ]
