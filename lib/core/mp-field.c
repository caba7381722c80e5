#include "mp-field.h"
#include "mp-address.h"
#include "mp-charset.h"
#include "mp-date.h"
#include "mp-error.h"

#include <gio/gio.h>
#include <string.h>

/* ---- checks ------------------------------------------------------------ */

gboolean
mp_field_check_name (const char *name, GError **error)
{
	const char *p;

	if (name == NULL || *name == '\0') {
		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "empty header name");
		return FALSE;
	}
	/* RFC 5322 2.2: ftext = %d33-57 / %d59-126 */
	for (p = name; *p; p++) {
		guchar c = (guchar) *p;

		if (c < 33 || c > 126 || c == ':') {
			const char *shown = name; /* mp_cli_fail() escapes */

			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "\"%s\": invalid header name", shown);
			return FALSE;
		}
	}
	return TRUE;
}

gboolean
mp_field_check_value (const char *name, const char *value, gssize len,
		      GError **error)
{
	const char *end;
	gsize i, n;

	if (len < 0)
		len = (gssize) strlen (value);
	n = (gsize) len;
	for (i = 0; i < n; i++) {
		guchar c = (guchar) value[i];

		if (c == '\r' || c == '\n' || c == '\0') {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: value contains a %s (header "
				     "injection refused)",
				     name,
				     c == '\0' ? "NUL byte" :
				     c == '\r' ? "carriage return" :
						 "line feed");
			return FALSE;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: value contains control character "
				     "0x%02x",
				     name, c);
			return FALSE;
		}
	}
	if (!g_utf8_validate_len (value, n, &end)) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: value is not valid UTF-8 (at byte %u)", name,
			     (guint) (end - value));
		return FALSE;
	}
	return TRUE;
}

gboolean
mp_field_split (const char *field, char **name, char **value, GError **error)
{
	const char *colon = strchr (field, ':');
	g_autofree char *n = NULL;
	g_autofree char *v = NULL;

	if (colon == NULL) {
		const char *shown = field; /* mp_cli_fail() escapes */

		g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
			     "\"%s\": expected \"Name: value\"", shown);
		return FALSE;
	}
	n = g_strndup (field, (gsize) (colon - field));
	g_strchomp (n);
	if (!mp_field_check_name (n, error))
		return FALSE;
	v = g_strdup (colon + 1);
	g_strstrip (v);
	if (!mp_field_check_value (n, v, -1, error))
		return FALSE;
	*name = g_steal_pointer (&n);
	*value = g_steal_pointer (&v);
	return TRUE;
}

gboolean
mp_field_is_address (const char *name)
{
	static const char *const names[] = { "From",     "To",     "Cc", "Bcc",
					     "Reply-To", "Sender", NULL };
	guint i;

	if (g_ascii_strncasecmp (name, "Resent-", 7) == 0)
		name += 7;
	for (i = 0; names[i]; i++)
		if (g_ascii_strcasecmp (name, names[i]) == 0)
			return TRUE;
	return FALSE;
}

gboolean
mp_field_is_single (const char *name)
{
	/* RFC 5322 3.6 (max 1), RFC 2045 and 2183 for the MIME fields */
	static const char *const names[] = { "Date",
					     "From",
					     "Sender",
					     "Reply-To",
					     "To",
					     "Cc",
					     "Bcc",
					     "Message-ID",
					     "In-Reply-To",
					     "References",
					     "Subject",
					     "MIME-Version",
					     "Content-Type",
					     "Content-Transfer-Encoding",
					     "Content-ID",
					     "Content-Description",
					     "Content-Disposition",
					     NULL };

	for (guint i = 0; names[i]; i++)
		if (g_ascii_strcasecmp (name, names[i]) == 0)
			return TRUE;
	return FALSE;
}

static gboolean
is_msgid_header (const char *name)
{
	return g_ascii_strcasecmp (name, "Message-ID") == 0 ||
	       g_ascii_strcasecmp (name, "In-Reply-To") == 0 ||
	       g_ascii_strcasecmp (name, "References") == 0 ||
	       g_ascii_strcasecmp (name, "Resent-Message-ID") == 0;
}

