#include "mp-html.h"
#include "mp-html-private.h"
#include "mp-error.h"

#include <gumbo.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a span of the source holds. */
typedef enum {
	REF_URL,    /* an attribute value that is one URL (src, background) */
	REF_SRCSET, /* an attribute value that is a srcset */
	REF_STYLE,  /* an attribute value that is CSS */
	REF_CSS,    /* the text of a <style> element */
} RefKind;

typedef struct {
	RefKind kind;
	gsize start, end;  /* the span of the source, quotes included */
	const char *value; /* decoded (borrowed from the gumbo tree) */
	gsize value_len;
	gboolean raw;   /* value is the source text itself (no entities) */
	char quote;     /* the attribute's quote, 0 when unquoted */
	gboolean image; /* an image reference (not just any attribute) */
} Ref;

/* A URL inside a string: [start, end). */
typedef struct {
	gsize start, end;
} Span;

static gboolean
is_space (char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* CSS url(...) tokens (CSS Syntax 3, 4.3.6), comments skipped; backslash
 * escapes are left as written. */
static void
css_urls (const char *s, gsize len, GArray *spans)
{
	gsize i = 0;

	while (i < len) {
		gsize j;

		if (s[i] == '/' && i + 1 < len && s[i + 1] == '*') {
			const char *e = g_strstr_len (
				s + i + 2, (gssize) (len - i - 2), "*/");

			i = e ? (gsize) (e - s) + 2 : len;
			continue;
		}
		if (i + 4 > len ||
		    g_ascii_strncasecmp (s + i, "url(", 4) != 0 ||
		    (i > 0 && (g_ascii_isalnum (s[i - 1]) || s[i - 1] == '-' ||
			       s[i - 1] == '_'))) {
			i++;
			continue;
		}
		j = i + 4;
		while (j < len && is_space (s[j]))
			j++;
		if (j < len && (s[j] == '"' || s[j] == '\'')) {
			char q = s[j];
			gsize k = j + 1;

			while (k < len && s[k] != q && s[k] != '\n')
				k += s[k] == '\\' && k + 1 < len ? 2 : 1;
			if (k < len && s[k] == q) {
				Span sp = { j + 1, k };

				g_array_append_val (spans, sp);
			}
			i = k + 1;
		} else {
			gsize k = j;

			while (k < len && s[k] != ')' && !is_space (s[k]) &&
			       s[k] != '"' && s[k] != '\'')
				k++;
			if (k > j) {
				Span sp = { j, k };

				g_array_append_val (spans, sp);
			}
			i = k;
		}
	}
}

/* The URLs of a srcset (HTML 4.8.4.3.10, "parse a srcset attribute"):
 * candidates split at commas, each a URL and optional descriptors. */
static void
srcset_urls (const char *s, gsize len, GArray *spans)
{
	gsize i = 0;

	while (i < len) {
		gsize start, end;
		int depth = 0;

		while (i < len && (is_space (s[i]) || s[i] == ','))
			i++;
		if (i >= len)
			break;
		start = i;
		while (i < len && !is_space (s[i]))
			i++;
		end = i;
		if (s[end - 1] == ',') {
			while (end > start && s[end - 1] == ',')
				end--;
		} else {
			/* descriptors, up to a comma outside parentheses */
			while (i < len && (depth > 0 || s[i] != ',')) {
				if (s[i] == '(')
					depth++;
				else if (s[i] == ')' && depth > 0)
					depth--;
				i++;
			}
		}
		if (end > start) {
			Span sp = { start, end };

			g_array_append_val (spans, sp);
		}
	}
}

/* The URLs of a reference, relative to its value. */
static GArray *
ref_urls (const Ref *r)
{
	GArray *spans = g_array_new (FALSE, FALSE, sizeof (Span));

	switch (r->kind) {
	case REF_URL: {
		Span sp = { 0, r->value_len };

		g_array_append_val (spans, sp);
		break;
	}
	case REF_SRCSET:
		srcset_urls (r->value, r->value_len, spans);
		break;
	case REF_STYLE:
	case REF_CSS:
		css_urls (r->value, r->value_len, spans);
		break;
	}
	return spans;
}

static int
ref_cmp (gconstpointer a, gconstpointer b)
{
	const Ref *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static gboolean
attr_is (const GumboAttribute *a, const char *name)
{
	return a->attr_namespace == GUMBO_ATTR_NAMESPACE_NONE &&
	       g_ascii_strcasecmp (a->name, name) == 0;
}

/* A reference of @kind at @piece of the source: FALSE when @piece is not
 * in @html (made up by the parser). */
static gboolean
ref_at (Ref *r, const char *html, gsize len, const GumboStringPiece *piece,
	RefKind kind, gboolean image)
{
	if (piece->length == 0 || piece->data < html ||
	    piece->data + piece->length > html + len)
		return FALSE;
	r->kind = kind;
	r->start = (gsize) (piece->data - html);
	r->end = r->start + piece->length;
	r->image = image;
	return TRUE;
}

static void
add_attr_ref (GArray *refs, const char *html, gsize len,
	      const GumboAttribute *a, RefKind kind, gboolean image)
{
	const GumboStringPiece *ov = &a->original_value;
	Ref r = { 0 };
	gsize inner;

	/* an attribute copied by the parser (adoption agency) points at the
	 * same source as the original: it is the same reference */
	if (!ref_at (&r, html, len, ov, kind, image))
		return;
	r.value = a->value;
	r.value_len = strlen (a->value);
	if (ov->data[0] == '"' || ov->data[0] == '\'')
		r.quote = ov->data[0];
	inner = r.quote ? (ov->length >= 2 ? ov->length - 2 : 0) : ov->length;
	r.raw = inner == r.value_len &&
		memcmp (ov->data + (r.quote ? 1 : 0), r.value, inner) == 0;
	g_array_append_val (refs, r);
}

/* The text of a <style> element: CSS, its url()s images. */
static void
add_style_refs (GArray *refs, const char *html, gsize len,
		const GumboVector *kids)
{
	for (guint i = 0; i < kids->length; i++) {
		GumboNode *t = kids->data[i];
		const GumboStringPiece *ot = &t->v.text.original_text;
		Ref r = { 0 };

		if ((t->type != GUMBO_NODE_TEXT &&
		     t->type != GUMBO_NODE_WHITESPACE) ||
		    !ref_at (&r, html, len, ot, REF_CSS, TRUE))
			continue;
		r.value = ot->data;
		r.value_len = ot->length;
		r.raw = TRUE;
		g_array_append_val (refs, r);
	}
}

/* The attributes of an element: style, srcset, image URLs, other URLs. */
static void
add_element_refs (GArray *refs, const char *html, gsize len, GumboNode *n)
{
	GumboTag tag = n->v.element.tag;

	for (guint i = 0; i < n->v.element.attributes.length; i++) {
		const GumboAttribute *a = n->v.element.attributes.data[i];

		if (attr_is (a, "style"))
			add_attr_ref (refs, html, len, a, REF_STYLE, TRUE);
		else if (attr_is (a, "srcset") &&
			 (tag == GUMBO_TAG_IMG || tag == GUMBO_TAG_SOURCE))
			add_attr_ref (refs, html, len, a, REF_SRCSET, TRUE);
		else if (attr_is (a, "background") ||
			 (attr_is (a, "src") &&
			  (tag == GUMBO_TAG_IMG || tag == GUMBO_TAG_INPUT)) ||
			 (attr_is (a, "poster") && tag == GUMBO_TAG_VIDEO))
			add_attr_ref (refs, html, len, a, REF_URL, TRUE);
		else
			add_attr_ref (refs, html, len, a, REF_URL, FALSE);
	}
}

/* Every reference of the document, sorted by position, each once. */
static GArray *
collect_refs (GumboOutput *out, const char *html, gsize len)
{
	GArray *refs = g_array_new (FALSE, FALSE, sizeof (Ref));
	g_autoptr (GPtrArray) stack = g_ptr_array_new ();
	guint i, k;

	g_ptr_array_add (stack, out->root);
	while (stack->len > 0) {
		GumboNode *n =
			g_ptr_array_steal_index_fast (stack, stack->len - 1);
		const GumboVector *kids;

		if (n->type != GUMBO_NODE_ELEMENT &&
		    n->type != GUMBO_NODE_TEMPLATE)
			continue;
		kids = &n->v.element.children;
		for (i = 0; i < kids->length; i++)
			g_ptr_array_add (stack, kids->data[i]);
		if (n->v.element.tag_namespace != GUMBO_NAMESPACE_HTML)
			continue;
		if (n->v.element.tag == GUMBO_TAG_STYLE)
			add_style_refs (refs, html, len, kids);
		add_element_refs (refs, html, len, n);
	}
	g_array_sort (refs, ref_cmp);
	for (i = 0, k = 0; i < refs->len; i++) {
		Ref *r = &g_array_index (refs, Ref, i);

		if (k > 0 && g_array_index (refs, Ref, k - 1).start == r->start)
			continue;
		g_array_index (refs, Ref, k++) = *r;
	}
	g_array_set_size (refs, k);
	return refs;
}

static GumboOutput *
parse (const char *html, gsize len)
{
	GumboOptions opts = kGumboDefaultOptions;

	opts.max_errors = 0; /* parse errors are not kept: memory */
	return gumbo_parse_with_options (&opts, html, len);
}

static void
add_once (GPtrArray *list, char *s)
{
	guint i;

	for (i = 0; i < list->len; i++) {
		if (strcmp (list->pdata[i], s) == 0) {
			g_free (s);
			return;
		}
	}
	g_ptr_array_add (list, s);
}

char *
mp_html_content_id (const char *id)
{
	GString *s = g_string_new (NULL);
	const guchar *p;

	for (p = (const guchar *) id; *p; p++) {
		if (*p <= 0x20 || *p >= 0x7f || strchr ("<>\"()[]\\,;:", *p))
			g_string_append_printf (s, "%%%02X", *p);
		else
			g_string_append_c (s, (char) *p);
	}
	return g_string_free (s, FALSE);
}

/* What @pick makes of every URL in the links of @html (of images only
 * when @images_only), stripped, in document order, each once; a URL it
 * makes NULL of is left out.  Newly allocated. */
static GPtrArray *
pick_urls (const char *html, gboolean images_only,
	   char *(*pick) (const char *) )
{
	GPtrArray *picked = g_ptr_array_new_with_free_func (g_free);
	gsize len = strlen (html);
	GumboOutput *out = parse (html, len);
	g_autoptr (GArray) refs = collect_refs (out, html, len);
	guint i, j;

	for (i = 0; i < refs->len; i++) {
		const Ref *r = &g_array_index (refs, Ref, i);
		g_autoptr (GArray) spans = NULL;

		if (images_only && !r->image)
			continue;
		spans = ref_urls (r);
		for (j = 0; j < spans->len; j++) {
			const Span *sp = &g_array_index (spans, Span, j);
			g_autofree char *url = g_strstrip (g_strndup (
				r->value + sp->start, sp->end - sp->start));
			char *p = pick (url);

			if (p != NULL)
				add_once (picked, p);
		}
	}
	gumbo_destroy_output (&kGumboDefaultOptions, out);
	return picked;
}

/* The Content-ID a "cid:" URL links to, or NULL. */
static char *
cid_link (const char *url)
{
	g_autofree char *id = NULL;

	if (g_ascii_strncasecmp (url, "cid:", 4) != 0 || url[4] == '\0')
		return NULL;
	id = g_uri_unescape_string (url + 4, NULL);
	return mp_html_content_id (id ? id : url + 4);
}

GPtrArray *
mp_html_cid_links (const char *html)
{
	return pick_urls (html, FALSE, cid_link);
}

/* The path of a local URL, decoded, or NULL when it has a scheme. */
char *
mp_html_url_path (const char *src)
{
	g_autofree char *s = g_strstrip (g_strdup (src));
	char *p, *path;

	if (*s == '\0' || g_str_has_prefix (s, "//"))
		return NULL;
	if (g_ascii_strncasecmp (s, "file:", 5) == 0) {
		/* file:///abs, file:/abs, file://localhost/abs */
		p = s + 5;
		if (g_str_has_prefix (p, "//")) {
			p += 2;
			if (g_ascii_strncasecmp (p, "localhost/", 10) == 0)
				p += 9;
			else if (*p != '/')
				return NULL;
		}
		memmove (s, p, strlen (p) + 1);
	} else if (g_ascii_isalpha (*s)) {
		/* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" /
		 * "." ) ":" */
		for (p = s; g_ascii_isalnum (*p) || (*p && strchr ("+-.", *p));
		     p++)
			;
		if (*p == ':')
			return NULL;
	}
	/* RFC 3986 3.4, 3.5: the query and fragment are not the path */
	s[strcspn (s, "?#")] = '\0';
	if (*s == '\0')
		return NULL;
	path = g_uri_unescape_string (s, "/");
	return path ? path : g_strdup (s);
}

/* Removes "." and empty components and resolves ".." lexically; a
 * relative path that climbs out keeps its leading "..". */
char *
mp_html_normalize (const char *path)
{
	g_auto (GStrv) parts = g_strsplit (path, "/", -1);
	g_autoptr (GPtrArray) out = g_ptr_array_new ();
	gboolean abs = path[0] == '/';
	GString *s = g_string_new (abs ? "/" : "");
	guint i;

	for (i = 0; parts[i]; i++) {
		const char *c = parts[i];

		if (*c == '\0' || strcmp (c, ".") == 0)
			continue;
		if (strcmp (c, "..") == 0 && out->len > 0 &&
		    strcmp (out->pdata[out->len - 1], "..") != 0) {
			g_ptr_array_set_size (out, out->len - 1);
			continue;
		}
		if (strcmp (c, "..") == 0 && abs)
			continue;
		g_ptr_array_add (out, (gpointer) c);
	}
	for (i = 0; i < out->len; i++) {
		if (i > 0)
			g_string_append_c (s, '/');
		g_string_append (s, out->pdata[i]);
	}
	return g_string_free (s, FALSE);
}

char *
mp_html_local_path (const char *src, const char *base_dir)
{
	g_autofree char *path = mp_html_url_path (src);
	g_autofree char *joined = NULL;

	if (path == NULL)
		return NULL;
	if (!g_path_is_absolute (path))
		joined = g_build_filename (base_dir, path, NULL);
	return mp_html_normalize (joined ? joined : path);
}

/* @url itself when it is local (has a path and no scheme), else NULL. */
static char *
local_url (const char *url)
{
	g_autofree char *path = mp_html_url_path (url);

	return path ? g_strdup (url) : NULL;
}

GPtrArray *
mp_html_local_images (const char *html)
{
	return pick_urls (html, TRUE, local_url);
}

/* Appends @s escaped for an attribute value quoted with @quote. */
static void
append_attr_text (GString *out, const char *s, gsize len, char quote)
{
	gsize i;

	for (i = 0; i < len; i++) {
		if (s[i] == '&')
			g_string_append (out, "&amp;");
		else if (s[i] == quote)
			g_string_append (out,
					 quote == '"' ? "&quot;" : "&#39;");
		else
			g_string_append_c (out, s[i]);
	}
}

/* A URL put back into CSS: quoted when it would end an unquoted url(). */
static void
append_css_url (GString *out, const char *url, char quote)
{
	const char *p;

	if (quote || url[strcspn (url, " \t\r\n\f\"'()\\")] == '\0') {
		for (p = url; *p; p++) {
			if (quote && (*p == quote || *p == '\\'))
				g_string_append_c (out, '\\');
			g_string_append_c (out, *p);
		}
		return;
	}
	g_string_append_c (out, '"');
	for (p = url; *p; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_c (out, '\\');
		if (*p == '\n')
			g_string_append (out, "\\a ");
		else
			g_string_append_c (out, *p);
	}
	g_string_append_c (out, '"');
}

/* Rewrites the URLs of one reference; FALSE with @error set when @func
 * stops.  *@changed tells whether anything was replaced. */
static gboolean
rewrite_ref (GString *out, const Ref *r, MpHtmlImageFunc func,
	     gpointer user_data, gboolean *changed, GError **error)
{
	g_autoptr (GArray) spans = ref_urls (r);
	g_autoptr (GString) value = g_string_new (NULL);
	gsize copied = 0;
	guint j;

	*changed = FALSE;
	for (j = 0; j < spans->len; j++) {
		const Span *sp = &g_array_index (spans, Span, j);
		g_autofree char *url =
			g_strndup (r->value + sp->start, sp->end - sp->start);
		g_autoptr (GError) local = NULL;
		g_autofree char *repl = func (url, user_data, &local);
		char q = 0;

		if (local) {
			g_propagate_error (error, g_steal_pointer (&local));
			return FALSE;
		}
		if (repl == NULL)
			continue;
		g_string_append_len (value, r->value + copied,
				     sp->start - copied);
		if (r->kind == REF_STYLE || r->kind == REF_CSS) {
			if (sp->start > 0 && (r->value[sp->start - 1] == '"' ||
					      r->value[sp->start - 1] == '\''))
				q = r->value[sp->start - 1];
			append_css_url (value, repl, q);
		} else {
			g_string_append (value, repl);
		}
		copied = sp->end;
		*changed = TRUE;
	}
	if (!*changed)
		return TRUE;
	g_string_append_len (value, r->value + copied, r->value_len - copied);
	if (r->kind == REF_CSS) {
		/* <style> is raw text: only "</style" could end it early */
		if (strstr (value->str, "</") == NULL) {
			g_string_append_len (out, value->str, value->len);
			return TRUE;
		}
		*changed = FALSE;
		return TRUE;
	}
	if (r->kind != REF_URL && r->raw && r->quote) {
		/* in place: the attribute keeps its quotes and the rest of
		 * its bytes */
		g_string_append_c (out, r->quote);
		append_attr_text (out, value->str, value->len, r->quote);
		g_string_append_c (out, r->quote);
		return TRUE;
	}
	g_string_append_c (out, '"');
	append_attr_text (out, value->str, value->len, '"');
	g_string_append_c (out, '"');
	return TRUE;
}

char *
mp_html_rewrite_images (const char *html, MpHtmlImageFunc func,
			gpointer user_data, GError **error)
{
	g_autoptr (GString) out = g_string_new (NULL);
	gsize len = strlen (html), copied = 0;
	GumboOutput *doc = parse (html, len);
	g_autoptr (GArray) refs = collect_refs (doc, html, len);
	gboolean ok = TRUE;
	guint i;

	for (i = 0; i < refs->len && ok; i++) {
		const Ref *r = &g_array_index (refs, Ref, i);
		gsize mark = out->len;
		gboolean changed;

		if (!r->image || r->start < copied)
			continue;
		g_string_append_len (out, html + copied, r->start - copied);
		mark = out->len;
		ok = rewrite_ref (out, r, func, user_data, &changed, error);
		if (ok && changed) {
			copied = r->end;
		} else {
			g_string_truncate (out, mark);
			g_string_append_len (out, html + r->start,
					     r->end - r->start);
			copied = r->end;
		}
	}
	gumbo_destroy_output (&kGumboDefaultOptions, doc);
	if (!ok)
		return NULL;
	g_string_append_len (out, html + copied, len - copied);
	return g_string_free (g_steal_pointer (&out), FALSE);
}
