/* mp-part: charset labels and transfer-encoding choice. */
#include "mp-error.h"
#include "mp-part.h"

#include <string.h>
#include <unistd.h>

static const struct {
	const char *name;
	const char *data;
	gssize len;
	gboolean allow_8bit;
	GMimeContentEncoding expected;
} encoding_cases[] = {
	{ "ascii is 7bit", "hello\nworld\n", -1, FALSE,
	  GMIME_CONTENT_ENCODING_7BIT },
	{ "mostly ascii is qp",
	  "Gr\xc3\xbc\xc3\x9f"
	  "e aus K\xc3\xb6ln, wie geht es dir heute?\n",
	  -1, FALSE, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE },
	{ "mostly cjk is base64",
	  "\xe5\xad\xa3\xe5\xba\xa6\xe6\x8a\xa5\xe5\x91\x8a\xe5\xad\xa3\xe5\xba\xa6\n",
	  -1, FALSE, GMIME_CONTENT_ENCODING_BASE64 },
	{ "8bit when allowed",
	  "Gr\xc3\xbc\xc3\x9f"
	  "e\n",
	  -1, TRUE, GMIME_CONTENT_ENCODING_8BIT },
	{ "bare CR never raw", "a\rb\n", -1, FALSE,
	  GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE },
	{ "NUL is base64", "a\0b\n", 4, TRUE, GMIME_CONTENT_ENCODING_BASE64 },
	/* RFC 5322 2.1.1: lines SHOULD be at most 78 characters */
	{ "a 78-character line is 7bit",
	  "123456789 123456789 123456789 123456789 123456789 123456789 "
	  "123456789 12345678\n",
	  -1, FALSE, GMIME_CONTENT_ENCODING_7BIT },
	{ "a 79-character line is qp",
	  "123456789 123456789 123456789 123456789 123456789 123456789 "
	  "123456789 123456789\n",
	  -1, FALSE, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE },
	{ "a long ascii line is qp, not 8bit",
	  "123456789 123456789 123456789 123456789 123456789 123456789 "
	  "123456789 123456789\n",
	  -1, TRUE, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE },
};

static void
test_best_encoding (void)
{
	for (guint i = 0; i < G_N_ELEMENTS (encoding_cases); i++) {
		MpPartStats st = { 0 };
		gsize line = 0;
		gboolean cr = FALSE;
		gsize len = encoding_cases[i].len < 0 ?
				    strlen (encoding_cases[i].data) :
				    (gsize) encoding_cases[i].len;

		mp_part_stats_update (&st, &line, &cr,
				      (const guchar *) encoding_cases[i].data,
				      len);
		g_test_message ("%s", encoding_cases[i].name);
		g_assert_cmpint (
			mp_part_best_encoding (&st, TRUE,
					       encoding_cases[i].allow_8bit),
			==, encoding_cases[i].expected);
	}
}

static void
test_long_lines_never_raw (void)
{
	g_autoptr (GString) s = g_string_new (NULL);
	MpPartStats st = { 0 };
	gsize line = 0;
	gboolean cr = FALSE;

	for (int i = 0; i < 1200; i++)
		g_string_append_c (s, 'x');
	g_string_append_c (s, '\n');
	/* fed in two pieces: the line length carries across calls */
	mp_part_stats_update (&st, &line, &cr, (guchar *) s->str, 600);
	mp_part_stats_update (&st, &line, &cr, (guchar *) s->str + 600,
			      s->len - 600);
	g_assert_cmpuint (st.max_line, ==, 1200);
	g_assert_cmpint (mp_part_best_encoding (&st, TRUE, TRUE), ==,
			 GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
}

static char *
write_part (GMimePart *part)
{
	GMimeStream *mem = g_mime_stream_mem_new ();
	GByteArray *ba;
	char *s;

	g_mime_object_write_to_stream (GMIME_OBJECT (part), NULL, mem);
	ba = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (mem));
	s = g_strndup ((char *) ba->data, ba->len);
	g_object_unref (mem);
	return s;
}

static void
test_latin1_range_text_stays_utf8 (void)
{
	/* g_mime_text_part_set_text() would label this iso-8859-1 */
	g_autoptr (GBytes) b =
		g_bytes_new_static ("un caf\xc3\xa9 au lait\n", 17);
	g_autoptr (GError) error = NULL;
	g_autoptr (GMimePart) p =
		mp_part_new_text ("plain", b, NULL, FALSE, "body", &error);
	g_autofree char *out = NULL;

	g_assert_no_error (error);
	out = write_part (p);
	g_assert_nonnull (strstr (out, "charset=utf-8"));
	g_assert_nonnull (strstr (out, "caf=C3=A9"));
}

