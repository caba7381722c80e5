/* libFuzzer harness: the DATA canonicaliser (mp-data).  The first byte
 * picks the size of the pieces the rest is fed in (1 to 64 bytes); the
 * result must be the same as encoding it whole, and must be what RFC 5321
 * 4.5.2 wants: CRLF only (no bare CR or LF: SMTP smuggling), every line
 * that starts with a dot stuffed, the end CRLF "." CRLF, and un-stuffed
 * it gives back the input with every CR, LF and CRLF made CRLF. */
#include "mp-data.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* what the input should become: every CRLF, CR and LF a CRLF, and a
 * final CRLF when the input does not end with a line break */
static GByteArray *
canonical (const guint8 *in, gsize len)
{
	GByteArray *out = g_byte_array_new ();
	gsize i;

	for (i = 0; i < len; i++) {
		if (in[i] == '\r' || in[i] == '\n') {
			if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
				i++;
			g_byte_array_append (out, (const guint8 *) "\r\n", 2);
		} else {
			g_byte_array_append (out, in + i, 1);
		}
	}
	if (out->len > 0 && out->data[out->len - 1] != '\n')
		g_byte_array_append (out, (const guint8 *) "\r\n", 2);
	return out;
}

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
	g_autoptr (GByteArray) whole = g_byte_array_new ();
	g_autoptr (GByteArray) pieces = g_byte_array_new ();
	g_autoptr (GByteArray) canon = NULL;
	g_autoptr (GByteArray) unstuffed = g_byte_array_new ();
	MpDataEncoder a, b;
	const guint8 *in, *p, *end;
	gsize len, step, off, i;
	gboolean nul = FALSE, eight = FALSE;

	if (size < 1)
		return 0;
	step = (gsize) (data[0] % 64) + 1;
	in = data + 1;
	len = size - 1;

	mp_data_encoder_init (&a);
	mp_data_encode (&a, in, len, whole);
	mp_data_finish (&a, whole);

	/* any split of the input gives the same bytes */
	mp_data_encoder_init (&b);
	for (off = 0; off < len; off += step)
		mp_data_encode (&b, in + off, MIN (step, len - off), pieces);
	mp_data_finish (&b, pieces);
	if (whole->len != pieces->len ||
	    memcmp (whole->data, pieces->data, whole->len) != 0)
		abort ();

	/* the counters and flags tell the truth */
	for (i = 0; i < len; i++) {
		nul |= in[i] == 0;
		eight |= in[i] >= 0x80;
	}
	if (a.in_bytes != len || a.out_bytes != whole->len || a.nul != nul ||
	    a.eight_bit != eight)
		abort ();

	/* no bare CR, no bare LF */
	for (i = 0; i < whole->len; i++) {
		if (whole->data[i] == '\r' &&
		    (i + 1 == whole->len || whole->data[i + 1] != '\n'))
			abort ();
		if (whole->data[i] == '\n' &&
		    (i == 0 || whole->data[i - 1] != '\r'))
			abort ();
	}
	/* the end of data, and only there */
	if (whole->len < 3 ||
	    memcmp (whole->data + whole->len - 3, ".\r\n", 3) != 0 ||
	    (whole->len > 3 &&
	     memcmp (whole->data + whole->len - 5, "\r\n.\r\n", 5) != 0))
		abort ();

	/* every line before the end that starts with a dot is stuffed; taking
	 * one dot off each gives the canonical input back */
	p = whole->data;
	end = whole->data + whole->len - 3;
	while (p < end) {
		const guint8 *nl = memchr (p, '\n', (gsize) (end - p));
		gsize n = (gsize) (nl - p) + 1;

		if (nl == NULL)
			abort ();
		if (p[0] == '.') {
			if (n < 3 || p[1] != '.')
				abort (); /* ".\r\n" or ".x" unstuffed */
			p++;
			n--;
		}
		g_byte_array_append (unstuffed, p, (guint) n);
		p += n;
	}
	canon = canonical (in, len);
	if (canon->len != unstuffed->len ||
	    (canon->len && memcmp (canon->data, unstuffed->data, canon->len)))
		abort ();
	return 0;
}
