/* mp-html: reading HTML with an HTML5 parser (gumbo): the cid: links of a
 * document, the local images it shows (<img src>, srcset, <picture>
 * <source srcset>, background=, CSS url() in style attributes and
 * <style>), and those references rewritten in place, every other byte of
 * the document kept.  It knows nothing of the MIME tree: callers give it
 * a function that makes Content-IDs. */
#pragma once

#include "mp-autoptr.h"
#include "mp-part.h"

G_BEGIN_DECLS

/* Every cid: URL in @html (attribute values, srcset candidates, CSS url()
 * in style attributes and <style>), without the "cid:" and
 * percent-decoded (RFC 2392), each once, in document order, each as the
 * Content-ID that answers it (mp_html_content_id()).  Comments and text
 * are not links.  Free with g_ptr_array_unref(). */
GPtrArray *mp_html_cid_links (const char *html);

/* @id with every byte a Content-ID cannot hold (controls, space,
 * non-ASCII, and < > " ( ) [ ] \ , ; :) percent-encoded, so "grün.gif"
 * (a file name, or a cid:grün.gif link) gives the valid Content-ID
 * "gr%C3%BCn.gif".  Newly allocated. */
char *mp_html_content_id (const char *id);

/* For an image URL (entities already decoded): the local file it names,
 * resolved against @base_dir, or NULL when it is a URL with a scheme
 * (http:, https:, data:, cid:, ...) or a network path (//host/...).
 * file: URLs are local.  The ?query and #fragment are dropped, %XX
 * escapes decoded, and "." and empty components removed ("./img//a.png"
 * is "img/a.png"); ".." components are resolved lexically.  Touches no
 * file.  Newly allocated. */
char *mp_html_local_path (const char *src, const char *base_dir);

/* The image references of @html that name local files (see
 * mp_html_local_path()), as written, each once, in document order: what
 * would not travel with the message unless embedded.  Free with
 * g_ptr_array_unref(). */
GPtrArray *mp_html_local_images (const char *html);

/* Called for each image URL (entities decoded); returns the new URL
 * (newly allocated), or NULL to leave it alone (with @error unset), or
 * NULL with @error set to stop. */
typedef char *(*MpHtmlImageFunc) (const char *src, gpointer user_data,
				  GError **error);

/* Returns @html with each image reference (<img src>, <img srcset> and
 * <source srcset> candidates, background= attributes, CSS url() in style
 * attributes and <style> elements) replaced by what @func gives.  Only
 * the URLs that change are rewritten: a srcset or style attribute keeps
 * its quotes and the rest of its value (unless unquoted or holding
 * character references: then it is written again double-quoted); a src
 * or background value is written double-quoted; every other byte of the
 * document is kept.
 * @func is called in document order.  Newly allocated; NULL when @func
 * set @error. */
char *mp_html_rewrite_images (const char *html, MpHtmlImageFunc func,
			      gpointer user_data, GError **error);

/* Makes a new Content-ID (without angle brackets, newly allocated). */
typedef char *(*MpHtmlCidFunc) (gpointer user_data);

/* mime-inline --html: reads the HTML file @path (UTF-8), embeds each local
 * image it references (see mp_html_rewrite_images()) as an inline part
 * with a Content-ID from @new_cid, and rewrites the reference to cid:.
 * Images are opened relative to the HTML file's folder one component at
 * a time without following symbolic links (openat, O_NOFOLLOW), so
 * nothing outside that folder can be read, even if the folder changes
 * meanwhile.  One file named several ways ("img/a.png", "./img//a.png",
 * "img/a.png?v=2") becomes one part.  Returns the new HTML text (newly
 * allocated) and adds the image parts to @images (MpLeaf *, owned by the
 * array when it has a free function).
 * Errors: MP_ERROR_NO_INPUT naming a file that cannot be read (the HTML
 * or an image), MP_ERROR_DATA when the HTML is not valid UTF-8 or an
 * image lies outside the HTML file's folder (or is a symbolic link). */
char *mp_html_embed_file (const char *path, MpHtmlCidFunc new_cid,
			  gpointer cid_data, GPtrArray *images, GError **error);

G_END_DECLS
