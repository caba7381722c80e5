#include "mp-placeholder.h"

#include "mp-error.h"
#include "mp-field.h"

#include <string.h>

static void
placeholder_clear (gpointer p)
{
	g_free (((MpPlaceholder *) p)->name);
}

GArray *
mp_placeholder_scan (const char *s, const char *what, GError **error)
{
	GArray *out = g_array_new (FALSE, TRUE, sizeof (MpPlaceholder));
	const char *q = s;

	g_array_set_clear_func (out, placeholder_clear);
	while ((q = strstr (q, "{{")) != NULL) {
		MpPlaceholder ph = { 0, 0, NULL, FALSE };
		const char *name, *close;

		ph.raw = q[2] == '{';
		name = q + (ph.raw ? 3 : 2);
		close = strstr (name, ph.raw ? "}}}" : "}}");
		if (close != NULL) {
			ph.name = g_strstrip (
				g_strndup (name, (gsize) (close - name)));
		}
		if (close == NULL || *ph.name == '\0' ||
		    strpbrk (ph.name, "{}") != NULL) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: a placeholder needs a name between "
				     "{{ and }}",
				     what);
			g_free (ph.name);
			g_array_unref (out);
			return NULL;
		}
		ph.start = (gsize) (q - s);
		ph.end = (gsize) (close - s) + (ph.raw ? 3 : 2);
		g_array_append_val (out, ph);
		q = s + ph.end;
	}
	return out;
}

/* A stand-in for placeholder @i: an atom, or an address where an address
 * must be. */
static char *
stand_in (guint i, gboolean address)
{
	return address ? g_strdup_printf ("mpph%uq7@mpph.invalid", i) :
			 g_strdup_printf ("mpph%uq7", i);
}

/* TRUE when @ph is a whole element of an address list */
static gboolean
alone (const char *value, const MpPlaceholder *ph)
{
	const char *b = value + ph->start;
	const char *a = value + ph->end;

	while (b > value && g_ascii_isspace (b[-1]))
		b--;
	while (*a && g_ascii_isspace (*a))
		a++;
	return (b == value || b[-1] == ',' || b[-1] == ':') &&
	       (*a == '\0' || *a == ',' || *a == ';');
}

char *
mp_placeholder_format_header (const char *name, const char *value,
			      GError **error)
{
	g_autoptr (GArray) phs = mp_placeholder_scan (value, name, error);
	g_autoptr (GString) v = NULL;
	g_autoptr (GPtrArray) stands = NULL;
	GString *out;
	gboolean addr = mp_field_is_address (name);
	gsize pos = 0;
	int angle = 0;
	char *formatted;

	if (phs == NULL)
		return NULL;
	if (phs->len == 0)
		return mp_field_format (name, value, error);
	v = g_string_new (NULL);
	stands = g_ptr_array_new_with_free_func (g_free);
	for (guint i = 0; i < phs->len; i++) {
		MpPlaceholder *ph = &g_array_index (phs, MpPlaceholder, i);
		const char *before = value + pos;
		char *s;

		for (const char *c = before; c < value + ph->start; c++)
			angle += *c == '<' ? 1 : *c == '>' ? -1 : 0;
		/* between < and >, or a whole element of the list, it is
		 * an address; next to an @, part of one; else a word */
		s = stand_in (i, addr && (angle > 0 || alone (value, ph)));
		g_string_append_len (v, before, (gssize) (ph->start - pos));
		g_string_append (v, s);
		g_ptr_array_add (stands, s);
		pos = ph->end;
	}
	g_string_append (v, value + pos);
	formatted = mp_field_format (name, v->str, error);
	if (formatted == NULL) {
		/* the error quotes the value: as the user wrote it */
		if (error && *error) {
			GString *m = g_string_new ((*error)->message);

			for (guint i = 0; i < phs->len; i++) {
				MpPlaceholder *ph =
					&g_array_index (phs, MpPlaceholder, i);
				g_autofree char *orig = g_strndup (
					value + ph->start, ph->end - ph->start);

				g_string_replace (m, stands->pdata[i], orig, 0);
			}
			g_free ((*error)->message);
			(*error)->message = g_string_free (m, FALSE);
		}
		return NULL;
	}
	/* the stand-ins are atoms: formatting kept them as they are */
	out = g_string_new (formatted);
	g_free (formatted);
	for (guint i = 0; i < phs->len; i++) {
		MpPlaceholder *ph = &g_array_index (phs, MpPlaceholder, i);
		g_autofree char *orig =
			g_strndup (value + ph->start, ph->end - ph->start);

		g_string_replace (out, stands->pdata[i], orig, 1);
	}
	return g_string_free (out, FALSE);
}
