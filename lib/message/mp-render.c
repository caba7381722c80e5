#include "mp-render.h"
#include "mp-charset.h"
#include "mp-error.h"

#include <gumbo.h>
#include <errno.h>
#include <string.h>

#define DEFAULT_WIDTH 72
/* deeper than this, elements only give their text (no stack overflow) */
#define MAX_DEPTH 200

typedef struct {
	char *text;     /* indentation included, no quote marks */
	gboolean soft;  /* flowed: the paragraph goes on on the next line */
	gboolean stuff; /* flowed: space-stuffed whatever its start */
	guint quote;    /* quote depth (<blockquote>) */
} Line;

typedef struct {
	GPtrArray *links;  /* URLs, [N] is links[N-1] */
	GHashTable *index; /* URL -> N */
	gboolean flowed;
} Doc;

/* Where text goes: the whole document, or one table cell. */
typedef struct {
	Doc *doc;
	GPtrArray *lines; /* Line * */
	guint width;
	GString *para;   /* the paragraph being built, '\n' for <br> */
	gboolean space;  /* a collapsible space is pending */
	guint pre;       /* inside <pre> */
	guint margin;    /* before the next block: 1 new line, 2 blank */
	guint indent;    /* list indentation, in columns */
	char *marker;    /* list marker waiting for its first line */
	guint marker_at; /* column of that marker */
	guint quote;
	int heading;    /* h1..h6 being flushed */
	guint lists;    /* nesting of lists */
	guint flushes;  /* paragraphs flushed so far */
	gboolean stuff; /* the lines being emitted are space-stuffed */
	guint depth;
} Box;

typedef struct {
	gboolean ordered;
	int number;
	int step;
	char type; /* '1', 'a', 'A', 'i', 'I' */
	guint level;
} List;

static void render_children (Box *b, GumboNode *n, List *list);

static void
line_free (Line *l)
{
	g_free (l->text);
	g_free (l);
}

static Box *
box_new (Doc *doc, guint width, guint depth)
{
	Box *b = g_new0 (Box, 1);

	b->doc = doc;
	b->lines = g_ptr_array_new_with_free_func ((GDestroyNotify) line_free);
	b->width = width;
	b->para = g_string_new (NULL);
	b->depth = depth;
	return b;
}

static void
box_free (Box *b)
{
	g_ptr_array_unref (b->lines);
	g_string_free (b->para, TRUE);
	g_free (b->marker);
	g_free (b);
}

/* Display columns of a UTF-8 string. */
static guint
columns (const char *s, gssize len)
{
	const char *end = len < 0 ? s + strlen (s) : s + len;
	guint w = 0;

	while (s < end) {
		gunichar c = g_utf8_get_char (s);

		if (g_unichar_iswide (c))
			w += 2;
		else if (!g_unichar_iszerowidth (c))
			w += 1;
		s = g_utf8_next_char (s);
	}
	return w;
}

static Line *
add_line (Box *b, const char *text, gsize len, gboolean soft, guint quote)
{
	Line *l = g_new0 (Line, 1);

	l->text = g_strndup (text, len);
	l->soft = soft;
	l->quote = quote;
	g_ptr_array_add (b->lines, l);
	return l;
}

/* The margin before a block's first line. */
static void
open_block (Box *b)
{
	if (b->lines->len > 0 && b->margin >= 2) {
		Line *prev = b->lines->pdata[b->lines->len - 1];

		add_line (b, "", 0, FALSE, MIN (prev->quote, b->quote));
	}
	b->margin = 0;
}

/* The prefix of the next line: the pending list marker, or the indent. */
static char *
take_prefix (Box *b)
{
	GString *s = g_string_new (NULL);

	if (b->marker) {
		guint w;

		g_string_append_printf (s, "%*s%s", (int) b->marker_at, "",
					b->marker);
		w = columns (s->str, -1);
		while (w++ < b->indent)
			g_string_append_c (s, ' ');
		g_clear_pointer (&b->marker, g_free);
	} else {
		g_string_append_printf (s, "%*s", (int) b->indent, "");
	}
	return g_string_free (s, FALSE);
}

