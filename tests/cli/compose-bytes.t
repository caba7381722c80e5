#!/bin/bash
# mime-compose, byte for byte: the messages written before it stopped
# using GMime (issue 21), kept in tests/cli/compose-bytes/ (NAME.eml: the
# message; NAME.err: exit status and stderr of a refusal), must come out
# the same for every option combination with a fixed --seed (or
# SOURCE_DATE_EPOCH, which lib.sh sets).  Two bodies of 200 MB are
# compared by their SHA-256 and must take bounded memory.
#
# MP_COMPOSE_BYTES_WRITE=DIR MP_COMPOSE=/path/to/mime-compose writes the
# expected files into DIR instead (how they were made, from the binary of
# main before issue 21's change).
. "$SRCDIR/tests/cli/lib.sh"

EXP="$SRCDIR/tests/cli/compose-bytes"
COMPOSE=${MP_COMPOSE:-mime-compose}
WRITE=${MP_COMPOSE_BYTES_WRITE:-}
export TZ=UTC

# --- inputs
printf 'Hello,\n\nthe report is attached.\n\nBye\n' >"$T/plain.txt"
printf '你好，\n季度报告见附件。\nGrüße aus Köln\n' >"$T/utf8.txt"
{ printf 'short line\n'; printf 'x%.0s' $(seq 200); printf '\nend \n'; } >"$T/long.txt"
{ printf 'A very long line with ümlauts: '; printf 'ä%.0s' $(seq 600); printf '\n'; } >"$T/long8.txt"
printf 'one\r\ntwo\r\nthree\r\n' >"$T/crlf.txt"
printf 'caf\xe9 cr\xe8me br\xfbl\xe9e\n' >"$T/latin1.txt"
printf '\x93\xfa\x96\x7b\x8c\xea\n' >"$T/sjis.txt"
printf 'a\x00b\n' >"$T/nul.txt"
printf 'no final newline' >"$T/nofinal.txt"
printf 'bare\rcr\n' >"$T/barecr.txt"
printf 'trailing blanks   \n\tand tabs\t\nFrom the start\n.\n' >"$T/blanks.txt"
printf 'ĉiuĵaŭde ŝi ĝojas pri ĥoro, ĉiuĵaŭde ŝi ĝojas pri ĥoro\n' >"$T/mostly8.txt"
printf 'Привет, как дела? Всё хорошо, спасибо.\n' >"$T/cyr.txt"
printf 'bad \xff utf-8\n' >"$T/bad.txt"
: >"$T/empty.txt"
printf '<html><body><h1>Report</h1><p>See <b>the</b> <a href="https://example.org/r">report</a>.</p>\n<ul><li>one</li><li>two</li></ul></body></html>\n' >"$T/page.html"
printf '<p>Gr\xfc\xdfe</p>\n' >"$T/latin1.html"
printf '<p>A picture: <img src="pic.png"></p>\n' >"$T/img.html"
printf 'From: Ann <ann@example.org>\nTo: bob@example.com,\n  carol@example.net\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= and more\nX-Mailer: draft test\n\nThe body\nof the draft.\n' >"$T/draft.txt"
printf 'From: Ann <ann@example.org>\r\nSubject: crlf draft\r\n\r\nline one\r\nline two\r\n' >"$T/draftcrlf.txt"
printf 'From: ann@example.org\nContent-Type: text/html\n\nx\n' >"$T/draftbad.txt"
many=
for i in $(seq 60); do many="$many${many:+, }Person Number $i <person.$i@example.org>"; done

F='Ann Müller <ann@example.org>'
S=(--seed s1 --date @1700000000 --from "$F")

# case NAME STDIN ARGS...: mime-compose ARGS with STDIN (a file, or - for
# none) gives NAME.eml, or is refused as NAME.err says
case_() {
    _name=$1 _in=$2
    shift 2
    [ "$_in" = - ] && _in=/dev/null
    "$COMPOSE" "$@" <"$_in" >"$T/out" 2>"$T/err"
    rc=$?
    if [ -n "$WRITE" ]; then
        if [ "$rc" = 0 ]; then
            cp "$T/out" "$WRITE/$_name.eml"
        else
            { echo "exit $rc"; sed "s/^[^:]*mime-compose: /mime-compose: /; s|$T/|T/|g" "$T/err"; } >"$WRITE/$_name.err"
        fi
        _report 0 "$_name: written"
        return
    fi
    if [ -f "$EXP/$_name.eml" ]; then
        if [ "$rc" = 0 ] && cmp -s "$T/out" "$EXP/$_name.eml"; then
            _report 0 "$_name: the same bytes"
        else
            _report 1 "$_name: the same bytes"
            echo "# exit $rc: $(head -c 300 "$T/err")"
            diff "$EXP/$_name.eml" "$T/out" | head -10 | sed 's/^/# /'
        fi
    else
        { echo "exit $rc"; sed "s/^[^:]*mime-compose: /mime-compose: /; s|$T/|T/|g" "$T/err"; } >"$T/got.err"
        if [ ! -s "$T/out" ] && cmp -s "$T/got.err" "$EXP/$_name.err"; then
            _report 0 "$_name: refused as before"
        else
            _report 1 "$_name: refused as before"
            diff "$EXP/$_name.err" "$T/got.err" | head -6 | sed 's/^/# /'
        fi
    fi
}

