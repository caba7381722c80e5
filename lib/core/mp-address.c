#include "mp-address.h"
#include "mp-charset.h"
#include "mp-error.h"
#include "mp-rfc2047.h"

#include <gio/gio.h>
#include <string.h>

/* ---- address lists we write: checked, IDN domains as A-labels ------- */

gboolean
mp_address_is_atext (guchar c)
{
	/* RFC 5322 3.2.3 */
	return g_ascii_isalnum (c) ||
	       (c != 0 && strchr ("!#$%&'*+-/=?^_`{|}~", c));
}

static gboolean
is_dot_atom (const char *s, gsize len)
{
	gsize i;

	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return FALSE;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return FALSE;
		} else if (!mp_address_is_atext ((guchar) s[i])) {
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
valid_hostname (const char *d)
{
	const char *label = d;
	gsize total = strlen (d);

	if (total == 0 || total > 253)
		return FALSE;
	for (;;) {
		const char *dot = strchr (label, '.');
		gsize n = dot ? (gsize) (dot - label) : strlen (label);
		gsize i;

		if (n == 0 || n > 63 || label[0] == '-' || label[n - 1] == '-')
			return FALSE;
		for (i = 0; i < n; i++)
			if (!g_ascii_isalnum (label[i]) && label[i] != '-' &&
			    label[i] != '_')
				return FALSE;
		if (!dot)
			return TRUE;
		label = dot + 1;
	}
}

/* RFC 5891 4.2.3: every A-label (xn--, in any case) of @domain decodes to
 * a U-label that encodes back to it; else no one can deliver to it. */
static gboolean
valid_a_labels (const char *domain)
{
	g_auto (GStrv) labels = g_strsplit (domain, ".", -1);

	for (guint i = 0; labels[i]; i++) {
		g_autofree char *u = NULL;
		g_autofree char *back = NULL;
		g_autofree char *lower = NULL;

		if (g_ascii_strncasecmp (labels[i], "xn--", 4) != 0)
			continue;
		u = g_hostname_to_unicode (labels[i]);
		back = u && *u ? g_hostname_to_ascii (u) : NULL;
		lower = g_ascii_strdown (labels[i], -1);
		if (back == NULL || strcmp (back, lower) != 0)
			return FALSE;
	}
	return TRUE;
}

char *
mp_address_check_spec (const char *header, const char *addr, GError **error)
{
	const char *at = strrchr (addr, '@');
	g_autofree char *local = NULL;
	g_autofree char *domain = NULL;

	if (at == NULL || at == addr || at[1] == '\0') {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: \"%s\": not an address (expected "
			     "user@domain)",
			     header, addr);
		return NULL;
	}
	local = g_strndup (addr, (gsize) (at - addr));
	/* RFC 5321 4.5.3.1.1 */
	if (strlen (local) > 64) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: \"%s\": the part before @ is longer than 64 "
			     "octets",
			     header, addr);
		return NULL;
	}
	if (!mp_charset_is_printable_ascii (local)) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: \"%s\": the part before @ must be ASCII "
			     "(UTF-8 local parts need RFC 6532, not "
			     "supported)",
			     header, addr);
		return NULL;
	}
	if (!is_dot_atom (local, strlen (local)) &&
	    !(local[0] == '"' && strlen (local) >= 2 &&
	      local[strlen (local) - 1] == '"')) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: \"%s\": invalid local part", header, addr);
		return NULL;
	}
	if (at[1] == '[') {
		domain = g_strdup (at + 1);
		if (domain[strlen (domain) - 1] != ']' ||
		    !mp_charset_is_printable_ascii (domain)) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: \"%s\": invalid domain literal",
				     header, addr);
			return NULL;
		}
	} else {
		/* RFC 5891: IDN domains travel as A-labels */
		domain = g_hostname_to_ascii (at + 1);
		if (domain == NULL || !valid_hostname (domain) ||
		    !valid_a_labels (domain)) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: \"%s\": invalid domain", header,
				     addr);
			return NULL;
		}
	}
	return g_strdup_printf ("%s@%s", local, domain);
}

#define SPEC_KEY "mp-addr-spec"

/* Checks each mailbox of @list, in order, against the addr-spec read
 * from the text (@specs, from @index on) and keeps the normalized one on
 * it (mp_address_mailbox_addr()). */