/* ---- folding -------------------------------------------------------- */

/* Builds one header field, folding at whitespace before a token that
 * would pass MP_FIELD_FOLD_WIDTH (RFC 5322 2.2.3). */
typedef struct {
	GString *s;
	gsize col;
	gsize start_col; /* column after "Name:" */
	gsize width;
} Folder;

static void
folder_init (Folder *f, const char *name)
{
	f->s = g_string_new (name);
	g_string_append_c (f->s, ':');
	f->col = f->s->len;
	f->start_col = f->col;
	f->width = MP_FIELD_FOLD_WIDTH;
}

/* Appends @tok, preceded by @ws (a whitespace run, may be "" only for the
 * first token after a comma-less join) and folding there when needed. */
static void
folder_add (Folder *f, const char *ws, const char *tok, gsize len)
{
	gsize wslen = strlen (ws);

	if (wslen > 0 && f->col > f->start_col &&
	    f->col + wslen + len > f->width) {
		g_string_append_c (f->s, '\n');
		f->col = 0;
	}
	g_string_append (f->s, ws);
	g_string_append_len (f->s, tok, (gssize) len);
	f->col += wslen + len;
}

static char *
folder_finish (Folder *f)
{
	g_string_append_c (f->s, '\n');
	return g_string_free (f->s, FALSE);
}

/* ---- RFC 2047 encoded words ----------------------------------------- */

#define EW_OVERHEAD 12 /* "=?UTF-8?Q?" + "?=" */
#define EW_MAX 75      /* RFC 2047 2 */

static gboolean
q_literal (guchar c)
{
	/* RFC 2047 5(3): the characters safe in a phrase, also used in text */
	return g_ascii_isalnum (c) || c == '!' || c == '*' || c == '+' ||
	       c == '-' || c == '/';
}

static gsize
q_cost (guchar c)
{
	return q_literal (c) || c == ' ' ? 1 : 3;
}

/* Emits @text (UTF-8) as encoded words separated by folding whitespace,
 * each at most EW_MAX characters and never splitting a character. */
static void
emit_encoded (Folder *f, const char *ws, const char *text, gsize len)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *p = text, *end = text + len;
	gsize qlen = 0, blen = (len + 2) / 3 * 4, i;
	gboolean use_b;

	for (i = 0; i < len; i++)
		qlen += q_cost ((guchar) text[i]);
	/* Q keeps mostly-Latin text readable; B is shorter for the rest */
	use_b = qlen > blen + blen / 2;

	while (p < end) {
		gsize wslen = strlen (ws);
		gsize room = EW_MAX;
		gsize budget, used = 0;
		const char *q = p;
		GString *w;

		if (f->col + wslen < f->width &&
		    f->width - f->col - wslen < room)
			room = f->width - f->col - wslen;
		/* not even a few characters fit: start a new line */
		if (room < EW_OVERHEAD + 12 && f->col > f->start_col) {
			g_string_append_c (f->s, '\n');
			f->col = 0;
			if (wslen == 0)
				ws = " ";
			room = EW_MAX;
		}
		budget = room - EW_OVERHEAD;
		/* take whole characters while they fit */
		while (q < end) {
			const char *next = g_utf8_next_char (q);
			gsize clen = (gsize) (next - q), cost = 0;

			if (use_b) {
				cost = ((gsize) (next - p) + 2) / 3 * 4;
				if (cost > budget && q > p)
					break;
			} else {
				for (i = 0; i < clen; i++)
					cost += q_cost ((guchar) q[i]);
				if (used + cost > budget && q > p)
					break;
				used += cost;
			}
			q = next;
		}
		w = g_string_new (use_b ? "=?UTF-8?B?" : "=?UTF-8?Q?");
		if (use_b) {
			g_autofree char *b64 = g_base64_encode (
				(const guchar *) p, (gsize) (q - p));
			g_string_append (w, b64);
		} else {
			const char *c;

			for (c = p; c < q; c++) {
				guchar uc = (guchar) *c;

				if (uc == ' ')
					g_string_append_c (w, '_');
				else if (q_literal (uc))
					g_string_append_c (w, (char) uc);
				else {
					g_string_append_c (w, '=');
					g_string_append_c (w, hex[uc >> 4]);
					g_string_append_c (w, hex[uc & 15]);
				}
			}
		}
		g_string_append (w, "?=");
		folder_add (f, ws, w->str, w->len);
		g_string_free (w, TRUE);
		ws = " ";
		p = q;
	}
}

