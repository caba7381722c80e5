/* mp-render: one table of cases per rule of the renderer (mp-render.h). */
#include "mp-error.h"
#include "mp-render.h"

#include <string.h>

typedef struct {
	const char *html;
	const char *text;
} Case;

static void
check (const Case *cases, guint n, gboolean flowed)
{
	MpRenderOptions opts = { 72, flowed };
	guint i;

	for (i = 0; i < n; i++) {
		g_autoptr (GError) error = NULL;
		g_autofree char *text =
			mp_render_html (cases[i].html, strlen (cases[i].html),
					NULL, &opts, &error);

		g_assert_no_error (error);
		g_assert_cmpstr (text, ==, cases[i].text);
	}
}

#define CHECK(cases, flowed) check (cases, G_N_ELEMENTS (cases), flowed)

static void
test_paragraphs (void)
{
	static const Case cases[] = {
		{ "<p>a</p><p>b</p>", "a\n\nb\n" },
		{ "<div>a</div><div>b</div>", "a\nb\n" },
		{ "a<p>b</p>c", "a\n\nb\n\nc\n" },
		{ "<p>a</p><p></p><p>&nbsp;</p><p>b</p>", "a\n\nb\n" },
		{ "<div>a</div><div><br></div><div>b</div>", "a\n\nb\n" },
		{ "<p>a</p><hr><p>b</p>",
		  "a\n\n-----------------------------------------------------"
		  "-------------------\n\nb\n" },
		{ "", "" },
		{ "<p> </p>", "" },
	};

	CHECK (cases, FALSE);
}

static void
test_headings (void)
{
	static const Case cases[] = {
		{ "<h1>Title</h1><p>x</p>", "Title\n=====\n\nx\n" },
		{ "<h2>Sub  title</h2>", "Sub title\n---------\n" },
		{ "<h3>Small</h3>", "Small\n~~~~~\n" },
		{ "<h6>Tiny</h6>", "Tiny\n~~~~\n" },
		{ "<h1>Grüße 季度</h1>", "Grüße 季度\n==========\n" },
		/* found by fuzz-render: an empty line in an indented heading */
		{ "<ul><li><h2><br><br>x</h2></li></ul>", "*\n\n  x\n  -\n" },
	};

	CHECK (cases, FALSE);
}

static void
test_lists (void)
{
	static const Case cases[] = {
		{ "<ul><li>a</li><li>b</li></ul>", "* a\n* b\n" },
		{ "<ol><li>a</li><li>b</li></ol>", "1. a\n2. b\n" },
		{ "<ol start=\"9\"><li>a</li><li>b</li></ol>",
		  "9. a\n10. b\n" },
		{ "<ol type=\"a\"><li>a</li><li>b</li></ol>", "a. a\nb. b\n" },
		{ "<ol type=\"I\" start=\"3\"><li>a</li><li>b</li></ol>",
		  "III. a\nIV. b\n" },
		{ "<ol reversed><li>a</li><li>b</li></ol>", "2. a\n1. b\n" },
		{ "<ul><li>a<ul><li>b<ul><li>c</li></ul></li></ul></li>"
		  "<li>d</li></ul>",
		  "* a\n  - b\n    + c\n* d\n" },
		{ "<ol><li>a<ul><li>b</li></ul></li><li>c</li></ol>",
		  "1. a\n   - b\n2. c\n" },
		{ "<ul><li>a long item that wraps past the width of the line, "
		  "so that its second line is indented under the text</li>"
		  "</ul>",
		  "* a long item that wraps past the width of the line, so "
		  "that its second\n  line is indented under the text\n" },
		{ "<p>x</p><ul><li>a</li></ul><p>y</p>", "x\n\n* a\n\ny\n" },
		{ "<dl><dt>Term</dt><dd>Meaning</dd></dl>",
		  "Term\n    Meaning\n" },
	};

	CHECK (cases, FALSE);
}

