#include "mp-show.h"
#include "mp-address.h"
#include "mp-charset.h"
#include "mp-error.h"
#include "mp-field.h"
#include "mp-headers.h"
#include "mp-render.h"
#include "mp-rfc2047.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <string.h>

#define CHUNK (256 * 1024)
#define UU_LINE_MAX 1024
/* HTML larger than this is shown through a simple tag stripper rather
 * than mp-render, which holds the document */
#define MP_SHOW_HTML_MAX (16 * 1024 * 1024)

struct _MpShow {
	MpInput *in;
	GMimeMessage *message;
	GMimeParser *parser;
	GPtrArray *parts; /* MpShowPart *, owned */
	gboolean sizes;
	gboolean truncated;
};

static void
part_free (gpointer p)
{
	MpShowPart *part = p;

	g_free (part->section);
	g_free (part->type);
	g_free (part->charset);
	g_free (part->encoding);
	g_free (part->disposition);
	g_free (part->filename);
	g_free (part->content_id);
	g_free (part);
}

/* ---- decoding -------------------------------------------------------- */

/* A uuencoded block found while scanning a text part. */
typedef struct {
	char *name;
	guint mode;
	gint64 size;
	guint index; /* its number among the "begin" lines, complete or not */
} UuBlock;

static void
uu_block_free (gpointer p)
{
	UuBlock *b = p;

	g_free (b->name);
	g_free (b);
}

typedef struct {
	MpWriteFunc func; /* the part's decoded bytes, or NULL */
	gpointer user_data;
	gint64 size;
	/* uuencoded blocks of a text/plain part */
	gboolean scan;
	char line[UU_LINE_MAX];
	gsize line_len;
	gboolean line_long;
	gboolean in_block;
	guint block; /* the current block's number, from 1 */
	char *block_name;
	guint block_mode;
	gint64 block_size;
	guint uu_want; /* forward this block's bytes to uu_func */
	MpWriteFunc uu_func;
	gpointer uu_data;
	GPtrArray *found; /* UuBlock * of complete blocks, or NULL */
} Decoder;

#define UU_DEC(c) (((c) - ' ') & 077)

