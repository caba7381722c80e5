/* mp-merge: a mail merge (mp-merge.h).  Here the template read and
 * compiled (its text parts and header fields, --unsubscribe and
 * --attach-column) and the Message-IDs; the placeholders compiled and
 * filled in mp-merge-pattern.c, a row's message made in
 * mp-merge-render.c, a run written in mp-merge-write.c
 * (mp-merge-private.h is what they share). */
#include "mp-merge.h"
#include "mp-merge-private.h"

#include "mp-address.h"
#include "mp-date.h"
#include "mp-error.h"
#include "mp-field.h"
#include "mp-headers.h"

#include <string.h>

const char *const mp_merge_recipient_names[3] = { "To", "Cc", "Bcc" };

static void
leaf_free (Leaf *l)
{
	g_object_unref (l->part);
	mp_merge_pattern_free (l->body);
	g_ptr_array_unref (l->boundaries);
	g_free (l);
}

static void
field_clear (gpointer p)
{
	Field *f = p;

	g_free (f->name);
	mp_merge_pattern_free (f->value);
}

void
mp_merge_template_free (MpMergeTemplate *t)
{
	if (t == NULL)
		return;
	g_free (t->name);
	g_bytes_unref (t->bytes);
	if (t->headers)
		mp_headers_free (t->headers);
	if (t->fields)
		g_array_unref (t->fields);
	if (t->leaves)
		g_ptr_array_unref (t->leaves);
	g_clear_object (&t->message);
	g_clear_object (&t->parser);
	g_clear_object (&t->stream);
	mp_merge_pattern_free (t->unsubscribe);
	if (t->attach_columns)
		g_array_unref (t->attach_columns);
	g_free (t->attach_dir);
	g_free (t->date);
	g_free (t->seed);
	g_free (t->top_boundary);
	if (t->from_free)
		g_hash_table_unref (t->from_free);
	g_free (t);
}

static gboolean
is_text_leaf (GMimeObject *o)
{
	GMimeContentType *ct = g_mime_object_get_content_type (o);
	const char *disp = g_mime_object_get_disposition (o);

	if (!GMIME_IS_TEXT_PART (o))
		return FALSE;
	if (disp && g_ascii_strcasecmp (disp, "attachment") == 0)
		return FALSE;
	return g_mime_content_type_is_type (ct, "text", "plain") ||
	       g_mime_content_type_is_type (ct, "text", "html");
}

/* Finds the text parts with placeholders, depth first, recording the
 * boundaries that enclose each. */
static gboolean
walk (MpMergeTemplate *t, GMimeObject *o, GPtrArray *bounds,
      const MpMergeData *data, GError **error)
{
	if (GMIME_IS_MULTIPART (o)) {
		GMimeMultipart *mp = GMIME_MULTIPART (o);
		const char *b = g_mime_multipart_get_boundary (mp);

		g_ptr_array_add (bounds, (gpointer) (b ? b : ""));
		for (int i = 0; i < g_mime_multipart_get_count (mp); i++)
			if (!walk (t, g_mime_multipart_get_part (mp, i), bounds,
				   data, error))
				return FALSE;
		g_ptr_array_set_size (bounds, bounds->len - 1);
		return TRUE;
	}
	if (is_text_leaf (o)) {
		GError *err = NULL;
		GMimeTextPart *tp = GMIME_TEXT_PART (o);
		GMimeHeaderList *hl = g_mime_object_get_header_list (o);
		GMimeDataWrapper *w = g_mime_part_get_content (GMIME_PART (o));
		GMimeStream *s = w ? g_mime_data_wrapper_get_stream (w) : NULL;
		g_autofree char *text = g_mime_text_part_get_text (tp);
		gboolean html = g_mime_content_type_is_type (
			g_mime_object_get_content_type (o), "text", "html");
		Pattern *p;
		Leaf *l;

		if (text == NULL || strstr (text, "{{") == NULL)
			return TRUE;
		if (!g_utf8_validate (text, -1, NULL)) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: a text part with placeholders is not "
				     "valid in its charset",
				     t->name);
			return FALSE;
		}
		p = mp_merge_pattern_compile (text, html ? CTX_HTML : CTX_TEXT,
					      html ? "the text/html part" :
						     "the text/plain part",
					      data, t->name, &err);
		if (err) {
			g_propagate_error (error, err);
			return FALSE;
		}
		if (p == NULL)
			return TRUE;
		/* a part of a multipart is replaced from its first header
		 * field; a message that is one text part is made anew whole
		 * (t->single), so it may have no Content-* field at all: a
		 * hand-written template, text/plain by RFC 2045 5.2 */
		if (s == NULL || (g_mime_header_list_get_count (hl) == 0 &&
				  o != t->message->mime_part)) {
			mp_merge_pattern_free (p);
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: a text part without header fields",
				     t->name);
			return FALSE;
		}
		l = g_new0 (Leaf, 1);
		l->part = g_object_ref (GMIME_PART (o));
		l->start = g_mime_header_list_get_count (hl) == 0 ?
				   t->body_start :
				   (gsize) g_mime_header_get_offset (
					   g_mime_header_list_get_header_at (
						   hl, 0));
		l->end = (gsize) s->bound_end;
		l->body = p;
		l->boundaries = g_ptr_array_copy (bounds, NULL, NULL);
		g_ptr_array_add (t->leaves, l);
	}
	return TRUE;
}

