#!/bin/bash
# mime-inline: HTML and text alternatives, inline images (DESIGN 3, 5).
. "$SRCDIR/tests/cli/lib.sh"
MC() { "$PY" "$SRCDIR/tests/cli/mimecheck.py" "$@"; }
cd "$T" || exit 1

cat >plain.eml <<'EOF'
From: Ann <ann@example.org>
To: bob@example.com
Subject: note
Date: Tue, 14 Nov 2023 22:13:20 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hello Bob, Gr=C3=BC=C3=9Fe.
EOF

cat >htmlonly.eml <<'EOF'
From: Ann <ann@example.org>
Subject: html only
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<p>only html</p>
EOF

# from another client: HTML that already links a cid: with no part yet
cat >cidlink.eml <<'EOF'
From: Ann <ann@example.org>
Subject: chart
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="ab"

--ab
Content-Type: text/plain; charset=us-ascii

see chart
--ab
Content-Type: text/html; charset=us-ascii
Content-Transfer-Encoding: quoted-printable

<p>chart: <img src=3D"cid:chart@x"></p>
--ab--
EOF

# Thunderbird's shape: alternative[text, related[html, image]]
cat >tb.eml <<'EOF'
From: Ann <ann@example.org>
Subject: tb
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="tb1"

--tb1
Content-Type: text/plain; charset=us-ascii

old text
--tb1
Content-Type: multipart/related; boundary="tb2"

--tb2
Content-Type: text/html; charset=us-ascii

<p><img src="cid:pic@tb"></p>
--tb2
Content-Type: image/gif
Content-ID: <pic@tb>
Content-Transfer-Encoding: base64

R0lGODlhAQABAAAAACw=
--tb2--
--tb1--
EOF
sed -n '/^Content-Type: image\/gif/,/^R0lG/p' tb.eml >tb-image.raw

cat >mixed.eml <<'EOF'
From: Ann <ann@example.org>
Subject: with attachment
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mx"

--mx
Content-Type: text/plain; charset=us-ascii

body text
--mx
Content-Type: application/octet-stream; name="d.bin"
Content-Disposition: attachment; filename="d.bin"
Content-Transfer-Encoding: base64

AAECAwQFBgcICQoLDA0ODxAREhMU
FRYXGBkaGxwdHh8=
--mx--
EOF
sed -n '/^Content-Type: application\/octet-stream/,/^FRYX/p' mixed.eml >mixed-part.raw

cat >signed.eml <<'EOF'
From: dave@example.com
Subject: signed
MIME-Version: 1.0
Content-Type: multipart/signed; micalg=pgp-sha256;
 protocol="application/pgp-signature"; boundary="sig-b"

--sig-b
Content-Type: text/plain; charset=us-ascii

Signed text.

--sig-b
Content-Type: application/pgp-signature

-----BEGIN PGP SIGNATURE-----
=abcd
-----END PGP SIGNATURE-----

--sig-b--
EOF

mkdir -p site/img
printf '\211PNG\r\n\032\n\0\0\0\rIHDR logo' >site/img/logo.png
printf '\211PNG\r\n\032\n\0\0\0\rIHDR space' >'site/img/my pic.png'
printf 'GIF89a chart' >chart.gif
cat >site/note.html <<'EOF'
<html><body><p>Hello <b>Grüße</b></p>
<img src="img/logo.png" alt="logo"><IMG SRC='img/logo.png'>
<img alt="x" src=img/my%20pic.png>
<img src="https://example.org/remote.png"> <img src="data:image/gif;base64,R0lGOD==">
<!-- <img src="img/missing-in-comment.png"> -->
</body></html>
EOF
cat >site/cid.html <<'EOF'
<p>Chart: <img src="cid:chart@x"> and logo <img src="img/logo.png"></p>
EOF
cat >site/dangling.html <<'EOF'
<p><img src="cid:nobody@x"></p>
EOF
cat >site/broken.html <<'EOF'
<p><img src="img/nosuch.png"></p>
EOF
printf '<p>second version, no images</p>\n' >site/v2.html
printf 'Plain text, Grüße.\n' >text.txt

