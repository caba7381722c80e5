/* mp-dkim: DKIM (RFC 6376, RFC 8463): signing here; canonicalisation and
 * the header block in mp-dkim-canon.c, keys in mp-dkim-key.c, verifying
 * in mp-dkim-verify.c (mp-dkim-private.h is what they share). */
#include "mp-dkim.h"
#include "mp-dkim-private.h"
#include "mp-date.h"
#include "mp-dkim-tags.h"
#include "mp-error.h"
#include "mp-field.h"
#include "mp-io.h"
#include "mp-random.h"

#include <string.h>

const char *const mp_dkim_default_headers[] = { "from",
						"to",
						"cc",
						"subject",
						"date",
						"message-id",
						"mime-version",
						"content-type",
						"reply-to",
						"in-reply-to",
						"references",
						"list-unsubscribe",
						"list-unsubscribe-post",
						NULL };

const char *
mp_dkim_algorithm_name (MpDkimAlgorithm alg)
{
	return alg == MP_DKIM_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256";
}

/* ---- small helpers -------------------------------------------------- */

static gboolean
is_fws (int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

gboolean
mp_dkim_is_dns_name (const char *s)
{
	gsize label = 0;

	if (*s == '\0' || strlen (s) > 253)
		return FALSE;
	for (; *s; s++) {
		if (*s == '.') {
			if (label == 0)
				return FALSE;
			label = 0;
		} else if (g_ascii_isalnum (*s) || *s == '-' || *s == '_') {
			if (++label > 63)
				return FALSE;
		} else {
			return FALSE;
		}
	}
	return label > 0;
}

GBytes *
mp_dkim_decode_b64 (const char *s)
{
	g_autoptr (GString) clean = g_string_new (NULL);
	gsize pad = 0, len;
	guchar *out;

	for (; *s; s++) {
		if (is_fws (*s))
			continue;
		if (*s == '=') {
			pad++;
		} else if (pad > 0 ||
			   !(g_ascii_isalnum (*s) || *s == '+' || *s == '/')) {
			return NULL;
		}
		g_string_append_c (clean, *s);
	}
	if (clean->len == 0 || clean->len % 4 != 0 || pad > 2)
		return NULL;
	out = g_base64_decode (clean->str, &len);
	return g_bytes_new_take (out, len);
}

char *
mp_dkim_crypto_b64 (const MpDkimCrypto *crypto, unsigned char *data, size_t len)
{
	char *b64 = g_base64_encode (data, len);

	crypto->free_data (data);
	return b64;
}

gint64
mp_dkim_default_time (void)
{
	g_autoptr (GDateTime) d = mp_date_default ();

	return g_date_time_to_unix (d);
}

/* ---- signing -------------------------------------------------------- */

typedef struct {
	char *selector;
	MpDkimKey *key; /* borrowed */
} Signature;

struct _MpDkimSigner {
	char *domain;
	GArray *sigs;     /* Signature */
	GPtrArray *owned; /* MpDkimKey: those of add_key_file */
	gboolean head_relaxed, body_relaxed;
	char **headers; /* NULL: the default, over-signed */
	gint64 time;
};

static void
signature_clear (gpointer p)
{
	g_free (((Signature *) p)->selector);
}

MpDkimSigner *
mp_dkim_signer_new (const char *domain, GError **error)
{
	MpDkimSigner *s;

	if (domain == NULL || !mp_dkim_is_dns_name (domain)) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "%s: not a domain name", domain ? domain : "");
		return NULL;
	}
	s = g_new0 (MpDkimSigner, 1);
	s->domain = g_ascii_strdown (domain, -1);
	s->sigs = g_array_new (FALSE, TRUE, sizeof (Signature));
	g_array_set_clear_func (s->sigs, signature_clear);
	s->owned = g_ptr_array_new_with_free_func (
		(GDestroyNotify) mp_dkim_key_free);
	s->head_relaxed = s->body_relaxed = TRUE;
	s->time = mp_dkim_default_time ();
	return s;
}

void
mp_dkim_signer_free (MpDkimSigner *s)
{
	if (s == NULL)
		return;
	g_free (s->domain);
	g_array_unref (s->sigs);
	g_ptr_array_unref (s->owned);
	g_strfreev (s->headers);
	g_free (s);
}

gboolean
mp_dkim_signer_add_key (MpDkimSigner *s, const char *selector, MpDkimKey *key,
			GError **error)
{
	Signature sig;

	if (!mp_dkim_is_dns_name (selector)) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "%s: not a selector (letters, digits, '-', '_', "
			     "dots)",
			     selector);
		return FALSE;
	}
	sig.selector = g_strdup (selector);
	sig.key = key;
	g_array_append_val (s->sigs, sig);
	return TRUE;
}

