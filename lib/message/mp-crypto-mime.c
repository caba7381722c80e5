/* mp-crypto-mime: the MIME side of mp-crypto: a message's entities as byte
 * ranges (no second copy in memory) and the message as a header block and
 * a body, spooled when it comes from a pipe. */
#include "mp-crypto-private.h"
#include "mp-address.h"
#include "mp-error.h"
#include "mp-headers.h"
#include "mp-lines.h"

#include <string.h>
#include <unistd.h>

/* ---- the MIME structure as byte ranges ----------------------------------- */

void
mp_crypto_entity_free (Entity *e)
{
	if (e == NULL)
		return;
	g_clear_object (&e->type);
	g_free (e->cte);
	if (e->kids)
		g_ptr_array_unref (e->kids);
	g_free (e);
}

gboolean
mp_crypto_type_is (Entity *e, const char *type, const char *subtype)
{
	return g_mime_content_type_is_type (e->type, type, subtype);
}

gboolean
mp_crypto_field_named (const char *data, gsize len, const char *name)
{
	gsize n = strlen (name);

	return len > n && data[n] == ':' &&
	       g_ascii_strncasecmp (data, name, n) == 0;
}

/* Reads the header block at @start: the unfolded Content-Type and
 * Content-Transfer-Encoding values and where the body starts. */
static gboolean
read_head (GMimeStream *s, gint64 start, gint64 end, char **type, char **cte,
	   gint64 *body, gboolean *crlf, GError **error)
{
	MpLines r;
	MpLine l;
	GString *cur = NULL;
	GString *t = NULL, *c = NULL;
	gboolean first = TRUE;
	GError *err = NULL;

	*body = end;
	mp_lines_init (&r, s, start, end);
	while (mp_lines_next (&r, &l, &err)) {
		if (first && crlf)
			*crlf = l.eol == 2;
		first = FALSE;
		if (l.len == 0) {
			*body = l.start + l.eol;
			break;
		}
		if (l.data[0] == ' ' || l.data[0] == '\t') {
			if (cur && cur->len < CHUNK)
				g_string_append_len (cur, l.data, l.avail);
			continue;
		}
		if (memchr (l.data, ':', l.avail) == NULL) {
			*body = l.start;
			break;
		}
		cur = NULL;
		if (t == NULL &&
		    mp_crypto_field_named (l.data, l.avail, "Content-Type")) {
			t = g_string_new_len (l.data + 13, l.avail - 13);
			cur = t;
		} else if (c == NULL && mp_crypto_field_named (
						l.data, l.avail,
						"Content-Transfer-Encoding")) {
			c = g_string_new_len (l.data + 26, l.avail - 26);
			cur = c;
		}
	}
	mp_lines_clear (&r);
	if (err) {
		g_propagate_error (error, err);
		if (t)
			g_string_free (t, TRUE);
		if (c)
			g_string_free (c, TRUE);
		return FALSE;
	}
	*type = t ? g_strstrip (g_string_free (t, FALSE)) : NULL;
	if (c) {
		char *v = g_strstrip (g_string_free (c, FALSE));

		*cte = g_ascii_strdown (v, -1);
		g_free (v);
	} else {
		*cte = NULL;
	}
	return TRUE;
}

int
mp_crypto_delimiter (const MpLine *l, const char *boundary, gsize blen)
{
	const char *p;
	gsize n;

	if (l->avail < blen + 2 || l->data[0] != '-' || l->data[1] != '-' ||
	    memcmp (l->data + 2, boundary, blen) != 0)
		return 0;
	p = l->data + 2 + blen;
	n = l->avail - 2 - blen;
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n == 0)
		return 1;
	if (n == 2 && p[0] == '-' && p[1] == '-')
		return 2;
	return 0;
}

