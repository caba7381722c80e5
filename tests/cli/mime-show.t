#!/bin/bash
# mime-show: IMAP section numbers through forwarded messages, decoded
# headers and file names, the readable text (charsets, HTML, terminal
# safety), --json, and the errors a reader must give.
. "$SRCDIR/tests/cli/lib.sh"

plan 37
cd "$T" || exit 1

# A message with every kind of nesting RFC 3501 6.4.5 numbers.
cat >nested.eml <<'MSG'
From: =?utf-8?q?Ann_M=C3=BCller?= <ann@example.org>
To: bob@example.com
Subject: =?utf-8?b?5a2j5bqm5oql5ZGK?= report
Date: Mon, 1 Jan 2024 00:00:00 +0000
X-Extra: kept for --headers all
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Gr=FC=DFe aus K=F6ln
--outer
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain

alt text
--alt
Content-Type: text/html

<p>alt html</p>
--alt--
--outer
Content-Type: message/rfc822

From: carol@example.org
Subject: inner
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="in"

--in
Content-Type: text/plain

inner text
--in
Content-Type: image/png
Content-Disposition: attachment; filename*=utf-8''%E2%9C%93%20chart.png
Content-ID: <chart@example.org>
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--in--
--outer
Content-Type: message/rfc822

From: dave@example.org
Subject: single

only body
--outer
Content-Type: application/octet-stream; name="=?utf-8?q?r=C3=A9sum=C3=A9?=.bin"
Content-Transfer-Encoding: base64

AAEC
--outer--
MSG

run mime-show --tree nested.eml
is "tree_exits_0" "$rc" 0
is "imap_section_numbers_through_forwarded_messages" \
    "$(awk '{print $1}' out | tr '\n' ' ')" \
    "TEXT 1 2 2.1 2.2 3 3.TEXT 3.1 3.2 4 4.1 5 "
is "types_in_document_order" "$(awk '{print $2}' out | tr '\n' ' ')" \
    "multipart/mixed text/plain multipart/alternative text/plain text/html message/rfc822 multipart/mixed text/plain image/png message/rfc822 text/plain application/octet-stream "
ok "rfc2231_file_name_decoded" grep -q '^3.2 .* filename="✓ chart.png"' out
ok "rfc2047_name_in_content_type_decoded" grep -q '^5 .*filename="résumé.bin"' out
ok "content_id_and_disposition_shown" grep -q '^3.2 .*disposition=attachment .*id=<chart@example.org>' out
ok "decoded_size_of_base64_part" grep -q '^3.2 .*size=8$' out
ok "decoded_size_of_qp_part" grep -q '^1 .*charset=iso-8859-1 encoding=quoted-printable size=14$' out
ok "containers_have_no_size" bash -c "! grep -q '^TEXT .*size=' out"

run mime-show nested.eml
is "default_exits_0" "$rc" 0
is "main_headers_decoded_in_their_order" "$(sed -n '1,4p' out)" \
    "From: Ann Müller <ann@example.org>
To: bob@example.com
Subject: 季度报告 report
Date: Mon, 1 Jan 2024 00:00:00 +0000"
ok "other_fields_not_shown_by_default" bash -c "! grep -q '^X-Extra' out"
is "text_converted_from_latin1_to_utf8" "$(tail -1 out)" "Grüße aus Köln"

run mime-show --headers all --text nested.eml
is "text_only_is_the_body_text" "$(cat out)" "Grüße aus Köln"
run mime-show --headers all nested.eml
ok "headers_all_shows_every_field" grep -qx 'X-Extra: kept for --headers all' out
ok "headers_all_shows_mime_fields" grep -q '^Content-Type: multipart/mixed' out
run mime-show --headers subject,x-extra nested.eml
is "headers_list_case_insensitive" "$(sed -n '1,2p' out)" "Subject: 季度报告 report
X-Extra: kept for --headers all"
run mime-show --headers none nested.eml
is "headers_none_starts_with_the_tree" "$(head -c 4 out)" "TEXT"

# the same bytes from a pipe and from a file, and with -o FILE
mime-show nested.eml >file.out
# shellcheck disable=SC2002 # a pipe is the point
cat nested.eml | mime-show >pipe.out
ok "pipe_gives_the_same_output_as_a_file" cmp file.out pipe.out
run mime-show -o o.txt nested.eml
ok "output_file_holds_what_stdout_would" cmp o.txt file.out

