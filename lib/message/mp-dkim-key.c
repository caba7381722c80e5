/* mp-dkim-key: DKIM signing keys (RSA of at least RSA_MIN_BITS, Ed25519)
 * read from PEM files, through mp-dkim-crypto. */
#include "mp-dkim-private.h"
#include "mp-error.h"
#include "mp-io.h"
#include "mp-secret.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- keys ----------------------------------------------------------- */

/* the kinds of key of mp-dkim-crypto.h are MpDkimAlgorithm's values */
G_STATIC_ASSERT (MP_DKIM_CRYPTO_RSA == (int) MP_DKIM_RSA_SHA256);
G_STATIC_ASSERT (MP_DKIM_CRYPTO_ED25519 == (int) MP_DKIM_ED25519_SHA256);

void
mp_dkim_key_free (MpDkimKey *key)
{
	if (key == NULL)
		return;
	if (key->priv)
		key->crypto->key_free (key->priv);
	g_free (key->name);
	g_free (key);
}

MpDkimAlgorithm
mp_dkim_key_get_algorithm (MpDkimKey *key)
{
	return key->alg;
}

MpDkimKey *
mp_dkim_key_new_from_pem (const char *pem, gsize len, const char *name,
			  GError **error)
{
	g_autoptr (MpDkimKey) key = g_new0 (MpDkimKey, 1);
	const char *pk_name = NULL;
	unsigned bits = 0;
	int rv, pk;

	key->name = g_strdup (name);
	if (g_strstr_len (pem, (gssize) len, "-----BEGIN ") == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: not a PEM private key", name);
		return NULL;
	}
	if (g_strstr_len (pem, (gssize) len, "ENCRYPTED") != NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: the key is encrypted (give it unencrypted, "
			     "readable only by you)",
			     name);
		return NULL;
	}
	/* GnuTLS, linked in or loaded now (mp-dkim-crypto.h) */
	key->crypto = mp_dkim_crypto_get (error);
	if (key->crypto == NULL)
		return NULL;
	if ((rv = key->crypto->key_import (pem, len, &key->priv)) < 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: not a usable private key: %s", name,
			     key->crypto->strerror (rv));
		return NULL;
	}
	pk = key->crypto->key_kind (key->priv, &bits, &pk_name);
	if (pk == MP_DKIM_CRYPTO_RSA) {
		if (bits < RSA_MIN_BITS) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: RSA key of %u bits: DKIM needs at "
				     "least %d (RFC 8301), 2048 recommended",
				     name, bits, RSA_MIN_BITS);
			return NULL;
		}
		key->alg = MP_DKIM_RSA_SHA256;
	} else if (pk == MP_DKIM_CRYPTO_ED25519) {
		key->alg = MP_DKIM_ED25519_SHA256;
	} else {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: a %s key: DKIM signs with RSA or Ed25519",
			     name, pk_name);
		return NULL;
	}
	return g_steal_pointer (&key);
}

MpDkimKey *
mp_dkim_key_load (const char *path, GError **error)
{
	g_autofree char *data = NULL;
	MpDkimKey *key;
	struct stat st;
	gssize n;
	int fd;

	fd = open (path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		mp_error_set_errno (error, MP_ERROR_NO_INPUT, errno, path);
		return NULL;
	}
	if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode)) {
		close (fd);
		g_set_error (error, MP_ERROR, MP_ERROR_NO_INPUT,
			     "%s: not a regular file", path);
		return NULL;
	}
	if (st.st_size > KEY_FILE_MAX) {
		close (fd);
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: %lld bytes: too large for a key", path,
			     (long long) st.st_size);
		return NULL;
	}
	data = g_malloc (KEY_FILE_MAX + 1);
	n = mp_io_read (fd, data, KEY_FILE_MAX);
	if (n < 0) {
		int errsv = errno;

		close (fd);
		mp_error_set_errno (error, MP_ERROR_NO_INPUT, errsv, path);
		return NULL;
	}
	close (fd);
	data[n] = '\0';
	key = mp_dkim_key_new_from_pem (data, (gsize) n, path, error);
	mp_secret_free_len (g_steal_pointer (&data), (gsize) n);
	return key;
}

char *
mp_dkim_key_dns_record (MpDkimKey *key, const char *selector,
			const char *domain, GError **error)
{
	unsigned char *d = NULL;
	size_t len = 0;
	g_autofree char *b64 = NULL;
	int rv;

	/* RFC 8463 4.2: an Ed25519 key is published raw, not as an SPKI */
	if ((rv = key->crypto->key_public (key->priv, &d, &len)) < 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_SOFTWARE,
			     "%s: cannot export the public key: %s", key->name,
			     key->crypto->strerror (rv));
		return NULL;
	}
	b64 = mp_dkim_crypto_b64 (key->crypto, d, len);
	return g_strdup_printf (
		"%s._domainkey.%s v=DKIM1; k=%s; p=%s", selector, domain,
		key->alg == MP_DKIM_RSA_SHA256 ? "rsa" : "ed25519", b64);
}

char *
mp_dkim_sign_data (MpDkimKey *key, GByteArray *data, GError **error)
{
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	guint8 digest[32];
	gsize dlen = sizeof digest;
	int rv;

	if (key->alg == MP_DKIM_ED25519_SHA256) {
		g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);

		g_checksum_update (sum, data->data, data->len);
		g_checksum_get_digest (sum, digest, &dlen);
		rv = key->crypto->sign (key->priv, digest, dlen, &sig,
					&sig_len);
	} else {
		rv = key->crypto->sign (key->priv, data->data, data->len, &sig,
					&sig_len);
	}
	if (rv < 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_SOFTWARE,
			     "%s: signing failed: %s", key->name,
			     key->crypto->strerror (rv));
		return NULL;
	}
	return mp_dkim_crypto_b64 (key->crypto, sig, sig_len);
}
