/* mp-merge-render: the message of one row, as a list of chunks (new
 * bytes and slices of the template): its header fields filled, its text
 * parts made anew, the row's files attached, and boundaries that clash
 * with nothing in it. */
#include "mp-merge-private.h"

#include "mp-error.h"
#include "mp-field.h"
#include "mp-part.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static void
chunk_clear (gpointer p)
{
	g_bytes_unref (((Chunk *) p)->bytes);
}

static GArray *
chunks_new (void)
{
	GArray *c = g_array_new (FALSE, FALSE, sizeof (Chunk));

	g_array_set_clear_func (c, chunk_clear);
	return c;
}

/* New bytes are made with LF; a CRLF template gets CRLF. */
static void
emit_new (GArray *out, const char *s, gboolean crlf)
{
	Chunk c = { NULL, FALSE };
	gsize len = strlen (s);

	if (len == 0)
		return;
	if (!crlf) {
		c.bytes = g_bytes_new (s, len);
	} else {
		GString *d = g_string_sized_new (len + len / 32);

		for (gsize i = 0; i < len; i++) {
			if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
				g_string_append_c (d, '\r');
			g_string_append_c (d, s[i]);
		}
		c.bytes = g_string_free_to_bytes (d);
	}
	g_array_append_val (out, c);
}

static void
emit_raw (GArray *out, MpMergeTemplate *t, gsize start, gsize end)
{
	Chunk c = { NULL, TRUE };

	if (end <= start)
		return;
	c.bytes = g_bytes_new_from_bytes (t->bytes, start, end - start);
	g_array_append_val (out, c);
}

/* TRUE when a line of @s starts with "--" and one of @bounds */
static gboolean
holds_delimiter (const char *s, gsize len, GPtrArray *bounds)
{
	const char *end = s + len;

	for (const char *p = s; p < end;) {
		const char *nl = memchr (p, '\n', (gsize) (end - p));

		if (end - p > 2 && p[0] == '-' && p[1] == '-')
			for (guint i = 0; i < bounds->len; i++) {
				const char *b = bounds->pdata[i];
				gsize bl = strlen (b);

				if ((gsize) (end - p - 2) >= bl &&
				    memcmp (p + 2, b, bl) == 0)
					return TRUE;
			}
		p = nl ? nl + 1 : end;
	}
	return FALSE;
}

static char *
serialize (GMimeObject *o)
{
	g_autoptr (GMimeStream) mem = g_mime_stream_mem_new ();
	GMimeFormatOptions *fo = g_mime_format_options_new ();
	GByteArray *ba;

	g_mime_format_options_set_newline_format (fo,
						  GMIME_NEWLINE_FORMAT_UNIX);
	g_mime_object_write_to_stream (o, fo, mem);
	g_mime_format_options_free (fo);
	ba = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (mem));
	return g_strndup ((const char *) ba->data, ba->len);
}

/* Serialises the text part @l filled with the row's values: its header
 * fields as the template has them but Content-Type's charset (UTF-8) and
 * Content-Transfer-Encoding (chosen for this text), a blank line, the
 * body; without the line ending that belongs to the next delimiter. */