static void
test_links (void)
{
	static const Case cases[] = {
		{ "<p>See <a href=\"https://x.org/a\">the page</a>.</p>",
		  "See the page [1].\n\nLinks:\n[1] https://x.org/a\n" },
		{ "<a href=\"https://x.org/\">https://x.org/</a>",
		  "https://x.org/\n" },
		{ "<a href=\"mailto:ann@x.org\">ann@x.org</a>", "ann@x.org\n" },
		{ "<a href=\"https://x.org/a\">one</a> <a href=\"https://x.org/b\">"
		  "two</a> <a href=\"https://x.org/a\">again</a>",
		  "one [1] two [2] again [1]\n\nLinks:\n[1] https://x.org/a\n"
		  "[2] https://x.org/b\n" },
		{ "<a href=\"https://x.org/a\"><img src=\"logo.png\"></a>",
		  "[1]\n\nLinks:\n[1] https://x.org/a\n" },
		{ "<a href=\"#top\">Top</a> <a href=\"javascript:void(0)\">JS</a>"
		  " <a name=\"x\">anchor</a>",
		  "Top JS anchor\n" },
		/* a link around blocks: the number ends its last line */
		{ "<a href=\"https://x.org/a\"><p>one</p><p>two</p></a>",
		  "one\n\ntwo [1]\n\nLinks:\n[1] https://x.org/a\n" },
		{ "<a href=\" https://x.org/a?b=1&amp;c=2\n\">q</a>",
		  "q [1]\n\nLinks:\n[1] https://x.org/a?b=1&c=2\n" },
	};

	CHECK (cases, FALSE);
}

static void
test_images (void)
{
	static const Case cases[] = {
		{ "<p><img src=\"a.png\" alt=\"Company logo\"> Welcome</p>",
		  "Company logo Welcome\n" },
		{ "<p><img src=\"pixel.gif\" alt=\"\">x<img src=\"b.png\"></p>",
		  "x\n" },
	};

	CHECK (cases, FALSE);
}