/* "begin 644 name": RFC 1341 appendix / POSIX uuencode's header line. */
static gboolean
uu_begin_line (const char *line, gsize len, guint *mode, char **name)
{
	gsize i = 6, digits = 0;
	guint m = 0;

	if (len < 9 || memcmp (line, "begin ", 6) != 0)
		return FALSE;
	while (i < len && line[i] >= '0' && line[i] <= '7' && digits < 4) {
		m = m * 8 + (guint) (line[i] - '0');
		i++;
		digits++;
	}
	if (digits < 3 || i >= len || line[i] != ' ')
		return FALSE;
	i++;
	while (len > i && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (i >= len)
		return FALSE;
	*mode = m;
	*name = g_strndup (line + i, len - i);
	return TRUE;
}

/* Decodes one data line of a uuencoded block into @out (room for 64
 * bytes).  Returns the bytes decoded, or -1 when the line is not one. */
static gssize
uu_data_line (const char *line, gsize len, guchar *out)
{
	guint n, i, o = 0;

	if (len == 0)
		return -1;
	if (line[0] < ' ' || line[0] > '`')
		return -1;
	n = UU_DEC (line[0]);
	/* trailing blanks (zeros) are often lost on the way: missing
	 * characters count as zeros */
	if (n > 45)
		return -1;
	for (i = 1; o < n; i += 4) {
		guchar c[4];
		guint j;

		for (j = 0; j < 4; j++) {
			char ch = i + j < len ? line[i + j] : '`';

			if (ch < ' ' || ch > '`')
				return -1;
			c[j] = (guchar) UU_DEC (ch);
		}
		out[o++] = (guchar) (c[0] << 2 | c[1] >> 4);
		if (o < n)
			out[o++] = (guchar) (c[1] << 4 | c[2] >> 2);
		if (o < n)
			out[o++] = (guchar) (c[2] << 6 | c[3]);
	}
	return (gssize) n;
}

static gboolean
uu_line (Decoder *d, GError **error)
{
	gsize len = d->line_len;
	const char *line = d->line;

	if (d->line_long) {
		d->in_block = FALSE; /* no uuencoded line is that long */
		g_clear_pointer (&d->block_name, g_free);
		return TRUE;
	}
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (!d->in_block) {
		guint mode;
		char *name;

		if (uu_begin_line (line, len, &mode, &name)) {
			d->in_block = TRUE;
			d->block++;
			g_free (d->block_name);
			d->block_name = name;
			d->block_mode = mode;
			d->block_size = 0;
		}
		return TRUE;
	}
	if (len >= 3 && memcmp (line, "end", 3) == 0 &&
	    strspn (line + 3, " \t") == len - 3) {
		if (d->found) {
			UuBlock *b = g_new0 (UuBlock, 1);

			b->name = g_steal_pointer (&d->block_name);
			b->mode = d->block_mode;
			b->size = d->block_size;
			b->index = d->block;
			g_ptr_array_add (d->found, b);
		}
		d->in_block = FALSE;
		g_clear_pointer (&d->block_name, g_free);
		return TRUE;
	}
	{
		guchar out[64];
		gssize n = uu_data_line (line, len, out);

		if (n < 0) {
			/* not a block after all: it is dropped */
			d->in_block = FALSE;
			g_clear_pointer (&d->block_name, g_free);
			return TRUE;
		}
		d->block_size += n;
		if (n > 0 && d->uu_want == d->block && d->uu_func &&
		    !d->uu_func ((const char *) out, (gsize) n, d->uu_data,
				 error))
			return FALSE;
	}
	return TRUE;
}

static gboolean
uu_scan (Decoder *d, const char *buf, gsize len, GError **error)
{
	gsize i;

	for (i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			if (!uu_line (d, error))
				return FALSE;
			d->line_len = 0;
			d->line_long = FALSE;
		} else if (d->line_len < UU_LINE_MAX) {
			d->line[d->line_len++] = buf[i];
		} else {
			d->line_long = TRUE;
		}
	}
	return TRUE;
}

static gboolean
emit (Decoder *d, const char *buf, gsize len, GError **error)
{
	if (len == 0)
		return TRUE;
	d->size += (gint64) len;
	if (d->func && !d->func (buf, len, d->user_data, error))
		return FALSE;
	if (d->scan && !uu_scan (d, buf, len, error))
		return FALSE;
	return TRUE;
}

static GMimeContentEncoding
part_encoding (GMimeObject *obj)
{
	const char *cte =
		g_mime_object_get_header (obj, "Content-Transfer-Encoding");

	return cte ? g_mime_content_encoding_from_string (cte) :
		     GMIME_CONTENT_ENCODING_DEFAULT;
}

/* The end of the content of @stream as RFC 2046 5.1.1 has it: the line
 * break before a delimiter belongs to the delimiter.  GMime is one byte
 * off when line endings are mixed: a bare LF before the delimiter in a
 * message of CRLF lines (it takes the byte before the LF for a CR), a CR
 * left in the part when the LF before the delimiter is bare.  Returns the
 * corrected end, or -1 when GMime's is right. */
static gint64
content_end (GMimeStream *stream, GMimeStream *source)
{
	gint64 end = stream->bound_end;
	char b[4], c;

	if (source == NULL || end < 1 || end - 1 < stream->bound_start ||
	    g_mime_stream_seek (source, end - 1, GMIME_STREAM_SEEK_SET) !=
		    end - 1 ||
	    g_mime_stream_read (source, &c, 1) != 1 ||
	    g_mime_stream_read (source, b, 4) != 4)
		return -1;
	if (b[0] != '\r' && b[0] != '\n' && b[1] == '\n' && b[2] == '-' &&
	    b[3] == '-')
		return end + 1;
	if (c == '\r' && b[0] == '\n' && b[1] == '-' && b[2] == '-')
		return end - 1;
	return -1;
}

/* Reads the raw content of @stream and undoes @encoding (but
 * x-uuencode). */
