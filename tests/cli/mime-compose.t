#!/bin/bash
# mime-compose: jobs 1 and 2 of DESIGN, every option, every refusal.
. "$SRCDIR/tests/cli/lib.sh"

plan 42

FROM='Ann Müller <ann@example.org>'

# --- job 1: a plain UTF-8 message, non-ASCII subject, several recipients
printf '你好，\n季度报告见附件。\nGrüße\n' >"$T/body.txt"
run mime-compose --from "$FROM" --to 'Zoë Jürgens <zoe@bücher.example>, bob@example.com' \
    --cc '"Doe, John" <john@example.net>' --subject 'Quarterly report 季度报告' "$T/body.txt"
cp "$T/out" "$T/job1.eml"
is "job 1 exits 0" "$rc" 0
ok "job 1 reads with zero defects" pycheck defects <"$T/job1.eml"
is "job 1 subject decodes exactly" "$(pycheck header Subject <"$T/job1.eml")" 'Quarterly report 季度报告'
is "job 1 body decodes exactly" "$(pycheck text 0 <"$T/job1.eml")" "$(cat "$T/body.txt")"
is "job 1 recipients, IDN domain as A-label" "$(pycheck addresses To <"$T/job1.eml" | tr '\n' ' ')" \
    'zoe@xn--bcher-kva.example bob@example.com '
is "display names decode, addresses intact" "$(pycheck header From <"$T/job1.eml")" 'Ann Müller <ann@example.org>'
ok "headers are 7-bit clean" sh -c "! sed '/^\$/q' '$T/job1.eml' | LC_ALL=C grep -q '[^ -~]'"
ok "text part labelled charset=utf-8" grep -q '^Content-Type: text/plain; charset=utf-8$' "$T/job1.eml"
ok "Date, Message-ID from the From domain, MIME-Version" sh -c \
    "grep -q '^Date: Tue, 14 Nov 2023 22:13:20 +0000\$' '$T/job1.eml' &&
     grep -q '^Message-ID: <[0-9a-z]*@example.org>\$' '$T/job1.eml' &&
     grep -q '^MIME-Version: 1.0\$' '$T/job1.eml'"
mime-compose --from 'Ann <ann@bücher.example>' --to bob@example.com "$T/body.txt" >"$T/idn.eml"
is "an IDN From domain: the Message-ID has its A-label" \
    "$(grep '^Message-ID:' "$T/idn.eml" | sed 's/.*@//')" 'xn--bcher-kva.example>'
printf 'dash body\n' >"$T/-body.txt"
(cd "$T" && mime-compose --from ann@example.org --to bob@example.com -- -body.txt >dash.eml)
is "-- ends options: a body file whose name starts with -" \
    "$(pycheck text 0 <"$T/dash.eml")" "dash body"
# a paragraph on one line, as editors that wrap softly write it
printf '%s\n' "$(printf 'word %.0s' $(seq 1 40))" >"$T/para.txt"
mime-compose --from ann@example.org --to bob@example.com "$T/para.txt" >"$T/para.eml"
is "a 200-character line decodes exactly" "$(pycheck text 0 <"$T/para.eml")" "$(cat "$T/para.txt")"
ok "a 200-character line: no line over 78 in the message" \
    sh -c "awk 'length > 78 { exit 1 }' '$T/para.eml'"
if command -v mmime >/dev/null; then
    ok "nothing left to encode for mblaze's mmime -c" mmime -c <"$T/job1.eml"
else
    ok "nothing left to encode for mblaze's mmime -c # SKIP mblaze not installed" true
fi
ok "no line over 78 in the header" sh -c "sed '/^\$/q' '$T/job1.eml' | awk 'length > 78 { exit 1 }'"

# --- job 2: HTML, alone and as an alternative
printf '<p>Hello <b>Zoë</b></p>\n' >"$T/note.html"
run mime-compose --from "$FROM" --to bob@example.com --subject html --html "$T/note.html" --no-text </dev/null
is "HTML only is a single text/html part" "$(pycheck tree <"$T/out")" 'text/html charset=utf-8'
run mime-compose --from "$FROM" --to bob@example.com --subject both --html "$T/note.html" "$T/body.txt"
cp "$T/out" "$T/job2.eml"
is "text and HTML are alternatives, HTML last" "$(pycheck tree <"$T/job2.eml" | tr '\n' '|')" \
    'multipart/alternative|  text/plain charset=utf-8|  text/html charset=utf-8|'
ok "job 2 reads with zero defects" pycheck defects <"$T/job2.eml"
is "HTML decodes exactly" "$(pycheck text 1 <"$T/job2.eml")" "$(cat "$T/note.html")"

# --- a draft written in an editor
cat >"$T/draft" <<'EOD'
From: Zoë <zoe@example.org>
To: bob@example.com,
  carol@example.com
Subject: Grüße aus Köln
Cc:

Body line one.
Body line two: ünïcödé.
EOD
run mime-compose --draft --to dave@example.com <"$T/draft"
ok "draft composes with zero defects" pycheck defects <"$T/out"
is "draft subject encoded and decodes back" "$(pycheck header Subject <"$T/out")" 'Grüße aus Köln'
is "draft recipients plus the option's" "$(pycheck addresses To <"$T/out" | tr '\n' ' ')" \
    'bob@example.com carol@example.com dave@example.com '
is "draft body after the blank line" "$(pycheck text 0 <"$T/out")" "$(printf 'Body line one.\nBody line two: ünïcödé.')"