plan 92

# --- bodies and their encodings
case_ plain - "${S[@]}" --to bob@example.com --subject Report "$T/plain.txt"
case_ utf8 - "${S[@]}" --to bob@example.com --subject 'Quarterly report 季度报告' "$T/utf8.txt"
case_ long-qp - "${S[@]}" "$T/long.txt"
case_ long-8bit-qp - "${S[@]}" --8bit "$T/long8.txt"
case_ utf8-8bit - "${S[@]}" --8bit "$T/utf8.txt"
case_ mostly-8bit-b64 - "${S[@]}" "$T/mostly8.txt"
case_ cyrillic - "${S[@]}" "$T/cyr.txt"
case_ crlf-in - "${S[@]}" "$T/crlf.txt"
case_ crlf-out - "${S[@]}" --crlf "$T/plain.txt"
case_ crlf-in-out - "${S[@]}" --crlf "$T/crlf.txt"
case_ crlf-out-qp - "${S[@]}" --crlf "$T/long.txt"
case_ crlf-out-b64 - "${S[@]}" --crlf "$T/mostly8.txt"
case_ latin1 - "${S[@]}" --charset latin1 "$T/latin1.txt"
case_ latin1-8bit - "${S[@]}" --charset iso-8859-1 --8bit "$T/latin1.txt"
case_ cp1252 - "${S[@]}" --charset cp1252 "$T/latin1.txt"
case_ sjis - "${S[@]}" --charset sjis "$T/sjis.txt"
case_ latin1-nul - "${S[@]}" --charset latin1 "$T/nul.txt"
case_ nul-refused - "${S[@]}" "$T/nul.txt"
case_ bad-utf8-refused - "${S[@]}" "$T/bad.txt"
case_ bad-sjis-refused - "${S[@]}" --charset shift_jis "$T/latin1.txt"
case_ unknown-charset-refused - "${S[@]}" --charset klingon "$T/plain.txt"
case_ no-final-newline - "${S[@]}" "$T/nofinal.txt"
case_ bare-cr - "${S[@]}" "$T/barecr.txt"
case_ blanks - "${S[@]}" "$T/blanks.txt"
case_ empty - "${S[@]}" "$T/empty.txt"
case_ stdin "$T/utf8.txt" "${S[@]}"
case_ stdin-empty - "${S[@]}"
case_ output-file - "${S[@]}" -o "$T/o.eml" "$T/plain.txt"
cp "$T/o.eml" "$T/out" 2>/dev/null
if [ -n "$WRITE" ]; then cp "$T/o.eml" "$WRITE/output-file-o.eml"; fi
ok "output-file: -o holds the message" cmp -s "$T/o.eml" "$EXP/output-file-o.eml"

# --- HTML
case_ html-text - "${S[@]}" --html "$T/page.html" "$T/plain.txt"
case_ html-rendered - "${S[@]}" --html "$T/page.html" "$T/empty.txt"
case_ html-no-text - "${S[@]}" --html "$T/page.html" --no-text "$T/empty.txt"
case_ html-stdin-rendered "$T/empty.txt" "${S[@]}" --html "$T/page.html"
case_ html-latin1 - "${S[@]}" --charset latin1 --html "$T/latin1.html" "$T/latin1.txt"
case_ html-latin1-rendered - "${S[@]}" --charset latin1 --html "$T/latin1.html" "$T/empty.txt"
case_ html-crlf - "${S[@]}" --crlf --html "$T/page.html" "$T/crlf.txt"
case_ html-8bit - "${S[@]}" --8bit --html "$T/page.html" "$T/utf8.txt"
case_ html-local-image - "${S[@]}" --html "$T/img.html" "$T/plain.txt"
case_ html-missing-refused - "${S[@]}" --html "$T/nope.html" "$T/plain.txt"

# --- drafts
case_ draft "$T/draft.txt" --seed s1 --date @1700000000 --draft
case_ draft-file - --seed s1 --date @1700000000 --draft "$T/draft.txt"
case_ draft-crlf "$T/draftcrlf.txt" --seed s1 --date @1700000000 --draft
case_ draft-options "$T/draft.txt" --seed s1 --date @1700000000 --draft --cc dave@example.org --subject 'Replaced'
case_ draft-html "$T/draft.txt" --seed s1 --date @1700000000 --draft --html "$T/page.html"
case_ draft-bad-refused "$T/draftbad.txt" --seed s1 --draft

