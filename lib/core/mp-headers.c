#include "mp-headers.h"
#include "mp-charset.h"
#include "mp-error.h"
#include "mp-header.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_CHUNK (64 * 1024)

typedef struct {
	gsize start, end; /* original bytes [start, end) in buf */
	char *text;       /* a field written anew (own line endings), or NULL */
	char *name;       /* field name, NULL for a line that is not a field */
	gsize colon;      /* offset of the colon from the entry's start */
	gboolean deleted;
} Entry;

struct _MpHeaders {
	char *name;
	GByteArray *buf;    /* the block, the separator, then what was read */
	GPtrArray *entries; /* Entry* */
	gsize line_start;   /* scanner: start of the line being looked at */
	gsize search;       /* scanner: where to look for its '\n' */
	gsize block_end;    /* end of the last entry */
	const char *eol;
	gboolean eol_known; /* taken from a field line */
	gboolean complete;
	gboolean unterminated; /* input ended in the block without a newline */
	gboolean separator;    /* an empty line ends the block */
	gboolean too_many;     /* more than MP_HEADERS_MAX_FIELDS fields */
	guint n_fields;
	guint n_lines;
	int fd; /* what follows buf, or -1 */
	gboolean fd_eof;
	gint64 fd_offset; /* offset in fd after buf when seekable, else -1 */
};

static void
entry_free (gpointer p)
{
	Entry *e = p;

	g_free (e->text);
	g_free (e->name);
	g_free (e);
}

MpHeaders *
mp_headers_new (const char *name)
{
	MpHeaders *h = g_new0 (MpHeaders, 1);

	h->name = g_strdup (name ? name : "stdin");
	h->buf = g_byte_array_new ();
	h->entries = g_ptr_array_new_with_free_func (entry_free);
	h->eol = "\n";
	h->fd = -1;
	h->fd_offset = -1;
	return h;
}

void
mp_headers_free (MpHeaders *h)
{
	if (h == NULL)
		return;
	g_byte_array_unref (h->buf);
	g_ptr_array_unref (h->entries);
	g_free (h->name);
	g_free (h);
}

/* ---- reading the block ---------------------------------------------- */

static gboolean
starts_with (const guint8 *p, gsize len, const char *prefix)
{
	gsize n = strlen (prefix);

	return len >= n && memcmp (p, prefix, n) == 0;
}

/* The length of the field name when the line starts a field: printable
 * ASCII but the colon (RFC 5322 2.2), blanks allowed before the colon as
 * the obsolete syntax has it (4.5.8); *colon receives the colon's offset.
 * -1 if the line starts no field. */
static gssize
field_name_length (const guint8 *p, gsize len, gsize *colon)
{
	gsize i, n;

	for (i = 0; i < len && p[i] >= 33 && p[i] <= 126 && p[i] != ':'; i++)
		;
	n = i;
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i == len || p[i] != ':')
		return -1;
	*colon = i;
	return (gssize) n;
}

static Entry *
add_entry (MpHeaders *h, gsize start, gsize end)
{
	Entry *e = g_new0 (Entry, 1);

	e->start = start;
	e->end = end;
	g_ptr_array_add (h->entries, e);
	return e;
}

static void
end_block (MpHeaders *h, gsize at)
{
	h->block_end = at;
	h->complete = TRUE;
}

/* Looks at the line [ls, le) (le past its '\n', or the end of the input
 * when @terminated is FALSE) and decides what it is. */
