/* mp-part: MIME parts built from data.  Here text parts that always
 * carry their charset and write their own content, and leaves: made from
 * a part, their content encoded while they are written; parts from files
 * in mp-part-file.c, forwarded messages in mp-part-forward.c
 * (mp-part-private.h is what they share). */
#include "mp-part.h"
#include "mp-part-private.h"
#include "mp-text-private.h"
#include "mp-base64.h"
#include "mp-error.h"

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
	/* an empty text's bytes may have no data at all */
	g_autoptr (GMimeStream) mem =
		g_bytes_get_size (data) ? g_mime_stream_mem_new_with_buffer (
						  g_bytes_get_data (data, NULL),
						  g_bytes_get_size (data)) :
					  g_mime_stream_mem_new ();

	return mp_part_new_text_from_stream (subtype, mem, charset, allow_8bit,
					     what, error);
}

/* ---- leaves: made from a part, written ------------------------------- */

MpLeaf *
mp_part_leaf_new (void)
{
	MpLeaf *leaf = g_new0 (MpLeaf, 1);

	leaf->notes = g_ptr_array_new_with_free_func (g_free);
	return leaf;
}

MpLeaf *
mp_part_leaf_new_part (GMimePart *part)
{
	MpLeaf *leaf = mp_part_leaf_new ();
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
