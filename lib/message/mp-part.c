#include "mp-part.h"
#include "mp-text-private.h"
#include "mp-base64.h"
#include "mp-error.h"
#include "mp-field.h"
#include "mp-qp.h"

#include <gio/gio.h>
#include <errno.h>
#include <string.h>

/* a ReadFunc (mp-text-private.h) of a GMimeStream: 0 at its end */
static ssize_t
read_stream (gpointer src, char *buf, gsize len)
{
	return mp_io_stream_read (src, buf, len);
}

static gboolean
scan_text (GMimeStream *content, const char *charset, const char *what,
	   TextScan *s, GError **error)
{
	gboolean ok;

	g_mime_stream_reset (content);
	ok = mp_text_scan_read (read_stream, content, TEXT_CHUNK, charset, what,
				s, error);
	g_mime_stream_reset (content);
	return ok;
}

/* A text part that writes its own content: transfer-encoded by our
 * encoders (mp-qp, mp-base64) straight from its source rather than
 * through GMime's filter streams, with the same bytes. */
#define MP_TYPE_TEXT_PART (mp_text_part_get_type ())
G_DECLARE_FINAL_TYPE (MpTextPart, mp_text_part, MP, TEXT_PART, GMimeTextPart)

struct _MpTextPart {
	GMimeTextPart parent;
	GMimeStream *source;       /* the text as given */
	GMimeDataWrapper *wrapper; /* the content we set */
	gboolean crlf;             /* CRLF in the source: becomes LF */
	gboolean has_cr;           /* any CR in the source */
};

G_DEFINE_TYPE (MpTextPart, mp_text_part, GMIME_TYPE_TEXT_PART)

static gboolean
text_part_is_ours (MpTextPart *self, GMimeFormatOptions *options)
{
	GMimePart *part = GMIME_PART (self);
	GMimeContentEncoding enc = g_mime_part_get_content_encoding (part);

	if (options == NULL)
		options = g_mime_format_options_get_default ();
	return g_mime_part_get_content (part) == self->wrapper &&
	       g_mime_format_options_get_newline_format (options) ==
		       GMIME_NEWLINE_FORMAT_UNIX &&
	       (enc == GMIME_CONTENT_ENCODING_7BIT ||
		enc == GMIME_CONTENT_ENCODING_8BIT ||
		enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
		enc == GMIME_CONTENT_ENCODING_BASE64);
}

static gboolean
write_stream (gpointer dst, const char *buf, gsize len)
{
	return g_mime_stream_write (dst, buf, len) >= 0;
}

static ssize_t
text_part_write_content (MpTextPart *self, GMimeStream *stream)
{
	ssize_t n;

	g_mime_stream_reset (self->source);
	n = mp_text_write_content (
		g_mime_part_get_content_encoding (GMIME_PART (self)),
		self->crlf, self->has_cr, TEXT_CHUNK, read_stream, self->source,
		write_stream, stream);
	g_mime_stream_reset (self->source);
	return n;
}

static ssize_t
text_part_write_to_stream (GMimeObject *object, GMimeFormatOptions *options,
			   gboolean content_only, GMimeStream *stream)
{
	MpTextPart *self = MP_TEXT_PART (object);
	ssize_t n, total = 0;

	if (!text_part_is_ours (self, options))
		return GMIME_OBJECT_CLASS (mp_text_part_parent_class)
			->write_to_stream (object, options, content_only,
					   stream);
	if (!content_only) {
		n = g_mime_header_list_write_to_stream (object->headers,
							options, stream);
		if (n < 0 || g_mime_stream_write (stream, "\n", 1) < 0)
			return -1;
		total = n + 1;
	}
	n = text_part_write_content (self, stream);
	return n < 0 ? -1 : total + n;
}

static void
mp_text_part_finalize (GObject *object)
{
	MpTextPart *self = MP_TEXT_PART (object);

	g_clear_object (&self->source);
	G_OBJECT_CLASS (mp_text_part_parent_class)->finalize (object);
}

static void
mp_text_part_class_init (MpTextPartClass *klass)
{
	G_OBJECT_CLASS (klass)->finalize = mp_text_part_finalize;
	GMIME_OBJECT_CLASS (klass)->write_to_stream = text_part_write_to_stream;
}

static void
mp_text_part_init (MpTextPart *self)
{
}

gboolean
mp_part_write (GMimeObject *object, MpOutput *out, GError **error)
{
	GMimeStream *stream = mp_output_get_stream (out);

	/* text that goes out as it came: its header fields, then the
	 * kernel copies the source (sendfile) */
	if (MP_IS_TEXT_PART (object) &&
	    text_part_is_ours (MP_TEXT_PART (object), NULL) &&
	    !MP_TEXT_PART (object)->has_cr &&
	    (g_mime_part_get_content_encoding (GMIME_PART (object)) ==
		     GMIME_CONTENT_ENCODING_7BIT ||
	     g_mime_part_get_content_encoding (GMIME_PART (object)) ==
		     GMIME_CONTENT_ENCODING_8BIT)) {
		GMimeStream *src = MP_TEXT_PART (object)->source;

		return mp_output_check (out,
					g_mime_header_list_write_to_stream (
						object->headers, NULL, stream),
					error) &&
		       mp_output_write (out, "\n", 1, error) &&
		       mp_output_copy_stream (out, src, src->bound_start,
					      src->bound_end, error);
	}
	return mp_output_check (
		out, g_mime_object_write_to_stream (object, NULL, stream),
		error);
}

