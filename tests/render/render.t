#!/bin/bash
# The HTML renderer (mp-render) on realistic HTML mails, against lynx -dump
# on the same HTML with its hidden elements removed and against the text
# as reviewed (NAME.txt); and the text part mime-compose --html writes from
# it (format=flowed, RFC 3676).
. "$SRCDIR/tests/cli/lib.sh"
R="$BUILDDIR/tests/render/render-html"
D="$SRCDIR/tests/render"
cd "$T" || exit 1

mails="newsletter receipt lists thunderbird outlook gmail latin1"
plan 26

for m in $mails; do
	"$R" "$D/$m.html" >"$m.txt" 2>"$m.err"
	# the layout itself, as reviewed (tests/render/NAME.txt)
	ok "${m}_renders_as_reviewed" diff -u "$D/$m.txt" "$m.txt"
	if ! command -v lynx >/dev/null; then
		skip "${m}_same_words_and_links_as_lynx" "lynx not installed"
		continue
	fi
	ok "${m}_same_words_and_links_as_lynx" "$PY" "$D/lynxcheck.py" "$D/$m.html" "$m.txt"
done

# newsletter preheaders hide their text with display:none and mso-hide:all
ok "hidden_preheaders_not_rendered" sh -c "! grep -qE 'Spring sale starts|Outlook-only|Receipt for order' newsletter.txt receipt.txt"
# a tracking pixel (alt=\"\") and the <head> leave nothing
ok "title_and_style_not_rendered" sh -c "! grep -qE 'Issue 42|font-family|margin' newsletter.txt"

# 72 columns: only a line that is one word (or URL) may be longer
long=$(cat ./*.txt | "$PY" -c '
import re, sys
for line in sys.stdin.read().split("\n"):
    word = re.sub(r"^\[\d+\] ", "", line.strip())  # the link list
    if len(line.rstrip(" ")) > 72 and " " in word:
        print(line)')
is "lines_wrapped_at_72_columns" "$long" ""

# aligned table rows are hard lines (they never reflow), all space-stuffed
# so they keep their columns whether a reader removes the space or not
is "receipt_table_rows_aligned" "$(grep -E '^ (Item|Milk jug)' receipt.txt)" \
" Item                  Qty    Price
 Milk jug, stainless     1  € 14.50"
is "charset_from_meta" "$(head -1 latin1.txt)" "Grüße aus Köln, schöne Grüße an die Straße."

# ---- mime-compose --html: a text alternative rendered from the HTML ----
cp "$D/newsletter.html" note.html
run mime-compose --from ann@example.org --to bob@example.com --subject news --html note.html </dev/null
cp "$T/out" alt.eml
is "compose_html_alone_gives_alternative" "$rc:$(pycheck tree <alt.eml)" \
"0:multipart/alternative
  text/plain charset=utf-8
  text/html charset=utf-8"
ok "compose_alternative_no_defects" pycheck defects <alt.eml
# round trip: Python's email gives back the rendered text byte for byte,
# labelled format=flowed, and unflowing it (RFC 3676 4.2, DelSp=no) joins
# the soft lines of each paragraph
"$R" note.html >note.txt
ok "text_part_round_trips_through_python" "$PY" - alt.eml note.txt <<'PYEOF'
import email, email.policy, sys
msg = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
plain = msg.get_body(("plain",))
assert plain.get_param("format") == "flowed", plain["Content-Type"]
assert plain.get_param("delsp") in (None, "no")
text = plain.get_content()
want = open(sys.argv[2], encoding="utf-8").read()
assert text == want, (text[:200], want[:200])
paras, cur = [], ""
for line in text.split("\n"):
    if line.startswith(" "):
        line = line[1:]  # space-stuffing
    cur += line
    if not line.endswith(" "):
        paras.append(cur)
        cur = ""
assert any(p.startswith("From Friday to Sunday every hand tool") and p.endswith("cheap replacements.") for p in paras), paras
PYEOF
run mime-compose --from ann@example.org --to bob@example.com --subject news --html note.html --no-text </dev/null
is "no_text_keeps_html_only" "$rc:$(pycheck tree <"$T/out")" "0:text/html charset=utf-8"
printf 'Hello Bob\n' >body.txt
run mime-compose --from ann@example.org --to bob@example.com --subject news --html note.html body.txt
is "text_body_given_is_used_not_rendered" "$(pycheck text 0 <"$T/out")" "Hello Bob"
# the charset the HTML part is labelled with is the one rendered
run mime-compose --from ann@example.org --to bob@example.com --charset iso-8859-1 --html "$D/latin1.html" </dev/null
is "compose_renders_in_the_given_charset" "$(pycheck text 0 <"$T/out" | head -1)" "Grüße aus Köln, schöne Grüße an die Straße."
printf '<meta charset="iso-8859-1"><p>Gr\303\274\303\237e</p>\n' >mislabelled.html
run mime-compose --from ann@example.org --to bob@example.com --html mislabelled.html </dev/null
is "compose_utf8_part_wins_over_a_wrong_meta" "$(pycheck text 0 <"$T/out")" "Grüße"
done_testing
