/* mp-render-elements: each HTML element rendered by its kind (hidden,
 * inline, a block, a paragraph), with the ones that have a rendering of
 * their own: links (numbered, listed at the end), lists (bullets,
 * numbers, letters, roman numerals), headings, rules, quotes, <pre>. */
#include "mp-render-private.h"

#include <string.h>

/* deeper than this, elements only give their text (no stack overflow) */
#define MAX_DEPTH 200

/* ---- attributes and the kinds of element ---- */

const char *
mp_render_attr (GumboNode *n, const char *name)
{
	GumboAttribute *a =
		gumbo_get_attribute (&n->v.element.attributes, name);

	return a ? a->value : NULL;
}

/* The value of CSS property @prop in a style attribute, lower case and
 * without spaces or !important, or NULL. */
char *
mp_render_style_value (const char *style, const char *prop)
{
	g_auto (GStrv) decls = NULL;
	char *found = NULL;
	guint i;

	if (style == NULL)
		return NULL;
	decls = g_strsplit (style, ";", -1);
	for (i = 0; decls[i]; i++) {
		char *colon = strchr (decls[i], ':');
		GString *v;
		const char *p;

		if (colon == NULL)
			continue;
		*colon = '\0';
		if (g_ascii_strcasecmp (g_strstrip (decls[i]), prop) != 0)
			continue;
		v = g_string_new (NULL);
		for (p = colon + 1; *p; p++)
			if (!g_ascii_isspace (*p))
				g_string_append_c (v, g_ascii_tolower (*p));
		if (g_str_has_suffix (v->str, "!important"))
			g_string_truncate (v, v->len - 10);
		g_free (found);
		found = g_string_free (v, FALSE);
	}
	return found;
}

gboolean
mp_render_hidden (GumboNode *n)
{
	const char *style = mp_render_attr (n, "style");
	g_autofree char *display = mp_render_style_value (style, "display");
	g_autofree char *mso = mp_render_style_value (style, "mso-hide");

	if (gumbo_get_attribute (&n->v.element.attributes, "hidden"))
		return TRUE;
	return g_strcmp0 (display, "none") == 0 || g_strcmp0 (mso, "all") == 0;
}

typedef enum {
	INLINE,
	SKIP,  /* not rendered at all */
	BLOCK, /* a new line before and after */
	PARA,  /* a blank line before and after */
} Kind;

/* <h1> to <h6> (consecutive in gumbo's tag enum) */
static gboolean
is_heading (GumboTag tag)
{
	return tag >= GUMBO_TAG_H1 && tag <= GUMBO_TAG_H6;
}

