/* mp-dkim-verify: checking DKIM signatures (RFC 6376 6) against keys
 * from DNS or a table of TXT records. */
#include "mp-dkim-private.h"
#include "mp-dkim-tags.h"
#include "mp-error.h"
#include "mp-io.h"

#include <string.h>

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
	if (v && !mp_dkim_parse_canon (v, &c->head_relaxed, &body_relaxed)) {
		check_fail (c, MP_DKIM_FAIL, "unknown canonicalisation c=%s",
			    v);
		return;
	}
	if (!mp_dkim_is_dns_name (c->res->domain) ||
	    !mp_dkim_is_dns_name (c->res->selector)) {
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
	mp_dkim_bh_init (&c->body, body_relaxed, limit);
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
	raw = mp_dkim_decode_b64 (v);
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
	mp_dkim_canon_header (relaxed, s->str, s->len, out);
	g_byte_array_set_size (out, out->len - 2);
}

static void
check_signature (Check *c, const MpDkimCrypto *crypto, MpHeaders *h,
		 MpDkimTable *table, GHashTable *cache)
{
	g_autofree char *bh = mp_dkim_bh_finish (&c->body);
	g_autofree char *record = NULL;
	g_autoptr (GBytes) want =
		mp_dkim_decode_b64 (mp_dkim_tags_value (c->tags, "bh"));
	g_autoptr (GBytes) got = NULL;
	g_autoptr (GBytes) sig =
		mp_dkim_decode_b64 (mp_dkim_tags_value (c->tags, "b"));
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

	mp_dkim_hash_selected (h, c->names, c->head_relaxed, data);
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

	if (!mp_dkim_read_block (stream, mp_input_get_name (in), &b, error))
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
		if (!mp_dkim_hash_body_stream (stream, hashes, error))
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
	mp_dkim_block_clear (&b);
	return ret;
}
