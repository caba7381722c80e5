#!/bin/bash
# mime-header: every operation and query, byte fidelity of what it does not
# touch, decoding of real-world breakage, injection refused, bounded memory.
. "$SRCDIR/tests/cli/lib.sh"

plan 100

# A message whose header has everything a re-serialiser would change:
# folding with tabs, odd spacing, lower-case names, a repeated field.
printf '%s\n' \
    'From: Ann <ann@example.org>' \
    'to:   bob@example.com,' \
    '	carol@example.com' \
    'Subject:  Hello   world ' \
    'Received: from a by b;' \
    '        Mon, 1 Jan 2024 00:00:00 +0000' \
    'Received: from c by d; Mon, 1 Jan 2024 00:00:01 +0000' \
    'X-Odd:no-space' \
    '' \
    'Body line 1' \
    'Subject: not a header, the body' >"$T/m.eml"

# --- --add
run mime-header --add 'X-Tag: one' <"$T/m.eml"
is "--add exits 0" "$rc" 0
{ sed -n '1,8p' "$T/m.eml"; echo 'X-Tag: one'; sed -n '9,$p' "$T/m.eml"; } >"$T/want"
ok "--add appends at the end of the header, every other byte kept" cmp "$T/out" "$T/want"

# --- --set: first occurrence in place, the others deleted, else appended
run mime-header --set 'Received: new' <"$T/m.eml"
{ sed -n '1,4p' "$T/m.eml"; echo 'Received: new'; sed -n '8,$p' "$T/m.eml"; } >"$T/want"
ok "--set replaces the first occurrence in place and deletes the others" cmp "$T/out" "$T/want"
run mime-header --set 'SUBJECT: Bye' <"$T/m.eml"
{ sed -n '1,3p' "$T/m.eml"; echo 'SUBJECT: Bye'; sed -n '5,$p' "$T/m.eml"; } >"$T/want"
ok "--set matches names case-insensitively" cmp "$T/out" "$T/want"
run mime-header --set 'X-New: v' <"$T/m.eml"
{ sed -n '1,8p' "$T/m.eml"; echo 'X-New: v'; sed -n '9,$p' "$T/m.eml"; } >"$T/want"
ok "--set appends a field that is absent" cmp "$T/out" "$T/want"

# --- --delete
run mime-header --delete received --delete TO <"$T/m.eml"
{ sed -n '1p;4p;8,$p' "$T/m.eml"; } >"$T/want"
ok "--delete removes every occurrence with its continuation lines" cmp "$T/out" "$T/want"
run mime-header --delete X-Absent <"$T/m.eml"
ok "--delete of an absent field changes nothing" cmp "$T/out" "$T/m.eml"

# --- operations apply in the order given
run mime-header --add 'X-A: 1' --delete X-A <"$T/m.eml"
ok "--add then --delete leaves no field" cmp "$T/out" "$T/m.eml"
run mime-header --delete Subject --add 'Subject: again' --add 'X-B: 2' <"$T/m.eml"
{ sed -n '1,3p;5,8p' "$T/m.eml"; printf 'Subject: again\nX-B: 2\n'; sed -n '9,$p' "$T/m.eml"; } >"$T/want"
ok "--delete then --add: the new field at the end, in order" cmp "$T/out" "$T/want"
run mime-header --add 'X-C: 1' --set 'X-C: 2' <"$T/m.eml"
is "--set after --add replaces the added field" "$(grep -c '^X-C' "$T/out"):$(grep '^X-C' "$T/out")" '1:X-C: 2'

# --- line endings, mbox, messages without body or blank line
sed 's/$/\r/' "$T/m.eml" >"$T/crlf.eml"
run mime-header --add 'X-Tag: one' --set 'Subject: Grüße aus Köln, a long subject that must be folded somewhere' <"$T/crlf.eml"
ok "CRLF input: new fields and their folds use CRLF" bash -c \
    "! sed '/^\r\$/q' '$T/out' | grep -qv \$'\r\$' && grep -q \$'^X-Tag: one\r\$' '$T/out'"
