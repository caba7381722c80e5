/* mime-inline --html: a HTML file's local images embedded as parts
 * (mp_html_embed_file()), apart from the rest of mp-html, which needs no
 * GMime: a command that links no GObject (a static mime-compose, issue
 * 21) takes only that from the archive. */
#include "mp-error.h"
#include "mp-html-private.h"
#include "mp-html.h"
#include "mp-part.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	MpHtmlCidFunc new_cid;
	gpointer cid_data;
	char *base_dir;  /* as given, for messages */
	char *base_real; /* realpath of base_dir */
	int dirfd;
	GPtrArray *images;
	GHashTable *seen; /* normalized relative path -> cid */
} Embed;

/* The path of @src relative to the HTML's folder, or NULL with @error
 * set when it lies outside. */
static char *
relative_path (Embed *e, const char *src, const char *path, GError **error)
{
	g_autofree char *base_abs = NULL;
	const char *rel = NULL;

	if (!g_path_is_absolute (path)) {
		if (strcmp (path, "..") != 0 && !g_str_has_prefix (path, "../"))
			return g_strdup (path);
	} else if (e->base_real) {
		gsize n = strlen (e->base_real);

		base_abs = g_canonicalize_filename (e->base_dir, NULL);
		if (n == 1)
			rel = path + 1;
		else if (strncmp (path, e->base_real, n) == 0 && path[n] == '/')
			rel = path + n + 1;
		else if (g_str_has_prefix (path, base_abs) &&
			 path[strlen (base_abs)] == '/')
			rel = path + strlen (base_abs) + 1;
		if (rel && *rel)
			return g_strdup (rel);
	}
	/* HTML from a template or another person must not be able to mail
	 * away ~/.ssh/id_rsa: only files in the HTML's folder or below */
	g_set_error (error, MP_ERROR, MP_ERROR_DATA,
		     "\"%s\": not in the HTML file's folder (%s); copy the "
		     "image there",
		     src, e->base_dir);
	return NULL;
}

static char *
embed_image (const char *src, gpointer user_data, GError **error)
{
	Embed *e = user_data;
	g_autofree char *url = mp_html_url_path (src);
	g_autofree char *path = NULL;
	g_autofree char *rel = NULL;
	g_autofree char *shown = NULL;
	g_autofree char *base = NULL;
	MpPartFileOptions opts = { 0 };
	const char *known;
	MpInput *in;
	MpLeaf *leaf;
	char *cid;
	int fd;

	if (url == NULL)
		return NULL; /* http:, data:, cid: stay as they are */
	path = mp_html_normalize (url);
	rel = relative_path (e, src, path, error);
	if (rel == NULL)
		return NULL;
	known = g_hash_table_lookup (e->seen, rel);
	if (known)
		return g_strconcat ("cid:", known, NULL);
	shown = g_build_filename (e->base_dir, rel, NULL);
	fd = mp_io_open_below (e->dirfd, rel, shown,
			       "copy the image into the HTML file's folder",
			       error);
	if (fd < 0)
		return NULL;
	in = mp_input_open_fd (fd, shown, error);
	if (in == NULL) {
		close (fd);
		return NULL;
	}
	/* the input reads the file in place: let it own the descriptor,
	 * so it is closed with the part */
	if (!mp_input_own_fd (in, fd))
		close (fd);
	base = g_path_get_basename (rel);
	cid = e->new_cid (e->cid_data);
	opts.inline_disposition = TRUE;
	opts.content_id = cid;
	opts.name = g_filename_to_utf8 (base, -1, NULL, NULL, NULL);
	leaf = mp_part_leaf_new_file (in, &opts, error);
	g_free ((char *) opts.name);
	if (leaf == NULL) {
		g_free (cid);
		return NULL;
	}
	g_ptr_array_add (e->images, leaf);
	g_hash_table_insert (e->seen, g_steal_pointer (&rel), cid);
	return g_strconcat ("cid:", cid, NULL);
}

char *
mp_html_embed_file (const char *path, MpHtmlCidFunc new_cid, gpointer cid_data,
		    GPtrArray *images, GError **error)
{
	g_autoptr (MpInput) in = NULL;
	g_autoptr (GBytes) bytes = NULL;
	g_autofree char *text = NULL;
	const char *data, *end;
	gsize len;
	Embed e = { new_cid, cid_data, NULL, NULL, -1, images, NULL };
	char *html;

	in = mp_input_open (path, error);
	if (in == NULL)
		return NULL;
	bytes = mp_input_read_all (in, error);
	if (bytes == NULL)
		return NULL;
	data = g_bytes_get_data (bytes, &len);
	if (!g_utf8_validate_len (data, len, &end)) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: invalid UTF-8 at byte %" G_GSIZE_FORMAT, path,
			     (gsize) (end - data));
		return NULL;
	}
	if (memchr (data, '\0', len)) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: holds a NUL byte", path);
		return NULL;
	}
	text = g_strndup (data, len);
	e.base_dir = g_path_get_dirname (path);
	e.dirfd = open (e.base_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (e.dirfd < 0) {
		mp_error_set_errno (error, MP_ERROR_NO_INPUT, errno,
				    e.base_dir);
		g_free (e.base_dir);
		return NULL;
	}
	e.base_real = realpath (e.base_dir, NULL);
	e.seen =
		g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	html = mp_html_rewrite_images (text, embed_image, &e, error);
	g_hash_table_unref (e.seen);
	close (e.dirfd);
	free (e.base_real);
	g_free (e.base_dir);
	return html;
}
