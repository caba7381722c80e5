/* mp-render: HTML rendered as plain text, the text alternative of an HTML
 * message (DESIGN 5), read with gumbo (HTML5).
 *
 * Blocks become paragraphs separated by a blank line; headings are
 * underlined (= for h1, - for h2, ~ below); list items are bulleted
 * (* - +) or numbered (<ol start type>), nested lists indented; links
 * become "text [N]" with the URLs listed at the end, or stay plain when
 * their text is the URL; images become their alt text; tables are one
 * row per line, cells aligned in columns when every cell is one line and
 * the row fits, else (layout tables) their cells follow each other;
 * <pre> and <br> line breaks are kept; entities are decoded; white space
 * collapses as in a browser; <blockquote> becomes quoted text (">").
 * Not rendered: <head>, <script>, <style>, <template> and the like, any
 * element with the hidden attribute or a style saying display:none or
 * mso-hide:all (newsletter preheaders).  CSS from <style> sheets is not
 * applied. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
	guint width;     /* wrap at this many columns (0: 72) */
	gboolean flowed; /* write format=flowed (RFC 3676, DelSp=no) */
} MpRenderOptions;

/* Renders @len bytes of HTML as UTF-8 text.  @charset is the part's
 * charset parameter, or NULL: then a <meta charset> (or http-equiv
 * Content-Type) of the document, else UTF-8 when the bytes are valid
 * UTF-8, else windows-1252 (as browsers do).  Invalid bytes become
 * U+FFFD.  @opts NULL means { 72, TRUE }.
 * With flowed set, paragraph lines end in a space where they were
 * wrapped (soft breaks), lines starting with a space, ">" or "From " are
 * space-stuffed and quoted lines start with ">" marks (RFC 3676 4.2-4.5);
 * the text is to be labelled "format=flowed".  Lines are never longer
 * than the width unless one word is.  The text ends with a newline
 * unless empty.  Newly allocated.
 * Errors: MP_ERROR_DATA when @charset is not a charset this system can
 * convert. */
char *mp_render_html (const char *html, gsize len, const char *charset,
		      const MpRenderOptions *opts, GError **error);

G_END_DECLS
