#include "mp-part.h"
#include "mp-error.h"

#include <string.h>

void
mp_part_stats_update (MpPartStats *stats, gsize *line_state,
		      gboolean *cr_pending, const guchar *data, gsize len)
{
	gsize i, line = *line_state;

	for (i = 0; i < len; i++) {
		guchar c = data[i];

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

	if (lines_ok && stats->non_ascii == 0)
		return GMIME_CONTENT_ENCODING_7BIT;
	if (lines_ok && allow_8bit && is_text)
		return GMIME_CONTENT_ENCODING_8BIT;
	if (is_text && stats->nul == 0 &&
	    stats->non_ascii * 6 < stats->length)
		return GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;
	return GMIME_CONTENT_ENCODING_BASE64;
}

static GBytes *
crlf_to_lf (GBytes *data)
{
	gsize len;
	const char *s = g_bytes_get_data (data, &len);
	char *out, *o;
	gsize i;

	if (len == 0 || memmem (s, len, "\r\n", 2) == NULL)
		return g_bytes_ref (data);
	out = o = g_malloc (len);
	for (i = 0; i < len; i++) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
			continue;
		*o++ = s[i];
	}
	return g_bytes_new_take (out, (gsize) (o - out));
}

static gboolean
check_text (GBytes *data, const char *charset, const char *what,
	    GError **error)
{
	gsize len;
	const char *s = g_bytes_get_data (data, &len);
	g_autoptr (GError) local = NULL;
	g_autofree char *conv = NULL;
	const char *end;

	if (charset == NULL) {
		if (!g_utf8_validate_len (s, len, &end)) {
			gsize line = 1;
			const char *p;

			for (p = s; p < end; p++)
				line += *p == '\n';
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: invalid UTF-8 at byte %" G_GSIZE_FORMAT
				     " (line %" G_GSIZE_FORMAT
				     "); name its charset with --charset",
				     what, (gsize) (end - s), line);
			return FALSE;
		}
		return TRUE;
	}
	conv = g_convert (s, (gssize) len, "UTF-8", charset, NULL, NULL,
			  &local);
	if (conv == NULL) {
		if (g_error_matches (local, G_CONVERT_ERROR,
				     G_CONVERT_ERROR_NO_CONVERSION))
			g_set_error (error, MP_ERROR, MP_ERROR_USAGE,
				     "%s: unknown charset", charset);
		else
			g_set_error (error, MP_ERROR, MP_ERROR_DATA,
				     "%s: not valid %s text: %s", what, charset,
				     local->message);
		return FALSE;
	}
	return TRUE;
}

GMimePart *
mp_part_new_text (const char *subtype, GBytes *data, const char *charset,
		  gboolean allow_8bit, const char *what, GError **error)
{
	g_autoptr (GBytes) text = NULL;
	g_autoptr (GMimeStream) stream = NULL;
	g_autoptr (GMimeDataWrapper) wrapper = NULL;
	MpPartStats stats = { 0 };
	gsize line = 0, len;
	gboolean cr = FALSE;
	const guchar *s;
	GMimePart *part;

	if (!check_text (data, charset, what, error))
		return NULL;
	text = crlf_to_lf (data);
	s = g_bytes_get_data (text, &len);
	mp_part_stats_update (&stats, &line, &cr, s, len);
	if (cr)
		stats.bare_cr++;

	part = GMIME_PART (g_mime_text_part_new_with_subtype (subtype));
	/* set the charset ourselves: g_mime_text_part_set_text() would pick
	 * iso-8859-1 for text that fits Latin-1 (DESIGN 4) */
	g_mime_object_set_content_type_parameter (
		GMIME_OBJECT (part), "charset",
		charset ? g_mime_charset_canon_name (charset) : "utf-8");
	stream = g_mime_stream_mem_new_with_byte_array (
		g_bytes_unref_to_array (g_bytes_ref (text)));
	wrapper = g_mime_data_wrapper_new_with_stream (
		stream, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content (part, wrapper);
	g_mime_part_set_content_encoding (
		part, mp_part_best_encoding (&stats, TRUE, allow_8bit));
	return part;
}