GMimePart *
mp_part_new_text_from_stream (const char *subtype, GMimeStream *content,
			      const char *charset, gboolean allow_8bit,
			      const char *what, GError **error)
{
	g_autoptr (GMimeStream) text = NULL;
	g_autoptr (GMimeDataWrapper) wrapper = NULL;
	g_autoptr (GMimeContentType) ctype = NULL;
	TextScan s;
	MpTextPart *self;
	GMimePart *part;

	if (!scan_text (content, charset, what, &s, error))
		return NULL;
	if (s.has_crlf) {
		/* LF inside; the output's line endings are chosen on writing */
		g_autoptr (GMimeFilter) d2u =
			g_mime_filter_dos2unix_new (FALSE);

		text = g_mime_stream_filter_new (content);
		g_mime_stream_filter_add (GMIME_STREAM_FILTER (text), d2u);
	} else {
		text = g_object_ref (content);
	}

	self = g_object_new (MP_TYPE_TEXT_PART, NULL);
	self->source = g_object_ref (content);
	self->crlf = s.has_crlf;
	self->has_cr = s.has_cr;
	part = GMIME_PART (self);
	ctype = g_mime_content_type_new ("text", subtype);
	g_mime_object_set_content_type (GMIME_OBJECT (part), ctype);
	/* set the charset ourselves: g_mime_text_part_set_text() would pick
	 * iso-8859-1 for text that fits Latin-1 (DESIGN 4) */
	g_mime_object_set_content_type_parameter (
		GMIME_OBJECT (part), "charset",
		charset ? g_mime_charset_canon_name (charset) : "utf-8");
	wrapper = g_mime_data_wrapper_new_with_stream (
		text, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content (part, wrapper);
	self->wrapper = wrapper;
	g_mime_part_set_content_encoding (
		part, mp_part_best_encoding (&s.stats, TRUE, allow_8bit));
	return part;
}

GMimePart *
mp_part_new_text (const char *subtype, GBytes *data, const char *charset,
		  gboolean allow_8bit, const char *what, GError **error)
{
	g_autoptr (GMimeStream) mem = g_mime_stream_mem_new_with_buffer (
		g_bytes_get_data (data, NULL), g_bytes_get_size (data));

	return mp_part_new_text_from_stream (subtype, mem, charset, allow_8bit,
					     what, error);
}

/* ---- parts from files ------------------------------------------------ */

#define SNIFF_SIZE 4096
#define CHUNK_SIZE (64 * 1024)

struct _MpLeaf {
	char *headers; /* the header block, LF line endings */
	char *content_id;
	GMimeStream *content; /* the decoded bytes */
	MpInput *input;       /* owns content when made from a file */
	GMimeContentEncoding encoding;
	gboolean message; /* message/rfc822: line endings normalised */
	char *mime_type;
	GPtrArray *notes; /* char *: what was changed in a forwarded message */
};

char *
mp_part_guess_type (const char *name, const guchar *data, gsize len)
{
	g_autofree char *ct = NULL;
	gboolean uncertain = FALSE;
	char *mime;

	ct = g_content_type_guess (name, data, len, &uncertain);
	if (ct && g_strcmp0 (ct, "application/x-zerosize") == 0) {
		/* empty data says nothing: go by the name alone */
		g_free (ct);
		ct = g_content_type_guess (name, NULL, 0, &uncertain);
		if (uncertain) {
			g_clear_pointer (&ct, g_free);
			ct = g_strdup ("text/plain");
		}
	}
	mime = ct ? g_content_type_get_mime_type (ct) : NULL;
	if (mime == NULL || strchr (mime, '/') == NULL) {
		g_free (mime);
		mime = g_strdup ("application/octet-stream");
	}
	return mime;
}

/* Statistics of a whole stream, and whether it is valid UTF-8. */
typedef struct {
	MpPartStats stats;
	gboolean utf8;
	gboolean has_cr;
} Scan;

static gboolean
scan_stream (GMimeStream *stream, Scan *scan, const char *what, GError **error)
{
	g_autofree guchar *buf = g_malloc (TEXT_CHUNK);
	TextScan s;

	mp_text_scan_setup ();
	mp_text_scan_init (&s, TRUE);
	g_mime_stream_reset (stream);
	for (;;) {
		ssize_t n =
			mp_io_stream_read (stream, (char *) buf, TEXT_CHUNK);

		if (n < 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_IO,
				     "%s: read error", what);
			return FALSE;
		}
		if (n == 0)
			break;
		mp_text_scan_update (&s, buf, (gsize) n);
	}
	mp_text_scan_finish (&s);
	memset (scan, 0, sizeof *scan);
	scan->stats = s.stats;
	/* a character cut short at the end is not UTF-8 either */
	scan->utf8 = !s.utf8_bad && s.need == 0;
	scan->has_cr = s.has_cr;
	g_mime_stream_reset (stream);
	return TRUE;
}

/* Appends "; token" to a header being built, folding before the token
 * when the line would pass 76 columns. */
static void
append_token (GString *h, gsize *col, const char *token)
{
	gsize len = strlen (token);

	g_string_append_c (h, ';');
	if (*col + 2 + len > 76) {
		g_string_append (h, "\n\t");
		*col = 8;
	} else {
		g_string_append_c (h, ' ');
		*col += 2;
	}
	g_string_append (h, token);
	*col += len;
}

/* RFC 2231 7 (and RFC 5987 3.2.1): attribute-char */
static gboolean
is_attr_char (guchar c)
{
	return g_ascii_isalnum (c) || (c && strchr ("!#$&+-.^_`|~", c));
}

/* A file name parameter: a quoted string when it is short printable
 * ASCII without '"' or '\\', else RFC 2231 utf-8'' with continuations,
 * each cut between characters so no piece holds half a character (a
 * decoder that decodes the pieces one by one still reads it).  A quoted
 * pair (\") is valid but mblaze, among others, cuts the name there. */