/* Adds a line of a block with the box's indent and quote. */
static Line *
emit (Box *b, const char *text, gboolean soft, guint quote)
{
	g_autofree char *prefix = take_prefix (b);
	g_autofree char *t = g_strconcat (prefix, text, NULL);
	Line *l = add_line (b, t, strlen (t), soft && b->indent == 0 && !b->pre,
			    b->quote + quote);

	/* RFC 3676 4.4 allows stuffing any line: indented, preformatted and
	 * aligned lines all are, so they keep their columns in a reader that
	 * does not remove the space as in one that does */
	l->stuff = b->indent > 0 || b->pre > 0 || b->stuff;
	return l;
}

/* Wraps one hard line of collapsed text at @width columns: breaks at
 * spaces only (U+00A0 does not break). */
static void
wrap (Box *b, const char *s, gsize len, guint width)
{
	const char *p = s, *end = s + len;

	while (p < end && *p == ' ')
		p++;
	if (p == end) {
		emit (b, "", FALSE, 0);
		return;
	}
	while (p < end) {
		const char *line = p, *brk = NULL, *q = p;
		guint w = 0;

		while (q < end) {
			gunichar c = g_utf8_get_char (q);
			const char *next = g_utf8_next_char (q);
			guint cw = g_unichar_iswide (c)      ? 2 :
				   g_unichar_iszerowidth (c) ? 0 :
							       1;

			if (c == ' ')
				brk = q;
			if (w + cw > width && c != ' ' && brk)
				break;
			w += cw;
			q = next;
		}
		if (q >= end) {
			const char *e = end;

			while (e > line && e[-1] == ' ')
				e--;
			{
				g_autofree char *t =
					g_strndup (line, (gsize) (e - line));

				emit (b, t, FALSE, 0);
			}
			break;
		}
		{
			const char *e = brk;
			g_autofree char *t = NULL;

			while (e > line && e[-1] == ' ')
				e--;
			t = g_strndup (line, (gsize) (e - line));
			emit (b, t, TRUE, 0);
		}
		p = brk;
		while (p < end && *p == ' ')
			p++;
	}
}

/* TRUE when @s holds only spaces, U+00A0 and line breaks. */
static gboolean
blank (const char *s)
{
	for (; *s; s++) {
		if ((guchar) s[0] == 0xc2 && (guchar) s[1] == 0xa0)
			s++;
		else if (*s != ' ' && *s != '\n')
			return FALSE;
	}
	return TRUE;
}

/* The paragraph so far becomes lines. */
static void
flush (Box *b)
{
	GString *pa = b->para;
	guint avail, i, first;
	char **segs;

	b->space = FALSE;
	if (pa->len == 0)
		return;
	b->flushes++;
	if (!b->pre && blank (pa->str)) {
		/* <div><br></div> is an empty line; <p>&nbsp;</p> (Outlook's
		 * spacing) is nothing more than the margin */
		gboolean br = strcmp (pa->str, "\n") == 0;

		g_string_truncate (pa, 0);
		if (br) {
			open_block (b);
			emit (b, "", FALSE, 0);
		}
		return;
	}
	/* a <br> at the end of a block makes no empty line */
	if (pa->str[pa->len - 1] == '\n')
		g_string_truncate (pa, pa->len - 1);
	open_block (b);
	avail = b->width > b->indent + 10 ? b->width - b->indent : 10;
	if (b->quote > 0)
		avail = avail > b->quote + 11 ? avail - b->quote - 1 : 10;
	/* RFC 3676 4.2: the soft break's space counts in the line */
	if (b->doc->flowed)
		avail--;
	first = b->lines->len;
	segs = g_strsplit (pa->str, "\n", -1);
	for (i = 0; segs[i]; i++) {
		if (b->pre) {
			emit (b, segs[i], FALSE, 0);
		} else {
			wrap (b, segs[i], strlen (segs[i]), avail);
		}
	}
	g_strfreev (segs);
	if (b->heading > 0) {
		static const char marks[] = "=-~~~~";
		guint w = 0;

		for (i = first; i < b->lines->len; i++) {
			Line *l = b->lines->pdata[i];
			guint cw = columns (l->text, -1);

			l->soft = FALSE;
			if (cw > b->indent)
				w = MAX (w, cw - b->indent);
		}
		if (w > 0) {
			char *u = g_malloc (w + 1);

			memset (u, marks[b->heading - 1], w);
			u[w] = '\0';
			emit (b, u, FALSE, 0);
			g_free (u);
		}
	}
	g_string_truncate (pa, 0);
}

