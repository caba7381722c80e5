#include "mp-dkim.h"
#include "mp-dkim-crypto.h"
#include "mp-dkim-tags.h"
#include "mp-data.h"
#include "mp-date.h"
#include "mp-error.h"
#include "mp-io.h"
#include "mp-field.h"
#include "mp-random.h"
#include "mp-secret.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK (64 * 1024)
#define KEY_FILE_MAX (64 * 1024)
#define FOLD_WIDTH 76
#define RSA_MIN_BITS 1024 /* RFC 8301 3.2 */

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
is_wsp (int c)
{
	return c == ' ' || c == '\t';
}

static gboolean
is_fws (int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A domain or selector: dot-separated labels of letters, digits, hyphens
 * and underscores (RFC 6376 3.5, d= and s=). */
static gboolean
is_dns_name (const char *s)
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

/* Base64 as DKIM writes it (b=, bh=, p=): FWS anywhere is ignored, any
 * other character outside the alphabet makes it invalid (g_base64_decode
 * would skip it silently).  Returns NULL when invalid. */
static GBytes *
decode_b64 (const char *s)
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

/* @data (from @crypto, freed) in base64 */
static char *
crypto_b64 (const MpDkimCrypto *crypto, unsigned char *data, size_t len)
{
	char *b64 = g_base64_encode (data, len);

	crypto->free_data (data);
	return b64;
}

static gint64
default_time (void)
{
	g_autoptr (GDateTime) d = mp_date_default ();

	return g_date_time_to_unix (d);
}

/* ---- canonicalisation (RFC 6376 3.4) -------------------------------- */

/* The wire form of @len bytes: every CR, LF and CRLF a CRLF, the rule
 * smtp-send applies (mp-data), without dot stuffing. */
static void
wire_form (const char *p, gsize len, GByteArray *out)
{
	MpDataEncoder enc;

	mp_data_encoder_init (&enc);
	enc.no_dots = TRUE;
	mp_data_encode (&enc, p, len, out);
	if (!enc.line_start)
		g_byte_array_append (out, (const guint8 *) "\r\n", 2);
}

/* Appends the canonical form of the field @field (@len bytes: name,
 * colon, value, line breaks of any kind, final one optional), ending with
 * CRLF. */
static void
canon_header (gboolean relaxed, const char *field, gsize len, GByteArray *out)
{
	g_autoptr (GByteArray) wire = g_byte_array_new ();
	const char *p, *end, *colon;
	gboolean space = FALSE, started = FALSE;

	wire_form (field, len, wire);
	if (!relaxed) {
		g_byte_array_append (out, wire->data, wire->len);
		return;
	}
	p = (const char *) wire->data;
	end = p + wire->len;
	colon = memchr (p, ':', wire->len);
	if (colon == NULL)
		return;
	/* 3.4.2: lowercase name, no WSP around the colon, unfolded, WSP
	 * runs as one SP, none at the end */
	for (const char *q = p; q < colon; q++)
		if (!is_wsp (*q)) {
			guint8 c = (guint8) g_ascii_tolower (*q);
			g_byte_array_append (out, &c, 1);
		}
	g_byte_array_append (out, (const guint8 *) ":", 1);
	for (p = colon + 1; p < end; p++) {
		if (*p == '\r' || *p == '\n')
			continue;
		if (is_wsp (*p)) {
			space = TRUE;
			continue;
		}
		if (space && started)
			g_byte_array_append (out, (const guint8 *) " ", 1);
		space = FALSE;
		started = TRUE;
		g_byte_array_append (out, (const guint8 *) p, 1);
	}
	g_byte_array_append (out, (const guint8 *) "\r\n", 2);
}

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

static void
bh_init (BodyHash *b, gboolean relaxed, gint64 limit)
{
	memset (b, 0, sizeof *b);
	b->relaxed = relaxed;
	b->limit = limit;
	b->sum = g_checksum_new (G_CHECKSUM_SHA256);
}

static void
bh_flush (BodyHash *b)
{
	gsize n = b->used;

	if (b->limit >= 0) {
		guint64 room = (guint64) b->limit > b->length ?
				       (guint64) b->limit - b->length :
				       0;
		if (n > room)
			n = (gsize) room;
	}
	g_checksum_update (b->sum, b->buf, (gssize) n);
	b->length += b->used;
	b->used = 0;
}

static inline void
bh_put (BodyHash *b, guint8 c)
{
	if (b->used == sizeof b->buf)
		bh_flush (b);
	b->buf[b->used++] = c;
	b->any = TRUE;
}

static void
bh_put_crlfs (BodyHash *b)
{
	for (; b->pending_crlf > 0; b->pending_crlf--) {
		bh_put (b, '\r');
		bh_put (b, '\n');
	}
}

static void
bh_put_run (BodyHash *b, const guint8 *p, gsize n)
{
	while (n > 0) {
		gsize room = sizeof b->buf - b->used;

		if (room == 0) {
			bh_flush (b);
			room = sizeof b->buf;
		}
		if (room > n)
			room = n;
		memcpy (b->buf + b->used, p, room);
		b->used += room;
		p += room;
		n -= room;
	}
	b->any = TRUE;
}

/* @p: CRLF lines (the output of wire_form's encoder, where a CR is always
 * followed by an LF) */
static void
bh_update (BodyHash *b, const guint8 *p, gsize len)
{
	const guint8 *end = p + len;

	while (p < end) {
		const guint8 *run;
		guint8 c = *p;

		if (c == '\r') {
			p++;
			continue;
		}
		if (c == '\n') {
			if (b->line_content) {
				bh_put (b, '\r');
				bh_put (b, '\n');
			} else {
				b->pending_crlf++;
			}
			b->line_content = FALSE;
			b->pending_space = FALSE;
			p++;
			continue;
		}
		if (b->relaxed && is_wsp (c)) {
			b->pending_space = TRUE;
			p++;
			continue;
		}
		if (b->pending_crlf)
			bh_put_crlfs (b);
		if (b->pending_space) {
			bh_put (b, ' ');
			b->pending_space = FALSE;
		}
		/* the rest of the line's text, up to its CR or a blank */
		run = p;
		if (!b->relaxed) {
			p = memchr (p, '\r', (gsize) (end - p));
			if (p == NULL)
				p = end;
		} else {
			while (p < end && *p != '\r' && *p != ' ' && *p != '\t')
				p++;
		}
		bh_put_run (b, run, (gsize) (p - run));
		b->line_content = TRUE;
	}
}

/* Ends the body; returns the base64 hash (newly allocated). */
static char *
bh_finish (BodyHash *b)
{
	guint8 digest[32];
	gsize dlen = sizeof digest;

	/* the wire form ends with CRLF: a last line without one gets it */
	if (b->line_content) {
		bh_put (b, '\r');
		bh_put (b, '\n');
	}
	/* simple: an empty body is one CRLF; relaxed: nothing */
	if (!b->any && !b->relaxed) {
		bh_put (b, '\r');
		bh_put (b, '\n');
	}
	bh_flush (b);
	g_checksum_get_digest (b->sum, digest, &dlen);
	g_checksum_free (b->sum);
	b->sum = NULL;
	return g_base64_encode (digest, dlen);
}

/* Hashes the body read from @stream (current position to its end) into
 * every BodyHash of @hashes (an array of BodyHash*). */
static gboolean
hash_body_stream (GMimeStream *stream, GPtrArray *hashes, GError **error)
{
	g_autofree char *buf = g_malloc (READ_CHUNK);
	g_autoptr (GByteArray) wire = g_byte_array_sized_new (READ_CHUNK * 2);
	MpDataEncoder enc;

	mp_data_encoder_init (&enc);
	enc.no_dots = TRUE;
	for (;;) {
		gssize n = mp_io_stream_read (stream, buf, READ_CHUNK);
		guint i;

		if (n < 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_IO,
				     "read error in the message body");
			return FALSE;
		}
		if (n == 0)
			break;
		g_byte_array_set_size (wire, 0);
		mp_data_encode (&enc, buf, (gsize) n, wire);
		for (i = 0; i < hashes->len; i++)
			bh_update (hashes->pdata[i], wire->data, wire->len);
	}
	return TRUE;
}

