#!/bin/bash
# mime-merge: one message per row (issue 18), read back by Python's email.
. "$SRCDIR/tests/cli/lib.sh"
MB() { "$PYRUN" "$SRCDIR/tests/cli/mboxcheck.py" "$@"; }
cd "$T" || exit 1

# ---- a template built by the usual pipeline -------------------------------
printf 'Hallo {{name}},\n\nyour invoice {{invoice}} is attached. Grüße\n' >body.txt
printf '<p>Hallo <b>{{name}}</b>, invoice {{invoice}}: {{{note}}}</p>\n' >body.html
head -c 100000 /dev/urandom >report.bin
mime-compose --template --from 'Ann Müller <ann@example.org>' \
    --to '{{name}} <{{email}}>' --subject 'Invoice {{invoice}} für {{name}}' body.txt |
    mime-inline --html body.html | mime-attach report.bin >tmpl.eml

cat >data.csv <<'EOF'
name,email,invoice,note
"Doe, John",john@example.com,A-1,<i>paid</i>
Zoë Ünal,zoe@example.org,B-2,<b>due</b>
EOF

plan 64

# ---- the batch read back ----------------------------------------------------
run mime-merge tmpl.eml data.csv
is "two rows make two messages and exit 0" "$rc $(MB count "$T/out")" "0 2"
cp "$T/out" batch.mbox
is "Python finds no defect in any message or part" "$(MB defects batch.mbox)" 0
is "a display name with a comma is quoted: one mailbox" \
    "$(MB addresses batch.mbox 1 To)" "john@example.com"
is "the name comes back as written" "$(MB field batch.mbox 1 To)" '"Doe, John" <john@example.com>'
is "a non-ASCII name is encoded and decoded back" "$(MB field batch.mbox 2 To)" "Zoë Ünal <zoe@example.org>"
is "the Subject is filled (RFC 2047 where needed)" "$(MB field batch.mbox 2 Subject)" "Invoice B-2 für Zoë Ünal"
is "the text body is filled" "$(MB text batch.mbox 1 text/plain)" \
    "$(printf 'Hallo Doe, John,\n\nyour invoice A-1 is attached. Grüße')"
is "HTML gets escaped values, {{{raw}}} raw HTML" "$(MB text batch.mbox 1 text/html)" \
    '<p>Hallo <b>Doe, John</b>, invoice A-1: <i>paid</i></p>'
ok "the attachment comes back byte for byte" MB file batch.mbox 2 report.bin report.bin
ok "the attachment's encoded bytes are the template's, in every message" \
    "$PYRUN" -c 'import sys; t=open("tmpl.eml","rb").read(); m=open("batch.mbox","rb").read(); b=t[t.index(b"filename=\"report.bin\""):]; b=b[b.index(b"\n\n"):b.index(b"\n--")]; sys.exit(0 if len(b) > 1000 and m.count(b)==2 else 1)'
is "the template's own Message-ID is never reused" \
    "$(grep -c "$(grep '^Message-ID' tmpl.eml)" batch.mbox)" 0
is "every message gets its own Message-ID" \
    "$(grep '^Message-ID:' batch.mbox | sort -u | wc -l)" 2

# ---- the same bytes for the same input; a seed changes the IDs --------------
run mime-merge tmpl.eml data.csv
ok "a second run makes the same bytes (resumable batches)" cmp -s "$T/out" batch.mbox
run mime-merge --seed other tmpl.eml data.csv
ok "--seed gives other Message-IDs" test "$(grep -m1 '^Message-ID' "$T/out")" != "$(grep -m1 '^Message-ID' batch.mbox)"

# ---- JSON lines ----------------------------------------------------------------
cat >data.jsonl <<'EOF'
{"name": "Doe, John", "email": "john@example.com", "invoice": "A-1", "note": "<i>paid</i>"}

