/* mp-crypto-private: what the files of mp-crypto share (mp-crypto.c:
 * options, signing and encrypting; mp-crypto-mime.c: the MIME structure
 * and the message; mp-crypto-gpgme.c: GPGME; mp-crypto-read.c: decrypting
 * and verifying).  Not installed, not for other modules. */
#pragma once

#include "mp-crypto.h"
#include "mp-headers.h"
#include "mp-io.h"
#include "mp-lines.h"

#include <gpgme.h>

G_BEGIN_DECLS

#define CHUNK (64 * 1024)
#define MAX_DEPTH 32
#define MAX_SIGNATURE (1024 * 1024) /* a detached signature is small */
#define MAX_PASSPHRASE 4096

typedef struct _Entity Entity;
struct _Entity {
	gint64 start, body, end; /* header, body, end (before the CRLF of
				    the next delimiter) */
	GMimeContentType *type;
	char *cte; /* lower case, or NULL */
	gboolean crlf;
	GPtrArray *kids; /* Entity*, NULL for a leaf */
};

void mp_crypto_entity_free (Entity *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Entity, mp_crypto_entity_free)

typedef struct {
	char *pass; /* NULL: ask the agent */
	gsize len;
	gboolean asked;
} Passphrase;

/* What GPGME reads an entity from (canonical CRLF for OpenPGP, straight
 * into its buffer; for S/MIME a thread pumps it into a pipe). */
typedef struct {
	GMimeStream *stream;
	gboolean canon;
	gboolean last_cr; /* the last byte given was a CR */
	gboolean eof;
	gboolean failed; /* a read error: the entity is not whole */
	char *buf;       /* read from the stream, not yet given */
	gsize len, off;
	/* S/MIME: the pump */
	int fds[2];
	GThread *thread;
} Feed;

typedef struct {
	Passphrase pass; /* of the key to sign or decrypt with */
	MpInput *in;
	GMimeStream *stream;
	gint64 size;
	MpHeaders *headers; /* the top-level block */
	Entity *top;
	const char *eol;
	gboolean crlf;
	GPtrArray *from; /* addresses */
	GPtrArray *to;   /* To and Cc */
	GPtrArray *bcc;
	GString *content;      /* the Content-* fields, raw */
	GString *copies;       /* the other fields, raw, for RFC 9788 */
	GString *hp_outer;     /* RFC 9788 HP-Outer fields, or NULL */
	GMimeMessage *message; /* the GMime path only */
	GMimeParser *parser;
	int spool;
	/* the last mp_crypto_inner_stream(): its head and where its body lies */
	GBytes *inner_head;
	GMimeStream *inner_src;
	gint64 inner_start, inner_end;
} Msg;

/* Where an entity goes: the output, or a spool file (S/MIME signs, then
 * encrypts what it signed). */
typedef struct {
	GMimeStream *s;
	MpOutput *out;
} Sink;

/* ---- mp-crypto-mime.c: the MIME structure as byte ranges */

/* TRUE when @e is of @type/@subtype ("*" matches any). */
gboolean mp_crypto_type_is (Entity *e, const char *type, const char *subtype);

/* TRUE when the field at @data (@len bytes) is named @name, in any case. */
gboolean mp_crypto_field_named (const char *data, gsize len, const char *name);

/* The line @l is the delimiter of @boundary: 0 no, 1 delimiter, 2 close */
int mp_crypto_delimiter (const MpLine *l, const char *boundary, gsize blen);

/* The entity from @start to @end of @s and, for a multipart, its parts,
 * at most MAX_DEPTH deep; NULL with @error for a broken structure. */
Entity *mp_crypto_entity_parse (GMimeStream *s, gint64 start, gint64 end,
				int depth, GError **error);

/* What an entity of @type is: signed, encrypted, or neither. */
MpCryptoKind mp_crypto_entity_kind (GMimeContentType *type);

/* ---- mp-crypto-mime.c: the message as a header block and a body */

/* Frees what mp_crypto_msg_open() read (the passphrase wiped). */
void mp_crypto_msg_clear (Msg *m);

/* TRUE for a Content-* field name: those travel inside. */
gboolean mp_crypto_is_content_field (const char *name);

/* Reads the passphrase @opts name (before the message: a passphrase that
 * cannot be read is said first), then the message's header block. */
gboolean mp_crypto_msg_open (Msg *m, MpInput *in, const MpCryptoOptions *opts,
			     GError **error);

