#!/bin/bash
# The canonical tree (DESIGN 3) whatever the order of the stages, and
# bounded memory for a large attachment (issue 3).
. "$SRCDIR/tests/cli/lib.sh"
MC() { "$PY" "$SRCDIR/tests/cli/mimecheck.py" "$@"; }
cd "$T" || exit 1

# what mime-compose writes: a text/plain UTF-8 message
cat >composed.eml <<'EOF'
From: Ann <ann@example.org>
To: bob@example.com
Subject: =?UTF-8?Q?Quarterly_report_=E5=AD=A3=E5=BA=A6=E6=8A=A5=E5=91=8A?=
Date: Tue, 14 Nov 2023 22:13:20 +0000
Message-ID: <c.1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hello Bob, Gr=C3=BC=C3=9Fe.
EOF
mkdir -p site/img
printf '\211PNG\r\n\032\n\0\0\0\rIHDR logo' >site/img/logo.png
printf 'GIF89a chart' >chart.gif
cat >site/note.html <<'EOF'
<p>Hello <b>Grüße</b>: <img src="img/logo.png"> <img src="cid:chart@x"></p>
EOF
printf 'Plain text, Grüße.\n' >text.txt
printf '%%PDF-1.4\n%%\342\343\317\323\n' >'Bericht für Q3.pdf'
printf 'a,b\n1,2\n' >figures.csv