static char *
leaf_render (MpMergeTemplate *t, Leaf *l, const MpMergeData *data, guint row,
	     GError **error)
{
	GMimeObject *orig = GMIME_OBJECT (l->part);
	GMimeContentType *oct = g_mime_object_get_content_type (orig);
	GMimeParamList *params = g_mime_content_type_get_parameters (oct);
	GMimeHeaderList *hl = g_mime_object_get_header_list (orig);
	gboolean html = g_mime_content_type_is_type (oct, "text", "html");
	g_autofree char *text =
		mp_merge_pattern_fill (l->body, data, row, NULL, error);
	g_autoptr (GBytes) tb = NULL;
	g_autoptr (GMimePart) part = NULL;
	GMimeContentEncoding enc;
	gboolean ends_nl;
	char *out;
	gsize len;

	if (text == NULL)
		return NULL;
	ends_nl = g_str_has_suffix (text, "\n");
	len = strlen (text);
	tb = g_bytes_new_take (g_steal_pointer (&text), len);
	part = mp_part_new_text (html ? "html" : "plain", tb, NULL, FALSE,
				 l->body->where, error);
	if (part == NULL)
		return NULL;
	for (int i = 0; i < g_mime_param_list_length (params); i++) {
		GMimeParam *pm = g_mime_param_list_get_parameter_at (params, i);
		const char *pn = g_mime_param_get_name (pm);

		if (g_ascii_strcasecmp (pn, "charset") != 0)
			g_mime_object_set_content_type_parameter (
				GMIME_OBJECT (part), pn,
				g_mime_param_get_value (pm));
	}
	/* the part's other fields (Content-ID, Content-Disposition...);
	 * in a one-part message they are the message's Content-* fields */
	for (int i = 0; i < g_mime_header_list_get_count (hl); i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at (hl, i);
		const char *hn = g_mime_header_get_name (h);

		if (g_ascii_strcasecmp (hn, "Content-Type") == 0 ||
		    g_ascii_strcasecmp (hn, "Content-Transfer-Encoding") == 0 ||
		    g_ascii_strncasecmp (hn, "Content-", 8) != 0)
			continue;
		g_mime_object_append_header (GMIME_OBJECT (part), hn,
					     g_mime_header_get_value (h), NULL);
	}
	enc = g_mime_part_get_content_encoding (part);
	out = serialize (GMIME_OBJECT (part));
	/* a value holding a delimiter of an enclosing multipart would end
	 * it early: base64 never starts a line with "--" */
	if (holds_delimiter (out, strlen (out), l->boundaries) &&
	    enc != GMIME_CONTENT_ENCODING_BASE64) {
		g_free (out);
		enc = GMIME_CONTENT_ENCODING_BASE64;
		g_mime_part_set_content_encoding (part, enc);
		out = serialize (GMIME_OBJECT (part));
	}
	len = strlen (out);
	/* GMime ends the content with a line break the text may not have:
	 * the one before the next delimiter is the delimiter's (RFC 2046
	 * 5.1.1), so it goes unless the text itself ends with it */
	if (!t->single && len > 0 && out[len - 1] == '\n' &&
	    (!ends_nl || enc == GMIME_CONTENT_ENCODING_BASE64))
		out[len - 1] = '\0';
	return out;
}

/* A file of the row must be below the attachment folder (a table from
 * elsewhere must not mail away the sender's files) and have a name
 * without control characters. */
static gboolean
check_attachment_path (MpMergeTemplate *t, const MpMergeData *data, guint row,
		       int column, const char *path, const char *base,
		       GError **error)
{
	g_auto (GStrv) parts = g_strsplit (path, "/", -1);
	gboolean outside = g_path_is_absolute (path);

	for (guint i = 0; parts[i]; i++)
		outside |= strcmp (parts[i], "..") == 0;
	if (outside) {
		mp_merge_row_error (
			error, data, row, column,
			"%s: attachments must be inside %s (no absolute "
			"path, no ..)",
			path, t->attach_dir);
		return FALSE;
	}
	for (const char *c = base; *c; c++)
		if ((guchar) *c < 0x20 || *c == 0x7f) {
			mp_merge_row_error (
				error, data, row, column,
				"%s: a file name with a control character",
				path);
			return FALSE;
		}
	return TRUE;
}

/* Opens @path below the attachment folder, one component at a time,
 * following no link: a link in the path could lead anywhere.  -1 with
 * @error set naming the row. */
