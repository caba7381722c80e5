/* mp-html: the little HTML reading mime-inline needs: the cid: links of
 * a document, and its local <img src> images turned into cid: links. */
#pragma once

#include "mp-autoptr.h"
#include "mp-random.h"
#include "mp-tree.h"

G_BEGIN_DECLS

/* Every cid: URL in @html (in attribute values and CSS url()), without
 * the "cid:" and percent-decoded (RFC 2392), each once, in document
 * order.  Free with g_ptr_array_unref(). */
GPtrArray *mp_html_cid_links (const char *html);

/* For an <img src> value (entities already decoded): the local file it
 * names, resolved against @base_dir, or NULL when it is a URL with a
 * scheme (http:, https:, data:, cid:, ...).  file: URLs are local.
 * Newly allocated. */
char *mp_html_local_path (const char *src, const char *base_dir);

/* Called for each <img src> value; returns the new value (newly
 * allocated), or NULL to leave it alone (with @error unset), or NULL with
 * @error set to stop. */
typedef char *(*MpHtmlImageFunc) (const char *src, gpointer user_data,
				  GError **error);

/* Returns @html with the src of each <img> (outside comments) replaced by
 * what @func gives; everything else is kept byte for byte.  Newly
 * allocated; NULL when @func set @error. */
char *mp_html_rewrite_images (const char *html, MpHtmlImageFunc func,
			      gpointer user_data, GError **error);

/* mime-inline --html: reads the HTML file @path (UTF-8), embeds each local
 * image its <img src> names (relative to the file's folder) as an inline
 * part with a new Content-ID from @tree, and rewrites the link to cid:.
 * The same file named twice becomes one part.  Returns the new HTML text
 * (newly allocated) and adds the image parts to @images (MpLeaf *, owned
 * by the array when it has a free function).
 * Errors: MP_ERROR_NO_INPUT naming a file that cannot be read (the HTML or
 * an image), MP_ERROR_DATA when the HTML is not valid UTF-8. */
char *mp_html_embed_file (const char *path, MpTree *tree, GPtrArray *images,
			  GError **error);

G_END_DECLS
