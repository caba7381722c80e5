/* mp-show-decode: a part's content decoded (base64, quoted-printable,
 * x-uuencode; an embedded message written back), streamed in bounded
 * memory, and the uuencoded blocks ("begin 644 name" ... "end") of a
 * text/plain part found while it streams. */
#include "mp-show-private.h"
#include "mp-error.h"
#include "mp-io.h"

#include <errno.h>
#include <string.h>

/* ---- decoding -------------------------------------------------------- */

void
mp_show_uu_block_free (gpointer p)
{
	UuBlock *b = p;

	g_free (b->name);
	g_free (b);
}

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
gboolean
mp_show_is_container (GMimeObject *obj)
{
	return GMIME_IS_MULTIPART (obj) &&
	       g_mime_multipart_get_count (GMIME_MULTIPART (obj)) > 0;
}

gboolean
mp_show_decode_object (GMimeObject *obj, GMimeStream *source, Decoder *d,
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
	if (!mp_show_is_container (obj)) {
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
		ok = mp_show_decode_object (part->parent->object, part->source,
					    &d, part->section, error);
	} else {
		d.func = func;
		d.user_data = user_data;
		ok = mp_show_decode_object (part->object, part->source, &d,
					    part->section, error);
	}
	g_free (d.block_name);
	return ok;
}