/* Characters that take no room and are no word boundary. */
static gboolean
invisible (gunichar c)
{
	return c == 0x200B || c == 0x200C || c == 0x200D || c == 0xFEFF ||
	       c == 0x00AD || c == 0x034F || c == 0x2060;
}

static void
append_text (Box *b, const char *s)
{
	const char *p;

	if (b->pre) {
		for (p = s; *p; p++) {
			if (*p == '\r') {
				g_string_append_c (b->para, '\n');
				if (p[1] == '\n')
					p++;
			} else {
				g_string_append_c (b->para, *p);
			}
		}
		return;
	}
	for (p = s; *p; p = g_utf8_next_char (p)) {
		gunichar c = g_utf8_get_char (p);

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
		    c == '\f') {
			b->space = TRUE;
			continue;
		}
		if (invisible (c))
			continue;
		if (b->space && b->para->len > 0 &&
		    b->para->str[b->para->len - 1] != '\n')
			g_string_append_c (b->para, ' ');
		b->space = FALSE;
		g_string_append_unichar (b->para, c);
	}
}

static const char *
attr (GumboNode *n, const char *name)
{
	GumboAttribute *a =
		gumbo_get_attribute (&n->v.element.attributes, name);

	return a ? a->value : NULL;
}

/* The value of CSS property @prop in a style attribute, lower case and
 * without spaces or !important, or NULL. */
static char *
style_value (const char *style, const char *prop)
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

static gboolean
hidden (GumboNode *n)
{
	const char *style = attr (n, "style");
	g_autofree char *display = style_value (style, "display");
	g_autofree char *mso = style_value (style, "mso-hide");

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

static void
block_edge (Box *b, guint margin)
{
	flush (b);
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
			append_text (b, n->v.text.text);
			continue;
		}
		if (n->type != GUMBO_NODE_ELEMENT || hidden (n) ||
		    kind_of (n->v.element.tag) == SKIP)
			continue;
		append_text (b, " ");
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
	const char *href = attr (n, "href");
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

		append_text (b, t);
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
	const char *start = attr (n, "start");
	const char *type = attr (n, "type");
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
	render_children (b, n, &list);
	b->lists--;
}

static void
render_item (Box *b, GumboNode *n, List *list)
{
	guint indent = b->indent;
	const char *value = attr (n, "value");
	g_autofree char *m = NULL;

	block_edge (b, 1);
	if (b->marker) /* an empty item before: its marker alone */
		emit (b, "", FALSE, 0);
	if (list && value)
		list->number = (int) g_ascii_strtoll (value, NULL, 10);
	m = list ? list_marker (list) : g_strdup ("*");
	b->marker_at = indent;
	b->marker = g_strdup (m);
	b->indent = indent + columns (m, -1) + 1;
	render_children (b, n, NULL);
	block_edge (b, 1);
	if (b->marker)
		emit (b, "", FALSE, 0);
	b->indent = indent;
	if (list)
		list->number += list->step;
}

/* ---- tables ---- */

typedef struct {
	GPtrArray *lines; /* Line *, owned */
	guint span;
	gboolean right;
} Cell;

/* The width of @c's first line, in columns. */
static guint
cell_width (const Cell *c)
{
	return c->lines->len ?
		       columns (((Line *) c->lines->pdata[0])->text, -1) :
		       0;
}

static void
collect_rows (GumboNode *n, GPtrArray *rows, GPtrArray *captions)
{
	guint i;

	for (i = 0; i < n->v.element.children.length; i++) {
		GumboNode *c = n->v.element.children.data[i];

		if (c->type != GUMBO_NODE_ELEMENT || hidden (c))
			continue;
		switch (c->v.element.tag) {
		case GUMBO_TAG_THEAD:
		case GUMBO_TAG_TBODY:
		case GUMBO_TAG_TFOOT:
			collect_rows (c, rows, captions);
			break;
		case GUMBO_TAG_TR:
			g_ptr_array_add (rows, c);
			break;
		case GUMBO_TAG_CAPTION:
			g_ptr_array_add (captions, c);
			break;
		default:
			break;
		}
	}
}

