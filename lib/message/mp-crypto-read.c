/* mp-crypto-read: decrypting and verifying (RFC 3156, RFC 8551). */
#include "mp-crypto-private.h"
#include "mp-error.h"
#include "mp-headers.h"

#include <gpgme.h>
#include <string.h>
#include <unistd.h>

/* ---- decrypting and verifying ------------------------------------------- */

void
mp_crypto_signature_free (MpCryptoSignature *sig)
{
	if (sig == NULL)
		return;
	g_free (sig->status);
	g_free (sig->signer);
	g_free (sig->fingerprint);
	g_free (sig->validity);
	g_free (sig);
}

static const char *
validity_name (gpgme_validity_t v)
{
	switch (v) {
	case GPGME_VALIDITY_NEVER:
		return "never";
	case GPGME_VALIDITY_MARGINAL:
		return "marginal";
	case GPGME_VALIDITY_FULL:
		return "full";
	case GPGME_VALIDITY_ULTIMATE:
		return "ultimate";
	default:
		return "unknown";
	}
}

static const char *
status_name (gpgme_signature_t s)
{
	switch (gpgme_err_code (s->status)) {
	case GPG_ERR_NO_ERROR:
		return (s->summary & GPGME_SIGSUM_RED) ? "bad" : "good";
	case GPG_ERR_BAD_SIGNATURE:
		return "bad";
	case GPG_ERR_NO_PUBKEY:
		return "no-key";
	case GPG_ERR_SIG_EXPIRED:
	case GPG_ERR_KEY_EXPIRED:
	case GPG_ERR_CERT_EXPIRED:
		return "expired";
	case GPG_ERR_CERT_REVOKED:
		return "revoked";
	default:
		return "error";
	}
}

/* Appends the signatures of the last verify operation of @ctx. */
static void
collect_signatures (gpgme_ctx_t ctx, GPtrArray *sigs)
{
	gpgme_verify_result_t res = gpgme_op_verify_result (ctx);

	for (gpgme_signature_t s = res ? res->signatures : NULL; s;
	     s = s->next) {
		MpCryptoSignature *sig = g_new0 (MpCryptoSignature, 1);
		gpgme_key_t key = NULL;

		sig->status = g_strdup (status_name (s));
		sig->good = strcmp (sig->status, "good") == 0;
		sig->fingerprint = g_strdup (s->fpr ? s->fpr : "unknown");
		sig->validity = g_strdup (validity_name (s->validity));
		sig->time = s->timestamp;
		if (s->fpr && gpgme_get_key (ctx, s->fpr, &key, 0) == 0) {
			for (gpgme_user_id_t u = key->uids; u; u = u->next)
				if (u->email && *u->email) {
					/* gpgsm gives "<addr>" */
					sig->signer =
						mp_crypto_addr_of (u->email);
					break;
				}
			gpgme_key_unref (key);
		}
		if (sig->signer == NULL)
			sig->signer = g_strdup ("unknown");
		g_ptr_array_add (sigs, sig);
	}
}

/* The decoded body of @e, which must be small (a signature). */
static GMimeStream *
small_body (GMimeStream *s, Entity *e, GError **error)
{
	g_autoptr (GMimeStream) sub = NULL;
	g_autoptr (GMimeStream) fs = NULL;
	GMimeStream *mem;
	GMimeContentEncoding enc =
		g_mime_content_encoding_from_string (e->cte ? e->cte : "7bit");

	if (e->end - e->body > MAX_SIGNATURE) {
		g_set_error (
			error, MP_ERROR, MP_ERROR_DATA,
			"stdin: the signature part is too large to be one");
		return NULL;
	}
	sub = g_mime_stream_substream (s, e->body, e->end);
	fs = g_mime_stream_filter_new (sub);
	if (enc == GMIME_CONTENT_ENCODING_BASE64 ||
	    enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
	    enc == GMIME_CONTENT_ENCODING_UUENCODE) {
		g_autoptr (GMimeFilter) f =
			g_mime_filter_basic_new (enc, FALSE);

		g_mime_stream_filter_add (GMIME_STREAM_FILTER (fs), f);
	}
	mem = g_mime_stream_mem_new ();
	if (g_mime_stream_write_to_stream (fs, mem) < 0) {
		g_object_unref (mem);
		g_set_error (error, MP_ERROR, MP_ERROR_IO, "stdin: read error");
		return NULL;
	}
	g_mime_stream_reset (mem);
	return mem;
}