static void
classify_line (MpHeaders *h, gsize ls, gsize le, gboolean terminated)
{
	const guint8 *p = h->buf->data + ls;
	gsize len = le - ls, content = len, colon = 0;
	gssize namelen;

	if (terminated) {
		content--;
		if (content > 0 && p[content - 1] == '\r')
			content--;
	}
	namelen = field_name_length (p, content, &colon);
	/* new fields end like the first field (an mbox line before it may
	 * end otherwise), else like the first line */
	if (terminated && !h->eol_known && (namelen > 0 || h->n_lines == 0)) {
		h->eol = content + 2 == len ? "\r\n" : "\n";
		h->eol_known = namelen > 0;
	}
	if (h->n_lines++ == 0 && namelen < 0 && starts_with (p, len, "From ")) {
		add_entry (h, ls, le); /* mbox envelope line */
	} else if (content == 0 && terminated) {
		h->separator = TRUE;
		end_block (h, ls);
		return;
	} else if (p[0] == ' ' || p[0] == '\t') {
		/* a continuation line; a stray one becomes its own entry */
		if (h->entries->len > 0)
			((Entry *) g_ptr_array_index (h->entries,
						      h->entries->len - 1))
				->end = le;
		else
			add_entry (h, ls, le);
	} else if (namelen == 0) {
		add_entry (h, ls, le); /* no name: no field (as Python) */
	} else if (namelen > 0) {
		Entry *e;

		if (h->n_fields >= MP_HEADERS_MAX_FIELDS) {
			h->too_many = TRUE;
			end_block (h, ls);
			return;
		}
		e = add_entry (h, ls, le);

		e->name = g_strndup ((const char *) p, (gsize) namelen);
		e->colon = colon;
		h->n_fields++;
	} else if (starts_with (p, len, "From ")) {
		add_entry (h, ls, le); /* misplaced envelope line */
	} else {
		/* the body starts without an empty line before it */
		end_block (h, ls);
		return;
	}
	if (!terminated) {
		h->unterminated = TRUE;
		end_block (h, le);
	}
}

static gboolean
too_many_fields (MpHeaders *h, GError **error)
{
	g_set_error (error, MP_ERROR, MP_ERROR_DATA,
		     "%s: more than %d header fields: not a message", h->name,
		     MP_HEADERS_MAX_FIELDS);
	return FALSE;
}

static gboolean
scan (MpHeaders *h, gboolean eof, GError **error)
{
	while (!h->complete) {
		const guint8 *base = h->buf->data;
		gsize len = h->buf->len;
		const guint8 *nl = NULL;

		if (h->search < len)
			nl = memchr (base + h->search, '\n', len - h->search);
		if (nl != NULL) {
			gsize le = (gsize) (nl - base) + 1;

			classify_line (h, h->line_start, le, TRUE);
			if (h->too_many)
				return too_many_fields (h, error);
			h->line_start = h->search = le;
			continue;
		}
		h->search = len;
		if (!eof) {
			if (len > MP_HEADERS_MAX_BLOCK) {
				g_set_error (error, MP_ERROR, MP_ERROR_DATA,
					     "%s: header block larger than "
					     "%d MiB: not a message",
					     h->name,
					     MP_HEADERS_MAX_BLOCK >> 20);
				return FALSE;
			}
			return TRUE;
		}
		if (h->line_start < len) {
			classify_line (h, h->line_start, len, FALSE);
			if (h->too_many)
				return too_many_fields (h, error);
		} else {
			end_block (h, len);
		}
	}
	return TRUE;
}

gboolean
mp_headers_feed (MpHeaders *h, const char *data, gsize len, GError **error)
{
	g_byte_array_append (h->buf, (const guint8 *) data, (guint) len);
	return scan (h, FALSE, error);
}

/* A CR not followed by LF in the header block ends a line for some
 * readers (Python's email) and not for others (GMime, us): a field hidden
 * behind it ("Subject: x\rBcc: y") would escape --delete and reappear
 * once smtp-send canonicalises line endings.  Refuse the ambiguity. */
static gboolean
check_bare_cr (MpHeaders *h, GError **error)
{
	const guint8 *p = h->buf->data, *end = p + h->block_end, *cr;
	guint line = 1;

	for (cr = p; (cr = memchr (cr, '\r', (gsize) (end - cr))) != NULL;
	     cr++) {
		if (cr + 1 < h->buf->data + h->buf->len && cr[1] == '\n')
			continue;
		for (; p < cr; p++)
			line += *p == '\n';
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: header line %u: CR without LF (ambiguous "
			     "line ending)",
			     h->name, line);
		return FALSE;
	}
	return TRUE;
}

