/* mp-show-text: a text part as text for a terminal: converted to UTF-8
 * from its charset, CRLF made LF, controls made harmless; HTML rendered
 * by mp-render, or through a minimal tag stripper when too big. */
#include "mp-show-private.h"
#include "mp-charset.h"
#include "mp-error.h"
#include "mp-render.h"

#include <errno.h>
#include <string.h>

/* HTML larger than this is shown through a simple tag stripper rather
 * than mp-render, which holds the document */
#define MP_SHOW_HTML_MAX (16 * 1024 * 1024)

/* ---- text for a terminal --------------------------------------------- */

typedef struct {
	MpWriteFunc func;
	gpointer user_data;
	MpCharsetDecoder *dec;
	gboolean cr; /* a CR waits for its LF */
	GString *out;
	/* HTML */
	gboolean html;
	int hstate;     /* 0 text, 1 tag, 2 entity, 3 comment */
	GString *tag;   /* the tag or entity being read */
	gboolean skip;  /* inside <script> or <style> */
	gboolean space; /* the last character written was blank */
	guint newlines; /* newlines just written */
} Text;

static void
text_put (Text *t, const char *s, gsize len)
{
	g_string_append_len (t->out, s, (gssize) len);
}

static const char *const block_tags[] = {
	"p",           "/p",    "div",  "/div", "br",  "br/", "tr",
	"/tr",         "li",    "h1",   "h2",   "h3",  "h4",  "h5",
	"h6",          "/h1",   "/h2",  "/h3",  "/h4", "/h5", "/h6",
	"/table",      "table", "ul",   "/ul",  "ol",  "/ol", "blockquote",
	"/blockquote", "pre",   "/pre", "hr",   "hr/", NULL
};

static void
html_newline (Text *t, guint max)
{
	if (t->newlines >= max)
		return;
	text_put (t, "\n", 1);
	t->newlines++;
	t->space = TRUE;
}

static void
html_tag (Text *t)
{
	g_autofree char *name = NULL;
	gsize i = 0;

	while (i < t->tag->len && !g_ascii_isspace (t->tag->str[i]) &&
	       t->tag->str[i] != '>')
		i++;
	name = g_ascii_strdown (t->tag->str, (gssize) i);
	if (strcmp (name, "script") == 0 || strcmp (name, "style") == 0 ||
	    strcmp (name, "head") == 0)
		t->skip = TRUE;
	else if (strcmp (name, "/script") == 0 ||
		 strcmp (name, "/style") == 0 || strcmp (name, "/head") == 0)
		t->skip = FALSE;
	else if (g_strv_contains (block_tags, name))
		html_newline (t, strcmp (name, "br") == 0 ||
						 strcmp (name, "br/") == 0 ||
						 strcmp (name, "li") == 0 ||
						 strcmp (name, "tr") == 0 ?
					 1 + (t->newlines > 0) :
					 2);
}

static void
html_char (Text *t, const char *s, gsize len)
{
	if (t->skip)
		return;
	if (len == 1 && g_ascii_isspace (s[0])) {
		if (!t->space) {
			text_put (t, " ", 1);
			t->space = TRUE;
		}
		return;
	}
	text_put (t, s, len);
	t->space = FALSE;
	t->newlines = 0;
}