static void
append_name_param (GString *h, gsize *col, const char *param, const char *value)
{
	g_autoptr (GPtrArray) pieces = g_ptr_array_new_with_free_func (g_free);
	g_autoptr (GString) cur = g_string_new (NULL);
	gboolean plain = strlen (param) + strlen (value) + 3 <= 60;
	const char *p;
	guint i;

	for (p = value; plain && *p; p++)
		plain = (guchar) *p >= 0x20 && (guchar) *p < 0x7f &&
			*p != '"' && *p != '\\';
	if (plain) {
		g_autofree char *tok =
			g_strdup_printf ("%s=\"%s\"", param, value);

		append_token (h, col, tok);
		return;
	}
	for (p = value; *p; p = g_utf8_next_char (p)) {
		const char *next = g_utf8_next_char (p);
		g_autoptr (GString) ch = g_string_new (NULL);
		const char *q;

		for (q = p; q < next; q++) {
			if (is_attr_char ((guchar) *q))
				g_string_append_c (ch, *q);
			else
				g_string_append_printf (ch, "%%%02X",
							(guchar) *q);
		}
		if (cur->len + ch->len > 56) {
			g_ptr_array_add (pieces, g_strdup (cur->str));
			g_string_truncate (cur, 0);
		}
		g_string_append (cur, ch->str);
	}
	g_ptr_array_add (pieces, g_strdup (cur->str));
	for (i = 0; i < pieces->len; i++) {
		g_autofree char *tok = NULL;

		if (pieces->len == 1)
			tok = g_strdup_printf ("%s*=utf-8''%s", param,
					       (char *) pieces->pdata[0]);
		else
			tok = g_strdup_printf ("%s*%u*=%s%s", param, i,
					       i == 0 ? "utf-8''" : "",
					       (char *) pieces->pdata[i]);
		append_token (h, col, tok);
	}
}

static const char *
encoding_name (GMimeContentEncoding e)
{
	const char *s = g_mime_content_encoding_to_string (e);

	return s ? s : "7bit";
}

/* A message saved from an mbox starts with a "From " line that is not a
 * header field: the forwarded message starts after it. */
static GMimeStream *
message_content (GMimeStream *stream)
{
	char head[1024];
	ssize_t n;
	const char *nl;

	g_mime_stream_reset (stream);
	n = mp_io_stream_read (stream, head, sizeof head);
	g_mime_stream_reset (stream);
	if (n < 5 || memcmp (head, "From ", 5) != 0 ||
	    (nl = memchr (head, '\n', (gsize) n)) == NULL)
		return g_object_ref (stream);
	return g_mime_stream_substream (stream,
					stream->bound_start + (nl + 1 - head),
					stream->bound_end);
}

/* A stream that reads its sources one after the other, the sources read
 * to their end (GMimeStreamCat seeks each source, which a filtered one
 * cannot, and takes the -1 GMimeStreamFs answers at its end for an
 * error). */
#define MP_TYPE_SEQ (mp_seq_get_type ())
G_DECLARE_FINAL_TYPE (MpSeq, mp_seq, MP, SEQ, GMimeStream)

struct _MpSeq {
	GMimeStream parent;
	GPtrArray *sources;
	guint cur;
};

G_DEFINE_TYPE (MpSeq, mp_seq, GMIME_TYPE_STREAM)

static ssize_t
seq_read (GMimeStream *stream, char *buf, size_t len)
{
	MpSeq *q = MP_SEQ (stream);

	while (q->cur < q->sources->len) {
		ssize_t n =
			mp_io_stream_read (q->sources->pdata[q->cur], buf, len);

		if (n != 0)
			return n;
		q->cur++;
	}
	return 0;
}

static gboolean
seq_eos (GMimeStream *stream)
{
	MpSeq *q = MP_SEQ (stream);

	return q->cur >= q->sources->len;
}

static int
seq_reset (GMimeStream *stream)
{
	MpSeq *q = MP_SEQ (stream);
	guint i;

	for (i = 0; i < q->sources->len; i++)
		if (g_mime_stream_reset (q->sources->pdata[i]) < 0)
			return -1;
	q->cur = 0;
	return 0;
}

static void
mp_seq_finalize (GObject *object)
{
	g_ptr_array_unref (MP_SEQ (object)->sources);
	G_OBJECT_CLASS (mp_seq_parent_class)->finalize (object);
}

static void
mp_seq_class_init (MpSeqClass *klass)
{
	GMimeStreamClass *sc = GMIME_STREAM_CLASS (klass);

	G_OBJECT_CLASS (klass)->finalize = mp_seq_finalize;
	sc->read = seq_read;
	sc->eos = seq_eos;
	sc->reset = seq_reset;
}

static void
mp_seq_init (MpSeq *q)
{
	q->sources = g_ptr_array_new_with_free_func (g_object_unref);
}

static GMimeStream *
seq_new (void)
{
	GMimeStream *s = g_object_new (MP_TYPE_SEQ, NULL);

	g_mime_stream_construct (s, 0, -1);
	return s;
}

/* Adds @source (a reference is taken). */
static void
seq_add (GMimeStream *seq, GMimeStream *source)
{
	g_ptr_array_add (MP_SEQ (seq)->sources, g_object_ref (source));
}

/* ---- forwarding: a message/rfc822 part is 7bit or 8bit ---------------- */

/* A change to the bytes of a forwarded message: [start, end) is replaced
 * by @with (NULL: removed). */
typedef struct {
	gint64 start, end;
	GMimeStream *with;
} Edit;

typedef struct {
	GMimeStream *stream; /* the forwarded message */
	const char *what;
	GArray *edits; /* Edit, in stream order */
	GPtrArray *notes;
} Repair;

static void
edit_clear (gpointer p)
{
	Edit *e = p;

	g_clear_object (&e->with);
}