static int
open_attachment (MpMergeTemplate *t, const MpMergeData *data, guint row,
		 int column, const char *path, GError **error)
{
	g_autoptr (GError) err = NULL;
	int dirfd = open (t->attach_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd = -1;

	if (dirfd < 0) {
		mp_error_set_errno (&err, MP_ERROR_NO_INPUT, errno,
				    t->attach_dir);
	} else {
		fd = mp_io_open_below (dirfd, path, path,
				       "copy the file into the current "
				       "directory",
				       &err);
		close (dirfd);
	}
	if (fd < 0)
		mp_merge_set_row_error (error, err->code, data, row, column,
					err->message);
	return fd;
}

/* The part for the file @fd named @base (at @full): its type detected;
 * text labelled UTF-8, as mime-attach does, or sent as
 * application/octet-stream when it is not UTF-8. */
static GMimePart *
attachment_part (int fd, const char *base, const char *full)
{
	g_autoptr (GMimeStream) fs = NULL;
	g_autoptr (GMimeDataWrapper) w = NULL;
	g_autoptr (GMimeContentType) ct = NULL;
	g_autofree char *type = NULL;
	GMimePart *part;
	char head[4096];
	gssize n;

	n = pread (fd, head, sizeof head, 0);
	type = mp_part_guess_type (base, (const guchar *) head,
				   n > 0 ? (gsize) n : 0);
	fs = g_mime_stream_fs_new (fd);
	w = g_mime_data_wrapper_new_with_stream (
		fs, GMIME_CONTENT_ENCODING_DEFAULT);
	ct = g_mime_content_type_parse (NULL, type);
	part = g_mime_part_new_with_type (
		g_mime_content_type_get_media_type (ct),
		g_mime_content_type_get_media_subtype (ct));
	if (g_ascii_strncasecmp (type, "text/", 5) == 0) {
		g_autofree char *all = NULL;
		gsize len = 0;

		if (g_file_get_contents (full, &all, &len, NULL) &&
		    g_utf8_validate_len (all, len, NULL) &&
		    memchr (all, '\0', len) == NULL)
			g_mime_object_set_content_type_parameter (
				GMIME_OBJECT (part), "charset", "utf-8");
		else {
			g_object_unref (part);
			part = g_mime_part_new_with_type ("application",
							  "octet-stream");
		}
	}
	g_mime_part_set_content (part, w);
	return part;
}

/* A file of the row, attached: base64, its type detected, its name in
 * Content-Disposition (RFC 2231 when not ASCII). */
static char *
attachment_render (MpMergeTemplate *t, const MpMergeData *data, guint row,
		   int column, const char *path, GError **error)
{
	g_autofree char *full = NULL;
	g_autofree char *base = g_path_get_basename (path);
	g_autoptr (GMimePart) part = NULL;
	int fd;

	if (!check_attachment_path (t, data, row, column, path, base, error))
		return NULL;
	full = g_build_filename (t->attach_dir, path, NULL);
	fd = open_attachment (t, data, row, column, path, error);
	if (fd < 0)
		return NULL;
	part = attachment_part (fd, base, full);
	g_mime_part_set_content_encoding (part, GMIME_CONTENT_ENCODING_BASE64);
	g_mime_object_set_disposition (GMIME_OBJECT (part), "attachment");
	g_mime_part_set_filename (part, base);
	/* DESIGN 4: RFC 2231 in UTF-8 (GMime would pick iso-8859-1) */
	{
		GMimeParamList *lists[] = {
			g_mime_content_disposition_get_parameters (
				g_mime_object_get_content_disposition (
					GMIME_OBJECT (part))),
			g_mime_content_type_get_parameters (
				g_mime_object_get_content_type (
					GMIME_OBJECT (part))),
		};

		for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
			for (int i = 0; i < g_mime_param_list_length (lists[l]);
			     i++)
				g_mime_param_set_charset (
					g_mime_param_list_get_parameter_at (
						lists[l], i),
					"utf-8");
	}
	{
		char *out = serialize (GMIME_OBJECT (part));
		gsize len = strlen (out);

		if (len > 0 && out[len - 1] == '\n')
			out[len - 1] = '\0';
		return out;
	}
}

static gboolean
field_is_content (const Field *f)
{
	return g_ascii_strncasecmp (f->name, "Content-", 8) == 0;
}

/* Emits "Name: value" checked and encoded; an error names row and
 * column. */
static gboolean
emit_field (MpMergeTemplate *t, const MpMergeData *data, guint row, int col,
	    const char *name, const char *value, GArray *out, GError **error)
{
	GError *err = NULL;
	g_autofree char *line = mp_field_format (name, value, &err);

	if (line == NULL) {
		mp_merge_row_error (error, data, row, col, "%s", err->message);
		g_error_free (err);
		return FALSE;
	}
	emit_new (out, line, t->crlf);
	return TRUE;
}

/* One field of the template, filled, or as written */
static gboolean
render_field (MpMergeTemplate *t, const MpMergeData *data, guint row,
	      const Field *f, GArray *out, GError **error)
{
	g_autofree char *filled = NULL;
	int col = -1;

	if (f->column >= 0) {
		const char *v =
			mp_merge_row_value (data, row, f->column, error);

		if (v == NULL)
			return FALSE;
		/* an empty To/Cc/Bcc column: no such field in this row */
		return *v == '\0' || emit_field (t, data, row, f->column,
						 f->name, v, out, error);
	}
	if (f->value == NULL) {
		Chunk c = { g_bytes_new (f->bytes, f->len), FALSE };

		g_array_append_val (out, c);
		return TRUE;
	}
	filled = mp_merge_pattern_fill (f->value, data, row, &col, error);
	return filled &&
	       emit_field (t, data, row, col, f->name, filled, out, error);
}

/* List-Unsubscribe and List-Unsubscribe-Post (RFC 8058) */
static gboolean
render_unsubscribe (MpMergeTemplate *t, const MpMergeData *data, guint row,
		    GArray *out, GError **error)
{
	g_autofree char *url =
		mp_merge_pattern_fill (t->unsubscribe, data, row, NULL, error);
	g_autofree char *line = NULL;

	if (url == NULL)
		return FALSE;
	/* RFC 8058 3.1: one-click needs an HTTPS URI */
	if (g_ascii_strncasecmp (url, "https://", 8) != 0 ||
	    strpbrk (url, " <>\"") != NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--unsubscribe: %s: one-click unsubscribe needs "
			     "an https:// URL (RFC 8058)",
			     url);
		return FALSE;
	}
	line = g_strdup_printf ("List-Unsubscribe: <%s>\n"
				"List-Unsubscribe-Post: "
				"List-Unsubscribe=One-Click\n",
				url);
	emit_new (out, line, t->crlf);
	return TRUE;
}

