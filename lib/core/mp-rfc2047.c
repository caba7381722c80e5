#include "mp-rfc2047.h"
#include "mp-charset.h"

#include <string.h>

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
	/* Latin-1 read as windows-1252 (mp_charset_reading_name()); unknown:
	 * keep what reads as UTF-8 (common in practice) */
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

char *
mp_rfc2047_make_safe (GString *s)
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

/* @raw without the blanks after the colon (those after a line break
 * stay, as Python's email has it) and unfolded (RFC 5322 2.2.3: line
 * breaks go, the blanks stay).  *@n receives the length. */
static char *
unfold (const char *raw, gsize len, gsize *n)
{
	char *s = g_malloc (len + 1);
	gsize i;

	for (i = 0; i < len && is_blank (raw[i]); i++)
		;
	*n = 0;
	for (; i < len; i++)
		if (raw[i] != '\r' && raw[i] != '\n')
			s[(*n)++] = raw[i];
	s[*n] = '\0';
	return s;
}

/* The end of plain text starting at @p: a blank, or an encoded word
 * inside it. */
static const char *
plain_end (const char *p, const char *end, EndCache *cache)
{
	const char *q;

	for (q = p + 1; q < end && !is_blank (*q); q++) {
		PendingWord probe = { NULL, NULL };

		if (q[0] == '=' && q + 1 < end && q[1] == '?' &&
		    parse_encoded_word (q, end, cache, &probe)) {
			g_byte_array_unref (probe.bytes);
			g_free (probe.charset);
			break;
		}
	}
	return q;
}

char *
mp_rfc2047_decode_text (const char *raw, gssize len)
{
	g_autofree char *s = NULL;
	const char *p, *end;
	GString *out;
	PendingWord word = { NULL, NULL };
	EndCache cache = { NULL, NULL };
	const char *ws = NULL; /* blanks after an encoded word, held back */
	gsize wslen = 0, n = 0;
	gboolean utf8;

	if (len < 0)
		len = (gssize) strlen (raw);
	s = unfold (raw, (gsize) len, &n);
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
		q = plain_end (p, end, &cache);
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

	return mp_rfc2047_make_safe (out);
}
