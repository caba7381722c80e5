#include "mp-part.h"
#include "mp-base64.h"
#include "mp-error.h"
#include "mp-header.h"

#include <gio/gio.h>
#include <errno.h>
#include <string.h>

void
mp_part_stats_update (MpPartStats *stats, gsize *line_state,
		      gboolean *cr_pending, const guchar *data, gsize len)
{
	gsize i = 0, line = *line_state;

	for (;;) {
		guchar c;

		/* eight bytes at a time while none is NUL, CR, LF or >= 0x80:
		 * the common case of text and the whole cost of a large file */
		if (!*cr_pending) {
			while (i + 8 <= len) {
				guint64 w, x;

				memcpy (&w, data + i, 8);
#define HAS_ZERO(v) (((v) -0x0101010101010101ULL) & ~(v) &0x8080808080808080ULL)
				x = HAS_ZERO (w) |
				    HAS_ZERO (w ^ 0x0a0a0a0a0a0a0a0aULL) |
				    HAS_ZERO (w ^ 0x0d0d0d0d0d0d0d0dULL) |
				    (w & 0x8080808080808080ULL);
#undef HAS_ZERO
				if (x)
					break;
				line += 8;
				i += 8;
			}
		}
		if (i >= len)
			break;
		c = data[i++];

		if (*cr_pending && c != '\n')
			stats->bare_cr++;
		*cr_pending = FALSE;
		if (c == '\n') {
			if (line > stats->max_line)
				stats->max_line = line;
			line = 0;
			continue;
		}
		if (c == '\r') {
			*cr_pending = TRUE;
			continue;
		}
		line++;
		if (c >= 0x80)
			stats->non_ascii++;
		else if (c == 0)
			stats->nul++;
	}
	if (line > stats->max_line)
		stats->max_line = line;
	*line_state = line;
	stats->length += len;
}

GMimeContentEncoding
mp_part_best_encoding (const MpPartStats *stats, gboolean is_text,
		       gboolean allow_8bit)
{
	/* RFC 5322 2.1.1 and RFC 2045 2.7: lines of at most 998 octets,
	 * no NUL, CR only in CRLF */
	gboolean lines_ok = stats->max_line <= 998 && stats->nul == 0 &&
			    stats->bare_cr == 0;
	/* RFC 5322 2.1.1: lines SHOULD be at most 78; longer lines of text
	 * go quoted-printable, whose soft breaks keep every line short (what
	 * mblaze's mmime -c asks for) and decode to the same text */
	gboolean short_lines = stats->max_line <= 78 || !is_text;

	if (lines_ok && short_lines && stats->non_ascii == 0)
		return GMIME_CONTENT_ENCODING_7BIT;
	if (lines_ok && allow_8bit && is_text && stats->non_ascii > 0)
		return GMIME_CONTENT_ENCODING_8BIT;
	if (is_text && stats->nul == 0 && stats->non_ascii * 6 < stats->length)
		return GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
	return GMIME_CONTENT_ENCODING_BASE64;
}

/* Reads @content to its end in chunks: validates the text (UTF-8, or
 * @charset through iconv, a character cut by a chunk edge carried over),
 * gathers the statistics for the transfer encoding and notes CRLF line
 * endings.  Memory stays bounded whatever the size. */
