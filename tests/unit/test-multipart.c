/* mp-multipart: the framing both writers share, in each convention. */
#include "mp-multipart.h"

#include <string.h>

static void
plain_content_type_is_bare_and_unfolded (void)
{
	g_autoptr (GString) h = g_string_new ("Subject: x\n");
	const char *b = "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdef";

	mp_multipart_append_content_type (h, "multipart/alternative", NULL, b,
					  MP_MULTIPART_PLAIN);
	g_assert_cmpstr (h->str, ==,
			 "Subject: x\nContent-Type: multipart/alternative; "
			 "boundary=0123456789abcdefghijklmnopqrstuvwxyz"
			 "0123456789abcdef\n");
}

static void
marked_content_type_folds_past_78_columns (void)
{
	g_autoptr (GString) h = g_string_new ("X: a long header before it\n");
	/* 14 + 21 + 13 + 30 = 78: one line; one character more folds */
	const char *b30 = "=_aaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	const char *b31 = "=_aaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

	g_assert_cmpuint (strlen (b30), ==, 30);
	mp_multipart_append_content_type (h, "multipart/alternative", NULL, b30,
					  MP_MULTIPART_MARKED);
	g_assert_cmpstr (h->str, ==,
			 "X: a long header before it\n"
			 "Content-Type: multipart/alternative; "
			 "boundary=\"=_aaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n");
	g_string_assign (h, "");
	mp_multipart_append_content_type (h, "multipart/alternative", NULL, b31,
					  MP_MULTIPART_MARKED);
	g_assert_cmpstr (h->str, ==,
			 "Content-Type: multipart/alternative;\n "
			 "boundary=\"=_aaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n");
}

static void
related_carries_its_root_type (void)
{
	g_autoptr (GString) h = g_string_new (NULL);

	mp_multipart_append_content_type (h, "multipart/related", "text/html",
					  "=_b", MP_MULTIPART_MARKED);
	g_assert_cmpstr (h->str, ==,
			 "Content-Type: multipart/related; type=\"text/html\"; "
			 "boundary=\"=_b\"\n");
}

static void
delimiters_own_the_line_break_before_them (void)
{
	g_autofree char *first = mp_multipart_delimiter ("b", FALSE);
	g_autofree char *next = mp_multipart_delimiter ("b", TRUE);
	g_autofree char *close = mp_multipart_close_delimiter ("b", FALSE);
	g_autofree char *close_nl = mp_multipart_close_delimiter ("b", TRUE);

	g_assert_cmpstr (first, ==, "--b\n");
	g_assert_cmpstr (next, ==, "\n--b\n");
	g_assert_cmpstr (close, ==, "\n--b--");
	g_assert_cmpstr (close_nl, ==, "\n--b--\n");
}

static void
boundaries_follow_their_style (void)
{
	g_autoptr (MpRandom) r = mp_random_new ("seed");
	guint v;

	for (v = 0; v < 25; v++) {
		g_autofree char *plain =
			mp_multipart_boundary_new (r, MP_MULTIPART_PLAIN, v);
		g_autofree char *marked =
			mp_multipart_boundary_new (r, MP_MULTIPART_MARKED, v);
		g_autofree char *delim = g_strconcat ("--", marked, NULL);
		g_autofree char *pdelim = g_strconcat ("--", plain, NULL);

		g_assert_cmpuint (strlen (plain), ==, 24);
		g_assert_null (strstr (plain, "=_"));
		g_assert_true (g_str_has_prefix (marked, "=_") ||
			       g_str_has_prefix (marked + 1, "=_"));
		g_assert_cmpuint (strlen (marked), ==, v % 10 == 0 ? 26 : 27);
		g_assert_true (mp_multipart_like_marked_delimiter (
			delim, strlen (delim)));
		g_assert_false (mp_multipart_like_marked_delimiter (
			pdelim, strlen (pdelim)));
	}
	g_assert_false (mp_multipart_like_marked_delimiter ("--=_", 4));
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/multipart/plain_content_type_is_bare_and_unfolded",
			 plain_content_type_is_bare_and_unfolded);
	g_test_add_func ("/multipart/marked_content_type_folds_past_78_columns",
			 marked_content_type_folds_past_78_columns);
	g_test_add_func ("/multipart/related_carries_its_root_type",
			 related_carries_its_root_type);
	g_test_add_func ("/multipart/delimiters_own_the_line_break_before_them",
			 delimiters_own_the_line_break_before_them);
	g_test_add_func ("/multipart/boundaries_follow_their_style",
			 boundaries_follow_their_style);
	return g_test_run ();
}
