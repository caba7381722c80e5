/* mp-crypto: PGP/MIME (RFC 3156) and S/MIME (RFC 8551) through GPGME:
 * the options and signing and encrypting here; a message's structure and
 * header block in mp-crypto-mime.c, GPGME itself in mp-crypto-gpgme.c,
 * decrypting and verifying in mp-crypto-read.c (mp-crypto-private.h is
 * what they share). */
#include "mp-crypto.h"
#include "mp-base64.h"
#include "mp-crypto-private.h"
#include "mp-error.h"
#include "mp-headers.h"
#include "mp-random.h"

#include <gpgme.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

/* ---- options ------------------------------------------------------------ */

gboolean
mp_crypto_check_options (const MpCryptoOptions *opts, GError **error)
{
	gboolean pass = opts->passphrase_file || opts->passphrase_fd >= 0;

	if (opts->passphrase_file && opts->passphrase_fd >= 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--passphrase-file and --passphrase-fd exclude "
			     "each other");
		return FALSE;
	}
	if (opts->protocol != MP_CRYPTO_SMIME)
		return TRUE;
	if (opts->autocrypt || (opts->hidden && opts->hidden[0])) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "%s is for OpenPGP, not --smime (CMS names every "
			     "recipient's certificate)",
			     opts->autocrypt ? "--autocrypt" :
					       "--hidden-recipient");
		return FALSE;
	}
	if (pass) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--passphrase-file and --passphrase-fd are for "
			     "OpenPGP keys; gpgsm asks the agent for an S/MIME "
			     "key's passphrase");
		return FALSE;
	}
	return TRUE;
}

/* ---- writing ------------------------------------------------------------- */

static gboolean
sink_check (Sink *k, gssize rv, GError **error)
{
	if (k->out)
		return mp_output_check (k->out, rv, error);
	if (rv < 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_IO,
			     "temporary file: write error");
		return FALSE;
	}
	return TRUE;
}

gboolean
mp_crypto_put (Sink *k, GError **error, const char *first, ...)
{
	va_list ap;
	const char *s;
	gboolean ok = TRUE;

	va_start (ap, first);
	for (s = first; s && ok; s = va_arg (ap, const char *))
		ok = sink_check (k, g_mime_stream_write_string (k->s, s),
				 error);
	va_end (ap);
	return ok;
}

gboolean
mp_crypto_copy (Sink *k, GMimeStream *src, GMimeFilter *f1, GMimeFilter *f2,
		GError **error)
{
	g_autoptr (GMimeStream) fs = g_mime_stream_filter_new (k->s);
	gssize rv;

	if (f1)
		g_mime_stream_filter_add (GMIME_STREAM_FILTER (fs), f1);
	if (f2)
		g_mime_stream_filter_add (GMIME_STREAM_FILTER (fs), f2);
	g_mime_stream_reset (src);
	rv = g_mime_stream_write_to_stream (src, fs);
	if (rv >= 0 && g_mime_stream_flush (fs) < 0)
		rv = -1;
	return sink_check (k, rv, error);
}

/* The entity of mp_crypto_inner_stream(): to the output the body is copied by the
 * kernel (mp_output_copy_stream) rather than 4 kB at a time. */
static gboolean
copy_inner (Msg *m, Sink *k, GMimeStream *inner, GError **error)
{
	gsize len;
	const char *head;

	if (k->out == NULL || m->inner_head == NULL)
		return mp_crypto_copy (k, inner, NULL, NULL, error);
	head = g_bytes_get_data (m->inner_head, &len);
	return mp_output_write (k->out, head, len, error) &&
	       mp_output_copy_stream (k->out, m->inner_src, m->inner_start,
				      m->inner_end, error);
}

/* An armored text from GPG (LF) in the message's line endings. */
static gboolean
copy_text (Sink *k, Msg *m, GMimeStream *src, GError **error)
{
	g_autoptr (GMimeFilter) f =
		m->crlf ? g_mime_filter_unix2dos_new (FALSE) : NULL;

	return mp_crypto_copy (k, src, f, NULL, error);
}