Entity *
mp_crypto_entity_parse (GMimeStream *s, gint64 start, gint64 end, int depth,
			GError **error)
{
	g_autoptr (Entity) e = g_new0 (Entity, 1);
	g_autofree char *type = NULL;
	const char *boundary;
	MpLines r;
	MpLine l;
	gint64 part = -1;
	guint prev_eol = 0;
	gboolean closed = FALSE;
	GError *err = NULL;

	if (depth > MAX_DEPTH) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: MIME parts nested too deep");
		return NULL;
	}
	e->start = start;
	e->end = end;
	if (!read_head (s, start, end, &type, &e->cte, &e->body, &e->crlf,
			error))
		return NULL;
	e->type = type ? g_mime_content_type_parse (NULL, type) : NULL;
	if (e->type == NULL)
		e->type = g_mime_content_type_new ("text", "plain");
	if (!mp_crypto_type_is (e, "multipart", "*"))
		return g_steal_pointer (&e);
	boundary = g_mime_content_type_get_parameter (e->type, "boundary");
	if (boundary == NULL || *boundary == '\0') {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: a multipart without a boundary");
		return NULL;
	}
	e->kids = g_ptr_array_new_with_free_func (
		(GDestroyNotify) mp_crypto_entity_free);
	mp_lines_init (&r, s, e->body, end);
	while (mp_lines_next (&r, &l, &err)) {
		int d = mp_crypto_delimiter (&l, boundary, strlen (boundary));

		if (d) {
			if (part >= 0) {
				gint64 kend = l.start - prev_eol;
				Entity *k;

				if (kend < part)
					kend = part;
				k = mp_crypto_entity_parse (s, part, kend,
							    depth + 1, &err);
				if (k == NULL)
					break;
				g_ptr_array_add (e->kids, k);
			}
			if (d == 2) {
				closed = TRUE;
				break;
			}
			part = l.start + (gint64) l.len + l.eol;
		}
		prev_eol = l.eol;
	}
	mp_lines_clear (&r);
	if (err) {
		g_propagate_error (error, err);
		return NULL;
	}
	if (!closed) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: message is truncated (a multipart lacks "
			     "its closing delimiter; did an earlier stage "
			     "fail?)");
		return NULL;
	}
	return g_steal_pointer (&e);
}

MpCryptoKind
mp_crypto_kind_of_type (const char *content_type)
{
	g_autoptr (GMimeContentType) ct = NULL;
	const char *st;

	if (content_type == NULL)
		return MP_CRYPTO_PLAIN;
	ct = g_mime_content_type_parse (NULL, content_type);
	if (ct == NULL)
		return MP_CRYPTO_PLAIN;
	if (g_mime_content_type_is_type (ct, "multipart", "signed"))
		return MP_CRYPTO_SIGNED;
	if (g_mime_content_type_is_type (ct, "multipart", "encrypted"))
		return MP_CRYPTO_ENCRYPTED;
	if (g_mime_content_type_is_type (ct, "application", "pkcs7-mime") ||
	    g_mime_content_type_is_type (ct, "application", "x-pkcs7-mime")) {
		st = g_mime_content_type_get_parameter (ct, "smime-type");
		if (st && g_ascii_strcasecmp (st, "signed-data") == 0)
			return MP_CRYPTO_SIGNED;
		return MP_CRYPTO_ENCRYPTED;
	}
	return MP_CRYPTO_PLAIN;
}

MpCryptoKind
mp_crypto_entity_kind (GMimeContentType *type)
{
	g_autofree char *v = g_mime_content_type_encode (type, NULL);

	return mp_crypto_kind_of_type (v);
}

MpCryptoKind
mp_crypto_kind_of_input (MpInput *in, GError **error)
{
	GMimeStream *s = mp_input_get_stream (in);
	gint64 size = mp_input_get_size (in);
	g_autofree char *type = NULL, *cte = NULL;
	g_autofree char *ktype = NULL, *kcte = NULL;
	g_autoptr (GMimeContentType) ct = NULL;
	MpCryptoKind kind;
	const char *boundary;
	gint64 body, kbody;
	MpLines r;
	MpLine l;
	gint64 part = -1;
	GError *err = NULL;

	if (!read_head (s, 0, size, &type, &cte, &body, NULL, error))
		return MP_CRYPTO_PLAIN;
	kind = mp_crypto_kind_of_type (type);
	if (kind != MP_CRYPTO_PLAIN || type == NULL)
		goto done;
	ct = g_mime_content_type_parse (NULL, type);
	if (ct == NULL ||
	    !g_mime_content_type_is_type (ct, "multipart", "mixed"))
		goto done;
	boundary = g_mime_content_type_get_parameter (ct, "boundary");
	if (boundary == NULL)
		goto done;
	mp_lines_init (&r, s, body, size);
	while (mp_lines_next (&r, &l, &err)) {
		if (mp_crypto_delimiter (&l, boundary, strlen (boundary)) ==
		    1) {
			part = l.start + (gint64) l.len + l.eol;
			break;
		}
	}
	mp_lines_clear (&r);
	if (err) {
		g_propagate_error (error, err);
		return MP_CRYPTO_PLAIN;
	}
	if (part >= 0 &&
	    read_head (s, part, size, &ktype, &kcte, &kbody, NULL, error))
		kind = mp_crypto_kind_of_type (ktype);
done:
	g_mime_stream_reset (s);
	return kind;
}