static gboolean
validate_list (const char *header, InternetAddressList *list, GPtrArray *specs,
	       guint *index, gboolean in_group, GError **error)
{
	int i, n = internet_address_list_length (list);

	for (i = 0; i < n; i++) {
		InternetAddress *a =
			internet_address_list_get_address (list, i);

		if (INTERNET_ADDRESS_IS_GROUP (a)) {
			InternetAddressList *members =
				internet_address_group_get_members (
					INTERNET_ADDRESS_GROUP (a));
			if (in_group) {
				g_set_error (
					error, MP_ERROR, MP_ERROR_DATA,
					"%s: nested groups are not allowed",
					header);
				return FALSE;
			}
			if (!validate_list (header, members, specs, index, TRUE,
					    error))
				return FALSE;
		} else {
			char *norm;

			g_return_val_if_fail (*index < specs->len, FALSE);
			norm = mp_address_check_spec (
				header, specs->pdata[(*index)++], error);
			if (norm == NULL)
				return FALSE;
			g_object_set_data_full (G_OBJECT (a), SPEC_KEY, norm,
						g_free);
		}
	}
	return TRUE;
}

const char *
mp_address_mailbox_addr (InternetAddressMailbox *mailbox)
{
	const char *spec = g_object_get_data (G_OBJECT (mailbox), SPEC_KEY);

	return spec ? spec : internet_address_mailbox_get_idn_addr (mailbox);
}

/* GMime's parser is lenient: it drops what it cannot read ("bob@exa
 * mple.com" becomes bob@exa), and what it keeps of a domain is its own
 * decoding (an A-label it cannot decode is lost).  Before trusting it,
 * read the shape of each comma-separated item ourselves, without
 * recursion: quotes, comments and angle brackets balanced, comments
 * nested at most MP_ADDRESS_MAX_NESTING deep, groups not nested, and an
 * address (bare or in <>) without whitespace outside quotes.  Appends
 * the addr-spec of each mailbox, as written but for comments, to @specs.
 * Errors: MP_ERROR_DATA naming @header. */
static gboolean
scan_list (const char *header, const char *value, GPtrArray *specs,
	   GError **error)
{
	const char *p = value;
	gboolean in_group = FALSE;
	const char *shown = value; /* mp_cli_fail() escapes */

	for (;;) {
		gboolean quoted = FALSE, escaped = FALSE, seen_angle = FALSE;
		gboolean in_angle = FALSE, after_angle = FALSE, text = FALSE;
		gboolean space_after_text = FALSE, bad = FALSE;
		gboolean words = FALSE; /* text, blank, text */
		int depth = 0;
		g_autoptr (GString) bare = g_string_new (NULL);
		g_autoptr (GString) angle = g_string_new (NULL);

		for (; *p; p++) {
			char c = *p;
			GString *spec = in_angle ? angle : bare;

			if (escaped) {
				escaped = FALSE;
				if (depth == 0)
					g_string_append_c (spec, c);
				continue;
			}
			if (c == '\\') {
				escaped = TRUE;
				if (depth == 0)
					g_string_append_c (spec, c);
				continue;
			}
			if (quoted) {
				if (c == '"')
					quoted = FALSE;
				g_string_append_c (spec, c);
				continue;
			}
			if (depth > 0) {
				depth += c == '(' ? 1 : c == ')' ? -1 : 0;
				if (depth > MP_ADDRESS_MAX_NESTING)
					break;
				continue;
			}
			if (c == '(') {
				depth++;
				continue;
			}
			if (c == '"') {
				quoted = TRUE;
				if (!in_angle) {
					words |= space_after_text;
					text = TRUE;
				}
				g_string_append_c (spec, c);
				continue;
			}
			if (in_angle) {
				if (c == '>') {
					in_angle = FALSE;
					after_angle = TRUE;
				} else if (c == ' ' || c == '\t' || c == '<')
					bad = TRUE;
				else
					g_string_append_c (angle, c);
				continue;
			}
			if (c == ',' || c == ';')
				break;
			if (c == ':' && !seen_angle) {
				if (in_group) {
					g_set_error (error, MP_ERROR,
						     MP_ERROR_DATA,
						     "%s: \"%s\": a group "
						     "inside a group",
						     header, shown);
					return FALSE;
				}
				/* a group's display name */
				in_group = TRUE;
				text = space_after_text = words = FALSE;
				g_string_truncate (bare, 0);
				continue;
			}
			if (c == '<') {
				if (seen_angle)
					bad = TRUE;
				seen_angle = in_angle = TRUE;
				continue;
			}
			if (c == ' ' || c == '\t') {
				if (text)
					space_after_text = TRUE;
				continue;
			}
			if (after_angle || c == '>')
				bad = TRUE;
			words |= space_after_text;
			text = TRUE;
			g_string_append_c (bare, c);
		}
		if (depth > MP_ADDRESS_MAX_NESTING) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: comments nested deeper than %d",
				     header, MP_ADDRESS_MAX_NESTING);
			return FALSE;
		}
		/* a bare addr-spec holds no whitespace */
		if (quoted || depth > 0 || in_angle || bad ||
		    (!seen_angle && words))
			goto unreadable;
		if (seen_angle || text)
			g_ptr_array_add (
				specs,
				g_strdup (seen_angle ? angle->str : bare->str));
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