static Kind
kind_of (GumboTag tag)
{
	if (is_heading (tag))
		return PARA;
	switch (tag) {
	case GUMBO_TAG_HEAD:
	case GUMBO_TAG_SCRIPT:
	case GUMBO_TAG_STYLE:
	case GUMBO_TAG_TEMPLATE:
	case GUMBO_TAG_TITLE:
	case GUMBO_TAG_META:
	case GUMBO_TAG_LINK:
	case GUMBO_TAG_BASE:
	case GUMBO_TAG_IFRAME:
	case GUMBO_TAG_OBJECT:
	case GUMBO_TAG_EMBED:
	case GUMBO_TAG_SVG:
	case GUMBO_TAG_MATH:
	case GUMBO_TAG_CANVAS:
	case GUMBO_TAG_AUDIO:
	case GUMBO_TAG_VIDEO:
	case GUMBO_TAG_MAP:
	case GUMBO_TAG_INPUT:
	case GUMBO_TAG_SELECT:
	case GUMBO_TAG_DATALIST:
	case GUMBO_TAG_PARAM:
	case GUMBO_TAG_SOURCE:
	case GUMBO_TAG_TRACK:
		return SKIP;
	case GUMBO_TAG_P:
	case GUMBO_TAG_DL:
	case GUMBO_TAG_BLOCKQUOTE:
	case GUMBO_TAG_PRE:
	case GUMBO_TAG_LISTING:
	case GUMBO_TAG_XMP:
	case GUMBO_TAG_PLAINTEXT:
	case GUMBO_TAG_FIGURE:
	case GUMBO_TAG_FIELDSET:
	case GUMBO_TAG_TABLE:
	case GUMBO_TAG_UL:
	case GUMBO_TAG_OL:
	case GUMBO_TAG_MENU:
	case GUMBO_TAG_DIR:
	case GUMBO_TAG_HR:
		return PARA;
	case GUMBO_TAG_DIV:
	case GUMBO_TAG_LI:
	case GUMBO_TAG_DT:
	case GUMBO_TAG_DD:
	case GUMBO_TAG_TR:
	case GUMBO_TAG_TD:
	case GUMBO_TAG_TH:
	case GUMBO_TAG_ADDRESS:
	case GUMBO_TAG_ARTICLE:
	case GUMBO_TAG_SECTION:
	case GUMBO_TAG_HEADER:
	case GUMBO_TAG_FOOTER:
	case GUMBO_TAG_NAV:
	case GUMBO_TAG_MAIN:
	case GUMBO_TAG_ASIDE:
	case GUMBO_TAG_CENTER:
	case GUMBO_TAG_BODY:
	case GUMBO_TAG_HTML:
	case GUMBO_TAG_FORM:
	case GUMBO_TAG_FIGCAPTION:
	case GUMBO_TAG_CAPTION:
	case GUMBO_TAG_DETAILS:
	case GUMBO_TAG_SUMMARY:
	case GUMBO_TAG_LEGEND:
	case GUMBO_TAG_HGROUP:
	case GUMBO_TAG_OPTGROUP:
	case GUMBO_TAG_OPTION:
	case GUMBO_TAG_TEXTAREA:
	case GUMBO_TAG_THEAD:
	case GUMBO_TAG_TBODY:
	case GUMBO_TAG_TFOOT:
		return BLOCK;
	default:
		return INLINE;
	}
}

void
mp_render_block_edge (Box *b, guint margin)
{
	mp_render_flush (b);
	b->margin = MAX (b->margin, margin);
}

/* The text of a subtree too deep to render as structure. */
static void
flat_text (Box *b, GumboNode *root)
{
	g_autoptr (GPtrArray) stack = g_ptr_array_new ();

	g_ptr_array_add (stack, root);
	while (stack->len > 0) {
		GumboNode *n =
			g_ptr_array_steal_index_fast (stack, stack->len - 1);
		guint i;

		if (n->type == GUMBO_NODE_TEXT ||
		    n->type == GUMBO_NODE_WHITESPACE ||
		    n->type == GUMBO_NODE_CDATA) {
			mp_render_append_text (b, n->v.text.text);
			continue;
		}
		if (n->type != GUMBO_NODE_ELEMENT || mp_render_hidden (n) ||
		    kind_of (n->v.element.tag) == SKIP)
			continue;
		mp_render_append_text (b, " ");
		for (i = n->v.element.children.length; i-- > 0;)
			g_ptr_array_add (stack, n->v.element.children.data[i]);
	}
}

/* ---- links ---- */

static gboolean
same_url (const char *text, const char *href)
{
	if (strcmp (text, href) == 0)
		return TRUE;
	return g_ascii_strncasecmp (href, "mailto:", 7) == 0 &&
	       strcmp (text, href + 7) == 0;
}