gboolean
mp_headers_finish (MpHeaders *h, GError **error)
{
	if (h->buf->len == 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: empty input (did an earlier stage fail?)",
			     h->name);
		return FALSE;
	}
	if (!scan (h, TRUE, error))
		return FALSE;
	if (h->n_fields == 0 && !h->separator) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: not a message: no header fields", h->name);
		return FALSE;
	}
	return check_bare_cr (h, error);
}

gboolean
mp_headers_is_complete (MpHeaders *h)
{
	return h->complete;
}

MpHeaders *
mp_headers_parse (const char *data, gsize len, GError **error)
{
	g_autoptr (MpHeaders) h = mp_headers_new (NULL);

	if (!mp_headers_feed (h, data, len, error) ||
	    !mp_headers_finish (h, error))
		return NULL;
	return g_steal_pointer (&h);
}

MpHeaders *
mp_headers_read_fd (int fd, const char *name, GError **error)
{
	g_autoptr (MpHeaders) h = mp_headers_new (name);
	struct stat st;

	if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode))
		h->fd_offset = lseek (fd, 0, SEEK_CUR);
	h->fd = fd;
	while (!h->complete) {
		guint old = h->buf->len;
		ssize_t n;

		g_byte_array_set_size (h->buf, old + READ_CHUNK);
		n = read (fd, h->buf->data + old, READ_CHUNK);
		if (n < 0) {
			int errsv = errno;

			g_byte_array_set_size (h->buf, old);
			if (errsv == EINTR)
				continue;
			mp_error_set_errno (error, MP_ERROR_IO, errsv, h->name);
			return NULL;
		}
		g_byte_array_set_size (h->buf, old + (guint) n);
		if (h->fd_offset >= 0)
			h->fd_offset += n;
		if (n == 0) {
			h->fd_eof = TRUE;
			if (!mp_headers_finish (h, error))
				return NULL;
			break;
		}
		if (!scan (h, FALSE, error))
			return NULL;
	}
	if (h->n_fields == 0 && !h->separator) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: not a message: no header fields", h->name);
		return NULL;
	}
	if (!check_bare_cr (h, error))
		return NULL;
	return g_steal_pointer (&h);
}

/* ---- entries -------------------------------------------------------- */

const char *
mp_headers_get_eol (MpHeaders *h)
{
	return h->eol;
}

guint
mp_headers_get_n_entries (MpHeaders *h)
{
	return h->entries->len;
}

static Entry *
entry (MpHeaders *h, guint i)
{
	g_assert (i < h->entries->len); /* a programming error */
	return g_ptr_array_index (h->entries, i);
}

const char *
mp_headers_get_bytes (MpHeaders *h, guint i, gsize *len)
{
	Entry *e = entry (h, i);

	if (e->text) {
		*len = strlen (e->text);
		return e->text;
	}
	*len = e->end - e->start;
	return (const char *) h->buf->data + e->start;
}

const char *
mp_headers_get_name (MpHeaders *h, guint i)
{
	return entry (h, i)->name;
}

/* The bytes after the colon, still folded. */
static const char *
value_bytes (MpHeaders *h, guint i, gsize *len)
{
	Entry *e = entry (h, i);
	gsize n;
	const char *p = mp_headers_get_bytes (h, i, &n);

	*len = n - e->colon - 1;
	return p + e->colon + 1;
}

char *
mp_headers_get_raw_value (MpHeaders *h, guint i)
{
	const char *p, *end;
	gsize len;
	GString *s;

	if (entry (h, i)->name == NULL)
		return NULL;
	p = value_bytes (h, i, &len);
	end = p + len;
	s = g_string_sized_new (len);
	/* blanks after the colon go; those after a line break stay, as
	 * Python's email has it */
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (; p < end; p++)
		if (*p != '\r' && *p != '\n')
			g_string_append_c (s, *p);
	return g_string_free (s, FALSE);
}