guint
mp_address_count_mailboxes (InternetAddressList *list)
{
	int i, n = internet_address_list_length (list);
	guint count = 0;

	for (i = 0; i < n; i++) {
		InternetAddress *a =
			internet_address_list_get_address (list, i);

		if (INTERNET_ADDRESS_IS_GROUP (a))
			count += mp_address_count_mailboxes (
				internet_address_group_get_members (
					INTERNET_ADDRESS_GROUP (a)));
		else
			count++;
	}
	return count;
}

InternetAddressList *
mp_address_parse_list (const char *name, const char *value, GError **error)
{
	g_autoptr (GPtrArray) specs = g_ptr_array_new_with_free_func (g_free);
	InternetAddressList *list;
	guint index = 0;

	if (!scan_list (name, value, specs, error))
		return NULL;
	list = internet_address_list_parse (NULL, value);
	if (list == NULL || internet_address_list_length (list) == 0 ||
	    mp_address_count_mailboxes (list) != specs->len) {
		const char *shown = value; /* mp_cli_fail() escapes */

		g_clear_object (&list);
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: \"%s\": cannot parse the address list", name,
			     shown);
		return NULL;
	}
	if (!validate_list (name, list, specs, &index, FALSE, error)) {
		g_object_unref (list);
		return NULL;
	}
	return list;
}

/* ---- address lists as they arrive, read as Python's email reads them */

static gboolean
is_blank (char c)
{
	return c == ' ' || c == '\t';
}

typedef enum {
	TOK_WS,
	TOK_ATOM,
	TOK_QUOTED,
	TOK_SPECIAL
} TokKind;

typedef struct {
	TokKind kind;
	char *text; /* atom as written, quoted content unescaped, special */
} Tok;

static void
tok_clear (gpointer p)
{
	g_free (((Tok *) p)->text);
}

static void
push_tok (GArray *toks, TokKind kind, const char *p, gsize len)
{
	Tok t = { kind, g_strndup (p, len) };

	g_array_append_val (toks, t);
}

/* RFC 5322 3.2: comments count as blanks; an unterminated quoted string
 * or comment runs to the end. */
static void
tokenize_addresses (const char *p, GArray *toks)
{
	while (*p) {
		if (is_blank (*p) || *p == '(' || *p == ')') {
			/* a stray ')' counts as a blank, as in Python's email
			 * (found by fuzzing) */
			while (is_blank (*p) || *p == '(' || *p == ')') {
				if (*p == '(') {
					int depth = 0;

					for (; *p; p++) {
						if (*p == '\\' && p[1])
							p++;
						else if (*p == '(')
							depth++;
						else if (*p == ')' &&
							 --depth == 0) {
							p++;
							break;
						}
					}
				} else {
					p++;
				}
			}
			push_tok (toks, TOK_WS, " ", 1);
		} else if (*p == '"') {
			GString *q = g_string_new (NULL);
			Tok t;

			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				g_string_append_c (q, *p);
			}
			if (*p == '"')
				p++;
			t.kind = TOK_QUOTED;
			t.text = g_string_free (q, FALSE);
			g_array_append_val (toks, t);
		} else if (strchr ("<>,:;@", *p)) {
			push_tok (toks, TOK_SPECIAL, p, 1);
			p++;
		} else {
			const char *start = p;

			if (*p == '[') { /* domain literal */
				while (*p && *p != ']')
					p++;
				if (*p)
					p++;
			}
			while (*p && !is_blank (*p) &&
			       !strchr ("()<>,:;@\"[", *p))
				p++;
			if (p == start)
				p++; /* never stand still */
			push_tok (toks, TOK_ATOM, start, (gsize) (p - start));
		}
	}
}

static gboolean
is_special (const Tok *t, char c)
{
	return t->kind == TOK_SPECIAL && t->text[0] == c;
}

/* Builds "local@domain" from tokens [from, to): the local part quoted
 * when it needs it (as Python's email writes an addr_spec), the domain
 * as written. */