static void
html_entity (Text *t)
{
	static const struct {
		const char *name, *text;
	} named[] = {
		{ "amp", "&" },   { "lt", "<" },     { "gt", ">" },
		{ "quot", "\"" }, { "apos", "'" },   { "nbsp", " " },
		{ "copy", "©" },  { "reg", "®" },    { "mdash", "—" },
		{ "ndash", "–" }, { "hellip", "…" }, { "rsquo", "’" },
		{ "lsquo", "‘" }, { "ldquo", "“" },  { "rdquo", "”" },
		{ "euro", "€" },  { NULL, NULL },
	};
	const char *e = t->tag->str;
	guint i;

	if (e[0] == '#') {
		gunichar c = (gunichar) g_ascii_strtoull (
			e + 1 + (e[1] == 'x' || e[1] == 'X'), NULL,
			e[1] == 'x' || e[1] == 'X' ? 16 : 10);
		char buf[6];

		if (c == 0 || !g_unichar_validate (c) || c < 0x20 ||
		    (c >= 0x7f && c < 0xa0))
			c = 0xfffd;
		html_char (t, buf, (gsize) g_unichar_to_utf8 (c, buf));
		return;
	}
	for (i = 0; named[i].name; i++) {
		if (strcmp (named[i].name, e) == 0) {
			html_char (t, named[i].text, strlen (named[i].text));
			return;
		}
	}
	html_char (t, "&", 1);
	for (i = 0; e[i]; i++)
		html_char (t, e + i, 1);
}

/* One UTF-8 character of HTML text: a minimal tag stripper, for HTML too
 * big for mp-render. */
static void
html_feed (Text *t, const char *s, gsize len)
{
	switch (t->hstate) {
	case 1: /* tag */
		if (len == 1 && s[0] == '>') {
			t->hstate = 0;
			html_tag (t);
		} else {
			if (t->tag->len < 64)
				g_string_append_len (t->tag, s, (gssize) len);
			if (t->tag->len == 3 &&
			    memcmp (t->tag->str, "!--", 3) == 0) {
				t->hstate = 3;
				g_string_truncate (t->tag, 0);
			}
		}
		return;
	case 3: /* comment: until "-->" */
		g_string_append_len (t->tag, s, (gssize) len);
		if (t->tag->len > 3)
			g_string_erase (t->tag, 0, (gssize) t->tag->len - 3);
		if (len == 1 && s[0] == '>' && t->tag->len == 3 &&
		    memcmp (t->tag->str, "-->", 3) == 0)
			t->hstate = 0;
		return;
	case 2: /* entity */
		if (len == 1 && s[0] == ';') {
			t->hstate = 0;
			html_entity (t);
			return;
		}
		if (len == 1 && (g_ascii_isalnum (s[0]) || s[0] == '#') &&
		    t->tag->len < 10) {
			g_string_append_c (t->tag, s[0]);
			return;
		}
		/* not an entity: the text as it was */
		t->hstate = 0;
		{
			g_autofree char *was =
				g_strconcat ("&", t->tag->str, NULL);
			gsize i;

			for (i = 0; was[i]; i++)
				html_char (t, was + i, 1);
		}
		break;
	default:
		break;
	}
	if (len == 1 && s[0] == '<') {
		t->hstate = 1;
		g_string_truncate (t->tag, 0);
	} else if (len == 1 && s[0] == '&') {
		t->hstate = 2;
		g_string_truncate (t->tag, 0);
	} else {
		html_char (t, s, len);
	}
}

/* One valid UTF-8 character: CRLF to LF, controls made harmless. */
static void
text_char (Text *t, const char *s, gsize len)
{
	gunichar c = g_utf8_get_char (s);

	if (t->cr) {
		t->cr = FALSE;
		if (c == '\n') {
			/* CRLF: the LF below */
		} else {
			const char *nl = "\n";

			if (t->html)
				html_feed (t, nl, 1);
			else
				text_put (t, nl, 1);
		}
	}
	if (c == '\r') {
		t->cr = TRUE;
		return;
	}
	if ((c < 0x20 && c != '\t' && c != '\n') || (c >= 0x7f && c < 0xa0)) {
		s = "\xef\xbf\xbd";
		len = 3;
	}
	if (t->html)
		html_feed (t, s, len);
	else
		text_put (t, s, len);
}

static void
text_utf8 (Text *t, const char *s, gsize len)
{
	const char *end = s + len;

	while (s < end) {
		const char *next = g_utf8_next_char (s);

		text_char (t, s, (gsize) (next - s));
		s = next;
	}
}

