/* mp-dkim-tags: DKIM's tag=value lists (RFC 6376 3.2), apart from
 * mp-dkim.c so that reading them (mime-header's warning) does not load
 * GnuTLS. */
#include "mp-dkim-tags.h"
#include "mp-dkim.h"

#include <string.h>

static gboolean
is_fws (int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void
tag_clear (gpointer p)
{
	MpDkimTag *t = p;

	g_free (t->name);
	g_free (t->value);
}

/* Parses "a=1; b=2;" into an array of Tag; NULL with *why set when it is
 * not a tag list (a tag without '=', a bad name, a repeated tag). */
GArray *
mp_dkim_tags_parse (const char *text, gsize len, const char **why)
{
	g_autoptr (GArray) tags = g_array_new (FALSE, TRUE, sizeof (MpDkimTag));
	gsize i = 0;

	g_array_set_clear_func (tags, tag_clear);
	while (i < len) {
		gsize ns, ne, vs, ve, end;
		MpDkimTag t = { 0 };
		guint k;

		for (end = i; end < len && text[end] != ';'; end++)
			;
		for (ns = i; ns < end && is_fws (text[ns]); ns++)
			;
		if (ns == end) {
			/* an empty spec: allowed only after the last ';' */
			if (end < len) {
				*why = "empty tag";
				return NULL;
			}
			break;
		}
		for (ne = ns; ne < end &&
			      (g_ascii_isalnum (text[ne]) || text[ne] == '_');
		     ne++)
			;
		if (ne == ns || !g_ascii_isalpha (text[ns])) {
			*why = "bad tag name";
			return NULL;
		}
		for (vs = ne; vs < end && is_fws (text[vs]); vs++)
			;
		if (vs == end || text[vs] != '=') {
			*why = "tag without '='";
			return NULL;
		}
		t.eq = ++vs;
		for (; vs < end && is_fws (text[vs]); vs++)
			;
		for (ve = end; ve > vs && is_fws (text[ve - 1]); ve--)
			;
		t.name = g_strndup (text + ns, ne - ns);
		for (k = 0; k < tags->len; k++)
			if (strcmp (g_array_index (tags, MpDkimTag, k).name,
				    t.name) == 0) {
				g_free (t.name);
				*why = "repeated tag";
				return NULL;
			}
		t.value = g_strndup (text + vs, ve - vs);
		if (strlen (t.value) != ve - vs) {
			tag_clear (&t);
			*why = "NUL in a tag";
			return NULL;
		}
		t.vstart = vs;
		t.vend = ve;
		g_array_append_val (tags, t);
		i = end + 1;
	}
	return g_steal_pointer (&tags);
}

const MpDkimTag *
mp_dkim_tags_find (GArray *tags, const char *name)
{
	guint i;

	for (i = 0; i < tags->len; i++)
		if (strcmp (g_array_index (tags, MpDkimTag, i).name, name) == 0)
			return &g_array_index (tags, MpDkimTag, i);
	return NULL;
}

const char *
mp_dkim_tags_value (GArray *tags, const char *name)
{
	const MpDkimTag *t = mp_dkim_tags_find (tags, name);

	return t ? t->value : NULL;
}

/* Splits an h= value into lowercase names.  NULL when a name is empty. */
char **
mp_dkim_tags_split_names (const char *value)
{
	g_auto (GStrv) parts = g_strsplit (value, ":", -1);
	g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

	for (char **p = parts; *p; p++) {
		char *s = g_strstrip (g_ascii_strdown (*p, -1));

		/* FWS inside a value: folded h= lists */
		for (char *q = s; *q; q++)
			if (is_fws (*q)) {
				g_free (s);
				return NULL;
			}
		if (*s == '\0') {
			g_free (s);
			return NULL;
		}
		g_ptr_array_add (names, s);
	}
	g_ptr_array_add (names, NULL);
	return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

gboolean
mp_dkim_headers_signed (MpHeaders *h, const char *name)
{
	for (guint i = 0; i < mp_headers_get_n_entries (h); i++) {
		const char *n = mp_headers_get_name (h, i);
		g_autofree char *value = NULL;
		g_autoptr (GArray) tags = NULL;
		g_auto (GStrv) names = NULL;
		g_autofree char *lower = NULL;
		const char *why, *hv;

		if (n == NULL || g_ascii_strcasecmp (n, "DKIM-Signature") != 0)
			continue;
		value = mp_headers_get_raw_value (h, i);
		tags = mp_dkim_tags_parse (value, strlen (value), &why);
		if (tags == NULL ||
		    (hv = mp_dkim_tags_value (tags, "h")) == NULL)
			continue;
		names = mp_dkim_tags_split_names (hv);
		lower = g_ascii_strdown (name, -1);
		if (names &&
		    g_strv_contains ((const char *const *) names, lower))
			return TRUE;
	}
	return FALSE;
}