# the stages; A always runs before B so the attachments keep one order
stage() {
	case $1 in
	H) mime-inline --html site/note.html --image chart.gif --cid chart@x ;;
	T) mime-inline --text text.txt ;;
	A) mime-attach 'Bericht für Q3.pdf' ;;
	B) mime-attach figures.csv ;;
	esac
}
pipeline() {
	local input=$1 order=$2 i
	cat "$input" >p.0
	for ((i = 0; i < ${#order}; i++)); do
		stage "${order:i:1}" <p.$i >p.$((i + 1)) || return 1
	done
	cat p.$i
}
orders4="HTAB HATB HABT THAB TAHB TABH AHTB AHBT ATHB ATBH ABHT ABTH"
orders3="HAB AHB ABH"

expected4="multipart/mixed
  multipart/related
    multipart/alternative
      text/plain charset=utf-8
      text/html charset=utf-8
    image/png inline filename=logo.png cid
    image/gif inline filename=chart.gif cid
  application/pdf attachment filename=Bericht für Q3.pdf
  text/csv attachment filename=figures.csv charset=utf-8"

plan 24

# an attached file is base64 (DESIGN 4): its exact bytes come back, LF
# line endings included, whatever the message's line endings
check_orders() {
	local input=$1 orders=$2 o bad="" csv=figures.csv
	for o in $orders; do
		pipeline "$input" "$o" >out.$o || { bad="$bad $o:exit"; continue; }
		[ "$(pycheck tree <out.$o)" = "$expected4" ] || bad="$bad $o:tree"
		pycheck defects <out.$o >/dev/null || bad="$bad $o:defects"
		cmp -s <(pycheck part 4 <out.$o) 'Bericht für Q3.pdf' || bad="$bad $o:pdf"
		cmp -s <(pycheck part 5 <out.$o) $csv || bad="$bad $o:csv"
		cmp -s <(pycheck part 2 <out.$o) site/img/logo.png || bad="$bad $o:png"
	done
	echo "$bad"
}

is "every_order_of_html_text_attach_gives_the_canonical_tree" \
	"$(check_orders composed.eml "$orders4")" ""
is "text_of_every_order_is_the_new_text" \
	"$(for o in $orders4; do pycheck text 0 <out.$o; done | sort -u)" "Plain text, Grüße."
is "compose_attach_inline_attach_equals_compose_inline_attach" \
	"$(check_orders composed.eml "$orders3")" ""
is "composed_text_survives_every_order" \
	"$(for o in $orders3; do pycheck text 0 <out.$o; done | sort -u)" "Hello Bob, Grüße."
sed 's/$/\r/' composed.eml >composed-crlf.eml
is "every_order_with_crlf_input" "$(check_orders composed-crlf.eml "HTAB ABTH TAHB")" ""
is "crlf_kept_through_the_stages" "$(MC eol out.ABTH)" crlf
is "html_survives_later_stages_intact" \
	"$(MC html 1 <out.HABT | grep -o 'cid:' | wc -l)" 2

# ---- job 5: everything at once, into an .eml file ----
cat >fwd.eml <<'EOF'
From: frank@example.com
Subject: forwarded
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

forwarded text
EOF
mime-inline --html site/note.html --image chart.gif --cid chart@x <composed.eml |
	mime-attach 'Bericht für Q3.pdf' --message fwd.eml \
		--fd 3 --name 'Zählung 2026.csv' - 3< <(printf 'x,y\n3,4\n') |
	mime-attach -o job5.eml figures.csv
is "everything_at_once_gives_the_canonical_tree" "$(pycheck tree <job5.eml)" \
"multipart/mixed
  multipart/related
    multipart/alternative
      text/plain charset=utf-8
      text/html charset=utf-8
    image/png inline filename=logo.png cid
    image/gif inline filename=chart.gif cid
  application/pdf attachment filename=Bericht für Q3.pdf
  message/rfc822 attachment filename=fwd.eml
    text/plain charset=us-ascii
  text/csv attachment filename=Zählung 2026.csv charset=utf-8
  text/csv attachment filename=figures.csv charset=utf-8"
ok "everything_at_once_no_defects" pycheck defects <job5.eml
is "everything_at_once_fd_data_exact" "$(pycheck part 6 <job5.eml)" "$(printf 'x,y\n3,4\n')"
if command -v mmime >/dev/null; then
	ok "everything_at_once_nothing_for_mmime_to_encode" mmime -c <job5.eml
else
	ok "everything_at_once_nothing_for_mmime_to_encode # SKIP no mblaze" true
fi

# ---- a boundary never occurs in what it encloses (issue 13) ----
# reproducible boundaries come from the message's header and size: a text
# of the same size as a first one can hold the delimiter drawn for it
printf '<p>Hello</p>\n' >hello.html
mime-compose --from a@example.org --to b@example.org --subject s \
	--html hello.html >html-only.eml
printf '%030d\n' 0 | tr 0 - >probe.txt
mime-inline --text probe.txt <html-only.eml >probe.eml
b=$(grep -o 'boundary="[^"]*"' probe.eml | head -1 | sed 's/^boundary="//; s/"$//')
printf -- '--%s--\n' "$b" >holds-delimiter.txt
run mime-inline --text holds-delimiter.txt <html-only.eml
is "text_holding_the_drawn_delimiter_gets_another_boundary" "$(pycheck tree <"$T/out")" \
"multipart/alternative
  text/plain charset=utf-8
  text/html charset=utf-8"
is "text_holding_the_drawn_delimiter_kept_exactly" "$(pycheck part 0 <"$T/out")" "--$b--"
run mime-inline --text holds-delimiter.txt <html-only.eml
cp "$T/out" again.eml
run mime-inline --text holds-delimiter.txt <html-only.eml
ok "the_redrawn_boundary_is_reproducible" cmp again.eml "$T/out"

# a new text inside a container of the message whose delimiter it holds
cat >outer.eml <<'EOF'
From: a@example.org
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer-XYZ"

--outer-XYZ
Content-Type: text/plain; charset=us-ascii

old text
--outer-XYZ
Content-Type: application/octet-stream

AAEC
--outer-XYZ--
EOF
printf 'quoting a delimiter:\n--outer-XYZ--\n' >quote.txt
run mime-inline --text quote.txt <outer.eml
is "text_holding_an_outer_delimiter_keeps_the_tree" "$(pycheck tree <"$T/out")" \
"multipart/mixed
  text/plain charset=utf-8
  application/octet-stream"
is "text_holding_an_outer_delimiter_kept_exactly" "$(pycheck part 0 <"$T/out")" "$(cat quote.txt)"

# mime-inline refuses what readers disagree on, as mime-attach does
sed 's/boundary="outer-XYZ"/boundary=(c)outer-XYZ/' outer.eml >comment.eml
refused "inline_refuses_a_boundary_with_a_comment" 65 "a comment" \
	mime-inline --text text.txt <comment.eml

# ---- bounded memory: a large attachment, then the message from a pipe ----
mb=${MIMEPIPE_BIG_MB:-32}
head -c $((mb * 1024 * 1024)) /dev/urandom >big.bin
printf 'small\n' >small.txt
asan=""
if ldd "$BUILDDIR/tools/mime-attach" 2>/dev/null | grep -q 'lib[at]san'; then
	asan=" # SKIP memory is not measured under sanitizers"
fi
read -r rss1 rc1 < <(MC rss composed.eml big.eml mime-attach big.bin)
echo "# mime-attach of a $mb MiB file: peak RSS ${rss1} KiB"
is "large_attachment_exits_0" "$rc1" 0
ok "large_attachment_under_32_MiB$asan" test "$rss1" -lt 32768
read -r rss2 rc2 < <(MC rsspipe big.eml big2.eml mime-attach small.txt)
echo "# mime-attach on a $mb MiB message from a pipe: peak RSS ${rss2} KiB"
is "large_message_from_pipe_exits_0" "$rc2" 0
ok "large_message_from_pipe_under_32_MiB$asan" test "$rss2" -lt 32768
read -r rss3 rc3 < <(MC rsspipe big2.eml big3.eml mime-inline --text text.txt)
echo "# mime-inline on it from a pipe: peak RSS ${rss3} KiB"
ok "large_message_through_inline_under_32_MiB$asan" test "$rc3" = 0 -a "$rss3" -lt 32768
ok "large_attachment_bytes_exact_after_three_stages" cmp <(pycheck part 1 <big3.eml) big.bin
ok "large_message_added_part_appended" MC inserted big.eml big2.eml
done_testing