{"name": "Zoë Ünal", "email": "zoe@example.org", "invoice": "B-2", "note": "<b>due</b>"}
EOF
run mime-merge tmpl.eml data.jsonl
is "JSON lines make the same messages as CSV" \
    "$(MB count "$T/out") $(MB field "$T/out" 2 To) $(MB text "$T/out" 1 text/html)" \
    "2 Zoë Ünal <zoe@example.org> <p>Hallo <b>Doe, John</b>, invoice A-1: <i>paid</i></p>"
printf '{"name": "x", "email": "x@example.org", "invoice": "1", "note": ""}\n{"name": "x", "invoice": "1", "note": ""}\n' >noemail.jsonl
refused "a JSON line without a key a placeholder needs: 65 naming the line" 65 \
    "noemail.jsonl: line 2: no key email" mime-merge tmpl.eml noemail.jsonl
printf '{"name": 19.99, "email": "n@example.org", "invoice": -0.1, "note": 1.5e3}\n' >numbers.jsonl
run mime-merge tmpl.eml numbers.jsonl
is "JSON numbers are filled as written in shortest form (19.99, not 19.989999999999998)" \
    "$rc $(MB field "$T/out" 1 Subject) $(MB text "$T/out" 1 text/html)" \
    "0 Invoice -0.1 für 19.99 <p>Hallo <b>19.99</b>, invoice -0.1: 1500</p>"
run mime-merge --json tmpl.eml - <data.jsonl
is "--json reads JSON lines from stdin (DATA -)" "$rc $(MB count "$T/out")" "0 2"

# ---- CSV as spreadsheets export it -------------------------------------------
printf '\xef\xbb\xbfname,email,invoice,note\r\n"Doe, John",john@example.com,"A-1\r\nsecond line",x\r\n\r\n' >excel.csv
printf 'Dear {{name}},\n{{invoice}}\n' >b2.txt
mime-compose --from ann@example.org --to x@example.com --subject 'Hi {{name}}' b2.txt |
    sed 's/^To: x@example.com$/To: {{email}}/' >t2.eml
run mime-merge t2.eml excel.csv
is "BOM, CRLF, a quoted line break and an empty last line (Excel)" \
    "$rc $(MB count "$T/out") $(MB field "$T/out" 1 Subject)" "0 1 Hi Doe, John"
is "a quoted line break in a body value stays a line break" \
    "$(MB text "$T/out" 1 text/plain | sed -n 3p)" "second line"
printf 'name,email,invoice,note\n\xc9lise,e@example.org,1,x\n' >legacy.csv
refused "a cp1252 file without --encoding: 65 naming the row" 65 \
    "legacy.csv: row 2" mime-merge t2.eml legacy.csv
run mime-merge --encoding windows-1252 t2.eml legacy.csv
is "--encoding windows-1252 reads a legacy export" "$(MB field "$T/out" 1 Subject)" "Hi Élise"
refused "an unknown --encoding is a usage error (64)" 64 "--encoding" \
    mime-merge --encoding no-such-charset t2.eml legacy.csv
printf 'name,email\nx,y,z\n' >ragged.csv
refused "a row with more fields than the header: 65 naming the row" 65 \
    "ragged.csv: row 2" mime-merge t2.eml ragged.csv

# ---- nothing is written when a row is bad --------------------------------------
cat >bad.csv <<'EOF'
name,email,invoice,note
Ann,ann@example.org,1,x
Bob,not-an-address,2,x
EOF
refused "an invalid address in row 3 stops the run before anything is written" 65 \
    "bad.csv: row 3, column email" mime-merge tmpl.eml bad.csv
printf 'name,email,invoice,note\nAnn,ann@example.org,"1\r\nBcc: victim@example.net",x\n' >inject.csv
refused "a line break bound for a header is refused (no header injection)" 65 \
    "inject.csv: row 2, column invoice: a line break" mime-merge tmpl.eml inject.csv
printf 'name,email\nAnn,ann@example.org\n' >short.csv
refused "a placeholder with no column stops the run, naming it" 65 \
    "{{invoice}}: short.csv has no column invoice" mime-merge tmpl.eml short.csv
