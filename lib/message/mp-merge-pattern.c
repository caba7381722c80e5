/* mp-merge-pattern: a template string with placeholders, compiled
 * against the data's columns and filled with a row's values, each
 * escaped for where it lands (text, HTML, a header field, an address, a
 * URL); the row's values and the errors that name its row and column. */
#include "mp-merge-private.h"

#include "mp-error.h"
#include "mp-placeholder.h"

#include <string.h>

void
mp_merge_pattern_free (Pattern *p)
{
	if (p == NULL)
		return;
	for (guint i = 0; i < p->pieces->len; i++)
		g_free (g_array_index (p->pieces, Piece, i).text);
	g_array_unref (p->pieces);
	g_free (p->where);
	g_free (p);
}

/* Compiles @s: {{name}} and {{{name}}} (blanks around the name allowed).
 * Returns NULL without error when @s holds no placeholder. */
Pattern *
mp_merge_pattern_compile (const char *s, Context ctx, const char *where,
			  const MpMergeData *data, const char *tmpl,
			  GError **error)
{
	g_autofree char *what = g_strdup_printf ("%s: %s", tmpl, where);
	g_autoptr (GArray) phs = mp_placeholder_scan (s, what, error);
	Pattern *p;
	gsize pos = 0;
	int angle = 0;

	if (phs == NULL || phs->len == 0)
		return NULL;
	p = g_new0 (Pattern, 1);
	p->pieces = g_array_new (FALSE, TRUE, sizeof (Piece));
	p->ctx = ctx;
	p->where = g_strdup (where);
	for (guint i = 0; i <= phs->len; i++) {
		MpPlaceholder *ph =
			i < phs->len ? &g_array_index (phs, MpPlaceholder, i) :
				       NULL;
		gsize end = ph ? ph->start : strlen (s);
		Piece lit = { NULL, -1, FALSE, FALSE };
		Piece pc = { NULL, -1, FALSE, FALSE };

		if (end > pos) {
			lit.text = g_strndup (s + pos, end - pos);
			for (const char *c = s + pos; c < s + end; c++)
				angle += *c == '<' ? 1 : *c == '>' ? -1 : 0;
			g_array_append_val (p->pieces, lit);
		}
		if (ph == NULL)
			break;
		pc.column = mp_merge_data_find_column (data, ph->name);
		if (pc.column < 0) {
			if (data->json) /* JSON lines: a key no row has */
				g_set_error (error, MP_ERROR, MP_ERROR_DATA,
					     "%s: {{%s}}: no line of %s has "
					     "the key %s",
					     what, ph->name, data->name,
					     ph->name);
			else
				g_set_error (error, MP_ERROR, MP_ERROR_DATA,
					     "%s: {{%s}}: %s has no column %s",
					     what, ph->name, data->name,
					     ph->name);
			mp_merge_pattern_free (p);
			return NULL;
		}
		pc.raw = ph->raw && ctx == CTX_HTML;
		pc.in_angle = angle > 0;
		g_array_append_val (p->pieces, pc);
		pos = ph->end;
	}
	return p;
}

/* RFC 5322 3.2.3 specials: a display name holding them must be quoted */
static gboolean
needs_quoting (const char *v)
{
	return strpbrk (v, "()<>[]:;@\\,.\"") != NULL;
}

/* A bare addr-spec: quoting it would break it */
static gboolean
looks_like_addr_spec (const char *v)
{
	const char *at = strchr (v, '@');

	return at != NULL && at != v && at[1] != '\0' &&
	       strpbrk (v, " \t,;<>()\"") == NULL;
}

/* The row's value for @column, or NULL with @error naming row and column */
const char *
mp_merge_row_value (const MpMergeData *data, guint row, int column,
		    GError **error)
{
	GPtrArray *r = data->rows->pdata[row];
	const char *v = r->pdata[column];

	if (v == NULL)
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: line %u: no key %s", data->name,
			     g_array_index (data->row_numbers, guint, row),
			     (char *) data->columns->pdata[column]);
	return v;
}

/* Sets @error (@code) to "DATA: row N, column C: @what". */
void
mp_merge_set_row_error (GError **error, int code, const MpMergeData *data,
			guint row, int column, const char *what)
{
	if (column >= 0)
		g_set_error (error, MP_ERROR, code, "%s: %s %u, %s %s: %s",
			     data->name, data->json ? "line" : "row",
			     g_array_index (data->row_numbers, guint, row),
			     data->json ? "key" : "column",
			     (char *) data->columns->pdata[column], what);
	else
		g_set_error (error, MP_ERROR, code, "%s: %s %u: %s", data->name,
			     data->json ? "line" : "row",
			     g_array_index (data->row_numbers, guint, row),
			     what);
}

void
mp_merge_row_error (GError **error, const MpMergeData *data, guint row,
		    int column, const char *fmt, ...)
{
	va_list ap;
	g_autofree char *what = NULL;

	va_start (ap, fmt);
	what = g_strdup_vprintf (fmt, ap);
	va_end (ap);
	mp_merge_set_row_error (error, MP_ERROR_DATA, data, row, column, what);
}

/* The pattern filled with row @row's values, escaped for its context.
 * *@last_column receives a column used (for errors about the result). */
char *
mp_merge_pattern_fill (const Pattern *p, const MpMergeData *data, guint row,
		       int *last_column, GError **error)
{
	GString *s = g_string_new (NULL);

	for (guint i = 0; i < p->pieces->len; i++) {
		const Piece *pc = &g_array_index (p->pieces, Piece, i);
		const char *v;

		if (pc->text) {
			g_string_append (s, pc->text);
			continue;
		}
		v = mp_merge_row_value (data, row, pc->column, error);
		if (v == NULL)
			goto fail;
		if (last_column)
			*last_column = pc->column;
		if (p->ctx == CTX_HEADER || p->ctx == CTX_ADDRESS ||
		    p->ctx == CTX_URL) {
			/* RFC 5322 2.2: a value must not end the field */
			if (strpbrk (v, "\r\n") != NULL) {
				mp_merge_row_error (
					error, data, row, pc->column,
					"a line break in a value bound for "
					"%s",
					p->where);
				goto fail;
			}
		}
		switch (p->ctx) {
		case CTX_HTML:
			if (pc->raw)
				g_string_append (s, v);
			else {
				g_autofree char *e =
					g_markup_escape_text (v, -1);

				g_string_append (s, e);
			}
			break;
		case CTX_ADDRESS:
			if (!pc->in_angle && needs_quoting (v) &&
			    !looks_like_addr_spec (v)) {
				g_string_append_c (s, '"');
				for (const char *c = v; *c; c++) {
					if (*c == '"' || *c == '\\')
						g_string_append_c (s, '\\');
					g_string_append_c (s, *c);
				}
				g_string_append_c (s, '"');
			} else {
				g_string_append (s, v);
			}
			break;
		case CTX_URL: {
			g_autofree char *e =
				g_uri_escape_string (v, NULL, FALSE);

			g_string_append (s, e);
			break;
		}
		default:
			g_string_append (s, v);
		}
	}
	return g_string_free (s, FALSE);
fail:
	g_string_free (s, TRUE);
	return NULL;
}
