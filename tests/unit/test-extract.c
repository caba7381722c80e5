/* mp-extract and mp-show: safe file names, numbered names, IMAP section
 * numbers, uuencoded blocks inside text. */
#include "mp-error.h"
#include "mp-extract.h"

#include <string.h>
#include <unistd.h>

static void
test_safe_names (void)
{
	static const struct {
		const char *in, *out; /* out NULL: nothing usable */
	} cases[] = {
		{ "report.pdf", "report.pdf" },
		{ "../../etc/passwd", "passwd" },
		{ "/abs/path", "path" },
		{ "..\\..\\windows\\win.ini", "win.ini" },
		{ "dir/", NULL },
		{ ".bashrc", "bashrc" },
		{ "...", NULL },
		{ "..", NULL },
		{ ".", NULL },
		{ "", NULL },
		{ "-rf", "rf" },
		{ " - .x", "x" },
		{ "name. ", "name" },
		{ "a\tb\x1b[31m\x7f.txt", "a_b_[31m_.txt" },
		{ "c\xc2\x85"
		  "d",
		  "c_d" }, /* C1 control U+0085 */
		{ "bad\xff"
		  "utf8",
		  "bad_utf8" },
		{ "CON", "_CON" },
		{ "con.txt", "_con.txt" },
		{ "Com1.log", "_Com1.log" },
		{ "lpt9", "_lpt9" },
		{ "com10.txt", "com10.txt" },
		{ "console.txt", "console.txt" },
		{ "résumé ✓.pdf", "résumé ✓.pdf" },
		{ "季度报告.xlsx", "季度报告.xlsx" },
	};

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree char *got = mp_extract_safe_name (cases[i].in);

		g_test_message ("case %u", i);
		g_assert_cmpstr (got, ==, cases[i].out);
	}
	g_assert_null (mp_extract_safe_name (NULL));
}

static void
test_long_names_bounded (void)
{
	g_autoptr (GString) s = g_string_new (NULL);
	g_autofree char *got = NULL;
	g_autofree char *cjk = NULL;

	for (guint i = 0; i < 300; i++)
		g_string_append_c (s, 'x');
	g_string_append (s, ".pdf");
	got = mp_extract_safe_name (s->str);
	g_assert_cmpuint (strlen (got), ==, MP_EXTRACT_NAME_MAX);
	g_assert_true (g_str_has_suffix (got, "xx.pdf"));

	/* a cut never splits a character: 3-byte characters, 200 is not a
	 * multiple of 3 once the extension is kept */
	g_string_truncate (s, 0);
	for (guint i = 0; i < 100; i++)
		g_string_append (s, "报");
	g_string_append (s, ".txt");
	cjk = mp_extract_safe_name (s->str);
	g_assert_true (g_utf8_validate (cjk, -1, NULL));
	g_assert_cmpuint (strlen (cjk), <=, MP_EXTRACT_NAME_MAX);
	g_assert_cmpuint (strlen (cjk), >, MP_EXTRACT_NAME_MAX - 3);
	g_assert_true (g_str_has_suffix (cjk, "报.txt"));
}

static void
test_numbered_names (void)
{
	static const struct {
		const char *in;
		guint n;
		const char *out;
	} cases[] = {
		{ "report.pdf", 1, "report-1.pdf" },
		{ "archive.tar.gz", 2, "archive.tar-2.gz" },
		{ "README", 3, "README-3" },
		{ "part-1.2.txt", 1, "part-1.2-1.txt" },
	};

	for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree char *got =
			mp_extract_numbered_name (cases[i].in, cases[i].n);

		g_assert_cmpstr (got, ==, cases[i].out);
	}
}

/* A numbered name stays within MP_EXTRACT_NAME_MAX, and is a name
 * mp_extract_safe_name() keeps as it is (found by fuzz-extract: a safe
 * name of 200 bytes got "-1" and became 202). */
static void
test_numbered_names_bounded (void)
{
	g_autoptr (GString) s = g_string_new (NULL);

	for (guint i = 0; i < 98; i++)
		g_string_append (s, "\xc3\xbf"); /* U+00FF, two bytes */
	g_string_append (s, ".bin");
	g_assert_cmpuint (s->len, ==, MP_EXTRACT_NAME_MAX);
	for (guint n = 1; n <= 1000; n *= 10) {
		g_autofree char *got = mp_extract_numbered_name (s->str, n);
		g_autofree char *safe = mp_extract_safe_name (got);
		g_autofree char *num = g_strdup_printf ("-%u.bin", n);

		g_assert_cmpuint (strlen (got), <=, MP_EXTRACT_NAME_MAX);
		g_assert_true (g_utf8_validate (got, -1, NULL));
		g_assert_true (g_str_has_suffix (got, num));
		g_assert_true (g_str_has_prefix (got, "\xc3\xbf"));
		g_assert_cmpstr (safe, ==, got);
	}
}

