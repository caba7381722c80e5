/* mp-charset's decoder: the same UTF-8 whatever the pieces, U+FFFD for
 * what does not convert, nothing held back at the end. */
#include "mp-charset.h"

#include <string.h>

static void
to_string (const char *utf8, gsize len, gpointer user_data)
{
	g_string_append_len (user_data, utf8, (gssize) len);
}

/* @data through a decoder from @cs, in pieces of @piece bytes */
static char *
decode (const char *cs, const char *data, gsize len, gsize piece)
{
	g_autoptr (MpCharsetDecoder) d = mp_charset_decoder_new (cs);
	GString *out = g_string_new (NULL);
	gsize off = 0;

	g_assert_nonnull (d);
	do {
		gsize n = MIN (piece, len - off);

		mp_charset_decoder_feed (d, data + off, n, off + n == len,
					 to_string, out);
		off += n;
	} while (off < len);
	return g_string_free (out, FALSE);
}

static void
pieces_give_the_same_text (void)
{
	/* "日本語のテキスト" in Shift_JIS, two bytes a character */
	static const char sjis[] = "\x93\xfa\x96\x7b\x8c\xea\x82\xcc\x83\x65"
				   "\x83\x4c\x83\x58\x83\x67";
	g_autofree char *whole = decode ("SHIFT_JIS", sjis, strlen (sjis), 64);

	g_assert_cmpstr (whole, ==,
			 "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae"
			 "\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88");
	for (gsize piece = 1; piece < 6; piece++) {
		g_autofree char *cut =
			decode ("SHIFT_JIS", sjis, strlen (sjis), piece);

		g_assert_cmpstr (cut, ==, whole);
	}
}

static void
bad_bytes_become_replacement_characters (void)
{
	g_autofree char *bad = decode ("UTF-8",
				       "a\xff"
				       "b\xc3",
				       4, 1);

	g_assert_cmpstr (bad, ==,
			 "a\xef\xbf\xbd"
			 "b\xef\xbf\xbd");
}

static void
letter_held_back_comes_out_at_the_end (void)
{
	/* windows-1255 waits for a combining mark after a letter */
	g_autofree char *he = decode ("WINDOWS-1255", "\xf9\xec\xe5\xed", 4, 2);

	g_assert_cmpstr (he, ==, "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d");
}

static void
unknown_charset_has_no_decoder (void)
{
	g_assert_null (mp_charset_decoder_new ("X-NO-SUCH-CHARSET"));
}

static void
append_makes_nul_a_replacement_character (void)
{
	g_autoptr (GString) s = g_string_new (NULL);

	g_assert_true (mp_charset_append_utf8 (s, "iso-8859-1", "a\0\xe9", 3));
	g_assert_cmpstr (s->str, ==, "a\xef\xbf\xbd\xc3\xa9");
	g_assert_false (mp_charset_append_utf8 (s, "x-nonsense", "a", 1));
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/charset/pieces_give_the_same_text",
			 pieces_give_the_same_text);
	g_test_add_func ("/charset/bad_bytes_become_replacement_characters",
			 bad_bytes_become_replacement_characters);
	g_test_add_func ("/charset/letter_held_back_comes_out_at_the_end",
			 letter_held_back_comes_out_at_the_end);
	g_test_add_func ("/charset/unknown_charset_has_no_decoder",
			 unknown_charset_has_no_decoder);
	g_test_add_func ("/charset/append_makes_nul_a_replacement_character",
			 append_makes_nul_a_replacement_character);
	return g_test_run ();
}