refused "a missing DATA file is 66" 66 "nope.csv" mime-merge tmpl.eml nope.csv
refused "one argument is a usage error" 64 "TEMPLATE and DATA" mime-merge tmpl.eml
refused "TEMPLATE and DATA both stdin is a usage error" 64 "stdin" mime-merge - - <tmpl.eml

# ---- a value that holds a delimiter of the template ---------------------------
mime-compose --from ann@example.org --to x@example.com --subject 'For {{name}}' body.txt |
    mime-inline --html body.html >t4.eml
b=$(sed -n 's/^Content-Type: multipart\/alternative; boundary="\(.*\)"$/\1/p' t4.eml)
printf 'name,email,invoice,note\nAnn,ann@example.org,"x\n--%s--\ny",z\n' "$b" >delim.csv
run mime-merge t4.eml delim.csv
is "a value holding a delimiter is re-encoded, not cutting the multipart" \
    "$rc $(MB defects "$T/out") $(MB text "$T/out" 1 text/plain | grep -c -- "--$b--") $(MB text "$T/out" 1 text/html | grep -c Ann)" "0 0 1 1"

# ---- mboxrd quoting ----------------------------------------------------------
printf 'name,email,invoice,note\nAnn,ann@example.org,"x\nFrom here\n>From there",z\n' >from.csv
printf 'Hi {{name}}\n{{invoice}}\n' >b3.txt
mime-compose --from ann@example.org --to x@example.com --subject s b3.txt >t3.eml
run mime-merge t3.eml from.csv
is "mboxrd: From and >From lines in a body gain one '>'" \
    "$(grep -c '^>From here$' "$T/out") $(grep -c '^>>From there$' "$T/out")" "1 1"
is "and come back as written" "$(MB text "$T/out" 1 text/plain | tail -2)" \
    "$(printf 'From here\n>From there')"
# a part of the template copied as it is (no placeholder), holding From
# lines: quoted in every message, not only the first (the answer is kept
# per slice of the template)
printf 'From the desk of the team\nFrom here too\n' >desk.txt
cat >t5.eml <<'EOF'
From: ann@example.org
To: x@example.com
Subject: s
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain; charset=utf-8

Hi {{name}}
--b
Content-Type: text/plain; charset=utf-8; name=desk.txt
Content-Disposition: attachment; filename=desk.txt

From the desk of the team
From here too

--b--
EOF
printf 'name,email,invoice,note\nAnn,a@example.org,1,x\nBob,b@example.org,2,y\nCy,c@example.org,3,z\n' >three.csv
run mime-merge t5.eml three.csv
is "mboxrd: From lines of a template part copied as it is are quoted in every message" \
    "$rc $(MB count "$T/out") $(grep -c '^>From the desk of the team$' "$T/out") $(grep -c '^>From here too$' "$T/out") $(MB file "$T/out" 3 desk.txt desk.txt && echo same)" \
    "0 3 3 3 same"

# ---- a template written by hand, as the mailmerge package's are: header
# fields and a text body, no MIME fields (text/plain by RFC 2045 5.2)
printf 'From: Ann <ann@example.org>\nTo: {{email}}\nSubject: Hallo {{name}}\n\nHi {{name}}, Gr\303\274\303\237e.\n' >hand.eml
printf 'name,email\nZo\303\253,z@example.org\nBob,b@example.org\n' >hand.csv
run mime-merge hand.eml hand.csv
is "a hand-written template without MIME fields: one message a row, zero defects" \
    "$rc $(MB count "$T/out") $(MB defects "$T/out") $(MB field "$T/out" 2 To)" "0 2 0 b@example.org"
is "  ... its text filled and labelled UTF-8" \
    "$(MB text "$T/out" 1 text/plain)|$(MB field "$T/out" 1 Subject)|$(grep -c '^MIME-Version: 1.0$' "$T/out")" \
    "Hi Zoë, Grüße.|Hallo Zoë|2"