gboolean
mp_dkim_signer_add_key_file (MpDkimSigner *s, const char *selector,
			     const char *path, GError **error)
{
	MpDkimKey *key = mp_dkim_key_load (path, error);

	if (key == NULL)
		return FALSE;
	g_ptr_array_add (s->owned, key);
	return mp_dkim_signer_add_key (s, selector, key, error);
}

gboolean
mp_dkim_parse_canon (const char *c, gboolean *head, gboolean *body)
{
	g_auto (GStrv) parts = g_strsplit (c, "/", -1);
	guint n = g_strv_length (parts);

	if (n < 1 || n > 2)
		return FALSE;
	for (guint i = 0; i < n; i++)
		if (strcmp (parts[i], "simple") && strcmp (parts[i], "relaxed"))
			return FALSE;
	*head = strcmp (parts[0], "relaxed") == 0;
	*body = n == 2 && strcmp (parts[1], "relaxed") == 0;
	return TRUE;
}

gboolean
mp_dkim_signer_set_canon (MpDkimSigner *s, const char *canon, GError **error)
{
	if (!mp_dkim_parse_canon (canon, &s->head_relaxed, &s->body_relaxed)) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "%s: not a canonicalisation (relaxed/relaxed, "
			     "relaxed/simple, simple/relaxed, simple/simple)",
			     canon);
		return FALSE;
	}
	return TRUE;
}

gboolean
mp_dkim_signer_set_headers (MpDkimSigner *s, const char *list, GError **error)
{
	g_auto (GStrv) names = mp_dkim_tags_split_names (list);
	gboolean from = FALSE;

	if (names == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "%s: not a list of field names separated by ':'",
			     list);
		return FALSE;
	}
	for (char **n = names; *n; n++) {
		if (!mp_field_check_name (*n, error))
			return FALSE;
		if (strcmp (*n, "bcc") == 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "Bcc is never signed: it is removed "
				     "before sending");
			return FALSE;
		}
		from |= strcmp (*n, "from") == 0;
	}
	if (!from) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "%s: From must be signed (RFC 6376 5.4)", list);
		return FALSE;
	}
	g_strfreev (s->headers);
	s->headers = g_steal_pointer (&names);
	return TRUE;
}

/* The h= list for @h: each default field as many times as it occurs, then
 * each once more (over-signing, also for fields absent). */
static char **
default_names (MpHeaders *h)
{
	GPtrArray *names = g_ptr_array_new ();
	guint n = mp_headers_get_n_entries (h);

	for (const char *const *d = mp_dkim_default_headers; *d; d++)
		for (guint i = 0; i < n; i++) {
			const char *fn = mp_headers_get_name (h, i);

			if (fn && g_ascii_strcasecmp (fn, *d) == 0)
				g_ptr_array_add (names, g_strdup (*d));
		}
	for (const char *const *d = mp_dkim_default_headers; *d; d++)
		g_ptr_array_add (names, g_strdup (*d));
	g_ptr_array_add (names, NULL);
	return (char **) g_ptr_array_free (names, FALSE);
}

/* Appends @text to the field being folded in @f, breaking at its spaces
 * so that no line passes FOLD_WIDTH where it can be helped. */
static void
fold_append (GString *f, gsize *col, const char *text)
{
	g_auto (GStrv) words = g_strsplit (text, " ", -1);

	for (char **w = words; *w; w++) {
		gsize len = strlen (*w);

		if (w != words || *col > 0) {
			if (*col + 1 + len > FOLD_WIDTH) {
				g_string_append (f, "\r\n ");
				*col = 1;
			} else {
				g_string_append_c (f, ' ');
				(*col)++;
			}
		}
		g_string_append (f, *w);
		*col += len;
	}
}

/* The DKIM-Signature fields for the message (@h, then @body from its
 * position), one per key, folded with CRLF and ending with it. */
