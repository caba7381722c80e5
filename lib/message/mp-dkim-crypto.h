/* mp-dkim-crypto: the public-key operations mp-dkim needs (RFC 6376
 * 3.3, RFC 8463), and where they come from.  They are GnuTLS's, reached
 * through this table so that a command that signs only now and then
 * (smtp-send, for an account with dkim-* keys) does not load GnuTLS and
 * its five libraries at every start (issue 21): mime-dkim and the tests
 * link them in (mp-dkim-linked.c), smtp-send loads them on first use from
 * a module (mp-dkim-module.c, the module built from mp-dkim-gnutls.c).
 * The table holds plain C only: the module links GnuTLS and libc, never
 * lib/core nor GLib (a second copy of core would register its GTypes
 * twice). */
#pragma once

#include <stddef.h>

/* Bumped whenever the table below changes shape or meaning. */
#define MP_DKIM_CRYPTO_ABI 1

/* The kinds of key (the values of MpDkimAlgorithm, mp-dkim.h). */
enum {
	MP_DKIM_CRYPTO_OTHER = -1, /* a key DKIM does not sign with */
	MP_DKIM_CRYPTO_RSA = 0,    /* rsa-sha256 */
	MP_DKIM_CRYPTO_ED25519 = 1 /* ed25519-sha256 */
};

/* Every function returning int answers 0 or more on success and a
 * negative code on failure, which strerror() describes.  Keys are opaque.
 * What key_public() and sign() return is freed with free_data(). */
typedef struct {
	unsigned abi;        /* MP_DKIM_CRYPTO_ABI */
	const char *version; /* MP_VERSION of the build that made it */
	const char *(*strerror) (int code);
	void (*free_data) (void *data);

	/* a private key in PEM (PKCS#1 or PKCS#8, unencrypted) */
	int (*key_import) (const char *pem, size_t len, void **key);
	void (*key_free) (void *key);
	/* MP_DKIM_CRYPTO_*; @bits its size; @name (static) its algorithm's
	 * name, for MP_DKIM_CRYPTO_OTHER ("unknown" when none) */
	int (*key_kind) (void *key, unsigned *bits, const char **name);
	/* the public half as DKIM publishes it (p=): the DER
	 * SubjectPublicKeyInfo of an RSA key, the raw 32 bytes of an Ed25519
	 * key (RFC 8463 4.2) */
	int (*key_public) (void *key, unsigned char **out, size_t *len);
	/* RSA: PKCS#1 v1.5 over the SHA-256 of @data; Ed25519: PureEdDSA
	 * over @data (mp-dkim hands it the SHA-256, RFC 8463 3) */
	int (*sign) (void *key, const void *data, size_t len,
		     unsigned char **sig, size_t *sig_len);

	/* a public key of @kind from a key record's p= (as key_public()
	 * writes it); *@got the kind found (an SPKI may hold another), @bits
	 * its size */
	int (*pub_import) (int kind, const void *raw, size_t len, void **pub,
			   int *got, unsigned *bits);
	void (*pub_free) (void *pub);
	/* 0 when @sig is @pub's signature of @data (as sign() makes it) */
	int (*verify) (void *pub, const void *data, size_t len, const void *sig,
		       size_t sig_len);
} MpDkimCrypto;

/* The name of the function a module exports, returning its table. */
#define MP_DKIM_CRYPTO_ENTRY "mp_dkim_crypto_module_table"
typedef const MpDkimCrypto *(*MpDkimCryptoEntry) (void);

/* GnuTLS's table (mp-dkim-gnutls.c). */
const MpDkimCrypto *mp_dkim_crypto_gnutls (void);

#ifndef MP_DKIM_CRYPTO_MODULE
#include <glib.h>

/* The table mp-dkim uses: GnuTLS's when linked in (mp-dkim-linked.c),
 * else the module's, loaded on the first call (mp-dkim-module.c: next to
 * the executable, then in the installed libdir/mimepipe).  Thread-safe;
 * the module stays loaded.  Errors (the module's): MP_ERROR_UNAVAILABLE
 * naming the module file, when it is missing, cannot be loaded or belongs
 * to another version. */
const MpDkimCrypto *mp_dkim_crypto_get (GError **error);
#endif
