#include "mp-html.h"
#include "mp-error.h"

#include <stdlib.h>
#include <string.h>

static gboolean
is_space (char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

GPtrArray *
mp_html_cid_links (const char *html)
{
	GPtrArray *links = g_ptr_array_new_with_free_func (g_free);
	const char *p = html;

	while (*p) {
		const char *end;
		char *raw, *id;
		guint i;
		gboolean seen = FALSE;

		if (strncmp (p, "<!--", 4) == 0) {
			const char *c = strstr (p + 4, "-->");

			p = c ? c + 3 : p + strlen (p);
			continue;
		}
		/* a URL starts a value: after a quote, '=' or "url(" */
		if (g_ascii_strncasecmp (p, "cid:", 4) != 0 || p == html ||
		    strchr ("\"'=(", p[-1]) == NULL) {
			p++;
			continue;
		}
		p += 4;
		end = p;
		while (*end && !is_space (*end) && !strchr ("\"'()<>", *end))
			end++;
		raw = g_strndup (p, (gsize) (end - p));
		id = g_uri_unescape_string (raw, NULL);
		if (id == NULL)
			id = g_strdup (raw);
		g_free (raw);
		for (i = 0; i < links->len; i++)
			seen = seen || strcmp (links->pdata[i], id) == 0;
		if (*id && !seen)
			g_ptr_array_add (links, id);
		else
			g_free (id);
		p = end;
	}
	return links;
}

char *
mp_html_local_path (const char *src, const char *base_dir)
{
	g_autofree char *s = g_strstrip (g_strdup (src));
	g_autofree char *path = NULL;
	char *unescaped, *full;
	const char *p;

	if (*s == '\0' || g_str_has_prefix (s, "//"))
		return NULL;
	if (g_ascii_strncasecmp (s, "file:", 5) == 0)
		return g_filename_from_uri (s, NULL, NULL);
	/* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	if (g_ascii_isalpha (*s)) {
		for (p = s; g_ascii_isalnum (*p) || (*p && strchr ("+-.", *p));
		     p++)
			;
		if (*p == ':')
			return NULL;
	}
	full = g_path_is_absolute (s) ? g_strdup (s) :
					g_build_filename (base_dir, s, NULL);
	if (g_file_test (full, G_FILE_TEST_EXISTS))
		return full;
	/* a URL path: %20 for a space */
	unescaped = g_uri_unescape_string (s, NULL);
	if (unescaped && strcmp (unescaped, s) != 0) {
		path = g_path_is_absolute (unescaped) ?
			       g_strdup (unescaped) :
			       g_build_filename (base_dir, unescaped, NULL);
		if (g_file_test (path, G_FILE_TEST_EXISTS)) {
			g_free (full);
			full = g_steal_pointer (&path);
		}
	}
	g_free (unescaped);
	return full;
}

/* Decodes the character references an attribute value may hold. */
static char *
decode_entities (const char *s, gsize len)
{
	static const struct {
		const char *name;
		const char *text;
	} named[] = { { "amp;", "&" },
		      { "lt;", "<" },
		      { "gt;", ">" },
		      { "quot;", "\"" },
		      { "apos;", "'" } };
	GString *out = g_string_sized_new (len);
	gsize i = 0, k;

	while (i < len) {
		gboolean done = FALSE;

		if (s[i] != '&') {
			g_string_append_c (out, s[i++]);
			continue;
		}
		for (k = 0; k < G_N_ELEMENTS (named) && !done; k++) {
			gsize n = strlen (named[k].name);

			if (i + 1 + n <= len &&
			    strncmp (s + i + 1, named[k].name, n) == 0) {
				g_string_append (out, named[k].text);
				i += 1 + n;
				done = TRUE;
			}
		}
		if (!done && i + 2 < len && s[i + 1] == '#') {
			gboolean hex = s[i + 2] == 'x' || s[i + 2] == 'X';
			gsize j = i + (hex ? 3 : 2);
			gunichar c = 0;

			while (j < len &&
			       (hex ? g_ascii_isxdigit (s[j]) :
				      g_ascii_isdigit (s[j])) &&
			       c < 0x110000) {
				c = c * (hex ? 16 : 10) +
				    (gunichar) (hex ? g_ascii_xdigit_value (
							      s[j]) :
						      g_ascii_digit_value (
							      s[j]));
				j++;
			}
			if (j < len && s[j] == ';' && c > 0 &&
			    g_unichar_validate (c)) {
				g_string_append_unichar (out, c);
				i = j + 1;
				done = TRUE;
			}
		}
		if (!done)
			g_string_append_c (out, s[i++]);
	}
	return g_string_free (out, FALSE);
}

static gboolean
tag_is (const char *p, const char *name)
{
	gsize n = strlen (name);

	return g_ascii_strncasecmp (p, name, n) == 0 &&
	       (is_space (p[n]) || p[n] == '/' || p[n] == '>');
}

char *
mp_html_rewrite_images (const char *html, MpHtmlImageFunc func,
			gpointer user_data, GError **error)
{
	g_autoptr (GString) out = g_string_new (NULL);
	const char *copied = html, *p = html;

	while ((p = strchr (p, '<')) != NULL) {
		const char *vs = NULL, *ve = NULL, *qs = NULL, *qe = NULL;

		if (strncmp (p, "<!--", 4) == 0) {
			const char *c = strstr (p + 4, "-->");

			if (c == NULL)
				break;
			p = c + 3;
			continue;
		}
		if (!tag_is (p + 1, "img")) {
			p++;
			continue;
		}
		p += 4;
		for (;;) {
			const char *ns, *ne;

			while (is_space (*p) || *p == '/')
				p++;
			if (*p == '\0' || *p == '>')
				break;
			ns = p;
			while (*p && !is_space (*p) && !strchr ("=>/", *p))
				p++;
			ne = p;
			if (ne == ns) {
				p++;
				continue;
			}
			while (is_space (*p))
				p++;
			if (*p != '=')
				continue;
			p++;
			while (is_space (*p))
				p++;
			if (*p == '"' || *p == '\'') {
				char q = *p;
				const char *e = strchr (p + 1, q);

				if (e == NULL)
					break;
				if (ne - ns == 3 &&
				    g_ascii_strncasecmp (ns, "src", 3) == 0) {
					qs = p;
					vs = p + 1;
					ve = e;
					qe = e + 1;
				}
				p = e + 1;
			} else {
				const char *s = p;

				while (*p && !is_space (*p) && *p != '>')
					p++;
				if (ne - ns == 3 &&
				    g_ascii_strncasecmp (ns, "src", 3) == 0) {
					qs = vs = s;
					qe = ve = p;
				}
			}
		}
		if (vs) {
			g_autofree char *src =
				decode_entities (vs, (gsize) (ve - vs));
			g_autoptr (GError) local = NULL;
			g_autofree char *repl = func (src, user_data, &local);

			if (local) {
				g_propagate_error (error,
						   g_steal_pointer (&local));
				return NULL;
			}
			if (repl) {
				g_autofree char *esc =
					g_markup_escape_text (repl, -1);

				g_string_append_len (out, copied,
						     (gssize) (qs - copied));
				g_string_append_printf (out, "\"%s\"", esc);
				copied = qe;
			}
		}
	}
	g_string_append (out, copied);
	return g_string_free (g_steal_pointer (&out), FALSE);
}

typedef struct {
	MpTree *tree;
	char *base_dir;
	GPtrArray *images;
	GHashTable *seen; /* path -> cid */
} Embed;

/* TRUE when @path (an existing file) lies in @dir or below it. */
static gboolean
inside_dir (const char *path, const char *dir)
{
	g_autofree char *rp = realpath (path, NULL);
	g_autofree char *rd = realpath (dir, NULL);
	gsize n;

	if (rp == NULL || rd == NULL)
		return rp == NULL; /* a missing file is reported when opened */
	n = strlen (rd);
	if (n == 1) /* the HTML lives in / */
		return TRUE;
	return strncmp (rp, rd, n) == 0 && rp[n] == '/';
}

static char *
embed_image (const char *src, gpointer user_data, GError **error)
{
	Embed *e = user_data;
	g_autofree char *path = mp_html_local_path (src, e->base_dir);
	MpPartFileOptions opts = { 0 };
	const char *known;
	MpInput *in;
	MpLeaf *leaf;
	char *cid;

	if (path == NULL)
		return NULL; /* http:, data:, cid: stay as they are */
	/* HTML from a template or another person must not be able to mail
	 * away ~/.ssh/id_rsa: only files in the HTML's folder (or below it,
	 * symbolic links resolved) are embedded */
	if (!inside_dir (path, e->base_dir)) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "<img src=\"%s\">: not in the HTML file's folder "
			     "(%s); copy the image there",
			     src, e->base_dir);
		return NULL;
	}
	known = g_hash_table_lookup (e->seen, path);
	if (known)
		return g_strconcat ("cid:", known, NULL);
	in = mp_input_open (path, error);
	if (in == NULL)
		return NULL;
	cid = mp_tree_new_content_id (e->tree);
	opts.inline_disposition = TRUE;
	opts.content_id = cid;
	leaf = mp_part_leaf_new_file (in, &opts, error);
	if (leaf == NULL) {
		g_free (cid);
		return NULL;
	}
	g_ptr_array_add (e->images, leaf);
	g_hash_table_insert (e->seen, g_steal_pointer (&path), cid);
	return g_strconcat ("cid:", cid, NULL);
}

char *
mp_html_embed_file (const char *path, MpTree *tree, GPtrArray *images,
		    GError **error)
{
	g_autoptr (MpInput) in = NULL;
	g_autoptr (GBytes) bytes = NULL;
	g_autofree char *text = NULL;
	const char *data, *end;
	gsize len;
	Embed e = { tree, NULL, images, NULL };
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
	e.seen =
		g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
	html = mp_html_rewrite_images (text, embed_image, &e, error);
	g_hash_table_unref (e.seen);
	g_free (e.base_dir);
	return html;
}