static gboolean
word_needs_encoding (const char *w, gsize len)
{
	gsize i;

	if (len > 900) /* RFC 5322 2.1.1: no line over 998 */
		return TRUE;
	for (i = 0; i < len; i++) {
		guchar c = (guchar) w[i];

		if (c >= 0x80 || c < 0x20 || c == 0x7f)
			return TRUE;
		/* an ASCII word a reader would decode must be encoded */
		if (c == '=' && i + 1 < len && w[i + 1] == '?')
			return TRUE;
	}
	return FALSE;
}

/* Appends unstructured @text word by word, encoding runs of words that
 * need it; whitespace between plain words is kept as written. */
static void
emit_text (Folder *f, const char *first_ws, const char *text)
{
	const char *p = text;
	g_autofree char *pending_ws = g_strdup (first_ws);

	while (*p) {
		const char *ws = p, *w, *we;
		g_autofree char *wsstr = NULL;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		wsstr = g_strndup (ws, (gsize) (p - ws));
		w = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		we = p;
		if (word_needs_encoding (w, (gsize) (we - w))) {
			/* extend the run over following words that need it */
			for (;;) {
				const char *s = p, *nw;

				while (*s == ' ' || *s == '\t')
					s++;
				if (*s == '\0')
					break;
				nw = s;
				while (*s && *s != ' ' && *s != '\t')
					s++;
				if (!word_needs_encoding (nw, (gsize) (s - nw)))
					break;
				p = we = s;
			}
			emit_encoded (f,
				      f->col == f->start_col ? " " :
				      *wsstr                 ? wsstr :
							       pending_ws,
				      w, (gsize) (we - w));
		} else {
			folder_add (f,
				    f->col == f->start_col ? " " :
				    *wsstr                 ? wsstr :
							     pending_ws,
				    w, (gsize) (we - w));
		}
		g_clear_pointer (&pending_ws, g_free);
		pending_ws = g_strdup (" ");
	}
}

char *
mp_field_format_text (const char *name, const char *value)
{
	Folder f;

	folder_init (&f, name);
	emit_text (&f, " ", value);
	if (f.col == f.start_col)
		g_string_append_c (f.s, ' ');
	return folder_finish (&f);
}

/* ---- phrases and addresses ------------------------------------------ */

static gboolean
needs_encoded_phrase (const char *phrase)
{
	/* a quoted string cannot be folded: encode one that would make a
	 * line longer than RFC 5322 2.1.1 allows */
	return !mp_charset_is_printable_ascii (phrase) ||
	       strstr (phrase, "=?") != NULL || strlen (phrase) > 900;
}

char *
mp_field_encode_phrase (const char *phrase)
{
	gboolean atoms = TRUE;
	const char *p;
	GString *s;

	if (needs_encoded_phrase (phrase)) {
		/* an unbounded width: the caller folds between words */
		Folder f = { g_string_new (NULL), 0, 0, G_MAXSIZE };

		emit_encoded (&f, "", phrase, strlen (phrase));
		return g_string_free (f.s, FALSE);
	}
	for (p = phrase; *p; p++)
		if (!mp_address_is_atext ((guchar) *p) &&
		    !(*p == ' ' && p != phrase && p[1] != '\0' && p[1] != ' '))
			atoms = FALSE;
	if (atoms && *phrase)
		return g_strdup (phrase);
	s = g_string_new ("\"");
	for (p = phrase; *p; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_c (s, '\\');
		g_string_append_c (s, *p);
	}
	g_string_append_c (s, '"');
	return g_string_free (s, FALSE);
}

