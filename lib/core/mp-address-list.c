/* mp-address-list: the address lists we write, read without GMime into
 * MpAddress (mp_address_read_list()): display names decoded as GMime
 * decoded them, the list's shape checked without recursion
 * (scan_list()), then its mailboxes read and each addr-spec checked
 * (mp_address_check_spec()); their count, and the domain a Message-ID
 * takes from an addr-spec. */
#include "mp-address.h"
#include "mp-charset.h"
#include "mp-error.h"

#include <string.h>

/* ---- lists we write, read without GMime: display names --------------- */

static void
address_free (gpointer p)
{
	MpAddress *a = p;

	g_free (a->name);
	g_free (a->spec);
	if (a->members)
		g_ptr_array_unref (a->members);
	g_free (a);
}

static GPtrArray *
address_list_new (void)
{
	return g_ptr_array_new_with_free_func (address_free);
}

/* An atom character as GMime's phrase tokenizer reads it: not a
 * special, a blank or a control character (8-bit bytes are atoms). */
static gboolean
phrase_atom (guchar c)
{
	return c >= 0x80 ||
	       (c > 0x20 && c != 0x7f && strchr ("()<>@,;:\\\".[]", c) == NULL);
}

/* The payload of the encoded word @w (@len bytes, "=?cs?E?text?=")
 * decoded to bytes in *@raw, its charset in *@cs (newly allocated);
 * FALSE when it is not one. */
static gboolean
decode_word (const char *w, gsize len, GString *raw, char **cs)
{
	const char *q, *payload, *end = w + len - 2, *p;
	char *star;
	char enc;

	if (len < 7 || strncmp (w, "=?", 2) != 0 ||
	    strncmp (end, "?=", 2) != 0 || w[2] == '?' || w[2] == '*')
		return FALSE;
	q = memchr (w + 2, '?', len - 2);
	if (q == NULL || q[2] != '?')
		return FALSE;
	enc = g_ascii_toupper (q[1]);
	if (enc != 'B' && enc != 'Q')
		return FALSE;
	payload = q + 3;
	if (payload > end)
		return FALSE;
	*cs = g_strndup (w + 2, (gsize) (q - (w + 2)));
	if ((star = strchr (*cs, '*')) != NULL) /* RFC 2231 5: a language */
		*star = '\0';
	if (enc == 'B') {
		g_autofree char *b =
			g_strndup (payload, (gsize) (end - payload));
		gsize n = 0;
		guchar *d = g_base64_decode (b, &n);

		g_string_append_len (raw, (const char *) d, (gssize) n);
		g_free (d);
		return TRUE;
	}
	for (p = payload; p < end; p++) {
		if (*p == '_') {
			g_string_append_c (raw, ' ');
		} else if (*p == '=' && p + 2 < end + 1 &&
			   g_ascii_isxdigit (p[1]) && g_ascii_isxdigit (p[2])) {
			g_string_append_c (
				raw, (char) (g_ascii_xdigit_value (p[1]) * 16 +
					     g_ascii_xdigit_value (p[2])));
			p += 2;
		} else {
			g_string_append_c (raw, *p);
		}
	}
	return TRUE;
}

/* Appends the bytes of encoded words in @cs, converted to UTF-8. */
static void
append_decoded (GString *out, GString *raw, const char *cs)
{
	char *utf8 = NULL;

	if (raw->len == 0)
		return;
	if (g_ascii_strcasecmp (cs, "utf-8") != 0 &&
	    g_ascii_strcasecmp (cs, "us-ascii") != 0)
		utf8 = g_convert_with_fallback (
			raw->str, (gssize) raw->len, "UTF-8",
			mp_charset_iconv_name (cs), "?", NULL, NULL, NULL);
	if (utf8 != NULL) {
		g_string_append (out, utf8);
		g_free (utf8);
	} else {
		/* as GMime converts: '?' for each byte that is not UTF-8 */
		const char *p = raw->str, *end = raw->str + raw->len, *bad;

		while (!g_utf8_validate_len (p, (gsize) (end - p), &bad)) {
			g_string_append_len (out, p, bad - p);
			g_string_append_c (out, '?');
			p = bad + 1;
		}
		g_string_append_len (out, p, end - p);
	}
	g_string_truncate (raw, 0);
}

/* A phrase as GMime decodes it: words of atom characters (an encoded
 * word ends at its "?=" even when text follows) and runs of other
 * characters; encoded words decoded, the blanks between two of them
 * dropped, adjacent ones in one charset joined before conversion. */
