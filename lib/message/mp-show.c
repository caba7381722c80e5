/* mp-show: reading a message that arrived (mime-show, mime-extract).
 * Here the walk that lists its parts as IMAP numbers them, their headers,
 * the part a person reads and the output (the tree, JSON); decoding a
 * part's content and the uuencoded blocks of a text in
 * mp-show-decode.c, text for a terminal in mp-show-text.c
 * (mp-show-private.h is what they share). */
#include "mp-show.h"
#include "mp-show-private.h"
#include "mp-address.h"
#include "mp-error.h"
#include "mp-field.h"
#include "mp-headers.h"
#include "mp-rfc2047.h"

#include <json-glib/json-glib.h>
#include <string.h>

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
			g_ptr_array_new_with_free_func (mp_show_uu_block_free);
	if (!mp_show_decode_object (p->object, p->source, &d, p->section,
				    error)) {
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
	if (mp_show_is_container (obj)) {
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

	if (mp_show_is_container (body))
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