static GPtrArray *
sign_fields (MpDkimSigner *s, MpHeaders *h, GMimeStream *body, GError **error)
{
	g_autoptr (GPtrArray) hashes = g_ptr_array_new ();
	g_autoptr (GPtrArray) fields = g_ptr_array_new_with_free_func (g_free);
	g_auto (GStrv) names = NULL;
	g_autofree char *hlist = NULL;
	g_autofree char *bh = NULL;
	g_autoptr (GByteArray) signed_headers = g_byte_array_new ();
	BodyHash body_hash;

	g_return_val_if_fail (s->sigs->len > 0, NULL);
	mp_dkim_bh_init (&body_hash, s->body_relaxed, -1);
	g_ptr_array_add (hashes, &body_hash);
	if (!mp_dkim_hash_body_stream (body, hashes, error)) {
		g_checksum_free (body_hash.sum);
		return NULL;
	}
	bh = mp_dkim_bh_finish (&body_hash);

	names = s->headers ? g_strdupv (s->headers) : default_names (h);
	hlist = g_strjoinv (" : ", names);
	mp_dkim_hash_selected (h, names, s->head_relaxed, signed_headers);

	for (guint i = 0; i < s->sigs->len; i++) {
		Signature *sig = &g_array_index (s->sigs, Signature, i);
		g_autoptr (GString) f = g_string_new ("DKIM-Signature:");
		g_autoptr (GByteArray) data = g_byte_array_new ();
		g_autofree char *tags = NULL;
		g_autofree char *b = NULL;
		gsize col = f->len;

		/* the tags in the order dkimpy writes them, which produced
		 * RFC 8463's example; no l= (a body length lets anyone append
		 * to the message) */
		tags = g_strdup_printf (
			"v=1; a=%s; c=%s/%s; d=%s; i=@%s; q=dns/txt; s=%s; "
			"t=%" G_GINT64_FORMAT "; h=%s; bh=%s;",
			mp_dkim_algorithm_name (sig->key->alg),
			s->head_relaxed ? "relaxed" : "simple",
			s->body_relaxed ? "relaxed" : "simple", s->domain,
			s->domain, sig->selector, s->time, hlist, bh);
		fold_append (f, &col, tags);
		g_string_append (f, "\r\n b=");

		/* 3.7: the signed fields, then this one with an empty b= and
		 * no final CRLF */
		g_byte_array_append (data, signed_headers->data,
				     signed_headers->len);
		mp_dkim_canon_header (s->head_relaxed, f->str, f->len, data);
		g_byte_array_set_size (data, data->len - 2);
		b = mp_dkim_sign_data (sig->key, data, error);
		if (b == NULL)
			return NULL;
		for (gsize at = 0, len = strlen (b); at < len; at += 72) {
			if (at > 0)
				g_string_append (f, "\r\n ");
			g_string_append_len (f, b + at,
					     (gssize) MIN (72, len - at));
		}
		g_string_append (f, "\r\n");
		g_ptr_array_add (fields,
				 g_string_free (g_steal_pointer (&f), FALSE));
	}
	return g_steal_pointer (&fields);
}

char *
mp_dkim_signer_sign (MpDkimSigner *s, MpHeaders *h, GMimeStream *body,
		     const char *eol, GError **error)
{
	g_autoptr (GPtrArray) fields = sign_fields (s, h, body, error);
	g_autoptr (GString) out = g_string_new (NULL);

	if (fields == NULL)
		return NULL;
	for (guint i = 0; i < fields->len; i++) {
		g_auto (GStrv) lines =
			g_strsplit (fields->pdata[i], "\r\n", -1);
		g_autofree char *joined = g_strjoinv (eol, lines);

		g_string_append (out, joined);
	}
	return g_string_free (g_steal_pointer (&out), FALSE);
}

static char *
new_message_id (MpHeaders *h, const char *domain)
{
	g_autoptr (MpRandom) r = mp_random_new (NULL);
	g_autofree char *token = NULL;

	for (guint i = 0; i < mp_headers_get_n_entries (h); i++) {
		gsize len;
		const char *p = mp_headers_get_bytes (h, i, &len);

		mp_random_feed (r, p, len);
	}
	token = mp_random_token (r, 24);
	return g_strdup_printf ("<%s@%s>", token, domain);
}

/* RFC 5322 3.6: Date and Message-ID, added when missing so that they are
 * signed (and so that nothing adds them after signing). */
static gboolean
add_missing (MpDkimSigner *s, MpHeaders *h, GString *added, GError **error)
{
	if (!mp_dkim_has_field (h, "Date")) {
		g_autoptr (GDateTime) d = mp_date_default ();
		g_autofree char *v = mp_date_format (d);

		if (!mp_headers_add (h, "Date", v, error))
			return FALSE;
		g_string_append (added, "Date");
	}
	if (!mp_dkim_has_field (h, "Message-ID")) {
		g_autofree char *v = new_message_id (h, s->domain);

		if (!mp_headers_add (h, "Message-ID", v, error))
			return FALSE;
		g_string_append (added,
				 added->len ? ", Message-ID" : "Message-ID");
	}
	return TRUE;
}

