/* mp-render-box: where rendered text goes (the document, or a table
 * cell): its lines, the paragraph being built, wrapping at a width
 * (breaking at spaces only), indentation, list markers and margins. */
#include "mp-render-private.h"

#include <string.h>

/* ---- the box: lines and paragraphs ---- */

static void
line_free (Line *l)
{
	g_free (l->text);
	g_free (l);
}

Box *
mp_render_box_new (Doc *doc, guint width, guint depth)
{
	Box *b = g_new0 (Box, 1);

	b->doc = doc;
	b->lines = g_ptr_array_new_with_free_func ((GDestroyNotify) line_free);
	b->width = width;
	b->para = g_string_new (NULL);
	b->depth = depth;
	return b;
}

void
mp_render_box_free (Box *b)
{
	g_ptr_array_unref (b->lines);
	g_string_free (b->para, TRUE);
	g_free (b->marker);
	g_free (b);
}

/* Display columns of a UTF-8 string. */
guint
mp_render_columns (const char *s, gssize len)
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
void
mp_render_open_block (Box *b)
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
		w = mp_render_columns (s->str, -1);
		while (w++ < b->indent)
			g_string_append_c (s, ' ');
		g_clear_pointer (&b->marker, g_free);
	} else {
		g_string_append_printf (s, "%*s", (int) b->indent, "");
	}
	return g_string_free (s, FALSE);
}

/* Adds a line of a block with the box's indent and quote. */
Line *
mp_render_emit (Box *b, const char *text, gboolean soft, guint quote)
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
		mp_render_emit (b, "", FALSE, 0);
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

				mp_render_emit (b, t, FALSE, 0);
			}
			break;
		}
		{
			const char *e = brk;
			g_autofree char *t = NULL;

			while (e > line && e[-1] == ' ')
				e--;
			t = g_strndup (line, (gsize) (e - line));
			mp_render_emit (b, t, TRUE, 0);
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
void
mp_render_flush (Box *b)
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
			mp_render_open_block (b);
			mp_render_emit (b, "", FALSE, 0);
		}
		return;
	}
	/* a <br> at the end of a block makes no empty line */
	if (pa->str[pa->len - 1] == '\n')
		g_string_truncate (pa, pa->len - 1);
	mp_render_open_block (b);
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
			mp_render_emit (b, segs[i], FALSE, 0);
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
			guint cw = mp_render_columns (l->text, -1);

			l->soft = FALSE;
			if (cw > b->indent)
				w = MAX (w, cw - b->indent);
		}
		if (w > 0) {
			char *u = g_malloc (w + 1);

			memset (u, marks[b->heading - 1], w);
			u[w] = '\0';
			mp_render_emit (b, u, FALSE, 0);
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

void
mp_render_append_text (Box *b, const char *s)
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

/* Removes the empty lines at the end of @lines. */
void
mp_render_drop_empty_tail (GPtrArray *lines)
{
	while (lines->len > 0 &&
	       *((Line *) lines->pdata[lines->len - 1])->text == '\0')
		g_ptr_array_set_size (lines, lines->len - 1);
}