static char *
addr_spec (const Tok *t, guint from, guint to)
{
	GString *local = g_string_new (NULL), *domain = NULL, *cur = local;
	guint i;
	gboolean quote = FALSE;
	const char *c;

	for (i = from; i < to; i++) {
		if (is_special (&t[i], '@') && cur == local) {
			domain = g_string_new (NULL);
			cur = domain;
			continue;
		}
		if (t[i].kind == TOK_WS) {
			if (cur == local && local->len > 0 && i + 1 < to &&
			    !is_special (&t[i + 1], '@'))
				g_string_append_c (cur, ' ');
			continue;
		}
		g_string_append (cur, t[i].text);
	}
	for (c = local->str; *c; c++)
		if (strchr ("()<>@,:;\\\"[] \t", *c))
			quote = TRUE;
	if (quote) {
		GString *q = g_string_new ("\"");

		for (c = local->str; *c; c++) {
			if (*c == '\\' || *c == '"')
				g_string_append_c (q, '\\');
			g_string_append_c (q, *c);
		}
		g_string_append_c (q, '"');
		g_string_free (local, TRUE);
		local = q;
	}
	if (domain) {
		g_string_append_c (local, '@');
		g_string_append (local, domain->str);
		g_string_free (domain, TRUE);
	}
	return mp_rfc2047_make_safe (local);
}

/* A display name: the words of tokens [from, to) joined by one blank,
 * quoted strings unquoted, encoded words decoded; NULL when empty. */
static char *
display_name (const Tok *t, guint from, guint to)
{
	GString *raw = g_string_new (NULL);
	char *decoded;
	guint i;

	for (i = from; i < to; i++) {
		if (t[i].kind == TOK_WS) {
			if (raw->len > 0 && i + 1 < to)
				g_string_append_c (raw, ' ');
			continue;
		}
		g_string_append (raw, t[i].text);
	}
	decoded = mp_rfc2047_decode_text (raw->str, (gssize) raw->len);
	g_string_free (raw, TRUE);
	g_strchomp (decoded);
	if (*decoded == '\0') {
		g_free (decoded);
		return NULL;
	}
	return decoded;
}

typedef struct {
	char *display; /* NULL when there is none */
	char *addr;    /* addr-spec, "<>" for the null address */
} Mbox;

typedef struct {
	char *display;      /* the group's name, NULL for a lone mailbox */
	GPtrArray *members; /* Mbox* */
} Group;

static void
mbox_free (gpointer p)
{
	Mbox *m = p;

	g_free (m->display);
	g_free (m->addr);
	g_free (m);
}

static void
group_free (gpointer p)
{
	Group *g = p;

	g_free (g->display);
	g_ptr_array_unref (g->members);
	g_free (g);
}

static Group *
group_new (char *display)
{
	Group *g = g_new0 (Group, 1);

	g->display = display;
	g->members = g_ptr_array_new_with_free_func (mbox_free);
	return g;
}

static void
add_mbox (GPtrArray *groups, Group *group, char *display, char *addr)
{
	Mbox *m;

	if (*addr == '\0') { /* e.g. an empty quoted string (fuzzing) */
		g_free (display);
		g_free (addr);
		return;
	}
	m = g_new0 (Mbox, 1);
	m->display = display;
	m->addr = addr;
	if (group == NULL) {
		group = group_new (NULL);
		g_ptr_array_add (groups, group);
	}
	g_ptr_array_add (group->members, m);
}

/* One mailbox, or what stands between two commas: every angle-addr in it
 * ("<>" for an empty one) with the words before it as its display name,
 * else the address written bare.  Several bare addresses where a comma
 * was forgotten all count. */
static void
finish_mailbox (const Tok *t, guint from, guint to, GPtrArray *groups,
		Group *group)
{
	guint i, words_at = 0, name_from = from;
	gboolean angle = FALSE;

	for (i = from; i < to; i++) {
		guint j, start;

		if (!is_special (&t[i], '<'))
			continue;
		angle = TRUE;
		for (j = i + 1; j < to && !is_special (&t[j], '>'); j++)
			;
		/* RFC 5322 4.4 obs-route: "<@a,@b:user@host>" */
		start = i + 1;
		while (start < j && t[start].kind == TOK_WS)
			start++;
		if (start < j && is_special (&t[start], '@')) {
			while (start < j && !is_special (&t[start], ':'))
				start++;
			start = start < j ? start + 1 : i + 1;
		}
		while (start < j && t[start].kind == TOK_WS)
			start++;
		add_mbox (groups, group, display_name (t, name_from, i),
			  start < j ? addr_spec (t, start, j) :
				      g_strdup ("<>"));
		i = j;
		name_from = j + 1;
	}
	if (angle)
		return;

	/* bare: count the words that hold an '@' */
	for (i = from; i < to; i++)
		if (is_special (&t[i], '@'))
			words_at++;
	if (words_at > 1) {
		guint start = from;

		for (i = from; i <= to; i++) {
			if (i < to && t[i].kind != TOK_WS)
				continue;
			if (i > start)
				add_mbox (groups, group, NULL,
					  addr_spec (t, start, i));
			start = i + 1;
		}
		return;
	}
	while (from < to && t[from].kind == TOK_WS)
		from++;
	while (to > from && t[to - 1].kind == TOK_WS)
		to--;
	if (from < to)
		add_mbox (groups, group, NULL, addr_spec (t, from, to));
}

