/* mp-crypto: signing and encryption of a whole message as a pipeline
 * stage: PGP/MIME (RFC 3156) and S/MIME (RFC 8551), with keys from the
 * user's GnuPG home through GPGME (gpg for OpenPGP, gpgsm for CMS).
 *
 * The message's own header fields stay outside, byte for byte; its
 * Content-* fields and body become the signed or encrypted entity.  The
 * bulk never sits in memory: the entity is fed to GPGME from the input
 * (or a spool file) through a callback that canonicalises line endings
 * (RFC 3156 5, RFC 8551 3.1.1), and the ciphertext goes to an unlinked
 * temporary file. */
#pragma once

#include "mp-autoptr.h"
#include "mp-headers.h"
#include "mp-io.h"

G_BEGIN_DECLS

typedef enum {
	MP_CRYPTO_OPENPGP, /* PGP/MIME, gpg */
	MP_CRYPTO_SMIME,   /* S/MIME, gpgsm */
} MpCryptoProtocol;

/* What a message (or a Content-Type) says it is. */
typedef enum {
	MP_CRYPTO_PLAIN,
	MP_CRYPTO_SIGNED,    /* multipart/signed, pkcs7-mime signed-data */
	MP_CRYPTO_ENCRYPTED, /* multipart/encrypted, pkcs7-mime enveloped */
} MpCryptoKind;

/* One request; zero-initialise and set what applies.  Strings and arrays
 * are borrowed. */
typedef struct {
	MpCryptoProtocol protocol;
	const char *homedir;    /* NULL: GNUPGHOME or ~/.gnupg */
	const char *local_user; /* signer; NULL: the From address */
	char **recipients;      /* NULL-terminated; NULL: To, Cc, Bcc */
	char **hidden;          /* hidden recipients (OpenPGP only) */
	gboolean sign;          /* encrypt: sign too */
	gboolean no_encrypt_to_self;
	gboolean protect_headers; /* RFC 9788 */
	gboolean autocrypt;       /* add the sender's Autocrypt field */
	const char *passphrase_file;
	int passphrase_fd; /* -1: none (the agent asks) */
	const char *seed;  /* boundaries, see mp-random.h */
} MpCryptoOptions;

/* Checks that the options go together: one passphrase source; no
 * passphrase file or descriptor, --autocrypt or hidden recipients with
 * S/MIME (gpgsm asks the agent; CMS names every recipient).
 * Errors: MP_ERROR_USAGE naming the options. */
gboolean mp_crypto_check_options (const MpCryptoOptions *opts, GError **error);

/* Signs the message of @in and writes the multipart/signed message to
 * @out.  8bit and binary leaves are transfer-encoded first (quoted-
 * printable for text, base64 otherwise).  The signer is
 * @opts->local_user, else the From address.
 * Errors: MP_ERROR_DATA for malformed input or a signer without a usable
 * secret key (naming it), MP_ERROR_NO_PERM for a wrong passphrase,
 * MP_ERROR_CONFIG when GnuPG cannot be started, MP_ERROR_IO. */
gboolean mp_crypto_sign (MpInput *in, const MpCryptoOptions *opts,
			 MpOutput *out, GError **error);

/* Encrypts the message of @in (signing it too with @opts->sign) and
 * writes the encrypted message to @out.  Every recipient's key is looked
 * up before anything is written.  Errors: as mp_crypto_sign(), and
 * MP_ERROR_DATA naming a recipient without a usable key, or when there is
 * no recipient at all. */
gboolean mp_crypto_encrypt (MpInput *in, const MpCryptoOptions *opts,
			    MpOutput *out, GError **error);

/* Decrypts the encrypted message of @in and writes the message it holds
 * to @out: the outer header fields (or, with RFC 9788 protected headers,
 * the inner ones, HP-Outer left out) and the decrypted entity.  An opaque
 * S/MIME signed-data message is unwrapped the same way.
 * Errors: MP_ERROR_DATA when the message is not encrypted, is malformed,
 * no secret key opens it, or an opaque signature is bad;
 * MP_ERROR_NO_PERM for a wrong passphrase. */
gboolean mp_crypto_decrypt (MpInput *in, const MpCryptoOptions *opts,
			    MpOutput *out, GError **error);

/* One signature found by mp_crypto_verify(). */
typedef struct {
	gboolean good;     /* valid signature by a known key */
	char *status;      /* "good", "bad", "no-key", "expired", "error" */
	char *signer;      /* an address of the key, or "unknown" */
	char *fingerprint; /* or the key ID when the key is missing */
	char *validity;    /* "ultimate", "full", "marginal", "never",
			      "unknown" */
	gint64 time;       /* creation, seconds since the epoch, 0 unknown */
} MpCryptoSignature;

void mp_crypto_signature_free (MpCryptoSignature *sig);

/* Verifies every signed part of the message of @in: multipart/signed and
 * opaque S/MIME signed-data, and what they hold (a message encrypted and
 * signed in one pass is decrypted first).  Returns the signatures
 * found (MpCryptoSignature*, possibly none; free with
 * g_ptr_array_unref()).  Errors: MP_ERROR_DATA for malformed input (a
 * multipart/signed without two parts, a signature that is not one),
 * MP_ERROR_CONFIG when GnuPG cannot be started. */
GPtrArray *mp_crypto_verify (MpInput *in, const MpCryptoOptions *opts,
			     GError **error);

/* What the Content-Type value @content_type (raw, as in the header)
 * says: signed, encrypted or neither.  NULL is plain. */
MpCryptoKind mp_crypto_kind_of_type (const char *content_type);

/* What the message of @in is: its top-level Content-Type, or for a
 * multipart/mixed the type of its first part (a signed message another
 * stage wrapped).  Reads only the header blocks; @in stays usable.
 * Errors: MP_ERROR_IO on a read error. */
MpCryptoKind mp_crypto_kind_of_input (MpInput *in, GError **error);

/* What the top-level Content-Type of the header block @h says. */
MpCryptoKind mp_crypto_kind_of_headers (MpHeaders *h);

/* The one message for a stage that would change signed or encrypted
 * content: sets MP_ERROR_DATA "...: add parts before signing" and
 * returns FALSE.  @what names the change ("attaching a file"). */
gboolean mp_crypto_refuse (MpCryptoKind kind, const char *what, GError **error);

G_END_DECLS