static MpShow *
show_of (const char *text, MpInput **in_out)
{
	g_autoptr (GError) error = NULL;
	g_autofree char *path = NULL;
	int fd = g_file_open_tmp ("test-extract-XXXXXX", &path, NULL);
	MpShow *show;

	g_assert_cmpint (fd, >=, 0);
	g_assert_cmpint (write (fd, text, strlen (text)), ==,
			 (gssize) strlen (text));
	lseek (fd, 0, SEEK_SET);
	unlink (path);
	*in_out = mp_input_open_fd (fd, path, &error);
	g_assert_no_error (error);
	show = mp_show_new (*in_out, TRUE, &error);
	g_assert_no_error (error);
	return show;
}

static const char nested[] =
	"From: a@example.org\n"
	"Content-Type: multipart/mixed; boundary=o\n\n"
	"--o\nContent-Type: text/plain\n\none\n"
	"--o\nContent-Type: message/rfc822\n\n"
	"Subject: fwd\nContent-Type: multipart/alternative; boundary=i\n\n"
	"--i\nContent-Type: text/plain\n\ntwo\n"
	"--i\nContent-Type: text/html\n\n<p>three</p>\n--i--\n"
	"--o\nContent-Type: message/rfc822\n\nSubject: s\n\nfour\n"
	"--o\nContent-Type: application/octet-stream\n"
	"Content-Transfer-Encoding: base64\n\nAAECAwQFBgcICQ==\n--o--\n";

static void
test_sections (void)
{
	MpInput *in = NULL;
	MpShow *show = show_of (nested, &in);
	GPtrArray *parts = mp_show_get_parts (show);
	g_autoptr (GString) got = g_string_new (NULL);

	for (guint i = 0; i < parts->len; i++) {
		MpShowPart *p = parts->pdata[i];

		g_string_append_printf (got, "%s ", p->section);
	}
	g_assert_cmpstr (got->str, ==, "TEXT 1 2 2.TEXT 2.1 2.2 3 3.1 4 ");
	g_assert_nonnull (mp_show_find (show, "2.2"));
	g_assert_null (mp_show_find (show, "2.3"));
	g_assert_cmpint (mp_show_find (show, "4")->size, ==, 10);
	mp_show_free (show);
	mp_input_free (in);
}

static gboolean
collect (const char *data, gsize len, gpointer user_data, GError **error)
{
	g_string_append_len (user_data, data, (gssize) len);
	return TRUE;
}

static void
test_uuencoded_block (void)
{
	MpInput *in = NULL;
	MpShow *show = show_of ("From: a@example.org\n\ntext\n"
				"begin 644 hi.txt\n#:&D*\n`\nend\n"
				"begin 600 ../x\n\"9&$`\n`\nend\n",
				&in);
	MpShowPart *u1 = mp_show_find (show, "1.uu1");
	MpShowPart *u2 = mp_show_find (show, "1.uu2");
	g_autoptr (GString) s = g_string_new (NULL);
	g_autofree char *name = NULL;

	g_assert_nonnull (u1);
	g_assert_nonnull (u2);
	g_assert_cmpstr (u1->filename, ==, "hi.txt");
	g_assert_cmpint (u1->size, ==, 3);
	g_assert_true (mp_show_decode (u1, collect, s, NULL));
	g_assert_cmpstr (s->str, ==, "hi\n");
	g_string_truncate (s, 0);
	g_assert_true (mp_show_decode (u2, collect, s, NULL));
	g_assert_cmpstr (s->str, ==, "da");
	name = mp_extract_part_name (u2);
	g_assert_cmpstr (name, ==, "x");
	mp_show_free (show);
	mp_input_free (in);
}

/* Found by fuzz-extract: a "begin" line whose block is never finished
 * before a complete one; the part listed is the complete block, and
 * decoding it gives the size listed. */
static void
test_unfinished_block_first (void)
{
	MpInput *in = NULL;
	MpShow *show = show_of ("From: a@example.org\n\n"
				"begin 644 broken.txt\nnot uuencoded\n"
				"begin 644 hi.txt\n#:&D*\n`\nend\n",
				&in);
	MpShowPart *u1 = mp_show_find (show, "1.uu1");
	g_autoptr (GString) s = g_string_new (NULL);

	g_assert_nonnull (u1);
	g_assert_null (mp_show_find (show, "1.uu2"));
	g_assert_cmpstr (u1->filename, ==, "hi.txt");
	g_assert_true (mp_show_decode (u1, collect, s, NULL));
	g_assert_cmpstr (s->str, ==, "hi\n");
	g_assert_cmpint ((gint64) s->len, ==, u1->size);
	mp_show_free (show);
	mp_input_free (in);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_mime_init ();
	g_test_add_func ("/extract/safe-names", test_safe_names);
	g_test_add_func ("/extract/long-names-bounded",
			 test_long_names_bounded);
	g_test_add_func ("/extract/numbered-names", test_numbered_names);
	g_test_add_func ("/extract/numbered-names-bounded",
			 test_numbered_names_bounded);
	g_test_add_func ("/extract/imap-sections", test_sections);
	g_test_add_func ("/extract/uuencoded-block", test_uuencoded_block);
	g_test_add_func ("/extract/unfinished-block-first",
			 test_unfinished_block_first);
	return g_test_run ();
}
