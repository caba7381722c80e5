#include "mp-merge.h"

#include "mp-address.h"
#include "mp-date.h"
#include "mp-error.h"
#include "mp-field.h"
#include "mp-headers.h"
#include "mp-part.h"
#include "mp-placeholder.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A template string compiled: literal text and placeholders. */
typedef enum {
	CTX_TEXT,
	CTX_HTML,
	CTX_HEADER,
	CTX_ADDRESS,
	CTX_URL
} Context;

typedef struct {
	char *text;        /* literal, or NULL for a placeholder */
	int column;        /* the placeholder's column */
	gboolean raw;      /* {{{column}}}: no escaping */
	gboolean in_angle; /* CTX_ADDRESS: between < and > */
} Piece;

typedef struct {
	GArray *pieces; /* Piece */
	Context ctx;
	char *where; /* "Subject", "the text/html part", for errors */
} Pattern;

/* A field of the template's header block. */
typedef struct {
	char *name;
	const char *bytes; /* as written, borrowed from the MpHeaders */
	gsize len;
	Pattern *value; /* NULL: copied as written */
	int column;     /* a To/Cc/Bcc column that replaces it, or -1 */
} Field;

/* A text part whose body holds placeholders, made anew per message. */
typedef struct {
	GMimePart *part;  /* in the template's tree */
	gsize start, end; /* its bytes: first header to end of content */
	Pattern *body;
	GPtrArray *boundaries; /* of every enclosing multipart (borrowed) */
} Leaf;

struct _MpMergeTemplate {
	char *name;
	GBytes *bytes;
	const char *data;
	gsize len;
	gboolean crlf;
	MpHeaders *headers;
	GArray *fields;    /* Field */
	gsize body_start;  /* the blank line after the header block */
	GPtrArray *leaves; /* Leaf *, in order of their position */
	gboolean single;   /* the message is one text part: its Content-*
			    * fields are made with the body */
	GMimeParser *parser;
	GMimeMessage *message;
	GMimeStream *stream;
	gboolean has_date, has_msgid, has_mime_version;
	int recipient_columns[3]; /* To, Cc, Bcc columns or -1 */
	gboolean recipient_seen[3];
	Pattern *unsubscribe;
	GArray *attach_columns; /* int */
	char *attach_dir;
	char *date; /* formatted, for messages without a Date */
	char *seed;
	char hash[65]; /* of the template's bytes */
	gboolean top_mixed;
	char *top_boundary;
	gsize close_at;        /* the top multipart's closing delimiter */
	GHashTable *from_free; /* template slice -> 1 holds "From ", 2 not */
};

static const char *const recipient_names[3] = { "To", "Cc", "Bcc" };

static gsize closing_delimiter (const guint8 *data, gsize len,
				const char *boundary, gsize from);

static void
pattern_free (Pattern *p)
{
	if (p == NULL)
		return;
	for (guint i = 0; i < p->pieces->len; i++)
		g_free (g_array_index (p->pieces, Piece, i).text);
	g_array_unref (p->pieces);
	g_free (p->where);
	g_free (p);
}

static void
leaf_free (Leaf *l)
{
	g_object_unref (l->part);
	pattern_free (l->body);
	g_ptr_array_unref (l->boundaries);
	g_free (l);
}

