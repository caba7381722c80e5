#include "mp-qp.h"

#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <emmintrin.h>
#define HAVE_SSE2_PATH 1
#endif

static const char hex[] = "0123456789ABCDEF";

/* Byte classes: PLAIN is written as it is, BLANK (space, tab) too unless
 * it ends a line, which the next byte tells; the rest is "=XX".  RFC 2045
 * 6.7 (2): 33-60 and 62-126 are literal; "=" is not. */
enum {
	PLAIN,
	BLANK,
	CR,
	LF,
	OTHER
};

static const guint8 *
classes (void)
{
	static guint8 table[256];
	static gsize done;

	if (g_once_init_enter (&done)) {
		for (guint c = 0; c < 256; c++)
			table[c] = (c >= 33 && c <= 126 && c != '=') ? PLAIN :
				   (c == ' ' || c == '\t')           ? BLANK :
				   c == '\r'                         ? CR :
				   c == '\n'                         ? LF :
								       OTHER;
		g_once_init_leave (&done, 1);
	}
	return table;
}

static inline char *
put_hex (char *o, guint c)
{
	o[0] = '=';
	o[1] = hex[(c >> 4) & 0xf];
	o[2] = hex[c & 0xf];
	return o + 3;
}

/* A held byte written out: a held blank is literal inside a line, a held
 * CR never is. */
static inline char *
put_held (char *o, int held, guint *col)
{
	if (held == '\r') {
		*col += 3;
		return put_hex (o, (guint) held);
	}
	*o++ = (char) held;
	(*col)++;
	return o;
}

/* A soft line break (RFC 2045 6.7 (5)). */
static inline char *
soft_break (char *o, guint *col)
{
	o[0] = '=';
	o[1] = '\n';
	*col = 0;
	return o + 2;
}

/* The number of bytes from @in on that are written as they are inside a
 * line: printable ASCII but "=", and blanks (RFC 2045 6.7 (2), (3)). */
static inline gsize
literal_run (const guint8 *cls, const guchar *in, const guchar *end)
{
	const guchar *p = in;

#ifdef HAVE_SSE2_PATH
	/* sixteen at a time: 0x20..0x7e but 0x3d, or a tab (bytes from
	 * 0x80 are negative in the signed comparisons) */
	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128 ((const __m128i *) p);
		__m128i lit = _mm_or_si128 (
			_mm_andnot_si128 (
				_mm_cmpeq_epi8 (v, _mm_set1_epi8 ('=')),
				_mm_and_si128 (
					_mm_cmpgt_epi8 (v,
							_mm_set1_epi8 (0x1f)),
					_mm_cmplt_epi8 (v,
							_mm_set1_epi8 (0x7f)))),
			_mm_cmpeq_epi8 (v, _mm_set1_epi8 ('\t')));
		guint mask = (guint) _mm_movemask_epi8 (lit);

		if (mask != 0xffff)
			return (gsize) (p - in) +
			       (gsize) __builtin_ctz (~mask & 0xffff);
		p += 16;
	}
#endif
	while (p < end && cls[*p] <= BLANK)
		p++;
	return (gsize) (p - in);
}

/* memcpy() of a short run, sixteen bytes at a time where the input
 * allows: it may write up to 15 bytes past @o + @len, which
 * MP_QP_ENCODE_LEN leaves room for */
static inline void
copy_run (char *o, const guchar *in, gsize len, const guchar *end)
{
#ifdef HAVE_SSE2_PATH
	if ((gsize) (end - in) >= ((len + 15) & ~(gsize) 15)) {
		for (gsize j = 0; j < len; j += 16)
			_mm_storeu_si128 (
				(__m128i *) (o + j),
				_mm_loadu_si128 ((const __m128i *) (in + j)));
		return;
	}
#endif
	memcpy (o, in, len);
}

/* The common case, when no blank is held: the run of bytes at *@in
 * written as they are, a soft break before the 76th column; a blank at
 * its end is left at *@in to wait for what follows.  Returns the end of
 * what it wrote; *@in and *@col follow. */
static inline char *
put_literal_run (char *o, guint *col, const guint8 *cls, const guchar **in,
		 const guchar *end)
{
	gsize n = literal_run (cls, *in, end);

	while (n > 0 && cls[(*in)[n - 1]] == BLANK)
		n--;
	while (n > 0) {
		gsize k;

		if (*col > 74)
			o = soft_break (o, col);
		k = MIN (n, 75 - *col);
		copy_run (o, *in, k, end);
		o += k;
		*in += k;
		*col += (guint) k;
		n -= k;
	}
	return o;
}

/* @c, a byte that must be encoded, and those of its class that follow it
 * at *@in, as =XX, so that the bytes of a UTF-8 character come together
 * on one line.  Returns the end of what it wrote; *@in and *@col
 * follow. */
static inline char *
put_encoded_run (char *o, guint *col, const guint8 *cls, guint c,
		 const guchar **in, const guchar *end)
{
	for (;;) {
		if (*col > 72) {
			o[0] = '=';
			o[1] = '\n';
			o += 2;
			*col = 3;
		} else {
			*col += 3;
		}
		o = put_hex (o, c);
		if (*in == end || cls[**in] != OTHER)
			break;
		c = *(*in)++;
	}
	return o;
}

gsize
mp_qp_encode_step (MpQpState *st, const guchar *in, gsize len, char *out)
{
	const guint8 *cls = classes ();
	const guchar *end = in + len;
	guint col = st->col;
	int held = st->held;
	char *o = out;

	while (in < end) {
		guint c;

		if (held < 0) {
			o = put_literal_run (o, &col, cls, &in, end);
			if (in == end)
				break;
		}
		c = *in++;
		switch (cls[c]) {
		case PLAIN:
			if (held >= 0) {
				o = put_held (o, held, &col);
				held = -1;
			}
			/* the common case: a run of literal bytes, a soft
			 * break before the 76th column */
			for (;;) {
				if (col > 74)
					o = soft_break (o, &col);
				*o++ = (char) c;
				col++;
				if (in == end || cls[*in] != PLAIN)
					break;
				c = *in++;
			}
			break;
		case BLANK:
			if (held >= 0)
				o = put_held (o, held, &col);
			if (col > 74)
				o = soft_break (o, &col);
			held = (int) c;
			break;
		case CR:
			if (held >= 0) {
				o = put_hex (o, (guint) held);
				col += 3;
			}
			held = '\r';
			break;
		case LF:
			/* a blank before a line break is encoded (RFC 2045
			 * 6.7 (3)); CRLF is a line break */
			if (held >= 0 && held != '\r')
				o = put_hex (o, (guint) held);
			*o++ = '\n';
			col = 0;
			held = -1;
			break;
		default:
			if (held >= 0) {
				o = put_held (o, held, &col);
				held = -1;
			}
			o = put_encoded_run (o, &col, cls, c, &in, end);
			break;
		}
	}
	st->col = col;
	st->held = held;
	return (gsize) (o - out);
}

gsize
mp_qp_encode_close (MpQpState *st, char *out)
{
	char *o = out;

	if (st->held >= 0) {
		/* a blank or CR at the very end: encoded, and a soft break
		 * so that no line break is added to the text */
		o = put_hex (o, (guint) st->held);
		o[0] = '=';
		o[1] = '\n';
		o += 2;
	}
	st->col = 0;
	st->held = -1;
	return (gsize) (o - out);
}