/* Appends a display name, folding between its encoded words or atoms. */
static void
emit_phrase (Folder *f, const char *ws, const char *phrase)
{
	g_autofree char *enc = NULL;

	if (needs_encoded_phrase (phrase)) {
		emit_encoded (f, ws, phrase, strlen (phrase));
		return;
	}
	enc = mp_field_encode_phrase (phrase);
	folder_add (f, ws, enc, strlen (enc));
}

GPtrArray *
mp_field_parse_addresses (const char *name, const char *value, GError **error)
{
	if (!mp_field_check_value (name, value, -1, error))
		return NULL;
	return mp_address_read_list (name, value, error);
}

static void
emit_mailbox (Folder *f, const char *ws, const MpAddress *a, gboolean last)
{
	g_autofree char *tok = NULL;

	/* the addr-spec as mp_address_check_spec() left it: IDN domains as
	 * the A-labels it checked */
	if (*a->name) {
		emit_phrase (f, ws, a->name);
		tok = g_strconcat ("<", a->spec, ">", last ? "" : ",", NULL);
		folder_add (f, " ", tok, strlen (tok));
	} else {
		tok = g_strconcat (a->spec, last ? "" : ",", NULL);
		folder_add (f, ws, tok, strlen (tok));
	}
}

static void
emit_list (Folder *f, GPtrArray *list, gboolean last_list)
{
	for (guint i = 0; i < list->len; i++) {
		const MpAddress *a = list->pdata[i];
		gboolean last = last_list && i == list->len - 1;

		if (a->members) {
			emit_phrase (f, " ", a->name);
			/* RFC 2047 5(3): an encoded word ends at whitespace */
			if (needs_encoded_phrase (a->name))
				folder_add (f, " ", ":", 1);
			else
				folder_add (f, "", ":", 1);
			emit_list (f, a->members, TRUE);
			folder_add (f, "", last ? ";" : ";,", last ? 1 : 2);
		} else {
			emit_mailbox (f, " ", a, last);
		}
	}
}

char *
mp_field_format_address_lists (const char *name, GPtrArray *const *lists,
			       guint n, guint *n_mailboxes)
{
	guint count = 0, i;
	Folder f;

	for (i = 0; i < n; i++)
		count += mp_address_list_count (lists[i]);
	if (n_mailboxes)
		*n_mailboxes = count;
	folder_init (&f, name);
	for (i = 0; i < n; i++)
		emit_list (&f, lists[i], i == n - 1);
	return folder_finish (&f);
}

char *
mp_field_format_addresses (const char *name, const char *const *values,
			   guint *n_mailboxes, GError **error)
{
	g_autoptr (GPtrArray) lists = g_ptr_array_new_with_free_func (
		(GDestroyNotify) g_ptr_array_unref);

	for (guint i = 0; values[i]; i++) {
		GPtrArray *l =
			mp_field_parse_addresses (name, values[i], error);

		if (l == NULL)
			return NULL;
		g_ptr_array_add (lists, l);
	}
	return mp_field_format_address_lists (name,
					      (GPtrArray *const *) lists->pdata,
					      lists->len, n_mailboxes);
}

/* ---- message identifiers -------------------------------------------- */