/* ---- the header block ----------------------------------------------- */

/* A message's header block read from @stream, and where its body starts
 * (absolute stream positions). */
typedef struct {
	MpHeaders *h;
	gint64 block_end; /* the empty line, or the end */
	gint64 body_start;
} Block;

static void
block_clear (Block *b)
{
	g_clear_pointer (&b->h, mp_headers_free);
}

static gboolean
read_block (GMimeStream *stream, const char *name, Block *b, GError **error)
{
	g_autofree char *buf = g_malloc (READ_CHUNK);
	gint64 start = stream->bound_start, len = 0;
	char sep[2];
	gssize n;
	guint i;

	b->h = mp_headers_new (name);
	if (g_mime_stream_seek (stream, start, GMIME_STREAM_SEEK_SET) < 0)
		goto read_error;
	while (!mp_headers_is_complete (b->h)) {
		n = mp_io_stream_read (stream, buf, READ_CHUNK);
		if (n < 0)
			goto read_error;
		if (n == 0)
			break;
		if (!mp_headers_feed (b->h, buf, (gsize) n, error))
			return FALSE;
	}
	if (!mp_headers_finish (b->h, error))
		return FALSE;
	/* nothing edited yet: the entries are the block's bytes in order */
	for (i = 0; i < mp_headers_get_n_entries (b->h); i++) {
		gsize l;

		mp_headers_get_bytes (b->h, i, &l);
		len += (gint64) l;
	}
	b->block_end = start + len;
	if (g_mime_stream_seek (stream, b->block_end, GMIME_STREAM_SEEK_SET) <
	    0)
		goto read_error;
	n = mp_io_stream_read (stream, sep, 2);
	if (n < 0)
		goto read_error;
	if (n == 0) {
		b->body_start = b->block_end;
	} else if (sep[0] == '\n') {
		b->body_start = b->block_end + 1;
	} else if (n == 2 && sep[0] == '\r' && sep[1] == '\n') {
		b->body_start = b->block_end + 2;
	} else {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: the header block is not ended by an empty "
			     "line",
			     name);
		return FALSE;
	}
	return TRUE;