# --- addresses
case_ many-recipients - "${S[@]}" --to "$many" --cc "$many" "$T/plain.txt"
case_ names - "${S[@]}" --to 'Bob  Smith <bob@example.com>, "Smith, J." <j@example.com>, "Bob" Smith <b2@example.com>, Bob (the man) Smith <b3@example.com>, k@example.com (Kay Kay), <bare@example.com>, "  spaced  " <s@example.com>, "a\"b" <q@example.com>, Jo.Doe <jd@example.com>, A <x@example.com> (after)' "$T/plain.txt"
case_ encoded-names - "${S[@]}" --to '=?utf-8?q?J=C3=B6rg?= <j@example.com>, =?iso-8859-1?q?J=F6rg?= Two <j2@example.com>, =?utf-8?b?5a2j5bqm?= =?utf-8?b?5oql5ZGK?= <c@example.com>' "$T/plain.txt"
case_ utf8-names - "${S[@]}" --to 'Zoë Jürgens <zoe@bücher.example>, 季度 报告 <r@example.com>' --cc '"Grüße, Jürgen" <g@example.com>, Jürgen Grüße <g2@example.com>' "$T/plain.txt"
case_ groups - "${S[@]}" --to 'Team: a@example.com, B <b@example.com>;, c@example.com' --cc 'Empty:;' --bcc 'Lists Ünd: l@example.com;' "$T/plain.txt"
case_ odd-encoded-words - "${S[@]}" --to '=?utf-8?q?bad	=?iso-8859-1?q?J=F6rg?=	(=?utf-8?b?5a2j5bqm?=) <"john smith"@example.org> (x), Zoë	Doe	=?utf-8?q?J=C3=B6rg?= <a.b@XN--BCHER-KVA.example>' --cc '"=?iso-8859-1?q?J=F6rg?=, Ann" <c@example.org>, A=?x?= B <d@example.org>, x=?utf-8?q?J=C3=B6rg?=y <e@example.org>' "$T/plain.txt"
case_ odd-groups - "${S[@]}" --to 'A=?x?=: O'"'"'Neil  =?utf-8?q?J=C3=B6rg?=  Zoë <ANN@example.org>, "Zoë" O'"'"'Neil a+b: x+y@sub.example.COM, (O'"'"'Neil) 季度 Ann <bob@[192.0.2.1]>, a+b	=?utf-8?q?bad <bob@sub.example.COM>;' "$T/plain.txt"
case_ quoted-local - "${S[@]}" --to '"john smith"@example.com, "x"@[192.0.2.1]' "$T/plain.txt"
case_ idn - --seed s1 --date @1700000000 --from 'Ann <ann@bücher.example>' --to 'Dave <dave@XN--BCHER-KVA.EXAMPLE>' "$T/plain.txt"
case_ long-name - "${S[@]}" --to "$(printf 'Wörter%.0s ' $(seq 30))<long@example.com>" "$T/plain.txt"
case_ several-from-sender - "${S[@]}" --from 'b@example.com' --sender 'ann@example.org' "$T/plain.txt"
case_ unquoted-comma-refused - "${S[@]}" --cc 'Grüße, Jürgen <g@example.com>' "$T/plain.txt"
case_ sender-is-from - --seed s1 --date @1700000000 --from 'Ann <ann@example.org>' --sender 'ann@EXAMPLE.org' "$T/plain.txt"
case_ sender-other - "${S[@]}" --sender 'Sec <sec@example.org>' --reply-to 'list@example.org' --bcc 'hidden@example.org' "$T/plain.txt"
case_ several-from-refused - "${S[@]}" --from 'b@example.com' "$T/plain.txt"
case_ no-from-refused - --seed s1 "$T/plain.txt"
case_ bad-address-refused - "${S[@]}" --to 'not an address' "$T/plain.txt"
case_ semicolon-refused - "${S[@]}" --to 'a@example.com; b@example.com' "$T/plain.txt"
case_ nested-group-refused - "${S[@]}" --to 'g: h: a@example.com;;' "$T/plain.txt"
case_ bad-idn-refused - "${S[@]}" --to 'x@XN--ABC.example' "$T/plain.txt"
case_ group-from-msgid - --seed s1 --date @1700000000 --from 'Team: t@team.example, u@team.example;' --sender 't@team.example' "$T/plain.txt"