# ---- per-row recipients and attachments ---------------------------------------
mkdir files && printf 'one\n' >files/a.txt && printf 'two\n' >files/b.txt
cat >rows.csv <<'EOF'
name,To,Cc,file
Ann,ann@example.org,"c1@example.org, c2@example.org",files/a.txt
Bob,bob@example.org,,files/b.txt
EOF
printf 'Hi {{name}}\n' >b5.txt
mime-compose --from ann@example.org --to x@example.com --subject s b5.txt >t5.eml
run mime-merge --attach-column file t5.eml rows.csv
cp "$T/out" rows.mbox
is "a To column replaces the template's To" "$(MB addresses rows.mbox 2 To)" "bob@example.org"
is "a Cc column adds Cc; an empty one none" \
    "$(MB addresses rows.mbox 1 Cc | tr '\n' ' ')|$(MB field rows.mbox 2 Cc)" "c1@example.org c2@example.org |"
ok "--attach-column attaches each row's file" MB file rows.mbox 2 b.txt files/b.txt
is "a one-part template becomes multipart/mixed with no defect" \
    "$(MB defects rows.mbox) $(MB text rows.mbox 1 text/plain | head -1)" "0 Hi Ann"
# a multipart/alternative template with fields after its Content-Type (a
# later mime-header stage appends there): wrapped with an attachment, only
# the Content-* fields go with the wrapped body, never a Bcc
printf '<p>Hi {{name}}</p>\n' >b5.html
mime-compose --from ann@example.org --to x@example.com --subject s --html b5.html b5.txt |
    mime-header --set 'Bcc: boss@example.org' --set 'X-Priority: 1' >t6.eml
run mime-merge --attach-column file t6.eml rows.csv
is "a wrapped template body carries its Content-Type and no other field" \
    "$rc $(MB defects "$T/out") $(MB fields "$T/out" 1 multipart/alternative | tr '\n' ' ')" \
    "0 0 Content-Type "
printf 'name,To,Cc,file\nAnn,ann@example.org,,/etc/passwd\n' >abs.csv
refused "an attachment outside the current directory is refused" 65 \
    "abs.csv: row 2, column file" mime-merge --attach-column file t5.eml abs.csv
mkdir files/sub
printf 'name,To,Cc,file\nAnn,ann@example.org,,files/sub\n' >dir.csv
refused "a directory to attach is 66 naming row, column and file, not an empty part" 66 \
    "dir.csv: row 2, column file: files/sub" mime-merge --attach-column file t5.eml dir.csv
ln -s /etc etclink
printf 'name,To,Cc,file\nAnn,ann@example.org,,etclink/passwd\n' >link.csv
refused "a symbolic link on the way out of the current directory is refused" 65 \
    "link.csv: row 2, column file: etclink/passwd: a symbolic link" \
    mime-merge --attach-column file t5.eml link.csv
printf 'x\n' >"files/Übersicht.txt"
printf 'name,To,Cc,file\nAnn,ann@example.org,,files/Übersicht.txt\n' >uml.csv
run mime-merge --attach-column file t5.eml uml.csv
is "a non-ASCII file name is RFC 2231 in UTF-8 and read back" \
    "$(grep -c "filename\*=UTF-8''%C3%9Cbersicht.txt" "$T/out") $(MB defects "$T/out")" "1 0"
ok "  ... and Python finds the attachment by that name" MB file "$T/out" 1 Übersicht.txt "files/Übersicht.txt"
printf 'name,To,Cc,file\nAnn,ann@example.org,,"files/a\nb.txt"\n' >ctl.csv
refused "a file name with a control character is refused" 65 \
    "ctl.csv: row 2, column file: files/a\\nb.txt: a file name with a control character" \
    mime-merge --attach-column file t5.eml ctl.csv