static gboolean
copy_base64 (Sink *k, Msg *m, GMimeStream *src, GError **error)
{
	g_autoptr (GMimeFilter) b = mp_filter_base64_new ();
	g_autoptr (GMimeFilter) f =
		m->crlf ? g_mime_filter_unix2dos_new (FALSE) : NULL;

	return mp_crypto_copy (k, src, b, f, error);
}

gboolean
mp_crypto_write_outer (Msg *m, MpOutput *out, const char *autocrypt,
		       GError **error)
{
	guint n = mp_headers_get_n_entries (m->headers);
	g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
	gboolean has_version = FALSE;
	Sink k = { mp_output_get_stream (out), out };

	for (guint i = 0; i < n; i++) {
		const char *name = mp_headers_get_name (m->headers, i);

		if (name && mp_crypto_is_content_field (name))
			g_ptr_array_add (names, g_strdup (name));
		if (name && g_ascii_strcasecmp (name, "MIME-Version") == 0)
			has_version = TRUE;
	}
	for (guint i = 0; i < names->len; i++)
		mp_headers_delete (m->headers, names->pdata[i]);
	if (!mp_headers_write_message (m->headers, out, error))
		return FALSE;
	if (!has_version &&
	    !mp_crypto_put (&k, error, "MIME-Version: 1.0", m->eol, NULL))
		return FALSE;
	if (autocrypt && !mp_crypto_put (&k, error, autocrypt, NULL))
		return FALSE;
	return TRUE;
}

static gboolean
boundary_used (Entity *e, const char *b)
{
	const char *own = mp_crypto_type_is (e, "multipart", "*") ?
				  g_mime_content_type_get_parameter (
					  e->type, "boundary") :
				  NULL;

	/* one is a prefix of the other: a delimiter line of one could be
	 * read as the other's (RFC 2046 5.1.1) */
	if (own && (g_str_has_prefix (own, b) || g_str_has_prefix (b, own)))
		return TRUE;
	for (guint i = 0; e->kids && i < e->kids->len; i++)
		if (boundary_used (e->kids->pdata[i], b))
			return TRUE;
	return FALSE;
}

/* A boundary no multipart inside uses ("=_" occurs in neither base64 nor
 * quoted-printable text).  Reproducible with a seed: fed with what is
 * signed or encrypted, so that signing a signed message gives another. */
static char *
new_boundary (Msg *m, const MpCryptoOptions *opts)
{
	g_autoptr (MpRandom) r = mp_random_new (opts->seed);
	guint n = mp_headers_get_n_entries (m->headers);

	for (guint i = 0; i < n; i++) {
		gsize len;
		const char *p = mp_headers_get_bytes (m->headers, i, &len);

		mp_random_feed (r, p, len);
	}
	if (m->inner_head) {
		gsize len;
		const char *p = g_bytes_get_data (m->inner_head, &len);

		mp_random_feed (r, p, len);
	}
	mp_random_feed (r, opts->sign ? "s" : "-", 1);
	for (;;) {
		g_autofree char *tok = mp_random_token (r, 24);
		char *b = g_strdup_printf ("=_mp-%s", tok);

		if (!boundary_used (m->top, b))
			return b;
		g_free (b);
	}
}

/* RFC 3156 5 and RFC 8551 3.4.3.2: "pgp-sha256", "sha-256". */
static char *
micalg (gpgme_hash_algo_t algo, gboolean smime)
{
	const char *name = gpgme_hash_algo_name (algo);
	g_autofree char *lower = g_ascii_strdown (name ? name : "sha256", -1);

	if (!smime)
		return g_strdup_printf ("pgp-%s", lower);
	if (g_str_has_prefix (lower, "sha") && g_ascii_isdigit (lower[3]))
		return g_strdup_printf ("sha-%s", lower + 3);
	return g_steal_pointer (&lower);
}

static const char *
signer_of (Msg *m, const MpCryptoOptions *opts, GError **error)
{
	if (opts->local_user)
		return opts->local_user;
	if (m->from->len == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: no From address to sign as (give "
			     "--local-user)");
		return NULL;
	}
	return m->from->pdata[0];
}

/* A detached signature of @inner (canonical form), and its micalg. */
typedef struct {
	GMimeStream *sig;
	char *micalg;
} Signature;

static void
signature_clear (Signature *s)
{
	g_clear_object (&s->sig);
	g_clear_pointer (&s->micalg, g_free);
}