# --- other fields
case_ subject-long - "${S[@]}" --subject "Grüße aus Köln – $(printf 'ein langer Betreff %.0s' $(seq 8))" "$T/plain.txt"
case_ subject-ascii-ew - "${S[@]}" --subject 'not =?an?= encoded word, and "quotes" (parens)' "$T/plain.txt"
case_ subject-cjk - "${S[@]}" --subject '季度报告季度报告季度报告季度报告季度报告季度报告季度报告季度报告季度报告' "$T/plain.txt"
case_ headers - "${S[@]}" -H 'X-Mailer: mimepipe' -H 'Keywords: a, b' -H 'Comments: Grüße' -H 'Resent-Date: Wed, 31 Jan 2024 10:00:00 +0100' -H 'Resent-To: Ré <r@example.com>' -H 'Resent-Message-ID: <r1@example.com>' "$T/plain.txt"
case_ ids - "${S[@]}" --message-id 'm1@example.org' --in-reply-to '<p1@example.org>' --references '<r1@example.org> <r2@example.org>' --references 'r3@example.org' "$T/plain.txt"
case_ no-message-id - "${S[@]}" --no-message-id "$T/plain.txt"
case_ content-type-refused - "${S[@]}" -H 'Content-Type: text/html' "$T/plain.txt"
case_ bad-msgid-refused - "${S[@]}" --in-reply-to 'no id' "$T/plain.txt"
case_ header-injection-refused - "${S[@]}" --subject $'a\nBcc: x@example.com' "$T/plain.txt"
case_ template - "${S[@]}" --template --to '{{name}} <{{email}}>' --cc 'Fixed <f@example.com>' -H 'X-Id: {{id}}' --subject 'Hello {{name}}' "$T/plain.txt"

# --- dates
case_ date-rfc5322 - --seed s1 --from "$F" --date 'Wed, 31 Jan 2024 10:00:00 +0100' "$T/plain.txt"
case_ date-no-zone - --seed s1 --from "$F" --date 'Mon, 15 Jan 2024 09:30:00' "$T/plain.txt"
case_ date-obsolete - --seed s1 --from "$F" --date '15 Jan 24 09:30 EST' "$T/plain.txt"
case_ date-comment - --seed s1 --from "$F" --date 'Tue, 3 Dec 2026 5:30 +0000 (UTC)' "$T/plain.txt"
case_ date-iso - --seed s1 --from "$F" --date '2024-07-15T09:30:00+02:00' "$T/plain.txt"
case_ date-numeric - --seed s1 --from "$F" --date '2024-01-15 09:30 -0800' "$T/plain.txt"
case_ date-epoch - --seed s1 --from "$F" "$T/plain.txt"
case_ date-lenient - --seed s1 --from "$F" --date '15-Jan-2024 9:30 pm CET (junk) +01:00 # x'  "$T/plain.txt"
case_ date-no-time - --seed s1 --from "$F" --date '31 Jan 2024' "$T/plain.txt"
case_ date-bad-refused - --seed s1 --from "$F" --date 'garbage' "$T/plain.txt"
TZ=America/New_York case_ date-local-tz - --seed s1 --from "$F" --date '2024-07-15 09:30' "$T/plain.txt"
case_ seed-other - --seed other --date @1700000000 --from "$F" --html "$T/page.html" "$T/plain.txt"

# --- 200 MB bodies: the same bytes, in bounded memory
"$PY" -c '
import sys
line = "Ünïcödé text, line after line, with a few words to pad it out....\n".encode()
sys.stdout.buffer.write(line * (200 * 1024 * 1024 // len(line)))' >"$T/huge.txt"
/usr/bin/time -f '%M' -o "$T/mem" "$COMPOSE" "${S[@]}" "$T/huge.txt" | sha256sum | cut -d' ' -f1 >"$T/sum"
if [ -n "$WRITE" ]; then cp "$T/sum" "$WRITE/huge-qp.sha256"; fi
is "huge-qp: 200 MB of UTF-8 text, quoted-printable, the same bytes" "$(cat "$T/sum")" "$(cat "$EXP/huge-qp.sha256")"
ok "huge-qp: in under 64 MB of memory (used $(cat "$T/mem") kB)" test "$(cat "$T/mem")" -lt 65536
"$PY" -c '
import sys
line = ("Привет мир " * 6 + "\n").encode()
sys.stdout.buffer.write(line * (200 * 1024 * 1024 // len(line)))' | \
    /usr/bin/time -f '%M' -o "$T/mem" "$COMPOSE" "${S[@]}" --crlf | sha256sum | cut -d' ' -f1 >"$T/sum"
if [ -n "$WRITE" ]; then cp "$T/sum" "$WRITE/huge-b64-pipe-crlf.sha256"; fi
is "huge-b64: 200 MB of Cyrillic from a pipe, base64, CRLF, the same bytes" "$(cat "$T/sum")" "$(cat "$EXP/huge-b64-pipe-crlf.sha256")"
ok "huge-b64: in under 64 MB of memory (used $(cat "$T/mem") kB)" test "$(cat "$T/mem")" -lt 65536

done_testing
