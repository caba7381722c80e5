/* mp-html: cid: links, local image paths, image references rewritten. */
#include "mp-error.h"
#include "mp-html.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
		/* srcset candidates, <style>, text in <script> is no link */
		{ "<img srcset=\"cid:a 1x, cid:b 2x\">", "a,b" },
		{ "<style>p { background: url('cid:s1') }</style>", "s1" },
		{ "<script>var x = \"cid:no\";</script>", "" },
		/* a link no Content-ID can hold names the encoded one */
		{ "<img src=\"cid:grün.gif\"><img src=\"cid:gr%C3%BCn.gif\">",
		  "gr%C3%BCn.gif" },
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
		/* one file, however it is named (issue 13) */
		{ "./img//a.png", "/base/img/a.png" },
		{ "img/./a.png?v=2#top", "/base/img/a.png" },
		{ "img/x/../a.png", "/base/img/a.png" },
		{ "my%20pic.png", "/base/my pic.png" },
		{ "100%.png", "/base/100%.png" },
		{ "../up.png", "/up.png" },
		{ "?only-a-query", NULL },
		{ "#only-a-fragment", NULL },
		{ "file://localhost/abs/c.png", "/abs/c.png" },
		{ "file://otherhost/abs/c.png", NULL },
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
		/* srcset and <picture><source>: each candidate, descriptors
		 * and the rest of the value kept */
		{ "<img srcset=\"a.png 1x,b.png  2x\">",
		  "<img srcset=\"cid:a.png 1x,cid:b.png  2x\">" },
		{ "<picture><source srcset='s.png 100w, http://x/t.png 200w' "
		  "media=\"(min-width: 600px)\"><img src=a.png></picture>",
		  "<picture><source srcset='cid:s.png 100w, http://x/t.png "
		  "200w' media=\"(min-width: 600px)\"><img "
		  "src=\"cid:a.png\"></picture>" },
		/* background= on any element, CSS url() in style */
		{ "<body background=bg.gif><div style=\"color:red; "
		  "background-image: url( 'h.png' )\">x</div>",
		  "<body background=\"cid:bg.gif\"><div style=\"color:red; "
		  "background-image: url( 'cid:h.png' )\">x</div>" },
		{ "<style>\n/* url(c.png) */ .a{background:url(d.png)}\n"
		  "</style>",
		  "<style>\n/* url(c.png) */ .a{background:url(cid:d.png)}\n"
		  "</style>" },
		/* a style attribute with a character reference is written
		 * again, double-quoted */
		{ "<p style='background:url(&quot;e.png&quot;)'>",
		  "<p style=\"background:url(&quot;cid:e.png&quot;)\">" },
		/* not images: links, scripts, text, comments */
		{ "<a href=\"a.png\">url(b.png)</a><script>x='url(c.png)'"
		  "</script><!-- <img src=d.png> -->",
		  "<a href=\"a.png\">url(b.png)</a><script>x='url(c.png)'"
		  "</script><!-- <img src=d.png> -->" },
		/* CRLF and the rest of the document byte for byte */
		{ "<P>x\r\n<IMG  SRC = a.png  ALT=y>\r\n</P>",
		  "<P>x\r\n<IMG  SRC = \"cid:a.png\"  ALT=y>\r\n</P>" },
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

static void
test_local_images (void)
{
	g_autoptr (GPtrArray) found = mp_html_local_images (
		"<img src=\"a.png\"><img src=\"https://x/b.png\">"
		"<img srcset=\"c.png 1x, data:image/gif;base64,AA 2x\">"
		"<td background=\"cid:d\"><p style=\"background:url(e.png)\">"
		"<a href=\"f.png\">f</a><img src=\"a.png\">");
	g_autofree char *joined = NULL;

	g_ptr_array_add (found, NULL);
	joined = g_strjoinv (",", (char **) found->pdata);
	g_assert_cmpstr (joined, ==, "a.png,c.png,e.png");
}

static void
test_content_id (void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "logo.png", "logo.png" },
		{ "a@b.example", "a@b.example" },
		{ "grün.gif", "gr%C3%BCn.gif" },
		{ "my pic.png", "my%20pic.png" },
		{ "<x>\"(;:)", "%3Cx%3E%22%28%3B%3A%29" },
	};
	guint i;

	for (i = 0; i < G_N_ELEMENTS (cases); i++) {
		g_autofree char *id = mp_html_content_id (cases[i].in);

		g_assert_cmpstr (id, ==, cases[i].out);
	}
}

typedef struct {
	const char *dir;
	guint n;
} Swap;

/* Called once the first image is open: its folder becomes a symbolic
 * link to a folder outside, as an attacker racing us would make it. */
static char *
swap_folder (gpointer data)
{
	Swap *s = data;
	g_autofree char *img = g_build_filename (s->dir, "site", "img", NULL);
	g_autofree char *moved =
		g_build_filename (s->dir, "site", "moved", NULL);

	if (s->n == 0) {
		g_assert_cmpint (g_rename (img, moved), ==, 0);
		g_assert_cmpint (symlink ("../outside", img), ==, 0);
	}
	return g_strdup_printf ("c%u@test", s->n++);
}

static void
put (const char *dir, const char *name, const char *text)
{
	g_autofree char *path = g_build_filename (dir, name, NULL);
	g_autofree char *parent = g_path_get_dirname (path);

	g_assert_cmpint (g_mkdir_with_parents (parent, 0700), ==, 0);
	g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static void
test_embed_follows_no_symlink (void)
{
	g_autofree char *dir = g_dir_make_tmp ("mp-html-XXXXXX", NULL);
	g_autofree char *page =
		g_build_filename (dir, "site", "page.html", NULL);
	g_autoptr (GPtrArray) images = g_ptr_array_new_with_free_func (
		(GDestroyNotify) mp_part_leaf_free);
	g_autoptr (GError) error = NULL;
	g_autofree char *html = NULL;
	g_autofree char *cmd = NULL;
	Swap s = { dir, 0 };

	put (dir, "site/page.html",
	     "<img src=\"img/a.png\"><img src=\"img/b.png\">");
	put (dir, "site/img/a.png", "a");
	put (dir, "site/img/b.png", "b");
	put (dir, "outside/b.png", "secret");
	html = mp_html_embed_file (page, swap_folder, &s, images, &error);
	g_assert_null (html);
	g_assert_error (error, MP_ERROR, MP_ERROR_DATA);
	g_assert_nonnull (strstr (error->message, "symbolic link"));
	g_assert_cmpuint (s.n, ==, 1);
	cmd = g_strdup_printf ("rm -rf '%s'", dir);
	g_assert_cmpint (system (cmd), ==, 0);
}

int
main (int argc, char **argv)
{
	g_test_init (&argc, &argv, NULL);
	g_mime_init ();
	g_test_add_func ("/html/cid-links", test_cid_links);
	g_test_add_func ("/html/local-path", test_local_path);
	g_test_add_func ("/html/rewrite", test_rewrite);
	g_test_add_func ("/html/rewrite-error-stops", test_rewrite_error_stops);
	g_test_add_func ("/html/local-images", test_local_images);
	g_test_add_func ("/html/content-id", test_content_id);
	g_test_add_func ("/html/embed-follows-no-symlink",
			 test_embed_follows_no_symlink);
	return g_test_run ();
}
