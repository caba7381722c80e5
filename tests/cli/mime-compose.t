#!/bin/bash
# mime-compose: jobs 1 and 2 of DESIGN, every option, every refusal.
. "$SRCDIR/tests/cli/lib.sh"

plan 110

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
refused "a closed stdin with --html is refused, not the HTML read as the text body" 66 "stdin" \
    mime-compose --from "$FROM" --to bob@example.com --subject html --html "$T/note.html" <&-
run mime-compose --from "$FROM" --to bob@example.com --subject both --html "$T/note.html" "$T/body.txt"
cp "$T/out" "$T/job2.eml"
is "text and HTML are alternatives, HTML last" "$(pycheck tree <"$T/job2.eml" | tr '\n' '|')" \
    'multipart/alternative|  text/plain charset=utf-8|  text/html charset=utf-8|'
ok "job 2 reads with zero defects" pycheck defects <"$T/job2.eml"
is "HTML decodes exactly" "$(pycheck text 1 <"$T/job2.eml")" "$(cat "$T/note.html")"
: >"$T/empty.html"
for alone in "" --no-text; do
    want='multipart/alternative|  text/plain charset=utf-8|  text/html charset=utf-8|'
    [ -n "$alone" ] && want='text/html charset=utf-8|'
    run mime-compose --from "$FROM" --to bob@example.com --subject empty --html "$T/empty.html" $alone </dev/null
    is "an empty HTML file${alone:+ alone} is an empty part (it crashed)" \
        "$rc|$(cat "$T/err")|$(pycheck tree <"$T/out" | tr '\n' '|')|$(pycheck defects <"$T/out")" \
        "0||$want|"
done

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

# --- charsets: labelled with the IANA name Python and iconv both read
while IFS='|' read -r cs label sample; do
    printf '%s\n' "$sample" | iconv -f UTF-8 -t "$cs" >"$T/cs.txt"
    run mime-compose --charset "$cs" --from "$FROM" --to bob@example.com "$T/cs.txt"
    got="$rc|$(pycheck tree <"$T/out")|$(pycheck defects <"$T/out")"
    got="$got|$(pycheck text 0 <"$T/out")|$(pycheck part 0 <"$T/out" | iconv -f "$label" -t UTF-8)"
    is "--charset $cs: labelled $label, Python and iconv read the text back" \
        "$got" "0|text/plain charset=$label||$sample|$sample"
done <<'EOF'
utf-8|utf-8|Grüße 季度 ☃
UTF8|utf-8|Grüße
iso-8859-1|iso-8859-1|café crème brûlée
latin1|iso-8859-1|café
iso-8859-2|iso-8859-2|Łódź žluťoučký kůň
iso-8859-3|iso-8859-3|Ħal Ġħaxaq ŭ
iso-8859-4|iso-8859-4|Ģirts ķēniņš
iso-8859-5|iso-8859-5|Привет, мир
iso-8859-6|iso-8859-6|مرحبا
iso-8859-7|iso-8859-7|Καλημέρα κόσμε
iso-8859-8|iso-8859-8|שלום עולם
iso-8859-9|iso-8859-9|Günaydın şğ
iso-8859-10|iso-8859-10|Þórður ŋ ĸ
iso-8859-11|iso-8859-11|สวัสดี
iso-8859-13|iso-8859-13|Ąžuolas ė „x”
iso-8859-14|iso-8859-14|Ŵŷ ḃ ẁ
iso-8859-15|iso-8859-15|€ œ Ÿ
iso-8859-16|iso-8859-16|Știință ț €
windows-1250|windows-1250|Łódź „x” €
windows-1251|windows-1251|Привет „мир“ €
windows-1252|windows-1252|café – “x” €
cp1252|windows-1252|€ œ
windows-1253|windows-1253|Καλημέρα €
windows-1254|windows-1254|Günaydın €
windows-1255|windows-1255|שלום ₪
windows-1256|windows-1256|مرحبا €
windows-1257|windows-1257|Ąžuolas €
windows-1258|windows-1258|Đ ơ ư ₫ €
koi8-r|koi8-r|Привет, мир
koi8-u|koi8-u|Привіт ґ
shift_jis|shift_jis|こんにちは 日本語
sjis|shift_jis|日本
euc-jp|euc-jp|こんにちは 日本語
iso-2022-jp|iso-2022-jp|こんにちは 日本語
gb2312|gb2312|你好 季度报告
gbk|gbk|你好 季度報告
gb18030|gb18030|你好 季度報告 😀
big5|big5|季度報告
euc-kr|euc-kr|안녕하세요
EOF
printf '<p>caf\351 cr\350me</p>\n' >"$T/latin1.html"
run mime-compose --charset latin1 --from "$FROM" --html "$T/latin1.html" </dev/null
is "--charset with --html alone: the HTML labelled, the text rendered from it UTF-8" \
    "$(pycheck tree <"$T/out" | tr '\n' '|')$(pycheck text 0 <"$T/out")" \
    "multipart/alternative|  text/plain charset=utf-8|  text/html charset=iso-8859-1|café crème"
