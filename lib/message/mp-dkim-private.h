/* mp-dkim-private: what the files of mp-dkim share (mp-dkim.c: signing;
 * mp-dkim-canon.c: canonicalisation and the header block; mp-dkim-key.c:
 * keys; mp-dkim-verify.c: verifying).  Not for other modules. */
#pragma once

#include "mp-dkim.h"
#include "mp-dkim-crypto.h"
#include "mp-headers.h"

G_BEGIN_DECLS

#define READ_CHUNK (64 * 1024)
#define KEY_FILE_MAX (64 * 1024)
#define FOLD_WIDTH 76
#define RSA_MIN_BITS 1024 /* RFC 8301 3.2 */

/* The body hash of 3.4.3/3.4.4, computed as the body streams past: empty
 * lines are held back until something follows them. */
typedef struct {
	gboolean relaxed;
	gint64 limit; /* l=, -1 for all */
	guint64 length;
	guint64 pending_crlf;
	gboolean pending_space;
	gboolean line_content;
	gboolean any;
	GChecksum *sum;
	guint8 buf[16384];
	gsize used;
} BodyHash;

/* A message's header block read from @stream, and where its body starts
 * (absolute stream positions). */
typedef struct {
	MpHeaders *h;
	gint64 block_end; /* the empty line, or the end */
	gint64 body_start;
} Block;

struct _MpDkimKey {
	const MpDkimCrypto *crypto;
	void *priv;
	MpDkimAlgorithm alg;
	char *name;
};

/* ---- mp-dkim.c: small helpers */

/* WSP (RFC 5234): on the canonicalisation's byte-at-a-time path, so
 * inline */
static inline gboolean
mp_dkim_is_wsp (int c)
{
	return c == ' ' || c == '\t';
}

/* A domain or selector: dot-separated labels of letters, digits, hyphens
 * and underscores (RFC 6376 3.5, d= and s=). */
gboolean mp_dkim_is_dns_name (const char *s);

/* Base64 as DKIM writes it (b=, bh=, p=): FWS anywhere is ignored, any
 * other character outside the alphabet makes it invalid (g_base64_decode
 * would skip it silently).  Returns NULL when invalid. */
GBytes *mp_dkim_decode_b64 (const char *s);

/* @data (from @crypto, freed) in base64 */
char *mp_dkim_crypto_b64 (const MpDkimCrypto *crypto, unsigned char *data,
			  size_t len);

/* The signing time when none is given: now, or SOURCE_DATE_EPOCH. */
gint64 mp_dkim_default_time (void);

/* ---- mp-dkim-canon.c: canonicalisation (RFC 6376 3.4) */

/* Appends the canonical form of the field @field (@len bytes: name,
 * colon, value, line breaks of any kind, final one optional), ending with
 * CRLF. */
void mp_dkim_canon_header (gboolean relaxed, const char *field, gsize len,
			   GByteArray *out);

/* A body hash, relaxed or simple, of the first @limit bytes (-1: all). */
void mp_dkim_bh_init (BodyHash *b, gboolean relaxed, gint64 limit);

/* Ends the body; returns the base64 hash (newly allocated). */
char *mp_dkim_bh_finish (BodyHash *b);

/* Hashes the body read from @stream (current position to its end) into
 * every BodyHash of @hashes (an array of BodyHash*). */
gboolean mp_dkim_hash_body_stream (GMimeStream *stream, GPtrArray *hashes,
				   GError **error);

/* ---- mp-dkim-canon.c: the header block */

/* Frees what mp_dkim_read_block() read. */
void mp_dkim_block_clear (Block *b);

/* Reads the header block of the message in @stream (named @name in
 * errors) into @b. */
gboolean mp_dkim_read_block (GMimeStream *stream, const char *name, Block *b,
			     GError **error);

/* TRUE when @h has a field named @name, in any case. */
gboolean mp_dkim_has_field (MpHeaders *h, const char *name);

/* Appends the canonical forms of the fields named in @names (lowercase),
 * each name taking the last instance not yet taken (RFC 6376 5.4.2); a
 * name with no instance left adds nothing (over-signing). */
void mp_dkim_hash_selected (MpHeaders *h, char **names, gboolean relaxed,
			    GByteArray *out);

/* ---- mp-dkim-key.c: keys */

/* Signs the canonical header data @data as @alg wants (RFC 8463 3: the
 * Ed25519 signature is over the SHA-256 of the data). */
char *mp_dkim_sign_data (MpDkimKey *key, GByteArray *data, GError **error);

/* ---- mp-dkim.c: signing */

/* Reads a c= value, "HEADER/BODY", each simple or relaxed (one word:
 * the header's, the body simple): FALSE when it is not one. */
gboolean mp_dkim_parse_canon (const char *c, gboolean *head, gboolean *body);

G_END_DECLS
