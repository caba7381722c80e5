/* mp-part: MIME parts built from data: text parts that always carry their
 * charset, and the transfer encoding each part's bytes need. */
#pragma once

#include "mp-autoptr.h"

G_BEGIN_DECLS

/* Statistics of a run of bytes, to choose a transfer encoding. */
typedef struct {
	gsize length;
	gsize non_ascii;   /* bytes >= 0x80 */
	gsize nul;         /* NUL bytes */
	gsize bare_cr;     /* CR not followed by LF */
	gsize max_line;    /* longest line in bytes, without its ending */
} MpPartStats;

/* Adds @len bytes of @data to @stats (call repeatedly for streamed data;
 * start from a zeroed struct).  @line_state carries the current line's
 * length between calls (start at 0). */
void mp_part_stats_update (MpPartStats *stats, gsize *line_state,
			   gboolean *cr_pending, const guchar *data,
			   gsize len);

/* The transfer encoding for data with @stats (DESIGN 4): 7bit when it is,
 * 8bit when @allow_8bit and lines fit, quoted-printable for mostly-ASCII
 * text, base64 otherwise.  @is_text: the data is text (QP is allowed). */
GMimeContentEncoding mp_part_best_encoding (const MpPartStats *stats,
					    gboolean is_text,
					    gboolean allow_8bit);

/* Creates a text/@subtype part holding @data.  With @charset NULL, @data
 * must be valid UTF-8 and the part is labelled charset=utf-8; otherwise
 * @data must be valid in @charset and is labelled so.  CRLF line endings
 * become LF (the output's line endings are chosen when writing).
 * @what names the data in errors ("body", a file name).
 * Errors: MP_ERROR_DATA for invalid text, MP_ERROR_USAGE for an unknown
 * charset. */
GMimePart *mp_part_new_text (const char *subtype, GBytes *data,
			     const char *charset, gboolean allow_8bit,
			     const char *what, GError **error);

G_END_DECLS