static void
link_end (Box *b, GumboNode *n, gsize start, guint flushes)
{
	const char *href = mp_render_attr (n, "href");
	g_autofree char *text = NULL;
	g_autofree char *url = NULL;
	gboolean around = FALSE;
	guint num;
	char *p;

	if (href == NULL)
		return;
	url = g_strstrip (g_strdup (href));
	/* WHATWG URL: tabs and newlines are removed */
	for (p = url; *url && (p = strpbrk (p, "\t\r\n"));)
		memmove (p, p + 1, strlen (p));
	if (*url == '\0' || *url == '#' ||
	    g_ascii_strncasecmp (url, "javascript:", 11) == 0)
		return;
	/* a link around blocks: its text is what its last block holds */
	if (flushes != b->flushes || start > b->para->len) {
		start = 0;
		around = b->para->len == 0 && b->lines->len > 0;
	}
	text = g_strndup (b->para->str + start, b->para->len - start);
	for (p = text; *p; p++)
		if (*p == '\n')
			*p = ' ';
	g_strstrip (text);
	if (same_url (text, url) && !around)
		return;
	num = GPOINTER_TO_UINT (g_hash_table_lookup (b->doc->index, url));
	if (num == 0) {
		g_ptr_array_add (b->doc->links, g_strdup (url));
		num = b->doc->links->len;
		g_hash_table_insert (b->doc->index, g_strdup (url),
				     GUINT_TO_POINTER (num));
	}
	if (around) {
		Line *last = b->lines->pdata[b->lines->len - 1];
		char *t = g_strdup_printf ("%s\xc2\xa0[%u]", last->text, num);

		g_free (last->text);
		last->text = t;
		last->soft = FALSE;
	} else if (*text) {
		/* U+00A0: the number stays with the last word */
		g_string_append_printf (b->para, "\xc2\xa0[%u]", num);
	} else {
		g_autofree char *t = g_strdup_printf ("[%u]", num);

		mp_render_append_text (b, t);
	}
}

/* ---- lists ---- */

static char *
roman (int n, gboolean upper)
{
	static const struct {
		int v;
		const char *s;
	} r[] = { { 1000, "m" }, { 900, "cm" }, { 500, "d" }, { 400, "cd" },
		  { 100, "c" },  { 90, "xc" },  { 50, "l" },  { 40, "xl" },
		  { 10, "x" },   { 9, "ix" },   { 5, "v" },   { 4, "iv" },
		  { 1, "i" } };
	GString *s = g_string_new (NULL);
	guint i;

	for (i = 0; i < G_N_ELEMENTS (r) && n > 0 && n < 4000; i++) {
		while (n >= r[i].v) {
			g_string_append (s, r[i].s);
			n -= r[i].v;
		}
	}
	if (upper)
		for (i = 0; i < s->len; i++)
			s->str[i] = g_ascii_toupper (s->str[i]);
	return g_string_free (s, FALSE);
}

static char *
list_marker (List *list)
{
	static const char bullets[] = "*-+";
	int n = list->number;

	if (!list->ordered)
		return g_strdup_printf ("%c", bullets[list->level % 3]);
	if ((list->type == 'a' || list->type == 'A') && n > 0) {
		GString *s = g_string_new (NULL);

		for (; n > 0; n = (n - 1) / 26)
			g_string_prepend_c (
				s, (char) ((list->type == 'a' ? 'a' : 'A') +
					   (n - 1) % 26));
		g_string_append_c (s, '.');
		return g_string_free (s, FALSE);
	}
	if ((list->type == 'i' || list->type == 'I') && n > 0 && n < 4000) {
		g_autofree char *r = roman (n, list->type == 'I');

		return g_strdup_printf ("%s.", r);
	}
	return g_strdup_printf ("%d.", n);
}