/* RFC 6376 5.4: From is always signed; and the fields are put in front
 * of the block, where a first line that continues nothing would become
 * part of the last signature. */
static gboolean
signable (Block *b, const char *name, GError **error)
{
	guint n = mp_headers_get_n_entries (b->h), first = 0;

	if (n > 0 && mp_headers_get_name (b->h, 0) == NULL) {
		gsize len;
		const char *p = mp_headers_get_bytes (b->h, 0, &len);

		if (len < 5 || memcmp (p, "From ", 5) != 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: the first line of the header is not "
				     "a field",
				     name);
			return FALSE;
		}
		first = 1;
	}
	if (n > first && mp_headers_get_name (b->h, first) == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: the first line of the header is not a field",
			     name);
		return FALSE;
	}
	if (!mp_dkim_has_field (b->h, "From")) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: no From field: DKIM signs for the From "
			     "address",
			     name);
		return FALSE;
	}
	return TRUE;
}

gboolean
mp_dkim_sign_message (MpDkimSigner *s, MpInput *in, MpOutput *out, char **added,
		      GError **error)
{
	GMimeStream *stream = mp_input_get_stream (in);
	g_autoptr (GString) added_names = g_string_new (NULL);
	g_autofree char *fields = NULL;
	Block b = { 0 };
	const char *eol;
	guint i = 0, n;
	gboolean ok = FALSE;

	if (!mp_dkim_read_block (stream, mp_input_get_name (in), &b, error) ||
	    !signable (&b, mp_input_get_name (in), error))
		goto out;
	if (!add_missing (s, b.h, added_names, error))
		goto out;
	eol = mp_headers_get_eol (b.h);
	if (g_mime_stream_seek (stream, b.body_start, GMIME_STREAM_SEEK_SET) <
	    0) {
		g_set_error (error, MP_ERROR, MP_ERROR_IO,
			     "%s: cannot seek in the input",
			     mp_input_get_name (in));
		goto out;
	}
	fields = mp_dkim_signer_sign (s, b.h, stream, eol, error);
	if (fields == NULL)
		goto out;

	n = mp_headers_get_n_entries (b.h);
	/* an mbox "From " line stays first */
	if (n > 0 && mp_headers_get_name (b.h, 0) == NULL) {
		gsize len;
		const char *p = mp_headers_get_bytes (b.h, 0, &len);

		if (len >= 5 && memcmp (p, "From ", 5) == 0) {
			if (!mp_output_write (out, p, len, error))
				goto out;
			i = 1;
		}
	}
	if (!mp_output_write (out, fields, strlen (fields), error))
		goto out;
	for (; i < n; i++) {
		gsize len;
		const char *p = mp_headers_get_bytes (b.h, i, &len);

		if (!mp_output_write (out, p, len, error))
			goto out;
		if ((len == 0 || p[len - 1] != '\n') &&
		    !mp_output_write (out, eol, strlen (eol), error))
			goto out;
	}
	if (!mp_output_copy_stream (out, stream, b.block_end, -1, error))
		goto out;
	if (added)
		*added = g_strdup (added_names->str);
	ok = TRUE;
out:
	mp_dkim_block_clear (&b);
	return ok;
}

char **
mp_dkim_sign_stream (MpDkimSigner *s, GMimeStream *message, GError **error)
{
	g_autoptr (GPtrArray) fields = NULL;
	GPtrArray *values;
	Block b = { 0 };

	if (!mp_dkim_read_block (message, "message", &b, error) ||
	    !signable (&b, "message", error))
		goto fail;
	if (g_mime_stream_seek (message, b.body_start, GMIME_STREAM_SEEK_SET) <
	    0) {
		g_set_error (error, MP_ERROR, MP_ERROR_IO,
			     "message: cannot seek in the data");
		goto fail;
	}
	fields = sign_fields (s, b.h, message, error);
	if (fields == NULL)
		goto fail;
	mp_dkim_block_clear (&b);
	values = g_ptr_array_new ();
	for (guint i = 0; i < fields->len; i++) {
		const char *f = fields->pdata[i];
		const char *v = f + strlen ("DKIM-Signature:");

		while (*v == ' ')
			v++;
		g_ptr_array_add (values,
				 g_strndup (v, strlen (v) - 2)); /* the CRLF */
	}
	g_ptr_array_add (values, NULL);
	return (char **) g_ptr_array_free (values, FALSE);
fail:
	mp_dkim_block_clear (&b);
	return NULL;
}