/* Reads an address list into groups (a lone mailbox is a group without a
 * name): RFC 5322 3.4, tolerant of what real mail holds. */
static GPtrArray *
parse_address_list (const char *raw)
{
	g_autoptr (GArray) toks = g_array_new (FALSE, FALSE, sizeof (Tok));
	GPtrArray *groups = g_ptr_array_new_with_free_func (group_free);
	g_autofree char *unfolded = NULL;
	GString *s = g_string_new (NULL);
	const char *p;
	const Tok *t;
	Group *group = NULL;
	guint i, start = 0;
	gboolean in_angle = FALSE;

	for (p = raw; *p; p++)
		if (*p != '\r' && *p != '\n')
			g_string_append_c (s, *p);
	unfolded = g_string_free (s, FALSE);
	g_array_set_clear_func (toks, tok_clear);
	tokenize_addresses (unfolded, toks);
	t = (const Tok *) (void *) toks->data;

	for (i = 0; i < toks->len; i++) {
		if (is_special (&t[i], '<'))
			in_angle = TRUE;
		else if (is_special (&t[i], '>'))
			in_angle = FALSE;
		if (in_angle)
			continue;
		if (is_special (&t[i], ',')) {
			finish_mailbox (t, start, i, groups, group);
			start = i + 1;
		} else if (is_special (&t[i], ':') && group == NULL) {
			/* RFC 5322 3.4: a group's display name */
			group = group_new (display_name (t, start, i));
			g_ptr_array_add (groups, group);
			start = i + 1;
		} else if (is_special (&t[i], ';') && group != NULL) {
			finish_mailbox (t, start, i, groups, group);
			group = NULL;
			start = i + 1;
		}
	}
	finish_mailbox (t, start, toks->len, groups, group);
	return groups;
}

guint
mp_address_parse_specs (const char *raw, GPtrArray *out)
{
	g_autoptr (GPtrArray) groups = parse_address_list (raw);
	guint i, j, count = 0;

	for (i = 0; i < groups->len; i++) {
		Group *g = groups->pdata[i];

		for (j = 0; j < g->members->len; j++) {
			Mbox *m = g->members->pdata[j];

			g_ptr_array_add (out, g_strdup (m->addr));
			count++;
		}
	}
	return count;
}

/* A display name as Python's email writes it: quoted when it holds one
 * of RFC 5322's specials. */
static void
append_display (GString *out, const char *name)
{
	const char *c;

	if (strpbrk (name, "()<>@,:;.\"[]\\") == NULL) {
		g_string_append (out, name);
		return;
	}
	g_string_append_c (out, '"');
	for (c = name; *c; c++) {
		if (*c == '\\' || *c == '"')
			g_string_append_c (out, '\\');
		g_string_append_c (out, *c);
	}
	g_string_append_c (out, '"');
}

static void
append_mbox (GString *out, const Mbox *m)
{
	if (m->display == NULL) {
		g_string_append (out, m->addr);
		return;
	}
	append_display (out, m->display);
	g_string_append (out, " <");
	if (strcmp (m->addr, "<>") != 0)
		g_string_append (out, m->addr);
	g_string_append_c (out, '>');
}

char *
mp_address_decode_list (const char *raw, gssize len)
{
	g_autofree char *copy =
		g_strndup (raw, len < 0 ? strlen (raw) : (gsize) len);
	g_autoptr (GPtrArray) groups = parse_address_list (copy);
	GString *out = g_string_new (NULL);
	guint i, j;

	for (i = 0; i < groups->len; i++) {
		Group *g = groups->pdata[i];

		if (i > 0)
			g_string_append (out, ", ");
		if (g->display == NULL && g->members->len == 1) {
			append_mbox (out, g->members->pdata[0]);
			continue;
		}
		if (g->display)
			append_display (out, g->display);
		g_string_append_c (out, ':');
		for (j = 0; j < g->members->len; j++) {
			g_string_append (out, j == 0 ? " " : ", ");
			append_mbox (out, g->members->pdata[j]);
		}
		g_string_append_c (out, ';');
	}
	return g_string_free (out, FALSE);
}