ok "CRLF input: the body is untouched" cmp <(sed '1,/^\r$/d' "$T/out") <(sed '1,/^\r$/d' "$T/crlf.eml")
is "CRLF input: the folded subject decodes back" "$(pycheck header Subject <"$T/out")" \
    'Grüße aus Köln, a long subject that must be folded somewhere'
{ echo 'From ann@example.org Mon Jan  1 00:00:00 2024'; cat "$T/m.eml"; } >"$T/mbox.eml"
run mime-header --add 'X-Tag: one' <"$T/mbox.eml"
{ sed -n '1,9p' "$T/mbox.eml"; echo 'X-Tag: one'; sed -n '10,$p' "$T/mbox.eml"; } >"$T/want"
ok "an mbox From line is kept as it is" cmp "$T/out" "$T/want"
printf 'Subject: s\nTo: a@b\n' >"$T/nobody.eml"
run mime-header --add 'X-Tag: one' <"$T/nobody.eml"
is "no blank line, no body: field appended, nothing else added" "$(cat "$T/out")" \
    "$(printf 'Subject: s\nTo: a@b\nX-Tag: one')"
printf 'Subject: s\nTo: a@b' >"$T/nonl.eml"
run mime-header --add 'X-Tag: one' <"$T/nonl.eml"
is "input ending without a newline: output ends without one too" "$(tail -c 1 "$T/out")" 'e'
ok "input ending without a newline: the field is on its own line" grep -qx 'X-Tag: one' "$T/out"
printf '\nbody only\n' >"$T/empty-header.eml"
run mime-header --add 'X-Tag: one' <"$T/empty-header.eml"
is "an empty header block gets the field before the blank line" "$(cat "$T/out")" "$(printf 'X-Tag: one\n\nbody only')"
printf 'Subject: s\nthis line is no header\nmore\n' >"$T/nosep.eml"
run mime-header --add 'X-Tag: one' <"$T/nosep.eml"
is "a body without a blank line before it: the field goes before it" "$(cat "$T/out")" \
    "$(printf 'Subject: s\nX-Tag: one\nthis line is no header\nmore')"
refused "input with no header field is refused" 65 "no header fields" \
    sh -c "printf 'just text\n' | mime-header --add 'X-Tag: one'"
refused "empty input is refused (an earlier stage failed)" 65 "empty input" \
    sh -c "mime-header --add 'X-Tag: one' </dev/null"

# --- header-only work never parses the body
printf 'Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhalf a message\n' >"$T/broken.eml"
run mime-header --add 'X-Tag: one' <"$T/broken.eml"
is "a multipart without its closing delimiter passes untouched" "$rc:$(sed '/^X-Tag/d' "$T/out" | cmp - "$T/broken.eml" && echo same)" '0:same'

# --- queries
run mime-header --get subject <"$T/m.eml"
is "--get prints the value, unfolded, leading blanks stripped" "$(cat "$T/out")" 'Hello   world '
run mime-header --get Received <"$T/m.eml"
is "--get prints each occurrence on its own line" "$(cat "$T/out")" \
    "$(printf 'from a by b;        Mon, 1 Jan 2024 00:00:00 +0000\nfrom c by d; Mon, 1 Jan 2024 00:00:01 +0000')"
run mime-header --get X-Absent <"$T/m.eml"
is "--get of an absent field exits 1, prints nothing" "$rc:$(wc -c <"$T/out")" '1:0'
printf 'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus\n =?utf-8?b?S8O2bG4=?=\n\n' >"$T/enc.eml"
run mime-header --get Subject <"$T/enc.eml"
is "--get decodes encoded words" "$(cat "$T/out")" 'Grüße aus Köln'
run mime-header --get Subject --raw <"$T/enc.eml"
is "--raw --get prints the undecoded value" "$(cat "$T/out")" '=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus =?utf-8?b?S8O2bG4=?='
run mime-header --list <"$T/enc.eml"
is "--list prints every field decoded" "$(cat "$T/out")" 'Subject: Grüße aus Köln'
run mime-header --list <"$T/m.eml"
is "--list keeps order and names as written" "$(cut -d: -f1 "$T/out" | tr '\n' ' ')" \
    'From to Subject Received Received X-Odd '
run bash -c "set -o pipefail; { cat '$T/m.eml'; head -c 5000000 /dev/zero; } | mime-header --get Subject"
is "a query reads the rest of a pipe: the stage before ends normally" "$rc:$(cat "$T/out")" '0:Hello   world '
run mime-header --set 'Subject: changed' --get Subject <"$T/m.eml"
is "a query sees the edits before it" "$(cat "$T/out")" 'changed'

cat >"$T/addr.eml" <<'EOF'
From: "Doe, John" <john@example.org> (work)
To: Team: ann@example.org, "Bob B." <bob@example.org>;,
 =?utf-8?q?Zo=C3=AB?= <zoe@example.net>, carol@example.com (Carol),
 <@relay.example:dave@example.com>, "odd \"quoted\" local"@example.com
Cc: undisclosed-recipients:;