/* Statistics of [start, end) of @stream. */
static gboolean
range_stats (GMimeStream *stream, gint64 start, gint64 end, MpPartStats *stats,
	     const char *what, GError **error)
{
	g_autofree guchar *buf = g_malloc (CHUNK_SIZE);
	gsize line = 0;
	gboolean cr = FALSE;

	memset (stats, 0, sizeof *stats);
	while (start < end) {
		gsize want = (gsize) MIN ((gint64) CHUNK_SIZE, end - start);
		ssize_t n;

		if (g_mime_stream_seek (stream, start, GMIME_STREAM_SEEK_SET) !=
			    start ||
		    (n = g_mime_stream_read (stream, (char *) buf, want)) <=
			    0) {
			g_set_error (error, MP_ERROR, MP_ERROR_IO,
				     "%s: read error", what);
			return FALSE;
		}
		mp_part_stats_update (stats, &line, &cr, buf, (gsize) n);
		start += n;
	}
	if (cr)
		stats->bare_cr++;
	return TRUE;
}

/* Where the header field at @off ends: after its line ending and any
 * continuation lines, at most @limit. */
static gint64
field_end (GMimeStream *stream, gint64 off, gint64 limit)
{
	char c;
	gboolean eol = FALSE;

	if (g_mime_stream_seek (stream, off, GMIME_STREAM_SEEK_SET) != off)
		return -1;
	for (; off < limit; off++) {
		if (g_mime_stream_read (stream, &c, 1) != 1)
			return -1;
		if (eol && c != ' ' && c != '\t')
			return off;
		eol = c == '\n';
	}
	return limit;
}

/* The line ending of the blank line that ends a header block at @body:
 * "\n" or "\r\n", or NULL when the block does not end so. */
static const char *
blank_line_before (GMimeStream *stream, gint64 body, gint64 floor)
{
	char b[3] = { 0 };
	gint64 at = MAX (body - 3, floor);
	gssize n = (gssize) (body - at);

	if (n < 2 ||
	    g_mime_stream_seek (stream, at, GMIME_STREAM_SEEK_SET) != at ||
	    g_mime_stream_read (stream, b, (gsize) n) != n)
		return NULL;
	if (n == 3 && memcmp (b, "\n\r\n", 3) == 0)
		return "\r\n";
	if (memcmp (b + n - 2, "\n\n", 2) == 0)
		return "\n";
	return NULL;
}

static void
add_edit (Repair *r, gint64 start, gint64 end, GMimeStream *with)
{
	Edit e = { start, end, with };

	g_array_append_val (r->edits, e);
}

/* RFC 2045 6: the encoding a body with STATS gets again, quoted-printable
 * for text of TYPE without NUL or lone CR, base64 else; sets *WHY to
 * what was wrong with it */
static GMimeContentEncoding
repair_encoding (const char *type, const MpPartStats *stats, const char **why)
{
	*why = stats->nul     ? "it holds NUL bytes" :
	       stats->bare_cr ? "it holds a CR without LF" :
				"a line is over 998 octets";
	return g_ascii_strncasecmp (type, "text/", 5) == 0 && stats->nul == 0 &&
			       stats->bare_cr == 0 ?
		       GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE :
		       GMIME_CONTENT_ENCODING_BASE64;
}

/* Edits that remove every Content-Transfer-Encoding field of HEADERS
 * (a header block ending before BODY_START); FALSE with @error when a
 * field cannot be found in the stream */
static gboolean
repair_drop_encoding_fields (Repair *r, GMimeHeaderList *headers,
			     gint64 body_start, const char *section,
			     GError **error)
{
	for (int i = 0; i < g_mime_header_list_get_count (headers); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at (headers, i);
		gint64 off = g_mime_header_get_offset (h), end;

		if (g_ascii_strcasecmp (g_mime_header_get_name (h),
					"Content-Transfer-Encoding") != 0)
			continue;
		end = off < 0 ? -1 : field_end (r->stream, off, body_start);
		if (end < 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: part %s: cannot find its "
				     "Content-Transfer-Encoding (cannot "
				     "forward it)",
				     r->what, section);
			return FALSE;
		}
		add_edit (r, off, end, NULL);
	}
	return TRUE;
}

/* Returns the BODY stream decoded from FROM and encoded as TO, line
 * breaks kept as line breaks when TO is quoted-printable (text) */
static GMimeStream *
repair_body (Repair *r, GMimeStream *body, GMimeContentEncoding from,
	     GMimeContentEncoding to)
{
	g_autoptr (GMimeStream) sub = g_mime_stream_substream (
		r->stream, body->bound_start, body->bound_end);
	GMimeStream *filtered = g_mime_stream_filter_new (sub);
	g_autoptr (GMimeFilter) enc = g_mime_filter_basic_new (to, TRUE);

	if (from == GMIME_CONTENT_ENCODING_BASE64 ||
	    from == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
	    from == GMIME_CONTENT_ENCODING_UUENCODE) {
		g_autoptr (GMimeFilter) dec =
			g_mime_filter_basic_new (from, FALSE);

		g_mime_stream_filter_add (GMIME_STREAM_FILTER (filtered), dec);
	}
	if (to == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
		/* text: its line breaks stay line breaks */
		g_autoptr (GMimeFilter) d2u =
			g_mime_filter_dos2unix_new (FALSE);

		g_mime_stream_filter_add (GMIME_STREAM_FILTER (filtered), d2u);
	}
	g_mime_stream_filter_add (GMIME_STREAM_FILTER (filtered), enc);
	return filtered;
}

/* A leaf of the forwarded message whose body is no valid 7bit or 8bit
 * (RFC 5322 2.1.1: lines of at most 998 octets; RFC 2045 2.7, 2.8: no NUL,
 * CR only before LF) gets its body encoded again, quoted-printable for
 * text, base64 else, and its Content-Transfer-Encoding changed to say so.
 * Every other byte stays. */
