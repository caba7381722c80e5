#include "mp-header.h"
#include "mp-error.h"

#include <gio/gio.h>
#include <string.h>

/* ---- checks ------------------------------------------------------------ */

gboolean
mp_header_check_name (const char *name, GError **error)
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
mp_header_check_value (const char *name, const char *value, gssize len,
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
mp_header_split (const char *field, char **name, char **value, GError **error)
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
	if (!mp_header_check_name (n, error))
		return FALSE;
	v = g_strdup (colon + 1);
	g_strstrip (v);
	if (!mp_header_check_value (n, v, -1, error))
		return FALSE;
	*name = g_steal_pointer (&n);
	*value = g_steal_pointer (&v);
	return TRUE;
}

gboolean
mp_header_is_address (const char *name)
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
mp_header_is_single (const char *name)
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
 * would pass MP_HEADER_FOLD_WIDTH (RFC 5322 2.2.3). */
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
	f->width = MP_HEADER_FOLD_WIDTH;
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
mp_header_format_text (const char *name, const char *value)
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
is_atext (guchar c)
{
	/* RFC 5322 3.2.3 */
	return g_ascii_isalnum (c) ||
	       (c != 0 && strchr ("!#$%&'*+-/=?^_`{|}~", c));
}

static gboolean
is_ascii_printable (const char *s)
{
	for (; *s; s++)
		if ((guchar) *s < 0x20 || (guchar) *s >= 0x7f)
			return FALSE;
	return TRUE;
}

static gboolean
needs_encoded_phrase (const char *phrase)
{
	/* a quoted string cannot be folded: encode one that would make a
	 * line longer than RFC 5322 2.1.1 allows */
	return !is_ascii_printable (phrase) || strstr (phrase, "=?") != NULL ||
	       strlen (phrase) > 900;
}