refused "--charset: an unknown charset is refused" 64 "x-nonsense" \
    mime-compose --charset x-nonsense --from "$FROM" "$T/body.txt"

# --- --date without an offset and @SECONDS are local time per TZ
for tz in 'UTC|+0000|+0000|+0000' 'America/New_York|-0500|-0400|-0500' 'Asia/Kolkata|+0530|+0530|+0530'; do
    IFS='|' read -r zone jan jul sec <<<"$tz"
    got=
    for d in '2024-01-15 09:30' '2024-07-15T09:30:00' 'Mon, 15 Jan 2024 09:30:00' '@1705311000'; do
        got="$got|$(TZ=$zone mime-compose --from "$FROM" --date "$d" "$T/body.txt" | sed -n 's/^Date: //p')"
    done
    case $zone in
    UTC) at=09:30:00 ;; America/New_York) at=04:30:00 ;; *) at=15:00:00 ;;
    esac
    is "TZ=$zone: --date without an offset and @SECONDS are local time" "$got" \
        "|Mon, 15 Jan 2024 09:30:00 $jan|Mon, 15 Jul 2024 09:30:00 $jul|Mon, 15 Jan 2024 09:30:00 $jan|Mon, 15 Jan 2024 $at $sec"
done
is "an offset given is kept whatever TZ" \
    "$(TZ=Asia/Kolkata mime-compose --from "$FROM" --date '2024-01-15 09:30 -0800' "$T/body.txt" | sed -n 's/^Date: //p')" \
    'Mon, 15 Jan 2024 09:30:00 -0800'

# --- addresses: every mailbox given is written, or the command refuses
ok "property: 300 random address lists keep their mailboxes (Python's count)" \
    "$PY" "$SRCDIR/tests/cli/address-prop.py" 300
refused "an upper-case A-label that does not decode is refused, naming it" 65 "x@XN--ABC.example" \
    mime-compose --from "$FROM" --to 'carol@x.example, x@XN--ABC.example' "$T/body.txt"
run mime-compose --from "$FROM" --to 'carol@x.example, Dave <dave@XN--BCHER-KVA.EXAMPLE>' "$T/body.txt"
is "an upper-case A-label that decodes is kept, lower case" "$(pycheck addresses To <"$T/out" | tr '\n' ' ')" \
    'carol@x.example dave@xn--bcher-kva.example '
refused "a list with ';' says to separate addresses with commas" 65 "separate addresses with commas" \
    mime-compose --from "$FROM" --to 'a@x.example; b@y.example' "$T/body.txt"
{ printf 'From: ann@example.org\nTo: '; for _ in $(seq 1000); do printf 'g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:g:'; done
  printf 'a@b.example'; for _ in $(seq 1000); do printf ';;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;'; done; printf '\n\nbody\n'; } >"$T/deep.draft"
refused "groups nested 50,000 deep are refused before parsing" 65 "a group inside a group" \
    mime-compose --draft <"$T/deep.draft"
{ printf 'From: ann@example.org\nCc: '; for _ in $(seq 1000); do printf '(((((((((((((((((((((((((((((((((((((((((((((((((('; done
  printf 'a@b.example'; for _ in $(seq 1000); do printf '))))))))))))))))))))))))))))))))))))))))))))))))))'; done; printf '\n\nbody\n'; } >"$T/deep.draft"
refused "comments nested 50,000 deep are refused before parsing" 65 "comments nested deeper than" \
    mime-compose --draft <"$T/deep.draft"