static gboolean
repair_leaf (Repair *r, GMimePart *part, const char *section, GError **error)
{
	GMimeObject *obj = GMIME_OBJECT (part);
	GMimeDataWrapper *w = g_mime_part_get_content (part);
	GMimeStream *body = w ? g_mime_data_wrapper_get_stream (w) : NULL;
	GMimeContentEncoding to;
	g_autofree char *type = NULL;
	g_autofree char *field = NULL;
	MpPartStats stats;
	const char *eol, *why;
	gint64 at;

	if (body == NULL || body->bound_end < body->bound_start)
		return TRUE;
	if (!range_stats (r->stream, body->bound_start, body->bound_end, &stats,
			  r->what, error))
		return FALSE;
	if (stats.max_line <= 998 && stats.nul == 0 && stats.bare_cr == 0)
		return TRUE;
	eol = blank_line_before (r->stream, body->bound_start,
				 r->stream->bound_start);
	if (eol == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: part %s: no blank line before its body "
			     "(cannot forward it)",
			     r->what, section);
		return FALSE;
	}
	type = g_mime_content_type_get_mime_type (
		g_mime_object_get_content_type (obj));
	to = repair_encoding (type, &stats, &why);
	/* the old Content-Transfer-Encoding fields go, the new one comes
	 * last in the header block */
	if (!repair_drop_encoding_fields (r,
					  g_mime_object_get_header_list (obj),
					  body->bound_start, section, error))
		return FALSE;
	field = g_strdup_printf ("Content-Transfer-Encoding: %s%s",
				 g_mime_content_encoding_to_string (to), eol);
	at = body->bound_start - (gint64) strlen (eol);
	add_edit (r, at, at,
		  g_mime_stream_mem_new_with_buffer (field, strlen (field)));
	add_edit (r, body->bound_start, body->bound_end,
		  repair_body (r, body, g_mime_part_get_content_encoding (part),
			       to));
	g_ptr_array_add (
		r->notes,
		g_strdup_printf ("%s: part %s (%s) encoded as %s: %s", r->what,
				 section, type,
				 g_mime_content_encoding_to_string (to), why));
	return TRUE;
}

char *
mp_part_section_child (const char *section, int i)
{
	return *section ? g_strdup_printf ("%s.%d", section, i + 1) :
			  g_strdup_printf ("%d", i + 1);
}

char *
mp_part_section_message_body (const char *section, gboolean multipart)
{
	return multipart ? g_strdup (section) :
			   mp_part_section_child (section, 0);
}

/* Walks the forwarded message's parts; @section is the IMAP section
 * number of @obj (RFC 3501 6.4.5). */
static gboolean
repair_walk (Repair *r, GMimeObject *obj, const char *section, GError **error)
{
	if (GMIME_IS_MULTIPART (obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART (obj);
		int i, n = g_mime_multipart_get_count (mp);

		for (i = 0; i < n; i++) {
			g_autofree char *s = mp_part_section_child (section, i);

			if (!repair_walk (r, g_mime_multipart_get_part (mp, i),
					  s, error))
				return FALSE;
		}
		return TRUE;
	}
	if (GMIME_IS_MESSAGE_PART (obj)) {
		GMimeMessage *m = g_mime_message_part_get_message (
			GMIME_MESSAGE_PART (obj));
		GMimeObject *body = m ? g_mime_message_get_mime_part (m) : NULL;
		g_autofree char *s = NULL;

		if (body == NULL)
			return TRUE;
		s = mp_part_section_message_body (section,
						  GMIME_IS_MULTIPART (body));
		return repair_walk (r, body, s, error);
	}
	if (GMIME_IS_PART (obj))
		return repair_leaf (r, GMIME_PART (obj),
				    *section ? section : "1", error);
	return TRUE;
}

static int
edit_cmp (gconstpointer a, gconstpointer b)
{
	const Edit *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	/* an insertion before the removal or body starting there */
	return (x->end > x->start) - (y->end > y->start);
}

/* The forwarded message @msg read from @stream from @start on, with every
 * leaf whose body is not valid 7bit or 8bit encoded again (a new stream
 * reading @stream), or its bytes as they are when every body is valid.
 * Each leaf encoded again adds a line to @notes.  @scan holds the
 * statistics of @stream and, on return, of the result.  Errors:
 * MP_ERROR_DATA when a line outside the leaves' bodies is not valid (a
 * header line over 998 octets, a NUL in a preamble), MP_ERROR_IO. */
static GMimeStream *
forwarded_content (GMimeStream *stream, gint64 start, GMimeMessage *msg,
		   const char *what, GPtrArray *notes, Scan *scan,
		   GError **error)
{
	g_autoptr (GArray) edits = g_array_new (FALSE, FALSE, sizeof (Edit));
	g_autoptr (GMimeStream) cat = NULL;
	Repair r = { stream, what, edits, notes };
	GMimeObject *body = g_mime_message_get_mime_part (msg);
	const MpPartStats *st = &scan->stats;
	gint64 at = start;
	guint i;

	g_array_set_clear_func (edits, edit_clear);
	if (st->max_line > 998 || st->nul > 0 || st->bare_cr > 0) {
		if (body && !repair_walk (&r, body, "", error))
			return NULL;
	}
	if (edits->len == 0) {
		cat = g_mime_stream_substream (stream, start,
					       stream->bound_end);
	} else {
		g_array_sort (edits, edit_cmp);
		cat = seq_new ();
		for (i = 0; i < edits->len; i++) {
			Edit *e = &g_array_index (edits, Edit, i);

			if (e->start > at) {
				g_autoptr (GMimeStream) sub =
					g_mime_stream_substream (stream, at,
								 e->start);

				seq_add (cat, sub);
			}
			if (e->with)
				seq_add (cat, e->with);
			at = MAX (at, e->end);
		}
		if (at < stream->bound_end) {
			g_autoptr (GMimeStream) sub = g_mime_stream_substream (
				stream, at, stream->bound_end);

			seq_add (cat, sub);
		}
		if (!scan_stream (cat, scan, what, error))
			return NULL;
	}
	/* what is left (header fields, preambles) must be valid as it is */
	if (st->max_line > 998 || st->nul > 0 || st->bare_cr > 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: %s outside the body of a part (cannot "
			     "forward it)",
			     what,
			     st->nul     ? "a NUL byte" :
			     st->bare_cr ? "a CR without LF" :
					   "a line over 998 octets");
		return NULL;
	}
	g_mime_stream_reset (cat);
	return g_steal_pointer (&cat);
}

static char *
display_name (MpInput *in)
{
	const char *path = mp_input_get_name (in);
	g_autofree char *base = g_path_get_basename (path);
	char *utf8 = g_filename_to_utf8 (base, -1, NULL, NULL, NULL);

	return utf8 ? utf8 : g_filename_display_name (base);
}

static MpLeaf *
leaf_new (void)
{
	MpLeaf *leaf = g_new0 (MpLeaf, 1);

	leaf->notes = g_ptr_array_new_with_free_func (g_free);
	return leaf;
}

/* Returns the media type the file IN (STREAM, called NAME) is attached
 * as: --type, message/rfc822 for --message, else the type its name and
 * first bytes suggest; NULL with @error for a --type that is no media
 * type or a read error */
static GMimeContentType *
leaf_file_type (MpInput *in, GMimeStream *stream, const MpPartFileOptions *opts,
		const char *name, GError **error)
{
	const char *what = mp_input_get_name (in);
	g_autofree char *mime = NULL;
	guchar sniff[SNIFF_SIZE];
	ssize_t n;

	if (opts->type) {
		g_autoptr (GMimeContentType) ctype =
			g_mime_content_type_parse (NULL, opts->type);

		if (ctype == NULL || strchr (opts->type, '/') == NULL) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "%s: --type %s: not a media type", what,
				     opts->type);
			return NULL;
		}
		return g_steal_pointer (&ctype);
	}
	if (opts->message)
		return g_mime_content_type_parse (NULL, "message/rfc822");
	n = mp_io_stream_read (stream, (char *) sniff, sizeof sniff);
	if (n < 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_IO, "%s: read error",
			     what);
		return NULL;
	}
	g_mime_stream_reset (stream);
	mime = mp_part_guess_type (name, sniff, (gsize) n);
	return g_mime_content_type_parse (NULL, mime);
}