static gboolean
decode_raw (GMimeStream *stream, GMimeStream *source,
	    GMimeContentEncoding encoding, Decoder *d, const char *what,
	    GError **error)
{
	gint64 end = content_end (stream, source);
	g_autoptr (GMimeStream) fixed = NULL;

	g_autofree char *in = g_malloc (CHUNK);
	g_autofree char *out = NULL;
	GMimeEncoding state;
	gboolean transform = FALSE;

	switch (encoding) {
	case GMIME_CONTENT_ENCODING_BASE64:
	case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
		transform = TRUE;
		g_mime_encoding_init_decode (&state, encoding);
		out = g_malloc (g_mime_encoding_outlen (&state, CHUNK) + 16);
		break;
	default:
		break;
	}
	if (end >= 0) {
		fixed = g_mime_stream_substream (source, stream->bound_start,
						 end);
		stream = fixed;
	}
	if (g_mime_stream_reset (stream) < 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_IO, "%s: cannot read",
			     what);
		return FALSE;
	}
	for (;;) {
		ssize_t n = mp_io_stream_read (stream, in, CHUNK);

		if (n < 0) {
			mp_error_set_errno (error, MP_ERROR_IO,
					    errno ? errno : EIO, what);
			return FALSE;
		}
		if (n == 0)
			break;
		if (transform) {
			gsize m = g_mime_encoding_step (&state, in, (gsize) n,
							out);

			if (!emit (d, out, m, error))
				return FALSE;
		} else if (!emit (d, in, (gsize) n, error)) {
			return FALSE;
		}
	}
	if (transform) {
		gsize m = g_mime_encoding_flush (&state, in, 0, out);

		/* a last group cut short (2 or 3 characters): its whole
		 * bytes, as if padded, as Python's email returns them */
		if (encoding == GMIME_CONTENT_ENCODING_BASE64 &&
		    state.state >= 2) {
			guint32 v = state.save;

			if (state.state == 2) {
				out[m++] = (char) (v >> 4);
			} else {
				out[m++] = (char) (v >> 10);
				out[m++] = (char) (v >> 2);
			}
		}
		if (!emit (d, out, m, error))
			return FALSE;
	}
	/* a last line without a line ending */
	if (d->scan && d->line_len > 0 && !uu_line (d, error))
		return FALSE;
	return TRUE;
}

static gboolean
uu_forward (const char *data, gsize len, gpointer user_data, GError **error)
{
	return emit (user_data, data, len, error);
}

static gboolean
decode_stream (GMimeStream *stream, GMimeStream *source,
	       GMimeContentEncoding encoding, Decoder *d, const char *what,
	       GError **error)
{
	Decoder uu = { 0 };
	gboolean ok;

	if (encoding != GMIME_CONTENT_ENCODING_UUENCODE)
		return decode_raw (stream, source, encoding, d, what, error);
	/* GMime's decoder loses lines that end in CRLF: the first block's
	 * file, read by the scanner of text parts, as Python's email */
	uu.scan = TRUE;
	uu.uu_want = 1;
	uu.uu_func = uu_forward;
	uu.uu_data = d;
	ok = decode_raw (stream, source, GMIME_CONTENT_ENCODING_DEFAULT, &uu,
			 what, error);
	g_free (uu.block_name);
	return ok;
}

static gboolean
write_to_func (Decoder *d, GMimeObject *obj, GError **error)
{
	g_autoptr (GMimeStream) mem = g_mime_stream_mem_new ();
	GByteArray *bytes;

	/* an embedded message is written back by GMime: its parts' bytes come
	 * from the input (persisted stream), its headers as parsed */
	if (g_mime_object_write_to_stream (obj, NULL, mem) < 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_IO,
			     "cannot write the embedded message");
		return FALSE;
	}
	bytes = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (mem));
	return emit (d, (const char *) bytes->data, bytes->len, error);
}

/* A multipart with parts: one whose boundary never appears (or that has
 * none) holds only text, and is shown as a leaf, as Python's email does. */
static gboolean
is_container (GMimeObject *obj)
{
	return GMIME_IS_MULTIPART (obj) &&
	       g_mime_multipart_get_count (GMIME_MULTIPART (obj)) > 0;
}

