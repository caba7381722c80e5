/* mp-dkim: DKIM signatures (RFC 6376) with rsa-sha256 and ed25519-sha256
 * (RFC 8463): keys, signing over the wire form of a message (the CRLF
 * lines smtp-send transmits, before dot stuffing), and verification with
 * keys from DNS or from a table.  The body is hashed as it streams past,
 * so a message of any size costs a few buffers; the crypto is GnuTLS's
 * (linked in, or loaded from a module at the first key: mp-dkim-crypto.h),
 * the hashing GChecksum's. */
#pragma once

#include "mp-headers.h"

G_BEGIN_DECLS

typedef enum {
	MP_DKIM_RSA_SHA256,
	MP_DKIM_ED25519_SHA256,
} MpDkimAlgorithm;

/* "rsa-sha256" or "ed25519-sha256" (static). */
const char *mp_dkim_algorithm_name (MpDkimAlgorithm alg);

/* ---- keys ----------------------------------------------------------- */

typedef struct _MpDkimKey MpDkimKey;

/* Reads a private key in PEM from @path: RSA (PKCS#1 "RSA PRIVATE KEY" or
 * PKCS#8 "PRIVATE KEY") of 1024 bits or more, or Ed25519 (PKCS#8).
 * Errors: MP_ERROR_NO_INPUT when @path cannot be read; MP_ERROR_DATA,
 * naming @path, for anything else (not PEM, encrypted, another key type,
 * an RSA key under 1024 bits: RFC 8301); MP_ERROR_UNAVAILABLE when the
 * crypto module cannot be loaded (mp_dkim_crypto_get()).  Free with
 * mp_dkim_key_free(). */
MpDkimKey *mp_dkim_key_load (const char *path, GError **error);

/* Like mp_dkim_key_load() on PEM text in memory; @name is used in error
 * messages. */
MpDkimKey *mp_dkim_key_new_from_pem (const char *pem, gsize len,
				     const char *name, GError **error);

void mp_dkim_key_free (MpDkimKey *key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpDkimKey, mp_dkim_key_free)

MpDkimAlgorithm mp_dkim_key_get_algorithm (MpDkimKey *key);

/* The DNS record that publishes @key's public half, as one line
 * "SELECTOR._domainkey.DOMAIN v=DKIM1; k=rsa; p=BASE64" (the format
 * mp_dkim_table_load() reads), without a line ending.  Newly allocated.
 * Errors: MP_ERROR_SOFTWARE when GnuTLS cannot export the key. */
char *mp_dkim_key_dns_record (MpDkimKey *key, const char *selector,
			      const char *domain, GError **error);

/* ---- signing -------------------------------------------------------- */

/* The header fields signed by default, over-signed (listed once more than
 * they occur, so that none can be added after signing). NULL-terminated,
 * static. */
extern const char *const mp_dkim_default_headers[];

typedef struct _MpDkimSigner MpDkimSigner;

/* A signer for @domain (d=).  Errors: MP_ERROR_USAGE for a domain that is
 * not a host name.  Free with mp_dkim_signer_free(). */
MpDkimSigner *mp_dkim_signer_new (const char *domain, GError **error);
void mp_dkim_signer_free (MpDkimSigner *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpDkimSigner, mp_dkim_signer_free)

/* Adds one signature to make, with @key (a reference is kept: do not free
 * it before @s) under @selector (s=).  Several keys give several
 * DKIM-Signature fields (dual signing, RFC 8463 4), in the order added.
 * Errors: MP_ERROR_USAGE for a selector that is not a DNS label list. */
gboolean mp_dkim_signer_add_key (MpDkimSigner *s, const char *selector,
				 MpDkimKey *key, GError **error);

/* Like mp_dkim_signer_add_key() with the key read from @path
 * (mp_dkim_key_load()), kept by @s.  Errors: as both. */
gboolean mp_dkim_signer_add_key_file (MpDkimSigner *s, const char *selector,
				      const char *path, GError **error);

/* Sets the canonicalisation, "HEADER/BODY" or "HEADER" (body simple), each
 * "simple" or "relaxed"; the default is relaxed/relaxed.
 * Errors: MP_ERROR_USAGE. */
gboolean mp_dkim_signer_set_canon (MpDkimSigner *s, const char *canon,
				   GError **error);

