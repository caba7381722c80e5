#include "mp-lines.h"
#include "mp-error.h"

#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

void
mp_lines_init (MpLines *r, GMimeStream *stream, gint64 start, gint64 limit)
{
	memset (r, 0, sizeof *r);
	r->stream = stream;
	r->buf = g_malloc (MP_LINES_CHUNK);
	r->pos = start;
	r->limit = limit;
}

void
mp_lines_clear (MpLines *r)
{
	g_clear_pointer (&r->buf, g_free);
}

/* Reads more into the buffer; returns the number of bytes read, 0 at the
 * end of the range, -1 on error. */
gssize
mp_lines_fill (MpLines *r, GError **error)
{
	gint64 at;
	gsize want;
	ssize_t n;

	if (r->off > 0) {
		memmove (r->buf, r->buf + r->off, r->len - r->off);
		r->pos += (gint64) r->off;
		r->len -= r->off;
		r->off = 0;
	}
	at = r->pos + (gint64) r->len;
	if (at >= r->limit || r->len == MP_LINES_CHUNK)
		return 0;
	want = MP_LINES_CHUNK - r->len;
	if ((gint64) want > r->limit - at)
		want = (gsize) (r->limit - at);
	if (g_mime_stream_seek (r->stream, at, GMIME_STREAM_SEEK_SET) != at ||
	    (n = g_mime_stream_read (r->stream, r->buf + r->len, want)) < 0) {
		g_set_error (error, MP_ERROR, MP_ERROR_IO, "stdin: read error");
		return -1;
	}
	r->len += (gsize) n;
	return n;
}

/* The next line; FALSE at the end of the range or on error (@error set). */
gboolean
mp_lines_next (MpLines *r, MpLine *l, GError **error)
{
	for (;;) {
		char *p = memchr (r->buf + r->off, '\n', r->len - r->off);
		gssize n;

		if (p) {
			gsize end = (gsize) (p - r->buf);

			l->start = r->pos + (gint64) r->off;
			l->len = end - r->off;
			l->eol = 1;
			if (l->len > 0 && r->buf[end - 1] == '\r') {
				l->len--;
				l->eol = 2;
			}
			l->data = r->buf + r->off;
			l->avail = l->len;
			r->off = end + 1;
			return TRUE;
		}
		if (r->off > 0 || r->len < MP_LINES_CHUNK) {
			n = mp_lines_fill (r, error);
			if (n < 0)
				return FALSE;
			if (n > 0)
				continue;
		}
		if (r->len == r->off)
			return FALSE;
		if (r->len < MP_LINES_CHUNK) {
			/* the last line, without a line ending */
			l->start = r->pos + (gint64) r->off;
			l->len = r->len - r->off;
			l->eol = 0;
			l->data = r->buf + r->off;
			l->avail = l->len;
			r->off = r->len;
			return TRUE;
		}
		/* a line longer than the buffer: keep its head, skip the rest */
		memcpy (r->head, r->buf, MP_LINES_HEAD);
		l->start = r->pos;
		l->data = r->head;
		l->avail = MP_LINES_HEAD;
		l->eol = 0;
		for (;;) {
			p = memchr (r->buf + r->off, '\n', r->len - r->off);
			if (p) {
				r->off = (gsize) (p - r->buf) + 1;
				l->eol = 1;
				l->len = (gsize) (r->pos +
						  (gint64) (p - r->buf) -
						  l->start);
				if (p > r->buf && p[-1] == '\r') {
					l->eol = 2;
					l->len--;
				}
				return TRUE;
			}
			r->off = r->len;
			n = mp_lines_fill (r, error);
			if (n < 0)
				return FALSE;
			if (n == 0) {
				l->len = (gsize) (r->pos + (gint64) r->len -
						  l->start);
				return TRUE;
			}
		}
	}
}

gsize
mp_lines_scan (const char *p, gsize n, gboolean dash, gboolean bare_cr)
{
	gsize i = 0;

#ifdef __SSE2__
	/* sixteen pairs at a time: most messages have neither */
	const __m128i lf = _mm_set1_epi8 ('\n'), minus = _mm_set1_epi8 ('-'),
		      cr = _mm_set1_epi8 ('\r');
	const __m128i want_dash = _mm_set1_epi8 (dash ? -1 : 0),
		      want_cr = _mm_set1_epi8 (bare_cr ? -1 : 0);

	while (i + 17 <= n) {
		__m128i a = _mm_loadu_si128 ((const __m128i *) (p + i));
		__m128i b = _mm_loadu_si128 ((const __m128i *) (p + i + 1));
		__m128i d = _mm_and_si128 (_mm_cmpeq_epi8 (a, lf),
					   _mm_cmpeq_epi8 (b, minus));
		__m128i c = _mm_andnot_si128 (_mm_cmpeq_epi8 (b, lf),
					      _mm_cmpeq_epi8 (a, cr));
		int m = _mm_movemask_epi8 (
			_mm_or_si128 (_mm_and_si128 (d, want_dash),
				      _mm_and_si128 (c, want_cr)));

		if (m)
			return i + (gsize) __builtin_ctz ((unsigned) m);
		i += 16;
	}
#endif
	for (; i + 1 < n; i++) {
		if (dash && p[i] == '\n' && p[i + 1] == '-')
			return i;
		if (bare_cr && p[i] == '\r' && p[i + 1] != '\n')
			return i;
	}
	return n - 1;
}