EOF
run mime-header --addresses To <"$T/addr.eml"
is "--addresses understands groups, comments, quoted and encoded names" "$(tr '\n' ' ' <"$T/out")" \
    'ann@example.org bob@example.org zoe@example.net carol@example.com dave@example.com "odd \"quoted\" local"@example.com '
is "--addresses agrees with Python's email" "$(cat "$T/out")" "$(pycheck addresses To <"$T/addr.eml")"
run mime-header --addresses From <"$T/addr.eml"
is "--addresses ignores commas in quoted names and comments" "$(cat "$T/out")" 'john@example.org'
run mime-header --addresses Cc <"$T/addr.eml"
is "--addresses of an empty group: nothing, exit 0" "$rc:$(wc -c <"$T/out")" '0:0'
run mime-header --addresses Bcc <"$T/addr.eml"
is "--addresses of an absent field exits 1" "$rc" 1
run mime-header --get From <"$T/addr.eml"
is "--get on an address field: names decoded and quoted, comments dropped" "$(cat "$T/out")" '"Doe, John" <john@example.org>'
run mime-header --get To <"$T/addr.eml"
is "--get on an address field agrees with Python's email" "$(cat "$T/out")" "$(pycheck header To <"$T/addr.eml")"

# --- encoding of new values
run mime-header --set 'Subject: Привет, мир' --add 'Cc: Zoë Jürgens <zoe@example.org>, bob@example.com' <"$T/nobody.eml"
ok "a non-ASCII value is encoded: the header stays 7-bit" sh -c "! LC_ALL=C grep -q '[^ -~]' '$T/out'"
is "the encoded value decodes back (Python)" "$(pycheck header Subject <"$T/out" | tail -1)" 'Привет, мир'
is "the encoded value decodes back (ours)" "$(mime-header --get Subject <"$T/out" | tail -1)" 'Привет, мир'
is "address fields: display name encoded, addresses untouched" "$(pycheck addresses Cc <"$T/out" | tr '\n' ' ')" \
    'zoe@example.org bob@example.com '
ok "address fields: the address is not inside an encoded word" grep -q '?= <zoe@example.org>' "$T/out"

# --- decoding cases from real-world breakage (each checked against Python's
# email where Python reads it, else against the expected text)
dec() { printf 'Subject: %s\n\n' "$1" >"$T/d.eml"; mime-header --get Subject <"$T/d.eml"; }
py() { pycheck header Subject <"$T/d.eml"; }
is "a character split between two encoded words" "$(dec '=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=')" 'café'
is "  ... as Python reads it" "$(py)" 'café'
is "a split character in base64 words" "$(dec '=?UTF-8?B?5pel5pys6Kqe4oCU5pel5g==?= =?UTF-8?B?nKzoqp4=?=')" '日本語—日本語'
is "a stateful charset split between words (ISO-2022-JP)" \
    "$(dec '=?iso-2022-jp?B?GyRCRnw=?= =?iso-2022-jp?B?S1w4bBsoQg==?=')" '日本語'
is "blanks between encoded words go, others stay" "$(dec '=?utf-8?q?a?=   =?utf-8?q?b?= c  =?utf-8?q?d?=')" 'ab c  d'
is "  ... as Python reads it" "$(py)" 'ab c  d'
is "encoded words inside a quoted string" "$(dec '"=?utf-8?q?J=C3=B6rg?=" <j@example.org>')" '"Jörg" <j@example.org>'
is "  ... as Python reads it" "$(py)" '"Jörg" <j@example.org>'
is "encoded words without blanks around them" "$(dec 'Re:=?utf-8?q?caf=C3=A9?=!')" 'Re:café!'
is "  ... as Python reads it" "$(py)" 'Re:café!'
is "an unknown charset: UTF-8 bytes kept" "$(dec '=?x-unknown?q?caf=C3=A9?=')" 'café'
is "  ... as Python reads it" "$(py)" 'café'
is "a mislabelled charset: replacement characters, no failure" "$(dec '=?us-ascii?q?caf=E9?=')" 'caf�'
is "  ... as Python reads it" "$(py)" 'caf�'
is "an RFC 2231 language in the charset" "$(dec '=?utf-8*de?q?Gr=C3=BC=C3=9Fe?=')" 'Grüße'
is "base64 without padding" "$(dec '=?utf-8?b?w6k?=')" 'é'
is "an ASCII lookalike that is not an encoded word stays" "$(dec '=?utf-8?x?abc?= =?broken')" '=?utf-8?x?abc?= =?broken'
is "  ... as Python reads it" "$(py)" '=?utf-8?x?abc?= =?broken'
is "raw 8-bit UTF-8" "$(dec 'Grüße')" 'Grüße'
is "raw 8-bit that is not UTF-8 reads as Latin-1" "$(dec "$(printf 'Gr\374\337e')")" 'Grüße'
is "an encoded line feed becomes a blank: one value, one line" "$(dec '=?utf-8?q?a=0Ab?=')" 'a b'
is "an encoded escape sequence never reaches the terminal" "$(dec '=?utf-8?q?=1B]0;pwned=07?=')" '�]0;pwned�'
is "Latin-1 labels read as windows-1252 (smart quotes)" "$(dec '=?iso-8859-1?q?=93Hi=94?=')" '“Hi”'