MpCryptoKind
mp_crypto_kind_of_headers (MpHeaders *h)
{
	guint n = mp_headers_get_n_entries (h);

	for (guint i = 0; i < n; i++) {
		const char *name = mp_headers_get_name (h, i);

		if (name && g_ascii_strcasecmp (name, "Content-Type") == 0) {
			g_autofree char *v = mp_headers_get_raw_value (h, i);

			return mp_crypto_kind_of_type (v);
		}
	}
	return MP_CRYPTO_PLAIN;
}

gboolean
mp_crypto_refuse (MpCryptoKind kind, const char *what, GError **error)
{
	g_set_error (error, MP_ERROR, MP_ERROR_DATA,
		     "stdin: the message is %s; %s would %s (add parts "
		     "before signing or encrypting)",
		     kind == MP_CRYPTO_SIGNED ? "signed" : "encrypted", what,
		     kind == MP_CRYPTO_SIGNED ?
			     "break its signature" :
			     "travel outside the encryption");
	return FALSE;
}

/* ---- the message as a header block and a body ------------------------ */

void
mp_crypto_msg_clear (Msg *m)
{
	mp_crypto_passphrase_clear (&m->pass);
	g_clear_pointer (&m->headers, mp_headers_free);
	g_clear_pointer (&m->top, mp_crypto_entity_free);
	g_clear_pointer (&m->from, g_ptr_array_unref);
	g_clear_pointer (&m->to, g_ptr_array_unref);
	g_clear_pointer (&m->bcc, g_ptr_array_unref);
	if (m->content)
		g_string_free (m->content, TRUE);
	if (m->copies)
		g_string_free (m->copies, TRUE);
	if (m->hp_outer)
		g_string_free (m->hp_outer, TRUE);
	g_clear_object (&m->message);
	g_clear_object (&m->parser);
	g_clear_pointer (&m->inner_head, g_bytes_unref);
	g_clear_object (&m->inner_src);
	if (m->spool >= 0)
		close (m->spool);
}

gboolean
mp_crypto_is_content_field (const char *name)
{
	return g_ascii_strncasecmp (name, "Content-", 8) == 0;
}

/* Fields that do not travel inside (RFC 9788 keeps the header fields a
 * reader sees; trace fields and Bcc stay out). */
static gboolean
is_protected_field (const char *name)
{
	static const char *const skip[] = { "MIME-Version",   "Received",
					    "Return-Path",    "Bcc",
					    "DKIM-Signature", "Autocrypt",
					    "HP-Outer",       NULL };

	for (guint i = 0; skip[i]; i++)
		if (g_ascii_strcasecmp (name, skip[i]) == 0)
			return FALSE;
	return !mp_crypto_is_content_field (name);
}

static void
append_field (GString *s, const char *p, gsize len, const char *eol)
{
	/* the field's own line ending, made that of the message */
	if (len > 0 && p[len - 1] == '\n')
		len--;
	if (len > 0 && p[len - 1] == '\r')
		len--;
	g_string_append_len (s, p, len);
	g_string_append (s, eol);
}

/* Reads the top-level header block of @m (without the empty line that
 * ends it) into m->headers. */
static gboolean
msg_read_headers (Msg *m, GError **error)
{
	g_autofree char *block = NULL;
	gsize hlen = (gsize) m->top->body;

	if (hlen > MP_HEADERS_MAX_BLOCK) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: header block too large",
			     mp_input_get_name (m->in));
		return FALSE;
	}
	block = g_malloc (hlen + 1);
	if (g_mime_stream_seek (m->stream, 0, GMIME_STREAM_SEEK_SET) != 0 ||
	    g_mime_stream_read (m->stream, block, hlen) != (gssize) hlen) {
		g_set_error (error, MP_ERROR, MP_ERROR_IO, "%s: read error",
			     mp_input_get_name (m->in));
		return FALSE;
	}
	if (hlen > 0 && block[hlen - 1] == '\n') {
		gsize b = hlen - 1;

		if (b > 0 && block[b - 1] == '\r')
			b--;
		/* the empty line, when there is one */
		if (b == 0 || block[b - 1] == '\n')
			hlen = b;
	}
	m->headers = mp_headers_parse (block, hlen, error);
	return m->headers != NULL;
}