static gboolean
sign_detached (Msg *m, const MpCryptoOptions *opts, GMimeStream *inner,
	       Signature *out, GError **error)
{
	gboolean smime = opts->protocol == MP_CRYPTO_SMIME;
	gpgme_ctx_t ctx;
	gpgme_key_t key;
	gpgme_data_t plain, sig;
	gpgme_sign_result_t res;
	gpgme_error_t err;
	const char *who;
	char *buf;
	size_t len;
	Feed f;

	memset (out, 0, sizeof *out);
	who = signer_of (m, opts, error);
	if (who == NULL)
		return FALSE;
	ctx = mp_crypto_ctx_with_secret_key (opts, opts->protocol, &m->pass,
					     who, &key, error);
	if (ctx == NULL)
		return FALSE;
	gpgme_signers_add (ctx, key);
	gpgme_key_unref (key);
	gpgme_set_armor (ctx, !smime);
	gpgme_set_textmode (ctx, 0);
	/* every certificate, the signer's even when it is its own root,
	 * so that a reader without it can check (RFC 8551 2.4.1) */
	if (smime)
		gpgme_set_include_certs (ctx, -1);
	plain = mp_crypto_feed_data (&f, inner, TRUE, opts->protocol);
	gpgme_data_new (&sig);
	err = gpgme_op_sign (ctx, plain, sig, GPGME_SIG_MODE_DETACH);
	gpgme_data_release (plain);
	err = mp_crypto_feed_check (&f, err);
	mp_crypto_feed_clear (&f);
	res = err ? NULL : gpgme_op_sign_result (ctx);
	if (!err && (res == NULL || res->signatures == NULL))
		err = gpgme_error (GPG_ERR_GENERAL);
	if (err) {
		gpgme_data_release (sig);
		gpgme_release (ctx);
		mp_crypto_set_gpg_error (error, err, who);
		return FALSE;
	}
	out->micalg = micalg (res->signatures->hash_algo, smime);
	gpgme_release (ctx);
	buf = gpgme_data_release_and_get_mem (sig, &len);
	out->sig = g_mime_stream_mem_new_with_buffer (buf, len);
	gpgme_free (buf);
	return TRUE;
}

/* Writes the multipart/signed entity (its Content-Type field, an empty
 * line and its body) to @k. */
static gboolean
write_signed (Msg *m, const MpCryptoOptions *opts, GMimeStream *inner,
	      Signature *sig, Sink *k, GError **error)
{
	gboolean smime = opts->protocol == MP_CRYPTO_SMIME;
	g_autofree char *boundary = new_boundary (m, opts);
	gboolean ok;

	ok = mp_crypto_put (k, error, "Content-Type: multipart/signed; micalg=",
			    sig->micalg, ";", m->eol, " protocol=\"",
			    smime ? "application/pkcs7-signature" :
				    "application/pgp-signature",
			    "\";", m->eol, " boundary=\"", boundary, "\"",
			    m->eol, m->eol, "--", boundary, m->eol, NULL) &&
	     copy_inner (m, k, inner, error) &&
	     mp_crypto_put (k, error, m->eol, "--", boundary, m->eol, NULL);
	if (ok && smime)
		ok = mp_crypto_put (
			     k, error,
			     "Content-Type: application/pkcs7-signature; "
			     "name=\"smime.p7s\"",
			     m->eol, "Content-Transfer-Encoding: base64",
			     m->eol,
			     "Content-Disposition: attachment; "
			     "filename=\"smime.p7s\"",
			     m->eol,
			     "Content-Description: S/MIME Cryptographic "
			     "Signature",
			     m->eol, m->eol, NULL) &&
		     copy_base64 (k, m, sig->sig, error);
	else if (ok)
		ok = mp_crypto_put (
			     k, error,
			     "Content-Type: application/pgp-signature; "
			     "name=\"signature.asc\"",
			     m->eol,
			     "Content-Description: OpenPGP digital signature",
			     m->eol,
			     "Content-Disposition: attachment; "
			     "filename=\"signature.asc\"",
			     m->eol, m->eol, NULL) &&
		     copy_text (k, m, sig->sig, error);
	return ok && mp_crypto_put (k, error, smime ? "" : m->eol, "--",
				    boundary, "--", m->eol, NULL);
}