# --- header rules: RFC 5322 3.6 counts, 3.6.2 Sender, the multipart boundary
refused "--add of a second Subject is refused (RFC 5322 3.6)" 65 "Subject: the message has one already" \
    mime-header --add 'Subject: again' <"$T/m.eml"
refused "--add of a second To (any case) is refused" 65 "To:" mime-header --add 'To: dave@example.com' <"$T/m.eml"
run mime-header --add 'X-Tag: 1' --add 'X-Tag: 2' --add 'Cc: dave@example.com' <"$T/m.eml"
is "--add of fields that may repeat, or are absent, works" "$rc|$(grep -c '^X-Tag:' "$T/out")|$(pycheck header Cc <"$T/out")" \
    "0|2|dave@example.com"
refused "--set of several From without Sender is refused" 65 "need a Sender" \
    mime-header --set 'From: ann@example.org, bob@example.com' <"$T/m.eml"
run mime-header --set 'From: ann@example.org, bob@example.com' --set 'Sender: ann@example.org' <"$T/m.eml"
is "... and written with a Sender given after it" "$rc|$(pycheck header Sender <"$T/out")" "0|ann@example.org"
printf 'From: a@example.org, b@example.org\nSender: a@example.org\nSubject: s\n\nbody\n' >"$T/two-from.eml"
refused "--delete Sender leaving several From is refused" 65 "need a Sender" \
    mime-header --delete Sender <"$T/two-from.eml"
printf 'From: a@example.org, b@example.org\nSubject: s\n\nbody\n' >"$T/two-from.eml"
run mime-header --add 'X-Tag: 1' <"$T/two-from.eml"
is "a header we did not edit is not judged: several From kept as they came" "$rc" 0
printf '%s\n' 'From: a@example.org' 'MIME-Version: 1.0' 'Content-Type: multipart/mixed; boundary="b0"' '' \
    '--b0' 'Content-Type: text/plain' '' 'one' '--b0' 'Content-Type: text/plain' '' 'two' '--b0--' >"$T/multi.eml"
run mime-header --set 'Content-Type: multipart/alternative' <"$T/multi.eml"
is "--set Content-Type on a multipart keeps its boundary" \
    "$rc|$(pycheck tree <"$T/out" | tr '\n' '|')|$(pycheck defects <"$T/out")" \
    "0|multipart/alternative|  text/plain|  text/plain||"
refused "--set Content-Type: text/plain on a multipart is refused" 65 "would hide its parts" \
    mime-header --set 'Content-Type: text/plain' <"$T/multi.eml"
refused "--set Content-Type with another boundary is refused" 65 "boundary" \
    mime-header --set 'Content-Type: multipart/mixed; boundary=zz' <"$T/multi.eml"
refused "--add of a second Content-Type is refused" 65 "Content-Type" \
    mime-header --add 'Content-Type: text/plain' <"$T/multi.eml"

refused "a field name with control characters is shown escaped" 64 'Bad\x1b[2JName' \
    mime-header --delete $'Bad\e[2JName' <"$T/m.eml"

refused "an --add value that is not UTF-8 is refused naming the option (any locale)" 64 \
    "--add: the value is not valid UTF-8" \
    env -i PATH=/usr/bin:/bin "$BUILDDIR/tools/mime-header" --add "$(printf 'X-A: caf\351')" <"$T/m.eml"
run env -i PATH=/usr/bin:/bin "$BUILDDIR/tools/mime-header" --set 'Subject: Grüße 季度' <"$T/m.eml"
is "env -i: a non-ASCII --set value is read as UTF-8" "$rc|$(pycheck header Subject <"$T/out")" "0|Grüße 季度"

