/* mp-qp: the fast quoted-printable encoder gives GMime's bytes. */
#include "mp-qp.h"

#include <string.h>

/* GMime's encoder over @data in one call */
static GByteArray *
gmime_qp (const guchar *data, gsize len)
{
	GByteArray *out = g_byte_array_sized_new ((guint) (len * 4 + 16));
	int state = -1;
	guint32 save = 0;
	gsize n;

	g_byte_array_set_size (out, (guint) (len * 4 + 16));
	n = g_mime_encoding_quoted_encode_close (data, len, out->data, &state,
						 &save);
	g_byte_array_set_size (out, (guint) n);
	return out;
}

/* ours, in pieces of random size (1..@max_chunk) */
static GByteArray *
our_qp (const guchar *data, gsize len, GRand *rand, gint32 max_chunk)
{
	GByteArray *out = g_byte_array_new ();
	MpQpState st = MP_QP_STATE_INIT;
	gsize pos = 0, n;
	char last[5];

	while (pos < len) {
		gsize step = (gsize) g_rand_int_range (rand, 1, max_chunk);

		/* exactly the room promised, for ASan to check */
		g_autofree char *buf = NULL;

		step = MIN (step, len - pos);
		buf = g_malloc (MP_QP_ENCODE_LEN (step));
		n = mp_qp_encode_step (&st, data + pos, step, buf);
		g_assert_cmpuint (n, <=, MP_QP_ENCODE_LEN (step));
		g_byte_array_append (out, (guchar *) buf, (guint) n);
		pos += step;
	}
	n = mp_qp_encode_close (&st, last);
	g_assert_cmpuint (n, <=, 5);
	g_byte_array_append (out, (guchar *) last, (guint) n);
	return out;
}

static void
assert_same (const guchar *data, gsize len, GRand *rand, gint32 max_chunk)
{
	g_autoptr (GByteArray) theirs = gmime_qp (data, len);
	g_autoptr (GByteArray) ours = our_qp (data, len, rand, max_chunk);

	g_assert_cmpmem (ours->data, ours->len, theirs->data, theirs->len);
}

/* text made of the bytes whose handling differs: blanks before line
 * breaks, CR alone and in CRLF, "=", bytes that are encoded, runs long
 * enough for soft breaks at every column */
static void
test_matches_gmime_on_text (void)
{
	static const char *const pieces[] = {
		"a",        "word",
		" ",        "\t",
		"\n",       "\r",
		"\r\n",     "=",
		"\xc3\xa9", "\x7f",
		"\0",       "From ",
		".",        "xxxxxxxxxxxxxxxxxxxx",
	};
	g_autoptr (GRand) rand = g_rand_new_with_seed (21);

	for (int round = 0; round < 3000; round++) {
		g_autoptr (GByteArray) data = g_byte_array_new ();
		int n = g_rand_int_range (rand, 0, 120);

		for (int i = 0; i < n; i++) {
			const char *p = pieces[g_rand_int_range (
				rand, 0, G_N_ELEMENTS (pieces))];

			g_byte_array_append (data, (const guchar *) p,
					     *p ? (guint) strlen (p) : 1);
		}
		assert_same (data->data, data->len, rand,
			     g_rand_int_range (rand, 2, 300));
	}
}

/* every byte value, alone and before each kind of following byte */
static void
test_matches_gmime_on_every_byte (void)
{
	g_autoptr (GRand) rand = g_rand_new_with_seed (3);
	static const guchar after[] = { 'x', ' ', '\t', '\r', '\n', '=', 0xff };

	for (guint c = 0; c < 256; c++) {
		guchar one[1] = { (guchar) c };

		assert_same (one, 1, rand, 2);
		for (guint j = 0; j < sizeof after; j++) {
			guchar two[2] = { (guchar) c, after[j] };

			assert_same (two, 2, rand, 3);
		}
	}
}

/* long lines of literal text and of encoded bytes: the soft breaks */
static void
test_matches_gmime_on_long_lines (void)
{
	g_autoptr (GRand) rand = g_rand_new_with_seed (5);
	g_autoptr (GByteArray) data = g_byte_array_new ();

	for (int i = 0; i < 5000; i++) {
		guchar c = (guchar) g_rand_int_range (rand, 0, 256);

		if (g_rand_int_range (rand, 0, 4))
			c = (guchar) g_rand_int_range (rand, 'a', 'z' + 1);
		g_byte_array_append (data, &c, 1);
	}
	assert_same (data->data, data->len, rand, 100000);
	assert_same (data->data, data->len, rand, 7);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_mime_init ();
	g_test_add_func ("/qp/matches-gmime-on-text",
			 test_matches_gmime_on_text);
	g_test_add_func ("/qp/matches-gmime-on-every-byte",
			 test_matches_gmime_on_every_byte);
	g_test_add_func ("/qp/matches-gmime-on-long-lines",
			 test_matches_gmime_on_long_lines);
	return g_test_run ();
}