static gboolean
scan_text (GMimeStream *content, const char *charset, const char *what,
	   MpPartStats *stats, gboolean *has_crlf, GError **error)
{
	enum {
		TEXT_CHUNK = 64 * 1024
	};
	g_autofree char *buf = g_malloc (TEXT_CHUNK + 8);
	g_autofree char *conv = NULL;
	GIConv cd = (GIConv) -1;
	gsize line = 0, carry = 0, offset = 0, lines = 1;
	gboolean cr = FALSE, ok = FALSE, last_cr = FALSE;

	if (charset) {
		cd = g_iconv_open ("UTF-8", charset);
		if (cd == (GIConv) -1) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "%s: unknown charset", charset);
			return FALSE;
		}
		conv = g_malloc (4 * TEXT_CHUNK);
	}
	*has_crlf = FALSE;
	g_mime_stream_reset (content);
	for (;;) {
		ssize_t n =
			g_mime_stream_read (content, buf + carry, TEXT_CHUNK);
		const char *p = buf, *bad = NULL;
		gsize have;

		/* GMime's file streams answer -1 at their end */
		if (n < 0 && g_mime_stream_eos (content))
			n = 0;
		if (n < 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_IO,
				     "%s: read error", what);
			goto out;
		}
		if (n == 0)
			break;
		mp_part_stats_update (stats, &line, &cr,
				      (const guchar *) buf + carry, (gsize) n);
		if ((last_cr && buf[carry] == '\n') ||
		    memmem (buf + carry, (gsize) n, "\r\n", 2))
			*has_crlf = TRUE;
		last_cr = buf[carry + (gsize) n - 1] == '\r';
		have = carry + (gsize) n;
		carry = 0;
		if (charset == NULL) {
			const char *end;

			if (!g_utf8_validate_len (buf, have, &end)) {
				gsize rest = have - (gsize) (end - buf);

				/* a character cut by the chunk's end */
				if (rest < 4 && g_utf8_get_char_validated (
							end, (gssize) rest) ==
							(gunichar) -2)
					carry = rest;
				else
					bad = end;
			}
		} else {
			char *in = buf;
			gsize inleft = have;

			while (inleft > 0) {
				char *o = conv;
				gsize oleft = 4 * TEXT_CHUNK;

				if (g_iconv (cd, &in, &inleft, &o, &oleft) !=
					    (gsize) -1 ||
				    errno == E2BIG)
					continue;
				if (errno == EINVAL && inleft < 8)
					carry = inleft;
				else
					bad = in;
				break;
			}
		}
		for (; p < buf + have - carry && (bad == NULL || p < bad); p++)
			lines += *p == '\n';
		if (bad) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: invalid %s at byte %" G_GSIZE_FORMAT
				     " (line %" G_GSIZE_FORMAT ")%s",
				     what, charset ? charset : "UTF-8",
				     offset + (gsize) (bad - buf), lines,
				     charset ? "" :
					       "; name its charset with "
					       "--charset");
			goto out;
		}
		offset += have - carry;
		memmove (buf, buf + have - carry, carry);
	}
	if (carry) {
		g_set_error (error, MP_ERROR, MP_ERROR_DATA,
			     "%s: invalid %s at byte %" G_GSIZE_FORMAT
			     " (a character cut short at the end)",
			     what, charset ? charset : "UTF-8", offset);
		goto out;
	}
	if (cr)
		stats->bare_cr++;
	ok = TRUE;
out:
	if (cd != (GIConv) -1)
		g_iconv_close (cd);
	g_mime_stream_reset (content);
	return ok;
}