/* The header block of the message, without its blank line: the
 * template's fields filled (its Message-ID replaced), then the row's
 * recipients, Date and Message-ID when the template has none, and
 * List-Unsubscribe. */
static gboolean
render_fields (MpMergeTemplate *t, const MpMergeData *data, guint row,
	       gboolean skip_content, const char *msgid, GArray *out,
	       GError **error)
{
	g_autofree char *msgid_line =
		g_strdup_printf ("Message-ID: <%s>\n", msgid);
	gboolean msgid_done = FALSE;

	for (guint i = 0; i < t->fields->len; i++) {
		Field *f = &g_array_index (t->fields, Field, i);

		if (skip_content && field_is_content (f))
			continue;
		if (g_ascii_strcasecmp (f->name, "Message-ID") == 0) {
			if (!msgid_done)
				emit_new (out, msgid_line, t->crlf);
			msgid_done = TRUE;
		} else if (!render_field (t, data, row, f, out, error)) {
			return FALSE;
		}
	}
	for (int r = 0; r < 3; r++) {
		int c = t->recipient_columns[r];
		const char *v;

		if (c < 0 || t->recipient_seen[r])
			continue;
		v = mp_merge_row_value (data, row, c, error);
		if (v == NULL ||
		    (*v &&
		     !emit_field (t, data, row, c, mp_merge_recipient_names[r],
				  v, out, error)))
			return FALSE;
	}
	if (!t->has_date) {
		g_autofree char *line = g_strdup_printf ("Date: %s\n", t->date);

		emit_new (out, line, t->crlf);
	}
	if (!msgid_done)
		emit_new (out, msgid_line, t->crlf);
	return t->unsubscribe == NULL ||
	       render_unsubscribe (t, data, row, out, error);
}