char *
mp_headers_get_value (MpHeaders *h, guint i)
{
	const char *p;
	gsize len;

	if (entry (h, i)->name == NULL)
		return NULL;
	p = value_bytes (h, i, &len);
	if (mp_header_is_address (entry (h, i)->name))
		return mp_headers_decode_addresses (p, (gssize) len);
	return mp_headers_decode_text (p, (gssize) len);
}

/* ---- decoding ------------------------------------------------------- */

static void
append_utf8 (GString *out, const char *p, gsize len)
{
	g_autofree char *valid = NULL;

	if (g_utf8_validate_len (p, len, NULL)) {
		g_string_append_len (out, p, (gssize) len);
		return;
	}
	valid = g_utf8_make_valid (p, (gssize) len); /* U+FFFD */
	g_string_append (out, valid);
}

/* Converts @len bytes in @charset to UTF-8; what cannot be converted
 * becomes U+FFFD. */
static void
append_converted (GString *out, const char *charset, const char *p, gsize len)
{
	const char *mime = mp_charset_mime_name (charset);

	if (*charset == '\0' || g_strcmp0 (mime, "utf-8") == 0 ||
	    g_strcmp0 (mime, "us-ascii") == 0) {
		append_utf8 (out, p, len);
		return;
	}
	/* what is labelled Latin-1 is in practice windows-1252, its superset
	 * (the WHATWG encoding standard reads it so): quotes and dashes in
	 * 0x80-0x9f instead of invisible control characters */
	if (g_strcmp0 (mime, "iso-8859-1") == 0)
		charset = "windows-1252";
	/* unknown: keep what reads as UTF-8 (common in practice) */
	if (!mp_charset_append_utf8 (out, charset, p, len))
		append_utf8 (out, p, len);
}