/* Replaces *CTYPE and *MIME by the media type TYPE, without parameters */
static void
leaf_retype (GMimeContentType **ctype, char **mime, const char *type)
{
	g_free (*mime);
	*mime = g_strdup (type);
	g_object_unref (*ctype);
	*ctype = g_mime_content_type_parse (NULL, *mime);
}

/* RFC 2046 5.2.1: message/rfc822 is 7bit, 8bit or binary, and binary is
 * what no server takes without BINARYMIME (RFC 3030): of the message IN
 * (STREAM, its bytes scanned into SCAN) the leaves that are not 7bit or
 * 8bit are encoded again, the rest is kept.  Sets LEAF's content and
 * encoding; FALSE with @error for what is not a message or what cannot
 * be forwarded */
static gboolean
leaf_file_message (MpLeaf *leaf, MpInput *in, GMimeStream *stream, Scan *scan,
		   GError **error)
{
	g_autoptr (GMimeMessage) msg = NULL;
	g_autoptr (GError) local = NULL;
	g_autoptr (GMimeStream) from = NULL;

	/* refuse what is not a message rather than forward junk */
	msg = mp_input_parse_message (in, NULL, &local);
	if (msg == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s (cannot forward it)", local->message);
		return FALSE;
	}
	from = message_content (stream);
	leaf->content = forwarded_content (stream, from->bound_start, msg,
					   mp_input_get_name (in), leaf->notes,
					   scan, error);
	if (leaf->content == NULL)
		return FALSE;
	leaf->encoding = scan->stats.non_ascii == 0 ?
				 GMIME_CONTENT_ENCODING_7BIT :
				 GMIME_CONTENT_ENCODING_8BIT;
	leaf->message = TRUE;
	return TRUE;
}

/* A text part always carries its charset (DESIGN 4): utf-8 for UTF-8
 * text (SCAN) when *CTYPE has none; text that is not UTF-8 is attached
 * as application/octet-stream without a --type (no charset to label it
 * with: do not pretend), and refused with a --type that gives no
 * charset (FALSE with @error).  May replace *CTYPE and *MIME */
static gboolean
leaf_file_text (MpLeaf *leaf, const MpPartFileOptions *opts, const Scan *scan,
		GMimeContentType **ctype, char **mime, const char *what,
		GError **error)
{
	if (!scan->utf8 && opts->type == NULL) {
		leaf_retype (ctype, mime, "application/octet-stream");
		leaf->encoding = GMIME_CONTENT_ENCODING_BASE64;
	} else if (!scan->utf8 &&
		   !g_mime_content_type_get_parameter (*ctype, "charset")) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: not UTF-8 text; give its charset "
			     "(--type '%s; charset=...')",
			     what, *mime);
		return FALSE;
	} else if (scan->utf8 &&
		   !g_mime_content_type_get_parameter (*ctype, "charset")) {
		g_mime_content_type_set_parameter (*ctype, "charset", "utf-8");
	}
	return TRUE;
}

/* Returns the header block of LEAF: Content-Type MIME with the
 * parameters of CTYPE and NAME, Content-Disposition with NAME,
 * Content-ID (kept in LEAF too) and Content-Description as OPTS ask,
 * and LEAF's Content-Transfer-Encoding */