static char *
decode_phrase (const char *s)
{
	GString *out = g_string_new (NULL);
	g_autoptr (GString) raw = g_string_new (NULL);
	g_autofree char *raw_cs = NULL;
	gboolean last_encoded = FALSE;
	const char *p = s;

	while (*p) {
		const char *ws = p, *w;
		char *cs = NULL;

		while (*p == ' ' || *p == '\t')
			p++;
		w = p;
		if (!phrase_atom ((guchar) *p)) {
			append_decoded (out, raw, raw_cs ? raw_cs : "");
			while (*p && *p != ' ' && *p != '\t' &&
			       !phrase_atom ((guchar) *p))
				p++;
			g_string_append_len (out, ws, p - ws);
			last_encoded = FALSE;
			continue;
		}
		if (strncmp (p, "=?", 2) == 0) {
			const char *q = p + 2;

			while (*q && *q != '?')
				q++;
			if (q[0] == '?' && q[1] && strchr ("BbQq", q[1]) &&
			    q[2] == '?') {
				const char *e = strstr (q + 3, "?=");

				p = e ? e + 2 : w + 2;
				if (e == NULL)
					goto plain;
			} else {
				p = q;
				goto plain;
			}
		} else {
plain:
			while (phrase_atom ((guchar) *p) &&
			       strncmp (p, "=?", 2) != 0)
				p++;
		}
		{
			g_autoptr (GString) bytes = g_string_new (NULL);

			if (decode_word (w, (gsize) (p - w), bytes, &cs)) {
				if (raw_cs &&
				    g_ascii_strcasecmp (raw_cs, cs) != 0)
					append_decoded (out, raw, raw_cs);
				if (!last_encoded) {
					append_decoded (out, raw,
							raw_cs ? raw_cs : "");
					g_string_append_len (out, ws, w - ws);
				}
				g_free (raw_cs);
				raw_cs = cs;
				g_string_append_len (raw, bytes->str,
						     (gssize) bytes->len);
				last_encoded = TRUE;
			} else {
				append_decoded (out, raw, raw_cs ? raw_cs : "");
				g_string_append_len (out, ws, p - ws);
				last_encoded = FALSE;
			}
		}
	}
	append_decoded (out, raw, raw_cs ? raw_cs : "");
	return g_string_free (out, FALSE);
}

/* A display name from its text as written (@len bytes): quotes and
 * escapes removed, encoded words decoded, blanks trimmed. */
static char *
decode_display (const char *s, gsize len)
{
	char *buf = g_strndup (s, len), *o = buf, *dec;
	const char *p;
	gboolean escaped = FALSE;

	for (p = buf; *p; p++) {
		if (*p == '\\') {
			if (escaped)
				*o++ = *p;
			escaped = !escaped;
		} else if (*p == '"') {
			if (escaped)
				*o++ = *p;
			escaped = FALSE;
		} else {
			*o++ = *p;
			escaped = FALSE;
		}
	}
	*o = '\0';
	dec = decode_phrase (buf);
	g_free (buf);
	return g_strstrip (dec);
}

/* The display name of the item @s..@e (a mailbox, or a group's name
 * before its ':'): with @angle (the item has an angle-addr) the phrase
 * from its first word to its last (comments between words kept, those
 * around left out); else the comment after the addr-spec. */
static char *
item_name (const char *s, const char *e, gboolean angle)
{
	const char *p, *first = NULL, *last = NULL, *comment = NULL;
	const char *cend = NULL;
	gboolean quoted = FALSE, escaped = FALSE;
	int depth = 0;

	for (p = s; p < e; p++) {
		char c = *p;

		if (escaped) {
			escaped = FALSE;
		} else if (c == '\\') {
			escaped = TRUE;
		} else if (quoted) {
			quoted = c != '"';
		} else if (depth > 0) {
			depth += c == '(' ? 1 : c == ')' ? -1 : 0;
			if (depth == 0 && comment && cend == NULL)
				cend = p;
			continue;
		} else if (c == '(') {
			depth = 1;
			if (last && (comment == NULL || cend)) {
				comment = p + 1;
				cend = NULL;
			}
			continue;
		} else if (c == '"') {
			quoted = TRUE;
		} else if (c == '<' && angle) {
			break;
		} else if (c == ' ' || c == '\t') {
			continue;
		}
		/* a character of a word (or of the addr-spec) */
		if (first == NULL)
			first = p;
		last = p + 1;
		if (!angle)
			comment = cend = NULL;
	}
	if (angle)
		return first ? decode_display (first, (gsize) (last - first)) :
			       g_strdup ("");
	if (comment && cend)
		return decode_display (comment, (gsize) (cend - comment));
	return g_strdup ("");
}