GMimePart *
mp_part_new_text_from_stream (const char *subtype, GMimeStream *content,
			      const char *charset, gboolean allow_8bit,
			      const char *what, GError **error)
{
	g_autoptr (GMimeStream) text = NULL;
	g_autoptr (GMimeDataWrapper) wrapper = NULL;
	MpPartStats stats = { 0 };
	gboolean has_crlf;
	GMimePart *part;

	if (!scan_text (content, charset, what, &stats, &has_crlf, error))
		return NULL;
	if (has_crlf) {
		/* LF inside; the output's line endings are chosen on writing */
		g_autoptr (GMimeFilter) d2u =
			g_mime_filter_dos2unix_new (FALSE);

		text = g_mime_stream_filter_new (content);
		g_mime_stream_filter_add (GMIME_STREAM_FILTER (text), d2u);
	} else {
		text = g_object_ref (content);
	}

	part = GMIME_PART (g_mime_text_part_new_with_subtype (subtype));
	/* set the charset ourselves: g_mime_text_part_set_text() would pick
	 * iso-8859-1 for text that fits Latin-1 (DESIGN 4) */
	g_mime_object_set_content_type_parameter (
		GMIME_OBJECT (part), "charset",
		charset ? g_mime_charset_canon_name (charset) : "utf-8");
	wrapper = g_mime_data_wrapper_new_with_stream (
		text, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content (part, wrapper);
	g_mime_part_set_content_encoding (
		part, mp_part_best_encoding (&stats, TRUE, allow_8bit));
	return part;
}

GMimePart *
mp_part_new_text (const char *subtype, GBytes *data, const char *charset,
		  gboolean allow_8bit, const char *what, GError **error)
{
	g_autoptr (GMimeStream) mem = g_mime_stream_mem_new_with_buffer (
		g_bytes_get_data (data, NULL), g_bytes_get_size (data));

	return mp_part_new_text_from_stream (subtype, mem, charset, allow_8bit,
					     what, error);
}

/* ---- parts from files ------------------------------------------------ */

#define SNIFF_SIZE 4096
#define CHUNK_SIZE (64 * 1024)

struct _MpLeaf {
	char *headers; /* the header block, LF line endings */
	char *content_id;
	GMimeStream *content; /* the decoded bytes */
	MpInput *input;       /* owns content when made from a file */
	GMimeContentEncoding encoding;
	gboolean message; /* message/rfc822: line endings normalised */
	char *mime_type;
};

/* GMimeStreamFs returns -1, not 0, when read at the end of its bounds */
static ssize_t
stream_read (GMimeStream *stream, char *buf, size_t len)
{
	if (g_mime_stream_eos (stream))
		return 0;
	return g_mime_stream_read (stream, buf, len);
}

char *
mp_part_guess_type (const char *name, const guchar *data, gsize len)
{
	g_autofree char *ct = NULL;
	gboolean uncertain = FALSE;
	char *mime;

	ct = g_content_type_guess (name, data, len, &uncertain);
	if (ct && g_strcmp0 (ct, "application/x-zerosize") == 0) {
		/* empty data says nothing: go by the name alone */
		g_free (ct);
		ct = g_content_type_guess (name, NULL, 0, &uncertain);
		if (uncertain) {
			g_clear_pointer (&ct, g_free);
			ct = g_strdup ("text/plain");
		}
	}
	mime = ct ? g_content_type_get_mime_type (ct) : NULL;
	if (mime == NULL || strchr (mime, '/') == NULL) {
		g_free (mime);
		mime = g_strdup ("application/octet-stream");
	}
	return mime;
}

/* Statistics of a whole stream, and whether it is valid UTF-8. */
typedef struct {
	MpPartStats stats;
	gboolean utf8;
	gboolean has_cr;
} Scan;

static gboolean
scan_stream (GMimeStream *stream, Scan *scan, const char *what, GError **error)
{
	g_autofree guchar *buf = g_malloc (CHUNK_SIZE + 4);
	gsize line = 0, carry = 0;
	gboolean cr = FALSE;

	memset (scan, 0, sizeof *scan);
	scan->utf8 = TRUE;
	g_mime_stream_reset (stream);
	for (;;) {
		ssize_t n =
			stream_read (stream, (char *) buf + carry, CHUNK_SIZE);
		const char *end;
		gsize have;

		if (n < 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_IO,
				     "%s: read error", what);
			return FALSE;
		}
		if (n == 0)
			break;
		mp_part_stats_update (&scan->stats, &line, &cr, buf + carry,
				      (gsize) n);
		if (memchr (buf + carry, '\r', (gsize) n))
			scan->has_cr = TRUE;
		have = carry + (gsize) n;
		carry = 0;
		if (scan->utf8 &&
		    !g_utf8_validate_len ((const char *) buf, have, &end)) {
			gsize rest = have - (gsize) (end - (const char *) buf);

			/* a character cut by the chunk boundary */
			if (rest < 4 &&
			    g_utf8_get_char_validated (end, (gssize) rest) ==
				    (gunichar) -2) {
				memmove (buf, end, rest);
				carry = rest;
			} else {
				scan->utf8 = FALSE;
			}
		}
	}
	if (carry)
		scan->utf8 = FALSE;
	if (cr)
		scan->stats.bare_cr++;
	g_mime_stream_reset (stream);
	return TRUE;
}

/* Appends "; token" to a header being built, folding before the token
 * when the line would pass 76 columns. */
static void
append_token (GString *h, gsize *col, const char *token)
{
	gsize len = strlen (token);

	g_string_append_c (h, ';');
	if (*col + 2 + len > 76) {
		g_string_append (h, "\n\t");
		*col = 8;
	} else {
		g_string_append_c (h, ' ');
		*col += 2;
	}
	g_string_append (h, token);
	*col += len;
}

/* RFC 2231 7 (and RFC 5987 3.2.1): attribute-char */
static gboolean
is_attr_char (guchar c)
{
	return g_ascii_isalnum (c) || (c && strchr ("!#$&+-.^_`|~", c));
}

/* A file name parameter: a quoted string when it is short printable
 * ASCII without '"' or '\\', else RFC 2231 utf-8'' with continuations,
 * each cut between characters so no piece holds half a character (a
 * decoder that decodes the pieces one by one still reads it).  A quoted
 * pair (\") is valid but mblaze, among others, cuts the name there. */