static gboolean
verify_signed (GMimeStream *s, Entity *e, const MpCryptoOptions *opts,
	       GPtrArray *sigs, GError **error)
{
	const char *proto =
		g_mime_content_type_get_parameter (e->type, "protocol");
	MpCryptoProtocol p;
	g_autoptr (GMimeStream) sigstream = NULL;
	g_autoptr (GMimeStream) signed_part = NULL;
	gpgme_ctx_t ctx;
	gpgme_data_t sd, td;
	gpgme_error_t err;
	Feed sf, tf;
	guint before = sigs->len;

	if (e->kids->len != 2) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: a multipart/signed with %u parts (it "
			     "needs the signed part and the signature)",
			     e->kids->len);
		return FALSE;
	}
	/* x-pgp-signature: what some clients wrote before RFC 3156 */
	if (proto &&
	    (g_ascii_strcasecmp (proto, "application/pgp-signature") == 0 ||
	     g_ascii_strcasecmp (proto, "application/x-pgp-signature") == 0))
		p = MP_CRYPTO_OPENPGP;
	else if (proto &&
		 (g_ascii_strcasecmp (proto, "application/pkcs7-signature") ==
			  0 ||
		  g_ascii_strcasecmp (proto, "application/x-pkcs7-signature") ==
			  0))
		p = MP_CRYPTO_SMIME;
	else {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: multipart/signed with unknown protocol "
			     "%s",
			     proto ? proto : "(none)");
		return FALSE;
	}
	sigstream = small_body (s, e->kids->pdata[1], error);
	if (sigstream == NULL)
		return FALSE;
	ctx = mp_crypto_ctx_new (opts, p, NULL, error);
	if (ctx == NULL)
		return FALSE;
	signed_part = g_mime_stream_substream (
		s, ((Entity *) e->kids->pdata[0])->start,
		((Entity *) e->kids->pdata[0])->end);
	sd = mp_crypto_feed_data (&sf, sigstream, FALSE, p);
	td = mp_crypto_feed_data (&tf, signed_part, TRUE, p);
	err = gpgme_op_verify (ctx, sd, td, NULL);
	gpgme_data_release (sd);
	gpgme_data_release (td);
	err = mp_crypto_feed_check (&tf, mp_crypto_feed_check (&sf, err));
	mp_crypto_feed_clear (&sf);
	mp_crypto_feed_clear (&tf);
	if (!err)
		collect_signatures (ctx, sigs);
	gpgme_release (ctx);
	if (err || sigs->len == before) {
		mp_crypto_set_gpg_error (
			error, err ? err : gpgme_error (GPG_ERR_NO_DATA),
			"stdin: the signature part");
		return FALSE;
	}
	return TRUE;
}

/* An application/pkcs7-mime; smime-type=signed-data leaf: the signed
 * entity travels inside the CMS object (RFC 8551 3.5.2). */
static gboolean
is_opaque_signed (Entity *e)
{
	return e->kids == NULL && !mp_crypto_type_is (e, "multipart", "*") &&
	       mp_crypto_entity_kind (e->type) == MP_CRYPTO_SIGNED;
}

/* Checks the opaque signed-data @e with gpgsm (its signatures go to
 * @sigs) and returns the entity it holds, written to a spool file. */
static GMimeStream *
opaque_to_spool (GMimeStream *s, Entity *e, const MpCryptoOptions *opts,
		 GPtrArray *sigs, GError **error)
{
	g_autoptr (GMimeStream) sub =
		g_mime_stream_substream (s, e->body, e->end);
	g_autoptr (GMimeStream) src = g_mime_stream_filter_new (sub);
	gpgme_ctx_t ctx;
	gpgme_data_t sd, pd;
	gpgme_error_t err;
	guint before = sigs->len;
	GMimeStream *ps;
	Feed f;
	int fd;

	if (e->cte && strcmp (e->cte, "base64") == 0) {
		g_autoptr (GMimeFilter) b64 = g_mime_filter_basic_new (
			GMIME_CONTENT_ENCODING_BASE64, FALSE);

		g_mime_stream_filter_add (GMIME_STREAM_FILTER (src), b64);
	}
	fd = mp_crypto_op_begin (opts, MP_CRYPTO_SMIME, NULL, &ctx, error);
	if (fd < 0)
		return NULL;
	sd = mp_crypto_feed_data (&f, src, FALSE, MP_CRYPTO_SMIME);
	pd = mp_crypto_spool_data (fd);
	err = gpgme_op_verify (ctx, sd, NULL, pd);
	gpgme_data_release (sd);
	gpgme_data_release (pd);
	err = mp_crypto_feed_check (&f, err);
	mp_crypto_feed_clear (&f);
	if (!err)
		collect_signatures (ctx, sigs);
	gpgme_release (ctx);
	if (err || sigs->len == before) {
		close (fd);
		mp_crypto_set_gpg_error (
			error, err ? err : gpgme_error (GPG_ERR_NO_DATA),
			"stdin: the S/MIME signed-data");
		return NULL;
	}
	ps = mp_crypto_spool_stream (fd);
	close (fd);
	return ps;
}