char *
mp_header_encode_phrase (const char *phrase)
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
		if (!is_atext ((guchar) *p) &&
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
	enc = mp_header_encode_phrase (phrase);
	folder_add (f, ws, enc, strlen (enc));
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
		} else if (!is_atext ((guchar) s[i])) {
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

/* Checks an addr-spec and returns it with an A-label domain, or NULL with
 * @error set. */
static char *
normalize_addr_spec (const char *header, const char *addr, GError **error)
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
	if (!is_ascii_printable (local)) {
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
		    !is_ascii_printable (domain)) {
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
 * it (mp_header_mailbox_addr()). */
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
			norm = normalize_addr_spec (
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
mp_header_mailbox_addr (InternetAddressMailbox *mailbox)
{
	const char *spec = g_object_get_data (G_OBJECT (mailbox), SPEC_KEY);

	return spec ? spec : internet_address_mailbox_get_idn_addr (mailbox);
}

/* GMime's parser is lenient: it drops what it cannot read ("bob@exa
 * mple.com" becomes bob@exa), and what it keeps of a domain is its own
 * decoding (an A-label it cannot decode is lost).  Before trusting it,
 * read the shape of each comma-separated item ourselves, without
 * recursion: quotes, comments and angle brackets balanced, comments
 * nested at most MP_HEADER_MAX_NESTING deep, groups not nested, and an
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
				if (depth > MP_HEADER_MAX_NESTING)
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
		if (depth > MP_HEADER_MAX_NESTING) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: comments nested deeper than %d",
				     header, MP_HEADER_MAX_NESTING);
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

static int
count_parsed (InternetAddressList *list)
{
	int i, n = internet_address_list_length (list), count = 0;

	for (i = 0; i < n; i++) {
		InternetAddress *a =
			internet_address_list_get_address (list, i);

		if (INTERNET_ADDRESS_IS_GROUP (a))
			count += count_parsed (
				internet_address_group_get_members (
					INTERNET_ADDRESS_GROUP (a)));
		else
			count++;
	}
	return count;
}

static InternetAddressList *
parse_addresses (const char *name, const char *value, guint *count,
		 GError **error)
{
	g_autoptr (GPtrArray) specs = g_ptr_array_new_with_free_func (g_free);
	InternetAddressList *list;
	guint index = 0;

	if (!mp_header_check_value (name, value, -1, error) ||
	    !scan_list (name, value, specs, error))
		return NULL;
	list = internet_address_list_parse (NULL, value);
	if (list == NULL || internet_address_list_length (list) == 0 ||
	    (guint) count_parsed (list) != specs->len) {
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
	*count += index;
	return list;
}

InternetAddressList *
mp_header_parse_addresses (const char *name, const char *value, GError **error)
{
	guint count = 0;

	return parse_addresses (name, value, &count, error);
}

static void
emit_mailbox (Folder *f, const char *ws, InternetAddress *a, gboolean last)
{
	const char *name = internet_address_get_name (a);
	/* GMime keeps IDN domains decoded and its own A-label conversion
	 * can fail; the wire wants the A-labels validate_list() checked */
	const char *addr =
		mp_header_mailbox_addr (INTERNET_ADDRESS_MAILBOX (a));
	g_autofree char *tok = NULL;

	if (name && *name) {
		emit_phrase (f, ws, name);
		tok = g_strdup_printf ("<%s>%s", addr, last ? "" : ",");
		folder_add (f, " ", tok, strlen (tok));
	} else {
		tok = g_strdup_printf ("%s%s", addr, last ? "" : ",");
		folder_add (f, ws, tok, strlen (tok));
	}
}

static void
emit_list (Folder *f, InternetAddressList *list, gboolean last_list)
{
	int i, n = internet_address_list_length (list);

	for (i = 0; i < n; i++) {
		InternetAddress *a =
			internet_address_list_get_address (list, i);
		gboolean last = last_list && i == n - 1;

		if (INTERNET_ADDRESS_IS_GROUP (a)) {
			const char *gname = internet_address_get_name (a);
			InternetAddressList *members =
				internet_address_group_get_members (
					INTERNET_ADDRESS_GROUP (a));
			emit_phrase (f, " ", gname ? gname : "");
			/* RFC 2047 5(3): an encoded word ends at whitespace */
			if (gname && needs_encoded_phrase (gname))
				folder_add (f, " ", ":", 1);
			else
				folder_add (f, "", ":", 1);
			emit_list (f, members, TRUE);
			folder_add (f, "", last ? ";" : ";,", last ? 1 : 2);
		} else {
			emit_mailbox (f, " ", a, last);
		}
	}
}

char *
mp_header_format_addresses (const char *name, const char *const *values,
			    guint *n_mailboxes, GError **error)
{
	g_autoptr (GPtrArray) lists =
		g_ptr_array_new_with_free_func (g_object_unref);
	guint count = 0, i;
	Folder f;

	for (i = 0; values[i]; i++) {
		InternetAddressList *l =
			parse_addresses (name, values[i], &count, error);
		if (l == NULL)
			return NULL;
		g_ptr_array_add (lists, l);
	}
	if (n_mailboxes)
		*n_mailboxes = count;
	folder_init (&f, name);
	for (i = 0; i < lists->len; i++)
		emit_list (&f, lists->pdata[i], i == lists->len - 1);
	return folder_finish (&f);
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
		    !is_ascii_printable (inner)) {
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
mp_header_format_msgids (const char *name, const char *const *values,
			 GError **error)
{
	Folder f;
	guint i;

	folder_init (&f, name);
	for (i = 0; values[i]; i++) {
		if (!mp_header_check_value (name, values[i], -1, error) ||
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
mp_header_parse_date (const char *value)
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
	utc = g_mime_utils_header_decode_date (value);
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
	g_autoptr (GDateTime) d = mp_header_parse_date (value);
	g_autofree char *s = NULL;

	if (d == NULL) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: \"%s\": not a date (RFC 5322)", name, value);
		return NULL;
	}
	s = g_mime_utils_header_format_date (d);
	return g_strdup_printf ("%s: %s\n", name, s);
}

char *
mp_header_format (const char *name, const char *value, GError **error)
{
	const char *values[] = { value, NULL };

	if (!mp_header_check_name (name, error) ||
	    !mp_header_check_value (name, value, -1, error))
		return NULL;
	if (mp_header_is_address (name))
		return mp_header_format_addresses (name, values, NULL, error);
	if (is_msgid_header (name))
		return mp_header_format_msgids (name, values, error);
	if (g_ascii_strcasecmp (name, "Date") == 0 ||
	    g_ascii_strcasecmp (name, "Resent-Date") == 0)
		return format_date (name, value, error);
	return mp_header_format_text (name, value);
}
