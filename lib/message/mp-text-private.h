/* mp-text's insides that mp-part's GMime text parts share (not for use
 * outside lib/message). */
#pragma once

#include "mp-part.h"

#define TEXT_CHUNK (256 * 1024)

/* What one read of the data tells: the statistics for the transfer
 * encoding, whether it is valid UTF-8 (and where it stops being so),
 * whether it has CRLF line endings.  Fed in pieces of any size: a line, a
 * CR or a UTF-8 character cut by a piece's edge is carried over. */
typedef struct {
	MpPartStats stats;
	gsize line;          /* length of the current line so far */
	gboolean cr;         /* the last byte was a CR */
	gboolean has_crlf;   /* a CR LF pair */
	gboolean has_cr;     /* any CR */
	gboolean check_utf8; /* validate as UTF-8 */
	gboolean utf8_bad;   /* an invalid sequence was found */
	guint need;          /* continuation bytes still expected */
	guint lo, hi;        /* the range of the next continuation byte */
	gsize seq_start;     /* offset of the character being read */
	gsize seq_line;      /* its line, from 1 */
	gsize bad_offset;    /* the first invalid character */
	gsize bad_line;
	gsize lfs; /* line feeds so far */
} TextScan;

/* The scanner: call mp_text_scan_setup() once (CPU features), then
 * init, update with each piece, finish. */
void mp_text_scan_setup (void);
void mp_text_scan_init (TextScan *s, gboolean check_utf8);
void mp_text_scan_update (TextScan *s, const guchar *data, gsize len);
void mp_text_scan_finish (TextScan *s);

/* Reads up to @len bytes of @src into @buf: 0 at the end, -1 on an
 * error. */
typedef ssize_t (*ReadFunc) (gpointer src, char *buf, gsize len);

/* Writes @len bytes to @dst; FALSE on an error. */
typedef gboolean (*WriteFunc) (gpointer dst, const char *buf, gsize len);

/* Reads @src to its end in chunks of @chunk bytes (at most TEXT_CHUNK:
 * the size of a small text saves mapping big buffers), once: validates the text (UTF-8,
 * or @charset through iconv, a character cut by a chunk edge carried
 * over), gathers the statistics for the transfer encoding and notes CR
 * and CRLF line endings.  Memory stays bounded whatever the size. */
gboolean mp_text_scan_read (ReadFunc read, gpointer src, gsize chunk,
			    const char *charset, const char *what, TextScan *s,
			    GError **error);

/* The content as GMime writes it, read in chunks of @chunk bytes (the
 * bytes do not depend on it) (the source, CRLF made LF when @crlf,
 * encoded with @enc, and for 7bit and 8bit its line endings made LF once
 * more when @has_cr), in one pass over @src in chunks.  Returns the bytes
 * written or -1. */
ssize_t mp_text_write_content (GMimeContentEncoding enc, gboolean crlf,
			       gboolean has_cr, gsize chunk, ReadFunc read,
			       gpointer src, WriteFunc write, gpointer dst);