static gboolean
has_domain (const char *spec)
{
	const char *at = strrchr (spec, '@'), *q = strrchr (spec, '"');

	return at != NULL && (q == NULL || q < at);
}

/* A display name with an unquoted comma ("Doe, John <j@example.com>"):
 * words without a domain, then more of them up to an address in angle
 * brackets, read as one mailbox (GMime did so), cannot be read as their
 * writer meant them.  FALSE when @flat (the mailboxes in order, with
 * whether each had angle brackets) holds one. */
static gboolean
domains_given (GPtrArray *flat, GArray *angles)
{
	for (guint i = 0; i < flat->len; i++) {
		const MpAddress *a = flat->pdata[i];
		guint j;

		if (g_array_index (angles, gboolean, i) || has_domain (a->spec))
			continue;
		for (j = i + 1; j < flat->len; j++) {
			const MpAddress *b = flat->pdata[j];

			if (g_array_index (angles, gboolean, j))
				return FALSE;
			if (has_domain (b->spec))
				break;
		}
	}
	return TRUE;
}

/* ---- the shape of a list we write, read without recursion ------------ */

/* The shape of each comma-separated item of a list we write, read
 * without recursion: quotes, comments and angle brackets balanced, comments
 * nested at most MP_ADDRESS_MAX_NESTING deep, groups not nested, and an
 * address (bare or in <>) without whitespace outside quotes.  Appends
 * the addr-spec of each mailbox, as written but for comments, to @specs.
 * Errors: MP_ERROR_DATA naming @header. */
/* What scan_list() knows of one item of an address list. */
typedef struct {
	gboolean quoted, escaped, seen_angle, in_angle, after_angle, text;
	gboolean space_after_text, bad;
	gboolean words; /* text, blank, text */
	int depth;
	GString *bare;  /* the addr-spec written bare, comments left out */
	GString *angle; /* the addr-spec in <> */
} Item;

/* Reads C when it is escaped, a backslash, inside quotes, inside or
 * opening a comment, or an opening quote, into @it; returns 1 when it
 * took C, -1 when comments now nest deeper than MP_ADDRESS_MAX_NESTING,
 * 0 when C is for the caller. */
static int
scan_item_quoting (Item *it, char c)
{
	GString *spec = it->in_angle ? it->angle : it->bare;

	if (it->escaped) {
		it->escaped = FALSE;
		if (it->depth == 0)
			g_string_append_c (spec, c);
		return 1;
	}
	if (c == '\\') {
		it->escaped = TRUE;
		if (it->depth == 0)
			g_string_append_c (spec, c);
		return 1;
	}
	if (it->quoted) {
		if (c == '"')
			it->quoted = FALSE;
		g_string_append_c (spec, c);
		return 1;
	}
	if (it->depth > 0) {
		it->depth += c == '(' ? 1 : c == ')' ? -1 : 0;
		return it->depth > MP_ADDRESS_MAX_NESTING ? -1 : 1;
	}
	if (c == '(') {
		it->depth++;
		return 1;
	}
	if (c == '"') {
		it->quoted = TRUE;
		if (!it->in_angle) {
			it->words |= it->space_after_text;
			it->text = TRUE;
		}
		g_string_append_c (spec, c);
		return 1;
	}
	return 0;
}

/* Reads C inside angle brackets into @it: '>' closes them, a blank or
 * another '<' makes the item bad, anything else is the addr-spec's. */
static void
scan_item_angle (Item *it, char c)
{
	if (c == '>') {
		it->in_angle = FALSE;
		it->after_angle = TRUE;
	} else if (c == ' ' || c == '\t' || c == '<')
		it->bad = TRUE;
	else
		g_string_append_c (it->angle, c);
}

/* Reads C (not ',' or ';') outside quotes, comments and angle brackets
 * into @it: ':' before any '<' starts a group (*@in_group), '<' opens
 * angle brackets, a blank ends a word, anything else is bare text.
 * Errors: MP_ERROR_DATA for a group inside a group. */