/* RFC 9788 2.2: in an encrypted message the inner header records each
 * field of the outer header as sent, in order, as "HP-Outer: Name:
 * value", so that a reader sees what travelled in the clear and what was
 * obscured (the Subject became "[...]", hcp_baseline).  Structural fields
 * (Content-*, MIME-Version) are not recorded, nor Bcc, which is not sent
 * (and would name the hidden recipients to the others). */
GString *mp_crypto_hp_outer_fields (Msg *m, const char *autocrypt);

/* The entity to sign or encrypt: the Content-* fields (and, for RFC
 * 9788, copies of the others) and the body, as a stream; with @trim
 * without the last line ending (it belongs to the delimiter that
 * follows, RFC 2046 5.1.1). */
GMimeStream *mp_crypto_inner_stream (Msg *m, gboolean protect, gboolean trim,
				     GError **error);

/* ---- mp-crypto-gpgme.c: GPGME, the passphrase, the spool, the feed */

/* Wipes and frees the passphrase read. */
void mp_crypto_passphrase_clear (Passphrase *p);

/* Reads the first line of --passphrase-file or --passphrase-fd, if
 * given, into @p (at most MAX_PASSPHRASE bytes, the line ending
 * dropped). */
gboolean mp_crypto_passphrase_read (Passphrase *p, const MpCryptoOptions *opts,
				    GError **error);

/* Sets @error for GPGME's @err while doing @what, in the error class a
 * script can act on (a passphrase refused: no permission, ...). */
void mp_crypto_set_gpg_error (GError **error, gpgme_error_t err,
			      const char *what);

/* A GPGME context for @protocol in the home directory of @opts (S/MIME
 * offline: no CRL or OCSP look-ups); an OpenPGP key's passphrase from
 * @pass when one was read (loopback), else the agent asks.  NULL with
 * @error. */
gpgme_ctx_t mp_crypto_ctx_new (const MpCryptoOptions *opts,
			       MpCryptoProtocol protocol, Passphrase *pass,
			       GError **error);

/* GPGME data reading @stream from its start, canonicalised to CRLF with
 * @canon; @f holds the state until mp_crypto_feed_clear(). */
gpgme_data_t mp_crypto_feed_data (Feed *f, GMimeStream *stream, gboolean canon,
				  MpCryptoProtocol protocol);

/* Ends the feed (the S/MIME pump joined) and frees its buffer. */
void mp_crypto_feed_clear (Feed *f);

/* The operation's error, or EIO when its input was cut short. */
gpgme_error_t mp_crypto_feed_check (Feed *f, gpgme_error_t err);

/* GPGME data writing into the spool file @fd. */
gpgme_data_t mp_crypto_spool_data (int fd);

/* An unlinked temporary file for what GPGME writes. */
int mp_crypto_spool_open (GError **error);

/* A context for @protocol and a spool for what the operation writes;
 * -1 with @error set, and *@ctx NULL, when either fails. */
int mp_crypto_op_begin (const MpCryptoOptions *opts, MpCryptoProtocol protocol,
			Passphrase *pass, gpgme_ctx_t *ctx, GError **error);

/* A new stream over the whole spool file @fd (which stays open). */
GMimeStream *mp_crypto_spool_stream (int fd);

/* The addr-spec of @s ("Name <addr>" or a bare address), lower case. */
char *mp_crypto_addr_of (const char *s);

/* The first usable key for @who (an address, or a fingerprint / key ID
 * for --local-user): for signing with @secret, else for encryption. */
gpgme_key_t mp_crypto_find_key (gpgme_ctx_t ctx, const char *who,
				gboolean secret, GError **error);

/* A context of @protocol with the secret key of @who found in it, in
 * *@key: the caller unrefs the key and releases the context.  NULL (and
 * nothing to release) when either fails. */
gpgme_ctx_t mp_crypto_ctx_with_secret_key (const MpCryptoOptions *opts,
					   MpCryptoProtocol protocol,
					   Passphrase *pass, const char *who,
					   gpgme_key_t *key, GError **error);

/* ---- mp-crypto.c: writing */

/* Writes the strings from @first to a NULL to the sink @k. */
gboolean mp_crypto_put (Sink *k, GError **error, const char *first, ...);

/* Copies @src from its start, through @filter when not NULL. */
gboolean mp_crypto_copy (Sink *k, GMimeStream *src, GMimeFilter *f1,
			 GMimeFilter *f2, GError **error);

/* The outer header fields: the message's own, byte for byte, without its
 * Content-* fields (they travel inside), then MIME-Version when missing
 * and an Autocrypt field. */
gboolean mp_crypto_write_outer (Msg *m, MpOutput *out, const char *autocrypt,
				GError **error);

G_END_DECLS
