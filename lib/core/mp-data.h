/* mp-data: the SMTP DATA canonicaliser.  Whatever the input's line endings
 * (LF, CRLF, bare CR, mixed), the output has CRLF only, every line that
 * starts with a dot gets a second one (RFC 5321 4.5.2), and the data ends
 * with CRLF "." CRLF.  It streams: the state survives any split of the
 * input, down to one byte at a time. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
	gboolean after_cr;   /* the last input byte was a CR (already sent) */
	gboolean line_start; /* the next output byte begins a line */
	guint64 in_bytes;    /* input bytes seen */
	guint64 out_bytes;   /* output bytes produced */
	gboolean eight_bit;  /* some input byte was >= 0x80 */
	gboolean nul;        /* some input byte was NUL */
	gboolean no_dots;    /* BDAT (RFC 3030), DKIM: CRLF only, no stuffing */
} MpDataEncoder;

/* Sets @enc to the start of a message (no_dots FALSE: DATA). */
void mp_data_encoder_init (MpDataEncoder *enc);

/* Canonicalises @len bytes of @in, appending the result to @out (which
 * may be NULL to only count and inspect).  Every CR, LF and CRLF becomes
 * CRLF; a dot at the start of a line is doubled. */
void mp_data_encode (MpDataEncoder *enc, const void *in, gsize len,
		     GByteArray *out);

/* Ends the data: a CRLF when the input did not end with a line break,
 * then "." CRLF.  Appends to @out (may be NULL to only count). */
void mp_data_finish (MpDataEncoder *enc, GByteArray *out);

G_END_DECLS