static int
hexval (char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
decode_q (GByteArray *out, const char *p, gsize len)
{
	gsize i;

	for (i = 0; i < len; i++) {
		guint8 c = (guint8) p[i];

		if (c == '_') {
			c = ' ';
		} else if (c == '=' && i + 2 < len && hexval (p[i + 1]) >= 0 &&
			   hexval (p[i + 2]) >= 0) {
			c = (guint8) (hexval (p[i + 1]) << 4 |
				      hexval (p[i + 2]));
			i += 2;
		}
		g_byte_array_append (out, &c, 1);
	}
}

static void
decode_b (GByteArray *out, const char *p, gsize len)
{
	g_autoptr (GString) clean = g_string_sized_new (len + 4);
	g_autofree guchar *bin = NULL;
	gsize i, n;

	/* lenient as real mail needs: characters outside the alphabet are
	 * skipped and missing padding is supplied (Python does the same) */
	for (i = 0; i < len && p[i] != '='; i++)
		if (g_ascii_isalnum (p[i]) || p[i] == '+' || p[i] == '/')
			g_string_append_c (clean, p[i]);
	if (clean->len % 4 == 1)
		g_string_truncate (clean, clean->len - 1);
	while (clean->len % 4)
		g_string_append_c (clean, '=');
	if (clean->len == 0)
		return;
	bin = g_base64_decode (clean->str, &n);
	g_byte_array_append (out, bin, (guint) n);
}

typedef struct {
	char *charset; /* without an RFC 2231 language */
	GByteArray *bytes;
} PendingWord;

/* Where the last search for "?=" started and what it found: each later
 * search from a point before that find gives the same answer, so a value
 * full of "=?" that never end is still read in linear time. */
typedef struct {
	const char *from;
	const char *found;
} EndCache;

static const char *
find_word_end (const char *text, const char *end, EndCache *c)
{
	const char *q;

	if (c->from && text >= c->from &&
	    (c->found == NULL || c->found >= text))
		return c->found;
	for (q = text; q + 1 < end; q++)
		if (q[0] == '?' && q[1] == '=')
			break;
	c->from = text;
	c->found = q + 1 < end ? q : NULL;
	return c->found;
}

/* Parses an encoded word at @p (RFC 2047 2: "=?" charset "?" B|Q "?"
 * text "?="); like Python's email, the text runs to the first "?=" and
 * may hold blanks but no '?'.  Returns its end, or NULL. */
static const char *
parse_encoded_word (const char *p, const char *end, EndCache *cache,
		    PendingWord *w)
{
	const char *cs, *cs_end, *text, *q;
	char enc;

	if (end - p < 8 || p[0] != '=' || p[1] != '?')
		return NULL;
	cs = p + 2;
	for (cs_end = cs; cs_end < end && *cs_end != '?'; cs_end++)
		if (*cs_end == ' ' || *cs_end == '\t')
			return NULL;
	if (cs_end + 3 >= end || cs_end[2] != '?')
		return NULL;
	enc = g_ascii_tolower (cs_end[1]);
	if (enc != 'q' && enc != 'b')
		return NULL;
	text = cs_end + 3;
	q = find_word_end (text, end, cache);
	if (q == NULL)
		return NULL;
	if (memchr (text, '?', (gsize) (q - text)))
		return NULL;
	{
		const char *star = memchr (cs, '*', (gsize) (cs_end - cs));

		w->charset =
			g_strndup (cs, (gsize) ((star ? star : cs_end) - cs));
	}
	w->bytes = g_byte_array_new ();
	if (enc == 'q')
		decode_q (w->bytes, text, (gsize) (q - text));
	else
		decode_b (w->bytes, text, (gsize) (q - text));
	return q + 2;
}

static void
flush_word (GString *out, PendingWord *w)
{
	if (w->bytes == NULL)
		return;
	append_converted (out, w->charset, (const char *) w->bytes->data,
			  w->bytes->len);
	g_byte_array_unref (w->bytes);
	g_free (w->charset);
	w->bytes = NULL;
	w->charset = NULL;
}

static void
append_raw (GString *out, const char *p, gsize len, gboolean utf8)
{
	if (utf8) {
		g_string_append_len (out, p, (gssize) len);
		return;
	}
	/* Latin-1, read as windows-1252 like a labelled one */
	append_converted (out, "iso-8859-1", p, len);
}

static gboolean
is_blank (char c)
{
	return c == ' ' || c == '\t';
}

/* One value, one line, one C string, nothing a terminal would obey: CR
 * and LF become blanks; NUL, other control characters (C0 but TAB, DEL,
 * C1: escape sequences) and invalid UTF-8 become U+FFFD.  Frees @s. */
static char *
sanitize (GString *s)
{
	g_autofree char *valid = NULL;
	GString *clean = g_string_sized_new (s->len);
	const char *p;
	gsize i;

	/* a NUL would end the string: make it a control character that the
	 * loop below replaces */
	for (i = 0; i < s->len; i++)
		if (s->str[i] == '\0')
			s->str[i] = '\x01';
	valid = g_utf8_make_valid (s->str, (gssize) s->len);
	for (p = valid; *p; p = g_utf8_next_char (p)) {
		gunichar c = g_utf8_get_char (p);

		if (c == '\r' || c == '\n')
			g_string_append_c (clean, ' ');
		else if ((c < 0x20 && c != '\t') || (c >= 0x7f && c < 0xa0))
			g_string_append (clean, "\xef\xbf\xbd");
		else
			g_string_append_len (clean, p,
					     g_utf8_next_char (p) - p);
	}
	g_string_free (s, TRUE);
	return g_string_free (clean, FALSE);
}

char *
mp_headers_decode_text (const char *raw, gssize len)
{
	g_autofree char *s = NULL;
	const char *p, *end;
	GString *out;
	PendingWord word = { NULL, NULL };
	EndCache cache = { NULL, NULL };
	const char *ws = NULL; /* blanks after an encoded word, held back */
	gsize wslen = 0, n = 0, i;
	gboolean utf8;

	if (len < 0)
		len = (gssize) strlen (raw);
	/* blanks after the colon go; those after a line break stay, as
	 * Python's email has it */
	for (i = 0; i < (gsize) len && is_blank (raw[i]); i++)
		;
	/* unfold (RFC 5322 2.2.3): line breaks go, the blanks stay */
	s = g_malloc ((gsize) len + 1);
	for (; i < (gsize) len; i++)
		if (raw[i] != '\r' && raw[i] != '\n')
			s[n++] = raw[i];
	s[n] = '\0';
	p = s;
	end = s + n;
	utf8 = g_utf8_validate_len (p, (gsize) (end - p), NULL);
	out = g_string_sized_new ((gsize) (end - p) + 16);

	while (p < end) {
		const char *q, *next;
		PendingWord w = { NULL, NULL };

		if (is_blank (*p)) {
			for (q = p; q < end && is_blank (*q); q++)
				;
			if (word.bytes) {
				ws = p;
				wslen = (gsize) (q - p);
			} else {
				g_string_append_len (out, p, q - p);
			}
			p = q;
			continue;
		}
		next = parse_encoded_word (p, end, &cache, &w);
		if (next) {
			/* RFC 2047 6.2: blanks between encoded words go */
			ws = NULL;
			if (word.bytes &&
			    g_ascii_strcasecmp (word.charset, w.charset) == 0) {
				g_byte_array_append (word.bytes, w.bytes->data,
						     w.bytes->len);
				g_byte_array_unref (w.bytes);
				g_free (w.charset);
			} else {
				flush_word (out, &word);
				word = w;
			}
			p = next;
			continue;
		}
		/* plain text up to a blank or to an encoded word inside it */
		for (q = p + 1; q < end && !is_blank (*q); q++) {
			PendingWord probe = { NULL, NULL };

			if (q[0] == '=' && q + 1 < end && q[1] == '?' &&
			    parse_encoded_word (q, end, &cache, &probe)) {
				g_byte_array_unref (probe.bytes);
				g_free (probe.charset);
				break;
			}
		}
		flush_word (out, &word);
		if (ws)
			g_string_append_len (out, ws, (gssize) wslen);
		ws = NULL;
		append_raw (out, p, (gsize) (q - p), utf8);
		p = q;
	}
	flush_word (out, &word);
	if (ws)
		g_string_append_len (out, ws, (gssize) wslen);

	return sanitize (out);
}

/* ---- addresses ------------------------------------------------------ */

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
	return sanitize (local);
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
	decoded = mp_headers_decode_text (raw->str, (gssize) raw->len);
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
mp_headers_parse_addr_specs (const char *raw, GPtrArray *out)
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
mp_headers_decode_addresses (const char *raw, gssize len)
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

/* ---- editing -------------------------------------------------------- */

/* A field from mp_header_format() ("Name: value\n", folded with "\n"),
 * with the block's line endings. */
static Entry *
new_entry (MpHeaders *h, const char *name, const char *value, GError **error)
{
	g_autofree char *field = NULL;
	Entry *e;

	if (!mp_header_check_name (name, error) ||
	    !mp_header_check_value (name, value, -1, error))
		return NULL;
	field = mp_header_format (name, value, error);
	if (field == NULL)
		return NULL;
	e = g_new0 (Entry, 1);
	e->name = g_strdup (name);
	e->colon = strlen (name);
	if (strcmp (h->eol, "\n") == 0) {
		e->text = g_steal_pointer (&field);
	} else {
		g_auto (GStrv) lines = g_strsplit (field, "\n", -1);

		e->text = g_strjoinv (h->eol, lines);
	}
	return e;
}

static gboolean
name_is (Entry *e, const char *name)
{
	return e->name && g_ascii_strcasecmp (e->name, name) == 0;
}

/* The index of the first field named @name, or -1. */
static int
find_field (MpHeaders *h, const char *name)
{
	for (guint i = 0; i < h->entries->len; i++) {
		Entry *e = g_ptr_array_index (h->entries, i);

		if (!e->deleted && name_is (e, name))
			return (int) i;
	}
	return -1;
}

gboolean
mp_headers_add (MpHeaders *h, const char *name, const char *value,
		GError **error)
{
	Entry *e;

	if (mp_header_is_single (name) && find_field (h, name) >= 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: the message has one already, and may have "
			     "only one (RFC 5322 3.6; replace it with --set)",
			     name);
		return FALSE;
	}
	e = new_entry (h, name, value, error);
	if (e == NULL)
		return FALSE;
	g_ptr_array_add (h->entries, e);
	return TRUE;
}