static void
field_clear (gpointer p)
{
	Field *f = p;

	g_free (f->name);
	pattern_free (f->value);
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
	pattern_free (t->unsubscribe);
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

/* Compiles @s: {{name}} and {{{name}}} (blanks around the name allowed).
 * Returns NULL without error when @s holds no placeholder. */
static Pattern *
pattern_compile (const char *s, Context ctx, const char *where,
		 const MpMergeData *data, const char *tmpl, GError **error)
{
	g_autofree char *what = g_strdup_printf ("%s: %s", tmpl, where);
	g_autoptr (GArray) phs = mp_placeholder_scan (s, what, error);
	Pattern *p;
	gsize pos = 0;
	int angle = 0;

	if (phs == NULL || phs->len == 0)
		return NULL;
	p = g_new0 (Pattern, 1);
	p->pieces = g_array_new (FALSE, TRUE, sizeof (Piece));
	p->ctx = ctx;
	p->where = g_strdup (where);
	for (guint i = 0; i <= phs->len; i++) {
		MpPlaceholder *ph =
			i < phs->len ? &g_array_index (phs, MpPlaceholder, i) :
				       NULL;
		gsize end = ph ? ph->start : strlen (s);
		Piece lit = { NULL, -1, FALSE, FALSE };
		Piece pc = { NULL, -1, FALSE, FALSE };

		if (end > pos) {
			lit.text = g_strndup (s + pos, end - pos);
			for (const char *c = s + pos; c < s + end; c++)
				angle += *c == '<' ? 1 : *c == '>' ? -1 : 0;
			g_array_append_val (p->pieces, lit);
		}
		if (ph == NULL)
			break;
		pc.column = mp_merge_data_find_column (data, ph->name);
		if (pc.column < 0) {
			if (data->json) /* JSON lines: a key no row has */
				g_set_error (error, MP_ERROR, MP_ERROR_DATA,
					     "%s: {{%s}}: no line of %s has "
					     "the key %s",
					     what, ph->name, data->name,
					     ph->name);
			else
				g_set_error (error, MP_ERROR, MP_ERROR_DATA,
					     "%s: {{%s}}: %s has no column %s",
					     what, ph->name, data->name,
					     ph->name);
			pattern_free (p);
			return NULL;
		}
		pc.raw = ph->raw && ctx == CTX_HTML;
		pc.in_angle = angle > 0;
		g_array_append_val (p->pieces, pc);
		pos = ph->end;
	}
	return p;
}

/* RFC 5322 3.2.3 specials: a display name holding them must be quoted */
static gboolean
needs_quoting (const char *v)
{
	return strpbrk (v, "()<>[]:;@\\,.\"") != NULL;
}

/* A bare addr-spec: quoting it would break it */
static gboolean
looks_like_addr_spec (const char *v)
{
	const char *at = strchr (v, '@');

	return at != NULL && at != v && at[1] != '\0' &&
	       strpbrk (v, " \t,;<>()\"") == NULL;
}

/* The row's value for @column, or NULL with @error naming row and column */
static const char *
row_value (const MpMergeData *data, guint row, int column, GError **error)
{
	GPtrArray *r = data->rows->pdata[row];
	const char *v = r->pdata[column];

	if (v == NULL)
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: line %u: no key %s", data->name,
			     g_array_index (data->row_numbers, guint, row),
			     (char *) data->columns->pdata[column]);
	return v;
}

static void row_error (GError **error, const MpMergeData *data, guint row,
		       int column, const char *fmt, ...) G_GNUC_PRINTF (5, 6);

/* Sets @error (@code) to "DATA: row N, column C: @what". */
static void
set_row_error (GError **error, int code, const MpMergeData *data, guint row,
	       int column, const char *what)
{
	if (column >= 0)
		g_set_error (error, MP_ERROR, code, "%s: %s %u, %s %s: %s",
			     data->name, data->json ? "line" : "row",
			     g_array_index (data->row_numbers, guint, row),
			     data->json ? "key" : "column",
			     (char *) data->columns->pdata[column], what);
	else
		g_set_error (error, MP_ERROR, code, "%s: %s %u: %s", data->name,
			     data->json ? "line" : "row",
			     g_array_index (data->row_numbers, guint, row),
			     what);
}

static void
row_error (GError **error, const MpMergeData *data, guint row, int column,
	   const char *fmt, ...)
{
	va_list ap;
	g_autofree char *what = NULL;

	va_start (ap, fmt);
	what = g_strdup_vprintf (fmt, ap);
	va_end (ap);
	set_row_error (error, MP_ERROR_DATA, data, row, column, what);
}

/* The pattern filled with row @row's values, escaped for its context.
 * *@last_column receives a column used (for errors about the result). */