/* RFC 9788 hcp_baseline: the Subject is obscured outside. */
static gboolean
obscure_subject (Msg *m, GError **error)
{
	guint n = mp_headers_get_n_entries (m->headers);

	for (guint i = 0; i < n; i++) {
		const char *name = mp_headers_get_name (m->headers, i);

		if (name && g_ascii_strcasecmp (name, "Subject") == 0)
			return mp_headers_set (m->headers, "Subject", "[...]",
					       error);
	}
	return TRUE;
}

/* The Autocrypt field (Autocrypt Level 1, 2.1) for @addr, folded. */
static char *
autocrypt_field (const MpCryptoOptions *opts, Msg *m, GError **error)
{
	const char *who;
	gpgme_ctx_t ctx;
	gpgme_key_t key;
	gpgme_data_t d;
	gpgme_error_t err;
	char *buf;
	size_t len;
	g_autofree char *b64 = NULL;
	g_autofree char *addr = NULL;
	GString *s;

	if (m->from->len == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: --autocrypt needs a From address");
		return NULL;
	}
	addr = g_strdup (m->from->pdata[0]);
	who = opts->local_user ? opts->local_user : addr;
	ctx = mp_crypto_ctx_with_secret_key (opts, MP_CRYPTO_OPENPGP, NULL, who,
					     &key, error);
	if (ctx == NULL)
		return NULL;
	gpgme_data_new (&d);
	gpgme_set_armor (ctx, 0);
	err = gpgme_op_export (ctx, key->fpr, GPGME_EXPORT_MODE_MINIMAL, d);
	gpgme_key_unref (key);
	gpgme_release (ctx);
	buf = gpgme_data_release_and_get_mem (d, &len);
	if (err || len == 0) {
		gpgme_free (buf);
		mp_crypto_set_gpg_error (
			error, err ? err : gpgme_error (GPG_ERR_NO_DATA), who);
		return NULL;
	}
	b64 = g_base64_encode ((const guchar *) buf, len);
	gpgme_free (buf);
	s = g_string_new (NULL);
	g_string_append_printf (s, "Autocrypt: addr=%s; keydata=", addr);
	for (gsize i = 0, n = strlen (b64); i < n; i += 72) {
		g_string_append (s, m->eol);
		g_string_append_c (s, ' ');
		g_string_append_len (s, b64 + i, MIN (72, n - i));
	}
	g_string_append (s, m->eol);
	return g_string_free (s, FALSE);
}

gboolean
mp_crypto_sign (MpInput *in, const MpCryptoOptions *opts, MpOutput *out,
		GError **error)
{
	Msg m;
	g_autoptr (GMimeStream) inner = NULL;
	g_autofree char *autocrypt = NULL;
	gboolean ok = FALSE;
	Sink k = { mp_output_get_stream (out), out };
	Signature sig = { NULL, NULL };

	if (!mp_crypto_msg_open (&m, in, opts, error))
		goto out;
	if (opts->autocrypt &&
	    (autocrypt = autocrypt_field (opts, &m, error)) == NULL)
		goto out;
	inner = mp_crypto_inner_stream (&m, opts->protect_headers, TRUE, error);
	if (inner == NULL)
		goto out;
	/* signed before the first byte is written: a missing key or a
	 * wrong passphrase leaves stdout empty */
	if (!sign_detached (&m, opts, inner, &sig, error))
		goto out;
	ok = mp_crypto_write_outer (&m, out, autocrypt, error) &&
	     write_signed (&m, opts, inner, &sig, &k, error);
out:
	signature_clear (&sig);
	mp_crypto_msg_clear (&m);
	return ok;
}

typedef struct {
	char *addr;
	gboolean hidden;
	char *fpr;
} Recipient;

static void
recipient_free (Recipient *r)
{
	g_free (r->addr);
	g_free (r->fpr);
	g_free (r);
}