/* A new Content-Type for a message whose Content-Type is multipart must
 * keep its boundary, or the body's parts are lost to every reader:
 * returns the value to write (the boundary added when @value gives
 * none), or NULL with @error set. */
static char *
keep_boundary (MpHeaders *h, const char *value, GError **error)
{
	int i = find_field (h, "Content-Type");
	g_autofree char *raw = NULL;
	g_autoptr (GMimeContentType) old = NULL;
	g_autoptr (GMimeContentType) new = NULL;
	const char *boundary, *given;

	if (i < 0)
		return g_strdup (value);
	raw = mp_headers_get_raw_value (h, (guint) i);
	old = g_mime_content_type_parse (NULL, raw);
	boundary = old ? g_mime_content_type_get_parameter (old, "boundary") :
			 NULL;
	if (old == NULL ||
	    !g_mime_content_type_is_type (old, "multipart", "*") ||
	    boundary == NULL)
		return g_strdup (value);
	new = g_mime_content_type_parse (NULL, value);
	if (new == NULL ||
	    !g_mime_content_type_is_type (new, "multipart", "*")) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "Content-Type: the message is %s/%s: a type that "
			     "is not multipart would hide its parts",
			     g_mime_content_type_get_media_type (old),
			     g_mime_content_type_get_media_subtype (old));
		return NULL;
	}
	given = g_mime_content_type_get_parameter (new, "boundary");
	if (given == NULL)
		return g_strdup_printf ("%s; boundary=\"%s\"", value, boundary);
	if (strcmp (given, boundary) != 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "Content-Type: the body's boundary is \"%s\", "
			     "not \"%s\" (leave the boundary out to keep it)",
			     boundary, given);
		return NULL;
	}
	return g_strdup (value);
}