static void
test_tables (void)
{
	static const Case cases[] = {
		/* cells aligned in columns, right alignment kept */
		{ "<table><tr><th>Item</th><th align=right>Price</th></tr>"
		  "<tr><td>Tea</td><td align=right>3.50</td></tr>"
		  "<tr><td>Cake with cream</td><td "
		  "style=\"text-align: right\">12.00</td></tr></table>",
		  "Item             Price\nTea               3.50\n"
		  "Cake with cream  12.00\n" },
		/* colspan */
		{ "<table><tr><td>a</td><td>b</td><td>c</td></tr>"
		  "<tr><td colspan=2 align=right>Total</td><td>9</td></tr>"
		  "</table>",
		  "a  b   c\nTotal  9\n" },
		/* a layout table: cells holding blocks follow each other */
		{ "<table><tr><td><p>one</p><p>two</p></td><td><p>three</p>"
		  "</td></tr></table>",
		  "one\n\ntwo\n\nthree\n" },
		/* too wide to align: one row per line, wrapped */
		{ "<table><tr><td>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa</td>"
		  "<td>bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb</td></tr>"
		  "<tr><td>c</td><td>d</td></tr></table>",
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
		  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\nc  d\n" },
		/* spacer rows and cells leave nothing */
		{ "<table><tr><td></td></tr><tr><td>&nbsp;</td><td>x</td></tr>"
		  "</table>",
		  "x\n" },
		{ "<p>a</p><table><tr><td>b</td></tr></table><p>c</p>",
		  "a\n\nb\n\nc\n" },
	};

	CHECK (cases, FALSE);
}

static void
test_pre_and_br (void)
{
	static const Case cases[] = {
		{ "<pre>a  b\n    c\n\nd</pre>", "a  b\n    c\n\nd\n" },
		{ "<pre>\nfirst</pre>", "first\n" },
		{ "<p>a<br>b<br><br>c<br></p>", "a\nb\n\nc\n" },
		{ "<p>a <br> b</p>", "a\nb\n" },
	};

	CHECK (cases, FALSE);
}

static void
test_entities_and_whitespace (void)
{
	static const Case cases[] = {
		{ "<p>&amp; &lt;&gt; &eacute;t&eacute; &#x41;&#66; &euro;</p>",
		  "& <> été AB €\n" },
		{ "<p>  a \n\t b  <b> c </b>d</p>", "a b c d\n" },
		{ "<p>a<b>b</b>c <i> d</i></p>", "abc d\n" },
		{ "<p>x&nbsp;&nbsp;y</p>", "x  y\n" },
		{ "<p>in&shy;vis&#8203;ible&zwnj;</p>", "invisible\n" },
	};

	CHECK (cases, FALSE);
}

static void
test_hidden (void)
{
	static const Case cases[] = {
		{ "<html><head><title>T</title><style>p{}</style></head>"
		  "<body><p>x</p></body></html>",
		  "x\n" },
		{ "<p>a<script>var s = 1;</script><style>.c{}</style>"
		  "<template><p>t</p></template>b</p>",
		  "ab\n" },
		{ "<p hidden>h</p><p>x</p>", "x\n" },
		{ "<div style=\"display:none\">pre</div>x", "x\n" },
		{ "<div style=\"color: red; DISPLAY : None !important\">pre</div>"
		  "x",
		  "x\n" },
		{ "<span style='mso-hide:all'>pre</span>x", "x\n" },
		{ "<div style=\"display:block\">shown</div>", "shown\n" },
		{ "<table><tr><td style=\"display:none\">h</td><td>x</td></tr>"
		  "</table>",
		  "x\n" },
	};

	CHECK (cases, FALSE);
}

static void
test_quotes (void)
{
	static const Case cases[] = {
		{ "<p>Hi</p><blockquote><p>a</p><p>b</p></blockquote>",
		  "Hi\n\n> a\n>\n> b\n" },
		{ "<blockquote>a<blockquote>b</blockquote></blockquote>",
		  "> a\n>\n>> b\n" },
	};

	CHECK (cases, FALSE);
	CHECK (cases, TRUE);
}

/* RFC 3676: soft breaks end in a space, stuffing, the signature line */
static void
test_flowed (void)
{
	static const Case cases[] = {
		{ "<p>one two three four five six seven eight nine ten eleven "
		  "twelve thirteen fourteen</p>",
		  "one two three four five six seven eight nine ten eleven "
		  "twelve thirteen \nfourteen\n" },
		{ "<p>From here</p><p>&gt; not a quote</p><pre> indented</pre>",
		  " From here\n\n > not a quote\n\n  indented\n" },
		{ "<pre>-- \nAnn</pre>", "-- \n Ann\n" },
		{ "<p>trailing   <br>space</p>", "trailing\nspace\n" },
		/* indented list lines are hard (a reflowing reader keeps them)
		 * and stuffed, aligned as in a reader that keeps the space */
		{ "<ul><li>a long item that wraps past the width of the line, "
		  "so that its second line is indented under the text</li>"
		  "</ul>",
		  " * a long item that wraps past the width of the line, so "
		  "that its second\n   line is indented under the text\n" },
		/* so are aligned table rows */
		{ "<table><tr><td>a</td><td align=right>1</td></tr>"
		  "<tr><td>bbb</td><td align=right>22</td></tr></table>",
		  " a     1\n bbb  22\n" },
	};

	CHECK (cases, TRUE);
}

static void
test_wrap_width (void)
{
	static const char *html =
		"<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, "
		"sed do eiusmod tempor incididunt ut labore et dolore magna "
		"aliqua. Ut enim ad minim veniam, quis nostrud exercitation "
		"ullamco laboris nisi ut aliquip ex ea commodo consequat. "
		"https://example.org/a/very/long/url/that/cannot/be/broken/"
		"anywhere/at/all/because/it/has/no/spaces done</p>";
	guint widths[] = { 72, 40, 20 };
	guint i;

	for (i = 0; i < G_N_ELEMENTS (widths); i++) {
		MpRenderOptions opts = { widths[i], TRUE };
		g_autofree char *text =
			mp_render_html (html, strlen (html), NULL, &opts, NULL);
		g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
		g_autoptr (GString) joined = g_string_new (NULL);
		guint j;

		for (j = 0; lines[j] && *lines[j]; j++) {
			gsize len = strlen (lines[j]);

			/* a line is longer only when it is one word */
			if (len > widths[i]) {
				g_autofree char *w =
					g_strchomp (g_strdup (lines[j]));

				g_assert_null (strchr (w, ' '));
			}
			if (lines[j + 1] && *lines[j + 1])
				g_assert_true (lines[j][len - 1] == ' ');
			g_string_append (joined, lines[j]);
		}
		/* unflowed (DelSp=no), the paragraph comes back */
		g_assert_true (g_str_has_prefix (joined->str, "Lorem ipsum"));
		g_assert_true (g_str_has_suffix (joined->str, "spaces done"));
		g_assert_null (strstr (joined->str, "  "));
	}
}

static void
test_charsets (void)
{
	static const struct {
		const char *html, *charset, *text;
	} cases[] = {
		{ "<p>Gr\xfc\xdf"
		  "e</p>",
		  "iso-8859-1", "Grüße\n" },
		{ "<p>\x80 5</p>", "windows-1252", "€ 5\n" },
		{ "<meta charset=\"koi8-r\"><p>\xf0\xd2\xc9\xd7\xc5\xd4</p>",
		  NULL, "Привет\n" },
		{ "<meta http-equiv=\"Content-Type\" content=\"text/html; "
		  "charset=ISO-8859-15\"><p>\xa4</p>",
		  NULL, "€\n" },
		/* the part's charset wins over <meta> */
		{ "<meta charset=\"koi8-r\"><p>Gr\xc3\xbc\xc3\x9f"
		  "e</p>",
		  "utf-8", "Grüße\n" },
		/* no label: UTF-8 when valid, else windows-1252 */
		{ "<p>Gr\xc3\xbc\xc3\x9f"
		  "e</p>",
		  NULL, "Grüße\n" },
		{ "<p>Gr\xfc\xdf"
		  "e</p>",
		  NULL, "Grüße\n" },
		{ "<meta charset=\"x-nonsense\"><p>ok</p>", NULL, "ok\n" },
		{ "<meta charset=\"\"><meta content=\"x\"><p>ok</p>", NULL,
		  "ok\n" },
		/* bad bytes in UTF-8 become U+FFFD */
		{ "<p>a\xff"
		  "b</p>",
		  "utf-8",
		  "a\xef\xbf\xbd"
		  "b\n" },
	};
	guint i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr (GError) error = NULL;
		g_autofree char *text =
			mp_render_html (cases[i].html, strlen (cases[i].html),
					cases[i].charset, NULL, &error);

		g_assert_no_error (error);
		g_assert_cmpstr (text, ==, cases[i].text);
		g_assert_true (g_utf8_validate (text, -1, NULL));
	}
}