static gboolean
verify_tree (GMimeStream *s, Entity *e, const MpCryptoOptions *opts,
	     GPtrArray *sigs, int depth, GError **error)
{
	if (depth > MAX_DEPTH) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: signed parts nested too deep");
		return FALSE;
	}
	/* a signed message signed again: the inner signature too */
	if (mp_crypto_type_is (e, "multipart", "signed"))
		return verify_signed (s, e, opts, sigs, error) &&
		       verify_tree (s, e->kids->pdata[0], opts, sigs, depth + 1,
				    error);
	if (is_opaque_signed (e)) {
		g_autoptr (GMimeStream) plain =
			opaque_to_spool (s, e, opts, sigs, error);
		g_autoptr (Entity) k = NULL;

		if (plain == NULL)
			return FALSE;
		k = mp_crypto_entity_parse (
			plain, 0, g_mime_stream_length (plain), 0, error);
		return k &&
		       verify_tree (plain, k, opts, sigs, depth + 1, error);
	}
	for (guint i = 0; e->kids && i < e->kids->len; i++)
		if (!verify_tree (s, e->kids->pdata[i], opts, sigs, depth + 1,
				  error))
			return FALSE;
	return TRUE;
}

/* RFC 3156 4: the ciphertext of the PGP/MIME message M (TOP, its
 * multipart/encrypted entity), its second part; NULL with @error when
 * TOP is not made so */
static GMimeStream *
decrypt_pgp_source (Msg *m, Entity *top, GError **error)
{
	const char *proto =
		g_mime_content_type_get_parameter (top->type, "protocol");
	Entity *c;

	if (proto == NULL ||
	    g_ascii_strcasecmp (proto, "application/pgp-encrypted") != 0 ||
	    top->kids->len != 2) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: not a PGP/MIME encrypted message "
			     "(RFC 3156 4)");
		return NULL;
	}
	c = top->kids->pdata[1];
	return g_mime_stream_substream (m->stream, c->body, c->end);
}

/* RFC 8551 3.3: the ciphertext of the S/MIME message M (TOP, its
 * application/pkcs7-mime entity), its body decoded from base64; NULL
 * with @error when its smime-type is not enveloped-data */
static GMimeStream *
decrypt_smime_source (Msg *m, Entity *top, GError **error)
{
	g_autoptr (GMimeStream) sub =
		g_mime_stream_substream (m->stream, top->body, m->size);
	g_autoptr (GMimeFilter) b64 =
		g_mime_filter_basic_new (GMIME_CONTENT_ENCODING_BASE64, FALSE);
	const char *st =
		g_mime_content_type_get_parameter (top->type, "smime-type");
	GMimeStream *src;

	if (st && g_ascii_strcasecmp (st, "enveloped-data") != 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: S/MIME %s is not encrypted", st);
		return NULL;
	}
	src = g_mime_stream_filter_new (sub);
	if (top->cte && strcmp (top->cte, "base64") == 0)
		g_mime_stream_filter_add (GMIME_STREAM_FILTER (src), b64);
	return src;
}

/* Decrypts SRC (protocol P) to a new spool file, and with OpenPGP puts
 * the signatures of a message signed and encrypted in one pass in SIGS
 * (may be NULL).  Returns the spool's descriptor, or -1 with @error */