static void
append_name_param (GString *h, gsize *col, const char *param, const char *value)
{
	g_autoptr (GPtrArray) pieces = g_ptr_array_new_with_free_func (g_free);
	g_autoptr (GString) cur = g_string_new (NULL);
	gboolean plain = strlen (param) + strlen (value) + 3 <= 60;
	const char *p;
	guint i;

	for (p = value; plain && *p; p++)
		plain = (guchar) *p >= 0x20 && (guchar) *p < 0x7f &&
			*p != '"' && *p != '\\';
	if (plain) {
		g_autofree char *tok =
			g_strdup_printf ("%s=\"%s\"", param, value);

		append_token (h, col, tok);
		return;
	}
	for (p = value; *p; p = g_utf8_next_char (p)) {
		const char *next = g_utf8_next_char (p);
		g_autoptr (GString) ch = g_string_new (NULL);
		const char *q;

		for (q = p; q < next; q++) {
			if (is_attr_char ((guchar) *q))
				g_string_append_c (ch, *q);
			else
				g_string_append_printf (ch, "%%%02X",
							(guchar) *q);
		}
		if (cur->len + ch->len > 56) {
			g_ptr_array_add (pieces, g_strdup (cur->str));
			g_string_truncate (cur, 0);
		}
		g_string_append (cur, ch->str);
	}
	g_ptr_array_add (pieces, g_strdup (cur->str));
	for (i = 0; i < pieces->len; i++) {
		g_autofree char *tok = NULL;

		if (pieces->len == 1)
			tok = g_strdup_printf ("%s*=utf-8''%s", param,
					       (char *) pieces->pdata[0]);
		else
			tok = g_strdup_printf ("%s*%u*=%s%s", param, i,
					       i == 0 ? "utf-8''" : "",
					       (char *) pieces->pdata[i]);
		append_token (h, col, tok);
	}
}

static const char *
encoding_name (GMimeContentEncoding e)
{
	const char *s = g_mime_content_encoding_to_string (e);

	return s ? s : "7bit";
}

/* A message saved from an mbox starts with a "From " line that is not a
 * header field: the forwarded message starts after it. */
static GMimeStream *
message_content (GMimeStream *stream)
{
	char head[1024];
	ssize_t n;
	const char *nl;

	g_mime_stream_reset (stream);
	n = stream_read (stream, head, sizeof head);
	g_mime_stream_reset (stream);
	if (n < 5 || memcmp (head, "From ", 5) != 0 ||
	    (nl = memchr (head, '\n', (gsize) n)) == NULL)
		return g_object_ref (stream);
	return g_mime_stream_substream (stream,
					stream->bound_start + (nl + 1 - head),
					stream->bound_end);
}

static char *
display_name (MpInput *in)
{
	const char *path = mp_input_get_name (in);
	g_autofree char *base = g_path_get_basename (path);
	char *utf8 = g_filename_to_utf8 (base, -1, NULL, NULL, NULL);

	return utf8 ? utf8 : g_filename_display_name (base);
}