static void
test_invalid_utf8_refused (void)
{
	g_autoptr (GBytes) b = g_bytes_new_static ("ok\ncaf\xe9\n", 8);
	g_autoptr (GError) error = NULL;
	g_autoptr (GMimePart) p =
		mp_part_new_text ("plain", b, NULL, FALSE, "note.txt", &error);

	g_assert_null (p);
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	g_assert_nonnull (strstr (error->message, "note.txt"));
	g_assert_nonnull (strstr (error->message, "line 2"));
}

static void
test_declared_charset_kept (void)
{
	g_autoptr (GBytes) b = g_bytes_new_static ("un caf\xe9 au lait\n", 16);
	g_autoptr (GError) error = NULL;
	g_autoptr (GMimePart) p = mp_part_new_text ("plain", b, "ISO-8859-1",
						    FALSE, "body", &error);
	g_autofree char *out = NULL;

	g_assert_no_error (error);
	out = write_part (p);
	g_assert_nonnull (strstr (out, "charset=iso-8859-1"));
	g_assert_nonnull (strstr (out, "caf=E9"));
}

static void
test_unknown_charset_is_usage (void)
{
	g_autoptr (GBytes) b = g_bytes_new_static ("x\n", 2);
	g_autoptr (GError) error = NULL;
	g_autoptr (GMimePart) p = mp_part_new_text ("plain", b, "no-such-cs",
						    FALSE, "body", &error);

	g_assert_null (p);
	g_assert_error (error, MP_ERROR, MP_ERROR_USAGE);
}

static void
test_chunk_edges (void)
{
	/* a character cut by the 64 KiB read chunk is still one character;
	 * an invalid byte far in is reported at its offset and line */
	g_autoptr (GString) s = g_string_new (NULL);
	g_autoptr (GError) error = NULL;
	g_autoptr (GBytes) good = NULL;
	g_autoptr (GBytes) bad = NULL;
	g_autoptr (GMimePart) p = NULL;

	for (gsize i = 0; i < 65535; i++)
		g_string_append_c (s, i % 64 == 63 ? '\n' : 'a');
	g_string_append (s, "\xc3\xa9\r\n");
	good = g_bytes_new (s->str, s->len);
	p = mp_part_new_text ("plain", good, NULL, FALSE, "body", &error);
	g_assert_no_error (error);
	g_assert_nonnull (p);
	g_string_append (s, "ok\xff\n");
	bad = g_bytes_new (s->str, s->len);
	g_assert_null (
		mp_part_new_text ("plain", bad, NULL, FALSE, "body", &error));
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	g_assert_nonnull (strstr (error->message, "at byte 65541 (line 1025)"));
}

static void
test_crlf_becomes_lf (void)
{
	g_autoptr (GBytes) b = g_bytes_new_static ("a\r\nb\r\n", 6);
	g_autoptr (GError) error = NULL;
	g_autoptr (GMimePart) p =
		mp_part_new_text ("plain", b, NULL, FALSE, "body", &error);
	g_autofree char *out = write_part (p);

	g_assert_nonnull (strstr (out, "7bit"));
	g_assert_true (g_str_has_suffix (out, "\n\na\nb\n"));
}

/* A leaf made from a file holding @data, written as a part (LF). */
static char *
leaf_from_file (const char *data, gsize len, gboolean message,
		GPtrArray **notes, GError **error)
{
	g_autofree char *dir = g_dir_make_tmp ("test-part-XXXXXX", NULL);
	g_autofree char *path = g_build_filename (dir, "data.csv", NULL);
	g_autofree char *out_path = g_build_filename (dir, "out", NULL);
	MpPartFileOptions opts = { 0 };
	g_autoptr (MpLeaf) leaf = NULL;
	g_autoptr (MpOutput) out = NULL;
	MpInput *in;
	char *written = NULL;

	g_assert_true (g_file_set_contents (path, data, (gssize) len, NULL));
	in = mp_input_open (path, error);
	g_assert_nonnull (in);
	opts.message = message;
	leaf = mp_part_leaf_new_file (in, &opts, error);
	if (leaf) {
		if (notes)
			*notes =
				g_ptr_array_ref (mp_part_leaf_get_notes (leaf));
		out = mp_output_open (out_path, FALSE, error);
		g_assert_nonnull (out);
		g_assert_true (mp_part_leaf_write (leaf, out, FALSE, error));
		g_assert_true (mp_output_close (out, error));
		g_assert_true (
			g_file_get_contents (out_path, &written, NULL, NULL));
	}
	unlink (path);
	unlink (out_path);
	rmdir (dir);
	return written;
}