static void
add_recipient (GPtrArray *list, const char *who, gboolean hidden)
{
	g_autofree char *addr =
		strchr (who, '@') ? mp_crypto_addr_of (who) : g_strdup (who);
	Recipient *r;

	for (guint i = 0; i < list->len; i++) {
		r = list->pdata[i];
		if (g_ascii_strcasecmp (r->addr, addr) == 0) {
			/* shown once is shown */
			r->hidden = r->hidden && hidden;
			return;
		}
	}
	r = g_new0 (Recipient, 1);
	r->addr = g_steal_pointer (&addr);
	r->hidden = hidden;
	g_ptr_array_add (list, r);
}

/* Every recipient's key, looked up before anything is written. */
static GPtrArray *
recipients (Msg *m, const MpCryptoOptions *opts, gpgme_ctx_t ctx,
	    GPtrArray **keys, GError **error)
{
	gboolean pgp = opts->protocol == MP_CRYPTO_OPENPGP;
	g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func (
		(GDestroyNotify) recipient_free);
	g_autoptr (GPtrArray) k = g_ptr_array_new_with_free_func (
		(GDestroyNotify) gpgme_key_unref);

	if (opts->recipients) {
		for (guint i = 0; opts->recipients[i]; i++)
			add_recipient (list, opts->recipients[i], FALSE);
	} else {
		for (guint i = 0; i < m->to->len; i++)
			add_recipient (list, m->to->pdata[i], FALSE);
		/* a Bcc recipient's key ID would tell the others */
		for (guint i = 0; i < m->bcc->len; i++)
			add_recipient (list, m->bcc->pdata[i], pgp);
	}
	for (guint i = 0; opts->hidden && opts->hidden[i]; i++)
		add_recipient (list, opts->hidden[i], TRUE);
	if (list->len == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: no recipient (no To, Cc or Bcc address, "
			     "and no --recipient)");
		return NULL;
	}
	if (!opts->no_encrypt_to_self) {
		const char *self = signer_of (m, opts, error);

		if (self == NULL)
			return NULL;
		add_recipient (list, self, FALSE);
	}
	for (guint i = 0; i < list->len; i++) {
		Recipient *r = list->pdata[i];
		gpgme_key_t key =
			mp_crypto_find_key (ctx, r->addr, FALSE, error);

		if (key == NULL)
			return NULL;
		r->fpr = g_strdup (key->fpr);
		g_ptr_array_add (k, key);
	}
	g_ptr_array_add (k, NULL);
	*keys = g_steal_pointer (&k);
	return g_steal_pointer (&list);
}

/* The name of the recipient whose key GPG refused, for the message. */
static const char *
refused_recipient (gpgme_ctx_t ctx, GPtrArray *list)
{
	gpgme_encrypt_result_t res = gpgme_op_encrypt_result (ctx);

	if (res == NULL || res->invalid_recipients == NULL)
		return NULL;
	for (guint i = 0; i < list->len; i++) {
		Recipient *r = list->pdata[i];

		if (res->invalid_recipients->fpr &&
		    g_ascii_strcasecmp (r->fpr, res->invalid_recipients->fpr) ==
			    0)
			return r->addr;
	}
	return res->invalid_recipients->fpr;
}

/* What is encrypted: INNER, or for S/MIME with --sign INNER signed
 * (RFC 8551 3.7: signed, then encrypted), spooled to *SIGNED_SPOOL (the
 * caller closes it); NULL with @error when signing or spooling fails */
static GMimeStream *
encrypt_source (Msg *m, const MpCryptoOptions *opts, GMimeStream *inner,
		Signature *sig, int *signed_spool, GError **error)
{
	g_autoptr (GMimeStream) sp = NULL;
	Sink sk;

	if (opts->protocol != MP_CRYPTO_SMIME || !opts->sign)
		return g_object_ref (inner);
	if (!sign_detached (m, opts, inner, sig, error))
		return NULL;
	*signed_spool = mp_crypto_spool_open (error);
	if (*signed_spool < 0)
		return NULL;
	sp = g_mime_stream_fs_new (dup (*signed_spool));
	sk.s = sp;
	sk.out = NULL;
	if (!write_signed (m, opts, inner, sig, &sk, error) ||
	    !sink_check (&sk, g_mime_stream_flush (sp), error))
		return NULL;
	return mp_crypto_spool_stream (*signed_spool);
}

/* The recipients of LIST as gpgme_op_encrypt_ext() takes them, each
 * "--hidden" (its key ID left out of the message) or "--no-hidden" and
 * its fingerprint, one a line */
