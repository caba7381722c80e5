/* mp-multipart: the framing of a multipart we write (RFC 2046 5.1.1):
 * the boundary, the Content-Type line that carries it, the delimiter
 * lines and the close delimiter.  The one home of that framing for
 * mp-compose (a new message) and mp-tree (the edits); free of GMime and
 * GObject, so that a static mime-compose links neither (issue 21).
 *
 * Two conventions stay, because the output of both writers must not
 * change by a byte (the compose-bytes test and the README's jobs compare
 * bytes with a fixed --seed):
 * - MP_MULTIPART_PLAIN, mime-compose's, as GMime wrote it: a bare token
 *   of 24 characters, unquoted, never folded.  Compose writes the whole
 *   message, so nothing but its own text parts can hold a delimiter.
 * - MP_MULTIPART_MARKED, the edits': "=_" (or another prefix holding
 *   "=_") then 24 characters, quoted, folded before "boundary=" when the
 *   line would pass 78 columns (RFC 5322 2.1.1).  An edit encloses parts
 *   written by others, so its boundaries are chosen to be easy to check
 *   against them: "=_" never stands in base64 or quoted-printable text
 *   (RFC 2045 6.7). */
#pragma once

#include "mp-random.h"

G_BEGIN_DECLS

typedef enum {
	MP_MULTIPART_PLAIN,
	MP_MULTIPART_MARKED,
} MpMultipartStyle;

/* A new boundary in @style (newly allocated): for MP_MULTIPART_MARKED the
 * prefix numbered @variant (modulo their number: "=_" for 0, and for
 * the others a character before "=_", for a message holding a short
 * boundary that every "=_..." starts with), then a token of @random;
 * for MP_MULTIPART_PLAIN the token alone (@variant is ignored). */
char *mp_multipart_boundary_new (MpRandom *random, MpMultipartStyle style,
				 guint variant);

/* TRUE when the @avail bytes at @p could start the delimiter of a
 * boundary made by mp_multipart_boundary_new() in MP_MULTIPART_MARKED:
 * "--" then "=_" at once or after one character. */
gboolean mp_multipart_like_marked_delimiter (const char *p, gsize avail);

/* Appends to @out the line "Content-Type: @type; boundary=@boundary"
 * and its LF, in @style (quoted and folded for MP_MULTIPART_MARKED; 78
 * columns are counted from where the line starts in @out).  @root_type,
 * when not NULL, is written as the type= parameter before the boundary
 * (RFC 2387 3.1: the media type of a multipart/related's root). */
void mp_multipart_append_content_type (GString *out, const char *type,
				       const char *root_type,
				       const char *boundary,
				       MpMultipartStyle style);

/* The delimiter line before a part: "--@boundary" and LF, preceded by
 * an LF when it follows a part (RFC 2046 5.1.1: the line break before a
 * delimiter belongs to the delimiter).  Newly allocated. */
char *mp_multipart_delimiter (const char *boundary, gboolean after_part);

/* The close delimiter after the last part: LF, "--@boundary--", then an
 * LF when @line_end (else the writer ends the line, or an enclosing
 * multipart's next delimiter does).  Newly allocated. */
char *mp_multipart_close_delimiter (const char *boundary, gboolean line_end);

G_END_DECLS