/* The body (from the blank line) with the text parts filled in; new
 * parts go before the template's closing delimiter when @parts is set. */
static gboolean
render_body (MpMergeTemplate *t, const MpMergeData *data, guint row,
	     GPtrArray *parts, GArray *out, GError **error)
{
	gsize pos = t->body_start;

	for (guint i = 0; i < t->leaves->len; i++) {
		Leaf *l = t->leaves->pdata[i];
		g_autofree char *leaf = leaf_render (t, l, data, row, error);

		if (leaf == NULL)
			return FALSE;
		emit_raw (out, t, pos, l->start);
		emit_new (out, leaf, t->crlf);
		pos = l->end;
	}
	if (parts && parts->len > 0) {
		emit_raw (out, t, pos, t->close_at);
		for (guint i = 0; i < parts->len; i++) {
			g_autofree char *sep =
				g_strdup_printf ("\n--%s\n", t->top_boundary);

			emit_new (out, sep, t->crlf);
			emit_new (out, parts->pdata[i], t->crlf);
		}
		pos = t->close_at;
	}
	emit_raw (out, t, pos, t->len);
	return TRUE;
}

/* Where the closing delimiter of the top multipart starts, with the line
 * ending before it (the delimiter's, RFC 2046 5.1.1). */
gsize
mp_merge_closing_delimiter (const guint8 *data, gsize len, const char *boundary,
			    gsize from)
{
	g_autofree char *close = g_strdup_printf ("--%s--", boundary);
	gsize cl = strlen (close);
	gsize found = len;

	for (gsize p = from; p + cl <= len;) {
		const guint8 *nl = memchr (data + p, '\n', len - p);

		if (memcmp (data + p, close, cl) == 0)
			found = p;
		if (nl == NULL)
			break;
		p = (gsize) (nl - data) + 1;
	}
	if (found < len && found > from && data[found - 1] == '\n') {
		found--;
		if (found > from && data[found - 1] == '\r')
			found--;
	}
	return found;
}

static gboolean
chunks_hold_delimiter (GArray *chunks, GPtrArray *bounds)
{
	/* every chunk starts a line or with a line break, and ends one
	 * unless a line break starts the next: lines never span two */
	for (guint i = 0; i < chunks->len; i++) {
		gsize len;
		const char *d = g_bytes_get_data (
			g_array_index (chunks, Chunk, i).bytes, &len);

		if (holds_delimiter (d, len, bounds))
			return TRUE;
	}
	return FALSE;
}

/* A boundary for a new multipart/mixed, absent from @inner */
static char *
new_boundary (const char *msgid, GArray *inner)
{
	for (guint n = 0;; n++) {
		g_autofree char *seed = g_strdup_printf ("%s/%u", msgid, n);
		char hex[65];
		g_autofree char *b = NULL;
		g_autoptr (GPtrArray) bounds = g_ptr_array_new ();

		mp_merge_hash_hex (seed, strlen (seed), hex);
		b = g_strdup_printf ("=_merge_%.24s", hex);
		g_ptr_array_add (bounds, b);
		if (!chunks_hold_delimiter (inner, bounds))
			return g_steal_pointer (&b);
	}
}

