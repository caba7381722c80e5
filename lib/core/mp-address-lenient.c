/* mp-address-lenient: address lists as they arrive (RFC 5322 3.4 and
 * what real mail holds), read as Python's email reads them: for display
 * (mp_address_decode_list()) and for their addr-specs
 * (mp_address_parse_specs()). */
#include "mp-address.h"
#include "mp-rfc2047.h"

#include <string.h>

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