static gboolean
cell_right (GumboNode *n)
{
	const char *align = attr (n, "align");
	g_autofree char *ta = style_value (attr (n, "style"), "text-align");

	return (align && g_ascii_strcasecmp (align, "right") == 0) ||
	       g_strcmp0 (ta, "right") == 0;
}

/* Removes the empty lines at the end of @lines. */
static void
drop_empty_tail (GPtrArray *lines)
{
	while (lines->len > 0 &&
	       *((Line *) lines->pdata[lines->len - 1])->text == '\0')
		g_ptr_array_set_size (lines, lines->len - 1);
}

/* Renders @n's children in a box of their own. */
static GPtrArray *
render_apart (Box *b, GumboNode *n, guint width)
{
	Box *c = box_new (b->doc, width, b->depth + 1);
	GPtrArray *lines;

	render_children (c, n, NULL);
	flush (c);
	drop_empty_tail (c->lines);
	lines = g_ptr_array_ref (c->lines);
	box_free (c);
	return lines;
}

static void
emit_lines (Box *b, GPtrArray *lines)
{
	guint i;

	for (i = 0; i < lines->len; i++) {
		Line *l = lines->pdata[i];

		emit (b, l->text, l->soft, l->quote)->stuff |= l->stuff;
	}
}

static void
cells_free (gpointer p)
{
	GArray *cells = p;

	for (guint j = 0; j < cells->len; j++)
		g_ptr_array_unref (g_array_index (cells, Cell, j).lines);
	g_array_unref (cells);
}

/* The room of @c at column @col: its columns and the gaps between them. */
static guint
span_width (GArray *widths, const Cell *c, guint col)
{
	guint k, w = 2 * (c->span - 1);

	for (k = col; k < col + c->span; k++)
		w += g_array_index (widths, guint, k);
	return w;
}

/* The rows of a table as arrays of cells rendered apart, rows without
 * text left out; *@aligned is cleared when a cell holds several lines. */
static GPtrArray *
table_grid (Box *b, GPtrArray *rows, guint avail, gboolean *aligned)
{
	GPtrArray *grid = g_ptr_array_new_with_free_func (cells_free);
	guint i, j;

	for (i = 0; i < rows->len; i++) {
		GumboNode *tr = rows->pdata[i];
		GArray *cells = g_array_new (FALSE, TRUE, sizeof (Cell));
		gboolean empty = TRUE;

		for (j = 0; j < tr->v.element.children.length; j++) {
			GumboNode *td = tr->v.element.children.data[j];
			const char *span;
			Cell c = { 0 };

			if (td->type != GUMBO_NODE_ELEMENT ||
			    (td->v.element.tag != GUMBO_TAG_TD &&
			     td->v.element.tag != GUMBO_TAG_TH) ||
			    hidden (td))
				continue;
			c.lines = render_apart (b, td, avail);
			span = attr (td, "colspan");
			c.span = span ? (guint) CLAMP (g_ascii_strtoll (
							       span, NULL, 10),
						       1, 100) :
					1;
			c.right = cell_right (td);
			empty = empty && c.lines->len == 0;
			*aligned = *aligned && c.lines->len <= 1;
			g_array_append_val (cells, c);
		}
		if (empty)
			cells_free (cells);
		else
			g_ptr_array_add (grid, cells);
	}
	return grid;
}

/* Pass 0: a cell spanning one column makes it at least as wide as
 * itself; pass 1: a spanning cell wider than its columns widens the
 * last of them. */
static void
widen (GArray *widths, const Cell *c, guint col, guint pass)
{
	guint w = cell_width (c), have;
	guint *last;

	if (pass == 0 && col + c->span > widths->len)
		g_array_set_size (widths, col + c->span);
	last = &g_array_index (widths, guint, col + c->span - 1);
	if (pass == 0) {
		if (c->span == 1)
			*last = MAX (*last, w);
		return;
	}
	have = span_width (widths, c, col);
	if (w > have)
		*last += w - have;
}

/* The width of each column of @grid (widen()'s two passes). */
static GArray *
column_widths (GPtrArray *grid)
{
	GArray *widths = g_array_new (FALSE, TRUE, sizeof (guint));

	for (guint pass = 0; pass < 2; pass++) {
		for (guint i = 0; i < grid->len; i++) {
			GArray *cells = grid->pdata[i];
			guint col = 0;

			for (guint j = 0; j < cells->len; j++) {
				Cell *c = &g_array_index (cells, Cell, j);

				widen (widths, c, col, pass);
				col += c->span;
			}
		}
	}
	return widths;
}