# --- injection and bad names: refused, nothing on stdout
refused "a value with LF is refused" 65 "line feed" mime-header --add $'X-A: a\nBcc: evil@example.com' <"$T/m.eml"
refused "a value with CR is refused" 65 "carriage return" mime-header --set $'Subject: a\rBcc: x' <"$T/m.eml"
refused "a name with a blank is refused" 64 "invalid header name" mime-header --add 'Bad Name: x' <"$T/m.eml"
refused "a name with non-ASCII is refused" 64 "invalid header name" mime-header --delete 'Grüße' <"$T/m.eml"
refused "--add without a colon is refused" 64 "expected" mime-header --add 'NoColon' <"$T/m.eml"
refused "a bad address in an address field is refused" 65 "Cc" mime-header --add 'Cc: not an address' <"$T/m.eml"
refused "no operation is a usage error" 64 "nothing to do" mime-header <"$T/m.eml"
refused "a Date that is not a date is refused" 65 "Date" mime-header --set 'Date: garbage' <"$T/m.eml"
run mime-header --set 'Date: 2024-01-31 10:00 +0100' <"$T/m.eml"
is "a Date is written as RFC 5322 wants it" "$(grep '^Date:' "$T/out")" "Date: Wed, 31 Jan 2024 10:00:00 +0100"
TZ=Asia/Kolkata run mime-header --set 'Date: Wed, 31 Jan 2024 10:00' <"$T/m.eml"
is "a Date without an offset is local time per TZ" "$(grep '^Date:' "$T/out")" "Date: Wed, 31 Jan 2024 10:00:00 +0530"
refused "a write error is reported" 74 "No space left" sh -c "mime-header --add 'X: 1' <'$T/m.eml' >/dev/full"

# --- -o FILE
run mime-header -o "$T/o.eml" --add 'X-Tag: one' <"$T/m.eml"
is "-o writes the file and nothing on stdout" "$rc:$(wc -c <"$T/out"):$(grep -c '^X-Tag: one$' "$T/o.eml")" '0:0:1'

# --- big and odd inputs
{ printf 'X-Long: '; head -c 1048576 /dev/zero | tr '\0' 'a'; printf '\n'
  for i in $(seq 10000); do printf 'X-H%d: value %d\n' "$i" "$i"; done
  printf '\nbody\n'; } >"$T/huge-header.eml"
run mime-header --set 'X-H5000: changed' <"$T/huge-header.eml"
is "a 1 MB line and 10,000 fields: the edit lands in place" \
    "$(diff "$T/out" "$T/huge-header.eml" | grep -c '^[<>]')" 2
run mime-header --get X-H9999 <"$T/huge-header.eml"
is "a 1 MB line and 10,000 fields: queries work" "$(cat "$T/out")" 'value 9999'

{ printf 'Subject: '; for i in $(seq 2000); do printf '=?a?q?=?a?q?=?a?q?=?a?q?=?a?q?'; done; printf '\n\n'; } >"$T/flood.eml"
run mime-header --get Subject <"$T/flood.eml"
is "a value full of encoded-word starts that never end is kept as text" "$(wc -c <"$T/out")" 60001
refused "more than 100,000 fields is refused, not read without bound" 65 "more than 100000 header fields" \
    sh -c "yes 'A: 1' | head -n 100001 | mime-header --add 'X: 1'"

# a large message from a pipe: bounded memory, the body byte for byte
big() { printf 'From: a@example.org\nSubject: big\n\n'; yes 'a line of the body of a rather large message' | head -c 300000000; }
if [ -x /usr/bin/time ]; then
    big | /usr/bin/time -f '%M' -o "$T/rss" mime-header --add 'X-Tag: one' | tail -c +46 | cksum >"$T/sum"
    kb=$(tail -1 "$T/rss")
    ok "300 MB from a pipe in under 48 MB of memory (used ${kb} kB)" test "$kb" -lt 49152
else
    big | mime-header --add 'X-Tag: one' | tail -c +46 | cksum >"$T/sum"
    ok "300 MB from a pipe # SKIP /usr/bin/time not installed" true
fi
is "300 MB from a pipe: the body comes out byte for byte" "$(cat "$T/sum")" "$(big | tail -c +35 | cksum)"

# --- documentation
run mime-header --help
is "--help exits 0" "$rc" 0
missing=
while read -r o; do
    grep -q -- "Fl .*-${o#--}\>" "$SRCDIR/man/mime-header.1" || missing="$missing $o"
done < <(grep -o -- '--[a-z][a-z-]*' "$T/out" | sort -u)
is "every option in --help is in mime-header(1)" "$missing" ""

done_testing
