#!/bin/bash
# mime-attach: attachments on the canonical tree (DESIGN 3, 5; issue 3).
. "$SRCDIR/tests/cli/lib.sh"
MC() { "$PY" "$SRCDIR/tests/cli/mimecheck.py" "$@"; }
cd "$T" || exit 1

# ---- inputs ---------------------------------------------------------------
cat >plain.eml <<'EOF'
From: Ann <ann@example.org>
To: bob@example.com
Subject: =?UTF-8?Q?Quarterly_report_=E5=AD=A3=E5=BA=A6=E6=8A=A5=E5=91=8A?=
Date: Tue, 14 Nov 2023 22:13:20 +0000
Message-ID: <plain.1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hello Bob, Gr=C3=BC=C3=9Fe.
EOF

# another client's mixed message: preamble, odd base64 lines, epilogue
cat >mixed.eml <<'EOF'
From: carol@example.net
To: ann@example.org
Subject: data
MIME-Version: 1.0
Content-Type: multipart/mixed;
    boundary="outer-XYZ"

This is a multi-part message in MIME format.

--outer-XYZ
Content-Type: text/plain; charset=us-ascii

See the data.

--outer-XYZ
Content-Type: application/octet-stream; name="d.bin"
Content-Disposition: attachment; filename="d.bin"
Content-Transfer-Encoding: base64

AAECAwQFBgcICQoLDA0ODxAREhMU
FRYXGBkaGxwdHh8=

--outer-XYZ--
epilogue stays
EOF
# the attachment part of mixed.eml, byte for byte
sed -n '/^Content-Type: application\/octet-stream/,/^FRYX/p' mixed.eml >mixed-part.raw

cat >signed.eml <<'EOF'
From: dave@example.com
To: ann@example.org
Subject: signed
MIME-Version: 1.0
Content-Type: multipart/signed; micalg=pgp-sha256;
 protocol="application/pgp-signature"; boundary="sig-b"

--sig-b
Content-Type: text/plain; charset=us-ascii

Signed   text with trailing spaces   
and a line to keep.

--sig-b
Content-Type: application/pgp-signature; name="signature.asc"

-----BEGIN PGP SIGNATURE-----
iHUEARYIAB0WIQQAAAAAAAAAAAAAAAAAAAAAAAAAAAUCZVP/AAAKCRAAAAAAAAAA
=abcd
-----END PGP SIGNATURE-----

--sig-b--
EOF
sed -n '/^--sig-b$/,/^--sig-b--$/p' signed.eml >signed-body.raw

cat >alt.eml <<'EOF'
From: erin@example.com
To: ann@example.org
Subject: alt
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt-b"

--alt-b
Content-Type: text/plain; charset=utf-8

plain
--alt-b
Content-Type: text/html; charset=utf-8

<p>html</p>
--alt-b--
EOF

cat >fwd.eml <<'EOF'
From: frank@example.com
To: ann@example.org
Subject: forwarded one
Message-ID: <fwd.1@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Grüße aus Köln.
EOF

cat >trunc.eml <<'EOF'
From: a@example.com
Subject: cut
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="cut-b"

--cut-b
Content-Type: text/plain

half a message
EOF

printf 'a,b\n1,2\n' >figures.csv
printf '%%PDF-1.4\n%%\342\343\317\323\n1 0 obj\n<<>>\nendobj\n' >report.pdf
printf '\211PNG\r\n\032\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\10\6\0\0\0' >logo
head -c 5000 /dev/urandom >random.bin
printf 'line one\r\nline two\r\n' >dos.txt
printf 'corpus check attachment \342\234\223\n' >note.txt
name1='Bericht für Q3 季度报告.pdf'
cp report.pdf "$name1"
name2="a very long file name that goes on and on, well past the seventy-eight columns of a header line.txt"
printf 'long\n' >"$name2"
name3='quote "me" \ back.txt'
printf 'q\n' >"$name3"
mkdir adir

plan 100

# ---- a single part becomes the first part of a new multipart/mixed ----
run mime-attach figures.csv <plain.eml
is "attach_to_plain_exits_0" "$rc" 0
cp "$T/out" o1.eml
is "attach_to_plain_makes_mixed_with_body_first" "$(pycheck tree <o1.eml)" \
"multipart/mixed
  text/plain charset=utf-8
  text/csv attachment filename=figures.csv charset=utf-8"