/* Drops the deleted entries in one pass: linear even for a block of
 * 100,000 fields. */
static void
compact (MpHeaders *h)
{
	guint i, kept = 0;

	for (i = 0; i < h->entries->len; i++) {
		Entry *e = g_ptr_array_index (h->entries, i);

		if (e->deleted)
			entry_free (e);
		else
			h->entries->pdata[kept++] = e;
	}
	h->entries->len = kept;
}

gboolean
mp_headers_set (MpHeaders *h, const char *name, const char *value,
		GError **error)
{
	g_autofree char *kept = NULL;
	gboolean replaced = FALSE;
	Entry *e;
	guint i;

	if (g_ascii_strcasecmp (name, "Content-Type") == 0) {
		kept = keep_boundary (h, value, error);
		if (kept == NULL)
			return FALSE;
		value = kept;
	}
	e = new_entry (h, name, value, error);
	if (e == NULL)
		return FALSE;
	for (i = 0; i < h->entries->len; i++) {
		Entry *old = g_ptr_array_index (h->entries, i);

		if (!name_is (old, name))
			continue;
		if (!replaced) {
			h->entries->pdata[i] = e;
			entry_free (old);
			replaced = TRUE;
		} else {
			old->deleted = TRUE;
		}
	}
	if (!replaced)
		g_ptr_array_add (h->entries, e);
	compact (h);
	return TRUE;
}

