/* mp-render-private: what the files of mp-render share (mp-render.c:
 * the document, its charset and the text written; mp-render-box.c: the
 * box of lines and paragraphs; mp-render-elements.c: elements, links
 * and lists; mp-render-table.c: tables).  Not for other modules. */
#pragma once

#include "mp-render.h"

#include <gumbo.h>

G_BEGIN_DECLS

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

/* ---- mp-render-box.c: the box */

/* A new box for @doc, @width columns wide, at element depth @depth. */
Box *mp_render_box_new (Doc *doc, guint width, guint depth);

/* Frees @b and its lines. */
void mp_render_box_free (Box *b);

/* Display columns of a UTF-8 string. */
guint mp_render_columns (const char *s, gssize len);

/* The margin before a block's first line. */
void mp_render_open_block (Box *b);

/* Adds a line of a block with the box's indent and quote. */
Line *mp_render_emit (Box *b, const char *text, gboolean soft, guint quote);

/* The paragraph so far becomes lines. */
void mp_render_flush (Box *b);

/* Adds text to the paragraph, its white space collapsed outside <pre>. */
void mp_render_append_text (Box *b, const char *s);

/* Removes the empty lines at the end of @lines. */
void mp_render_drop_empty_tail (GPtrArray *lines);

/* ---- mp-render-elements.c: elements */

/* The value of attribute @name of the element @n, or NULL. */
const char *mp_render_attr (GumboNode *n, const char *name);

/* The value of CSS property @prop in a style attribute, or NULL. */
char *mp_render_style_value (const char *style, const char *prop);

/* TRUE when @n is hidden (hidden, display: none, mso-hide: all). */
gboolean mp_render_hidden (GumboNode *n);

/* Ends the paragraph, with at least @margin before the next block. */
void mp_render_block_edge (Box *b, guint margin);

/* Renders the children of @n into @b (@list: the list they are in). */
void mp_render_children (Box *b, GumboNode *n, List *list);

/* ---- mp-render-table.c: tables */

/* Renders the table @n into @b. */
void mp_render_table (Box *b, GumboNode *n);

G_END_DECLS
