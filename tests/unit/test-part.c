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

/* A leaf made from a file @name holding @data with @opts, written as a
 * part (LF); NULL with @error when it is refused.  *@notes (may be NULL)
 * receives the leaf's notes. */
static char *
leaf_of_file (const char *name, const char *data, gsize len,
	      const MpPartFileOptions *opts, GPtrArray **notes, GError **error)
{
	g_autofree char *dir = g_dir_make_tmp ("test-part-XXXXXX", NULL);
	g_autofree char *path = g_build_filename (dir, name, NULL);
	g_autofree char *out_path = g_build_filename (dir, "out", NULL);
	g_autoptr (MpLeaf) leaf = NULL;
	g_autoptr (MpOutput) out = NULL;
	MpInput *in;
	char *written = NULL;

	g_assert_true (g_file_set_contents (path, data, (gssize) len, NULL));
	in = mp_input_open (path, error);
	g_assert_nonnull (in);
	leaf = mp_part_leaf_new_file (in, opts, error);
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

/* A leaf made from a file "data.csv" holding @data (--message when
 * @message), written as a part (LF). */
static char *
leaf_from_file (const char *data, gsize len, gboolean message,
		GPtrArray **notes, GError **error)
{
	MpPartFileOptions opts = { .message = message };

	return leaf_of_file ("data.csv", data, len, &opts, notes, error);
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

/* ---- the one-pass scan: the same answers whatever the chunking ---- */

/* A stream that hands out its bytes in pieces of random size (1 to
 * @max), so that characters, CRLF pairs and lines are cut at every
 * place (GMime's tests do the same with one byte at a time). */
#define TYPE_TRICKLE (trickle_get_type ())
G_DECLARE_FINAL_TYPE (Trickle, trickle, T, TRICKLE, GMimeStream)

struct _Trickle {
	GMimeStream parent;
	GBytes *data;
	gsize pos;
	GRand *rand;
	gint32 max;
};

G_DEFINE_TYPE (Trickle, trickle, GMIME_TYPE_STREAM)

static ssize_t
trickle_read (GMimeStream *stream, char *buf, size_t len)
{
	Trickle *t = T_TRICKLE (stream);
	gsize size, n;
	const char *d = g_bytes_get_data (t->data, &size);
	gsize piece = (gsize) g_rand_int_range (t->rand, 1, t->max + 1);

	n = MIN (len, size - t->pos);
	n = MIN (n, piece);
	if (n == 0)
		return 0;
	memcpy (buf, d + t->pos, n);
	t->pos += n;
	stream->position = (gint64) t->pos;
	return (ssize_t) n;
}

static gboolean
trickle_eos (GMimeStream *stream)
{
	Trickle *t = T_TRICKLE (stream);

	return t->pos >= g_bytes_get_size (t->data);
}

static int
trickle_reset (GMimeStream *stream)
{
	T_TRICKLE (stream)->pos = 0;
	stream->position = 0;
	return 0;
}

static gint64
trickle_length (GMimeStream *stream)
{
	return (gint64) g_bytes_get_size (T_TRICKLE (stream)->data);
}

static void
trickle_finalize (GObject *object)
{
	Trickle *t = T_TRICKLE (object);

	g_bytes_unref (t->data);
	g_rand_free (t->rand);
	G_OBJECT_CLASS (trickle_parent_class)->finalize (object);
}

static void
trickle_class_init (TrickleClass *klass)
{
	GMimeStreamClass *sc = GMIME_STREAM_CLASS (klass);

	G_OBJECT_CLASS (klass)->finalize = trickle_finalize;
	sc->read = trickle_read;
	sc->eos = trickle_eos;
	sc->reset = trickle_reset;
	sc->length = trickle_length;
}

static void
trickle_init (Trickle *t)
{
}

static GMimeStream *
trickle_new (const void *data, gsize len, guint32 seed, gint32 max)
{
	Trickle *t = g_object_new (TYPE_TRICKLE, NULL);

	g_mime_stream_construct (GMIME_STREAM (t), 0, -1);
	t->data = g_bytes_new (data, len);
	t->rand = g_rand_new_with_seed (seed);
	t->max = max;
	return GMIME_STREAM (t);
}

/* The same for a text in a charset, read a few bytes at a time or at
 * once: a character cut by a read is carried to the next, an invalid byte
 * is reported at its offset and line, a character cut short by the end
 * at its offset */
static void
test_charset_chunk_edges (void)
{
	g_autoptr (GString) s = g_string_new (NULL);
	gsize good_len;

	for (int line = 0; line < 1000; line++) {
		for (int i = 0; i < 20; i++)
			g_string_append (s, "\x82\xa0"); /* HIRAGANA A */
		g_string_append_c (s, '\n');
	}
	good_len = s->len;
	for (int max = 1; max <= 300000; max *= 23) {
		static const struct {
			const char *tail;
			const char *want;
		} cases[] = {
			{ "", NULL },
			{ "ok\x82\xff\n", "invalid SHIFT_JIS at byte 41002 "
					  "(line 1001)" },
			{ "\x82",
			  "invalid SHIFT_JIS at byte 41000 (a character "
			  "cut short at the end)" },
		};

		for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
			g_autoptr (GError) error = NULL;
			g_autoptr (GMimeStream) in = NULL;
			g_autoptr (GMimePart) p = NULL;
			g_autofree char *want = NULL;

			g_string_truncate (s, good_len);
			g_string_append (s, cases[i].tail);
			in = trickle_new (s->str, s->len, (guint32) i, max);
			p = mp_part_new_text_from_stream ("plain", in,
							  "SHIFT_JIS", FALSE,
							  "body", &error);
			if (cases[i].want == NULL) {
				g_assert_no_error (error);
				g_assert_nonnull (p);
				continue;
			}
			g_assert_null (p);
			g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
			want = g_strconcat ("body: ", cases[i].want, NULL);
			g_assert_cmpstr (error->message, ==, want);
		}
	}
}

/* Random text from @pieces, after up to 100 ASCII bytes (so that what
 * matters falls at every place of a 32-byte vector block). */
static GByteArray *
random_text (GRand *rand, const char *const *pieces, guint npieces,
	     int max_pieces)
{
	GByteArray *a = g_byte_array_new ();
	int pad = g_rand_int_range (rand, 0, 100);
	int n = g_rand_int_range (rand, 0, max_pieces);

	for (int i = 0; i < pad; i++)
		g_byte_array_append (a, (const guchar *) "abcdefgh" + i % 8, 1);
	for (int i = 0; i < n; i++) {
		const char *p = pieces[g_rand_int_range (rand, 0, npieces)];

		/* "" stands for a NUL byte */
		g_byte_array_append (a, (const guchar *) p,
				     *p ? (guint) strlen (p) : 1);
	}
	return a;
}

/* UTF-8 is valid exactly when g_utf8_validate_len() says so, and an
 * invalid character is reported at the offset and line GLib gives it,
 * by the vector and the byte-at-a-time scan, whatever the chunking:
 * characters cut by a read, overlong forms, surrogates, code points past
 * U+10FFFF, NUL, a character cut short at the end */
static void
test_utf8_matches_glib (void)
{
	static const char *const pieces[] = {
		"a",
		"\n",
		"\r\n",
		"\r",
		" ",
		"\xc3\xa9",
		"\xe2\x82\xac",
		"\xf0\x9f\x98\x80",
		"\xef\xbf\xbf",
		"\xf4\x8f\xbf\xbf",
		"\xed\x9f\xbf",
		"\xee\x80\x80",
		"\xc2\x80",
		"\xdf\xbf",
		"\xe0\xa0\x80",
		"\xf0\x90\x80\x80",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		/* invalid */
		"\xff",
		"\x80",
		"\xc0\xaf",
		"\xc1\xbf",
		"\xe0\x80\xaf",
		"\xe0\x9f\xbf",
		"\xed\xa0\x80",
		"\xed\xbf\xbf",
		"\xf0\x8f\xbf\xbf",
		"\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80",
		"\xc3",
		"\xe2\x82",
		"\xf0\x9f\x98",
		"",
	};
	g_autoptr (GRand) rand = g_rand_new_with_seed (99);

	for (int round = 0; round < 4000; round++) {
		g_autoptr (GByteArray) a =
			random_text (rand, pieces, G_N_ELEMENTS (pieces),
				     round % 2 ? 4 : 60);
		const char *end = NULL;
		gboolean valid = g_utf8_validate_len ((const char *) a->data,
						      a->len, &end);
		gsize at = (gsize) (end - (const char *) a->data), lines = 1;
		g_autofree char *want = NULL;

		for (gsize i = 0; i < at; i++)
			lines += a->data[i] == '\n';
		want = g_strdup_printf ("at byte %" G_GSIZE_FORMAT " (", at);
		for (int scalar = 0; scalar < 2; scalar++) {
			g_autoptr (GMimeStream) s =
				trickle_new (a->data, a->len, (guint32) round,
					     round % 3 ? 7 : 300000);
			g_autoptr (GError) error = NULL;
			g_autoptr (GMimePart) p = NULL;

			mp_part_force_scalar (scalar);
			p = mp_part_new_text_from_stream ("plain", s, NULL,
							  FALSE, "t", &error);
			g_assert_true ((p != NULL) == valid);
			if (valid)
				continue;
			g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
			if (strstr (error->message, "cut short") == NULL) {
				g_autofree char *line = g_strdup_printf (
					"(line %" G_GSIZE_FORMAT ")", lines);

				g_assert_nonnull (
					strstr (error->message, line));
			}
			g_assert_nonnull (strstr (error->message, want));
		}
	}
	mp_part_force_scalar (FALSE);
}

/* The statistics as the rules say, a byte at a time: the reference the
 * scan is held to. */
static void
reference_stats (const guchar *d, gsize len, MpPartStats *st)
{
	gsize line = 0;
	gboolean cr = FALSE;

	memset (st, 0, sizeof *st);
	for (gsize i = 0; i < len; i++) {
		guchar c = d[i];

		if (cr && c != '\n')
			st->bare_cr++;
		cr = FALSE;
		if (c == '\n') {
			st->max_line = MAX (st->max_line, line);
			line = 0;
		} else if (c == '\r') {
			cr = TRUE;
		} else {
			line++;
			st->non_ascii += c >= 0x80;
			st->nul += c == 0;
		}
	}
	/* a CR at the very end is not in CRLF */
	st->bare_cr += cr;
	st->max_line = MAX (st->max_line, line);
	st->length = len;
}

/* The vector scan and the word-at-a-time one give the reference's
 * statistics over text and binary, fed in pieces cut anywhere: a CR at
 * a piece's end, lines of every length around 31, 78 and 998 octets */
static void
test_stats_match_reference (void)
{
	static const char *const pieces[] = {
		"a",
		"\n",
		"\r\n",
		"\r",
		"\r\r\n",
		"\xc3\xa9",
		"\xff\xfe",
		"",
		" ",
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	};
	g_autoptr (GRand) rand = g_rand_new_with_seed (11);

	for (int round = 0; round < 3000; round++) {
		g_autoptr (GByteArray) a =
			random_text (rand, pieces, G_N_ELEMENTS (pieces),
				     round % 4 ? 80 : 600);
		MpPartStats want;

		/* every third round only short lines, from the start: the
		 * lines inside one vector block decide the longest */
		if (round % 3 == 0) {
			g_byte_array_set_size (a, 0);
			for (int i = g_rand_int_range (rand, 0, 400); i > 0;
			     i--) {
				const char *p = pieces[g_rand_int_range (
					rand, 0, G_N_ELEMENTS (pieces) - 1)];

				g_byte_array_append (a, (const guchar *) p,
						     *p ? (guint) strlen (p) :
							  1);
			}
		}

		reference_stats (a->data, a->len, &want);
		for (int scalar = 0; scalar < 2; scalar++) {
			MpPartStats got = { 0 };
			gsize line = 0, pos = 0;
			gboolean cr = FALSE;

			mp_part_force_scalar (scalar);
			while (pos < a->len) {
				gsize n =
					(gsize) g_rand_int_range (rand, 1, 200);

				n = MIN (n, a->len - pos);
				mp_part_stats_update (&got, &line, &cr,
						      a->data + pos, n);
				pos += n;
			}
			if (cr)
				got.bare_cr++;
			g_assert_cmpuint (got.length, ==, want.length);
			g_assert_cmpuint (got.non_ascii, ==, want.non_ascii);
			g_assert_cmpuint (got.nul, ==, want.nul);
			g_assert_cmpuint (got.bare_cr, ==, want.bare_cr);
			g_assert_cmpuint (got.max_line, ==, want.max_line);
		}
	}
	mp_part_force_scalar (FALSE);
}

/* RFC 5322 2.1.1: 998 octets is the longest line that may go out raw;
 * its CRLF does not count */
static void
test_line_of_998_octets (void)
{
	for (gsize len = 997; len <= 999; len++) {
		for (int crlf = 0; crlf < 2; crlf++) {
			g_autoptr (GString) s = g_string_new ("\xc3\xa9");
			g_autoptr (GBytes) b = NULL;
			g_autoptr (GError) error = NULL;
			g_autoptr (GMimePart) p = NULL;

			while (s->len < len)
				g_string_append_c (s, 'x');
			g_string_append (s, crlf ? "\r\n" : "\n");
			b = g_bytes_new (s->str, s->len);
			p = mp_part_new_text ("plain", b, NULL, TRUE, "t",
					      &error);
			g_assert_no_error (error);
			g_assert_cmpint (
				g_mime_part_get_content_encoding (p), ==,
				len <= 998 ?
					GMIME_CONTENT_ENCODING_8BIT :
					GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
		}
	}
}

/* Our writer gives the bytes of GMime's own (the parent class's
 * write_to_stream() on the same part): CRLF made LF, a CR alone, blanks
 * before line breaks, long lines, every encoding; read in pieces */
static void
test_writer_matches_gmime (void)
{
	static const char *const pieces[] = {
		"a",
		"\n",
		"\r\n",
		"\r",
		" ",
		"\t",
		"=",
		"\xc3\xa9",
		"\xe6\x8a\xa5",
		"From ",
		".\n",
		"word ",
		"\r\r\n",
		"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
	};
	g_autoptr (GRand) rand = g_rand_new_with_seed (77);
	GMimeObjectClass *gmime = g_type_class_ref (GMIME_TYPE_TEXT_PART);

	for (int round = 0; round < 1500; round++) {
		g_autoptr (GByteArray) a =
			random_text (rand, pieces, G_N_ELEMENTS (pieces),
				     round % 3 ? 40 : 3000);
		g_autoptr (GMimeStream) src =
			trickle_new (a->data, a->len, (guint32) round, 5000);
		g_autoptr (GError) error = NULL;
		g_autoptr (GMimePart) p = mp_part_new_text_from_stream (
			"plain", src, NULL, round % 2, "t", &error);
		g_autoptr (GMimeStream) ours = g_mime_stream_mem_new ();
		g_autoptr (GMimeStream) theirs = g_mime_stream_mem_new ();
		GByteArray *o, *t;

		g_assert_no_error (error);
		g_assert_cmpint (g_mime_object_write_to_stream (
					 GMIME_OBJECT (p), NULL, ours),
				 >=, 0);
		g_assert_cmpint (gmime->write_to_stream (GMIME_OBJECT (p), NULL,
							 FALSE, theirs),
				 >=, 0);
		o = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (ours));
		t = g_mime_stream_mem_get_byte_array (
			GMIME_STREAM_MEM (theirs));
		g_assert_cmpmem (o->data, o->len, t->data, t->len);
	}
	g_type_class_unref (gmime);
}

/* mp_part_write() copies 7bit text from its file with the kernel and
 * writes the bytes GMime writes */
static void
test_write_copies_text_from_file (void)
{
	g_autofree char *dir = g_dir_make_tmp ("test-part-XXXXXX", NULL);
	g_autofree char *in_path = g_build_filename (dir, "body", NULL);
	g_autofree char *out_path = g_build_filename (dir, "out", NULL);
	g_autoptr (GString) body = g_string_new (NULL);
	g_autoptr (GError) error = NULL;
	g_autoptr (MpInput) in = NULL;
	g_autoptr (MpOutput) out = NULL;
	g_autoptr (GMimePart) p = NULL;
	g_autoptr (GMimeStream) mem = g_mime_stream_mem_new ();
	g_autofree char *got = NULL;
	gsize got_len;
	GByteArray *want;

	for (int i = 0; i < 20000; i++)
		g_string_append (body, "a line of text\n");
	g_assert_true (g_file_set_contents (in_path, body->str,
					    (gssize) body->len, NULL));
	in = mp_input_open (in_path, &error);
	g_assert_no_error (error);
	p = mp_part_new_text_from_stream ("plain", mp_input_get_stream (in),
					  NULL, FALSE, "body", &error);
	g_assert_no_error (error);
	g_assert_cmpint (g_mime_part_get_content_encoding (p), ==,
			 GMIME_CONTENT_ENCODING_7BIT);
	out = mp_output_open (out_path, FALSE, &error);
	g_assert_no_error (error);
	g_assert_true (mp_part_write (GMIME_OBJECT (p), out, &error));
	g_assert_true (mp_output_close (out, &error));
	g_assert_no_error (error);
	g_assert_true (g_file_get_contents (out_path, &got, &got_len, NULL));
	g_mime_object_write_to_stream (GMIME_OBJECT (p), NULL, mem);
	want = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (mem));
	g_assert_cmpmem (got, got_len, want->data, want->len);
	g_assert_nonnull (strstr (got, "7bit\n\na line of text\n"));
	unlink (in_path);
	unlink (out_path);
	rmdir (dir);
}