static gboolean
scan_item_plain (const char *header, const char *shown, Item *it, char c,
		 gboolean *in_group, GError **error)
{
	if (c == ':' && !it->seen_angle) {
		if (*in_group) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: \"%s\": a group "
				     "inside a group",
				     header, shown);
			return FALSE;
		}
		/* a group's display name */
		*in_group = TRUE;
		it->text = it->space_after_text = it->words = FALSE;
		g_string_truncate (it->bare, 0);
		return TRUE;
	}
	if (c == '<') {
		if (it->seen_angle)
			it->bad = TRUE;
		it->seen_angle = it->in_angle = TRUE;
		return TRUE;
	}
	if (c == ' ' || c == '\t') {
		if (it->text)
			it->space_after_text = TRUE;
		return TRUE;
	}
	if (it->after_angle || c == '>')
		it->bad = TRUE;
	it->words |= it->space_after_text;
	it->text = TRUE;
	g_string_append_c (it->bare, c);
	return TRUE;
}

/* Reads one item of an address list from *@pp up to the ',' or ';' that
 * ends it, the end of the value, or comments nested deeper than
 * MP_ADDRESS_MAX_NESTING; *@pp is left there.  A ':' starts a group
 * (*@in_group).  Errors: MP_ERROR_DATA for a group inside a group. */
static gboolean
scan_item (const char *header, const char *shown, const char **pp, Item *it,
	   gboolean *in_group, GError **error)
{
	const char *p = *pp;

	for (; *p; p++) {
		char c = *p;
		int took = scan_item_quoting (it, c);

		if (took < 0)
			break;
		if (took > 0)
			continue;
		if (it->in_angle) {
			scan_item_angle (it, c);
			continue;
		}
		if (c == ',' || c == ';')
			break;
		if (!scan_item_plain (header, shown, it, c, in_group, error))
			return FALSE;
	}
	*pp = p;
	return TRUE;
}

static gboolean
scan_list (const char *header, const char *value, GPtrArray *specs,
	   GError **error)
{
	const char *p = value;
	gboolean in_group = FALSE;
	const char *shown = value; /* mp_cli_fail() escapes */

	for (;;) {
		g_autoptr (GString) bare = g_string_new (NULL);
		g_autoptr (GString) angle = g_string_new (NULL);
		Item item = { .bare = bare, .angle = angle };
		const Item *it = &item;

		if (!scan_item (header, shown, &p, &item, &in_group, error))
			return FALSE;
		if (it->depth > MP_ADDRESS_MAX_NESTING) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: comments nested deeper than %d",
				     header, MP_ADDRESS_MAX_NESTING);
			return FALSE;
		}
		/* a bare addr-spec holds no whitespace */
		if (it->quoted || it->depth > 0 || it->in_angle || it->bad ||
		    (!it->seen_angle && it->words))
			goto unreadable;
		if (it->seen_angle || it->text)
			g_ptr_array_add (specs,
					 g_strdup (it->seen_angle ? angle->str :
								    bare->str));
		if (*p == ';') {
			if (!in_group) {
				/* RFC 5322 3.4: address-list */
				g_set_error (error, MP_ERROR, MP_ERROR_DATA,
					     "%s: \"%s\": separate addresses "
					     "with commas (a@example.org, "
					     "b@example.org); ';' only ends "
					     "a group (name: a, b;)",
					     header, shown);
				return FALSE;
			}
			in_group = FALSE;
		}
		if (*p == '\0')
			break;
		p++;
	}
	if (!in_group)
		return TRUE;
unreadable:
	g_set_error (error, MP_ERROR, MP_ERROR_DATA,
		     "%s: \"%s\": cannot parse the address list", header,
		     shown);
	return FALSE;
}

/* ---- lists we write: the mailboxes ----------------------------------- */

/* Where mp_address_read_list() is in the value: the list it builds, the
 * group (or list) it adds to, the item being read and what is known of
 * it. */
typedef struct {
	GPtrArray *specs;  /* the addr-specs scan_list() found, in order */
	guint index;       /* of the next one */
	GPtrArray *list;   /* the result */
	GPtrArray *cur;    /* list, or the members of the open group */
	GPtrArray *flat;   /* the mailboxes, in order */
	GArray *angles;    /* whether each had angle brackets */
	const char *start; /* of the item */
	gboolean quoted, escaped, angle, word;
	int depth;
} ListReader;

/* Reads C when it is escaped, a backslash, inside quotes or inside or
 * opening a comment; returns TRUE when it took C, FALSE when C is for the
 * caller. */
