/* mp-base64: the fast encoder gives GMime's bytes and decodes back. */
#include "mp-base64.h"

#include <string.h>

static GByteArray *
run_filter (GMimeFilter *filter, const guchar *data, gsize len, GRand *rand)
{
	GMimeStream *mem = g_mime_stream_mem_new ();
	GMimeStream *fs = g_mime_stream_filter_new (mem);
	GByteArray *copy;
	gsize pos = 0;

	g_mime_stream_filter_add (GMIME_STREAM_FILTER (fs), filter);
	/* random chunk sizes exercise the carried group and column */
	while (pos < len) {
		gsize n = rand ? (gsize) g_rand_int_range (rand, 1, 200) : len;

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
	return g_test_run ();
}