/* The steps of repairing a forwarded leaf: NUL bytes or a CR without LF
 * make even text base64, a quoted-printable body with a long line is
 * decoded and encoded again, every Content-Transfer-Encoding field goes
 * and one comes, in the message's line endings (CRLF here) */
static void
test_forwarded_leaf_repairs (void)
{
	g_autoptr (GString) m = g_string_new (
		"From: a@example.org\r\nMIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\nContent-Type: text/plain\r\n"
		"Content-Transfer-Encoding: 8bit\r\n\r\n");
	g_autoptr (GPtrArray) notes = NULL;
	g_autoptr (GError) error = NULL;
	g_autofree char *out = NULL;

	g_string_append_len (m, "a\0b\r\n", 5);
	g_string_append (m, "--b\r\nContent-Type: application/x-thing\r\n\r\n"
			    "c\rd\r\n"
			    "--b\r\nContent-Type: text/plain\r\n"
			    "Content-Transfer-Encoding: quoted-printable\r\n"
			    "X-Between: 1\r\n"
			    "Content-Transfer-Encoding: quoted-printable\r\n"
			    "\r\n=41");
	for (guint i = 0; i < 1200; i++)
		g_string_append_c (m, 'x');
	g_string_append (m, "\r\n--b--\r\n");
	out = leaf_from_file (m->str, m->len, TRUE, &notes, &error);
	g_assert_no_error (error);
	g_assert_nonnull (strstr (out, "--b\nContent-Type: text/plain\n"
				       "Content-Transfer-Encoding: base64\n\n"
				       "YQBi\n\n--b\n"));
	g_assert_nonnull (strstr (out,
				  "--b\nContent-Type: application/x-thing\n"
				  "Content-Transfer-Encoding: base64\n\n"
				  "Yw1k\n\n--b\n"));
	g_assert_nonnull (
		strstr (out, "--b\nContent-Type: text/plain\nX-Between: 1\n"
			     "Content-Transfer-Encoding: quoted-printable\n\n"
			     "Axxx"));
	g_assert_null (strstr (out, "8bit"));
	g_assert_null (strstr (out, "=41"));
	g_assert_nonnull (strstr (out, "xxxx=\nxxxx"));
	g_assert_cmpuint (notes->len, ==, 3);
	g_assert_true (g_str_has_suffix (
		notes->pdata[0], ": part 1 (text/plain) encoded as base64: it "
				 "holds NUL bytes"));
	g_assert_true (g_str_has_suffix (
		notes->pdata[1], ": part 2 (application/x-thing) encoded as "
				 "base64: it holds a CR without LF"));
	g_assert_true (g_str_has_suffix (
		notes->pdata[2],
		": part 3 (text/plain) encoded as "
		"quoted-printable: a line is over 998 octets"));
}

