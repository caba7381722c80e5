/* mp-render: HTML as text (mp-render.h).  Here the document: its
 * charset (a <meta>, WHATWG's aliases), parsing it with gumbo, and the
 * lines written as format=flowed text (RFC 3676) with the links after
 * them; the box of lines and paragraphs in mp-render-box.c, the elements,
 * links and lists in mp-render-elements.c, tables in mp-render-table.c
 * (mp-render-private.h is what they share). */
#include "mp-render.h"
#include "mp-render-private.h"
#include "mp-charset.h"
#include "mp-error.h"

#include <gumbo.h>
#include <string.h>

#define DEFAULT_WIDTH 72

/* ---- charsets ---- */

/* The charset a <meta> of the document declares, or NULL. */
static char *
meta_charset (GumboNode *root)
{
	g_autoptr (GPtrArray) stack = g_ptr_array_new ();

	g_ptr_array_add (stack, root);
	while (stack->len > 0) {
		GumboNode *n =
			g_ptr_array_steal_index_fast (stack, stack->len - 1);
		const char *cs, *content;
		guint i;

		if (n->type != GUMBO_NODE_ELEMENT)
			continue;
		if (n->v.element.tag == GUMBO_TAG_META) {
			cs = mp_render_attr (n, "charset");
			if (cs && *cs)
				return g_strstrip (g_strdup (cs));
			cs = NULL;
			content = mp_render_attr (n, "content");
			if (content) {
				g_autofree char *low =
					g_ascii_strdown (content, -1);
				const char *c = strstr (low, "charset=");

				if (c)
					cs = content + (c - low);
			}
			if (cs) {
				const char *v = cs + 8;
				gsize l;

				while (*v == '"' || *v == '\'' || *v == ' ')
					v++;
				l = strcspn (v, "\"'; ");
				if (l > 0)
					return g_strndup (v, l);
			}
		}
		for (i = n->v.element.children.length; i-- > 0;)
			g_ptr_array_add (stack, n->v.element.children.data[i]);
	}
	return NULL;
}

/* WHATWG Encoding: these labels mean windows-1252 in browsers; UTF-16
 * labels in a <meta> mean UTF-8 (the bytes were read as ASCII). */
static const char *
charset_alias (const char *cs)
{
	static const char *const w1252[] = {
		"us-ascii", "ascii",      "iso-8859-1", "iso8859-1",   "latin1",
		"l1",       "iso_8859-1", "cp1252",     "windows-1252"
	};
	guint i;

	for (i = 0; i < G_N_ELEMENTS (w1252); i++)
		if (g_ascii_strcasecmp (cs, w1252[i]) == 0)
			return "WINDOWS-1252";
	if (g_ascii_strcasecmp (cs, "utf8") == 0 ||
	    g_ascii_strcasecmp (cs, "utf-8") == 0 ||
	    g_ascii_strcasecmp (cs, "unicode-1-1-utf-8") == 0)
		return "UTF-8";
	return cs;
}

static void
append_len (const char *utf8, gsize len, gpointer user_data)
{
	g_string_append_len (user_data, utf8, (gssize) len);
}

/* @len bytes in @cs to UTF-8, U+FFFD for what does not convert; NULL
 * when the charset is unknown. */
static char *
to_utf8 (const char *data, gsize len, const char *cs, gsize *out_len)
{
	g_autoptr (MpCharsetDecoder) d = mp_charset_decoder_new (cs);
	GString *out;

	if (d == NULL)
		return NULL;
	out = g_string_sized_new (len + len / 2 + 16);
	mp_charset_decoder_feed (d, data, len, TRUE, append_len, out);
	*out_len = out->len;
	return g_string_free (out, FALSE);
}

/* ---- output ---- */

