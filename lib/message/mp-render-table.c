/* mp-render-table: tables: each cell rendered apart, then the rows
 * aligned in columns when every cell is one line and they fit, one line
 * per row when not, and a layout table's cells one after the other. */
#include "mp-render-private.h"

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
		       mp_render_columns (((Line *) c->lines->pdata[0])->text,
					  -1) :
		       0;
}

static void
collect_rows (GumboNode *n, GPtrArray *rows, GPtrArray *captions)
{
	guint i;

	for (i = 0; i < n->v.element.children.length; i++) {
		GumboNode *c = n->v.element.children.data[i];

		if (c->type != GUMBO_NODE_ELEMENT || mp_render_hidden (c))
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
	const char *align = mp_render_attr (n, "align");
	g_autofree char *ta = mp_render_style_value (
		mp_render_attr (n, "style"), "text-align");

	return (align && g_ascii_strcasecmp (align, "right") == 0) ||
	       g_strcmp0 (ta, "right") == 0;
}

/* Renders @n's children in a box of their own. */
static GPtrArray *
render_apart (Box *b, GumboNode *n, guint width)
{
	Box *c = mp_render_box_new (b->doc, width, b->depth + 1);
	GPtrArray *lines;

	mp_render_children (c, n, NULL);
	mp_render_flush (c);
	mp_render_drop_empty_tail (c->lines);
	lines = g_ptr_array_ref (c->lines);
	mp_render_box_free (c);
	return lines;
}

static void
emit_lines (Box *b, GPtrArray *lines)
{
	guint i;

	for (i = 0; i < lines->len; i++) {
		Line *l = lines->pdata[i];

		mp_render_emit (b, l->text, l->soft, l->quote)->stuff |=
			l->stuff;
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
			    mp_render_hidden (td))
				continue;
			c.lines = render_apart (b, td, avail);
			span = mp_render_attr (td, "colspan");
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

		tw = mp_render_columns (t, -1);
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
	mp_render_open_block (b);
	mp_render_emit (b, row->str, FALSE, 0)->stuff = TRUE;
	g_string_free (row, TRUE);
}

void
mp_render_table (Box *b, GumboNode *n)
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

		mp_render_block_edge (b, 1);
		mp_render_open_block (b);
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

	mp_render_block_edge (b, 2);
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
			mp_render_flush (b);
		} else {
			/* a layout table: its cells one after the other */
			b->margin = MAX (b->margin, 2);
			for (j = 0; j < cells->len; j++) {
				Cell *c = &g_array_index (cells, Cell, j);

				if (c->lines->len == 0)
					continue;
				mp_render_open_block (b);
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