read_error:
	g_set_error (error, MP_ERROR, MP_ERROR_IO, "%s: read error", name);
	return FALSE;
}

static gboolean
has_field (MpHeaders *h, const char *name)
{
	guint i;

	for (i = 0; i < mp_headers_get_n_entries (h); i++) {
		const char *n = mp_headers_get_name (h, i);

		if (n && g_ascii_strcasecmp (n, name) == 0)
			return TRUE;
	}
	return FALSE;
}

/* Appends the canonical forms of the fields named in @names (lowercase),
 * each name taking the last instance not yet taken (RFC 6376 5.4.2); a
 * name with no instance left adds nothing (over-signing). */
static void
hash_selected (MpHeaders *h, char **names, gboolean relaxed, GByteArray *out)
{
	g_autoptr (GHashTable) taken =
		g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
	guint n = mp_headers_get_n_entries (h);

	for (char **name = names; *name; name++) {
		guint skip =
			GPOINTER_TO_UINT (g_hash_table_lookup (taken, *name));
		guint seen = 0;

		for (guint i = n; i-- > 0;) {
			const char *fn = mp_headers_get_name (h, i);
			const char *bytes;
			gsize len;

			if (fn == NULL || g_ascii_strcasecmp (fn, *name) != 0)
				continue;
			if (seen++ < skip)
				continue;
			bytes = mp_headers_get_bytes (h, i, &len);
			canon_header (relaxed, bytes, len, out);
			break;
		}
		g_hash_table_replace (taken, g_ascii_strdown (*name, -1),
				      GUINT_TO_POINTER (skip + 1));
	}
}

/* ---- keys ----------------------------------------------------------- */

/* the kinds of key of mp-dkim-crypto.h are MpDkimAlgorithm's values */
G_STATIC_ASSERT (MP_DKIM_CRYPTO_RSA == (int) MP_DKIM_RSA_SHA256);
G_STATIC_ASSERT (MP_DKIM_CRYPTO_ED25519 == (int) MP_DKIM_ED25519_SHA256);

struct _MpDkimKey {
	const MpDkimCrypto *crypto;
	void *priv;
	MpDkimAlgorithm alg;
	char *name;
};

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
	b64 = crypto_b64 (key->crypto, d, len);
	return g_strdup_printf (
		"%s._domainkey.%s v=DKIM1; k=%s; p=%s", selector, domain,
		key->alg == MP_DKIM_RSA_SHA256 ? "rsa" : "ed25519", b64);
}

/* Signs the canonical header data @data as @alg wants (RFC 8463 3: the
 * Ed25519 signature is over the SHA-256 of the data). */