MpLeaf *
mp_part_leaf_new_file (MpInput *in, const MpPartFileOptions *opts,
		       GError **error)
{
	g_autoptr (MpInput) input = in;
	g_autoptr (MpLeaf) leaf = g_new0 (MpLeaf, 1);
	g_autoptr (GMimeContentType) ctype = NULL;
	g_autofree char *name = NULL;
	g_autofree char *mime = NULL;
	const char *what = mp_input_get_name (in);
	GMimeStream *stream = mp_input_get_stream (in);
	gboolean is_text, is_message;
	Scan scan = { 0 };

	name = opts->name ? g_strdup (opts->name) : display_name (in);
	if (opts->type) {
		ctype = g_mime_content_type_parse (NULL, opts->type);
		if (ctype == NULL || strchr (opts->type, '/') == NULL) {
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "%s: --type %s: not a media type", what,
				     opts->type);
			return NULL;
		}
	} else if (opts->message) {
		ctype = g_mime_content_type_parse (NULL, "message/rfc822");
	} else {
		guchar sniff[SNIFF_SIZE];
		ssize_t n = stream_read (stream, (char *) sniff, sizeof sniff);

		if (n < 0) {
			g_set_error (error, MP_ERROR, MP_ERROR_IO,
				     "%s: read error", what);
			return NULL;
		}
		g_mime_stream_reset (stream);
		mime = mp_part_guess_type (name, sniff, (gsize) n);
		ctype = g_mime_content_type_parse (NULL, mime);
	}
	g_free (mime);
	{
		g_autofree char *m = g_mime_content_type_get_mime_type (ctype);

		mime = g_ascii_strdown (m, -1);
	}
	is_message = opts->message || strcmp (mime, "message/rfc822") == 0;
	is_text = g_str_has_prefix (mime, "text/");

	/* only text and messages need their bytes looked at: anything else
	 * is base64 whatever it holds, and scanning 1 GB costs seconds */
	if ((is_text || is_message) &&
	    !scan_stream (stream, &scan, what, error))
		return NULL;

	if (is_message) {
		g_autoptr (GMimeMessage) msg = NULL;
		g_autoptr (GError) local = NULL;

		/* refuse what is not a message rather than forward junk */
		msg = mp_input_parse_message (in, NULL, &local);
		if (msg == NULL) {
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s (cannot forward it)", local->message);
			return NULL;
		}
		/* RFC 2046 5.2.1: message/rfc822 is 7bit, 8bit or binary */
		if (scan.stats.non_ascii == 0 && scan.stats.nul == 0 &&
		    scan.stats.max_line <= 998)
			leaf->encoding = GMIME_CONTENT_ENCODING_7BIT;
		else if (scan.stats.nul == 0 && scan.stats.max_line <= 998)
			leaf->encoding = GMIME_CONTENT_ENCODING_8BIT;
		else
			leaf->encoding = GMIME_CONTENT_ENCODING_BINARY;
		leaf->message = TRUE;
		g_free (mime);
		mime = g_strdup ("message/rfc822");
		g_object_unref (ctype);
		ctype = g_mime_content_type_parse (NULL, mime);
	} else if (is_text) {
		if (!scan.utf8 && opts->type == NULL) {
			/* no charset to label it with: do not pretend */
			g_free (mime);
			mime = g_strdup ("application/octet-stream");
			g_object_unref (ctype);
			ctype = g_mime_content_type_parse (NULL, mime);
			leaf->encoding = GMIME_CONTENT_ENCODING_BASE64;
		} else if (!scan.utf8 && !g_mime_content_type_get_parameter (
						 ctype, "charset")) {
			/* a text part always carries its charset (DESIGN 4) */
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: not UTF-8 text; give its charset "
				     "(--type '%s; charset=...')",
				     what, mime);
			return NULL;
		} else {
			if (scan.utf8 && !g_mime_content_type_get_parameter (
						 ctype, "charset"))
				g_mime_content_type_set_parameter (
					ctype, "charset", "utf-8");
			leaf->encoding = scan.has_cr ?
						 GMIME_CONTENT_ENCODING_BASE64 :
						 mp_part_best_encoding (
							 &scan.stats, TRUE,
							 opts->allow_8bit);
		}
	} else {
		leaf->encoding = GMIME_CONTENT_ENCODING_BASE64;
	}

	{
		g_autoptr (GString) h = g_string_new ("Content-Type: ");
		GMimeParamList *params =
			g_mime_content_type_get_parameters (ctype);
		gsize col;
		int i;

		g_string_append (h, mime);
		col = h->len;
		for (i = 0; i < g_mime_param_list_length (params); i++) {
			GMimeParam *prm =
				g_mime_param_list_get_parameter_at (params, i);
			const char *pname = g_mime_param_get_name (prm);

			if (g_ascii_strcasecmp (pname, "name") == 0)
				continue;
			append_name_param (h, &col, pname,
					   g_mime_param_get_value (prm));
		}
		if (*name)
			append_name_param (h, &col, "name", name);
		g_string_append (h, "\nContent-Disposition: ");
		g_string_append (h, opts->inline_disposition ? "inline" :
							       "attachment");
		col = h->len - (gsize) (strrchr (h->str, '\n') - h->str) - 1;
		if (*name)
			append_name_param (h, &col, "filename", name);
		g_string_append_c (h, '\n');
		if (opts->content_id) {
			leaf->content_id = g_strdup (opts->content_id);
			g_string_append_printf (h, "Content-ID: <%s>\n",
						opts->content_id);
		}
		if (opts->description && *opts->description) {
			g_autofree char *d = mp_header_format_text (
				"Content-Description", opts->description);

			g_string_append (h, d);
		}
		g_string_append_printf (h, "Content-Transfer-Encoding: %s\n",
					encoding_name (leaf->encoding));
		leaf->headers = g_string_free (g_steal_pointer (&h), FALSE);
	}
	leaf->mime_type = g_steal_pointer (&mime);
	leaf->content = leaf->message ? message_content (stream) :
					g_object_ref (stream);
	leaf->input = g_steal_pointer (&input);
	return g_steal_pointer (&leaf);
}