# --- RFC 5322 3.6.2: no Sender that only repeats the one author
run mime-compose --from "$FROM" --sender 'Ann <ann@EXAMPLE.org>' --to bob@example.com "$T/body.txt"
is "a Sender equal to the one From is not written" "$rc|$(grep -c '^Sender:' "$T/out")" "0|0"
run mime-compose --from "$FROM" --sender 'sec@example.org' --to bob@example.com "$T/body.txt"
is "a Sender other than From is written" "$(pycheck header Sender <"$T/out")" "sec@example.org"
run mime-compose --from 'a@example.org, b@example.org' --sender a@example.org "$T/body.txt"
is "with several From, the Sender among them is written" "$(pycheck header Sender <"$T/out")" "a@example.org"

# --- control characters from input are escaped in error messages
refused "a file name with control characters is shown escaped, on one line" 66 \
    'nosuch\x1b]0;owned\x07\nline' mime-compose --from "$FROM" "$T/nosuch"$'\e]0;owned\a\nline'
ok "... and stderr holds no control character" sh -c "! LC_ALL=C grep -q '[[:cntrl:]]' '$T/err'"
refused "an address with a bidi override is shown escaped" 65 'x\u202e@example.org' \
    mime-compose --from "$FROM" --to $'x\xe2\x80\xae@example.org' "$T/body.txt"

# --- any locale: arguments are UTF-8 bytes under cron's bare environment
BARE=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$BUILDDIR/tools/mime-compose")
run "${BARE[@]}" --from "$FROM" --to 'Zoë <zoe@bücher.example>' --subject 'Grüße 季度' "$T/body.txt"
is "env -i (no LANG): non-ASCII arguments are read as UTF-8" \
    "$rc|$(pycheck header From <"$T/out")|$(pycheck header Subject <"$T/out")" \
    "0|Ann Müller <ann@example.org>|Grüße 季度"
refused "env -i: an argument that is not UTF-8 is refused naming the option" 64 \
    "--subject: the value is not valid UTF-8" \
    "${BARE[@]}" --from "$FROM" --subject "$(printf 'caf\xe9')" "$T/body.txt"
refused "a --to that is not UTF-8 is refused naming the option" 64 "--to:" \
    mime-compose --from "$FROM" --to "$(printf 'b\xffb@example.com')" "$T/body.txt"

# --- large bodies: read once, then copied (7bit) or encoded by mimepipe's
# own encoders (the bytes GMime writes: tests/unit/test-part.c, test-qp.c)
$PY -c 'import sys
sys.stdout.buffer.write((b"%075d\n" % 7) * 40000)' >"$T/big7.txt"
mime-compose --from "$FROM" --to bob@example.com "$T/big7.txt" >"$T/big7.eml"
cat "$T/big7.txt" | mime-compose --from "$FROM" --to bob@example.com >"$T/big7p.eml"
pycheck part 0 <"$T/big7.eml" >"$T/big7.out"
ok "a 3 MB ASCII body goes out 7bit and decodes to its bytes" sh -c \
    "grep -q '^Content-Transfer-Encoding: 7bit\$' '$T/big7.eml' && cmp -s '$T/big7.txt' '$T/big7.out'"
ok "the same body from a pipe (spooled) gives the same message" cmp -s "$T/big7.eml" "$T/big7p.eml"
$PY -c 'import sys
line = "Grüße aus Köln: ein Satz über achtzig Zeichen, der weich umbrochen werden muss, am Ende ein Blank \r\n"
sys.stdout.buffer.write(line.encode() * 30000)' >"$T/bigqp.txt"
mime-compose --from "$FROM" --to bob@example.com "$T/bigqp.txt" >"$T/bigqp.eml"
cat "$T/bigqp.txt" | mime-compose --from "$FROM" --to bob@example.com >"$T/bigqpp.eml"
pycheck part 0 <"$T/bigqp.eml" >"$T/bigqp.out"
tr -d '\r' <"$T/bigqp.txt" >"$T/bigqp.lf"
ok "a 3 MB CRLF body with long lines goes out quoted-printable and decodes to its text with LF" \
    sh -c "grep -q '^Content-Transfer-Encoding: quoted-printable\$' '$T/bigqp.eml' &&
           cmp -s '$T/bigqp.lf' '$T/bigqp.out' && awk 'length > 78 { exit 1 }' '$T/bigqp.eml'"
ok "the same QP body from a pipe gives the same message" cmp -s "$T/bigqp.eml" "$T/bigqpp.eml"
printf 'caf\303' >"$T/cut.txt"
refused "a body whose last character is cut short is refused at its offset" 65 \
    "invalid UTF-8 at byte 3 (a character cut short at the end)" \
    mime-compose --from "$FROM" "$T/cut.txt"

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