# Apple Mail's shape: related with type= and start= naming the HTML root
cat >rel.eml <<'EOF'
From: Ann <ann@example.org>
Subject: related
MIME-Version: 1.0
Content-Type: multipart/related; type="text/html"; start="<root@x>";
 boundary="rb"

--rb
Content-Type: text/html; charset=us-ascii
Content-ID: <root@x>

<p><img src="cid:pic@x"></p>
--rb
Content-Type: image/gif
Content-ID: <pic@x>
Content-Transfer-Encoding: base64

R0lGODlhAQABAAAAACw=
--rb--
EOF
sed -n '/^Content-Type: image\/gif/,/^R0lG/p' rel.eml >rel-image.raw

# a body whose alternative cannot be parsed (the boundary is not folded)
cat >brokenalt.eml <<'EOF'
From: Ann <ann@example.org>
Subject: broken
MIME-Version: 1.0
Content-Type: multipart/alternative;
boundary="bb"

--bb
Content-Type: text/plain

old
--bb--
EOF
sed -n '/^boundary=/,$p' brokenalt.eml >brokenalt-body.raw

# modern HTML: srcset, <picture>, background=, CSS url(), one file named
# several ways (./, //, ?query, #fragment)
printf '\211PNG\r\n\032\n\0\0\0\rIHDR 2x' >'site/img/logo@2x.png'
printf '\211PNG\r\n\032\n\0\0\0\rIHDR hero' >site/img/hero.png
printf 'GIF89a bg' >site/img/bg.gif
cat >site/modern.html <<'EOF'
<html><head><style>
.hero { background-image: url("img/hero.png"); }
.remote { background: url(https://example.org/bg.png); }
</style></head><body background="img/bg.gif">
<picture><source srcset="img/logo.png 1x, img/logo@2x.png 2x" type="image/png"><img src="img/logo.png" srcset="./img/logo.png 1x, img//logo@2x.png 2x" alt="logo"></picture>
<div style="background-image:url('img/hero.png?v=3#top')">Hero &amp; more</div>
<table><tr><td background='./img/bg.gif'>cell</td></tr></table>
<p>Tail text kept: <a href="img/logo.png">a link is not an image</a></p>
</body></html>
EOF
sed -e 's#img/hero\.png?v=3\#top#CID#; s#img/hero\.png#CID#; s#\x27\./img/bg\.gif\x27#"CID"#; s#img/bg\.gif#CID#' \
    -e 's#\./img/logo\.png#CID#; s#img//logo@2x\.png#CID#; s#img/logo@2x\.png#CID#' \
    -e '/<a href/!s#img/logo\.png#CID#g' site/modern.html >modern.expected
mkdir -p "site/img/ü"
printf '\211PNG\r\n\032\n\0\0\0\rIHDR umlaut' >'site/img/ü/grün.png'
printf '<p><img src="img/ü/grün.png"></p>\n' >site/umlaut.html
ln -s img site/imglink
printf '<p><img src="imglink/logo.png"></p>\n' >site/symdir.html
cp chart.gif 'grün.gif'
cat >cidutf8.eml <<'EOF'
From: Ann <ann@example.org>
Subject: chart
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: 8bit

<p>chart: <img src="cid:grün.gif"></p>
EOF

plan 64

# ---- job 3: HTML with local images embedded ----
run mime-inline --html site/note.html <plain.eml
is "html_exits_0" "$rc" 0
cp "$T/out" o1.eml
is "html_with_images_gives_related_alternative" "$(pycheck tree <o1.eml)" \
"multipart/related
  multipart/alternative
    text/plain charset=utf-8
    text/html charset=utf-8
  image/png inline filename=logo.png cid
  image/png inline filename=my pic.png cid"
ok "html_output_no_defects" pycheck defects <o1.eml
: >empty.html
run mime-inline --html empty.html <plain.eml
is "empty_html_file_is_an_empty_part_without_criticals" \
    "$rc|$(cat "$T/err")|$(pycheck tree <"$T/out" | tr '\n' '|')|$(pycheck defects <"$T/out")" \
    "0||multipart/alternative|  text/plain charset=utf-8|  text/html charset=utf-8||"
MC html 1 <o1.eml >html.out
ok "local_links_rewritten_to_cid" test "$(grep -io 'src="cid:[^"]*"' html.out | wc -l)" = 3
ok "same_image_twice_is_one_part" test "$(grep -o 'cid:[^"]*' html.out | sort -u | wc -l)" = 2
ok "remote_and_data_links_untouched" grep -q 'src="https://example.org/remote.png"> <img src="data:image/gif;base64,R0lGOD=="' html.out
ok "comment_left_alone" grep -q 'img/missing-in-comment.png' html.out
cid=$(grep -o 'src="cid:[^"]*"' html.out | head -1 | sed 's/src="cid://; s/"//')
ok "cid_link_answers_content_id" grep -q "^Content-ID: <$cid>" o1.eml
ok "image_bytes_exact" cmp <(pycheck part 2 <o1.eml) site/img/logo.png
ok "space_in_path_bytes_exact" cmp <(pycheck part 3 <o1.eml) 'site/img/my pic.png'
is "text_body_kept" "$(pycheck text 0 <o1.eml)" "Hello Bob, Grüße."
ok "html_text_decodes" grep -q 'Hello <b>Grüße</b>' html.out
if command -v mmime >/dev/null; then
	ok "mmime_finds_nothing_to_encode" mmime -c <o1.eml
else
	ok "mmime_finds_nothing_to_encode # SKIP mblaze not installed" true
fi

# ---- replacing the HTML ----
run mime-inline --html site/v2.html <o1.eml
is "html_replaced_drops_unlinked_images" "$(pycheck tree <"$T/out")" \
"multipart/alternative
  text/plain charset=utf-8
  text/html charset=utf-8"
ok "html_replaced_keeps_text_bytes" MC contains "$T/out" <(sed -n '/^Hello Bob/p' plain.eml)

# ---- --text ----
run mime-inline --text text.txt <htmlonly.eml
is "text_added_before_html" "$(pycheck tree <"$T/out")" \
"multipart/alternative
  text/plain charset=utf-8
  text/html charset=utf-8"
is "text_added_decodes" "$(pycheck text 0 <"$T/out")" "Plain text, Grüße."
run mime-inline --text text.txt <plain.eml
is "text_replaces_text" "$(pycheck tree <"$T/out")" "text/plain charset=utf-8"
is "text_replaced_content" "$(pycheck text 0 <"$T/out")" "Plain text, Grüße."

# ---- --image for an existing cid: link ----
run mime-inline --image chart.gif --cid chart@x <cidlink.eml
cp "$T/out" o2.eml
is "image_for_existing_cid_link" "$(pycheck tree <o2.eml)" \
"multipart/related
  multipart/alternative
    text/plain charset=us-ascii
    text/html charset=us-ascii
  image/gif inline filename=chart.gif cid"
ok "image_cid_is_the_given_one" grep -q '^Content-ID: <chart@x>' o2.eml
ok "image_added_no_defects" pycheck defects <o2.eml
cp chart.gif "$(printf 'gr\374n.gif')"
run mime-inline --image "$(printf 'gr\374n.gif')" --cid chart@x <cidlink.eml
is "image_file_name_not_utf8_is_embedded" "$rc" 0
run mime-inline --html site/cid.html --image chart.gif --cid chart@x <plain.eml
is "html_and_image_in_one_run" "$(pycheck tree <"$T/out")" \
"multipart/related
  multipart/alternative
    text/plain charset=utf-8
    text/html charset=utf-8
  image/png inline filename=logo.png cid
  image/gif inline filename=chart.gif cid"

# ---- other shapes ----
ok "new_related_names_its_root_type" grep -q '^Content-Type: multipart/related; type="multipart/alternative";' o1.eml
run mime-inline --text text.txt <rel.eml
is "text_added_to_related_html" "$(pycheck tree <"$T/out")" \
"multipart/related
  multipart/alternative
    text/plain charset=utf-8
    text/html cid charset=us-ascii
  image/gif cid"
ok "related_with_new_root_type_is_a_new_container" sh -c "grep -q 'type=\"multipart/alternative\"' '$T/out' && ! grep -q 'start=' '$T/out'"
ok "related_image_byte_identical" MC contains "$T/out" rel-image.raw
run mime-inline --text text.txt <tb.eml
is "related_inside_alternative_becomes_canonical" "$(pycheck tree <"$T/out")" \
"multipart/related
  multipart/alternative
    text/plain charset=utf-8
    text/html charset=us-ascii
  image/gif cid"
ok "moved_image_byte_identical" MC contains "$T/out" tb-image.raw
run mime-inline --html site/note.html <mixed.eml
cp "$T/out" o3.eml
is "inline_after_attach_keeps_mixed_outside" "$(pycheck tree <o3.eml)" \
"multipart/mixed
  multipart/related
    multipart/alternative
      text/plain charset=us-ascii
      text/html charset=utf-8
    image/png inline filename=logo.png cid
    image/png inline filename=my pic.png cid
  application/octet-stream attachment filename=d.bin"
ok "inline_after_attach_attachment_byte_identical" MC contains o3.eml mixed-part.raw
# HTML beside a signed body would mislead (DESIGN 3, issue 17)
refused "html_beside_signed_body_is_65" 65 "add parts before signing" \
    mime-inline --html site/v2.html <signed.eml
refused "text_beside_signed_body_is_65" 65 "add parts before signing" \
    mime-inline --text text.txt <signed.eml
sed 's/$/\r/' plain.eml >plain-crlf.eml
run mime-inline --html site/note.html <plain-crlf.eml
is "crlf_input_gives_crlf_output" "$(MC eol "$T/out")" crlf

run mime-inline --text text.txt <brokenalt.eml
is "unparsable_body_is_kept_whole_after_the_new_text" "$rc:$(pycheck text 0 <"$T/out")" "0:Plain text, Grüße."
ok "unparsable_body_bytes_kept" MC contains "$T/out" brokenalt-body.raw

mime-inline --html site/note.html <plain.eml >r1.eml
mime-inline --html site/note.html <plain.eml >r2.eml
ok "same_input_same_output_under_source_date_epoch" cmp r1.eml r2.eml

# ---- errors: nothing on stdout ----
printf '<p>Gr\374\337e</p>\n' >latin1.html
refused "html_not_utf8_is_65" 65 "latin1.html" mime-inline --html latin1.html <plain.eml
refused "dangling_cid_is_65" 65 "cid:nobody@x" mime-inline --html site/dangling.html <plain.eml
refused "image_without_link_is_65" 65 "cid:other@x" mime-inline --image chart.gif --cid other@x <cidlink.eml
refused "image_without_html_is_65" 65 "no HTML" mime-inline --image chart.gif --cid c@x <plain.eml
refused "missing_local_image_is_66" 66 "nosuch.png" mime-inline --html site/broken.html <plain.eml
refused "empty_input_is_65" 65 "empty input" mime-inline --html site/v2.html </dev/null
refused "nothing_to_do_is_usage_error" 64 "nothing to do" mime-inline <plain.eml
# HTML must not mail away files from outside its folder
printf 'secret\n' >outside.txt
printf '<p><img src="../outside.txt"></p>\n' >site/escape.html
printf '<p><img src="%s"></p>\n' "$PWD/outside.txt" >site/absolute.html
ln -sf ../outside.txt site/link.png
printf '<p><img src="link.png"></p>\n' >site/symlink.html
refused "image_above_the_html_folder_is_65" 65 '../outside.txt' mime-inline --html site/escape.html <plain.eml
refused "absolute_image_outside_the_folder_is_65" 65 'outside.txt' mime-inline --html site/absolute.html <plain.eml
refused "symlink_out_of_the_folder_is_65" 65 'link.png' mime-inline --html site/symlink.html <plain.eml
# ---- srcset, <picture>, background=, CSS url() (issue 19) ----
run mime-inline --html site/modern.html <plain.eml
is "modern_html_images_embedded_once_each" "$rc:$(pycheck tree <"$T/out")" \
"0:multipart/related
  multipart/alternative
    text/plain charset=utf-8
    text/html charset=utf-8
  image/png inline filename=hero.png cid
  image/gif inline filename=bg.gif cid
  image/png inline filename=logo.png cid
  image/png inline filename=logo@2x.png cid"
ok "modern_html_no_defects" pycheck defects <"$T/out"
MC html 1 <"$T/out" | sed -E 's#cid:[A-Za-z0-9._@%-]+#CID#g' >modern.out
ok "only_image_references_rewritten_rest_byte_identical" diff modern.expected modern.out
ok "same_file_named_four_ways_is_one_cid" test "$(MC html 1 <"$T/out" | grep -o 'cid:[a-z0-9]*@mimepipe' | sort -u | wc -l)" = 4
run mime-inline --html site/umlaut.html <plain.eml
ok "non_ascii_image_name_embedded_with_ascii_content_id" sh -c "[ $rc = 0 ] && grep -q '^Content-ID: <[a-z0-9]*@mimepipe>' '$T/out'"
is "non_ascii_image_name_decodes" "$(pycheck tree <"$T/out" | grep image/)" "  image/png inline filename=grün.png cid"
run mime-inline --image grün.gif <cidutf8.eml
ok "non_ascii_image_file_gives_valid_content_id" sh -c "[ $rc = 0 ] && grep -q '^Content-ID: <gr%C3%BCn.gif>' '$T/out'"
ok "non_ascii_content_id_no_defects" pycheck defects <"$T/out"
refused "symlinked_folder_inside_is_65" 65 'imglink/logo.png' mime-inline --html site/symdir.html <plain.eml
printf '<p><img src="img/"></p>\n' >site/folder.html
refused "image_naming_a_folder_is_66" 66 'not a regular file' mime-inline --html site/folder.html <plain.eml

# ---- mime-compose --html without mime-inline: local images stay behind ----
run mime-compose --from ann@example.org --to bob@example.com --html site/modern.html </dev/null
ok "compose_warns_local_images_will_not_travel" sh -c "[ $rc = 0 ] && grep -q 'will not travel' '$T/err' && grep -q 'img/hero.png' '$T/err' && [ \$(wc -l <'$T/err') = 1 ]"
ok "compose_warning_leaves_the_message_whole" pycheck defects <"$T/out"
run mime-compose --from ann@example.org --to bob@example.com --html site/v2.html </dev/null
is "compose_no_local_images_no_warning" "$rc:$(cat "$T/err")" "0:"
run mime-compose --from ann@example.org --to bob@example.com --html site/cid.html </dev/null
ok "compose_warning_names_no_remote_or_cid" sh -c "! grep -q 'cid:\|https:' '$T/err'"

# ---- every option of --help is in the man page ----
missing=""
for o in $(mime-inline --help | grep -o -- '--[a-z0-9-]*' | sort -u); do
	[ "$o" = --help ] && continue
	grep -q -- "Fl -${o#--}" "$SRCDIR/man/mime-inline.1" || missing="$missing $o"
done
is "every_help_option_is_in_the_man_page" "$missing" ""
done_testing