static char *
encrypt_recipient_lines (GPtrArray *list)
{
	GString *rs = g_string_new (NULL);

	for (guint i = 0; i < list->len; i++) {
		Recipient *r = list->pdata[i];

		g_string_append_printf (rs, "%s\n%s\n",
					r->hidden ? "--hidden" : "--no-hidden",
					r->fpr);
	}
	return g_string_free (rs, FALSE);
}

/* Signs with the key of the sender (or --local-user) what GPGME
 * encrypts next in CTX; FALSE with @error when there is none */
static gboolean
encrypt_add_signer (gpgme_ctx_t ctx, Msg *m, const MpCryptoOptions *opts,
		    GError **error)
{
	const char *who = signer_of (m, opts, error);
	gpgme_key_t sk =
		who ? mp_crypto_find_key (ctx, who, TRUE, error) : NULL;

	if (sk == NULL)
		return FALSE;
	gpgme_signers_add (ctx, sk);
	gpgme_key_unref (sk);
	return TRUE;
}

/* Encrypts PLAIN (fed by F) into CD: OpenPGP to the recipients of LIST,
 * signed too for --sign; S/MIME to KEYS.  FALSE with @error when the key
 * to sign with is not found (nothing run), or GPG fails, naming the
 * recipient whose key it refused when that is known */
static gboolean
encrypt_run (gpgme_ctx_t ctx, Msg *m, const MpCryptoOptions *opts,
	     GPtrArray *list, GPtrArray *keys, Feed *f, gpgme_data_t plain,
	     gpgme_data_t cd, GError **error)
{
	g_autofree char *rs = NULL;
	gpgme_error_t err;
	const char *who;

	if (opts->protocol == MP_CRYPTO_SMIME) {
		err = gpgme_op_encrypt (ctx, (gpgme_key_t *) keys->pdata, 0,
					plain, cd);
	} else {
		rs = encrypt_recipient_lines (list);
		if (opts->sign && !encrypt_add_signer (ctx, m, opts, error))
			return FALSE;
		err = opts->sign ? gpgme_op_encrypt_sign_ext (ctx, NULL, rs, 0,
							      plain, cd) :
				   gpgme_op_encrypt_ext (ctx, NULL, rs, 0,
							 plain, cd);
	}
	err = mp_crypto_feed_check (f, err);
	if (!err)
		return TRUE;
	who = refused_recipient (ctx, list);
	mp_crypto_set_gpg_error (error, err, who ? who : "encryption");
	return FALSE;
}

/* RFC 8551 3.3: the body of an S/MIME message, CIPHER (enveloped-data)
 * in base64 */
static gboolean
encrypt_write_smime (Sink *k, Msg *m, GMimeStream *cipher, GError **error)
{
	return mp_crypto_put (k, error,
			      "Content-Type: application/pkcs7-mime; "
			      "smime-type=enveloped-data;",
			      m->eol, " name=\"smime.p7m\"", m->eol,
			      "Content-Transfer-Encoding: base64", m->eol,
			      "Content-Disposition: attachment; "
			      "filename=\"smime.p7m\"",
			      m->eol, m->eol, NULL) &&
	       copy_base64 (k, m, cipher, error);
}

/* RFC 3156 4: the body of a PGP/MIME message, multipart/encrypted with
 * BOUNDARY around its version part and CIPHER (armoured) */
static gboolean
encrypt_write_pgp (Sink *k, Msg *m, const char *boundary, GMimeStream *cipher,
		   GError **error)
{
	return mp_crypto_put (
		       k, error, "Content-Type: multipart/encrypted;", m->eol,
		       " protocol=\"application/pgp-encrypted\";", m->eol,
		       " boundary=\"", boundary, "\"", m->eol, m->eol,
		       "This is an OpenPGP/MIME encrypted message "
		       "(RFC 4880 and 3156)",
		       m->eol, "--", boundary, m->eol,
		       "Content-Type: application/pgp-encrypted", m->eol,
		       "Content-Description: PGP/MIME version "
		       "identification",
		       m->eol, m->eol, "Version: 1", m->eol, m->eol, "--",
		       boundary, m->eol,
		       "Content-Type: application/octet-stream; "
		       "name=\"encrypted.asc\"",
		       m->eol, "Content-Description: OpenPGP encrypted message",
		       m->eol,
		       "Content-Disposition: inline; "
		       "filename=\"encrypted.asc\"",
		       m->eol, m->eol, NULL) &&
	       copy_text (k, m, cipher, error) &&
	       mp_crypto_put (k, error, m->eol, "--", boundary, "--", m->eol,
			      NULL);
}