/* Sorts the fields of m->headers: the addresses of From, To and Cc, and
 * Bcc; the Content-* fields (they travel inside); copies of the others
 * that RFC 9788 protects. */
static void
msg_sort_fields (Msg *m)
{
	guint n = mp_headers_get_n_entries (m->headers);

	m->from = g_ptr_array_new_with_free_func (g_free);
	m->to = g_ptr_array_new_with_free_func (g_free);
	m->bcc = g_ptr_array_new_with_free_func (g_free);
	m->content = g_string_new (NULL);
	m->copies = g_string_new (NULL);
	for (guint i = 0; i < n; i++) {
		const char *name = mp_headers_get_name (m->headers, i);
		g_autofree char *raw = NULL;
		const char *p;
		gsize len;

		if (name == NULL)
			continue;
		raw = mp_headers_get_raw_value (m->headers, i);
		p = mp_headers_get_bytes (m->headers, i, &len);
		if (g_ascii_strcasecmp (name, "From") == 0)
			mp_address_parse_specs (raw, m->from);
		else if (g_ascii_strcasecmp (name, "To") == 0 ||
			 g_ascii_strcasecmp (name, "Cc") == 0)
			mp_address_parse_specs (raw, m->to);
		else if (g_ascii_strcasecmp (name, "Bcc") == 0)
			mp_address_parse_specs (raw, m->bcc);
		if (mp_crypto_is_content_field (name))
			append_field (m->content, p, len, m->eol);
		else if (is_protected_field (name))
			append_field (m->copies, p, len, m->eol);
	}
}

gboolean
mp_crypto_msg_open (Msg *m, MpInput *in, const MpCryptoOptions *opts,
		    GError **error)
{
	memset (m, 0, sizeof *m);
	m->spool = -1;
	if (!mp_crypto_passphrase_read (&m->pass, opts, error))
		return FALSE;
	m->in = in;
	m->stream = mp_input_get_stream (in);
	m->size = mp_input_get_size (in);
	if (m->size == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: empty input (did an earlier stage fail?)",
			     mp_input_get_name (in));
		return FALSE;
	}
	m->top = mp_crypto_entity_parse (m->stream, 0, m->size, 0, error);
	if (m->top == NULL)
		return FALSE;
	m->crlf = m->top->crlf;
	m->eol = m->crlf ? "\r\n" : "\n";
	if (!msg_read_headers (m, error))
		return FALSE;
	msg_sort_fields (m);
	return TRUE;
}

/* RFC 3156 3, RFC 8551 3.1.3: a signed entity must be 7bit so that no
 * relay re-encodes it; lines stay under 998 octets, and trailing blanks
 * and "From " lines (which relays strip or mangle) are encoded too. */
static gboolean
leaf_needs_encoding (GMimeStream *s, Entity *e, gboolean *needs, GError **error)
{
	MpLines r;
	MpLine l;
	GError *err = NULL;

	if (e->cte && (strcmp (e->cte, "base64") == 0 ||
		       strcmp (e->cte, "quoted-printable") == 0))
		return TRUE;
	if (e->cte && strcmp (e->cte, "7bit") != 0 &&
	    strcmp (e->cte, "8bit") != 0 && strcmp (e->cte, "binary") != 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: unknown Content-Transfer-Encoding %s",
			     e->cte);
		return FALSE;
	}
	mp_lines_init (&r, s, e->body, e->end);
	while (!*needs && mp_lines_next (&r, &l, &err)) {
		if (l.len > 998 || l.avail < l.len ||
		    (l.len >= 5 && memcmp (l.data, "From ", 5) == 0) ||
		    (l.len > 0 &&
		     (l.data[l.len - 1] == ' ' || l.data[l.len - 1] == '\t')))
			*needs = TRUE;
		for (gsize i = 0; i < l.avail && !*needs; i++) {
			guchar c = (guchar) l.data[i];

			if (c >= 0x80 || c == 0 || c == '\r')
				*needs = TRUE;
		}
	}
	mp_lines_clear (&r);
	if (err) {
		g_propagate_error (error, err);
		return FALSE;
	}
	return TRUE;
}

static gboolean
tree_needs_encoding (GMimeStream *s, Entity *e, gboolean *needs, GError **error)
{
	if (e->kids) {
		for (guint i = 0; i < e->kids->len && !*needs; i++)
			if (!tree_needs_encoding (s, e->kids->pdata[i], needs,
						  error))
				return FALSE;
		return TRUE;
	}
	return leaf_needs_encoding (s, e, needs, error);
}