ok "attach_to_plain_has_no_defects" pycheck defects <o1.eml
sed -n '/^Content-Transfer-Encoding/,$p' plain.eml | tail -n +3 >body.raw
ok "attach_to_plain_keeps_body_bytes" MC contains o1.eml body.raw
is "attach_to_plain_keeps_headers_in_order" \
	"$(sed -n '1,/^$/p' o1.eml | grep -v '^Content-' | sed '/^$/d')" \
	"$(sed -n '1,/^$/p' plain.eml | grep -v '^Content-' | sed '/^$/d')"
is "attach_text_file_bytes_exact" "$(pycheck part 1 <o1.eml | od -An -c)" "$(od -An -c <figures.csv)"

# ---- types: by name, by sniffing, by --type ----
run mime-attach report.pdf logo random.bin --type application/x-custom figures.csv <plain.eml
cp "$T/out" o2.eml
is "type_detected_by_name" "$(pycheck params 1 <o2.eml)" "application/pdf attachment report.pdf"
is "type_sniffed_when_name_says_nothing" "$(pycheck params 2 <o2.eml)" "image/png attachment logo"
is "unknown_binary_is_octet_stream" "$(pycheck params 3 <o2.eml)" "application/octet-stream attachment random.bin"
is "type_option_overrides_detection" "$(pycheck params 4 <o2.eml)" "application/x-custom attachment figures.csv"
ok "binary_attachment_bytes_exact" cmp <(pycheck part 3 <o2.eml) random.bin
ok "pdf_attachment_bytes_exact" cmp <(pycheck part 1 <o2.eml) report.pdf
ok "png_attachment_bytes_exact" cmp <(pycheck part 2 <o2.eml) logo
ok "binary_attachment_is_base64" grep -q '^Content-Transfer-Encoding: base64' o2.eml
ok "several_attachments_no_defects" pycheck defects <o2.eml

# ---- file names ----
run mime-attach "$name1" "$name2" "$name3" <plain.eml
cp "$T/out" o3.eml
is "non_ascii_name_decoded_exactly" "$(pycheck params 1 <o3.eml)" "application/pdf attachment $name1"
is "long_name_decoded_exactly" "$(pycheck params 2 <o3.eml)" "text/plain attachment $name2"
is "quoted_name_decoded_exactly" "$(pycheck params 3 <o3.eml)" "text/plain attachment $name3"
ok "non_ascii_name_in_rfc2231_form" grep -q "filename\*0\*=utf-8''Bericht%20f%C3%BCr" o3.eml
ok "content_type_carries_name_too" grep -q "name\*0\*=utf-8''Bericht" o3.eml
ok "long_name_uses_continuations" grep -q "filename\*1\*=" o3.eml
ok "no_header_line_over_78" test -z "$(sed -n '1,/^--=_/p' o3.eml | awk 'length > 78')"
ok "file_names_no_defects" pycheck defects <o3.eml
is "python_reads_content_type_name" "$("$PY" -c '
import email, email.policy, sys
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
print([p for p in m.walk()][2].get_param("name"))' <o3.eml)" "$name1"

# ---- per-file options ----
run mime-attach --name 'Zahlen Q3.csv' --description 'Zahlen für Q3' --inline figures.csv report.pdf <plain.eml
cp "$T/out" o4.eml
is "name_option_renames" "$(pycheck params 1 <o4.eml)" "text/csv inline Zahlen Q3.csv"
is "options_apply_to_the_next_file_only" "$(pycheck params 2 <o4.eml)" "application/pdf attachment report.pdf"
is "description_is_encoded_and_decodes" "$(pycheck tree <o4.eml >/dev/null; "$PY" -c '
import email, email.policy, sys
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
print([p for p in m.walk()][2]["Content-Description"])' <o4.eml)" "Zahlen für Q3"
ok "description_no_defects" pycheck defects <o4.eml

# ---- data from a descriptor ----
run mime-attach --fd 3 --name 'report 2.txt' - <plain.eml 3< <(printf 'generated\nreport\n')
cp "$T/out" o5.eml
is "fd_data_is_attached_with_its_name" "$(pycheck params 1 <o5.eml)" "text/plain attachment report 2.txt"
is "fd_data_bytes_exact" "$(pycheck part 1 <o5.eml)" "$(printf 'generated\nreport\n')"
refused "dash_without_fd_is_usage_error" 64 "--fd" mime-attach - <plain.eml
# stdin is the message: it cannot also be the attachment's data
refused "fd_0_is_the_message_usage_error" 64 "--fd 0" \
	mime-attach --fd 0 --name x.txt - <plain.eml

