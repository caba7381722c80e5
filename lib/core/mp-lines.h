/* mp-lines: the lines of a range of a seekable stream, read in chunks,
 * each with its offset: how mp-tree and mp-crypto find a message's
 * structure without holding it in memory. */
#pragma once

#include <gmime/gmime.h>

G_BEGIN_DECLS

#define MP_LINES_CHUNK (64 * 1024)
#define MP_LINES_HEAD 1024 /* bytes kept of a line longer than a chunk */

typedef struct {
	GMimeStream *stream;
	char *buf;
	gsize len, off; /* bytes in buf, read index */
	gint64 pos;     /* offset of buf[0] */
	gint64 limit;   /* end of the range read */
	char head[MP_LINES_HEAD];
} MpLines;

typedef struct {
	gint64 start;     /* offset of the line */
	gsize len;        /* its length without the line ending */
	guint eol;        /* length of the line ending: 0, 1 (LF) or 2 (CRLF) */
	const char *data; /* its first avail bytes */
	gsize avail;
} MpLine;

/* Reads [@start, @limit) of @stream (borrowed). */
void mp_lines_init (MpLines *r, GMimeStream *stream, gint64 start,
		    gint64 limit);
void mp_lines_clear (MpLines *r);

/* Reads more into the buffer; returns the number of bytes read, 0 at the
 * end of the range, -1 on error (MP_ERROR_IO). */
gssize mp_lines_fill (MpLines *r, GError **error);

/* The next line; FALSE at the end of the range or on error (@error set).
 * A line longer than the buffer comes with its first MP_LINES_HEAD bytes
 * in data and its whole length in len. */
gboolean mp_lines_next (MpLines *r, MpLine *l, GError **error);

/* Looks through the @n bytes at @p, a pair of neighbours at a time, for
 * the first LF followed by "-" (with @dash: a line that may be a
 * delimiter starts after it) or the first CR not followed by LF (with
 * @bare_cr).  Returns the offset of the LF or CR found, or @n - 1 when
 * none of the pairs in the bytes holds one (the last byte, having no
 * neighbour here, is never one).  @n must be at least 1. */
gsize mp_lines_scan (const char *p, gsize n, gboolean dash, gboolean bare_cr);

G_END_DECLS