static void
write_line (GString *out, const Line *l, gboolean flowed)
{
	g_autoptr (GString) t = g_string_new (NULL);
	const char *p;
	guint i;

	for (p = l->text; *p; p++) {
		if ((guchar) p[0] == 0xc2 && (guchar) p[1] == 0xa0) {
			g_string_append_c (t, ' ');
			p++;
		} else {
			g_string_append_c (t, *p);
		}
	}
	/* RFC 3676 4.3: the signature separator keeps its space */
	if (strcmp (t->str, "-- ") == 0 && !l->soft && l->quote == 0) {
		g_string_append (out, "-- \n");
		return;
	}
	if (!(flowed && l->soft))
		while (t->len > 0 && t->str[t->len - 1] == ' ')
			g_string_truncate (t, t->len - 1);
	for (i = 0; i < l->quote; i++)
		g_string_append_c (out, '>');
	if (flowed) {
		/* RFC 3676 4.4: space-stuffing */
		if (l->quote > 0 || l->stuff || t->str[0] == ' ' ||
		    t->str[0] == '>' || g_str_has_prefix (t->str, "From "))
			if (t->len > 0)
				g_string_append_c (out, ' ');
		g_string_append_len (out, t->str, (gssize) t->len);
		/* RFC 3676 4.2: a soft break is a trailing space */
		if (l->soft && t->len > 0 && t->str[t->len - 1] != ' ')
			g_string_append_c (out, ' ');
	} else {
		if (l->quote > 0 && t->len > 0)
			g_string_append_c (out, ' ');
		g_string_append_len (out, t->str, (gssize) t->len);
	}
	g_string_append_c (out, '\n');
}

/* The charset of a document given without one: its <meta>'s when this
 * system knows it (HTML 13.2.3.2: a <meta> read as ASCII cannot say
 * UTF-16), else UTF-8 when the bytes are, else windows-1252.  *@meta
 * receives what the <meta> said (to free). */
static const char *
document_charset (GumboOutput *doc, const char *html, gsize len, char **meta)
{
	const char *cs;

	*meta = meta_charset (doc->root);
	cs = *meta;
	if (cs && g_ascii_strncasecmp (cs, "utf-16", 6) == 0)
		cs = "UTF-8";
	if (cs && strcmp (charset_alias (cs), "UTF-8") != 0) {
		/* a label this system does not know is ignored */
		g_autoptr (MpCharsetDecoder) d =
			mp_charset_decoder_new (charset_alias (cs));

		if (d == NULL)
			cs = NULL;
	}
	if (cs == NULL)
		cs = g_utf8_validate_len (html, len, NULL) ? "UTF-8" :
							     "WINDOWS-1252";
	return cs;
}

char *
mp_render_html (const char *html, gsize len, const char *charset,
		const MpRenderOptions *opts, GError **error)
{
	MpRenderOptions defaults = { DEFAULT_WIDTH, TRUE };
	GumboOptions gopts = kGumboDefaultOptions;
	g_autofree char *converted = NULL;
	g_autofree char *meta = NULL;
	const char *cs = charset;
	GumboOutput *doc;
	GString *out;
	Doc d = { 0 };
	Box *b;
	guint i;

	if (opts == NULL)
		opts = &defaults;
	gopts.max_errors = 0; /* parse errors are not kept: memory */
	doc = gumbo_parse_with_options (&gopts, html, len);
	if (cs == NULL || *cs == '\0')
		cs = document_charset (doc, html, len, &meta);
	if (strcmp (charset_alias (cs), "UTF-8") != 0) {
		gsize clen = 0;

		converted = to_utf8 (html, len, charset_alias (cs), &clen);
		if (converted == NULL) {
			gumbo_destroy_output (&kGumboDefaultOptions, doc);
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "charset %s: not known to this system",
				     cs);
			return NULL;
		}
		gumbo_destroy_output (&kGumboDefaultOptions, doc);
		doc = gumbo_parse_with_options (&gopts, converted, clen);
	}

	d.links = g_ptr_array_new_with_free_func (g_free);
	d.index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
	d.flowed = opts->flowed;
	b = mp_render_box_new (&d, opts->width ? opts->width : DEFAULT_WIDTH,
			       0);
	if (doc->root->type == GUMBO_NODE_ELEMENT)
		mp_render_children (b, doc->root, NULL);
	mp_render_flush (b);
	gumbo_destroy_output (&kGumboDefaultOptions, doc);

	out = g_string_new (NULL);
	mp_render_drop_empty_tail (b->lines);
	for (i = 0; i < b->lines->len; i++)
		write_line (out, b->lines->pdata[i], opts->flowed);
	if (d.links->len > 0) {
		if (out->len > 0)
			g_string_append (out, "\n");
		g_string_append (out, "Links:\n");
		for (i = 0; i < d.links->len; i++)
			g_string_append_printf (out, "[%u] %s\n", i + 1,
						(char *) d.links->pdata[i]);
	}
	mp_render_box_free (b);
	g_ptr_array_unref (d.links);
	g_hash_table_unref (d.index);
	return g_string_free (out, FALSE);
}
