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
PY=/usr/bin/python3
T=$(mktemp -d "${TMPDIR:-/tmp}/mimepipe-examples.XXXXXX")
trap 'rm -rf "$T"' EXIT
export LC_ALL=C.UTF-8 SOURCE_DATE_EPOCH=1700000000
_n=0
_failed=0

_report() {
    _n=$((_n + 1))
    if [ "$1" = 0 ]; then
        echo "ok $_n - $2"
    else
        echo "not ok $_n - $2"
        _failed=$((_failed + 1))
    fi
}

skip() {
    _n=$((_n + 1))
    echo "ok $_n - $1 # SKIP $2"
}

ok() {
    _name=$1
    shift
    if "$@" >"$T/ok.out" 2>&1; then
        _report 0 "$_name"
    else
        _report 1 "$_name"
        sed 's/^/# /' "$T/ok.out" | head -20
    fi
}

is() {
    if [ "$2" = "$3" ]; then
        _report 0 "$1"
    else
        _report 1 "$1"
        printf '# got:      %s\n# expected: %s\n' "$2" "$3"
    fi
}

pycheck() { "$PY" "$SRCDIR/tests/pycheck.py" "$@"; }

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
mkdir -p "$HOME/.config"
echo secret >"$HOME/.config/mail-password"
pass() { echo secret; }
export -f pass

# the literal displays of EXAMPLES, one file each, \e unescaped
awk -v dir="$T" '
    /^\.Sh / { in_ex = ($2 == "EXAMPLES") }
    in_ex && /^\.Bd -literal/ { n++; f = sprintf("%s/example.%02d", dir, n); next }
    /^\.Ed/ { f = "" ; next }
    f != "" { gsub(/\\e/, "\\"); print > f }
' "$PAGE"

for ex in "$T"/example.*; do
    first=$(head -1 "$ex")
    case $(cat "$ex") in
    '#!/bin/sh'*)
        cp "$ex" "$T/bin/mail-out"
        chmod +x "$T/bin/mail-out"
        continue
        ;;
    *'[sendemail]'* | *'[account '*)
        continue # configuration, not commands
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
is "the sending examples each give smtp-send a message" "${#sent[@]}" 4
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

# the wrapper, called as mutt and git send-email call a sendmail
if [ -x "$T/bin/mail-out" ]; then
    rm -f "$T"/sent.*
    ok "the wrapper takes mutt's flags" \
        mail-out -oem -oi -f ann@example.org -- bob@example.com <report.eml
    ok "  ... and sends to the recipient" \
        grep -q '^RCPT TO:<bob@example.com>' "$T/sent.1"
    ok "the wrapper takes git send-email's flags" \
        mail-out -i bob@example.com carl@example.net <report.eml
    is "  ... and sends to both recipients" \
        "$(grep -c '^RCPT TO:' "$T/sent.2")" 2
else
    _report 1 "mimepipe.7 has the sendmail wrapper example"
fi

echo "1..$_n"
[ "$_failed" = 0 ]