/* Whom the message M is encrypted for: refuses Bcc recipients S/MIME
 * would name, makes the GPGME context *CTX and the list of recipients
 * *LIST with their *KEYS; FALSE with @error */
static gboolean
encrypt_recipients (Msg *m, const MpCryptoOptions *opts, gpgme_ctx_t *ctx,
		    GPtrArray **list, GPtrArray **keys, GError **error)
{
	if (opts->protocol == MP_CRYPTO_SMIME && m->bcc->len > 0 &&
	    !opts->recipients) {
		/* CMS names every recipient's certificate */
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: S/MIME cannot hide Bcc recipients; "
			     "encrypt a copy for them with --recipient");
		return FALSE;
	}
	*ctx = mp_crypto_ctx_new (opts, opts->protocol, &m->pass, error);
	if (*ctx == NULL)
		return FALSE;
	*list = recipients (m, opts, *ctx, keys, error);
	return *list != NULL;
}

gboolean
mp_crypto_encrypt (MpInput *in, const MpCryptoOptions *opts, MpOutput *out,
		   GError **error)
{
	gboolean smime = opts->protocol == MP_CRYPTO_SMIME;
	Msg m;
	g_autoptr (GMimeStream) inner = NULL;
	g_autoptr (GMimeStream) plainsrc = NULL;
	g_autoptr (GMimeStream) cipher = NULL;
	g_autoptr (GPtrArray) list = NULL;
	g_autoptr (GPtrArray) keys = NULL;
	g_autofree char *autocrypt = NULL;
	g_autofree char *boundary = NULL;
	gpgme_ctx_t ctx = NULL;
	gpgme_data_t plain = NULL, cd = NULL;
	gboolean ok = FALSE;
	Sink k = { mp_output_get_stream (out), out };
	Signature sig = { NULL, NULL };
	int signed_spool = -1, cfd = -1;
	Feed f = { 0 };

	if (!mp_crypto_msg_open (&m, in, opts, error) ||
	    !encrypt_recipients (&m, opts, &ctx, &list, &keys, error) ||
	    (opts->autocrypt &&
	     (autocrypt = autocrypt_field (opts, &m, error)) == NULL))
		goto out;
	if (opts->protect_headers)
		m.hp_outer = mp_crypto_hp_outer_fields (&m, autocrypt);
	inner = mp_crypto_inner_stream (&m, opts->protect_headers,
					smime && opts->sign, error);
	if (inner == NULL ||
	    (plainsrc = encrypt_source (&m, opts, inner, &sig, &signed_spool,
					error)) == NULL ||
	    (cfd = mp_crypto_spool_open (error)) < 0)
		goto out;
	gpgme_set_armor (ctx, !smime);
	plain = mp_crypto_feed_data (&f, plainsrc, TRUE, opts->protocol);
	cd = mp_crypto_spool_data (cfd);
	if (!encrypt_run (ctx, &m, opts, list, keys, &f, plain, cd, error))
		goto out;
	cipher = mp_crypto_spool_stream (cfd);
	if ((opts->protect_headers && !obscure_subject (&m, error)) ||
	    !mp_crypto_write_outer (&m, out, autocrypt, error))
		goto out;
	boundary = new_boundary (&m, opts);
	ok = smime ? encrypt_write_smime (&k, &m, cipher, error) :
		     encrypt_write_pgp (&k, &m, boundary, cipher, error);
out:
	if (plain)
		gpgme_data_release (plain);
	if (cd)
		gpgme_data_release (cd);
	mp_crypto_feed_clear (&f);
	if (ctx)
		gpgme_release (ctx);
	if (cfd >= 0)
		close (cfd);
	if (signed_spool >= 0)
		close (signed_spool);
	signature_clear (&sig);
	mp_crypto_msg_clear (&m);
	return ok;
}