static char *
pattern_fill (const Pattern *p, const MpMergeData *data, guint row,
	      int *last_column, GError **error)
{
	GString *s = g_string_new (NULL);

	for (guint i = 0; i < p->pieces->len; i++) {
		const Piece *pc = &g_array_index (p->pieces, Piece, i);
		const char *v;

		if (pc->text) {
			g_string_append (s, pc->text);
			continue;
		}
		v = row_value (data, row, pc->column, error);
		if (v == NULL)
			goto fail;
		if (last_column)
			*last_column = pc->column;
		if (p->ctx == CTX_HEADER || p->ctx == CTX_ADDRESS ||
		    p->ctx == CTX_URL) {
			/* RFC 5322 2.2: a value must not end the field */
			if (strpbrk (v, "\r\n") != NULL) {
				row_error (error, data, row, pc->column,
					   "a line break in a value bound for "
					   "%s",
					   p->where);
				goto fail;
			}
		}
		switch (p->ctx) {
		case CTX_HTML:
			if (pc->raw)
				g_string_append (s, v);
			else {
				g_autofree char *e =
					g_markup_escape_text (v, -1);

				g_string_append (s, e);
			}
			break;
		case CTX_ADDRESS:
			if (!pc->in_angle && needs_quoting (v) &&
			    !looks_like_addr_spec (v)) {
				g_string_append_c (s, '"');
				for (const char *c = v; *c; c++) {
					if (*c == '"' || *c == '\\')
						g_string_append_c (s, '\\');
					g_string_append_c (s, *c);
				}
				g_string_append_c (s, '"');
			} else {
				g_string_append (s, v);
			}
			break;
		case CTX_URL: {
			g_autofree char *e =
				g_uri_escape_string (v, NULL, FALSE);

			g_string_append (s, e);
			break;
		}
		default:
			g_string_append (s, v);
		}
	}
	return g_string_free (s, FALSE);
fail:
	g_string_free (s, TRUE);
	return NULL;
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
		p = pattern_compile (text, html ? CTX_HTML : CTX_TEXT,
				     html ? "the text/html part" :
					    "the text/plain part",
				     data, t->name, &err);
		if (err) {
			g_propagate_error (error, err);
			return FALSE;
		}
		if (p == NULL)
			return TRUE;
		if (s == NULL || g_mime_header_list_get_count (hl) == 0) {
			pattern_free (p);
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: a text part without header fields",
				     t->name);
			return FALSE;
		}
		l = g_new0 (Leaf, 1);
		l->part = g_object_ref (GMIME_PART (o));
		l->start = (gsize) g_mime_header_get_offset (
			g_mime_header_list_get_header_at (hl, 0));
		l->end = (gsize) s->bound_end;
		l->body = p;
		l->boundaries = g_ptr_array_copy (bounds, NULL, NULL);
		g_ptr_array_add (t->leaves, l);
	}
	return TRUE;
}