static void
encode_leaves (GMimeObject *obj)
{
	/* RFC 2045 6.4: a container is as 7bit as its parts now are */
	if (GMIME_IS_MULTIPART (obj) || GMIME_IS_MESSAGE_PART (obj))
		g_mime_object_remove_header (obj, "Content-Transfer-Encoding");
	if (GMIME_IS_MULTIPART (obj)) {
		int n = g_mime_multipart_get_count (GMIME_MULTIPART (obj));

		for (int i = 0; i < n; i++)
			encode_leaves (g_mime_multipart_get_part (
				GMIME_MULTIPART (obj), i));
	} else if (GMIME_IS_MESSAGE_PART (obj)) {
		GMimeMessage *msg = g_mime_message_part_get_message (
			GMIME_MESSAGE_PART (obj));

		if (msg && g_mime_message_get_mime_part (msg))
			encode_leaves (g_mime_message_get_mime_part (msg));
	} else if (GMIME_IS_PART (obj)) {
		GMimePart *part = GMIME_PART (obj);
		GMimeContentEncoding enc =
			g_mime_part_get_content_encoding (part);

		if (enc == GMIME_CONTENT_ENCODING_BASE64 ||
		    enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE)
			return;
		if (g_mime_content_type_is_type (
			    g_mime_object_get_content_type (obj), "text", "*"))
			g_mime_part_set_content_encoding (
				part, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
		else
			g_mime_part_set_content_encoding (
				part, GMIME_CONTENT_ENCODING_BASE64);
	}
}

/* The RFC 9788 Content-Type: the message's own with protected-headers. */
static char *
protected_type (Msg *m)
{
	g_autoptr (GMimeContentType) ct = NULL;
	g_autofree char *value = NULL;
	g_autofree char *enc = NULL;
	g_auto (GStrv) lines = NULL;
	guint n = mp_headers_get_n_entries (m->headers);

	for (guint i = 0; i < n && value == NULL; i++) {
		const char *name = mp_headers_get_name (m->headers, i);

		if (name && g_ascii_strcasecmp (name, "Content-Type") == 0)
			value = mp_headers_get_raw_value (m->headers, i);
	}
	ct = g_mime_content_type_parse (NULL, value ? value :
						      "text/plain; "
						      "charset=us-ascii");
	g_mime_content_type_set_parameter (ct, "protected-headers", "v1");
	enc = g_mime_content_type_encode (ct, NULL);
	/* GMime folds with LF and ends the value with one: the field is
	 * written in the message's line endings, and an extra empty line
	 * would end the header block early */
	lines = g_strsplit (g_strstrip (enc), "\n", -1);
	for (guint i = 0; lines[i]; i++)
		g_strchomp (lines[i]);
	return g_strjoinv (m->eol, lines);
}

/* The message's Content-* fields with the RFC 9788 Content-Type. */
static void
append_protected_content (Msg *m, GString *head)
{
	g_autofree char *type = protected_type (m);
	g_auto (GStrv) lines = g_strsplit (m->content->str, m->eol, -1);
	gboolean skipping = FALSE;

	g_string_append_printf (head, "Content-Type: %s%s", type, m->eol);
	for (guint i = 0; lines[i]; i++) {
		if (lines[i][0] == ' ' || lines[i][0] == '\t') {
			if (skipping)
				continue;
		} else {
			skipping = mp_crypto_field_named (
				lines[i], strlen (lines[i]), "Content-Type");
			if (skipping || lines[i][0] == '\0')
				continue;
		}
		g_string_append (head, lines[i]);
		g_string_append (head, m->eol);
	}
}

/* Writes the message's body, its 8bit and binary leaves transfer-encoded,
 * to a spool file, with GMime (the only path that re-serialises). */
static GMimeStream *
encoded_body (Msg *m, gboolean protect, GError **error)
{
	g_autoptr (GMimeFormatOptions) fo = g_mime_format_options_new ();
	g_autoptr (GMimeStream) sp = NULL;
	g_autoptr (GMimeStream) fs = NULL;
	g_autoptr (GMimeFilter) from = NULL;
	GMimeObject *body;

	m->message = mp_input_parse_message (m->in, &m->parser, error);
	if (m->message == NULL)
		return NULL;
	body = g_mime_message_get_mime_part (m->message);
	if (body == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: a message without a body");
		return NULL;
	}
	encode_leaves (body);
	if (protect)
		g_mime_content_type_set_parameter (
			g_mime_object_get_content_type (body),
			"protected-headers", "v1");
	g_mime_format_options_set_newline_format (
		fo,
		m->crlf ? GMIME_NEWLINE_FORMAT_DOS : GMIME_NEWLINE_FORMAT_UNIX);
	m->spool = mp_crypto_spool_open (error);
	if (m->spool < 0)
		return NULL;
	sp = g_mime_stream_fs_new (dup (m->spool));
	/* every leaf is now base64 or quoted-printable: a line starting
	 * "From " becomes "=46rom ", which no mbox on the way alters */
	fs = g_mime_stream_filter_new (sp);
	from = g_mime_filter_from_new (GMIME_FILTER_FROM_MODE_ARMOR);
	g_mime_stream_filter_add (GMIME_STREAM_FILTER (fs), from);
	if (g_mime_object_write_to_stream (body, fo, fs) < 0 ||
	    g_mime_stream_flush (fs) < 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_IO,
			     "temporary file: write error");
		return NULL;
	}
	return mp_crypto_spool_stream (m->spool);
}