guint
mp_headers_delete (MpHeaders *h, const char *name)
{
	guint i, n = 0;

	for (i = 0; i < h->entries->len; i++) {
		Entry *e = g_ptr_array_index (h->entries, i);

		if (name_is (e, name)) {
			e->deleted = TRUE;
			n++;
		}
	}
	if (n)
		compact (h);
	return n;
}

gboolean
mp_headers_check_originator (MpHeaders *h, GError **error)
{
	guint n_from = 0, i;
	gboolean sender = FALSE;

	for (i = 0; i < h->entries->len; i++) {
		Entry *e = g_ptr_array_index (h->entries, i);

		if (name_is (e, "Sender"))
			sender = TRUE;
		if (name_is (e, "From")) {
			g_autoptr (GPtrArray) specs =
				g_ptr_array_new_with_free_func (g_free);
			g_autofree char *raw = mp_headers_get_raw_value (h, i);

			n_from += mp_headers_parse_addr_specs (raw, specs);
		}
	}
	/* RFC 5322 3.6.2 */
	if (n_from > 1 && !sender) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "From: %u mailboxes need a Sender naming the one "
			     "who sends (RFC 5322 3.6.2; add --set "
			     "'Sender: ...')",
			     n_from);
		return FALSE;
	}
	return TRUE;
}

/* ---- writing -------------------------------------------------------- */

gboolean
mp_headers_write_message (MpHeaders *h, MpOutput *out, GError **error)
{
	const char *pending = NULL;
	gsize pending_len = 0;
	guint i;

	for (i = 0; i < h->entries->len; i++) {
		gsize len, term = 0;
		const char *p = mp_headers_get_bytes (h, i, &len);

		if (len > 0 && p[len - 1] == '\n')
			term = len > 1 && p[len - 2] == '\r' ? 2 : 1;
		if (pending_len &&
		    !mp_output_write (out, pending, pending_len, error))
			return FALSE;
		if (!mp_output_write (out, p, len - term, error))
			return FALSE;
		/* the line ending is held back: an input that ended without
		 * one in the block must end without one again */
		if (term) {
			pending = p + len - term;
			pending_len = term;
		} else {
			pending = h->eol;
			pending_len = strlen (h->eol);
		}
	}
	if (!h->unterminated && pending_len &&
	    !mp_output_write (out, pending, pending_len, error))
		return FALSE;
	if (h->buf->len > h->block_end &&
	    !mp_output_write (out, h->buf->data + h->block_end,
			      h->buf->len - h->block_end, error))
		return FALSE;
	if (h->fd < 0 || h->fd_eof)
		return TRUE;
	return mp_output_copy_fd (out, h->fd, h->fd_offset, -1, h->name, error);
}

gboolean
mp_headers_drain (MpHeaders *h, GError **error)
{
	g_autofree char *buf = NULL;
	struct stat st;

	if (h->fd < 0 || h->fd_eof || fstat (h->fd, &st) < 0 ||
	    !(S_ISFIFO (st.st_mode) || S_ISSOCK (st.st_mode)))
		return TRUE;
	/* to /dev/null inside the kernel when it can */
	{
		int null = open ("/dev/null", O_WRONLY | O_CLOEXEC);
		ssize_t n = 1;

		while (null >= 0 && n != 0) {
			n = splice (h->fd, NULL, null, NULL, 1 << 30,
				    SPLICE_F_MOVE);
			if (n < 0 && errno == EINTR)
				n = 1;
			else if (n < 0)
				break;
		}
		if (null >= 0)
			close (null);
		if (n == 0) {
			h->fd_eof = TRUE;
			return TRUE;
		}
	}
	buf = g_malloc (READ_CHUNK);
	for (;;) {
		ssize_t n = read (h->fd, buf, READ_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mp_error_set_errno (error, MP_ERROR_IO, errno, h->name);
			return FALSE;
		}
		if (n == 0)
			break;
	}
	h->fd_eof = TRUE;
	return TRUE;
}