static void
render_list (Box *b, GumboNode *n, List *outer)
{
	List list = { 0 };
	const char *start = mp_render_attr (n, "start");
	const char *type = mp_render_attr (n, "type");
	guint i, count = 0;

	list.ordered = n->v.element.tag == GUMBO_TAG_OL;
	(void) outer;
	list.level = b->lists++;
	list.type =
		type && strchr ("aAiI1", type[0]) && type[0] ? type[0] : '1';
	list.step = gumbo_get_attribute (&n->v.element.attributes, "reversed") ?
			    -1 :
			    1;
	for (i = 0; i < n->v.element.children.length; i++) {
		GumboNode *c = n->v.element.children.data[i];

		count += c->type == GUMBO_NODE_ELEMENT &&
			 c->v.element.tag == GUMBO_TAG_LI;
	}
	list.number = start         ? (int) g_ascii_strtoll (start, NULL, 10) :
		      list.step < 0 ? (int) count :
				      1;
	mp_render_children (b, n, &list);
	b->lists--;
}

static void
render_item (Box *b, GumboNode *n, List *list)
{
	guint indent = b->indent;
	const char *value = mp_render_attr (n, "value");
	g_autofree char *m = NULL;

	mp_render_block_edge (b, 1);
	if (b->marker) /* an empty item before: its marker alone */
		mp_render_emit (b, "", FALSE, 0);
	if (list && value)
		list->number = (int) g_ascii_strtoll (value, NULL, 10);
	m = list ? list_marker (list) : g_strdup ("*");
	b->marker_at = indent;
	b->marker = g_strdup (m);
	b->indent = indent + mp_render_columns (m, -1) + 1;
	mp_render_children (b, n, NULL);
	mp_render_block_edge (b, 1);
	if (b->marker)
		mp_render_emit (b, "", FALSE, 0);
	b->indent = indent;
	if (list)
		list->number += list->step;
}

/* ---- elements ---- */

/* A link: its text, then its number (link_end()). */
static void
render_link (Box *b, GumboNode *n)
{
	guint flushes;
	gsize start;

	if (b->space && b->para->len > 0 &&
	    b->para->str[b->para->len - 1] != '\n') {
		g_string_append_c (b->para, ' ');
		b->space = FALSE;
	}
	start = b->para->len;
	flushes = b->flushes;
	mp_render_children (b, n, NULL);
	link_end (b, n, start, flushes);
}

/* <hr>: a line of dashes across the box. */
static void
render_rule (Box *b)
{
	guint w = b->width > b->indent + 10 ? b->width - b->indent : 10;
	char *rule = g_malloc (w + 1);

	mp_render_block_edge (b, 2);
	mp_render_open_block (b);
	memset (rule, '-', w);
	rule[w] = '\0';
	mp_render_emit (b, rule, FALSE, 0);
	g_free (rule);
	b->margin = 2;
}

/* <h1> to <h6>: a paragraph of its own, marked by its level. */
static void
render_heading (Box *b, GumboNode *n, GumboTag tag)
{
	mp_render_block_edge (b, 2);
	mp_render_children (b, n, NULL);
	b->heading = 1 + (int) (tag - GUMBO_TAG_H1);
	mp_render_flush (b);
	b->heading = 0;
	b->margin = 2;
}

/* <dd>: its lines indented by four. */
static void
render_definition (Box *b, GumboNode *n)
{
	guint indent = b->indent;

	mp_render_block_edge (b, 1);
	b->indent += 4;
	mp_render_children (b, n, NULL);
	mp_render_block_edge (b, 1);
	b->indent = indent;
}

/* <pre> and its old forms: lines as they are. */
static void
render_pre (Box *b, GumboNode *n)
{
	mp_render_block_edge (b, 2);
	b->pre++;
	mp_render_children (b, n, NULL);
	mp_render_flush (b);
	b->pre--;
	b->margin = 2;
}

/* Renders the phrase elements with a rendering of their own (br, img by
 * its alt text, a, q); returns FALSE, rendering nothing, for any other
 * TAG. */