static gboolean
decode_object (GMimeObject *obj, GMimeStream *source, Decoder *d,
	       const char *what, GError **error)
{
	if (GMIME_IS_PART (obj)) {
		GMimeDataWrapper *content =
			g_mime_part_get_content (GMIME_PART (obj));
		GMimeStream *stream;

		if (content == NULL)
			return TRUE;
		stream = g_mime_data_wrapper_get_stream (content);
		if (stream == NULL)
			return TRUE;
		return decode_stream (stream, source, part_encoding (obj), d,
				      what, error);
	}
	if (GMIME_IS_MESSAGE_PART (obj)) {
		GMimeMessage *m = g_mime_message_part_get_message (
			GMIME_MESSAGE_PART (obj));

		return m ? write_to_func (d, GMIME_OBJECT (m), error) : TRUE;
	}
	if (!is_container (obj)) {
		/* a multipart whose boundary never appears: its text */
		const char *text =
			g_mime_multipart_get_prologue (GMIME_MULTIPART (obj));

		return text ? emit (d, text, strlen (text), error) : TRUE;
	}
	g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
		     "part %s is a multipart: choose one of its parts", what);
	return FALSE;
}

gboolean
mp_show_decode (MpShowPart *part, MpWriteFunc func, gpointer user_data,
		GError **error)
{
	Decoder d = { 0 };
	gboolean ok;

	if (part->kind == MP_SHOW_MULTIPART) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "part %s is a multipart: choose one of its parts",
			     part->section);
		return FALSE;
	}
	if (part->kind == MP_SHOW_UUENCODED) {
		d.scan = TRUE;
		d.uu_want = part->uu_index;
		d.uu_func = func;
		d.uu_data = user_data;
		ok = decode_object (part->parent->object, part->source, &d,
				    part->section, error);
	} else {
		d.func = func;
		d.user_data = user_data;
		ok = decode_object (part->object, part->source, &d,
				    part->section, error);
	}
	g_free (d.block_name);
	return ok;
}

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

