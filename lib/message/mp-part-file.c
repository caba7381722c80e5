/* mp-part-file: parts from files (mime-attach, mime-inline): the media
 * type detected, text that carries its charset, the file name in
 * Content-Type and Content-Disposition (RFC 2231), the leaf's header
 * block. */
#include "mp-part-private.h"
#include "mp-text-private.h"
#include "mp-error.h"
#include "mp-field.h"

#include <gio/gio.h>
#include <string.h>

/* ---- parts from files ------------------------------------------------ */

#define SNIFF_SIZE 4096

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

gboolean
mp_part_scan_stream (GMimeStream *stream, Scan *scan, const char *what,
		     GError **error)
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

static char *
display_name (MpInput *in)
{
	const char *path = mp_input_get_name (in);
	g_autofree char *base = g_path_get_basename (path);
	char *utf8 = g_filename_to_utf8 (base, -1, NULL, NULL, NULL);

	return utf8 ? utf8 : g_filename_display_name (base);
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
	g_autoptr (MpLeaf) leaf = mp_part_leaf_new ();
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
	    !mp_part_scan_stream (stream, &scan, what, error))
		return NULL;
	if (is_message) {
		if (!mp_part_leaf_file_message (leaf, in, stream, &scan, error))
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