static gboolean
render_phrase_tag (Box *b, GumboNode *n, GumboTag tag)
{
	switch (tag) {
	case GUMBO_TAG_BR:
		g_string_append_c (b->para, '\n');
		b->space = FALSE;
		return TRUE;
	case GUMBO_TAG_IMG: {
		const char *alt = mp_render_attr (n, "alt");

		if (alt)
			mp_render_append_text (b, alt);
		return TRUE;
	}
	case GUMBO_TAG_A:
		render_link (b, n);
		return TRUE;
	case GUMBO_TAG_Q:
		mp_render_append_text (b, "\"");
		mp_render_children (b, n, NULL);
		g_string_append_c (b->para, '"');
		return TRUE;
	default:
		return FALSE;
	}
}

/* Renders the block elements with a rendering of their own (lists and
 * their items, dd, blockquote, pre and its kin, hr, table) inside LIST;
 * returns FALSE, rendering nothing, for any other TAG. */
static gboolean
render_block_tag (Box *b, GumboNode *n, GumboTag tag, List *list)
{
	switch (tag) {
	case GUMBO_TAG_UL:
	case GUMBO_TAG_OL:
	case GUMBO_TAG_MENU:
	case GUMBO_TAG_DIR:
		mp_render_block_edge (b,
				      list || b->marker || b->indent ? 1 : 2);
		render_list (b, n, list);
		mp_render_block_edge (b, b->indent ? 1 : 2);
		return TRUE;
	case GUMBO_TAG_LI:
		render_item (b, n, list);
		return TRUE;
	case GUMBO_TAG_DD:
		render_definition (b, n);
		return TRUE;
	case GUMBO_TAG_BLOCKQUOTE:
		mp_render_block_edge (b, 2);
		b->quote++;
		mp_render_children (b, n, NULL);
		mp_render_block_edge (b, 2);
		b->quote--;
		return TRUE;
	case GUMBO_TAG_PRE:
	case GUMBO_TAG_LISTING:
	case GUMBO_TAG_XMP:
	case GUMBO_TAG_PLAINTEXT:
		render_pre (b, n);
		return TRUE;
	case GUMBO_TAG_HR:
		render_rule (b);
		return TRUE;
	case GUMBO_TAG_TABLE:
		mp_render_block_edge (b, 2);
		mp_render_table (b, n);
		return TRUE;
	default:
		return FALSE;
	}
}

/* Renders any other element by its KIND: a heading, inline content, or a
 * block between edges (a blank line around a paragraph). */
static void
render_by_kind (Box *b, GumboNode *n, GumboTag tag, Kind kind)
{
	if (is_heading (tag)) {
		render_heading (b, n, tag);
	} else if (kind == INLINE) {
		mp_render_children (b, n, NULL);
	} else {
		mp_render_block_edge (b, kind == PARA ? 2 : 1);
		mp_render_children (b, n, NULL);
		mp_render_block_edge (b, kind == PARA ? 2 : 1);
	}
}

static void
render_element (Box *b, GumboNode *n, List *list)
{
	GumboTag tag = n->v.element.tag;
	Kind kind = kind_of (tag);

	if (n->v.element.tag_namespace != GUMBO_NAMESPACE_HTML ||
	    kind == SKIP || mp_render_hidden (n))
		return;
	if (b->depth > MAX_DEPTH) {
		if (kind != INLINE)
			mp_render_block_edge (b, 1);
		flat_text (b, n);
		return;
	}
	b->depth++;
	if (!render_phrase_tag (b, n, tag) &&
	    !render_block_tag (b, n, tag, list))
		render_by_kind (b, n, tag, kind);
	b->depth--;
}

void
mp_render_children (Box *b, GumboNode *n, List *list)
{
	guint i;

	for (i = 0; i < n->v.element.children.length; i++) {
		GumboNode *c = n->v.element.children.data[i];

		switch (c->type) {
		case GUMBO_NODE_TEXT:
		case GUMBO_NODE_WHITESPACE:
		case GUMBO_NODE_CDATA:
			mp_render_append_text (b, c->v.text.text);
			break;
		case GUMBO_NODE_ELEMENT:
			render_element (b, c, list);
			break;
		default: /* comments, templates */
			break;
		}
	}
}