static void
test_unknown_charset_is_an_error (void)
{
	g_autoptr (GError) error = NULL;
	g_autofree char *text =
		mp_render_html ("<p>x</p>", 8, "x-nonsense", NULL, &error);

	g_assert_null (text);
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
}

/* windows-1255 holds a letter back for a combining mark: the last one of
 * the document comes out too */
static void
test_last_letter_held_back_by_the_charset_kept (void)
{
	g_autoptr (GError) error = NULL;
	g_autofree char *text = mp_render_html ("\xf9\xec\xe5\xed", 4,
						"windows-1255", NULL, &error);

	g_assert_no_error (error);
	g_assert_cmpstr (text, ==, "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d\n");
}

static void
test_deep_nesting (void)
{
	g_autoptr (GString) html = g_string_new (NULL);
	g_autofree char *text = NULL;
	guint i;

	for (i = 0; i < 3000; i++)
		g_string_append (html, i % 2 ? "<div>" : "<span>");
	g_string_append (html, "deep");
	text = mp_render_html (html->str, html->len, NULL, NULL, NULL);
	g_assert_nonnull (text);
	g_assert_nonnull (strstr (text, "deep"));
}

/* the elements the tables above do not show: q in quotation marks, menu
 * and dir as lists, listing, xmp and plaintext as pre, img without alt, a
 * list inside a list item, an unknown element as inline (steps of
 * render_element no test reached) */
static void
test_element_kinds (void)
{
	static const Case cases[] = {
		{ "<p>a <q>b</q> c</p>", "a \"b\" c\n" },
		{ "<menu><li>a</li><li>b</li></menu>", "* a\n* b\n" },
		{ "<dir><li>a</li></dir>", "* a\n" },
		{ "<listing>a  b\n c</listing>", "a  b\n c\n" },
		{ "<xmp>a <b> c</xmp>", "a <b> c\n" },
		{ "<p>x</p><plaintext>a <b>\n c", "x\n\na <b>\n c\n" },
		{ "<p>a<img src=x.png>b</p>", "ab\n" },
		{ "<ol><li>a<ul><li>b</li></ul></li></ol>", "1. a\n   - b\n" },
		{ "<p>a <frob>b</frob> c</p>", "a b c\n" },
	};

	CHECK (cases, FALSE);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_set_nonfatal_assertions ();
	g_test_add_func ("/render/paragraphs", test_paragraphs);
	g_test_add_func ("/render/last_letter_held_back_by_the_charset_kept",
			 test_last_letter_held_back_by_the_charset_kept);
	g_test_add_func ("/render/headings", test_headings);
	g_test_add_func ("/render/lists", test_lists);
	g_test_add_func ("/render/links", test_links);
	g_test_add_func ("/render/images", test_images);
	g_test_add_func ("/render/tables", test_tables);
	g_test_add_func ("/render/pre-and-br", test_pre_and_br);
	g_test_add_func ("/render/entities-and-whitespace",
			 test_entities_and_whitespace);
	g_test_add_func ("/render/hidden", test_hidden);
	g_test_add_func ("/render/quotes", test_quotes);
	g_test_add_func ("/render/flowed", test_flowed);
	g_test_add_func ("/render/wrap-width", test_wrap_width);
	g_test_add_func ("/render/charsets", test_charsets);
	g_test_add_func ("/render/unknown-charset-is-an-error",
			 test_unknown_charset_is_an_error);
	g_test_add_func ("/render/deep-nesting", test_deep_nesting);
	g_test_add_func ("/render/element-kinds", test_element_kinds);
	return g_test_run ();
}
