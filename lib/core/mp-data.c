#include "mp-data.h"

void
mp_data_encoder_init (MpDataEncoder *enc)
{
	enc->after_cr = FALSE;
	enc->line_start = TRUE;
	enc->in_bytes = 0;
	enc->out_bytes = 0;
	enc->eight_bit = FALSE;
	enc->nul = FALSE;
	enc->no_dots = FALSE;
}

static inline void
put (MpDataEncoder *enc, GByteArray *out, const char *s, gsize n)
{
	if (out != NULL)
		g_byte_array_append (out, (const guint8 *) s, n);
	enc->out_bytes += n;
}

/* RFC 5321 2.3.8 and 4.1.1.4: only CRLF ends a line.  Servers disagree
 * on what a bare CR or LF means, which is what SMTP smuggling exploits
 * (CVE-2023-51764/5/6), so each of CR, LF and CRLF becomes one CRLF before
 * dot stuffing looks at the start of the line. */
void
mp_data_encode (MpDataEncoder *enc, const void *in, gsize len, GByteArray *out)
{
	const guint8 *p = in;
	const guint8 *end = p + len;

	enc->in_bytes += len;
	while (p < end) {
		const guint8 *run = p;

		if (*p == '\r') {
			put (enc, out, "\r\n", 2);
			enc->after_cr = TRUE;
			enc->line_start = TRUE;
			p++;
			continue;
		}
		if (*p == '\n') {
			if (!enc->after_cr)
				put (enc, out, "\r\n", 2);
			enc->after_cr = FALSE;
			enc->line_start = TRUE;
			p++;
			continue;
		}
		enc->after_cr = FALSE;
		/* RFC 5321 4.5.2: transparency */
		if (enc->line_start && *p == '.' && !enc->no_dots)
			put (enc, out, ".", 1);
		enc->line_start = FALSE;
		while (p < end && *p != '\r' && *p != '\n') {
			if (*p >= 0x80)
				enc->eight_bit = TRUE;
			else if (*p == 0)
				enc->nul = TRUE;
			p++;
		}
		put (enc, out, (const char *) run, (gsize) (p - run));
	}
}

void
mp_data_finish (MpDataEncoder *enc, GByteArray *out)
{
	if (!enc->line_start)
		put (enc, out, "\r\n", 2);
	put (enc, out, ".\r\n", 3);
	enc->line_start = TRUE;
	enc->after_cr = FALSE;
}