/* DESIGN 4, issue 13: an attached file is base64 whatever its type, so
 * no reader can add or drop a line ending */
static void
test_text_file_is_base64 (void)
{
	g_autoptr (GError) error = NULL;
	g_autofree char *out =
		leaf_from_file ("a,b\n1,2\n", 8, FALSE, NULL, &error);

	g_assert_no_error (error);
	g_assert_nonnull (strstr (out, "Content-Type: text/csv"));
	g_assert_nonnull (strstr (out, "Content-Transfer-Encoding: base64\n"));
	g_assert_true (g_str_has_suffix (out, "\n\nYSxiCjEsMgo=\n"));
}

/* A forwarded message is never binary: the leaf whose lines are over 998
 * octets is encoded again, quoted-printable for text, the rest kept */
static void
test_forwarded_long_lines_encoded_per_leaf (void)
{
	g_autoptr (GString) m = g_string_new (
		"From: a@example.org\nMIME-Version: 1.0\n"
		"Content-Type: multipart/mixed; boundary=b\n\n"
		"--b\nContent-Type: text/plain\n\nkept as it is\n"
		"--b\nContent-Type: text/plain\nContent-Transfer-Encoding: "
		"8bit\n\n");
	g_autoptr (GPtrArray) notes = NULL;
	g_autoptr (GError) error = NULL;
	g_autofree char *out = NULL;
	char **lines;
	guint i;

	for (i = 0; i < 1500; i++)
		g_string_append_c (m, 'x');
	g_string_append (m, "\n--b--\n");
	out = leaf_from_file (m->str, m->len, TRUE, &notes, &error);
	g_assert_no_error (error);
	g_assert_nonnull (strstr (out, "Content-Transfer-Encoding: 7bit\n"));
	g_assert_nonnull (strstr (
		out, "--b\nContent-Type: text/plain\n\nkept as it is\n"));
	g_assert_nonnull (strstr (
		out, "Content-Type: text/plain\n"
		     "Content-Transfer-Encoding: quoted-printable\n\n"));
	g_assert_null (strstr (out, "8bit"));
	lines = g_strsplit (out, "\n", -1);
	for (i = 0; lines[i]; i++)
		g_assert_cmpuint (strlen (lines[i]), <=, 998);
	g_strfreev (lines);
	g_assert_cmpuint (notes->len, ==, 1);
	g_assert_nonnull (strstr (notes->pdata[0], "part 2 (text/plain)"));
}

/* what is outside every leaf's body cannot be encoded again */
static void
test_forwarded_long_header_refused (void)
{
	g_autoptr (GString) m = g_string_new ("From: a@example.org\nX-Long: ");
	g_autoptr (GError) error = NULL;
	g_autofree char *out = NULL;
	guint i;

	for (i = 0; i < 1200; i++)
		g_string_append_c (m, 'y');
	g_string_append (m, "\n\nbody\n");
	out = leaf_from_file (m->str, m->len, TRUE, NULL, &error);
	g_assert_null (out);
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	g_assert_nonnull (strstr (error->message, "over 998"));
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_mime_init ();
	g_test_add_func ("/part/best-encoding", test_best_encoding);
	g_test_add_func ("/part/long-lines-never-raw",
			 test_long_lines_never_raw);
	g_test_add_func ("/part/latin1-range-text-stays-utf8",
			 test_latin1_range_text_stays_utf8);
	g_test_add_func ("/part/invalid-utf8-refused",
			 test_invalid_utf8_refused);
	g_test_add_func ("/part/declared-charset-kept",
			 test_declared_charset_kept);
	g_test_add_func ("/part/unknown-charset-is-usage",
			 test_unknown_charset_is_usage);
	g_test_add_func ("/part/crlf-becomes-lf", test_crlf_becomes_lf);
	g_test_add_func ("/part/chunk-edges", test_chunk_edges);
	g_test_add_func ("/part/text-file-is-base64", test_text_file_is_base64);
	g_test_add_func ("/part/forwarded-long-lines-encoded-per-leaf",
			 test_forwarded_long_lines_encoded_per_leaf);
	g_test_add_func ("/part/forwarded-long-header-refused",
			 test_forwarded_long_header_refused);
	return g_test_run ();
}