static char *
sign_data (MpDkimKey *key, GByteArray *data, GError **error)
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
	return crypto_b64 (key->crypto, sig, sig_len);
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

	if (domain == NULL || !is_dns_name (domain)) {
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
	s->time = default_time ();
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

	if (!is_dns_name (selector)) {
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

static gboolean
parse_canon (const char *c, gboolean *head, gboolean *body)
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
	if (!parse_canon (canon, &s->head_relaxed, &s->body_relaxed)) {
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
	bh_init (&body_hash, s->body_relaxed, -1);
	g_ptr_array_add (hashes, &body_hash);
	if (!hash_body_stream (body, hashes, error)) {
		g_checksum_free (body_hash.sum);
		return NULL;
	}
	bh = bh_finish (&body_hash);

	names = s->headers ? g_strdupv (s->headers) : default_names (h);
	hlist = g_strjoinv (" : ", names);
	hash_selected (h, names, s->head_relaxed, signed_headers);

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
		canon_header (s->head_relaxed, f->str, f->len, data);
		g_byte_array_set_size (data, data->len - 2);
		b = sign_data (sig->key, data, error);
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
	if (!has_field (h, "Date")) {
		g_autoptr (GDateTime) d = mp_date_default ();
		g_autofree char *v = mp_date_format (d);

		if (!mp_headers_add (h, "Date", v, error))
			return FALSE;
		g_string_append (added, "Date");
	}
	if (!has_field (h, "Message-ID")) {
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
	if (!has_field (b->h, "From")) {
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

	if (!read_block (stream, mp_input_get_name (in), &b, error) ||
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
	block_clear (&b);
	return ok;
}

char **
mp_dkim_sign_stream (MpDkimSigner *s, GMimeStream *message, GError **error)
{
	g_autoptr (GPtrArray) fields = NULL;
	GPtrArray *values;
	Block b = { 0 };

	if (!read_block (message, "message", &b, error) ||
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
	block_clear (&b);
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
	block_clear (&b);
	return NULL;
}

/* ---- verifying ------------------------------------------------------ */

struct _MpDkimTable {
	GHashTable *records; /* lowercase name without final dot -> value */
};

void
mp_dkim_table_free (MpDkimTable *t)
{
	if (t == NULL)
		return;
	g_hash_table_unref (t->records);
	g_free (t);
}

static char *
normal_name (const char *name, gsize len)
{
	while (len > 0 && name[len - 1] == '.')
		len--;
	return g_ascii_strdown (name, (gssize) len);
}

MpDkimTable *
mp_dkim_table_load (const char *path, GError **error)
{
	g_autofree char *data = NULL;
	g_autoptr (GError) local = NULL;
	g_auto (GStrv) lines = NULL;
	MpDkimTable *t;
	guint lineno = 0;

	if (!g_file_get_contents (path, &data, NULL, &local)) {
		g_set_error (error, MP_ERROR, MP_ERROR_NO_INPUT, "%s",
			     local->message);
		return NULL;
	}
	t = g_new0 (MpDkimTable, 1);
	t->records =
		g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	lines = g_strsplit (data, "\n", -1);
	for (char **l = lines; *l; l++) {
		char *line = g_strstrip (*l), *sp;

		lineno++;
		if (*line == '\0' || *line == '#')
			continue;
		sp = strpbrk (line, " \t");
		if (sp == NULL) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: line %u: a name without a record",
				     path, lineno);
			mp_dkim_table_free (t);
			return NULL;
		}
		g_hash_table_replace (t->records,
				      normal_name (line, (gsize) (sp - line)),
				      g_strdup (g_strchug (sp)));
	}
	return t;
}

void
mp_dkim_result_free (MpDkimResult *r)
{
	if (r == NULL)
		return;
	g_free (r->domain);
	g_free (r->selector);
	g_free (r->algorithm);
	g_free (r->reason);
	g_free (r);
}

/* One DKIM-Signature being checked. */
typedef struct {
	MpDkimResult *res;
	guint entry;  /* its index in the header block */
	GArray *tags; /* NULL once it failed */
	gboolean head_relaxed;
	MpDkimAlgorithm alg;
	char **names; /* h= */
	BodyHash body;
	gboolean hashing;
} Check;

static void check_fail (Check *c, MpDkimStatus status, const char *fmt, ...)
	G_GNUC_PRINTF (3, 4);

static void
check_fail (Check *c, MpDkimStatus status, const char *fmt, ...)
{
	va_list ap;

	if (c->res->status != MP_DKIM_PASS)
		return;
	c->res->status = status;
	va_start (ap, fmt);
	c->res->reason = g_strdup_vprintf (fmt, ap);
	va_end (ap);
}

/* The optional tags of a signature: i= within d=, q=, l=, x= (RFC 6376
 * 3.5).  *@limit receives l= (-1 without it).  FALSE after check_fail. */
static gboolean
check_optional_tags (Check *c, gint64 now, gint64 *limit)
{
	const char *v;

	if ((v = mp_dkim_tags_value (c->tags, "i")) != NULL) {
		const char *at = strrchr (v, '@');
		gsize dl = strlen (c->res->domain), il;

		il = at ? strlen (at + 1) : 0;
		if (at == NULL || il < dl ||
		    g_ascii_strcasecmp (at + 1 + il - dl, c->res->domain) ||
		    (il > dl && at[il - dl] != '.')) {
			check_fail (c, MP_DKIM_FAIL,
				    "i=%s is not in the domain d=%s", v,
				    c->res->domain);
			return FALSE;
		}
	}
	if ((v = mp_dkim_tags_value (c->tags, "q")) != NULL &&
	    strstr (v, "dns/txt") == NULL) {
		check_fail (c, MP_DKIM_FAIL, "unknown query method q=%s", v);
		return FALSE;
	}
	if ((v = mp_dkim_tags_value (c->tags, "l")) != NULL) {
		char *end;
		guint64 l = g_ascii_strtoull (v, &end, 10);

		if (*v == '\0' || *end != '\0' || strlen (v) > 18) {
			check_fail (c, MP_DKIM_FAIL, "malformed l=%s", v);
			return FALSE;
		}
		*limit = (gint64) l;
	}
	if ((v = mp_dkim_tags_value (c->tags, "x")) != NULL) {
		char *end;
		gint64 x = g_ascii_strtoll (v, &end, 10);
		const char *t = mp_dkim_tags_value (c->tags, "t");

		if (*v == '\0' || *end != '\0') {
			check_fail (c, MP_DKIM_FAIL, "malformed x=%s", v);
			return FALSE;
		}
		if (t && x < g_ascii_strtoll (t, NULL, 10)) {
			check_fail (c, MP_DKIM_FAIL, "x= is before t=");
			return FALSE;
		}
		if (x < now) {
			check_fail (c, MP_DKIM_FAIL, "the signature expired");
			return FALSE;
		}
	}
	return TRUE;
}

/* Checks the tags of a signature (RFC 6376 3.5, 6.1.1). */
static void
check_tags (Check *c, MpHeaders *h, gint64 now)
{
	gsize len;
	const char *field = mp_headers_get_bytes (h, c->entry, &len);
	const char *colon = memchr (field, ':', len);
	const char *why = NULL, *v;
	gboolean body_relaxed = FALSE;
	gint64 limit = -1;
	static const char *const required[] = { "v", "a", "b", "bh",
						"d", "h", "s", NULL };

	c->tags = mp_dkim_tags_parse (colon + 1,
				      len - (gsize) (colon + 1 - field), &why);
	if (c->tags == NULL) {
		check_fail (c, MP_DKIM_FAIL, "malformed signature: %s", why);
		return;
	}
	c->res->domain = g_strdup (mp_dkim_tags_value (c->tags, "d"));
	c->res->selector = g_strdup (mp_dkim_tags_value (c->tags, "s"));
	c->res->algorithm = g_strdup (mp_dkim_tags_value (c->tags, "a"));
	for (const char *const *r = required; *r; r++)
		if (mp_dkim_tags_value (c->tags, *r) == NULL) {
			check_fail (c, MP_DKIM_FAIL,
				    "malformed signature: no %s= tag", *r);
			return;
		}
	if (strcmp (mp_dkim_tags_value (c->tags, "v"), "1") != 0) {
		check_fail (c, MP_DKIM_FAIL, "unknown version v=%s",
			    mp_dkim_tags_value (c->tags, "v"));
		return;
	}
	v = mp_dkim_tags_value (c->tags, "a");
	if (strcmp (v, "rsa-sha256") == 0)
		c->alg = MP_DKIM_RSA_SHA256;
	else if (strcmp (v, "ed25519-sha256") == 0)
		c->alg = MP_DKIM_ED25519_SHA256;
	else if (strcmp (v, "rsa-sha1") == 0) {
		check_fail (c, MP_DKIM_FAIL,
			    "rsa-sha1 is no longer accepted (RFC 8301)");
		return;
	} else {
		check_fail (c, MP_DKIM_FAIL, "unknown algorithm a=%s", v);
		return;
	}
	v = mp_dkim_tags_value (c->tags, "c");
	if (v && !parse_canon (v, &c->head_relaxed, &body_relaxed)) {
		check_fail (c, MP_DKIM_FAIL, "unknown canonicalisation c=%s",
			    v);
		return;
	}
	if (!is_dns_name (c->res->domain) || !is_dns_name (c->res->selector)) {
		check_fail (c, MP_DKIM_FAIL,
			    "malformed signature: bad d= or s=");
		return;
	}
	c->names = mp_dkim_tags_split_names (mp_dkim_tags_value (c->tags, "h"));
	if (c->names == NULL ||
	    !g_strv_contains ((const char *const *) c->names, "from")) {
		check_fail (c, MP_DKIM_FAIL,
			    "malformed signature: h= does not name From");
		return;
	}
	if (!check_optional_tags (c, now, &limit))
		return;
	bh_init (&c->body, body_relaxed, limit);
	c->hashing = TRUE;
}

/* The key record for @c: from @table, else DNS.  NULL after check_fail. */
static char *
fetch_key (Check *c, MpDkimTable *table, GHashTable *cache)
{
	g_autofree char *name = g_strdup_printf (
		"%s._domainkey.%s", c->res->selector, c->res->domain);
	g_autofree char *key = normal_name (name, strlen (name));
	g_autoptr (GError) error = NULL;
	g_autoptr (GResolver) resolver = NULL;
	GList *records;
	GString *txt;
	const char *hit;

	if (table) {
		hit = g_hash_table_lookup (table->records, key);
		if (hit == NULL)
			check_fail (c, MP_DKIM_FAIL, "no key record %s", key);
		return g_strdup (hit);
	}
	if ((hit = g_hash_table_lookup (cache, key)) != NULL)
		return g_strdup (hit);
	resolver = g_resolver_get_default ();
	records = g_resolver_lookup_records (
		resolver, key, G_RESOLVER_RECORD_TXT, NULL, &error);
	if (records == NULL) {
		if (g_error_matches (error, G_RESOLVER_ERROR,
				     G_RESOLVER_ERROR_NOT_FOUND))
			check_fail (c, MP_DKIM_FAIL, "no key record %s", key);
		else
			check_fail (c, MP_DKIM_TEMPFAIL, "%s: %s", key,
				    error->message);
		return NULL;
	}
	/* RFC 6376 3.6.2.2: the strings of one record are concatenated;
	 * the first record is used */
	txt = g_string_new (NULL);
	{
		g_autoptr (GVariantIter) it = NULL;
		const char *part;

		g_variant_get (records->data, "(as)", &it);
		while (g_variant_iter_next (it, "&s", &part))
			g_string_append (txt, part);
	}
	g_list_free_full (records, (GDestroyNotify) g_variant_unref);
	g_hash_table_replace (cache, g_strdup (key), g_strdup (txt->str));
	return g_string_free (txt, FALSE);
}

/* The p= of a key record that fits the signature of @c (v=, k=, h=, s=
 * checked, RFC 6376 3.6.1), decoded.  NULL after check_fail. */
static GBytes *
key_record_p (Check *c, const char *record)
{
	const char *why = NULL, *v;
	g_autoptr (GArray) tags =
		mp_dkim_tags_parse (record, strlen (record), &why);
	GBytes *raw;

	if (tags == NULL) {
		check_fail (c, MP_DKIM_FAIL, "malformed key record: %s", why);
		return NULL;
	}
	if ((v = mp_dkim_tags_value (tags, "v")) != NULL &&
	    (strcmp (v, "DKIM1") != 0 ||
	     strcmp (g_array_index (tags, MpDkimTag, 0).name, "v") != 0)) {
		check_fail (c, MP_DKIM_FAIL, "malformed key record: v=%s", v);
		return NULL;
	}
	v = mp_dkim_tags_value (tags, "k");
	if (v == NULL)
		v = "rsa";
	if (strcmp (v, c->alg == MP_DKIM_RSA_SHA256 ? "rsa" : "ed25519")) {
		check_fail (c, MP_DKIM_FAIL,
			    "the key record is k=%s, the signature a=%s", v,
			    c->res->algorithm);
		return NULL;
	}
	if ((v = mp_dkim_tags_value (tags, "h")) != NULL &&
	    strstr (v, "sha256") == NULL) {
		check_fail (c, MP_DKIM_FAIL, "the key record allows h=%s only",
			    v);
		return NULL;
	}
	if ((v = mp_dkim_tags_value (tags, "s")) != NULL &&
	    strstr (v, "*") == NULL && strstr (v, "email") == NULL) {
		check_fail (c, MP_DKIM_FAIL, "the key is not for email (s=%s)",
			    v);
		return NULL;
	}
	v = mp_dkim_tags_value (tags, "p");
	if (v == NULL) {
		check_fail (c, MP_DKIM_FAIL, "malformed key record: no p=");
		return NULL;
	}
	if (*v == '\0') {
		check_fail (c, MP_DKIM_FAIL, "the key was revoked (empty p=)");
		return NULL;
	}
	raw = decode_b64 (v);
	if (raw == NULL)
		check_fail (c, MP_DKIM_FAIL,
			    "malformed key record: p= is not base64");
	return raw;
}

/* Imports the public key of a key record (RFC 6376 3.6.1).  NULL after
 * check_fail. */
static void *
import_key (Check *c, const MpDkimCrypto *crypto, const char *record)
{
	g_autoptr (GBytes) raw = key_record_p (c, record);
	void *pub = NULL;
	gsize size;
	const void *data;
	unsigned bits = 0;
	int rv, got;

	if (raw == NULL)
		return NULL;
	data = g_bytes_get_data (raw, &size);
	if (c->alg == MP_DKIM_ED25519_SHA256 && size != 32) {
		check_fail (c, MP_DKIM_FAIL,
			    "an Ed25519 key of %u bytes (32 expected)",
			    (unsigned) size);
		return NULL;
	}
	rv = crypto->pub_import ((int) c->alg, data, size, &pub, &got, &bits);
	if (rv < 0) {
		check_fail (c, MP_DKIM_FAIL, "unusable public key: %s",
			    crypto->strerror (rv));
		return NULL;
	}
	if (c->alg == MP_DKIM_RSA_SHA256 &&
	    (got != MP_DKIM_CRYPTO_RSA || bits < RSA_MIN_BITS)) {
		crypto->pub_free (pub);
		check_fail (c, MP_DKIM_FAIL,
			    "an RSA key of %u bits: too weak (RFC 8301)", bits);
		return NULL;
	}
	return pub;
}

/* The signature field with the value of b= removed (3.7), canonical, no
 * final CRLF.  The FWS before the value goes with it, as dkimpy and
 * OpenDKIM remove it. */
static void
canon_self (Check *c, MpHeaders *h, gboolean relaxed, GByteArray *out)
{
	gsize len;
	const char *field = mp_headers_get_bytes (h, c->entry, &len);
	const char *colon = memchr (field, ':', len);
	const MpDkimTag *b = mp_dkim_tags_find (c->tags, "b");
	gsize off;
	g_autoptr (GString) s = NULL;

	if (colon == NULL || b == NULL)
		return; /* checked before */
	off = (gsize) (colon + 1 - field);
	s = g_string_new_len (field, (gssize) (off + b->eq));
	g_string_append_len (s, field + off + b->vend,
			     (gssize) (len - off - b->vend));
	canon_header (relaxed, s->str, s->len, out);
	g_byte_array_set_size (out, out->len - 2);
}

static void
check_signature (Check *c, const MpDkimCrypto *crypto, MpHeaders *h,
		 MpDkimTable *table, GHashTable *cache)
{
	g_autofree char *bh = bh_finish (&c->body);
	g_autofree char *record = NULL;
	g_autoptr (GBytes) want =
		decode_b64 (mp_dkim_tags_value (c->tags, "bh"));
	g_autoptr (GBytes) got = NULL;
	g_autoptr (GBytes) sig = decode_b64 (mp_dkim_tags_value (c->tags, "b"));
	g_autoptr (GByteArray) data = g_byte_array_new ();
	void *pub;
	guint8 digest[32];
	gsize dlen = sizeof digest;
	int rv;

	c->hashing = FALSE;
	if (want == NULL || sig == NULL) {
		check_fail (c, MP_DKIM_FAIL,
			    "malformed signature: b= or bh= is not base64");
		return;
	}
	{
		gsize n;
		guchar *raw = g_base64_decode (bh, &n);

		got = g_bytes_new_take (raw, n);
	}
	if (!g_bytes_equal (want, got)) {
		check_fail (c, MP_DKIM_FAIL,
			    "body hash mismatch: the body was changed");
		return;
	}
	record = fetch_key (c, table, cache);
	if (record == NULL)
		return;
	pub = import_key (c, crypto, record);
	if (pub == NULL)
		return;

	hash_selected (h, c->names, c->head_relaxed, data);
	canon_self (c, h, c->head_relaxed, data);
	if (c->alg == MP_DKIM_ED25519_SHA256) {
		g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);

		/* RFC 8463 3: Ed25519 signs the SHA-256 of the data */
		g_checksum_update (sum, data->data, data->len);
		g_checksum_get_digest (sum, digest, &dlen);
		rv = crypto->verify (pub, digest, dlen,
				     g_bytes_get_data (sig, NULL),
				     g_bytes_get_size (sig));
	} else {
		rv = crypto->verify (pub, data->data, data->len,
				     g_bytes_get_data (sig, NULL),
				     g_bytes_get_size (sig));
	}
	crypto->pub_free (pub);
	if (rv < 0)
		check_fail (c, MP_DKIM_FAIL,
			    "signature mismatch: a signed header field was "
			    "changed, or the key is not the signer's");
}

GPtrArray *
mp_dkim_verify_message (MpInput *in, MpDkimTable *table, GError **error)
{
	GMimeStream *stream = mp_input_get_stream (in);
	g_autoptr (GPtrArray) results = g_ptr_array_new_with_free_func (
		(GDestroyNotify) mp_dkim_result_free);
	g_autoptr (GPtrArray) hashes = g_ptr_array_new ();
	g_autoptr (GHashTable) cache =
		g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr (GArray) checks = g_array_new (FALSE, TRUE, sizeof (Check));
	gint64 now = g_get_real_time () / G_USEC_PER_SEC;
	const MpDkimCrypto *crypto = NULL;
	Block b = { 0 };
	GPtrArray *ret = NULL;
	guint i;

	if (!read_block (stream, mp_input_get_name (in), &b, error))
		goto out;
	for (i = 0; i < mp_headers_get_n_entries (b.h); i++) {
		const char *n = mp_headers_get_name (b.h, i);
		Check c = { 0 };

		if (n == NULL || g_ascii_strcasecmp (n, "DKIM-Signature") != 0)
			continue;
		c.res = g_new0 (MpDkimResult, 1);
		c.res->status = MP_DKIM_PASS;
		c.entry = i;
		g_ptr_array_add (results, c.res);
		g_array_append_val (checks, c);
	}
	for (i = 0; i < checks->len; i++) {
		Check *c = &g_array_index (checks, Check, i);

		check_tags (c, b.h, now);
		if (c->hashing)
			g_ptr_array_add (hashes, &c->body);
	}
	if (hashes->len > 0) {
		if (g_mime_stream_seek (stream, b.body_start,
					GMIME_STREAM_SEEK_SET) < 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_IO,
				     "%s: cannot seek in the input",
				     mp_input_get_name (in));
			goto out;
		}
		if (!hash_body_stream (stream, hashes, error))
			goto out;
		/* GnuTLS, linked in or loaded now (mp-dkim-crypto.h) */
		crypto = mp_dkim_crypto_get (error);
		if (crypto == NULL)
			goto out;
	}
	for (i = 0; i < checks->len; i++) {
		Check *c = &g_array_index (checks, Check, i);

		if (c->hashing)
			check_signature (c, crypto, b.h, table, cache);
	}
	ret = g_steal_pointer (&results);
out:
	for (i = 0; i < checks->len; i++) {
		Check *c = &g_array_index (checks, Check, i);

		if (c->body.sum)
			g_checksum_free (c->body.sum);
		if (c->tags)
			g_array_unref (c->tags);
		g_strfreev (c->names);
	}
	block_clear (&b);
	return ret;
}