static int
decrypt_run (Msg *m, const MpCryptoOptions *opts, MpCryptoProtocol p,
	     GMimeStream *src, GPtrArray *sigs, GError **error)
{
	gpgme_ctx_t ctx;
	gpgme_data_t cd, pd;
	gpgme_error_t err;
	Feed f;
	int fd = mp_crypto_op_begin (opts, p, &m->pass, &ctx, error);

	if (fd < 0)
		return -1;
	cd = mp_crypto_feed_data (&f, src, FALSE, p);
	pd = mp_crypto_spool_data (fd);
	if (p == MP_CRYPTO_OPENPGP)
		err = gpgme_op_decrypt_verify (ctx, cd, pd);
	else
		err = gpgme_op_decrypt (ctx, cd, pd);
	gpgme_data_release (cd);
	gpgme_data_release (pd);
	err = mp_crypto_feed_check (&f, err);
	mp_crypto_feed_clear (&f);
	if (!err && sigs && p == MP_CRYPTO_OPENPGP)
		collect_signatures (ctx, sigs);
	gpgme_release (ctx);
	if (!err)
		return fd;
	close (fd);
	if (gpgme_err_code (err) == GPG_ERR_NO_SECKEY ||
	    gpgme_err_code (err) == GPG_ERR_DECRYPT_FAILED)
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: cannot be decrypted: %s (no "
			     "secret key for it here?)",
			     gpgme_strerror (err));
	else
		mp_crypto_set_gpg_error (error, err, "stdin");
	return -1;
}

/* Decrypts the message of @m to a spool file; with OpenPGP the
 * signatures of a message signed and encrypted in one pass go to @sigs.
 * Returns the plaintext stream (the decrypted entity). */
static GMimeStream *
decrypt_to_spool (Msg *m, const MpCryptoOptions *opts, GPtrArray *sigs,
		  GError **error)
{
	Entity *top = m->top;
	g_autoptr (GMimeStream) src = NULL;
	MpCryptoProtocol p;
	GMimeStream *ps;
	int fd;

	if (mp_crypto_type_is (top, "multipart", "encrypted")) {
		src = decrypt_pgp_source (m, top, error);
		p = MP_CRYPTO_OPENPGP;
	} else if (mp_crypto_entity_kind (top->type) == MP_CRYPTO_ENCRYPTED &&
		   !mp_crypto_type_is (top, "multipart", "*")) {
		src = decrypt_smime_source (m, top, error);
		p = MP_CRYPTO_SMIME;
	} else {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: the message is not encrypted");
		return NULL;
	}
	if (src == NULL)
		return NULL;
	fd = decrypt_run (m, opts, p, src, sigs, error);
	if (fd < 0)
		return NULL;
	ps = mp_crypto_spool_stream (fd);
	close (fd);
	return ps;
}

GPtrArray *
mp_crypto_verify (MpInput *in, const MpCryptoOptions *opts, GError **error)
{
	g_autoptr (GPtrArray) sigs = g_ptr_array_new_with_free_func (
		(GDestroyNotify) mp_crypto_signature_free);
	Msg m;
	gboolean ok = FALSE;

	if (!mp_crypto_msg_open (&m, in, opts, error))
		goto out;
	if (mp_crypto_entity_kind (m.top->type) == MP_CRYPTO_ENCRYPTED &&
	    !mp_crypto_type_is (m.top, "multipart", "signed")) {
		g_autoptr (GMimeStream) plain =
			decrypt_to_spool (&m, opts, sigs, error);
		g_autoptr (Entity) e = NULL;

		if (plain == NULL)
			goto out;
		e = mp_crypto_entity_parse (
			plain, 0, g_mime_stream_length (plain), 0, error);
		ok = e && verify_tree (plain, e, opts, sigs, 0, error);
	} else {
		ok = verify_tree (m.stream, m.top, opts, sigs, 0, error);
	}
out:
	mp_crypto_msg_clear (&m);
	return ok ? g_steal_pointer (&sigs) : NULL;
}

/* The plaintext of the message M: an opaque S/MIME signed entity
 * unwrapped (RFC 8551 3.5.2), else the message decrypted; NULL with
 * @error, also when an S/MIME signature is bad (changed content is not
 * passed on as if it were the sender's; an unknown signer is
 * mime-verify's answer) */
static GMimeStream *
decrypt_plaintext (Msg *m, const MpCryptoOptions *opts, GError **error)
{
	g_autoptr (GPtrArray) sigs = NULL;
	GMimeStream *plain;

	if (!is_opaque_signed (m->top))
		return decrypt_to_spool (m, opts, NULL, error);
	sigs = g_ptr_array_new_with_free_func (
		(GDestroyNotify) mp_crypto_signature_free);
	plain = opaque_to_spool (m->stream, m->top, opts, sigs, error);
	for (guint i = 0; plain && i < sigs->len; i++) {
		MpCryptoSignature *sig = sigs->pdata[i];

		if (strcmp (sig->status, "bad") == 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "stdin: the S/MIME signature by "
				     "%s is bad (the content was "
				     "changed): not unwrapped",
				     sig->signer);
			g_clear_object (&plain);
		}
	}
	return plain;
}

