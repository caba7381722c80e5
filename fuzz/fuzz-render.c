/* libFuzzer harness for mp-render and mp-html: any bytes as HTML.  The
 * first byte picks the width, flowed or not, and the charset.  The text
 * must be valid UTF-8 without CR or NUL; rewriting no image must give
 * the HTML back byte for byte. */
#include "mp-html.h"
#include "mp-render.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static char *
keep (const char *src, gpointer user_data, GError **error)
{
	return NULL;
}

static char *
to_cid (const char *src, gpointer user_data, GError **error)
{
	return g_strdup ("cid:x@fuzz");
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
	static const char *const charsets[] = { NULL,         "utf-8",
						"iso-8859-1", "windows-1252",
						"shift_jis",  "koi8-r",
						"utf-16",     NULL };
	MpRenderOptions opts = { 72, TRUE };
	g_autofree char *text = NULL;
	g_autofree char *html = NULL;
	g_autofree char *same = NULL;
	g_autofree char *changed = NULL;
	g_autoptr (GError) error = NULL;
	g_autoptr (GPtrArray) links = NULL;
	g_autoptr (GPtrArray) local = NULL;
	guint8 o;

	if (size == 0)
		return 0;
	o = data[0];
	data++;
	size--;
	opts.width = (o & 3) == 3 ? 0 : 20 + 26u * (o & 3);
	opts.flowed = (o & 4) == 0;
	text = mp_render_html ((const char *) data, size, charsets[o >> 5],
			       &opts, &error);
	if (text) {
		if (!g_utf8_validate (text, -1, NULL) || strchr (text, '\r'))
			abort ();
	} else if (error == NULL || charsets[o >> 5] == NULL) {
		abort ();
	}

	/* mp-html reads NUL-free UTF-8 (mime-inline checks it first) */
	if (memchr (data, '\0', size) ||
	    !g_utf8_validate_len ((const char *) data, size, NULL))
		return 0;
	html = g_strndup ((const char *) data, size);
	links = mp_html_cid_links (html);
	local = mp_html_local_images (html);
	same = mp_html_rewrite_images (html, keep, NULL, NULL);
	if (same == NULL || strcmp (same, html) != 0)
		abort ();
	changed = mp_html_rewrite_images (html, to_cid, NULL, NULL);
	if (changed == NULL)
		abort ();
	return 0;
}
