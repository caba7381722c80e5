/* mp-dkim-gnutls: mp-dkim's public-key operations over GnuTLS (the table
 * of mp-dkim-crypto.h).  Built twice: into mp-dkim-linked for mime-dkim
 * and the tests, and as the module smtp-send loads on first use (with
 * MP_DKIM_CRYPTO_MODULE, exporting only its entry).  GnuTLS and libc
 * only: no GLib, no lib/core. */
#include "mp-dkim-crypto.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>

static const char *
crypto_strerror (int code)
{
	return gnutls_strerror (code);
}

static void
free_data (void *data)
{
	gnutls_free (data);
}

static int
key_import (const char *pem, size_t len, void **key)
{
	gnutls_privkey_t priv = NULL;
	gnutls_datum_t d = { (unsigned char *) pem, (unsigned) len };
	int rv;

	if ((rv = gnutls_privkey_init (&priv)) < 0)
		return rv;
	rv = gnutls_privkey_import_x509_raw (priv, &d, GNUTLS_X509_FMT_PEM,
					     NULL, 0);
	if (rv < 0) {
		gnutls_privkey_deinit (priv);
		return rv;
	}
	*key = priv;
	return 0;
}

static void
key_free (void *key)
{
	gnutls_privkey_deinit (key);
}

static int
key_kind (void *key, unsigned *bits, const char **name)
{
	int pk = gnutls_privkey_get_pk_algorithm (key, bits);

	*name = pk < 0 ? "unknown" :
			 gnutls_pk_get_name ((gnutls_pk_algorithm_t) pk);
	if (*name == NULL)
		*name = "unknown";
	if (pk == GNUTLS_PK_RSA)
		return MP_DKIM_CRYPTO_RSA;
	if (pk == GNUTLS_PK_EDDSA_ED25519)
		return MP_DKIM_CRYPTO_ED25519;
	return MP_DKIM_CRYPTO_OTHER;
}

static int
key_public (void *key, unsigned char **out, size_t *len)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t d = { NULL, 0 };
	int rv;

	if ((rv = gnutls_pubkey_init (&pub)) < 0)
		return rv;
	rv = gnutls_pubkey_import_privkey (pub, key, 0, 0);
	if (rv >= 0) {
		if (gnutls_privkey_get_pk_algorithm (key, NULL) ==
		    GNUTLS_PK_EDDSA_ED25519)
			/* RFC 8463 4.2: the raw key, not an SPKI */
			rv = gnutls_pubkey_export_ecc_raw2 (pub, NULL, &d, NULL,
							    0);
		else
			rv = gnutls_pubkey_export2 (pub, GNUTLS_X509_FMT_DER,
						    &d);
	}
	gnutls_pubkey_deinit (pub);
	if (rv < 0)
		return rv;
	*out = d.data;
	*len = d.size;
	return 0;
}

static gnutls_sign_algorithm_t
sign_algorithm (int kind)
{
	return kind == MP_DKIM_CRYPTO_ED25519 ? GNUTLS_SIGN_EDDSA_ED25519 :
						GNUTLS_SIGN_RSA_SHA256;
}

static int
sign (void *key, const void *data, size_t len, unsigned char **sig,
      size_t *sig_len)
{
	gnutls_datum_t in = { (unsigned char *) data, (unsigned) len };
	gnutls_datum_t out = { NULL, 0 };
	int kind = gnutls_privkey_get_pk_algorithm (key, NULL) ==
				   GNUTLS_PK_EDDSA_ED25519 ?
			   MP_DKIM_CRYPTO_ED25519 :
			   MP_DKIM_CRYPTO_RSA;
	int rv = gnutls_privkey_sign_data2 (key, sign_algorithm (kind), 0, &in,
					    &out);

	if (rv < 0)
		return rv;
	*sig = out.data;
	*sig_len = out.size;
	return 0;
}

static int
pub_import (int kind, const void *raw, size_t len, void **pubp, int *got,
	    unsigned *bits)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t d = { (unsigned char *) raw, (unsigned) len };
	int rv;

	*got = MP_DKIM_CRYPTO_OTHER;
	*bits = 0;
	if ((rv = gnutls_pubkey_init (&pub)) < 0)
		return rv;
	if (kind == MP_DKIM_CRYPTO_ED25519) {
		rv = gnutls_pubkey_import_ecc_raw (
			pub, GNUTLS_ECC_CURVE_ED25519, &d, NULL);
		if (rv >= 0) {
			*got = MP_DKIM_CRYPTO_ED25519;
			*bits = 256;
		}
	} else {
		rv = gnutls_pubkey_import (pub, &d, GNUTLS_X509_FMT_DER);
		if (rv >= 0 &&
		    gnutls_pubkey_get_pk_algorithm (pub, bits) == GNUTLS_PK_RSA)
			*got = MP_DKIM_CRYPTO_RSA;
	}
	if (rv < 0) {
		gnutls_pubkey_deinit (pub);
		return rv;
	}
	*pubp = pub;
	return 0;
}

static void
pub_free (void *pub)
{
	gnutls_pubkey_deinit (pub);
}

static int
verify (void *pub, const void *data, size_t len, const void *sig,
	size_t sig_len)
{
	gnutls_datum_t in = { (unsigned char *) data, (unsigned) len };
	gnutls_datum_t sd = { (unsigned char *) sig, (unsigned) sig_len };
	int kind = gnutls_pubkey_get_pk_algorithm (pub, NULL) ==
				   GNUTLS_PK_EDDSA_ED25519 ?
			   MP_DKIM_CRYPTO_ED25519 :
			   MP_DKIM_CRYPTO_RSA;

	return gnutls_pubkey_verify_data2 (pub, sign_algorithm (kind), 0, &in,
					   &sd);
}

static const MpDkimCrypto table = {
	.abi = MP_DKIM_CRYPTO_ABI,
	.version = MP_VERSION,
	.strerror = crypto_strerror,
	.free_data = free_data,
	.key_import = key_import,
	.key_free = key_free,
	.key_kind = key_kind,
	.key_public = key_public,
	.sign = sign,
	.pub_import = pub_import,
	.pub_free = pub_free,
	.verify = verify,
};

#ifdef MP_DKIM_CRYPTO_MODULE
/* the one symbol the module exports (built with -fvisibility=hidden) */
__attribute__ ((visibility ("default"))) const MpDkimCrypto *
mp_dkim_crypto_module_table (void);

const MpDkimCrypto *
mp_dkim_crypto_module_table (void)
{
	return &table;
}
#else
const MpDkimCrypto *
mp_dkim_crypto_gnutls (void)
{
	return &table;
}
#endif