# ---- text with CR comes back exactly ----
run mime-attach dos.txt <plain.eml
ok "crlf_text_file_bytes_exact" cmp <(pycheck part 1 <"$T/out") dos.txt

# ---- forwarding ----
run mime-attach --message fwd.eml <plain.eml
cp "$T/out" o6.eml
is "forward_is_message_rfc822" "$(pycheck tree <o6.eml)" \
"multipart/mixed
  text/plain charset=utf-8
  message/rfc822 attachment filename=fwd.eml
    text/plain charset=utf-8"
ok "forward_is_8bit_not_base64" grep -q '^Content-Transfer-Encoding: 8bit' o6.eml
ok "multipart_holding_8bit_is_labelled_8bit" grep -q '^Content-Transfer-Encoding: 8bit' <(sed '/^$/q' o6.eml)
ok "multipart_holding_7bit_is_not_labelled" test -z "$(sed '/^$/q' o1.eml | grep '^Content-Transfer-Encoding')"
ok "forward_keeps_message_bytes" MC contains o6.eml fwd.eml
ok "forward_no_defects" pycheck defects <o6.eml
{ echo 'From frank@example.com Tue Nov 14 22:13:20 2023'; cat fwd.eml; } >mbox1.eml
run mime-attach --message mbox1.eml <plain.eml
ok "forward_from_mbox_drops_the_from_line" test "$rc" = 0 -a -z "$(grep '^From frank' "$T/out")"
ok "forward_from_mbox_keeps_the_message" MC contains "$T/out" fwd.eml
sed 's/$/\r/' fwd.eml >fwd-crlf.eml
run mime-attach --message fwd-crlf.eml <plain.eml
is "forwarded_crlf_message_takes_the_output_line_endings" "$(MC eol "$T/out")" lf
ok "forwarded_crlf_message_keeps_its_text" MC contains "$T/out" fwd.eml
run mime-attach --message note.txt <plain.eml
is "forwarding_a_non_message_fails" "$rc" 65

# ---- a mixed message gets the part appended, never mixed in mixed ----
run mime-attach figures.csv <mixed.eml
cp "$T/out" o7.eml
is "mixed_gets_part_appended" "$(pycheck tree <o7.eml)" \
"multipart/mixed
  text/plain charset=us-ascii
  application/octet-stream attachment filename=d.bin
  text/csv attachment filename=figures.csv charset=utf-8"
ok "mixed_input_is_intact_but_for_the_insertion" MC inserted mixed.eml o7.eml
ok "untouched_attachment_is_byte_identical" MC contains o7.eml mixed-part.raw
ok "mixed_epilogue_kept" grep -q '^epilogue stays$' o7.eml

# ---- alternative and foreign signed bodies are wrapped ----
run mime-attach figures.csv <alt.eml
is "alternative_is_wrapped" "$(pycheck tree <"$T/out")" \
"multipart/mixed
  multipart/alternative
    text/plain charset=utf-8
    text/html charset=utf-8
  text/csv attachment filename=figures.csv charset=utf-8"
run mime-attach figures.csv <signed.eml
cp "$T/out" o8.eml
is "signed_is_wrapped_whole" "$(pycheck tree <o8.eml)" \
"multipart/mixed
  multipart/signed
    text/plain charset=us-ascii
    application/pgp-signature filename=signature.asc
  text/csv attachment filename=figures.csv charset=utf-8"
ok "signed_body_byte_for_byte" MC contains o8.eml signed-body.raw
ok "signed_wrap_no_defects" pycheck defects <o8.eml

# ---- line endings follow the input ----
sed 's/$/\r/' mixed.eml >mixed-crlf.eml
run mime-attach figures.csv random.bin <mixed-crlf.eml
is "crlf_input_gives_crlf_output" "$(MC eol "$T/out")" crlf
ok "crlf_output_bytes_exact" cmp <(pycheck part 3 <"$T/out") random.bin
sed 's/$/\r/' plain.eml >plain-crlf.eml
run mime-attach figures.csv <plain-crlf.eml
is "crlf_plain_input_gives_crlf_output" "$(MC eol "$T/out")" crlf