static gboolean
render_attachments (MpMergeTemplate *t, const MpMergeData *data, guint row,
		    GPtrArray *out, GError **error)
{
	for (guint i = 0; i < t->attach_columns->len; i++) {
		int c = g_array_index (t->attach_columns, int, i);
		const char *v = mp_merge_row_value (data, row, c, error);
		char *a;

		if (v == NULL)
			return FALSE;
		if (*v == '\0')
			continue;
		a = attachment_render (t, data, row, c, v, error);
		if (a == NULL)
			return FALSE;
		g_ptr_array_add (out, a);
	}
	return TRUE;
}

/* The template's body in a new multipart/mixed, then the files */
static void
wrap_mixed (MpMergeTemplate *t, const char *msgid, GArray *inner,
	    GPtrArray *parts, GArray *out)
{
	g_autofree char *b = new_boundary (msgid, inner);
	g_autofree char *head = g_strdup_printf (
		"Content-Type: multipart/mixed; boundary=\"%s\"\n\n--%s\n", b,
		b);
	g_autofree char *close = g_strdup_printf ("\n--%s--\n", b);

	emit_new (out, head, t->crlf);
	for (guint i = 0; i < inner->len; i++) {
		Chunk c = g_array_index (inner, Chunk, i);

		c.bytes = g_bytes_ref (c.bytes);
		g_array_append_val (out, c);
	}
	for (guint i = 0; i < parts->len; i++) {
		g_autofree char *sep = g_strdup_printf ("\n--%s\n", b);

		emit_new (out, sep, t->crlf);
		emit_new (out, parts->pdata[i], t->crlf);
	}
	emit_new (out, close, t->crlf);
}

/* The message of @row as chunks */
GArray *
mp_merge_render_chunks (MpMergeTemplate *t, const MpMergeData *data, guint row,
			GError **error)
{
	g_autoptr (GArray) out = chunks_new ();
	g_autoptr (GArray) body = chunks_new ();
	g_autoptr (GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
	g_autofree char *msgid = mp_merge_message_id (t, data, row);
	gboolean wrap;

	if (!render_attachments (t, data, row, parts, error))
		return NULL;
	wrap = parts->len > 0 && !t->top_mixed;
	if (t->single) {
		g_autofree char *leaf =
			leaf_render (t, t->leaves->pdata[0], data, row, error);

		if (leaf == NULL)
			return NULL;
		emit_new (body, leaf, t->crlf);
	} else {
		/* the template's own Content-* fields go with its body
		 * when it is wrapped */
		for (guint i = 0; wrap && i < t->fields->len; i++) {
			Field *f = &g_array_index (t->fields, Field, i);

			/* the field's own bytes: f->bytes is a slice of
			 * the header block, not a string */
			if (field_is_content (f)) {
				Chunk c = { g_bytes_new (f->bytes, f->len),
					    FALSE };

				g_array_append_val (body, c);
			}
		}
		if (!render_body (t, data, row, wrap ? NULL : parts, body,
				  error))
			return NULL;
	}
	if (!render_fields (t, data, row, t->single || wrap, msgid, out, error))
		return NULL;
	if (!t->has_mime_version && (t->single || wrap))
		emit_new (out, "MIME-Version: 1.0\n", t->crlf);
	if (wrap) {
		wrap_mixed (t, msgid, body, parts, out);
	} else {
		for (guint i = 0; i < body->len; i++) {
			Chunk c = g_array_index (body, Chunk, i);

			c.bytes = g_bytes_ref (c.bytes);
			g_array_append_val (out, c);
		}
	}
	return g_steal_pointer (&out);
}

GByteArray *
mp_merge_render (MpMergeTemplate *t, const MpMergeData *data, guint row,
		 GError **error)
{
	g_autoptr (GArray) chunks =
		mp_merge_render_chunks (t, data, row, error);
	GByteArray *out;

	if (chunks == NULL)
		return NULL;
	out = g_byte_array_new ();
	for (guint i = 0; i < chunks->len; i++) {
		gsize len;
		const guint8 *d = g_bytes_get_data (
			g_array_index (chunks, Chunk, i).bytes, &len);

		g_byte_array_append (out, d, (guint) len);
	}
	return out;
}