/* One row of an aligned table: each cell's line padded to its columns
 * (right-aligned when asked), two blanks between columns. */
static void
emit_aligned_row (Box *b, GArray *cells, GArray *widths)
{
	GString *row = g_string_new (NULL);
	gboolean any = FALSE;
	guint col = 0;

	for (guint j = 0; j < cells->len; j++) {
		Cell *c = &g_array_index (cells, Cell, j);
		const char *t = c->lines->len ?
					((Line *) c->lines->pdata[0])->text :
					"";
		guint w = span_width (widths, c, col), tw;

		tw = columns (t, -1);
		col += c->span;
		/* a column empty in every row takes no room */
		if (w == 0)
			continue;
		if (any)
			g_string_append (row, "  ");
		any = TRUE;
		if (c->right)
			g_string_append_printf (row, "%*s", (int) (w - tw), "");
		g_string_append (row, t);
		if (!c->right)
			g_string_append_printf (row, "%*s", (int) (w - tw), "");
	}
	while (row->len > 0 && row->str[row->len - 1] == ' ')
		g_string_truncate (row, row->len - 1);
	open_block (b);
	emit (b, row->str, FALSE, 0)->stuff = TRUE;
	g_string_free (row, TRUE);
}

static void
render_table (Box *b, GumboNode *n)
{
	g_autoptr (GPtrArray) rows = g_ptr_array_new ();
	g_autoptr (GPtrArray) captions = g_ptr_array_new ();
	g_autoptr (GPtrArray) grid = NULL; /* GArray of Cell */
	g_autoptr (GArray) widths = NULL;
	guint avail = b->width > b->indent + 10 ? b->width - b->indent : 10;
	gboolean aligned = TRUE, prev_single = TRUE;
	guint i, j, total = 0;

	collect_rows (n, rows, captions);
	for (i = 0; i < captions->len; i++) {
		g_autoptr (GPtrArray) lines =
			render_apart (b, captions->pdata[i], avail);

		block_edge (b, 1);
		open_block (b);
		emit_lines (b, lines);
	}
	grid = table_grid (b, rows, avail, &aligned);
	widths = aligned ? column_widths (grid) :
			   g_array_new (FALSE, TRUE, sizeof (guint));
	for (i = 0; i < widths->len; i++)
		if (g_array_index (widths, guint, i) > 0)
			total += g_array_index (widths, guint, i) +
				 (total ? 2 : 0);
	aligned = aligned && total <= avail;

	block_edge (b, 2);
	for (i = 0; i < grid->len; i++) {
		GArray *cells = grid->pdata[i];
		gboolean single = TRUE;

		for (j = 0; j < cells->len; j++)
			single = single &&
				 g_array_index (cells, Cell, j).lines->len <= 1;
		if (aligned) {
			emit_aligned_row (b, cells, widths);
		} else if (single) {
			/* one row per line, wrapped when long */
			if (!prev_single)
				b->margin = 2;
			for (j = 0; j < cells->len; j++) {
				Cell *c = &g_array_index (cells, Cell, j);

				if (c->lines->len == 0)
					continue;
				if (b->para->len > 0)
					g_string_append (b->para, "  ");
				g_string_append (
					b->para,
					((Line *) c->lines->pdata[0])->text);
			}
			flush (b);
		} else {
			/* a layout table: its cells one after the other */
			b->margin = MAX (b->margin, 2);
			for (j = 0; j < cells->len; j++) {
				Cell *c = &g_array_index (cells, Cell, j);

				if (c->lines->len == 0)
					continue;
				open_block (b);
				emit_lines (b, c->lines);
				b->margin = 2;
			}
		}
		prev_single = single;
		if (!aligned && single)
			b->margin = MAX (b->margin, 1);
	}
	b->margin = MAX (b->margin, 2);
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
	render_children (b, n, NULL);
	link_end (b, n, start, flushes);
}

