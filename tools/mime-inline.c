/* mime-inline: the body of the message on stdin: the HTML alternative
 * with its local images embedded, the plain text alternative, inline
 * images for cid: links (DESIGN 5). */
#include "mp-cli.h"
#include "mp-crypto.h"
#include "mp-error.h"
#include "mp-html.h"
#include "mp-io.h"
#include "mp-part.h"
#include "mp-tree.h"

#include <string.h>

typedef struct {
	char *path;
	char *cid;
} Image;

static char *html_path, *text_path, *seed;
static gboolean allow_8bit;
static GArray *images;

static gboolean
on_image (const char *name, const char *value, gpointer data, GError **error)
{
	/* GOption names the option as it was typed: -I or --image */
	if (strcmp (name, "--image") == 0 || strcmp (name, "-I") == 0) {
		Image im = { g_strdup (value), NULL };

		g_array_append_val (images, im);
		return TRUE;
	}
	if (images->len == 0 ||
	    g_array_index (images, Image, images->len - 1).cid) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--cid %s: give it after the --image it names",
			     value);
		return FALSE;
	}
	g_array_index (images, Image, images->len - 1).cid = g_strdup (value);
	return TRUE;
}

/* RFC 2392: a Content-ID is a msg-id; we take printable ASCII without
 * spaces, quotes or angle brackets (which are added). */
static char *
checked_cid (const Image *im, GError **error)
{
	g_autofree char *base = NULL;
	const char *v = im->cid;
	gsize len;
	const char *p;

	if (v == NULL) {
		/* RFC 2392: a file name no Content-ID can hold, "grün.gif",
		 * is percent-encoded, as the cid: links naming it are */
		g_autofree char *name = NULL;

		base = g_path_get_basename (im->path);
		name = g_filename_to_utf8 (base, -1, NULL, NULL, NULL);
		return mp_html_content_id (name ? name : base);
	}
	len = strlen (v);
	if (len >= 2 && v[0] == '<' && v[len - 1] == '>') {
		v++;
		len -= 2;
	}
	for (p = v; p < v + len; p++) {
		if (*p <= 0x20 || *p >= 0x7f || strchr ("<>\"()[]\\,;:", *p)) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "--cid %s: not a valid Content-ID (use "
				     "letters, digits, . _ - @)",
				     v);
			return NULL;
		}
	}
	if (len == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "--cid: empty Content-ID");
		return NULL;
	}
	return g_strndup (v, len);
}

static MpLeaf *
text_leaf (const char *path, const char *subtype, const char *text,
	   GError **error)
{
	g_autoptr (GBytes) bytes = NULL;
	g_autoptr (GMimePart) part = NULL;

	if (text) {
		bytes = g_bytes_new (text, strlen (text));
	} else {
		g_autoptr (MpInput) in = mp_input_open (path, error);

		if (in == NULL)
			return NULL;
		bytes = mp_input_read_all (in, error);
		if (bytes == NULL)
			return NULL;
	}
	part = mp_part_new_text (subtype, bytes, NULL, allow_8bit, path, error);
	return part ? mp_part_leaf_new_part (part) : NULL;
}

static char *
new_cid (gpointer tree)
{
	return mp_tree_new_content_id (tree);
}