void
mp_merge_hash_hex (const void *data, gsize len, char out[65])
{
	g_autoptr (GChecksum) c = g_checksum_new (G_CHECKSUM_SHA256);

	g_checksum_update (c, data, len);
	g_strlcpy (out, g_checksum_get_string (c), 65);
}

static gboolean
compile_fields (MpMergeTemplate *t, const MpMergeData *data, GError **error)
{
	guint n = mp_headers_get_n_entries (t->headers);

	t->fields = g_array_new (FALSE, TRUE, sizeof (Field));
	g_array_set_clear_func (t->fields, field_clear);
	for (guint i = 0; i < n; i++) {
		const char *name = mp_headers_get_name (t->headers, i);
		Field f = { NULL, NULL, 0, NULL, -1 };
		g_autofree char *value = NULL;
		GError *err = NULL;

		f.bytes = mp_headers_get_bytes (t->headers, i, &f.len);
		if (name == NULL) /* a From_ line or the like: dropped */
			continue;
		f.name = g_strdup (name);
		if (g_ascii_strcasecmp (name, "Date") == 0)
			t->has_date = TRUE;
		else if (g_ascii_strcasecmp (name, "Message-ID") == 0)
			t->has_msgid = TRUE;
		else if (g_ascii_strcasecmp (name, "MIME-Version") == 0)
			t->has_mime_version = TRUE;
		for (int r = 0; r < 3; r++)
			if (g_ascii_strcasecmp (
				    name, mp_merge_recipient_names[r]) == 0 &&
			    t->recipient_columns[r] >= 0) {
				f.column = t->recipient_columns[r];
				t->recipient_seen[r] = TRUE;
			}
		value = mp_headers_get_value (t->headers, i);
		if (f.column < 0 && value) {
			f.value = mp_merge_pattern_compile (
				value,
				mp_field_is_address (name) ? CTX_ADDRESS :
							     CTX_HEADER,
				name, data, t->name, &err);
			if (err) {
				g_propagate_error (error, err);
				g_free (f.name);
				return FALSE;
			}
		}
		g_array_append_val (t->fields, f);
	}
	return TRUE;
}

/* The structure, with offsets into the template's bytes */
static gboolean
parse_structure (MpMergeTemplate *t, const MpMergeData *data, GError **error)
{
	g_autoptr (GPtrArray) bounds = g_ptr_array_new ();
	GMimeObject *body;
	gsize hend;

	t->stream = g_mime_stream_mem_new_with_buffer (t->data, t->len);
	t->parser = g_mime_parser_new_with_stream (t->stream);
	g_mime_parser_set_persist_stream (t->parser, TRUE);
	g_mime_parser_set_format (t->parser, GMIME_FORMAT_MESSAGE);
	t->message = g_mime_parser_construct_message (t->parser, NULL);
	if (t->message == NULL || t->message->mime_part == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: not a message", t->name);
		return FALSE;
	}
	hend = (gsize) g_mime_parser_get_headers_end (t->parser);
	if (hend > t->len)
		hend = t->len;
	t->headers = mp_headers_parse (t->data, hend, error);
	if (t->headers == NULL)
		return FALSE;
	t->crlf = strcmp (mp_headers_get_eol (t->headers), "\r\n") == 0;
	t->body_start = hend;

	body = t->message->mime_part;
	if (!walk (t, body, bounds, data, error))
		return FALSE;
	t->single = GMIME_IS_PART (body) && t->leaves->len == 1;
	if (GMIME_IS_MULTIPART (body)) {
		const char *b =
			g_mime_multipart_get_boundary (GMIME_MULTIPART (body));

		t->top_mixed = g_mime_content_type_is_type (
			g_mime_object_get_content_type (body), "multipart",
			"mixed");
		t->top_boundary = g_strdup (b ? b : "");
		t->close_at = mp_merge_closing_delimiter (
			(const guint8 *) t->data, t->len, t->top_boundary,
			t->body_start);
	}
	return TRUE;
}