/* <hr>: a line of dashes across the box. */
static void
render_rule (Box *b)
{
	guint w = b->width > b->indent + 10 ? b->width - b->indent : 10;
	char *rule = g_malloc (w + 1);

	block_edge (b, 2);
	open_block (b);
	memset (rule, '-', w);
	rule[w] = '\0';
	emit (b, rule, FALSE, 0);
	g_free (rule);
	b->margin = 2;
}

/* <h1> to <h6>: a paragraph of its own, marked by its level. */
static void
render_heading (Box *b, GumboNode *n, GumboTag tag)
{
	block_edge (b, 2);
	render_children (b, n, NULL);
	b->heading = 1 + (int) (tag - GUMBO_TAG_H1);
	flush (b);
	b->heading = 0;
	b->margin = 2;
}

/* <dd>: its lines indented by four. */
static void
render_definition (Box *b, GumboNode *n)
{
	guint indent = b->indent;

	block_edge (b, 1);
	b->indent += 4;
	render_children (b, n, NULL);
	block_edge (b, 1);
	b->indent = indent;
}

/* <pre> and its old forms: lines as they are. */
static void
render_pre (Box *b, GumboNode *n)
{
	block_edge (b, 2);
	b->pre++;
	render_children (b, n, NULL);
	flush (b);
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
		const char *alt = attr (n, "alt");

		if (alt)
			append_text (b, alt);
		return TRUE;
	}
	case GUMBO_TAG_A:
		render_link (b, n);
		return TRUE;
	case GUMBO_TAG_Q:
		append_text (b, "\"");
		render_children (b, n, NULL);
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
		block_edge (b, list || b->marker || b->indent ? 1 : 2);
		render_list (b, n, list);
		block_edge (b, b->indent ? 1 : 2);
		return TRUE;
	case GUMBO_TAG_LI:
		render_item (b, n, list);
		return TRUE;
	case GUMBO_TAG_DD:
		render_definition (b, n);
		return TRUE;
	case GUMBO_TAG_BLOCKQUOTE:
		block_edge (b, 2);
		b->quote++;
		render_children (b, n, NULL);
		block_edge (b, 2);
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
		block_edge (b, 2);
		render_table (b, n);
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
		render_children (b, n, NULL);
	} else {
		block_edge (b, kind == PARA ? 2 : 1);
		render_children (b, n, NULL);
		block_edge (b, kind == PARA ? 2 : 1);
	}
}

static void
render_element (Box *b, GumboNode *n, List *list)
{
	GumboTag tag = n->v.element.tag;
	Kind kind = kind_of (tag);

	if (n->v.element.tag_namespace != GUMBO_NAMESPACE_HTML ||
	    kind == SKIP || hidden (n))
		return;
	if (b->depth > MAX_DEPTH) {
		if (kind != INLINE)
			block_edge (b, 1);
		flat_text (b, n);
		return;
	}
	b->depth++;
	if (!render_phrase_tag (b, n, tag) &&
	    !render_block_tag (b, n, tag, list))
		render_by_kind (b, n, tag, kind);
	b->depth--;
}

static void
render_children (Box *b, GumboNode *n, List *list)
{
	guint i;

	for (i = 0; i < n->v.element.children.length; i++) {
		GumboNode *c = n->v.element.children.data[i];

		switch (c->type) {
		case GUMBO_NODE_TEXT:
		case GUMBO_NODE_WHITESPACE:
		case GUMBO_NODE_CDATA:
			append_text (b, c->v.text.text);
			break;
		case GUMBO_NODE_ELEMENT:
			render_element (b, c, list);
			break;
		default: /* comments, templates */
			break;
		}
	}
}

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
			cs = attr (n, "charset");
			if (cs && *cs)
				return g_strstrip (g_strdup (cs));
			cs = NULL;
			content = attr (n, "content");
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
	b = box_new (&d, opts->width ? opts->width : DEFAULT_WIDTH, 0);
	if (doc->root->type == GUMBO_NODE_ELEMENT)
		render_children (b, doc->root, NULL);
	flush (b);
	gumbo_destroy_output (&kGumboDefaultOptions, doc);

	out = g_string_new (NULL);
	drop_empty_tail (b->lines);
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
	box_free (b);
	g_ptr_array_unref (d.links);
	g_hash_table_unref (d.index);
	return g_string_free (out, FALSE);
}