static gboolean
edit (MpTree *tree, GError **error)
{
	guint i;

	if (text_path) {
		MpLeaf *leaf = text_leaf (text_path, "plain", NULL, error);

		if (leaf == NULL || !mp_tree_set_text (tree, leaf, error))
			return FALSE;
	}
	if (html_path) {
		g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (
			(GDestroyNotify) mp_part_leaf_free);
		g_autofree char *html = NULL;
		MpLeaf *leaf;

		html = mp_html_embed_file (html_path, new_cid, tree, found,
					   error);
		if (html == NULL)
			return FALSE;
		leaf = text_leaf (html_path, "html", html, error);
		if (leaf == NULL || !mp_tree_set_html (tree, leaf, html, error))
			return FALSE;
		for (i = 0; i < found->len; i++)
			if (!mp_tree_add_related (
				    tree, g_steal_pointer (&found->pdata[i]),
				    error))
				return FALSE;
	}
	for (i = 0; i < images->len; i++) {
		Image *im = &g_array_index (images, Image, i);
		MpPartFileOptions opts = { 0 };
		g_autofree char *cid = checked_cid (im, error);
		MpInput *in;
		MpLeaf *leaf;

		if (cid == NULL)
			return FALSE;
		in = mp_input_open (im->path, error);
		if (in == NULL)
			return FALSE;
		opts.inline_disposition = TRUE;
		opts.content_id = cid;
		leaf = mp_part_leaf_new_file (in, &opts, error);
		if (leaf == NULL || !mp_tree_add_related (tree, leaf, error))
			return FALSE;
	}
	return TRUE;
}

static void
image_clear (Image *im)
{
	g_free (im->path);
	g_free (im->cid);
}

int
main (int argc, char **argv)
{
	static MpCliCommon common; /* static: its strings stay reachable */
	g_autoptr (MpInput) in = NULL;
	g_autoptr (MpTree) tree = NULL;
	g_autoptr (MpOutput) out = NULL;
	GError *error = NULL;
	const GOptionEntry entries[] = {
		{ "html", 0, 0, G_OPTION_ARG_FILENAME, &html_path,
		  "Add or replace the HTML alternative; embed its local "
		  "images",
		  "FILE" },
		{ "text", 'T', 0, G_OPTION_ARG_FILENAME, &text_path,
		  "Add or replace the plain text alternative", "FILE" },
		{ "image", 'I', G_OPTION_FLAG_FILENAME, G_OPTION_ARG_CALLBACK,
		  (void *) on_image,
		  "Add an inline image for a cid: link of the HTML", "FILE" },
		{ "cid", 0, 0, G_OPTION_ARG_CALLBACK, (void *) on_image,
		  "Content-ID of the --image before it (default: its file "
		  "name)",
		  "ID" },
		{ "8bit", 0, 0, G_OPTION_ARG_NONE, &allow_8bit,
		  "Allow 8bit text parts", NULL },
		{ "seed", 0, 0, G_OPTION_ARG_STRING, &seed,
		  "Make boundaries and Content-IDs reproducible from SEED",
		  "SEED" },
		{ NULL }
	};
	int rc = 0;

	mp_cli_init ("mime-inline");
	images = g_array_new (FALSE, TRUE, sizeof (Image));
	g_array_set_clear_func (images, (GDestroyNotify) image_clear);
	if (!mp_cli_parse_operands (
		    entries, NULL,
		    "Add the HTML or text alternative, and inline "
		    "images, to the message on stdin.",
		    TRUE, 0, &common, &argc, &argv, &error))
		return mp_cli_fail (error);
	if (!html_path && !text_path && images->len == 0)
		error = g_error_new (MP_ERROR, MP_ERROR_USAGE,
				     "nothing to do: give --html, --text or "
				     "--image (see --help)");
	if (error)
		return mp_cli_fail (error);

	in = mp_input_open (NULL, &error);
	/* HTML or images beside a signed or encrypted body would mislead
	 * (issue 17) */
	if (in) {
		MpCryptoKind kind = mp_crypto_kind_of_input (in, &error);

		if (!error && kind != MP_CRYPTO_PLAIN)
			mp_crypto_refuse (kind, "adding HTML, text or images",
					  &error);
	}
	if (in && !error)
		tree = mp_tree_new (in, seed, &error);
	if (tree == NULL || !edit (tree, &error))
		return mp_cli_fail (error);
	out = mp_output_open (common.output, common.crlf, &error);
	if (out == NULL || !mp_tree_write (tree, out, &error) ||
	    !mp_output_close (out, &error))
		rc = mp_cli_fail (error);
	g_array_unref (images);
	g_free (html_path);
	g_free (text_path);
	g_free (seed);
	g_free (common.output);
	return rc;
}