run mime-attach --crlf figures.csv <plain.eml
is "crlf_option_gives_crlf_throughout" "$(MC eol "$T/out")" crlf
run mime-attach -o written.eml figures.csv <plain.eml
ok "output_option_writes_the_file_and_nothing_to_stdout" test "$rc" = 0 -a ! -s "$T/out" -a -s written.eml

# ---- reproducible ----
mime-attach figures.csv <plain.eml >r1.eml
mime-attach figures.csv <plain.eml >r2.eml
ok "same_input_same_output_under_source_date_epoch" cmp r1.eml r2.eml

s1=$(env -u SOURCE_DATE_EPOCH mime-attach --seed s figures.csv <plain.eml | md5sum)
s2=$(env -u SOURCE_DATE_EPOCH mime-attach --seed s figures.csv <plain.eml | md5sum)
s3=$(env -u SOURCE_DATE_EPOCH mime-attach figures.csv <plain.eml | md5sum)
ok "seed_makes_output_reproducible_and_random_without" test "$s1" = "$s2" -a "$s1" != "$s3"

# ---- mblaze finds nothing left to encode ----
if command -v mmime >/dev/null; then
	ok "mmime_finds_nothing_to_encode" mmime -c <o3.eml
else
	ok "mmime_finds_nothing_to_encode # SKIP mblaze not installed" true
fi

# ---- a file whose name is not UTF-8 (an old Latin-1 file system) ----
latin_name=$(printf 'caf\351.csv')
cp figures.csv "$latin_name"
run mime-attach "$latin_name" <plain.eml
is "file_name_not_utf8_is_attached" "$rc" 0
is "file_name_not_utf8_bytes_exact" "$(pycheck text 1 <"$T/out")" "$(cat figures.csv)"
printf 'From: a@example.org\nSubject: fwd\n\nhi\n' >"$latin_name.eml"
run mime-attach --message "$latin_name.eml" <plain.eml
is "forwarded_file_name_not_utf8_is_attached" "$rc" 0
refused "name_option_not_utf8_says_so" 64 "--name" \
	mime-attach --name "$latin_name" figures.csv <plain.eml