# --- long lines never go out raw
awk 'BEGIN { for (i = 0; i < 3000; i++) printf "x"; print "" }' >"$T/long.txt"
run mime-compose --from "$FROM" --to bob@example.com "$T/long.txt"
ok "a 3000-octet line is encoded, no output line over 998" sh -c \
    "awk 'length > 998 { exit 1 }' '$T/out' && grep -q '^Content-Transfer-Encoding: quoted-printable' '$T/out'"
is "the long line decodes back exactly" "$(pycheck part 0 <"$T/out" | md5sum)" "$(md5sum <"$T/long.txt")"

# --- a large body from a pipe in bounded memory
if [ -x /usr/bin/time ]; then
    awk 'BEGIN { for (i = 0; i < 400000; i++) print "line " i " of a long body: Grüße aus Köln" }' >"$T/big.txt"
    cat "$T/big.txt" | /usr/bin/time -f %M -o "$T/rss" mime-compose --from "$FROM" --to bob@example.com >"$T/big.eml"
    is "a $(($(wc -c <"$T/big.txt") / 1048576)) MB body from a pipe decodes back exactly" \
        "$(pycheck part 0 <"$T/big.eml" | md5sum)" "$(md5sum <"$T/big.txt")"
    ok "and takes under 32 MB ($(cat "$T/rss") kB)" test "$(cat "$T/rss")" -lt 32768
else
    ok "large body # SKIP /usr/bin/time missing" true
    ok "large body memory # SKIP /usr/bin/time missing" true
fi

# --- reproducible bytes
mime-compose --from "$FROM" --to bob@example.com --html "$T/note.html" "$T/body.txt" >"$T/r1"
mime-compose --from "$FROM" --to bob@example.com --html "$T/note.html" "$T/body.txt" >"$T/r2"
ok "identical inputs give identical bytes under SOURCE_DATE_EPOCH" cmp "$T/r1" "$T/r2"
env -u SOURCE_DATE_EPOCH mime-compose --from "$FROM" --to bob@example.com --date @1 --seed s "$T/body.txt" >"$T/r3"
env -u SOURCE_DATE_EPOCH mime-compose --from "$FROM" --to bob@example.com --date @1 --seed s "$T/body.txt" >"$T/r4"
env -u SOURCE_DATE_EPOCH mime-compose --from "$FROM" --to bob@example.com --date @1 --seed s "$T/long.txt" >"$T/r5"
ok "--date and --seed reproduce; another body gets another Message-ID" sh -c \
    "cmp -s '$T/r3' '$T/r4' && [ \"\$(grep ^Message-ID '$T/r3')\" != \"\$(grep ^Message-ID '$T/r5')\" ]"

# --- output options
run mime-compose --from "$FROM" --to bob@example.com -o "$T/file.eml" "$T/body.txt"
mime-compose --from "$FROM" --to bob@example.com "$T/body.txt" >"$T/stdout.eml"
ok "-o writes the same bytes as stdout, and nothing to stdout" sh -c "[ ! -s '$T/out' ] && cmp '$T/file.eml' '$T/stdout.eml'"
run mime-compose --crlf --from "$FROM" --to bob@example.com "$T/body.txt"
is "--crlf ends every line with CRLF" "$(grep -cv $'\r$' "$T/out")" 0
run mime-compose --8bit --from "$FROM" --to bob@example.com "$T/body.txt"
ok "--8bit allows 8bit text" grep -q '^Content-Transfer-Encoding: 8bit$' "$T/out"
printf 'un caf\xe9 cr\xe8me br\xfbl\xe9e pour la table\n' >"$T/latin1.txt"
run mime-compose --charset iso-8859-1 --from "$FROM" --to bob@example.com "$T/latin1.txt"
is "--charset labels the body and it decodes" "$(pycheck text 0 <"$T/out")" 'un café crème brûlée pour la table'

# --- refusals: documented code, one clear line, nothing on stdout
refused "header injection in --subject" 65 "Subject" \
    mime-compose --from "$FROM" --to bob@example.com --subject "$(printf 'hi\r\nBcc: evil@example.com')" "$T/body.txt"
refused "header injection in --header" 65 "X-A" \
    mime-compose --from "$FROM" --header "$(printf 'X-A: 1\nX-B: 2')" "$T/body.txt"
refused "two From without Sender" 65 "Sender" \
    mime-compose --from a@example.com --from b@example.com "$T/body.txt"
refused "invalid UTF-8 without --charset" 65 "latin1.txt" \
    mime-compose --from "$FROM" "$T/latin1.txt"
refused "missing body file" 66 "nosuch.txt" \
    mime-compose --from "$FROM" "$T/nosuch.txt"
refused "invalid address" 65 "not an address" \
    mime-compose --from "$FROM" --to 'bob' "$T/body.txt"
refused "no From" 64 "From" mime-compose --to bob@example.com "$T/body.txt"
run mime-compose --from "$FROM" --to bob@example.com "$T/body.txt"
mime-compose --from "$FROM" --to bob@example.com "$T/body.txt" >/dev/full 2>"$T/err"
is "a full disk is exit 74 with a message" "$?:$(cat "$T/err")" "74:mime-compose: stdout: No space left on device"
mime-compose --version >/dev/full 2>"$T/err"
is "--version to a full disk: exit 74 with a message" "$?:$(cat "$T/err")" "74:mime-compose: stdout: No space left on device"

done_testing