/* --unsubscribe and --attach-column, checked against the columns */
static gboolean
compile_options (MpMergeTemplate *t, const MpMergeData *data,
		 const MpMergeOptions *opts, GError **error)
{
	if (opts->unsubscribe) {
		GError *err = NULL;

		t->unsubscribe = mp_merge_pattern_compile (
			opts->unsubscribe, CTX_URL, "--unsubscribe", data,
			"--unsubscribe", &err);
		if (err) {
			g_propagate_error (error, err);
			return FALSE;
		}
		if (t->unsubscribe == NULL) {
			/* one URL for every message */
			Piece lit = { g_strdup (opts->unsubscribe), -1, FALSE,
				      FALSE };

			t->unsubscribe = g_new0 (Pattern, 1);
			t->unsubscribe->pieces =
				g_array_new (FALSE, TRUE, sizeof (Piece));
			t->unsubscribe->ctx = CTX_URL;
			t->unsubscribe->where = g_strdup ("--unsubscribe");
			g_array_append_val (t->unsubscribe->pieces, lit);
		}
	}
	t->attach_columns = g_array_new (FALSE, FALSE, sizeof (int));
	for (guint i = 0; opts->attach_columns && opts->attach_columns[i];
	     i++) {
		int c = mp_merge_data_find_column (data,
						   opts->attach_columns[i]);

		if (c < 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "--attach-column %s: %s has no such "
				     "column",
				     opts->attach_columns[i], data->name);
			return FALSE;
		}
		g_array_append_val (t->attach_columns, c);
	}
	return TRUE;
}

static guint
slice_hash (gconstpointer p)
{
	const MpMergeSlice *k = p;

	return (guint) (k->offset * 31 + k->len);
}

static gboolean
slice_equal (gconstpointer a, gconstpointer b)
{
	const MpMergeSlice *x = a, *y = b;

	return x->offset == y->offset && x->len == y->len;
}

MpMergeTemplate *
mp_merge_template_new (GBytes *bytes, const char *name, const MpMergeData *data,
		       const MpMergeOptions *opts, GError **error)
{
	g_autoptr (MpMergeTemplate) t = g_new0 (MpMergeTemplate, 1);
	g_autoptr (GDateTime) d =
		opts->date ? g_date_time_ref (opts->date) : mp_date_default ();

	t->name = g_strdup (name);
	t->bytes = g_bytes_ref (bytes);
	t->data = g_bytes_get_data (bytes, &t->len);
	t->leaves = g_ptr_array_new_with_free_func ((GDestroyNotify) leaf_free);
	t->from_free =
		g_hash_table_new_full (slice_hash, slice_equal, g_free, NULL);
	mp_merge_hash_hex (t->data, t->len, t->hash);
	t->seed = g_strdup (opts->seed);
	t->attach_dir = g_strdup (opts->attach_dir ? opts->attach_dir : ".");
	t->date = mp_date_format (d);
	for (int r = 0; r < 3; r++) {
		t->recipient_columns[r] = -1;
		for (guint c = 0; c < data->columns->len; c++)
			if (g_ascii_strcasecmp (data->columns->pdata[c],
						mp_merge_recipient_names[r]) ==
			    0)
				t->recipient_columns[r] = (int) c;
	}
	if (!parse_structure (t, data, error) ||
	    !compile_fields (t, data, error) ||
	    !compile_options (t, data, opts, error))
		return NULL;
	return g_steal_pointer (&t);
}

char *
mp_merge_message_id (MpMergeTemplate *t, const MpMergeData *data, guint row)
{
	g_autoptr (GChecksum) c = g_checksum_new (G_CHECKSUM_SHA256);
	GPtrArray *r = data->rows->pdata[row];
	guint number = g_array_index (data->row_numbers, guint, row);
	g_autofree char *num = g_strdup_printf ("%u", number);
	g_autofree char *dom = NULL;
	char hex[33];

	if (t->seed) {
		g_checksum_update (c, (const guchar *) t->seed, -1);
	} else {
		g_checksum_update (c, (const guchar *) t->hash, 64);
		for (guint i = 0; i < r->len; i++) {
			const char *v = r->pdata[i];

			/* a separator no value holds keeps values apart */
			g_checksum_update (c, (const guchar *) "\0", 1);
			if (v)
				g_checksum_update (c, (const guchar *) v, -1);
		}
	}
	g_checksum_update (c, (const guchar *) "\0", 1);
	g_checksum_update (c, (const guchar *) num, -1);
	g_strlcpy (hex, g_checksum_get_string (c), sizeof hex);

	/* the domain of the template's From (ASCII, A-label) */
	for (guint i = 0; i < t->fields->len; i++) {
		Field *f = &g_array_index (t->fields, Field, i);

		if (g_ascii_strcasecmp (f->name, "From") == 0) {
			g_autoptr (GPtrArray) specs =
				g_ptr_array_new_with_free_func (g_free);
			g_autofree char *v = NULL;

			if (f->value) {
				v = mp_merge_pattern_fill (f->value, data, row,
							   NULL, NULL);
			} else {
				const char *colon =
					memchr (f->bytes, ':', f->len);

				if (colon)
					v = g_strndup (
						colon + 1,
						f->len - (gsize) (colon + 1 -
								  f->bytes));
			}
			if (v == NULL)
				break;
			if (mp_address_parse_specs (v, specs) > 0)
				dom = mp_address_msgid_domain (specs->pdata[0],
							       NULL);
			break;
		}
	}
	return g_strdup_printf ("%s.merge@%s", hex,
				dom ? dom : "mimepipe.invalid");
}
