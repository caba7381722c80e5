/* mp-base64: the fast encoder gives GMime's bytes and decodes back. */
#include "mp-base64.h"

#include <string.h>

static GByteArray *
run_filter_max (GMimeFilter *filter, const guchar *data, gsize len, GRand *rand,
		gint32 max_chunk)
{
	GMimeStream *mem = g_mime_stream_mem_new ();
	GMimeStream *fs = g_mime_stream_filter_new (mem);
	GByteArray *copy;
	gsize pos = 0;

	g_mime_stream_filter_add (GMIME_STREAM_FILTER (fs), filter);
	/* random chunk sizes exercise the carried group and column */
	while (pos < len) {
		gsize n = rand ? (gsize) g_rand_int_range (rand, 1, max_chunk) :
				 len;

		n = MIN (n, len - pos);
		g_assert_cmpint (
			g_mime_stream_write (fs, (const char *) data + pos, n),
			==, (gssize) n);
		pos += n;
	}
	g_mime_stream_flush (fs);
	copy = g_byte_array_new ();
	g_byte_array_append (
		copy,
		g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (mem))->data,
		g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (mem))->len);
	g_object_unref (fs);
	g_object_unref (mem);
	return copy;
}

static GByteArray *
run_filter (GMimeFilter *filter, const guchar *data, gsize len, GRand *rand)
{
	return run_filter_max (filter, data, len, rand, 200);
}

/* the vector path (whole lines, where the CPU has AVX2) and the table
 * path give GMime's bytes on large writes too, and on the bytes whose
 * indices sit at the edges of the alphabet's ranges (25/26, 51/52, 61,
 * 62, 63) */
static void
test_vector_and_scalar_match_gmime (void)
{
	g_autoptr (GRand) rand = g_rand_new_with_seed (7);
	const gsize len = 1000003;
	g_autofree guchar *data = g_malloc (len);
	g_autoptr (GByteArray) ref = NULL;
	g_autoptr (GMimeFilter) theirs =
		g_mime_filter_basic_new (GMIME_CONTENT_ENCODING_BASE64, TRUE);

	for (gsize j = 0; j < len; j++)
		data[j] = (guchar) g_rand_int (rand);
	/* runs of 0x00, 0xff and the groups giving indices 25, 26, 51, 52,
	 * 61, 62, 63 in every position */
	memset (data + 1000, 0x00, 600);
	memset (data + 2000, 0xff, 600);
	for (gsize j = 3000; j + 3 <= 9000; j += 3) {
		static const guchar idx[] = { 25, 26, 51, 52, 61, 62, 63 };
		guint a = idx[(j / 3) % 7], b = idx[(j / 3 + 1) % 7],
		      c = idx[(j / 3 + 3) % 7], d = idx[(j / 3 + 5) % 7];
		guint32 v = a << 18 | b << 12 | c << 6 | d;

		data[j] = (guchar) (v >> 16);
		data[j + 1] = (guchar) (v >> 8);
		data[j + 2] = (guchar) v;
	}
	ref = run_filter (theirs, data, len, NULL);
	for (int scalar = 0; scalar <= 1; scalar++) {
		const gint32 max_chunks[] = { 2, 200, 4096, 70000, 1 << 20 };

		mp_base64_force_scalar (scalar);
		for (guint k = 0; k < G_N_ELEMENTS (max_chunks); k++) {
			g_autoptr (GMimeFilter) ours = mp_filter_base64_new ();
			g_autoptr (GByteArray) a = run_filter_max (
				ours, data, len, rand, max_chunks[k]);

			g_assert_cmpmem (a->data, a->len, ref->data, ref->len);
		}
		{
			g_autoptr (GMimeFilter) ours = mp_filter_base64_new ();
			g_autoptr (GByteArray) a =
				run_filter (ours, data, len, NULL);

			g_assert_cmpmem (a->data, a->len, ref->data, ref->len);
		}
	}
	mp_base64_force_scalar (FALSE);
}

static void
test_matches_gmime_on_random_data (void)
{
	g_autoptr (GRand) rand = g_rand_new_with_seed (42);
	const gsize sizes[] = { 0,   1,   2,   3,    56,   57,    58,
				113, 114, 115, 1000, 4096, 65537, 300001 };

	for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
		g_autofree guchar *data = g_malloc (sizes[i] + 1);
		g_autoptr (GMimeFilter) ours = mp_filter_base64_new ();
		g_autoptr (GMimeFilter) theirs = g_mime_filter_basic_new (
			GMIME_CONTENT_ENCODING_BASE64, TRUE);
		g_autoptr (GByteArray) a = NULL;
		g_autoptr (GByteArray) b = NULL;
		g_autofree char *text = NULL;
		g_autofree guchar *back = NULL;
		gsize backlen;

		for (gsize j = 0; j < sizes[i]; j++)
			data[j] = (guchar) g_rand_int (rand);
		a = run_filter (ours, data, sizes[i], rand);
		b = run_filter (theirs, data, sizes[i], NULL);
		g_assert_cmpmem (a->data, a->len, b->data, b->len);
		text = g_malloc0 (a->len + 1);
		if (a->len)
			memcpy (text, a->data, a->len);
		back = g_base64_decode (text, &backlen);
		g_assert_cmpmem (back, backlen, data, sizes[i]);
		/* RFC 2045 6.8: lines of at most 76 characters */
		for (char *line = text; *line;) {
			char *nl = strchr (line, '\n');
			g_assert_nonnull (nl);
			g_assert_cmpint (nl - line, <=, 76);
			line = nl + 1;
		}
	}
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_mime_init ();
	g_test_add_func ("/base64/matches-gmime-on-random-data",
			 test_matches_gmime_on_random_data);
	g_test_add_func ("/base64/vector-and-scalar-match-gmime",
			 test_vector_and_scalar_match_gmime);
	return g_test_run ();
}