GString *
mp_crypto_hp_outer_fields (Msg *m, const char *autocrypt)
{
	GString *s = g_string_new (NULL);
	guint n = mp_headers_get_n_entries (m->headers);

	for (guint i = 0; i < n; i++) {
		const char *name = mp_headers_get_name (m->headers, i);
		const char *p;
		gsize len;

		if (name == NULL || mp_crypto_is_content_field (name) ||
		    g_ascii_strcasecmp (name, "MIME-Version") == 0 ||
		    g_ascii_strcasecmp (name, "Bcc") == 0 ||
		    g_ascii_strcasecmp (name, "HP-Outer") == 0)
			continue;
		if (g_ascii_strcasecmp (name, "Subject") == 0) {
			g_string_append_printf (s, "HP-Outer: %s: [...]%s",
						name, m->eol);
			continue;
		}
		p = mp_headers_get_bytes (m->headers, i, &len);
		g_string_append (s, "HP-Outer: ");
		append_field (s, p, len, m->eol);
	}
	if (autocrypt)
		g_string_append_printf (s, "HP-Outer: %s", autocrypt);
	return s;
}

GMimeStream *
mp_crypto_inner_stream (Msg *m, gboolean protect, gboolean trim, GError **error)
{
	g_autoptr (GMimeStream) cat = g_mime_stream_cat_new ();
	g_autoptr (GMimeStream) src = NULL;
	GMimeStream *part;
	GString *head;
	gboolean needs = FALSE;
	gint64 start, end;
	char tail[1];

	if (!tree_needs_encoding (m->stream, m->top, &needs, error))
		return NULL;
	head = g_string_new (protect ? m->copies->str : "");
	if (protect && m->hp_outer)
		g_string_append (head, m->hp_outer->str);
	if (!needs) {
		if (protect)
			append_protected_content (m, head);
		else
			g_string_append (head, m->content->str);
		g_string_append (head, m->eol);
		src = g_object_ref (m->stream);
		start = m->top->body;
		end = m->size;
	} else {
		/* GMime writes the Content-* fields itself */
		src = encoded_body (m, protect, error);
		if (src == NULL) {
			g_string_free (head, TRUE);
			return NULL;
		}
		start = 0;
		end = g_mime_stream_length (src);
	}
	part = g_mime_stream_mem_new_with_buffer (head->str, head->len);
	g_clear_pointer (&m->inner_head, g_bytes_unref);
	m->inner_head = g_string_free_to_bytes (head);
	g_mime_stream_cat_add_source (GMIME_STREAM_CAT (cat), part);
	g_object_unref (part);
	if (trim && end > start &&
	    g_mime_stream_seek (src, end - 1, GMIME_STREAM_SEEK_SET) ==
		    end - 1 &&
	    g_mime_stream_read (src, tail, 1) == 1 && tail[0] == '\n') {
		end--;
		if (end > start &&
		    g_mime_stream_seek (src, end - 1, GMIME_STREAM_SEEK_SET) ==
			    end - 1 &&
		    g_mime_stream_read (src, tail, 1) == 1 && tail[0] == '\r')
			end--;
	}
	part = g_mime_stream_substream (src, start, end);
	g_mime_stream_cat_add_source (GMIME_STREAM_CAT (cat), part);
	g_object_unref (part);
	g_mime_stream_reset (cat);
	g_set_object (&m->inner_src, src);
	m->inner_start = start;
	m->inner_end = end;
	return g_steal_pointer (&cat);
}