static char *
leaf_file_headers (MpLeaf *leaf, GMimeContentType *ctype, const char *mime,
		   const char *name, const MpPartFileOptions *opts)
{
	g_autoptr (GString) h = g_string_new ("Content-Type: ");
	GMimeParamList *params = g_mime_content_type_get_parameters (ctype);
	gsize col;

	g_string_append (h, mime);
	col = h->len;
	for (int i = 0; i < g_mime_param_list_length (params); i++) {
		GMimeParam *prm =
			g_mime_param_list_get_parameter_at (params, i);
		const char *pname = g_mime_param_get_name (prm);

		if (g_ascii_strcasecmp (pname, "name") == 0)
			continue;
		append_name_param (h, &col, pname,
				   g_mime_param_get_value (prm));
	}
	if (*name)
		append_name_param (h, &col, "name", name);
	g_string_append (h, "\nContent-Disposition: ");
	g_string_append (h, opts->inline_disposition ? "inline" : "attachment");
	col = h->len - (gsize) (strrchr (h->str, '\n') - h->str) - 1;
	if (*name)
		append_name_param (h, &col, "filename", name);
	g_string_append_c (h, '\n');
	if (opts->content_id) {
		leaf->content_id = g_strdup (opts->content_id);
		g_string_append_printf (h, "Content-ID: <%s>\n",
					opts->content_id);
	}
	if (opts->description && *opts->description) {
		g_autofree char *d = mp_field_format_text (
			"Content-Description", opts->description);

		g_string_append (h, d);
	}
	g_string_append_printf (h, "Content-Transfer-Encoding: %s\n",
				encoding_name (leaf->encoding));
	return g_string_free (g_steal_pointer (&h), FALSE);
}

MpLeaf *
mp_part_leaf_new_file (MpInput *in, const MpPartFileOptions *opts,
		       GError **error)
{
	g_autoptr (MpInput) input = in;
	g_autoptr (MpLeaf) leaf = leaf_new ();
	g_autoptr (GMimeContentType) ctype = NULL;
	g_autofree char *name = NULL;
	g_autofree char *mime = NULL;
	const char *what = mp_input_get_name (in);
	GMimeStream *stream = mp_input_get_stream (in);
	gboolean is_text, is_message;
	Scan scan = { 0 };

	name = opts->name ? g_strdup (opts->name) : display_name (in);
	ctype = leaf_file_type (in, stream, opts, name, error);
	if (ctype == NULL)
		return NULL;
	{
		g_autofree char *m = g_mime_content_type_get_mime_type (ctype);

		mime = g_ascii_strdown (m, -1);
	}
	is_message = opts->message || strcmp (mime, "message/rfc822") == 0;
	is_text = g_str_has_prefix (mime, "text/");

	/* only text and messages need their bytes looked at: anything else
	 * is base64 whatever it holds, and scanning 1 GB costs seconds */
	if ((is_text || is_message) &&
	    !scan_stream (stream, &scan, what, error))
		return NULL;
	if (is_message) {
		if (!leaf_file_message (leaf, in, stream, &scan, error))
			return NULL;
		leaf_retype (&ctype, &mime, "message/rfc822");
	} else if (is_text && !leaf_file_text (leaf, opts, &scan, &ctype, &mime,
					       what, error)) {
		return NULL;
	}
	/* DESIGN 4: an attached file is base64 whatever its type, as Gmail,
	 * Outlook and Python's add_attachment() write it.  A 7bit or QP
	 * text loses its last line ending to the delimiter in some readers
	 * (postal-mime gave a 7bit data.csv back with one more newline),
	 * and its lines can hold a delimiter of the parts around it */
	if (!is_message)
		leaf->encoding = GMIME_CONTENT_ENCODING_BASE64;
	leaf->headers = leaf_file_headers (leaf, ctype, mime, name, opts);
	leaf->mime_type = g_steal_pointer (&mime);
	if (leaf->content == NULL)
		leaf->content = g_object_ref (stream);
	leaf->input = g_steal_pointer (&input);
	return g_steal_pointer (&leaf);
}

MpLeaf *
mp_part_leaf_new_part (GMimePart *part)
{
	MpLeaf *leaf = leaf_new ();
	GMimeDataWrapper *w = g_mime_part_get_content (part);
	g_autoptr (GMimeFormatOptions) fmt = g_mime_format_options_new ();
	const char *cid = g_mime_object_get_content_id (GMIME_OBJECT (part));

	leaf->headers = g_mime_object_get_headers (GMIME_OBJECT (part), fmt);
	leaf->content_id = g_strdup (cid);
	leaf->content = w ? g_object_ref (g_mime_data_wrapper_get_stream (w)) :
			    g_mime_stream_mem_new ();
	leaf->encoding = g_mime_part_get_content_encoding (part);
	{
		g_autofree char *m = g_mime_content_type_get_mime_type (
			g_mime_object_get_content_type (GMIME_OBJECT (part)));

		leaf->mime_type = g_ascii_strdown (m, -1);
	}
	return leaf;
}

void
mp_part_leaf_free (MpLeaf *leaf)
{
	if (leaf == NULL)
		return;
	g_free (leaf->headers);
	g_free (leaf->content_id);
	g_clear_object (&leaf->content);
	g_clear_pointer (&leaf->input, mp_input_free);
	g_free (leaf->mime_type);
	g_clear_pointer (&leaf->notes, g_ptr_array_unref);
	g_free (leaf);
}

const char *
mp_part_leaf_get_mime_type (MpLeaf *leaf)
{
	return leaf->mime_type;
}

const char *
mp_part_leaf_get_content_id (MpLeaf *leaf)
{
	return leaf->content_id;
}

GMimeContentEncoding
mp_part_leaf_get_encoding (MpLeaf *leaf)
{
	return leaf->encoding;
}

gboolean
mp_part_leaf_is_message (MpLeaf *leaf)
{
	return leaf->message;
}

GPtrArray *
mp_part_leaf_get_notes (MpLeaf *leaf)
{
	return leaf->notes;
}