static gboolean
append_msgids (Folder *f, const char *name, const char *value, GError **error)
{
	g_auto (GStrv) parts = g_strsplit_set (value, " \t,", -1);
	guint i;

	for (i = 0; parts[i]; i++) {
		const char *id = parts[i];
		gsize len = strlen (id);
		g_autofree char *inner = NULL;
		g_autofree char *tok = NULL;
		const char *at;

		if (len == 0)
			continue;
		if (id[0] == '<' && id[len - 1] == '>' && len >= 2)
			inner = g_strndup (id + 1, len - 2);
		else
			inner = g_strdup (id);
		at = strchr (inner, '@');
		/* RFC 5322 3.6.4: id-left "@" id-right */
		if (at == NULL || at == inner || at[1] == '\0' ||
		    strlen (inner) > 900 || strchr (at + 1, '@') ||
		    strpbrk (inner, "<>\"\\()") ||
		    !mp_charset_is_printable_ascii (inner)) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: \"%s\": not a message identifier "
				     "(expected <left@right>)",
				     name, id);
			return FALSE;
		}
		tok = g_strdup_printf ("<%s>", inner);
		folder_add (f, " ", tok, strlen (tok));
	}
	return TRUE;
}

char *
mp_field_format_msgids (const char *name, const char *const *values,
			GError **error)
{
	Folder f;
	guint i;

	folder_init (&f, name);
	for (i = 0; values[i]; i++) {
		if (!mp_field_check_value (name, values[i], -1, error) ||
		    !append_msgids (&f, name, values[i], error)) {
			g_string_free (f.s, TRUE);
			return NULL;
		}
	}
	if (f.col == f.start_col) {
		g_string_free (f.s, TRUE);
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: no message identifier given", name);
		return NULL;
	}
	return folder_finish (&f);
}

/* Whether an RFC 5322 date names its zone: the zone is its last token
 * (a comment may follow), the time the token before. */
static gboolean
names_zone (const char *value)
{
	g_autofree char *v = g_strstrip (g_strdup (value));
	const char *last = strrchr (v, ' ');

	last = last ? last + 1 : v;
	return last[0] == '(' || strchr (last, ':') == NULL;
}

/* A date without an offset, and @SECONDS, are local time as TZ says
 * (date(1) reads them so) */
GDateTime *
mp_field_parse_date (const char *value)
{
	g_autoptr (GTimeZone) local = g_time_zone_new_local ();
	g_autoptr (GDateTime) utc = NULL;
	char *end;

	if (value[0] == '@') {
		gint64 secs = g_ascii_strtoll (value + 1, &end, 10);

		if (end != value + 1 && *end == '\0')
			return g_date_time_new_from_unix_local (secs);
		return NULL;
	}
	{
		GDateTime *d = g_date_time_new_from_iso8601 (value, local);

		if (d)
			return d;
	}
	utc = mp_date_parse (value);
	if (utc == NULL || names_zone (value))
		return g_steal_pointer (&utc);
	/* GMime reads a date without a zone as UTC */
	return g_date_time_new (
		local, g_date_time_get_year (utc), g_date_time_get_month (utc),
		g_date_time_get_day_of_month (utc), g_date_time_get_hour (utc),
		g_date_time_get_minute (utc), g_date_time_get_seconds (utc));
}

/* RFC 5322 3.3: a date-time, written the way it wants whatever form
 * we could read */
static char *
format_date (const char *name, const char *value, GError **error)
{
	g_autoptr (GDateTime) d = mp_field_parse_date (value);
	g_autofree char *s = NULL;

	if (d == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: \"%s\": not a date (RFC 5322)", name, value);
		return NULL;
	}
	s = mp_date_format_padded (d);
	return g_strdup_printf ("%s: %s\n", name, s);
}

char *
mp_field_format (const char *name, const char *value, GError **error)
{
	const char *values[] = { value, NULL };

	if (!mp_field_check_name (name, error) ||
	    !mp_field_check_value (name, value, -1, error))
		return NULL;
	if (mp_field_is_address (name))
		return mp_field_format_addresses (name, values, NULL, error);
	if (is_msgid_header (name))
		return mp_field_format_msgids (name, values, error);
	if (g_ascii_strcasecmp (name, "Date") == 0 ||
	    g_ascii_strcasecmp (name, "Resent-Date") == 0)
		return format_date (name, value, error);
	return mp_field_format_text (name, value);
}