/* Signs exactly the fields named in @list (colon-separated, h= as given;
 * name a field once more than it occurs to over-sign it) instead of the
 * default.  Errors: MP_ERROR_USAGE when From is missing, when Bcc is
 * named (it is removed before sending) or a name is invalid. */
gboolean mp_dkim_signer_set_headers (MpDkimSigner *s, const char *list,
				     GError **error);

/* Computes the DKIM-Signature fields for the message whose header block
 * is @h (its fields, including any added) and whose body is the rest of
 * @body from its current position (the bytes after the empty line).
 * Returns the fields, one per key, folded with @eol and each ending with
 * it, to be put in front of the header block.  Newly allocated.
 * Errors: MP_ERROR_IO when @body cannot be read, MP_ERROR_SOFTWARE when
 * GnuTLS fails to sign. */
char *mp_dkim_signer_sign (MpDkimSigner *s, MpHeaders *h, GMimeStream *body,
			   const char *eol, GError **error);

/* Signs the message @in (one RFC 5322 message, any line endings) and
 * writes it to @out: the DKIM-Signature fields first, then the message
 * unchanged but for a Date and a Message-ID (@msgid_domain on the right)
 * added at the end of its header block when it has none, so that they are
 * signed.  The body is read twice from @in (seekable), never held whole.
 * @added (may be NULL) receives the names of the fields added, "" when
 * none ("Date, Message-ID").
 * Errors: MP_ERROR_DATA for input that is not a message, has no From
 * field, starts with a line that is not a field, or whose header block is
 * not ended by an empty line; as mp_dkim_signer_sign(); those of
 * mp_output_write(). */
gboolean mp_dkim_sign_message (MpDkimSigner *s, MpInput *in, MpOutput *out,
			       char **added, GError **error);

/* Signs the final form of a message about to be sent, read from the
 * start of @message (any line endings; Date and Message-ID already
 * there): returns the values of the DKIM-Signature fields to add at the
 * top, one per key, folded with CRLF and a space, without the name and
 * the final line ending (a NULL-terminated vector, g_strfreev()).
 * Errors: MP_ERROR_DATA as mp_dkim_sign_message(); as
 * mp_dkim_signer_sign(). */
char **mp_dkim_sign_stream (MpDkimSigner *s, GMimeStream *message,
			    GError **error);

/* ---- verifying ------------------------------------------------------ */

typedef struct _MpDkimTable MpDkimTable;

/* Loads key records for offline verification: one "NAME TXT-VALUE" per
 * line (what mp_dkim_key_dns_record() writes), NAME with or without a
 * final dot; blank lines and lines starting with '#' are skipped.
 * Errors: MP_ERROR_NO_INPUT when @path cannot be read, MP_ERROR_DATA
 * naming the line of a line without a value. */
MpDkimTable *mp_dkim_table_load (const char *path, GError **error);
void mp_dkim_table_free (MpDkimTable *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MpDkimTable, mp_dkim_table_free)

typedef enum {
	MP_DKIM_PASS,
	MP_DKIM_FAIL,     /* bad signature, body changed, no such key... */
	MP_DKIM_TEMPFAIL, /* the key could not be fetched now */
} MpDkimStatus;

typedef struct {
	MpDkimStatus status;
	char *domain;    /* d=, or NULL when the field did not say */
	char *selector;  /* s=, or NULL */
	char *algorithm; /* a=, or NULL */
	char *reason;    /* why it did not pass (NULL on pass) */
} MpDkimResult;

void mp_dkim_result_free (MpDkimResult *r);

/* Verifies every DKIM-Signature field of the message @in, each on its
 * own: keys from @table when not NULL, else from DNS (TXT records through
 * GResolver).  Returns an array of MpDkimResult (free with
 * g_ptr_array_unref), in the order of the fields, empty when the message
 * has none.  A malformed signature or key record is a failed result with
 * its reason, not an error.
 * Errors: MP_ERROR_DATA when @in is not a message, MP_ERROR_IO on a read
 * error, MP_ERROR_UNAVAILABLE when the crypto module cannot be loaded. */
GPtrArray *mp_dkim_verify_message (MpInput *in, MpDkimTable *table,
				   GError **error);

/* TRUE when the header block @h holds a DKIM-Signature whose h= names the
 * field @name (case-insensitive): editing it breaks that signature. */
gboolean mp_dkim_headers_signed (MpHeaders *h, const char *name);

G_END_DECLS