/* Reads the header block of the decrypted entity E of PLAIN, without its
 * empty line, into *IH (NULL when it is empty); FALSE with @error when
 * it is too large, cannot be read or parsed */
static gboolean
decrypt_inner_headers (GMimeStream *plain, Entity *e, MpHeaders **ih,
		       GError **error)
{
	gsize hlen = (gsize) e->body;
	g_autofree char *block = NULL;

	*ih = NULL;
	if (hlen > MP_HEADERS_MAX_BLOCK) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "stdin: decrypted header block too large");
		return FALSE;
	}
	block = g_malloc (hlen + 1);
	if (g_mime_stream_seek (plain, 0, GMIME_STREAM_SEEK_SET) != 0 ||
	    g_mime_stream_read (plain, block, hlen) != (gssize) hlen) {
		g_set_error (error, MP_ERROR, MP_ERROR_IO,
			     "temporary file: read error");
		return FALSE;
	}
	while (hlen > 0 && (block[hlen - 1] == '\n' || block[hlen - 1] == '\r'))
		hlen--;
	if (hlen == 0)
		return TRUE;
	*ih = mp_headers_parse (block, hlen, error);
	return *ih != NULL;
}

/* The inner fields IH of the decrypted entity E lose their HP-Outer
 * fields; with protected headers (RFC 9788 4.3) they are the real ones
 * and replace the outer fields of M with the same name */
static void
decrypt_merge_headers (Msg *m, MpHeaders *ih, Entity *e)
{
	gboolean protect = g_mime_content_type_get_parameter (
				   e->type, "protected-headers") != NULL;
	guint n;

	mp_headers_delete (ih, "HP-Outer");
	n = mp_headers_get_n_entries (ih);
	for (guint i = 0; protect && i < n; i++) {
		const char *name = mp_headers_get_name (ih, i);

		if (name && !mp_crypto_is_content_field (name))
			mp_headers_delete (m->headers, name);
	}
}

/* Writes the inner fields IH to K, each ending in a line break, through
 * EOLF (NULL: as they are); FALSE with @error */
static gboolean
decrypt_write_headers (Sink *k, MpHeaders *ih, GMimeFilter *eolf,
		       GError **error)
{
	g_autoptr (GMimeStream) hs = g_mime_stream_mem_new ();
	g_autoptr (GString) s = g_string_new (NULL);
	guint n = mp_headers_get_n_entries (ih);

	for (guint i = 0; i < n; i++) {
		gsize len;
		const char *p = mp_headers_get_bytes (ih, i, &len);

		g_string_append_len (s, p, len);
		if (len == 0 || p[len - 1] != '\n')
			g_string_append (s, "\r\n");
	}
	g_mime_stream_write (hs, s->str, s->len);
	return mp_crypto_copy (k, hs, eolf, NULL, error);
}

gboolean
mp_crypto_decrypt (MpInput *in, const MpCryptoOptions *opts, MpOutput *out,
		   GError **error)
{
	Msg m;
	g_autoptr (GMimeStream) plain = NULL;
	g_autoptr (Entity) e = NULL;
	g_autoptr (MpHeaders) ih = NULL;
	g_autoptr (GMimeStream) body = NULL;
	g_autoptr (GMimeFilter) eolf = NULL;
	gboolean ok = FALSE;
	Sink k = { mp_output_get_stream (out), out };

	if (!mp_crypto_msg_open (&m, in, opts, error))
		goto out;
	plain = decrypt_plaintext (&m, opts, error);
	if (plain == NULL)
		goto out;
	e = mp_crypto_entity_parse (plain, 0, g_mime_stream_length (plain), 0,
				    error);
	if (e == NULL || !decrypt_inner_headers (plain, e, &ih, error))
		goto out;
	if (ih)
		decrypt_merge_headers (&m, ih, e);
	if (!mp_crypto_write_outer (&m, out, NULL, error))
		goto out;
	if (!m.crlf)
		eolf = g_mime_filter_dos2unix_new (FALSE);
	if ((ih && !decrypt_write_headers (&k, ih, eolf, error)) ||
	    !mp_crypto_put (&k, error, m.eol, NULL))
		goto out;
	body = g_mime_stream_substream (plain, e->body,
					g_mime_stream_length (plain));
	ok = mp_crypto_copy (&k, body, eolf, NULL, error);
out:
	mp_crypto_msg_clear (&m);
	return ok;
}