# --json: every part, decoded, with the documented members
run mime-show --json nested.eml
is "json_exits_0" "$rc" 0
is "json_parts_and_text" "$("$PYRUN" -c '
import json, sys
d = json.load(open(sys.argv[1]))
p = {x["section"]: x for x in d["parts"]}
print(d["version"], d["text"], len(d["parts"]), p["3.2"]["filename"],
      p["3.2"]["size"], p["3.2"]["content_id"], p["3.1"]["parent"],
      p["3.TEXT"]["parent"], p["3"]["kind"], p["TEXT"]["size"],
      [h["value"] for h in p["3"]["headers"] if h["name"] == "Subject"],
      [h["value"] for h in d["headers"] if h["name"] == "Subject"])' out)" \
    "1 1 12 ✓ chart.png 8 chart@example.org 3.TEXT 3 message None ['inner'] ['季度报告 report']"

# windows-1255 holds a letter back for a combining mark that may follow:
# the last one of the text is shown too
printf 'From: a@example.org\nContent-Type: text/plain; charset=windows-1255\n\n\371\354\345\355' >hebrew.eml
run mime-show --text hebrew.eml
is "last_letter_of_a_windows_1255_text_shown" "$(sed '/^$/d' out)" "שלום"

# HTML only: shown as text, script and tags gone, entities decoded
cat >html.eml <<'MSG'
From: a@example.org
Content-Type: text/html; charset=utf-8

<html><head><title>t</title><style>p {color: red}</style></head>
<body><script>alert(1)</script><p>Tom &amp; Jerry&nbsp;&#8212; &lt;ok&gt;</p><p>second<br>line</p></body></html>
MSG
run mime-show --text html.eml
is "html_only_shown_as_text" "$(sed '/^$/d' out)" "Tom & Jerry — <ok>
second
line"

# terminal safety: escape sequences and CR in the text do not reach it
printf 'From: a@example.org\nSubject: =?utf-8?q?x=1B[31my?=\n\nred \033[31m here\r\nnext\r\n' >esc.eml
run mime-show esc.eml
is "escape_in_text_and_subject_replaced" "$(grep -c $'\033' out):$(grep -c 'red �\[31m here' out)" "0:1"
is "crlf_text_shown_with_lf" "$(grep -c $'\r' out)" 0

# a header block mime-header refuses (a bare CR) is still shown
printf 'From: a@example.org\nSubject: bare\rcr\nTo: b@example.org\n\nhi\n' >cr.eml
run mime-show cr.eml
is "bare_cr_header_block_still_shown" "$rc:$(sed -n '1p;3p' out | tr '\n' '|')" \
    "0:From: a@example.org|To: b@example.org|"

# a uuencoded block inside a text part is listed as a part
printf 'From: a@example.org\n\nSee the file.\nbegin 644 hi.txt\n#:&D*\n`\nend\nbye\n' >uu.eml
run mime-show --tree uu.eml
is "uuencoded_block_listed" "$(sed -n 2p out)" \
    "1.uu1    application/octet-stream encoding=x-uuencode disposition=attachment filename=\"hi.txt\" size=3"

# errors: the documented exit codes, one line, nothing on stdout
refused "missing_file_exit_66" 66 "nope.eml" mime-show nope.eml
refused "empty_input_exit_65" 65 "empty input" mime-show </dev/null
printf 'From: a@example.org\nContent-Type: multipart/mixed; boundary="b"\n\n--b\n\nhi\n' >unclosed.eml
run mime-show --tree unclosed.eml
is "truncated_message_shown_with_the_cut_parts_marked" "$rc:$(cat out)" \
    "0:TEXT  multipart/mixed truncated
1       text/plain size=3 truncated"
run mime-show --json unclosed.eml
is "truncated_in_json" "$("$PYRUN" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["truncated"], [p["truncated"] for p in d["parts"]])' out)" "True [True, True]"
"$PYRUN" -c '
import sys
n = 1000
s = "From: a@example.org\nMIME-Version: 1.0\n"
for i in range(n):
    s += "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n" % (i, i)
s += "Content-Type: text/plain\n\nhi\n"
for i in reversed(range(n)):
    s += "--b%d--\n" % i
open("deep.eml", "w").write(s)'
refused "nesting_1000_deep_exit_65" 65 "nested more than" mime-show deep.eml
refused "two_files_exit_64" 64 "b: unexpected argument (at most 1 operand" mime-show a b
refused "tree_and_json_exclude_each_other" 64 "exclude" mime-show --tree --json nested.eml
run mime-show -V
is "short_V_is_version" "$(cat out)" "$(mime-show --version)"
run mime-show --tree --headers=all --text nested.eml
is "tree_and_text_exclude_each_other_exit_64" "$rc" 64

done_testing