MpLeaf *
mp_part_leaf_new_part (GMimePart *part)
{
	MpLeaf *leaf = g_new0 (MpLeaf, 1);
	GMimeDataWrapper *w = g_mime_part_get_content (part);
	g_autoptr (GMimeFormatOptions) fmt = g_mime_format_options_new ();
	const char *cid = g_mime_object_get_content_id (GMIME_OBJECT (part));

	leaf->headers = g_mime_object_get_headers (GMIME_OBJECT (part), fmt);
	leaf->content_id = g_strdup (cid);
	leaf->content = w ? g_object_ref (g_mime_data_wrapper_get_stream (w)) :
			    g_mime_stream_mem_new ();
	leaf->encoding = g_mime_part_get_content_encoding (part);
	{
		g_autofree char *m = g_mime_content_type_get_mime_type (
			g_mime_object_get_content_type (GMIME_OBJECT (part)));

		leaf->mime_type = g_ascii_strdown (m, -1);
	}
	return leaf;
}

void
mp_part_leaf_free (MpLeaf *leaf)
{
	if (leaf == NULL)
		return;
	g_free (leaf->headers);
	g_free (leaf->content_id);
	g_clear_object (&leaf->content);
	g_clear_pointer (&leaf->input, mp_input_free);
	g_free (leaf->mime_type);
	g_free (leaf);
}

const char *
mp_part_leaf_get_mime_type (MpLeaf *leaf)
{
	return leaf->mime_type;
}

const char *
mp_part_leaf_get_content_id (MpLeaf *leaf)
{
	return leaf->content_id;
}

GMimeContentEncoding
mp_part_leaf_get_encoding (MpLeaf *leaf)
{
	return leaf->encoding;
}

static char *
lf_to_crlf (const char *s)
{
	GString *out = g_string_sized_new (strlen (s) + 16);

	for (; *s; s++) {
		if (*s == '\n' &&
		    (out->len == 0 || out->str[out->len - 1] != '\r'))
			g_string_append_c (out, '\r');
		g_string_append_c (out, *s);
	}
	return g_string_free (out, FALSE);
}

gboolean
mp_part_leaf_write (MpLeaf *leaf, MpOutput *out, gboolean crlf, GError **error)
{
	g_autofree char *headers = g_strdup (leaf->headers);
	g_autofree char *buf = NULL;
	g_autoptr (GMimeStream) filter = NULL;
	GMimeStreamFilter *f;
	gboolean encode;

	if (crlf) {
		char *h = lf_to_crlf (headers);

		g_free (headers);
		headers = h;
	}
	if (!mp_output_write (out, headers, strlen (headers), error) ||
	    !mp_output_write (out, crlf ? "\r\n" : "\n", crlf ? 2 : 1, error))
		return FALSE;

	filter = g_mime_stream_filter_new (mp_output_get_stream (out));
	f = GMIME_STREAM_FILTER (filter);
	encode = leaf->encoding == GMIME_CONTENT_ENCODING_BASE64 ||
		 leaf->encoding == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
		 leaf->encoding == GMIME_CONTENT_ENCODING_UUENCODE;
	if (encode) {
		/* our base64 encoder is several times faster than GMime's and
		 * writes the same bytes (tests/unit/test-base64.c) */
		g_autoptr (GMimeFilter) enc =
			leaf->encoding == GMIME_CONTENT_ENCODING_BASE64 ?
				mp_filter_base64_new () :
				g_mime_filter_basic_new (leaf->encoding, TRUE);

		g_mime_stream_filter_add (f, enc);
	}
	if (leaf->message && !crlf) {
		g_autoptr (GMimeFilter) d2u =
			g_mime_filter_dos2unix_new (FALSE);

		g_mime_stream_filter_add (f, d2u);
	}
	if (crlf) {
		g_autoptr (GMimeFilter) u2d =
			g_mime_filter_unix2dos_new (FALSE);

		g_mime_stream_filter_add (f, u2d);
	}

	buf = g_malloc (CHUNK_SIZE);
	g_mime_stream_reset (leaf->content);
	for (;;) {
		ssize_t n = stream_read (leaf->content, buf, CHUNK_SIZE);

		if (n < 0) {
			g_set_error (
				error, MP_ERROR, MP_ERROR_IO, "%s: read error",
				leaf->input ? mp_input_get_name (leaf->input) :
					      "part");
			return FALSE;
		}
		if (n == 0)
			break;
		if (!mp_output_check (
			    out, g_mime_stream_write (filter, buf, (size_t) n),
			    error))
			return FALSE;
	}
	return mp_output_check (out, g_mime_stream_flush (filter), error);
}
