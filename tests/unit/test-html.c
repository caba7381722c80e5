/* mp-html: cid: links, local image paths, <img src> rewriting. */
#include "mp-html.h"

#include <string.h>

static void
test_cid_links (void)
{
	static const struct {
		const char *html;
		const char *links; /* joined by "," */
	} cases[] = {
		{ "<img src=\"cid:a@x\">", "a@x" },
		{ "<img src='cid:a@x'><img SRC=\"CID:b\">", "a@x,b" },
		{ "<img src=cid:a@x>", "a@x" },
		{ "<table><tr><td background=\"cid:bg\" style=\"x: url(cid:u1)\">",
		  "bg,u1" },
		{ "<img src=\"cid:a%40x\"> <img src=\"cid:a@x\">", "a@x" },
		{ "text mentions cid:notalink here", "" },
		{ "<!-- <img src=\"cid:hidden\"> --><img src=\"cid:shown\">",
		  "shown" },
		{ "<img src=\"https://x/cid:no\">", "" },
		{ "<img src=\"cid:\">", "" },
	};
	guint i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr (GPtrArray) links = mp_html_cid_links (cases[i].html);
		g_autofree char *joined = NULL;

		g_ptr_array_add (links, NULL);
		joined = g_strjoinv (",", (char **) links->pdata);
		g_assert_cmpstr (joined, ==, cases[i].links);
	}
}

static void
test_local_path (void)
{
	static const struct {
		const char *src;
		const char *path; /* NULL: not local */
	} cases[] = {
		{ "img/a.png", "/base/img/a.png" },
		{ "/abs/a.png", "/abs/a.png" },
		{ " img/a.png ", "/base/img/a.png" },
		{ "file:///abs/b.png", "/abs/b.png" },
		{ "http://example.org/a.png", NULL },
		{ "https://example.org/a.png", NULL },
		{ "HTTPS://example.org/a.png", NULL },
		{ "data:image/png;base64,AAAA", NULL },
		{ "cid:a@x", NULL },
		{ "//cdn.example.org/a.png", NULL },
		{ "", NULL },
	};
	guint i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree char *p = mp_html_local_path (cases[i].src, "/base");

		g_assert_cmpstr (p, ==, cases[i].path);
	}
}

static char *
to_cid (const char *src, gpointer data, GError **error)
{
	if (strchr (src, ':'))
		return NULL;
	if (strcmp (src, "fail") == 0) {
		g_set_error_literal (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
				     "fail");
		return NULL;
	}
	return g_strconcat ("cid:", src, NULL);
}

static void
test_rewrite (void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "<p><img src=\"a.png\"></p>",
		  "<p><img src=\"cid:a.png\"></p>" },
		{ "<IMG alt='x' SRC='a.png'/>",
		  "<IMG alt='x' SRC=\"cid:a.png\"/>" },
		{ "<img src=a.png>", "<img src=\"cid:a.png\">" },
		{ "<img\nsrc = \"a.png\"\n>", "<img\nsrc = \"cid:a.png\"\n>" },
		{ "<img src=\"a&amp;b.png\">",
		  "<img src=\"cid:a&amp;b.png\">" },
		{ "<img src=\"http://x/a.png\">",
		  "<img src=\"http://x/a.png\">" },
		{ "<!-- <img src=\"a.png\"> -->",
		  "<!-- <img src=\"a.png\"> -->" },
		{ "<imgx src=\"a.png\">", "<imgx src=\"a.png\">" },
		{ "<img alt=\"src=b.png\" src=\"a.png\">",
		  "<img alt=\"src=b.png\" src=\"cid:a.png\">" },
		{ "Grüße <img src=\"ü.png\"> 季度",
		  "Grüße <img src=\"cid:ü.png\"> 季度" },
		{ "<img src=\"a.png", "<img src=\"a.png" },
		{ "", "" },
	};
	guint i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autoptr (GError) error = NULL;
		g_autofree char *out = mp_html_rewrite_images (
			cases[i].in, to_cid, NULL, &error);

		g_assert_no_error (error);
		g_assert_cmpstr (out, ==, cases[i].out);
	}
}

static void
test_rewrite_error_stops (void)
{
	g_autoptr (GError) error = NULL;
	g_autofree char *out = mp_html_rewrite_images (
		"<img src=\"a.png\"><img src=\"fail\">", to_cid, NULL, &error);

	g_assert_null (out);
	g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_test_add_func ("/html/cid-links", test_cid_links);
	g_test_add_func ("/html/local-path", test_local_path);
	g_test_add_func ("/html/rewrite", test_rewrite);
	g_test_add_func ("/html/rewrite-error-stops", test_rewrite_error_stops);
	return g_test_run ();
}