/* A leaf made from a file "data.txt" holding @data with @opts, written
 * as a part (LF); NULL with @error when it is refused. */
static char *
leaf_with_options (const char *data, gsize len, const MpPartFileOptions *opts,
		   GError **error)
{
	return leaf_of_file ("data.txt", data, len, opts, NULL, error);
}

/* The steps of making a leaf from a file: the type from --type (refused
 * when it is none), text that is not UTF-8 (octet-stream without a
 * --type, refused with one that gives no charset), what is not a message
 * refused with --message, and the header block with every option */
static void
test_leaf_file_steps (void)
{
	MpPartFileOptions bad_type = { .type = "nonsense" };
	MpPartFileOptions text = { .type = "text/plain" };
	MpPartFileOptions message = { .message = TRUE };
	MpPartFileOptions all = { .type = "Text/Plain; format=flowed; name=x",
				  .name = "notes.txt",
				  .description = "Caf\xc3\xa9 notes",
				  .inline_disposition = TRUE,
				  .content_id = "n1@example.org" };
	MpPartFileOptions none = { 0 };
	GError *error = NULL;
	char *out;

	out = leaf_with_options ("hello\n", 6, &bad_type, &error);
	g_assert_null (out);
	g_assert_error (error, MP_ERROR, MP_ERROR_USAGE);
	g_assert_true (g_str_has_suffix (error->message,
					 "data.txt: --type nonsense: not a "
					 "media type"));
	g_clear_error (&error);

	out = leaf_with_options ("Gr\374\337e\n", 6, &text, &error);
	g_assert_null (out);
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	g_assert_true (g_str_has_suffix (
		error->message, "data.txt: not UTF-8 text; give its charset "
				"(--type 'text/plain; charset=...')"));
	g_clear_error (&error);

	out = leaf_with_options ("Gr\374\337e\n", 6, &none, &error);
	g_assert_no_error (error);
	g_assert_true (g_str_has_prefix (
		out,
		"Content-Type: application/octet-stream; name=\"data.txt\"\n"
		"Content-Disposition: attachment; filename=\"data.txt\"\n"
		"Content-Transfer-Encoding: base64\n\n"));
	g_free (out);

	out = leaf_with_options ("", 0, &message, &error);
	g_assert_null (out);
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	g_assert_true (
		g_str_has_suffix (error->message, "(cannot forward it)"));
	g_clear_error (&error);

	out = leaf_with_options ("hello\n", 6, &all, &error);
	g_assert_no_error (error);
	g_assert_cmpstr (out, ==,
			 "Content-Type: text/plain; format=\"flowed\"; "
			 "charset=\"utf-8\"; name=\"notes.txt\"\n"
			 "Content-Disposition: inline; filename=\"notes.txt\"\n"
			 "Content-ID: <n1@example.org>\n"
			 "Content-Description: =?UTF-8?Q?Caf=C3=A9?= notes\n"
			 "Content-Transfer-Encoding: base64\n\naGVsbG8K\n");
	g_free (out);
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
	g_test_add_func ("/part/charset-chunk-edges", test_charset_chunk_edges);
	g_test_add_func ("/part/text-file-is-base64", test_text_file_is_base64);
	g_test_add_func ("/part/forwarded-long-lines-encoded-per-leaf",
			 test_forwarded_long_lines_encoded_per_leaf);
	g_test_add_func ("/part/forwarded-long-header-refused",
			 test_forwarded_long_header_refused);
	g_test_add_func ("/part/utf8-matches-glib", test_utf8_matches_glib);
	g_test_add_func ("/part/stats-match-reference",
			 test_stats_match_reference);
	g_test_add_func ("/part/line-of-998-octets", test_line_of_998_octets);
	g_test_add_func ("/part/writer-matches-gmime",
			 test_writer_matches_gmime);
	g_test_add_func ("/part/write-copies-text-from-file",
			 test_write_copies_text_from_file);
	g_test_add_func ("/part/forwarded-leaf-repairs",
			 test_forwarded_leaf_repairs);
	g_test_add_func ("/part/leaf-file-steps", test_leaf_file_steps);
	return g_test_run ();
}
