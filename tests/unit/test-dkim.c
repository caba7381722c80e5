/* mp-dkim: the body hash of each canonicalisation over the wire form,
 * against values dkimpy computes, with the body read whole and one byte at
 * a time; tag lists through mp_dkim_headers_signed(). */
#include "mp-dkim.h"
#include "mp-error.h"

#include <gmime/gmime.h>
#include <glib/gstdio.h>
#include <string.h>

/* RFC 8463's Ed25519 key (RFC 8032 7.1 test 1), in PKCS#8 */
static const char key_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
	"-----END PRIVATE KEY-----\n";

typedef struct {
	const char *body;
	const char *simple;  /* bh= with c=.../simple */
	const char *relaxed; /* bh= with c=.../relaxed */
} Case;

/* computed by dkimpy's canonicalization over the wire form of each body
 * (every CR, LF and CRLF a CRLF, a CRLF after a last line without one) */
static const Case cases[] = {
	{ "", "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=",
	  "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" },
	{ "\n", "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=",
	  "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" },
	{ "\n\n\n", "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=",
	  "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" },
	{ "a", "jkYhN5eG70Kk/sFVzVJcKR3X2zwf3jR4Ui9PYcA/0b0=",
	  "jkYhN5eG70Kk/sFVzVJcKR3X2zwf3jR4Ui9PYcA/0b0=" },
	{ "a\n", "jkYhN5eG70Kk/sFVzVJcKR3X2zwf3jR4Ui9PYcA/0b0=",
	  "jkYhN5eG70Kk/sFVzVJcKR3X2zwf3jR4Ui9PYcA/0b0=" },
	{ "a  b \t\n\n", "wvySgjWcl/GEaOS57Vz1Fuh6qcszyWFEDcaytzA6bYo=",
	  "SuEZjyiTjUp1XHpGpmLw9XKayjy3FMrk431guExO6cw=" },
	{ " \t\n", "u0A/YWu2LwxHPEJTRgHj2P4k+mGt1J9R9M26i9WFzik=",
	  "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=" },
	{ "x\r\n\r\n \r\n", "T4sqBW3DqXrppYMefosDPJCyeTdutAcRnin9+oCWcTM=",
	  "s14J+iztnrytnRYzb7lhFG/jS/vrxWJnnahfijFMnco=" },
	{ "line\rbare\r\n", "3y4ulIuBrhWo6xEwZKY+glMg99sewKG3j+nyErpsuZ4=",
	  "3y4ulIuBrhWo6xEwZKY+glMg99sewKG3j+nyErpsuZ4=" },
	{ ".dot\n", "tKE2c6rygVC+dcX/iOaZEZA3jEaOkojY7GckPKo+5BY=",
	  "tKE2c6rygVC+dcX/iOaZEZA3jEaOkojY7GckPKo+5BY=" },
	{ "a\n\n\nb\n\n", "SFh8erZISrt6Jo0tTtk8EO/1BfDisAl/Ht6k37OJmgk=",
	  "SFh8erZISrt6Jo0tTtk8EO/1BfDisAl/Ht6k37OJmgk=" },
	{ "trailing ws  ", "fOqMC3EYN5gDdXm36BTu4awfEUqEvVMkBiOdVkNMCGI=",
	  "SlaLoVH8aOn8jfWdqmwkAL6jS8rIRzoUoKOxTfl/7o8=" },
	{ "\tlead\n  \n", "THxHEwwQwrlhgaDUv3xgPrir8unu9EZ0ndqnhSEFPvw=",
	  "pclI/BHGHi4LdAiOJurEDVepki73vxSwzi+pif6FCn0=" },
	{ "a\r\r\r\nb", "SFh8erZISrt6Jo0tTtk8EO/1BfDisAl/Ht6k37OJmgk=",
	  "SFh8erZISrt6Jo0tTtk8EO/1BfDisAl/Ht6k37OJmgk=" },
};

/* A memory stream that gives one byte per read: every split of a CRLF or
 * of a run of blanks across reads is tried. */
typedef struct {
	GMimeStreamMem parent;
} OneByte;
typedef struct {
	GMimeStreamMemClass parent_class;
} OneByteClass;
static GType one_byte_get_type (void);
G_DEFINE_TYPE (OneByte, one_byte, GMIME_TYPE_STREAM_MEM)

static ssize_t
one_byte_read (GMimeStream *s, char *buf, size_t len)
{
	return GMIME_STREAM_CLASS (one_byte_parent_class)
		->read (s, buf, len > 0 ? 1 : 0);
}

static void
one_byte_class_init (OneByteClass *klass)
{
	GMIME_STREAM_CLASS (klass)->read = one_byte_read;
}

static void
one_byte_init (OneByte *o)
{
}

static GMimeStream *
body_stream (const char *body, gboolean one)
{
	GMimeStream *s;

	if (!one)
		return g_mime_stream_mem_new_with_buffer (body, strlen (body));
	s = g_object_new (one_byte_get_type (), NULL);
	g_mime_stream_construct (s, 0, -1);
	g_mime_stream_mem_set_byte_array (
		GMIME_STREAM_MEM (s),
		g_byte_array_append (g_byte_array_new (), (const guint8 *) body,
				     strlen (body)));
	g_mime_stream_mem_set_owner (GMIME_STREAM_MEM (s), TRUE);
	return s;
}