static GMimeFilter *
encoder_new (GMimeContentEncoding encoding)
{
	/* our base64 encoder is several times faster than GMime's and
	 * writes the same bytes (tests/unit/test-base64.c) */
	if (encoding == GMIME_CONTENT_ENCODING_BASE64)
		return mp_filter_base64_new ();
	if (encoding == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
	    encoding == GMIME_CONTENT_ENCODING_UUENCODE)
		return g_mime_filter_basic_new (encoding, TRUE);
	return NULL;
}

GMimeStream *
mp_part_leaf_open_content (MpLeaf *leaf)
{
	g_autoptr (GMimeFilter) enc = encoder_new (leaf->encoding);
	GMimeStream *s;

	g_mime_stream_reset (leaf->content);
	s = g_mime_stream_filter_new (leaf->content);
	if (enc)
		g_mime_stream_filter_add (GMIME_STREAM_FILTER (s), enc);
	return s;
}

void
mp_part_leaf_set_base64 (MpLeaf *leaf)
{
	g_autoptr (GString) h = g_string_new (NULL);
	const char *p = leaf->headers;
	gboolean skip = FALSE;

	g_return_if_fail (!leaf->message);
	while (*p) {
		const char *nl = strchr (p, '\n');
		gsize len = nl ? (gsize) (nl - p) + 1 : strlen (p);

		if (*p != ' ' && *p != '\t')
			skip = g_ascii_strncasecmp (
				       p, "Content-Transfer-Encoding:", 26) ==
			       0;
		if (!skip)
			g_string_append_len (h, p, (gssize) len);
		p += len;
	}
	if (h->len && h->str[h->len - 1] != '\n')
		g_string_append_c (h, '\n');
	g_string_append (h, "Content-Transfer-Encoding: base64\n");
	g_free (leaf->headers);
	leaf->headers = g_string_free (g_steal_pointer (&h), FALSE);
	leaf->encoding = GMIME_CONTENT_ENCODING_BASE64;
}

static char *
lf_to_crlf (const char *s)
{
	GString *out = g_string_sized_new (strlen (s) + 16);

	for (; *s; s++) {
		if (*s == '\n' &&
		    (out->len == 0 || out->str[out->len - 1] != '\r'))
			g_string_append_c (out, '\r');
		g_string_append_c (out, *s);
	}
	return g_string_free (out, FALSE);
}

/* base64 straight to the output in large pieces: no filter stream, the
 * same bytes (tests/unit/test-base64.c) */
/* Reads the next bytes of @leaf's content; -1 with @error set. */
static ssize_t
leaf_read (MpLeaf *leaf, char *buf, gsize size, GError **error)
{
	ssize_t n = mp_io_stream_read (leaf->content, buf, size);

	if (n < 0)
		g_set_error (error, MP_ERROR, MP_ERROR_IO, "%s: read error",
			     leaf->input ? mp_input_get_name (leaf->input) :
					   "part");
	return n;
}

static gboolean
leaf_write_base64 (MpLeaf *leaf, MpOutput *out, GError **error)
{
	g_autofree char *buf = g_malloc (TEXT_CHUNK);
	g_autofree char *coded = g_malloc (MP_BASE64_ENCODE_LEN (TEXT_CHUNK));
	MpBase64State st = { { 0 } };
	gsize m;

	g_mime_stream_reset (leaf->content);
	for (;;) {
		ssize_t n = leaf_read (leaf, buf, TEXT_CHUNK, error);

		if (n < 0)
			return FALSE;
		if (n == 0)
			break;
		m = mp_base64_encode_step (&st, (const guchar *) buf, (gsize) n,
					   coded);
		if (!mp_output_write (out, coded, m, error))
			return FALSE;
	}
	m = mp_base64_encode_close (&st, coded);
	return m == 0 || mp_output_write (out, coded, m, error);
}

gboolean
mp_part_leaf_write (MpLeaf *leaf, MpOutput *out, gboolean crlf, GError **error)
{
	g_autofree char *headers = g_strdup (leaf->headers);
	g_autofree char *buf = NULL;
	g_autoptr (GMimeStream) filter = NULL;
	GMimeStreamFilter *f;
	gboolean encode;

	if (crlf) {
		char *h = lf_to_crlf (headers);

		g_free (headers);
		headers = h;
	}
	if (!mp_output_write (out, headers, strlen (headers), error) ||
	    !mp_output_write (out, crlf ? "\r\n" : "\n", crlf ? 2 : 1, error))
		return FALSE;

	if (!crlf && !leaf->message &&
	    leaf->encoding == GMIME_CONTENT_ENCODING_BASE64)
		return leaf_write_base64 (leaf, out, error);

	filter = g_mime_stream_filter_new (mp_output_get_stream (out));
	f = GMIME_STREAM_FILTER (filter);
	encode = leaf->encoding == GMIME_CONTENT_ENCODING_BASE64 ||
		 leaf->encoding == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
		 leaf->encoding == GMIME_CONTENT_ENCODING_UUENCODE;
	if (encode) {
		g_autoptr (GMimeFilter) enc = encoder_new (leaf->encoding);

		g_mime_stream_filter_add (f, enc);
	}
	if (leaf->message && !crlf) {
		g_autoptr (GMimeFilter) d2u =
			g_mime_filter_dos2unix_new (FALSE);

		g_mime_stream_filter_add (f, d2u);
	}
	if (crlf) {
		g_autoptr (GMimeFilter) u2d =
			g_mime_filter_unix2dos_new (FALSE);

		g_mime_stream_filter_add (f, u2d);
	}

	buf = g_malloc (CHUNK_SIZE);
	g_mime_stream_reset (leaf->content);
	for (;;) {
		ssize_t n = leaf_read (leaf, buf, CHUNK_SIZE, error);

		if (n < 0)
			return FALSE;
		if (n == 0)
			break;
		if (!mp_output_check (
			    out, g_mime_stream_write (filter, buf, (size_t) n),
			    error))
			return FALSE;
	}
	return mp_output_check (out, g_mime_stream_flush (filter), error);
}