static const char *
iconv_charset (const char *charset)
{
	if (charset == NULL || *charset == '\0' ||
	    g_ascii_strcasecmp (charset, "us-ascii") == 0)
		return "UTF-8";
	/* as mp_rfc2047_decode_text(): Latin-1 read as windows-1252 */
	if (g_ascii_strcasecmp (charset, "iso-8859-1") == 0 ||
	    g_ascii_strcasecmp (charset, "latin1") == 0)
		return "WINDOWS-1252";
	return g_mime_charset_iconv_name (charset);
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

/* ---- the walk -------------------------------------------------------- */

static char *
printable (const char *s)
{
	g_autofree char *valid = NULL;
	GString *out;
	const char *p;

	if (s == NULL)
		return NULL;
	valid = g_utf8_make_valid (s, -1);
	out = g_string_new (NULL);
	for (p = valid; *p; p = g_utf8_next_char (p)) {
		gunichar c = g_utf8_get_char (p);

		if (c < 0x20 || (c >= 0x7f && c < 0xa0))
			g_string_append (out, "\xef\xbf\xbd");
		else
			g_string_append_unichar (out, c);
	}
	return g_string_free (out, FALSE);
}

static char *
lower_clean (const char *s)
{
	g_autofree char *t = NULL;
	g_autofree char *low = NULL;

	if (s == NULL)
		return NULL;
	t = g_strstrip (g_strdup (s));
	if (*t == '\0')
		return NULL;
	low = g_ascii_strdown (t, -1);
	return printable (low);
}

static char *
join_section (const char *prefix, guint i)
{
	return *prefix ? g_strdup_printf ("%s.%u", prefix, i) :
			 g_strdup_printf ("%u", i);
}

static MpShowPart *
add_part (MpShow *s, GMimeObject *obj, MpShowPart *parent, char *section,
	  guint depth, MpShowKind kind)
{
	MpShowPart *p = g_new0 (MpShowPart, 1);
	GMimeContentType *ct = g_mime_object_get_content_type (obj);
	const char *cid;

	p->section = section;
	p->depth = depth;
	p->kind = kind;
	p->parent = parent;
	p->object = obj;
	p->source = mp_input_get_stream (s->in);
	p->size = -1;
	if (ct) {
		g_autofree char *mt = g_mime_content_type_get_mime_type (ct);

		p->type = lower_clean (mt);
		p->charset = printable (
			g_mime_content_type_get_parameter (ct, "charset"));
	}
	if (p->type == NULL)
		p->type = g_strdup ("text/plain");
	p->encoding = lower_clean (
		g_mime_object_get_header (obj, "Content-Transfer-Encoding"));
	p->disposition = lower_clean (g_mime_object_get_disposition (obj));
	if (GMIME_IS_PART (obj))
		p->filename =
			printable (g_mime_part_get_filename (GMIME_PART (obj)));
	else
		p->filename = printable (
			g_mime_object_get_content_disposition_parameter (
				obj, "filename"));
	if (p->filename && *p->filename == '\0')
		g_clear_pointer (&p->filename, g_free);
	cid = g_mime_object_get_content_id (obj);
	p->content_id = cid && *cid ? printable (cid) : NULL;
	g_ptr_array_add (s->parts, p);
	return p;
}

static gboolean
measure (MpShow *s, MpShowPart *p, GError **error)
{
	Decoder d = { 0 };
	g_autoptr (GPtrArray) found = NULL;
	guint i;

	d.scan = p->kind == MP_SHOW_LEAF && g_str_equal (p->type, "text/plain");
	if (!d.scan && !s->sizes)
		return TRUE;
	if (d.scan)
		d.found = found =
			g_ptr_array_new_with_free_func (uu_block_free);
	if (!decode_object (p->object, p->source, &d, p->section, error)) {
		g_free (d.block_name);
		return FALSE;
	}
	g_free (d.block_name);
	p->size = d.size;
	for (i = 0; found && i < found->len; i++) {
		UuBlock *b = found->pdata[i];
		MpShowPart *u = g_new0 (MpShowPart, 1);
		g_autofree char *name = printable (b->name);

		u->section = g_strdup_printf ("%s.uu%u", p->section, i + 1);
		u->depth = p->depth + 1;
		u->kind = MP_SHOW_UUENCODED;
		u->type = g_strdup ("application/octet-stream");
		u->encoding = g_strdup ("x-uuencode");
		u->disposition = g_strdup ("attachment");
		u->filename = g_steal_pointer (&name);
		u->size = b->size;
		u->parent = p;
		u->source = p->source;
		u->uu_index = b->index;
		u->uu_mode = b->mode;
		g_ptr_array_add (s->parts, u);
	}
	return TRUE;
}

static gboolean walk_body (MpShow *s, GMimeObject *body, MpShowPart *parent,
			   const char *prefix, guint depth, GError **error);

static gboolean
too_deep (MpShow *s, guint depth, GError **error)
{
	if (depth <= MP_SHOW_MAX_DEPTH)
		return FALSE;
	g_set_error (error, MP_ERROR, MP_ERROR_DATA,
		     "%s: parts nested more than %d deep",
		     mp_input_get_name (s->in), MP_SHOW_MAX_DEPTH);
	return TRUE;
}

/* @obj is part @section of a multipart or a message's body; a multipart's
 * parts are numbered from @prefix ("2" for "2.TEXT" and for "2"). */
static gboolean
walk_part (MpShow *s, GMimeObject *obj, MpShowPart *parent, char *section,
	   const char *prefix, guint depth, GError **error)
{
	MpShowPart *p;

	if (too_deep (s, depth, error)) {
		g_free (section);
		return FALSE;
	}
	if (is_container (obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART (obj);
		int i, n = g_mime_multipart_get_count (mp);

		p = add_part (s, obj, parent, section, depth,
			      MP_SHOW_MULTIPART);
		for (i = 0; i < n; i++) {
			char *sub = join_section (prefix, (guint) i + 1);

			if (!walk_part (s, g_mime_multipart_get_part (mp, i), p,
					sub, sub, depth + 1, error))
				return FALSE;
		}
		return TRUE;
	}
	if (GMIME_IS_MESSAGE_PART (obj)) {
		GMimeMessage *m = g_mime_message_part_get_message (
			GMIME_MESSAGE_PART (obj));

		p = add_part (s, obj, parent, section, depth, MP_SHOW_MESSAGE);
		if (!measure (s, p, error))
			return FALSE;
		if (m && g_mime_message_get_mime_part (m))
			return walk_body (s, g_mime_message_get_mime_part (m),
					  p, p->section, depth + 1, error);
		return TRUE;
	}
	p = add_part (s, obj, parent, section, depth, MP_SHOW_LEAF);
	return measure (s, p, error);
}

/* @body is the body of a message whose own number is @prefix ("" for the
 * top-level message): RFC 3501 6.4.5. */
static gboolean
walk_body (MpShow *s, GMimeObject *body, MpShowPart *parent, const char *prefix,
	   guint depth, GError **error)
{
	char *section;

	if (is_container (body))
		section = *prefix ? g_strdup_printf ("%s.TEXT", prefix) :
				    g_strdup ("TEXT");
	else
		section = join_section (prefix, 1);
	return walk_part (s, body, parent, section, prefix, depth, error);
}

MpShow *
mp_show_new (MpInput *in, gboolean sizes, GError **error)
{
	g_autoptr (MpShow) s = g_new0 (MpShow, 1);
	GMimeObject *body;

	s->in = in;
	s->sizes = sizes;
	s->parts = g_ptr_array_new_with_free_func (part_free);
	s->message = mp_input_parse_message_truncated (in, &s->parser,
						       &s->truncated, error);
	if (s->message == NULL)
		return NULL;
	body = g_mime_message_get_mime_part (s->message);
	if (body && !walk_body (s, body, NULL, "", 0, error))
		return NULL;
	if (s->truncated) {
		/* the input ends inside the last part in document order:
		 * that part and those around it are cut short */
		guint i = s->parts->len;
		MpShowPart *p = NULL;

		while (i > 0 && (p = s->parts->pdata[--i]) &&
		       p->kind == MP_SHOW_UUENCODED)
			p = NULL;
		for (; p; p = p->parent)
			p->truncated = TRUE;
	}
	return g_steal_pointer (&s);
}

void
mp_show_free (MpShow *s)
{
	if (s == NULL)
		return;
	g_clear_pointer (&s->parts, g_ptr_array_unref);
	g_clear_object (&s->message);
	g_clear_object (&s->parser);
	g_free (s);
}

GPtrArray *
mp_show_get_parts (MpShow *show)
{
	return show->parts;
}

MpShowPart *
mp_show_find (MpShow *show, const char *section)
{
	guint i;

	for (i = 0; i < show->parts->len; i++) {
		MpShowPart *p = show->parts->pdata[i];

		if (g_ascii_strcasecmp (p->section, section) == 0)
			return p;
	}
	return NULL;
}

/* ---- headers ---------------------------------------------------------- */

static gboolean
wanted (const char *name, const char *const *names)
{
	guint i;

	if (names == NULL)
		return TRUE;
	for (i = 0; names[i]; i++)
		if (g_ascii_strcasecmp (names[i], name) == 0)
			return TRUE;
	return FALSE;
}

static GPtrArray *
decode_header_list (GMimeHeaderList *list, const char *const *names)
{
	GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
	int i, n = list ? g_mime_header_list_get_count (list) : 0;

	for (i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at (list, i);
		const char *name = g_mime_header_get_name (h);
		const char *raw = g_mime_header_get_raw_value (h);

		if (!wanted (name, names))
			continue;
		g_ptr_array_add (out, printable (name));
		g_ptr_array_add (
			out,
			mp_field_is_address (name) ?
				mp_address_decode_list (raw ? raw : "", -1) :
				mp_rfc2047_decode_text (raw ? raw : "", -1));
	}
	return out;
}

GPtrArray *
mp_show_get_headers (MpShow *show, const char *const *names)
{
	GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
	GMimeStream *stream = mp_input_get_stream (show->in);
	gint64 end = g_mime_parser_get_headers_end (show->parser);
	g_autoptr (MpHeaders) h = NULL;
	g_autofree char *block = NULL;
	guint i, n;

	/* the block read as mime-header reads it: the same decoding */
	if (end <= 0 || end > MP_HEADERS_MAX_BLOCK)
		end = MIN (mp_input_get_size (show->in), MP_HEADERS_MAX_BLOCK);
	block = g_malloc ((gsize) end + 1);
	g_mime_stream_reset (stream);
	if (g_mime_stream_read (stream, block, (size_t) end) != end)
		return out;
	h = mp_headers_parse (block, (gsize) end, NULL);
	if (h == NULL) {
		/* a block mp-headers refuses (a bare CR): GMime's reading */
		g_ptr_array_unref (out);
		return decode_header_list (
			g_mime_object_get_header_list (
				GMIME_OBJECT (show->message)),
			names);
	}
	n = mp_headers_get_n_entries (h);
	for (i = 0; i < n; i++) {
		const char *name = mp_headers_get_name (h, i);

		if (name == NULL || !wanted (name, names))
			continue;
		g_ptr_array_add (out, printable (name));
		g_ptr_array_add (out, mp_headers_get_value (h, i));
	}
	return out;
}

GPtrArray *
mp_show_get_part_headers (MpShowPart *part)
{
	GMimeObject *obj = part->object;

	if (obj == NULL)
		return g_ptr_array_new_with_free_func (g_free);
	if (part->kind == MP_SHOW_MESSAGE) {
		GMimeMessage *m = g_mime_message_part_get_message (
			GMIME_MESSAGE_PART (obj));

		if (m == NULL)
			return g_ptr_array_new_with_free_func (g_free);
		obj = GMIME_OBJECT (m);
	}
	return decode_header_list (g_mime_object_get_header_list (obj), NULL);
}

/* ---- the readable part ------------------------------------------------ */

static gboolean
is_attachment (MpShowPart *p)
{
	return p->disposition && g_str_equal (p->disposition, "attachment");
}

MpShowPart *
mp_show_get_text_part (MpShow *show)
{
	MpShowPart *html = NULL;
	guint i;

	for (i = 0; i < show->parts->len; i++) {
		MpShowPart *p = show->parts->pdata[i];
		MpShowPart *a;
		gboolean inside = FALSE;

		if (p->kind != MP_SHOW_LEAF || is_attachment (p))
			continue;
		/* not inside a forwarded message */
		for (a = p->parent; a; a = a->parent)
			if (a->kind == MP_SHOW_MESSAGE || is_attachment (a))
				inside = TRUE;
		if (inside)
			continue;
		if (g_str_equal (p->type, "text/plain"))
			return p;
		if (html == NULL && g_str_equal (p->type, "text/html"))
			html = p;
	}
	return html;
}

/* ---- output ------------------------------------------------------------ */

static void
append_quoted (GString *s, const char *v)
{
	g_string_append_c (s, '"');
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			g_string_append_c (s, '\\');
		g_string_append_c (s, *v);
	}
	g_string_append_c (s, '"');
}

gboolean
mp_show_write_tree (MpShow *show, MpOutput *out, GError **error)
{
	g_autoptr (GString) s = g_string_new (NULL);
	guint i, width = 4;

	for (i = 0; i < show->parts->len; i++) {
		MpShowPart *p = show->parts->pdata[i];

		width = MAX (width, (guint) strlen (p->section));
	}
	for (i = 0; i < show->parts->len; i++) {
		MpShowPart *p = show->parts->pdata[i];

		g_string_append_printf (s, "%-*s  %*s%s", (int) width,
					p->section, (int) p->depth * 2, "",
					p->type);
		if (p->charset)
			g_string_append_printf (s, " charset=%s", p->charset);
		if (p->encoding)
			g_string_append_printf (s, " encoding=%s", p->encoding);
		if (p->disposition)
			g_string_append_printf (s, " disposition=%s",
						p->disposition);
		if (p->filename) {
			g_string_append (s, " filename=");
			append_quoted (s, p->filename);
		}
		if (p->content_id)
			g_string_append_printf (s, " id=<%s>", p->content_id);
		if (p->size >= 0)
			g_string_append_printf (s, " size=%" G_GINT64_FORMAT,
						p->size);
		if (p->truncated)
			g_string_append (s, " truncated");
		g_string_append_c (s, '\n');
	}
	return mp_output_write (out, s->str, s->len, error);
}

static void
json_headers (JsonBuilder *b, GPtrArray *h)
{
	guint i;

	json_builder_begin_array (b);
	for (i = 0; i + 1 < h->len; i += 2) {
		json_builder_begin_object (b);
		json_builder_set_member_name (b, "name");
		json_builder_add_string_value (b, h->pdata[i]);
		json_builder_set_member_name (b, "value");
		json_builder_add_string_value (b, h->pdata[i + 1]);
		json_builder_end_object (b);
	}
	json_builder_end_array (b);
}

static void
json_string_or_null (JsonBuilder *b, const char *name, const char *v)
{
	json_builder_set_member_name (b, name);
	if (v)
		json_builder_add_string_value (b, v);
	else
		json_builder_add_null_value (b);
}

static const char *
kind_name (MpShowKind k)
{
	switch (k) {
	case MP_SHOW_MULTIPART:
		return "multipart";
	case MP_SHOW_MESSAGE:
		return "message";
	case MP_SHOW_UUENCODED:
		return "uuencoded";
	case MP_SHOW_LEAF:
	default:
		return "leaf";
	}
}

gboolean
mp_show_write_json (MpShow *show, MpOutput *out, GError **error)
{
	g_autoptr (JsonBuilder) b = json_builder_new ();
	g_autoptr (JsonGenerator) gen = json_generator_new ();
	g_autoptr (JsonNode) root = NULL;
	g_autoptr (GPtrArray) headers = mp_show_get_headers (show, NULL);
	g_autofree char *text = NULL;
	MpShowPart *body = mp_show_get_text_part (show);
	gsize len;
	guint i;

	json_builder_begin_object (b);
	json_builder_set_member_name (b, "version");
	json_builder_add_int_value (b, 1);
	json_builder_set_member_name (b, "headers");
	json_headers (b, headers);
	json_string_or_null (b, "text", body ? body->section : NULL);
	json_builder_set_member_name (b, "truncated");
	json_builder_add_boolean_value (b, show->truncated);
	json_builder_set_member_name (b, "parts");
	json_builder_begin_array (b);
	for (i = 0; i < show->parts->len; i++) {
		MpShowPart *p = show->parts->pdata[i];
		g_autoptr (GPtrArray) ph = mp_show_get_part_headers (p);

		json_builder_begin_object (b);
		json_string_or_null (b, "section", p->section);
		json_string_or_null (b, "parent",
				     p->parent ? p->parent->section : NULL);
		json_builder_set_member_name (b, "depth");
		json_builder_add_int_value (b, p->depth);
		json_string_or_null (b, "kind", kind_name (p->kind));
		json_string_or_null (b, "type", p->type);
		json_string_or_null (b, "charset", p->charset);
		json_string_or_null (b, "encoding", p->encoding);
		json_string_or_null (b, "disposition", p->disposition);
		json_string_or_null (b, "filename", p->filename);
		json_string_or_null (b, "content_id", p->content_id);
		json_builder_set_member_name (b, "size");
		if (p->size >= 0)
			json_builder_add_int_value (b, p->size);
		else
			json_builder_add_null_value (b);
		json_builder_set_member_name (b, "truncated");
		json_builder_add_boolean_value (b, p->truncated);
		json_builder_set_member_name (b, "headers");
		json_headers (b, ph);
		json_builder_end_object (b);
	}
	json_builder_end_array (b);
	json_builder_end_object (b);

	root = json_builder_get_root (b);
	json_generator_set_root (gen, root);
	json_generator_set_pretty (gen, TRUE);
	text = json_generator_to_data (gen, &len);
	return mp_output_write (out, text, len, error) &&
	       mp_output_write (out, "\n", 1, error);
}