printf 'name,To,Cc,file\nAnn,ann@example.org,,files/none.txt\n' >none.csv
refused "a missing attachment is 66 naming row, column and file" 66 \
    "none.csv: row 2, column file: files/none.txt" mime-merge --attach-column file t5.eml none.csv

# ---- one-click unsubscribe ------------------------------------------------------
run mime-merge --unsubscribe 'https://example.org/u?e={{To}}' t5.eml rows.csv
is "--unsubscribe adds List-Unsubscribe with the value URL-encoded" \
    "$(MB field "$T/out" 1 List-Unsubscribe)" "<https://example.org/u?e=ann%40example.org>"
is "and List-Unsubscribe-Post (RFC 8058)" "$(MB field "$T/out" 1 List-Unsubscribe-Post)" \
    "List-Unsubscribe=One-Click"
refused "one-click needs https" 64 "https://" \
    mime-merge --unsubscribe 'http://example.org/u' t5.eml rows.csv

# ---- -C DIR, --limit, --dry-run ------------------------------------------------
mkdir eml
run mime-merge -C eml tmpl.eml data.csv
is "-C DIR writes one .eml per row" "$rc $(ls eml | tr '\n' ' ')" "0 0001.eml 0002.eml "
is "each file is a message Python reads without defect" \
    "$(MB eml eml/0001.eml) $(MB eml eml/0002.eml)" "0 0"
mkdir out2
run mime-merge --directory out2 tmpl.eml data.csv
ok "-C is --directory" cmp -s eml/0002.eml out2/0002.eml
refused "files are never written over (73)" 73 "exists" \
    mime-merge -C eml tmpl.eml data.csv
run mime-merge --limit 1 tmpl.eml data.csv
is "--limit 1 makes one message" "$(MB count "$T/out")" 1
run mime-merge --dry-run tmpl.eml data.csv
is "--dry-run prints a line per message" \
    "$rc $(wc -l <"$T/out") $(grep -c '^row 2: .* to "Doe, John" <john@example.com>: Invoice A-1 für Doe, John$' "$T/out")" "0 2 1"
run mime-merge -n tmpl.eml data.csv
is "-n is --dry-run" "$(cat "$T/out")" "$(mime-merge --dry-run tmpl.eml data.csv)"
run mime-merge -o merged.mbox tmpl.eml data.csv
ok "-o FILE writes the stream to FILE" cmp -s merged.mbox batch.mbox

# ---- mime-compose --template ---------------------------------------------------
is "--template writes placeholders where addresses go, as written" \
    "$(grep -E '^(To|Subject):' tmpl.eml)" \
    "$(printf 'To: {{name}} <{{email}}>\nSubject: Invoice {{invoice}} =?UTF-8?Q?f=C3=BCr?= {{name}}')"
refused "without --template a placeholder is not an address (65)" 65 "{{email}}" \
    mime-compose --from ann@example.org --to '{{name}} <{{email}}>' b5.txt
refused "--template still checks what is not a placeholder, quoting it as written" 65 \
    '"{{name}} <not an address>"' \
    mime-compose --template --from ann@example.org --to '{{name}} <not an address>' b5.txt
run mime-compose --template --from ann@example.org --to '{{email}}' --cc 'Boss <boss@example.org>, {{copy}}' \
    -H 'X-Ref: {{n}}' --subject s b5.txt
is "a placeholder stands for a whole address or a list element; other fields too" \
    "$(grep -E '^(To|Cc|X-Ref):' "$T/out")" \
    "$(printf 'To: {{email}}\nCc: Boss <boss@example.org>, {{copy}}\nX-Ref: {{n}}')"
cp "$T/out" t6.eml
printf 'email,copy,n,name\nann@example.org,c@example.org,7,Ann\n' >six.csv
run mime-merge t6.eml six.csv
is "and mime-merge fills it" "$(MB addresses "$T/out" 1 Cc | tr '\n' ' ')$(MB field "$T/out" 1 X-Ref)" \
    "boss@example.org c@example.org 7"

done_testing