static void
hash_hex (const void *data, gsize len, char out[65])
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
			if (g_ascii_strcasecmp (name, recipient_names[r]) ==
				    0 &&
			    t->recipient_columns[r] >= 0) {
				f.column = t->recipient_columns[r];
				t->recipient_seen[r] = TRUE;
			}
		value = mp_headers_get_value (t->headers, i);
		if (f.column < 0 && value) {
			f.value = pattern_compile (value,
						   mp_field_is_address (name) ?
							   CTX_ADDRESS :
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
		t->close_at =
			closing_delimiter ((const guint8 *) t->data, t->len,
					   t->top_boundary, t->body_start);
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

		t->unsubscribe = pattern_compile (opts->unsubscribe, CTX_URL,
						  "--unsubscribe", data,
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
	t->from_free = g_hash_table_new (NULL, NULL);
	hash_hex (t->data, t->len, t->hash);
	t->seed = g_strdup (opts->seed);
	t->attach_dir = g_strdup (opts->attach_dir ? opts->attach_dir : ".");
	t->date = mp_date_format (d);
	for (int r = 0; r < 3; r++) {
		t->recipient_columns[r] = -1;
		for (guint c = 0; c < data->columns->len; c++)
			if (g_ascii_strcasecmp (data->columns->pdata[c],
						recipient_names[r]) == 0)
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
				v = pattern_fill (f->value, data, row, NULL,
						  NULL);
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

/* A message as a list of byte runs: new bytes, and slices of the
 * template (not copied: a 1 MB attachment costs nothing per message). */
typedef struct {
	GBytes *bytes;
	gboolean raw; /* a slice of the template */
} Chunk;

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
	g_autofree char *text = pattern_fill (l->body, data, row, NULL, error);
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
		row_error (error, data, row, column,
			   "%s: attachments must be inside %s (no absolute "
			   "path, no ..)",
			   path, t->attach_dir);
		return FALSE;
	}
	for (const char *c = base; *c; c++)
		if ((guchar) *c < 0x20 || *c == 0x7f) {
			row_error (error, data, row, column,
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
		set_row_error (error, err->code, data, row, column,
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
		row_error (error, data, row, col, "%s", err->message);
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
		const char *v = row_value (data, row, f->column, error);

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
	filled = pattern_fill (f->value, data, row, &col, error);
	return filled &&
	       emit_field (t, data, row, col, f->name, filled, out, error);
}

/* List-Unsubscribe and List-Unsubscribe-Post (RFC 8058) */
static gboolean
render_unsubscribe (MpMergeTemplate *t, const MpMergeData *data, guint row,
		    GArray *out, GError **error)
{
	g_autofree char *url =
		pattern_fill (t->unsubscribe, data, row, NULL, error);
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
		v = row_value (data, row, c, error);
		if (v == NULL ||
		    (*v && !emit_field (t, data, row, c, recipient_names[r], v,
					out, error)))
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
static gsize
closing_delimiter (const guint8 *data, gsize len, const char *boundary,
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

		hash_hex (seed, strlen (seed), hex);
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
		const char *v = row_value (data, row, c, error);
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
static GArray *
render_chunks (MpMergeTemplate *t, const MpMergeData *data, guint row,
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
	g_autoptr (GArray) chunks = render_chunks (t, data, row, error);
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

static const char mbox_from_line[] =
	"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n";

/* mboxrd (RFC 4155, mboxrd variant): ^>*From  gains one more '>' */
static void
quote_from (GByteArray *out, const guint8 *p, gsize len)
{
	const guint8 *end = p + len;

	while (p < end) {
		const guint8 *nl = memchr (p, '\n', (gsize) (end - p));
		const guint8 *stop = nl ? nl + 1 : end;
		const guint8 *q = p;

		while (q < stop && *q == '>')
			q++;
		if (stop - q >= 5 && memcmp (q, "From ", 5) == 0)
			g_byte_array_append (out, (const guint8 *) ">", 1);
		g_byte_array_append (out, p, (guint) (stop - p));
		p = stop;
	}
}

void
mp_merge_append_mboxrd (GByteArray *out, const GByteArray *msg)
{
	g_byte_array_append (out, (const guint8 *) mbox_from_line,
			     sizeof mbox_from_line - 1);
	quote_from (out, msg->data, msg->len);
	if (msg->len > 0 && msg->data[msg->len - 1] != '\n')
		g_byte_array_append (out, (const guint8 *) "\n", 1);
	g_byte_array_append (out, (const guint8 *) "\n", 1);
}

static gboolean
write_chunks (GArray *chunks, MpOutput *out, GError **error)
{
	for (guint i = 0; i < chunks->len; i++) {
		gsize len;
		const guint8 *d = g_bytes_get_data (
			g_array_index (chunks, Chunk, i).bytes, &len);

		if (len > 0 && !mp_output_write (out, d, len, error))
			return FALSE;
	}
	return TRUE;
}

/* Writes the chunks as one mboxrd message.  A chunk starts a line or
 * with a line break (chunks_hold_delimiter()), so each is quoted on its
 * own; a template slice without "From " anywhere is written as it is,
 * and that answer is kept per slice. */
static gboolean
write_mboxrd (MpMergeTemplate *t, GArray *chunks, MpOutput *out, GError **error)
{
	gboolean last_nl = TRUE;

	if (!mp_output_write (out, mbox_from_line, sizeof mbox_from_line - 1,
			      error))
		return FALSE;
	for (guint i = 0; i < chunks->len; i++) {
		Chunk *c = &g_array_index (chunks, Chunk, i);
		gsize len;
		const guint8 *d = g_bytes_get_data (c->bytes, &len);
		gboolean plain;

		if (len == 0)
			continue;
		if (c->raw) {
			gpointer key = GSIZE_TO_POINTER (
				(gsize) (d - (const guint8 *) t->data) ^
				(len << 32));
			gpointer v = g_hash_table_lookup (t->from_free, key);

			if (v == NULL) {
				v = GINT_TO_POINTER (
					memmem (d, len, "From ", 5) ? 1 : 2);
				g_hash_table_insert (t->from_free, key, v);
			}
			plain = GPOINTER_TO_INT (v) == 2;
		} else {
			plain = memmem (d, len, "From ", 5) == NULL;
		}
		if (plain) {
			if (!mp_output_write (out, d, len, error))
				return FALSE;
		} else {
			g_autoptr (GByteArray) q =
				g_byte_array_sized_new ((guint) len + 64);

			quote_from (q, d, len);
			if (!mp_output_write (out, q->data, q->len, error))
				return FALSE;
		}
		last_nl = d[len - 1] == '\n';
	}
	return mp_output_write (out, last_nl ? "\n" : "\n\n", last_nl ? 1 : 2,
				error);
}

static GBytes *
read_input (const char *path, GError **error)
{
	g_autoptr (MpInput) in = strcmp (path, "-") == 0 ?
					 mp_input_open_fd (0, "stdin", error) :
					 mp_input_open (path, error);

	if (in == NULL)
		return NULL;
	return mp_input_read_all (in, error);
}

static char *
eml_name (guint index, guint total)
{
	guint width = 4;

	for (guint n = total; n >= 10000; n /= 10)
		width++;
	return g_strdup_printf ("%0*u.eml", (int) width, index + 1);
}

/* "row 2: <id> alice@example.org: Subject" */
static char *
dry_run_line (const MpMergeData *data, guint row, const GByteArray *msg)
{
	g_autoptr (MpHeaders) h = NULL;
	const guint8 *end = msg->data;
	GString *s = g_string_new (NULL);
	g_autofree char *to = NULL;
	g_autofree char *subject = NULL;
	g_autofree char *msgid = NULL;

	/* the header block ends at the first empty line */
	for (const guint8 *p = msg->data; p < msg->data + msg->len;) {
		const guint8 *nl =
			memchr (p, '\n', msg->len - (gsize) (p - msg->data));

		if (nl == NULL || nl == p || (nl == p + 1 && *p == '\r')) {
			end = p;
			break;
		}
		p = nl + 1;
	}
	h = mp_headers_parse ((const char *) msg->data,
			      (gsize) (end - msg->data), NULL);
	for (guint i = 0; h && i < mp_headers_get_n_entries (h); i++) {
		const char *n = mp_headers_get_name (h, i);
		char **slot = NULL;

		if (n == NULL)
			continue;
		if (g_ascii_strcasecmp (n, "To") == 0)
			slot = &to;
		else if (g_ascii_strcasecmp (n, "Subject") == 0)
			slot = &subject;
		else if (g_ascii_strcasecmp (n, "Message-ID") == 0)
			slot = &msgid;
		if (slot && *slot == NULL)
			*slot = mp_headers_get_value (h, i);
	}
	g_string_printf (s, "%s %u: %s to %s: %s\n",
			 data->json ? "line" : "row",
			 g_array_index (data->row_numbers, guint, row),
			 msgid ? msgid : "", to ? to : "(no To)",
			 subject ? subject : "");
	return g_string_free (s, FALSE);
}

/* Every row made once and checked before anything is written */
static gboolean
check_rows (const MpMergeRequest *req, MpMergeTemplate *t,
	    const MpMergeData *data, guint n, GError **error)
{
	gboolean files = req->dir && !req->dry_run;

	for (guint i = 0; i < n; i++) {
		g_autoptr (GArray) msg = render_chunks (t, data, i, error);
		g_autofree char *name = NULL;
		g_autofree char *path = NULL;

		if (msg == NULL)
			return FALSE;
		if (!files)
			continue;
		name = eml_name (i, n);
		path = g_build_filename (req->dir, name, NULL);
		if (g_file_test (path,
				 G_FILE_TEST_EXISTS | G_FILE_TEST_IS_SYMLINK)) {
			g_set_error (error, MP_ERROR, MP_ERROR_CANT_CREATE,
				     "%s: exists; mime-merge never writes "
				     "over a file",
				     path);
			return FALSE;
		}
	}
	if (files && !g_file_test (req->dir, G_FILE_TEST_IS_DIR)) {
		g_set_error (error, MP_ERROR, MP_ERROR_CANT_CREATE,
			     "%s: not a directory", req->dir);
		return FALSE;
	}
	return TRUE;
}

/* Writes message @i as --dry-run, -C or the mbox stream asks */
static gboolean
write_row (const MpMergeRequest *req, MpMergeTemplate *t,
	   const MpMergeData *data, guint i, guint n, MpOutput *out,
	   GError **error)
{
	g_autoptr (GArray) msg = NULL;

	if (req->dry_run) {
		g_autoptr (GByteArray) whole =
			mp_merge_render (t, data, i, error);
		g_autofree char *line =
			whole ? dry_run_line (data, i, whole) : NULL;

		return line &&
		       mp_output_write (out, line, strlen (line), error);
	}
	msg = render_chunks (t, data, i, error);
	if (msg == NULL)
		return FALSE;
	if (req->dir) {
		g_autofree char *name = eml_name (i, n);
		g_autofree char *path = g_build_filename (req->dir, name, NULL);
		/* created beside it and renamed: never half-written */
		g_autoptr (MpOutput) f = mp_output_open (path, FALSE, error);

		return f && write_chunks (msg, f, error) &&
		       mp_output_close (f, error);
	}
	return write_mboxrd (t, msg, out, error);
}

gboolean
mp_merge_run (const MpMergeRequest *req, GError **error)
{
	g_autoptr (GBytes) dbytes = read_input (req->data_path, error);
	g_autoptr (GBytes) tbytes = NULL;
	g_autoptr (MpMergeData) data = NULL;
	g_autoptr (MpMergeTemplate) t = NULL;
	g_autoptr (MpOutput) out = NULL;
	const char *dname =
		strcmp (req->data_path, "-") == 0 ? "stdin" : req->data_path;
	gboolean json = req->json || g_str_has_suffix (dname, ".jsonl") ||
			g_str_has_suffix (dname, ".ndjson");
	guint n;

	if (dbytes == NULL)
		return FALSE;
	data = json ? mp_merge_data_read_jsonl (dbytes, dname, error) :
		      mp_merge_data_read_csv (dbytes, dname, req->encoding,
					      error);
	if (data == NULL)
		return FALSE;
	tbytes = read_input (req->template_path, error);
	if (tbytes == NULL)
		return FALSE;
	t = mp_merge_template_new (tbytes, req->template_path, data,
				   &req->options, error);
	if (t == NULL)
		return FALSE;
	n = data->rows->len;
	if (req->limit > 0 && req->limit < n)
		n = req->limit;
	if (!check_rows (req, t, data, n, error))
		return FALSE;
	if (req->dir == NULL || req->dry_run) {
		out = mp_output_open (req->output, FALSE, error);
		if (out == NULL)
			return FALSE;
	}
	for (guint i = 0; i < n; i++)
		if (!write_row (req, t, data, i, n, out, error))
			return FALSE;
	return out == NULL || mp_output_close (out, error);
}
