#include "mp-qp.h"

#include <string.h>

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

gsize
mp_qp_encode_step (MpQpState *st, const guchar *in, gsize len, char *out)
{
	const guint8 *cls = classes ();
	const guchar *end = in + len;
	guint col = st->col;
	int held = st->held;
	char *o = out;

	while (in < end) {
		guint c = *in++;

		switch (cls[c]) {
		case PLAIN:
			if (held >= 0) {
				/* a held blank is literal inside a line, a
				 * held CR never is */
				if (held == '\r') {
					o = put_hex (o, (guint) held);
					col += 3;
				} else {
					*o++ = (char) held;
					col++;
				}
				held = -1;
			}
			/* the common case: a run of literal bytes, a soft
			 * break before the 76th column */
			for (;;) {
				if (col > 74) {
					o[0] = '=';
					o[1] = '\n';
					o += 2;
					col = 0;
				}
				*o++ = (char) c;
				col++;
				if (in == end || cls[*in] != PLAIN)
					break;
				c = *in++;
			}
			break;
		case BLANK:
			if (held >= 0) {
				if (held == '\r') {
					o = put_hex (o, (guint) held);
					col += 3;
				} else {
					*o++ = (char) held;
					col++;
				}
			}
			if (col > 74) {
				o[0] = '=';
				o[1] = '\n';
				o += 2;
				col = 0;
			}
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
				if (held == '\r') {
					o = put_hex (o, (guint) held);
					col += 3;
				} else {
					*o++ = (char) held;
					col++;
				}
				held = -1;
			}
			if (col > 72) {
				o[0] = '=';
				o[1] = '\n';
				o += 2;
				col = 3;
			} else {
				col += 3;
			}
			o = put_hex (o, c);
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