static char *
body_hash (const char *body, const char *canon, gboolean one)
{
	g_autoptr (GError) error = NULL;
	g_autoptr (MpDkimKey) key = mp_dkim_key_new_from_pem (
		key_pem, strlen (key_pem), "key", &error);
	g_autoptr (MpDkimSigner) s = mp_dkim_signer_new ("example.org", &error);
	g_autoptr (MpHeaders) h = NULL;
	g_autoptr (GMimeStream) stream = body_stream (body, one);
	g_autofree char *fields = NULL;
	const char *bh, *end;

	g_assert_no_error (error);
	g_assert_true (mp_dkim_signer_add_key (s, "s", key, &error));
	g_assert_true (mp_dkim_signer_set_canon (s, canon, &error));
	h = mp_headers_parse ("From: a@example.org\n\n", 21, &error);
	g_assert_no_error (error);
	fields = mp_dkim_signer_sign (s, h, stream, "\r\n", &error);
	g_assert_no_error (error);
	bh = strstr (fields, "bh=");
	g_assert_nonnull (bh);
	end = strchr (bh, ';');
	g_assert_nonnull (end);
	return g_strndup (bh + 3, (gsize) (end - bh - 3));
}

static void
test_body (gconstpointer data)
{
	const Case *c = data;

	for (int one = 0; one < 2; one++) {
		g_autofree char *s = body_hash (c->body, "relaxed/simple", one);
		g_autofree char *r =
			body_hash (c->body, "relaxed/relaxed", one);

		g_assert_cmpstr (s, ==, c->simple);
		g_assert_cmpstr (r, ==, c->relaxed);
	}
}

static void
test_signed_names (void)
{
	static const char msg[] =
		"DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s;\n"
		" h=From : Subject :\n to; bh=x; b=y\n"
		"From: a@example.org\nSubject: s\n\n";
	g_autoptr (GError) error = NULL;
	g_autoptr (MpHeaders) h = mp_headers_parse (msg, strlen (msg), &error);

	g_assert_no_error (error);
	g_assert_true (mp_dkim_headers_signed (h, "subject"));
	g_assert_true (mp_dkim_headers_signed (h, "To"));
	g_assert_false (mp_dkim_headers_signed (h, "X-Priority"));
}

static void
test_bad_keys (void)
{
	static const char *const bad[] = {
		"no pem here",
		"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n"
		 "-----END ENCRYPTED PRIVATE KEY-----\n"),
	};

	for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
		g_autoptr (GError) error = NULL;
		g_autoptr (MpDkimKey) key = mp_dkim_key_new_from_pem (
			bad[i], strlen (bad[i]), "k.pem", &error);

		g_assert_null (key);
		g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
		g_assert_nonnull (strstr (error->message, "k.pem"));
	}
}

/* what smtp-send signs with: the data as a stream, the values to add */
static void
test_sign_stream (void)
{
	static const char msg[] = "From: a@example.org\nTo: b@example.com\n"
				  "Subject: s\n\n.dot\nbody  \n\n";
	g_autoptr (GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp ("test-dkim-XXXXXX", &error);
	g_autofree char *keyfile = g_build_filename (dir, "k.pem", NULL);
	g_autofree char *dns = g_build_filename (dir, "dns.txt", NULL);
	g_autofree char *eml = g_build_filename (dir, "m.eml", NULL);
	g_autoptr (MpDkimSigner) s = mp_dkim_signer_new ("example.org", &error);
	g_autoptr (GMimeStream) data =
		g_mime_stream_mem_new_with_buffer (msg, strlen (msg));
	g_auto (GStrv) values = NULL;
	g_autoptr (GString) signed_msg = g_string_new (NULL);
	g_autoptr (MpDkimKey) key = NULL;
	g_autofree char *record = NULL;
	g_autoptr (MpDkimTable) table = NULL;
	g_autoptr (MpInput) in = NULL;
	g_autoptr (GPtrArray) results = NULL;

	g_assert_no_error (error);
	g_assert_true (g_file_set_contents (keyfile, key_pem, -1, NULL));
	g_assert_true (mp_dkim_signer_add_key_file (s, "s", keyfile, &error));
	values = mp_dkim_sign_stream (s, data, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (g_strv_length (values), ==, 1);
	g_assert_true (g_str_has_prefix (values[0], "v=1; a=ed25519-sha256;"));
	g_string_append_printf (signed_msg, "DKIM-Signature: %s\r\n%s",
				values[0], msg);
	g_assert_true (g_file_set_contents (eml, signed_msg->str, -1, NULL));

	key = mp_dkim_key_new_from_pem (key_pem, strlen (key_pem), "k", &error);
	record = mp_dkim_key_dns_record (key, "s", "example.org", &error);
	g_assert_no_error (error);
	g_assert_true (g_file_set_contents (dns, record, -1, NULL));
	table = mp_dkim_table_load (dns, &error);
	g_assert_no_error (error);
	in = mp_input_open (eml, &error);
	g_assert_no_error (error);
	results = mp_dkim_verify_message (in, table, &error);
	g_assert_no_error (error);
	g_assert_cmpuint (results->len, ==, 1);
	g_assert_cmpint (((MpDkimResult *) results->pdata[0])->status, ==,
			 MP_DKIM_PASS);
	g_unlink (keyfile);
	g_unlink (dns);
	g_unlink (eml);
	g_rmdir (dir);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_mime_init ();
	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree char *name =
			g_strdup_printf ("/dkim/body-hash/%u", i);

		g_test_add_data_func (name, &cases[i], test_body);
	}
	g_test_add_func ("/dkim/signed-names", test_signed_names);
	g_test_add_func ("/dkim/bad-keys", test_bad_keys);
	g_test_add_func ("/dkim/sign-stream", test_sign_stream);
	return g_test_run ();
}