static gboolean
text_flush (Text *t, GError **error)
{
	gboolean ok = TRUE;

	if (t->out->len)
		ok = t->func (t->out->str, t->out->len, t->user_data, error);
	g_string_truncate (t->out, 0);
	return ok;
}

static void
text_sink (const char *utf8, gsize len, gpointer user_data)
{
	text_utf8 (user_data, utf8, len);
}

/* Converts @len bytes (@last: the end of the text) to UTF-8. */
static gboolean
text_convert (Text *t, const char *data, gsize len, gboolean last,
	      GError **error)
{
	mp_charset_decoder_feed (t->dec, data, len, last, text_sink, t);
	if (t->out->len >= CHUNK || last)
		return text_flush (t, error);
	return TRUE;
}

static gboolean
text_write (const char *data, gsize len, gpointer user_data, GError **error)
{
	return text_convert (user_data, data, len, FALSE, error);
}

/* The charset to read a part's text with: the same rule as its header's
 * encoded words (mp_charset_reading_name()), UTF-8 when none. */
static const char *
iconv_charset (const char *charset)
{
	const char *name =
		charset && *charset ? mp_charset_reading_name (charset) : NULL;

	return name ? name : "UTF-8";
}

/* The decoded HTML, while it stays under MP_SHOW_HTML_MAX. */
static gboolean
collect_html (const char *data, gsize len, gpointer user_data, GError **error)
{
	GByteArray *a = user_data;

	if (a->len + len > MP_SHOW_HTML_MAX) {
		g_set_error_literal (error, MP_ERROR, MP_ERROR_DATA, "too big");
		return FALSE;
	}
	g_byte_array_append (a, (const guint8 *) data, (guint) len);
	return TRUE;
}

/* @part's HTML rendered as text by mp-render (UTF-8, newly allocated), or
 * NULL when it is too big to hold (then streamed through the tag
 * stripper) or cannot be read. */
static char *
render_html (MpShowPart *part)
{
	g_autoptr (GByteArray) a = g_byte_array_new ();
	MpRenderOptions opts = { 0, FALSE };
	char *text;

	if (!mp_show_decode (part, collect_html, a, NULL))
		return NULL;
	text = mp_render_html ((const char *) a->data, a->len, part->charset,
			       &opts, NULL);
	/* a charset this system cannot convert: as a browser would */
	if (text == NULL)
		text = mp_render_html ((const char *) a->data, a->len, NULL,
				       &opts, NULL);
	return text;
}

gboolean
mp_show_decode_text (MpShowPart *part, MpWriteFunc func, gpointer user_data,
		     GError **error)
{
	Text t = { 0 };
	g_autofree char *rendered = NULL;
	gboolean ok;

	if (g_str_equal (part->type, "text/html"))
		rendered = render_html (part);
	t.func = func;
	t.user_data = user_data;
	t.dec = mp_charset_decoder_new (
		rendered ? "UTF-8" : iconv_charset (part->charset));
	if (t.dec == NULL) /* unknown: as UTF-8 */
		t.dec = mp_charset_decoder_new ("UTF-8");
	if (t.dec == NULL) {
		mp_error_set_errno (error, MP_ERROR_SOFTWARE, errno, "iconv");
		return FALSE;
	}
	t.out = g_string_new (NULL);
	t.tag = g_string_new (NULL);
	t.html = g_str_equal (part->type, "text/html") && rendered == NULL;
	t.space = TRUE; /* no blank or empty line before the text */
	t.newlines = 2;
	if (rendered)
		ok = text_convert (&t, rendered, strlen (rendered), TRUE,
				   error);
	else
		ok = mp_show_decode (part, text_write, &t, error) &&
		     text_convert (&t, "", 0, TRUE, error);
	if (ok && t.cr) {
		text_put (&t, "\n", 1);
		ok = text_flush (&t, error);
	}
	mp_charset_decoder_free (t.dec);
	g_string_free (t.out, TRUE);
	g_string_free (t.tag, TRUE);
	return ok;
}