static gboolean
read_list_quoting (ListReader *r, char c)
{
	if (r->escaped) {
		r->escaped = FALSE;
		r->word |= r->depth == 0;
		return TRUE;
	}
	if (c == '\\') {
		r->escaped = TRUE;
		return TRUE;
	}
	if (r->quoted) {
		r->quoted = c != '"';
		return TRUE;
	}
	if (r->depth > 0) {
		r->depth += c == '(' ? 1 : c == ')' ? -1 : 0;
		return TRUE;
	}
	if (c == '(') {
		r->depth = 1;
		return TRUE;
	}
	return FALSE;
}

/* Opens a group named by the text from r->start to the ':' at P: its
 * mailboxes go into its members until a ';'. */
static void
read_list_group (ListReader *r, const char *p)
{
	MpAddress *g = g_new0 (MpAddress, 1);

	g->name = item_name (r->start, p, TRUE);
	g->members = address_list_new ();
	g_ptr_array_add (r->list, g);
	r->cur = g->members;
	r->start = p + 1;
	r->word = FALSE;
}

/* Ends the item from r->start to P: when it holds a word and an addr-spec
 * is left, adds the mailbox (its display name, the next addr-spec). */
static void
read_list_item (ListReader *r, const char *p)
{
	MpAddress *a;

	if (r->index >= r->specs->len || !r->word)
		return;
	a = g_new0 (MpAddress, 1);
	a->name = item_name (r->start, p, r->angle);
	a->spec = g_strdup (r->specs->pdata[r->index++]);
	g_ptr_array_add (r->cur, a);
	g_ptr_array_add (r->flat, a);
	g_array_append_val (r->angles, r->angle);
}

/* Replaces the addr-spec of each mailbox in FLAT by its checked form;
 * FALSE with @error (naming NAME) at the first that is refused. */
static gboolean
read_list_check_specs (const char *name, GPtrArray *flat, GError **error)
{
	for (guint i = 0; i < flat->len; i++) {
		MpAddress *a = flat->pdata[i];
		char *checked = mp_address_check_spec (name, a->spec, error);

		if (checked == NULL)
			return FALSE;
		g_free (a->spec);
		a->spec = checked;
	}
	return TRUE;
}

GPtrArray *
mp_address_read_list (const char *name, const char *value, GError **error)
{
	g_autoptr (GPtrArray) specs = g_ptr_array_new_with_free_func (g_free);
	g_autoptr (GPtrArray) list = address_list_new ();
	g_autoptr (GPtrArray) flat = g_ptr_array_new (); /* the mailboxes */
	g_autoptr (GArray) angles =
		g_array_new (FALSE, FALSE, sizeof (gboolean));
	ListReader r = { .specs = specs,
			 .list = list,
			 .cur = list,
			 .flat = flat,
			 .angles = angles,
			 .start = value };

	if (!scan_list (name, value, specs, error))
		return NULL;
	for (const char *p = value;; p++) {
		char c = *p;

		if (c != '\0') {
			if (read_list_quoting (&r, c))
				continue;
			if (c == '"')
				r.quoted = TRUE;
			if (c == '<')
				r.angle = TRUE;
			if (c != ' ' && c != '\t' && c != ',' && c != ';' &&
			    c != ':')
				r.word = TRUE;
			if (c == ':' && !r.angle && r.cur == list) {
				read_list_group (&r, p);
				continue;
			}
			if (c != ',' && c != ';')
				continue;
		}
		read_list_item (&r, p);
		if (c == ';')
			r.cur = list;
		r.angle = r.word = FALSE;
		r.start = p + 1;
		if (c == '\0')
			break;
	}
	if (list->len == 0 || r.index != specs->len ||
	    !domains_given (flat, angles)) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: \"%s\": cannot parse the address list", name,
			     value);
		return NULL;
	}
	if (!read_list_check_specs (name, flat, error))
		return NULL;
	return g_steal_pointer (&list);
}

guint
mp_address_list_count (GPtrArray *list)
{
	guint count = 0;

	for (guint i = 0; i < list->len; i++) {
		MpAddress *a = list->pdata[i];

		count += a->members ? mp_address_list_count (a->members) : 1;
	}
	return count;
}

char *
mp_address_msgid_domain (const char *spec, const char *fallback)
{
	const char *at = spec ? strrchr (spec, '@') : NULL;

	if (at && at[1] && at[1] != '[' && g_str_is_ascii (at + 1))
		return g_strdup (at + 1);
	return g_strdup (fallback);
}