# ---- mblaze's mshow -x gives back every name and every byte ----
if command -v mshow >/dev/null; then
	mkdir names got
	for n in 'Übersicht Q3 – 季度报告 with a name long enough to be continued.pdf' \
		'a@b;c"d\e.txt' 'x=y (1).bin'; do
		printf 'data of %s\n' "$n" >"names/$n"
	done
	(cd names && mime-attach ./* <../plain.eml >../names.eml)
	(cd got && HOME=$T MBLAZE=$T/.mblaze mshow -x ../names.eml >/dev/null 2>&1)
	ok "mshow_extracts_every_file_by_name_with_its_bytes" \
		diff -r names got
else
	ok "mshow_extracts_every_file_by_name_with_its_bytes # SKIP mblaze not installed" true
fi

# ---- every reader sees the same message (issue 13) ----
# an attached file is base64 whatever its type: a 7bit data.csv came back
# from postal-mime with one more newline
printf 'a,b\n1,2\n' >data.csv
run mime-attach data.csv <plain.eml
is "text_attachment_is_base64" \
	"$(grep -A4 '^Content-Type: text/csv' "$T/out" | grep -i '^Content-Transfer-Encoding')" \
	"Content-Transfer-Encoding: base64"
ok "text_attachment_bytes_exact" cmp <(pycheck part 1 <"$T/out") data.csv

# a forwarded message built with the same seed: the same header gives the
# same first draw, which its delimiters hold
env -u SOURCE_DATE_EPOCH mime-attach --seed s figures.csv <plain.eml >seeded.eml
run env -u SOURCE_DATE_EPOCH mime-attach --seed s --message seeded.eml <plain.eml
is "forwarding_a_message_of_the_same_seed_keeps_its_tree" "$(pycheck tree <"$T/out")" \
"multipart/mixed
  text/plain charset=utf-8
  message/rfc822 attachment filename=seeded.eml
    multipart/mixed
      text/plain charset=utf-8
      text/csv attachment filename=figures.csv charset=utf-8"
ok "forwarding_a_message_of_the_same_seed_no_defects" pycheck defects <"$T/out"
ok "forwarding_a_message_of_the_same_seed_keeps_its_bytes" MC contains "$T/out" seeded.eml
run env -u SOURCE_DATE_EPOCH mime-attach --seed s --message seeded.eml <plain.eml
cp "$T/out" seeded-fwd1.eml
run env -u SOURCE_DATE_EPOCH mime-attach --seed s --message seeded.eml <plain.eml
ok "redrawn_boundary_is_still_reproducible" cmp seeded-fwd1.eml "$T/out"
# forwarded into itself: the message's own mixed cannot take it (its
# delimiter is inside), a new mixed goes around both
run env -u SOURCE_DATE_EPOCH mime-attach --seed s --message seeded.eml <seeded.eml
is "forwarding_a_message_into_itself_wraps_it" "$(pycheck tree <"$T/out")" \
"multipart/mixed
  multipart/mixed
    text/plain charset=utf-8
    text/csv attachment filename=figures.csv charset=utf-8
  message/rfc822 attachment filename=seeded.eml
    multipart/mixed
      text/plain charset=utf-8
      text/csv attachment filename=figures.csv charset=utf-8"
ok "forwarding_a_message_into_itself_no_defects" pycheck defects <"$T/out"

# a forwarded message with lines over 998 octets: only those leaves are
# encoded again, the rest kept, and stderr says so
"$PY" - <<'PYEOF'
long = "x" * 1200
open("long.eml", "w", encoding="utf-8").write(
    "From: a@example.org\nSubject: long\nMIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=BB\n\n"
    "--BB\nContent-Type: text/plain; charset=utf-8\n\nshort and kept\n"
    "--BB\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
    "Gr\u00fc\u00dfe " + long + "\nend\n"
    "--BB\nContent-Type: application/octet-stream\n\n" + long + "\n--BB--\n")
PYEOF
run mime-attach --message long.eml <plain.eml
is "forward_with_long_lines_exits_0" "$rc" 0
is "forward_with_long_lines_has_no_line_over_998" "$(awk 'length > 998' "$T/out" | wc -l)" 0
is "forward_with_long_lines_is_not_binary" \
	"$(grep -A3 '^Content-Type: message/rfc822' "$T/out" | grep '^Content-Transfer-Encoding')" \
	"Content-Transfer-Encoding: 7bit"
is "forward_with_long_lines_says_which_parts" "$(cat "$T/err")" \
"mime-attach: long.eml: part 2 (text/plain) encoded as quoted-printable: a line is over 998 octets
mime-attach: long.eml: part 3 (application/octet-stream) encoded as base64: a line is over 998 octets"
is "forward_with_long_lines_same_decoded_parts" "$("$PY" -c '
import email, email.policy, sys
def leaves(m):
    return [(p.get_content_type(), p.get_payload(decode=True)) for p in m.walk() if not p.is_multipart()]
out = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
fwd = [p for p in out.walk() if p.get_content_type() == "message/rfc822"][0].get_content()
orig = email.message_from_bytes(open("long.eml", "rb").read(), policy=email.policy.default)
print(leaves(fwd) == leaves(orig))' "$T/out")" True
sed -n '/^--BB$/,/^short and kept$/{p;/^short and kept$/q;}' long.eml >long-kept.raw
ok "forward_with_long_lines_keeps_the_valid_part" MC contains "$T/out" long-kept.raw
printf 'From: a@example.org\nX-Long: %s\n\nbody\n' "$(head -c 1200 /dev/zero | tr '\0' y)" >longhdr.eml
refused "forward_with_a_header_line_over_998_is_65" 65 "outside the body of a part" \
	mime-attach --message longhdr.eml <plain.eml

# structures readers disagree on are refused, not edited
amb() { printf 'From: a@example.org\nMIME-Version: 1.0\n%s\n\n--value\nContent-Type: text/plain\n\nhi\n--value--\n' "$1"; }
amb 'Content-Type: multipart/mixed; boundary=(c)value' >amb1.eml
refused "boundary_with_a_comment_is_65" 65 "a comment" mime-attach figures.csv <amb1.eml
amb 'Content-Type: multipart/mixed; boundary="value"; boundary="other"' >amb2.eml
refused "boundary_given_twice_is_65" 65 "boundary given twice" mime-attach figures.csv <amb2.eml
amb "$(printf 'Content-Type: multipart/mixed; boundary="value"\nContent-Type: text/plain')" >amb3.eml
refused "two_content_type_fields_is_65" 65 "2 Content-Type fields" mime-attach figures.csv <amb3.eml
printf 'From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=value\n\n--value\nContent-Type: text/plain\n\nhi\r--value--\r\n--value--\n' >amb4.eml
refused "bare_cr_inside_a_multipart_is_65" 65 "CR without LF inside a multipart" mime-attach figures.csv <amb4.eml
# a single part becomes a part of a multipart: the same holds (fuzz-edit)
printf 'From: a@example.org\nSubject: cr\n\nline\rmore\n' >cr-body.eml
refused "bare_cr_in_a_body_we_would_wrap_is_65" 65 "CR without LF in the body" mime-attach figures.csv <cr-body.eml
printf 'From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=outer\n\n--outer\nContent-Type: multipart/alternative; boundary=inner\n\n--inner\nContent-Type: text/plain\n\ny\n--outer\nContent-Type: text/plain\n\nz\n--outer--\n' >amb5.eml
refused "nested_multipart_without_closing_delimiter_is_65" 65 '"--inner--"' mime-attach figures.csv <amb5.eml
printf 'From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=value\n\n--value\nContent-Type: text/plain; name="a.txt"; name="b.exe"\n\nhi\n--value--\n' >amb6.eml
refused "parameter_given_twice_in_a_part_is_65" 65 "part 1: Content-Type with the parameter name given twice" \
	mime-attach figures.csv <amb6.eml

# ---- errors: nothing on stdout ----
refused "empty_input_is_65" 65 "empty input" mime-attach figures.csv </dev/null
refused "truncated_multipart_is_65" 65 "truncated" mime-attach figures.csv <trunc.eml
# a delimiter right after the header, no blank line: GMime reads it as a
# skipped field and reads on, Python starts the body there (fuzz-edit)
printf 'From: a@example.org\nContent-Type: multipart/related; boundary="b"\n--b\nContent-Type: multipart/related; boundary="b"\n\n--b\n\nx\n--b--\n' >noblank.eml
refused "header_without_blank_line_before_a_delimiter_is_65" 65 "no blank line" \
	mime-attach figures.csv <noblank.eml
# a line folded under a first line that starts "From " (an mbox From_ line
# to Python and us, an obsolete From field to GMime): copied once
# (fuzz-edit: it came out twice and the second read as a broken field)
printf 'From : a@example.org\n folded\nSubject: s\n\nbody\n' >fromfold.eml
run mime-attach figures.csv <fromfold.eml
is "mbox_from_line_with_a_folded_line_after_it_copied_once" \
	"$rc:$(grep -c '^From ' "$T/out")" "0:1"
refused "missing_file_is_66_naming_it" 66 "nosuch.pdf" mime-attach figures.csv nosuch.pdf <plain.eml
refused "directory_is_66_naming_it" 66 "adir" mime-attach adir <plain.eml
if [ "$(id -u)" != 0 ]; then
	cp figures.csv locked.csv && chmod 000 locked.csv
	refused "unreadable_file_is_66_naming_it" 66 "locked.csv" mime-attach locked.csv <plain.eml
else
	ok "unreadable_file_is_66_naming_it # SKIP root reads every file" true
fi
run mime-attach -o out.eml figures.csv nosuch.pdf <plain.eml
ok "missing_file_leaves_no_output_file" test "$rc" = 66 -a ! -e out.eml
refused "no_file_is_usage_error" 64 "FILE" mime-attach <plain.eml
# a text --type on data that is not UTF-8: no charset to label it with
printf 'Gr\374\337e\n' >latin1.txt
refused "text_type_on_non_utf8_without_charset_is_65" 65 "latin1.txt" \
	mime-attach --type text/plain latin1.txt <plain.eml
run mime-attach --type 'text/plain; charset=iso-8859-1' latin1.txt <plain.eml
is "text_type_with_its_charset_is_read_back" "$(pycheck text 1 <"$T/out")" \
	"Grüße"
refused "option_after_last_file_is_usage_error" 64 "before" mime-attach figures.csv --name x <plain.eml
# ---- every option of --help is in the man page ----
missing=""
for o in $(mime-attach --help | grep -o -- '--[a-z0-9-]*' | sort -u); do
	[ "$o" = --help ] && continue
	grep -q -- "Fl -${o#--}" "$SRCDIR/man/mime-attach.1" || missing="$missing $o"
done
is "every_help_option_is_in_the_man_page" "$missing" ""
done_testing
